"""CLI commands: optimize (a budget plan from a YAML problem or from a fitted run)."""

from __future__ import annotations

import click


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
    type=click.Choice(["auto", "convex", "global"]),
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

    from mediamix.errors import SpecError
    from mediamix.optimize import Problem, solve
    from mediamix.optimize.explain import parse_sweep, plot_frontier
    from mediamix.optimize.explain import sweep as run_sweep

    if (problem_file is None) == (run_dir is None):
        raise SpecError("give either PROBLEM.yaml or --run RUN_DIR (not both)")
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
    plan = solve(problem)
    if sweep is not None:
        frontier = run_sweep(problem, parse_sweep(sweep))
        plan = replace(plan, frontier=frontier)
        if plot:
            chosen = None if problem.budget is None else {"budget": problem.budget, "kpi": plan.kpi}
            plot_frontier(frontier, plot, chosen=chosen)
            click.echo(f"wrote {plot}", err=True)
    text = plan.to_json() if fmt == "json" else plan.table()
    if output:
        with open(output, "w") as fh:
            fh.write(text + "\n")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def _load_fitted(run_dir: str):
    from mediamix.errors import SpecError

    try:
        from mediamix.inference import FittedModel
    except ImportError:
        try:
            from mediamix.inference.fitted import FittedModel
        except ImportError:
            raise SpecError(
                "loading a fitted run needs mediamix.inference.FittedModel, which is not "
                "available in this installation; write the response curves to a YAML problem "
                "file instead"
            ) from None
    from pathlib import Path

    run = Path(run_dir)
    target = run / "model" if (run / "model").is_dir() else run
    if not run.exists():
        raise SpecError(f"--run {run_dir}: the folder does not exist (run `mediamix fit` first)")
    try:
        return FittedModel.load(target)
    except FileNotFoundError as exc:
        raise SpecError(f"--run {run_dir}: no fitted model found there ({exc})") from None


COMMANDS: list = [optimize_cmd]
