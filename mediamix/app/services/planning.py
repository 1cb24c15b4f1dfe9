"""Planning with a run's response curves: the form -> the problem -> the plan (and frontier).

`build_problem(run, form)` turns the planner form into the allocation problem mapping (the
same mapping as a problem YAML file); `optimise(run, form)` solves it, with the frontier when
the form asks for a sweep. `horizon_plan(run, form)` plans the weeks after the run's data
with its fitted model (the carry-in of the last weeks, the forecast KPI with its band). The problem's own checks live in `mediamix.optimize.Problem`; their
messages reach the user as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mediamix.app.schemas import HorizonForm, PlannerForm
from mediamix.app.store import Run
from mediamix.errors import SpecError
from mediamix.jsonable import jsonable
from mediamix.schemas import validate

MAX_SWEEP_POINTS = 41

#: the planner's default guard-rail: each channel within +-50% of today's spend (as `mediamix
#: demo` plans); the page sends it as absolute bounds, so a saved problem holds them
DEFAULT_RELATIVE_BOUND = 0.5

PLAN_COLUMNS = (
    "channel",
    "current_spend",
    "recommended_spend",
    "change_abs",
    "expected_kpi",
    "marginal_return",
    "binding",
)


def planner_form(form: PlannerForm | Mapping[str, Any]) -> PlannerForm:
    """The form as its schema (a mapping is checked, with the key path in the error)."""
    return form if isinstance(form, PlannerForm) else validate(PlannerForm, form, "form")


def run_responses(run: Run) -> list[dict[str, Any]]:
    """The run's response curves, or a clear error when it has none yet."""
    if run.status != "done":
        raise SpecError(f"run {run.name!r} is {run.status}; plan with a finished run")
    if not run.responses:
        raise SpecError(f"run {run.name!r} has no response curves to plan with")
    return list(run.responses)


def build_problem(run: Run, form: PlannerForm | Mapping[str, Any]) -> dict[str, Any]:
    """The allocation problem for `run` as the mapping the CLI reads from a YAML file
    (see `PlannerForm` for the fields; `sweep` is handled by `optimise`)."""
    return planner_form(form).to_problem(run_responses(run))


def solve_problem(problem: dict[str, Any]) -> dict[str, Any]:
    """Solve an allocation problem mapping (the CLI's YAML form); the plan as JSON."""
    from mediamix.optimize import Problem, solve

    return jsonable(solve(Problem.from_dict(problem)).to_dict())


def sweep_budgets(sweep: Any) -> list[float]:
    """Budgets `from, from + step, ..., to` of a `[from, to, step]` sweep (at most 41)."""
    try:
        start, stop, step = (float(v) for v in sweep)
    except (TypeError, ValueError):
        raise SpecError(f"sweep must be [from, to, step] numbers (got {sweep!r})") from None
    if not (0 < start <= stop) or step <= 0 or not math.isfinite(stop):
        raise SpecError(f"sweep {sweep!r}: need 0 < from <= to and step > 0")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > MAX_SWEEP_POINTS:
        raise SpecError(
            f"sweep {sweep!r} has {n} budgets; use a step giving at most {MAX_SWEEP_POINTS}"
        )
    return [start + i * step for i in range(n)]


