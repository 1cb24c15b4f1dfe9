"""Planning with a run's response curves: the form -> the problem -> the plan (and frontier).

`build_problem(run, form)` turns the planner form into the allocation problem mapping (the
same mapping as a problem YAML file); `optimise(run, form)` solves it, with the frontier when
the form asks for a sweep. The problem's own checks live in `mediamix.optimize.Problem`; their
messages reach the user as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mediamix.app.schemas import PlannerForm
from mediamix.app.store import Run
from mediamix.errors import SpecError
from mediamix.jsonable import jsonable
from mediamix.schemas import validate

MAX_SWEEP_POINTS = 41

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
    return problem, plan


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
        change = None
        if current is not None and recommended is not None:
            change = float(recommended) - float(current)
        rows.append(
            {
                "channel": name,
                "current_spend": current,
                "recommended_spend": recommended,
                "change_abs": change,
                "expected_kpi": line.get("kpi"),
                "marginal_return": marginal.get(name, line.get("marginal_return")),
                "binding": line.get("binding"),
            }
        )
    return rows
