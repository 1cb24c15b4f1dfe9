"""The efficient frontier: the same problem solved at a series of total budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mediamix.errors import InfeasibleError
from mediamix.optimize.problem import Problem
from mediamix.optimize.solver import solve


def sweep(
    problem: Problem, budgets: Sequence[float], *, skip_infeasible: bool = False, **kwargs: Any
) -> list[dict[str, Any]]:
    """The efficient frontier: the optimal KPI and allocation at each total budget.

    Returns one ``{budget, kpi, objective_value, gap, allocation}`` per budget, in the order
    given. With ``skip_infeasible=True`` budgets where the hard constraints cannot be met are
    left out of the frontier instead of raising :class:`InfeasibleError`. ``kwargs`` go to
    :func:`solve` (e.g. ``method``).
    """
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
