"""CLI command: `mediamix demo`, the main job end to end on built-in data.

simulate weekly data with known truth -> check it -> fit the model -> print the headline
numbers (ROAS with intervals, next to the truth) -> optimise the budget -> write the HTML
report -> register the run with the web planner's store.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from mediamix.cli.model_cmds import review_lines, review_verdict_line, roas_lines
from mediamix.errors import MediamixError
from mediamix.schemas import FIT_METHODS


@click.command("demo")
@click.option("--out", "out_dir", default="demo_output", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--method", default="nuts", show_default=True, type=click.Choice(list(FIT_METHODS)))
@click.option("--chains", default=None, type=int, help="NUTS chains  [default: 4]")
@click.option("--draws", default=None, type=int, help="NUTS/SVI draws  [default: 500]")
@click.option("--warmup", default=None, type=int, help="NUTS warmup  [default: 500]")
@click.option(
    "--home",
    default=None,
    help="Planner data directory to register the run in (default $MEDIAMIX_HOME or ~/.mediamix).",
)
def demo(
    out_dir: str, seed: int, method: str, chains: int, draws: int, warmup: int, home: str | None
) -> None:
    """Run the whole pipeline on simulated data and write everything under OUT."""
    from mediamix.data.dataset import Dataset
    from mediamix.data.diagnostics import diagnostics
    from mediamix.data.simulate import simulate, write_simulation
    from mediamix.estimator import MMM
    from mediamix.model import ModelSpec
    from mediamix.optimize import Problem, solve, sweep
    from mediamix.runs import RunDir

    fit_with = demo_sampler(method, chains, draws, warmup)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    click.echo("1/5 simulating 156 weeks x 3 channels with known truth ...")
    frame, truth = simulate(n_periods=156, n_channels=3, seed=seed)
    data_dir = write_simulation(out / "data", frame, truth)
    spend_cols = {name: c["spend_column"] for name, c in truth["channels"].items()}
    dataset = Dataset.from_frame(
        frame,
        date=truth["date_column"],
        kpi=truth["kpi_column"],
        channels=[{"name": n, "spend": col} for n, col in spend_cols.items()],
        controls=list(truth["controls"]),
    )
    click.echo(f"    wrote {data_dir / 'data.csv'} and truth.json")

    click.echo("2/5 checking the data ...")
    diag = diagnostics(dataset)
    for check in diag.warnings:
        click.echo(f"    warn: {check.name} {check.subject}: {check.advice}")
    click.echo(f"    {len(diag.checks)} checks, {len(diag.warnings)} warning(s)")

    click.echo(f"3/5 fitting the model ({method}) ...")
    import warnings

    from mediamix.inference.diagnostics import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = MMM(ModelSpec()).fit(dataset, fit_with, seed=seed, progress=True)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            click.echo(f"    warning: {w.message}")
    run = RunDir(out / "run")
    run_dir = run.path
    checks = {"dataset": dataset.summary(), **diag.to_dict()}  # as `mediamix check --format json`
    summary = run.write(fitted, checks=checks)
    d = summary["diagnostics"]

    def num(key: str, fmt: str) -> str:
        return "-" if d.get(key) is None else format(d[key], fmt)

    click.echo(
        f"    {fitted.fit_seconds:.1f} s; max R-hat {num('max_rhat', '.3f')}, "
        f"min ESS {num('min_ess_bulk', '.0f')}, divergences {num('divergences', 'd')}"
    )
    true_roas = {name: truth["channels"][name]["roas"] for name in summary["channels"]}
    for line in roas_lines(summary, summary.get("level", 0.9), "    ", truth=true_roas):
        click.echo(line)
    if summary.get("intervals_note"):
        click.echo(f"    note: {summary['intervals_note']}")
    for line in review_lines(summary.get("review"), "    "):
        click.echo(line)

    click.echo("4/5 optimising the budget (same total, each channel within +-50%) ...")
    problem = Problem.from_fitted(fitted, relative_bounds=0.5)
    plan = solve(problem)
    total = float(problem.budget)
    frontier = sweep(problem, [total * f for f in (0.5, 0.75, 1.0, 1.25, 1.5)])
    plan = replace(plan, frontier=frontier)
    run.write_plan(plan)
    for line in plan.table().splitlines():
        click.echo(f"    {line}")

    click.echo("5/5 writing the report and registering the run with the planner ...")
    from mediamix.report.html import write_report

    report = write_report(run_dir, run_dir / "report.html", title="mediamix demo")
    click.echo(f"    report: {report.resolve()}")
    try:
        from mediamix.app.store import Store

        store = Store.open(home)
        try:
            run, replaced = register_demo_run(store, run_dir, f"Demo (seed {seed})")
        finally:
            store.close()
        verb = "updated" if replaced else "registered"
        click.echo(f"    planner run {run.id} {verb} in {store.home}")
        click.echo("    open the planner: .venv/bin/mediamix serve   (then http://127.0.0.1:8000/)")
    except MediamixError as exc:  # the demo's results are written; the store is a convenience
        click.echo(f"    could not register the run with the planner: {exc}", err=True)
    click.echo(review_verdict_line(summary.get("review")))


def register_demo_run(store, run_dir: Path, name: str):
    """Register the demo's run folder with the planner as ``name``; a run of that name made by
    an earlier demo is updated in place (its saved scenarios stay with it), so re-running the
    demo never lists it twice. Returns ``(run, replaced)``."""
    from mediamix.app.services import check_responses, import_run_dir
    from mediamix.app.services.imports import copy_run_extras
    from mediamix.runs import RunDir

    earlier = [r for r in store.list_runs() if r.name == name and r.status == "done"]
    if earlier:
        target = earlier[-1]  # the oldest: scenarios saved against it stay valid
        view = RunDir(run_dir).read()
        check_responses(view.responses)
        store.update_run(target.id, summary=view.summary, responses=view.responses,
                         message=f"imported from {Path(run_dir).name} (demo re-run)")  # fmt: skip
        copy_run_extras(Path(run_dir), target.run_dir)
        target = store.get_run(target.id)
    else:
        target = import_run_dir(store, run_dir, name=name)
    return target, bool(earlier)


def demo_sampler(method: str, chains, draws, warmup):
    """The demo's sampler: NUTS 4 x 500 after 500 warmup (SVI 500 draws) unless told;
    options given for another method are an error."""
    from mediamix.inference import sampler

    given = {"chains": chains, "draws": draws, "warmup": warmup}
    defaults = {"nuts": {"chains": 4, "draws": 500, "warmup": 500}, "svi": {"draws": 500}}
    options = {**defaults.get(method, {}), **{k: v for k, v in given.items() if v is not None}}
    return sampler(method, **options)


COMMANDS: list = [demo]
