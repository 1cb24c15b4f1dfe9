"""``solve(problem) -> Plan``: pick the path from the curves' shapes, certify, explain."""

from __future__ import annotations

import time

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.convex import CLARABEL_GAP, RawSolution, solve_convex
from mediamix.optimize.curves import CurveBank
from mediamix.optimize.explain import build_plan
from mediamix.optimize.linear import linear_system, spend_scale
from mediamix.optimize.objective import Evaluator, risk
from mediamix.optimize.plan import Plan
from mediamix.optimize.problem import Problem


def make_evaluator(problem: Problem) -> Evaluator:
    sigma = spend_scale(problem)
    return Evaluator(problem, CurveBank(problem.responses), linear_system(problem, sigma))


def choose_method(problem: Problem) -> str:
    if problem.method != "auto":
        return problem.method
    return "convex" if all(c.response.is_concave for c in problem.channels) else "global"


def feasible(ev: Evaluator, x: np.ndarray, rtol: float = 1e-9) -> bool:
    """Whether spend ``x`` (T, n) satisfies every hard constraint of the problem."""
    p = ev.problem
    tol = rtol * max(ev.system.sigma, 1.0) * p.n * p.periods
    if np.any(x < p.lower() - tol) or np.any(x > p.upper() + tol):
        return False
    tot = x.sum(axis=0)
    for r in ev.system.rows:
        if not r.elastic and r.coef @ tot > r.rhs + tol:
            return False
    k = ev.kpi_draws(x)
    if p.objective == "min_spend" and risk(k, p) < p.kpi_target * (1 - 1e-9):
        return False
    if p.objective == "kpi_at_min_roas":
        rate = (p.min_roas / p.kpi_value) if p.min_roas is not None else 1.0 / p.max_cpa
        if risk(k, p) < rate * x.sum() * (1 - 1e-9):
            return False
    return True


def solve(problem: Problem, *, method: str | None = None) -> Plan:
    """Solve ``problem`` to a certified optimum and explain it (see the README)."""
    t0 = time.perf_counter()
    if method is not None:
        from dataclasses import replace

        problem = replace(problem, method=method)
    ev = make_evaluator(problem)
    how = choose_method(problem)
    if how == "convex":
        for c in problem.channels:
            if not c.response.is_concave:
                raise SpecError(
                    f"channel '{c.name}' has an S-shaped curve ({c.response.family}); the convex "
                    "path needs concave curves. Use method 'global' (or 'auto')."
                )
    if how == "convex" and _lp_engine_fits(problem):
        from mediamix.optimize.global_ import solve_global

        raw = solve_global(ev, ev.system)  # concave: no branching, tangent cuts on mean curves
        raw.method = "convex"
        raw.info["cut_rounds"] = raw.info.get("nodes", 1)  # its bound is a valid upper bound
    elif how == "convex":
        raw = solve_convex(ev, ev.system)
    elif how == "global":
        from mediamix.optimize.global_ import solve_global

        raw = solve_global(ev, ev.system)
    else:  # pragma: no cover - validated in Problem
        raise SpecError(f"unknown method {how!r}")
    messages: list[str] = []
    if how == "convex":
        from mediamix.optimize.certify import frank_wolfe_gap, kkt_polish

        raw.x, duals = kkt_polish(ev, raw.x)
        if duals is not None:
            raw.row_duals = duals
        cands = []
        fw = frank_wolfe_gap(ev, raw.x)
        if fw is not None:
            cands.append(fw)
        kelley = raw.info.get("cut_rounds", 0) > 0 and problem.objective in ("kpi", "profit")
        if kelley and raw.upper_bound is not None:
            f = ev.objective(raw.x)
            cands.append(max(0.0, raw.upper_bound - f) / max(abs(f), 1e-300))
        if cands:
            raw.gap = min(cands)
        elif raw.gap is None:
            raw.gap = CLARABEL_GAP
    else:
        from mediamix.optimize.certify import kkt_polish

        f0 = ev.objective(raw.x)
        x1, duals = kkt_polish(ev, raw.x)
        f1 = ev.objective(x1)
        if duals is not None and f1 >= f0 - 1e-12 * max(abs(f0), 1.0):
            raw.x = x1
            raw.row_duals = duals  # the true problem's multipliers, not the relaxation's
            if raw.upper_bound is not None:
                raw.gap = max(0.0, raw.upper_bound - f1) / max(abs(f1), 1e-300)
    raw = _never_worse_than_reference(ev, raw, messages)
    return build_plan(ev, raw, time.perf_counter() - t0, messages)


def _lp_engine_fits(problem: Problem) -> bool:
    """Concave curves without a cone form, averaged over draws in one period: tangent cuts on
    the mean curve (n epigraph variables) beat per-draw cone constraints (S x n)."""
    if problem.periods != 1 or problem.combine != "additive" or problem.risk != "mean":
        return False
    if problem.objective not in ("kpi", "profit"):
        return False
    return any(not _has_cone_form(c.response) for c in problem.channels)


def _has_cone_form(r) -> bool:
    if r.family in ("log1p", "power", "exponential", "michaelis_menten", "table"):
        return True
    return r.family == "hill" and bool(np.all(np.asarray(r.params["s"]) == 1))


def _never_worse_than_reference(ev: Evaluator, raw: RawSolution, messages: list) -> RawSolution:
    p = ev.problem
    ref = p.reference()
    if ref is None:
        return raw
    xr = np.tile(ref, (p.periods, 1))
    if not feasible(ev, xr):
        return raw
    fx, fr = ev.objective(raw.x), ev.objective(xr)
    if fr > fx:
        messages.append(
            "the current allocation scores higher than the solver's answer by "
            f"{fr - fx:.3g}; returning the current allocation"
        )
        raw.x = xr
    return raw
