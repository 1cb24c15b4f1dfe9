"""``solve(problem) -> Plan`` in four small steps: select -> solve -> certify -> explain.

- :func:`select_method`: ``convex`` when every curve is concave, else ``global`` (or the
  problem's ``method``), checked against the curves;
- :func:`run_method`: the chosen path returns a :class:`RawSolution` (spend, duals, bound);
- :func:`mediamix.optimize.certify.certify`: polish it and set the certified gap;
- :func:`mediamix.optimize.explain.explain_solution`: the :class:`Plan` a marketer reads.
"""

from __future__ import annotations

import time
from dataclasses import replace

from mediamix.errors import SpecError
from mediamix.optimize.certify import certify
from mediamix.optimize.curves import CurveBank
from mediamix.optimize.explain import explain_solution
from mediamix.optimize.linear import linear_system, spend_scale
from mediamix.optimize.objective import Evaluator
from mediamix.optimize.plan import Plan
from mediamix.optimize.problem import Problem
from mediamix.optimize.solution import RawSolution


def make_evaluator(problem: Problem) -> Evaluator:
    """The problem's exact scorer: curves, linear system and carry-over maps."""
    sigma = spend_scale(problem)
    return Evaluator(problem, CurveBank(problem.responses), linear_system(problem, sigma))


def select_method(problem: Problem) -> str:
    """``convex`` or ``global``: the problem's ``method``, or from the curves' shapes."""
    how = problem.method
    if how == "auto":
        how = "convex" if all(c.response.is_concave for c in problem.channels) else "global"
    if how == "convex":
        for c in problem.channels:
            if not c.response.is_concave:
                raise SpecError(
                    f"channel '{c.name}' has an S-shaped curve ({c.response.family}); the convex "
                    "path needs concave curves. Use method 'global' (or 'auto')."
                )
    return how


def run_method(ev: Evaluator, method: str) -> RawSolution:
    """Solve with the chosen path (``convex`` or ``global``), uncertified."""
    from mediamix.optimize.global_ import BranchAndBound

    if method == "global":
        return BranchAndBound(ev, ev.system).solve()
    if method != "convex":  # pragma: no cover - validated in Problem
        raise ValueError(f"unknown solver method {method!r}")
    if _lp_engine_fits(ev.problem):
        # concave curves: branch and bound never branches; tangent cuts on the mean curves
        raw = BranchAndBound(ev, ev.system).solve()
        raw.method = "convex"
        raw.info["cut_rounds"] = raw.info.get("nodes", 1)  # its bound is a valid upper bound
        return raw
    from mediamix.optimize.convex import solve_convex

    return solve_convex(ev, ev.system)


def solve(problem: Problem, *, method: str | None = None) -> Plan:
    """Solve ``problem`` to a certified optimum and explain it (see the README)."""
    t0 = time.perf_counter()
    if method is not None:
        problem = replace(problem, method=method)
    ev = make_evaluator(problem)
    how = select_method(problem)
    raw = run_method(ev, how)
    raw = certify(ev, raw, how)
    return explain_solution(ev, raw, time.perf_counter() - t0)


def _lp_engine_fits(problem: Problem) -> bool:
    """Concave curves without a cone form, averaged over draws in one period: tangent cuts on
    the mean curve (n epigraph variables) beat per-draw cone constraints (S x n)."""
    if problem.periods != 1 or problem.combine != "additive" or problem.risk != "mean":
        return False
    if problem.objective not in ("kpi", "profit"):
        return False
    return any(not c.response.has_cone_form for c in problem.channels)
