"""The efficient frontier: the same problem solved at a series of total budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize.problem import Problem
from mediamix.optimize.solver import solve

# The most budgets one frontier sweep solves (each is a full solve: about a second for a
# small problem, minutes for a large one).
MAX_SWEEP_POINTS = 201


def check_sweep_size(n_points: int, what: str = "the sweep") -> None:
    """Refuse a frontier of more than `MAX_SWEEP_POINTS` budgets, naming the limit."""
    if n_points > MAX_SWEEP_POINTS:
        count = f"{n_points:,}" if n_points < 10**12 else f"{float(n_points):.3g}"
        raise SpecError(
            f"{what} has {count} budgets, above the limit of {MAX_SWEEP_POINTS} (each "
            "budget is one solve); use a larger step"
        )


def sweep(
    problem: Problem, budgets: Sequence[float], *, skip_infeasible: bool = False, **kwargs: Any
) -> list[dict[str, Any]]:
    """The efficient frontier: the optimal KPI and allocation at each total budget.

    Returns one ``{budget, kpi, objective_value, gap, allocation}`` per budget, in the order
    given. With ``skip_infeasible=True`` budgets where the hard constraints cannot be met are
    left out of the frontier instead of raising :class:`InfeasibleError`. ``kwargs`` go to
    :func:`solve` (e.g. ``method``). At most `MAX_SWEEP_POINTS` budgets.
    """
    budgets = list(budgets)
    check_sweep_size(len(budgets))
    out = []
    for b in budgets:
        try:
            plan = solve(problem.with_budget(float(b)), **kwargs)
        except InfeasibleError:
            if skip_infeasible:
                continue
            raise
        out.append(
            {
                "budget": float(b),
                "kpi": plan.kpi,
                "objective_value": plan.objective_value,
                "gap": plan.gap,
                "allocation": plan.allocation,
            }
        )
    return out
