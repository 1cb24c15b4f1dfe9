"""CLI commands: optimize (a budget plan from a YAML problem or from a fitted run)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from mediamix.errors import SpecError
from mediamix.schemas import SOLVE_METHODS


def parse_sweep(text: str) -> list[float]:
    """``"A:B:S"`` -> ``[A, A+S, ..., B]`` (inclusive of B up to rounding); at most
    `mediamix.optimize.sweep.MAX_SWEEP_POINTS` budgets, counted before any is built."""
    from mediamix.optimize.sweep import check_sweep_size

    try:
        a, b, s = (float(v) for v in str(text).split(":"))
    except ValueError:
        raise SpecError(
            f"--sweep must look like FROM:TO:STEP, e.g. 100:500:50 (got {text!r})"
        ) from None
    if not all(math.isfinite(v) for v in (a, b, s)) or s <= 0 or b < a:
        raise SpecError(f"--sweep needs STEP > 0 and TO >= FROM (got {text!r})")
    if a < 0:
        raise SpecError(f"--sweep budgets must be >= 0 (got FROM = {a:g} in {text!r})")
    k = int(math.floor((b - a) / s + 1e-9))
    check_sweep_size(k + 1, f"--sweep {text}")
    return [a + i * s for i in range(k + 1)]


def check_output_path(path: str | None, option: str) -> None:
    """The folder of an output file must exist (checked before any work is done)."""
    if path is None:
        return
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise SpecError(
            f"{option} {path}: the folder '{folder}' does not exist. Fix: create it first "
            f"(mkdir -p {folder}) or write somewhere else."
        )


@click.command("optimize")
@click.argument("problem_file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--run", "run_dir", type=click.Path(file_okay=False), help="a fitted model's run directory"
)
@click.option(
    "--budget", type=float, help="total budget per period (with --run; default: current spend)"
)
@click.option(
    "--relative-bounds",
    type=float,
    default=None,
    help="with --run: keep each channel within +-this share of its current spend (e.g. 0.3)",
)
@click.option("--objective", type=click.Choice(["kpi", "profit"]), default=None, help="with --run")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--sweep", default=None, help="budget frontier FROM:TO:STEP, e.g. 100:500:50")
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="write the frontier plot (HTML)"
)
@click.option(
    "--method",
    type=click.Choice(list(SOLVE_METHODS)),
    default=None,
    help="force a solver path",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None, help="write the result here"
)
def optimize_cmd(
    problem_file, run_dir, budget, relative_bounds, objective, fmt, sweep, plot, method, output
):
    """Recommend a budget split with a certified optimum: mediamix optimize PROBLEM.yaml."""
    from dataclasses import replace

    from mediamix.optimize import Problem, solve
    from mediamix.optimize import sweep as run_sweep

    if (problem_file is None) == (run_dir is None):
        raise SpecError("give either PROBLEM.yaml or --run RUN_DIR (not both)")
    check_output_path(output, "--output")
    check_output_path(plot, "--plot")
    if problem_file is not None:
        problem = Problem.from_yaml(problem_file)
        if budget is not None:
            problem = problem.with_budget(budget)
    else:
        fitted = _load_fitted(run_dir)
        opts = {} if objective is None else {"objective": objective}
        problem = Problem.from_fitted(
            fitted, budget=budget, relative_bounds=relative_bounds, **opts
        )
    if method is not None:
        problem = replace(problem, method=method)
    budgets = None if sweep is None else parse_sweep(sweep)  # a bad --sweep fails first
    plan = solve(problem)
    if budgets is not None:
        frontier = run_sweep(problem, budgets)
        plan = replace(plan, frontier=frontier)
        if plot:
            from mediamix.report.frontier import plot_frontier

            chosen = None if problem.budget is None else {"budget": problem.budget, "kpi": plan.kpi}
            plot_frontier(frontier, plot, chosen=chosen)
            click.echo(f"wrote {plot}", err=True)
    text = plan.to_json() if fmt == "json" else plan.table()
    if output:
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise SpecError(
                f"--output {output}: cannot write the file ({exc.strerror}). Fix: check the "
                "path and its permissions."
            ) from None
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def _load_fitted(run_dir: str):
    """The fitted model saved in a run folder (errors name the folder and the fix)."""
    from mediamix.runs import RunDir

    view = RunDir(run_dir).read()
    if view.is_geo:  # planned nationally on the national curves (the geos at today's split)
        return _NationalCurves(view)
    fitted = view.fitted
    if fitted is None:
        raise SpecError(
            f"--run {run_dir}: no fitted model found there; run `mediamix fit DATA --out "
            f"{run_dir}` first"
        )
    return fitted


class _NationalCurves:
    """A geo run's national response curves (``responses.json``: each channel's national
    spend -> KPI with the spend split over the geos as today) in the shape
    `Problem.from_fitted` reads; `mediamix plan-geo` plans per geo."""

    def __init__(self, view) -> None:
        from mediamix.optimize import Response

        self._curves = [Response.from_dict(r) for r in view.responses]

    def responses(self):
        return list(self._curves)

    def current_spend(self) -> dict[str, float]:
        return {r.name: float(r.reference_spend or 0.0) for r in self._curves}


COMMANDS: list = [optimize_cmd]