def optimise(
    run: Run, form: PlannerForm | Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build and solve the problem for `run`; returns `(problem, plan)` as JSON mappings.

    With `sweep: [from, to, step]` the plan also holds `frontier`, a list of
    `{budget, kpi, allocation}` from solving the same problem at each budget (budgets where
    the problem is infeasible are left out).
    """
    from mediamix.optimize import Problem, sweep

    form = planner_form(form)
    budgets = sweep_budgets(list(form.sweep)) if form.sweep else []
    problem = build_problem(run, form)
    plan = solve_problem(problem)
    if budgets:
        points = sweep(Problem.from_dict(problem), budgets, skip_infeasible=True)
        plan["frontier"] = jsonable(points)
    uplift = plan_uplift(problem, plan)
    if uplift is not None:
        plan["uplift"] = uplift
    ranges = observed_spend(run)
    plan["spend_range"] = ranges
    plan["extrapolation"] = extrapolation(plan, ranges)
    return problem, plan


def _spend_matrix(problem, plan: dict[str, Any], names: list[str]):
    import numpy as np

    by_period = plan.get("by_period")
    if by_period:
        return np.array([by_period[n] for n in names], dtype=float).T
    alloc = plan.get("allocation") or {}
    return np.tile([float(alloc[n]) for n in names], (int(problem.periods), 1))


def plan_uplift(problem: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any] | None:
    """Today's plan (every channel at its reference spend) against the recommendation, over the
    same posterior draws: ``{today: {mean, p5, p95}, plan: {...}, mean, p5, p95, relative}``
    (KPI per period; ``mean``/``p5``/``p95``: the gain). None without today's spend on every
    channel, or for a plan that did not solve."""
    import numpy as np

    from mediamix.optimize import Problem
    from mediamix.optimize.solver import make_evaluator

    if not plan.get("allocation"):
        return None
    p = Problem.from_dict(problem)
    ref = p.reference()
    if ref is None:
        return None
    ev = make_evaluator(p)
    names = list(p.names)
    today = ev.kpi_draws(np.tile(ref, (p.periods, 1))) / p.periods
    new = ev.kpi_draws(_spend_matrix(p, plan, names)) / p.periods
    gain = new - today

    def stats(k) -> dict[str, float]:
        return {"mean": float(np.mean(k)), "p5": float(np.quantile(k, 0.05)),
                "p95": float(np.quantile(k, 0.95))}  # fmt: skip

    base = float(np.mean(today))
    return {
        "today": stats(today),
        "plan": stats(new),
        **stats(gain),
        "relative": float(np.mean(gain)) / base if base > 0 else None,
        "draws": int(gain.size),
        "today_spend": float(np.sum(ref)),
    }


SPEND_RANGE_FILE = "spend_range.json"  # in a run's folder: {channel: {min, mean, max}}


def observed_spend(run: Run) -> dict[str, dict[str, float]] | None:
    """Per channel, the lowest, mean and highest spend per period in the run's data: the run
    folder's saved model data (a fit made here), else its ``spend_range.json`` (written when a
    run folder is registered), else the summary's ``spend_range``; None when unknown."""
    import json

    from mediamix.app.services.fits import spend_range
    from mediamix.runs import RunDir

    if (run.run_dir / "model").is_dir():
        got = spend_range(RunDir(run.run_dir))
        if got:
            return got
    path = run.run_dir / SPEND_RANGE_FILE
    if path.is_file():
        try:
            got = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            got = None
        if isinstance(got, dict) and got:
            return got
    got = (run.summary or {}).get("spend_range")
    return got if isinstance(got, dict) and got else None


def extrapolation(
    plan: dict[str, Any], ranges: dict[str, dict[str, float]] | None
) -> list[dict[str, Any]]:
    """Channels whose recommended spend per period lies outside the spend the data has seen:
    ``{channel, spend, min, max, side}`` (side ``above`` or ``below``)."""
    out = []
    for name, spend in (plan.get("allocation") or {}).items():
        seen = (ranges or {}).get(name)
        if not seen or spend is None:
            continue
        lo, hi = float(seen["min"]), float(seen["max"])
        tol = 1e-9 * max(abs(hi), 1.0)
        if spend > hi + tol or spend < lo - tol:
            side = "above" if spend > hi + tol else "below"
            out.append({"channel": name, "spend": float(spend), "min": lo, "max": hi,
                        "side": side})  # fmt: skip
    return out


def curve_points(responses: list[dict[str, Any]], n: int = 60) -> list[dict[str, Any]]:
    """Points of each response curve (mean over draws) from 0 to twice the reference spend."""
    from mediamix.report.plot import response_table

    table = response_table(responses, n_points=n)
    ref = {d["name"]: d.get("reference_spend") for d in responses}
    return [
        {
            "name": name,
            "spend": part["spend"].tolist(),
            "kpi": part["mean"].tolist(),
            "reference_spend": ref.get(name),
        }
        for name, part in table.groupby("channel", sort=False)
    ]


def check_responses(responses: list[dict[str, Any]]) -> None:
    """Build each curve once so a bad family or parameter is refused with its message."""
    from mediamix.optimize.response import Response

    for d in responses:
        Response.from_dict(d)


def plan_rows(problem: dict[str, Any], plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per channel: current and recommended spend, change, KPI, marginal return and
    the bound that binds (from the plan's explanation table when it has one)."""
    plan = plan or {}
    allocation = plan.get("allocation") or {}
    marginal = plan.get("marginal_return") or {}
    explained = {c.get("name"): c for c in plan.get("channels") or [] if isinstance(c, dict)}
    rows = []
    for ch in problem.get("channels") or []:
        name = ch.get("name")
        line = explained.get(name, {})
        current = ch.get("reference_spend", ch.get("current"))
        if current is None:
            current = line.get("current")
        recommended = allocation.get(name, line.get("recommended"))
        change = change_rel = None
        if current is not None and recommended is not None:
            change = float(recommended) - float(current)
            change_rel = change / float(current) if float(current) > 0 else None
        rows.append(
            {
                "channel": name,
                "current_spend": current,
                "recommended_spend": recommended,
                "change_abs": change,
                "change_rel": change_rel,
                "expected_kpi": line.get("kpi"),
                "marginal_return": marginal.get(name, line.get("marginal_return")),
                "binding": line.get("binding"),
            }
        )
    return rows


def summarised_problem(problem: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """The problem with every curve parameter given per posterior draw replaced by its mean
    over the draws: a short file a person can read, which ``mediamix optimize`` still reads
    (as the mean curve). Returns ``(problem, {channel: draws summarised})`` (for a comment
    in the file); the exact problem, all draws, is the problem itself."""
    import numpy as np

    def mean_of(value: Any) -> tuple[Any, int]:
        if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
            return float(np.mean(value)), len(value)
        return value, 0

    out = dict(problem)
    channels, summarised = [], {}
    for ch in problem.get("channels") or []:
        entry = dict(ch)
        n = 0
        resp = dict(entry.get("response") or {})
        for name, value in resp.items():
            resp[name], k = mean_of(value)
            n = max(n, k)
        if "response" in entry:
            entry["response"] = resp
        for key in ("unit_price", "carryover"):
            if key in entry:
                entry[key], k = mean_of(entry[key])
                n = max(n, k)
        if n > 1:
            summarised[str(entry.get("name"))] = n
        channels.append(entry)
    out["channels"] = channels
    return out, summarised


_FITTED: dict[tuple[str, float], Any] = {}  # (run folder, model mtime) -> FittedModel


def run_fitted(run: Run):
    """The fitted model saved in the run's folder (kept for the next call), or a clear error
    for a run without one (a run imported as response curves only)."""
    from mediamix.runs import RunDir

    if run.status != "done":
        raise SpecError(f"run {run.name!r} is {run.status}; plan with a finished run")
    model = run.run_dir / "model"
    if not model.is_dir():
        raise SpecError(
            f"run {run.name!r} has no fitted model in its folder: the weeks-ahead plan needs "
            "the model (its history, adstock and baseline), not only its response curves. "
            "Fit the data here or import a run folder written by `mediamix fit`"
        )
    key = (str(run.run_dir), model.stat().st_mtime)
    if key not in _FITTED:
        fitted = RunDir(run.run_dir).read().fitted
        if fitted is None:
            raise SpecError(f"run {run.name!r}: the fitted model in its folder cannot be read")
        if len(_FITTED) >= 4:
            _FITTED.pop(next(iter(_FITTED)))
        _FITTED[key] = fitted
    return _FITTED[key]


def horizon_plan(
    run: Run, form: HorizonForm | Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], list[list[str]]]:
    """The certified forward plan of `run` for the form (see `HorizonForm`): the plan as JSON
    (``ForwardPlan.to_dict()``) and its weekly table (header, rows), the cells the report's
    table shows."""
    from mediamix.analysis.forecast import forward_plan
    from mediamix.report.horizon import horizon_rows

    if not isinstance(form, HorizonForm):
        form = validate(HorizonForm, form, "form")
    fitted = run_fitted(run)
    fp = forward_plan(
        fitted,
        form.horizon,
        form.budget,
        dark={k: list(v) for k, v in form.dark.items()},
        max_change=form.max_change,
        discount=form.discount,
        carry_out=form.carry_out,
        min_flight=form.min_flight,
    )
    plan = jsonable(fp.to_dict())
    header, rows = horizon_rows(plan)
    return plan, header, rows
