"""Certify a solver's answer: local KKT polish, the optimality gap, the reference check.

:func:`certify` is the step between solving and explaining: it polishes the answer, sets
its certified ``gap`` and never returns a plan worse than today's feasible allocation.

Polish: with the active set of a solver's answer fixed (free channels, binding budget rows),
Newton's method on the KKT equations ``g_i(x_i) = sum_r A_ri y_r`` (free ``i``),
``A_B x = b_B`` reaches machine precision; the Hessian is diagonal because the objective is
separable, so each step is a small Schur-complement solve in the multipliers.

Certificate: for a concave objective ``f`` over the polytope ``P``,
``max_P f <= f(x) + max_{z in P} g(x) . (z - x)`` for any supergradient ``g``; the right
side is one LP (HiGHS), so ``gap = g . (z* - x) / |f(x)|`` bounds the relative distance to
the global optimum.
"""

from __future__ import annotations

import numpy as np

from mediamix.optimize.objective import Evaluator, risk
from mediamix.optimize.solution import RawSolution

CLARABEL_GAP = 1e-8  # the conic solver's own relative gap, when nothing sharper is known


def _obj_grad(ev: Evaluator, x: np.ndarray) -> np.ndarray:
    """Gradient of the optimised objective w.r.t. spend (T, n), original units, no penalty."""
    p = ev.problem
    g = ev.gradient(x)
    if p.combine == "multiplicative":
        return g
    if p.objective == "profit":
        return p.kpi_value * g - 1.0
    if p.objective == "min_spend":
        return -np.ones_like(x)
    return g


def frank_wolfe_gap(ev: Evaluator, x: np.ndarray) -> float | None:
    """Relative optimality gap of spend ``x`` (T, n) for a concave objective (or None)."""
    from scipy.optimize import linprog

    p = ev.problem
    if p.objective in ("min_spend", "kpi_at_min_roas"):
        return None
    sysm = ev.system
    sigma = sysm.sigma
    g = _obj_grad(ev, x).reshape(-1) * sigma
    if not np.all(np.isfinite(g)):
        return None
    pen = (p.elastic_penalty or 0.0) * sigma
    c = np.concatenate([g, np.full(sysm.n_over, -pen)])
    over = ev.overruns(x) / sigma
    z = np.concatenate([x.reshape(-1) / sigma, over])
    bounds = list(zip(sysm.lo, [h if np.isfinite(h) else None for h in sysm.hi], strict=True))
    res = linprog(
        -c,
        A_ub=sysm.A if sysm.A.shape[0] else None,
        b_ub=sysm.b if sysm.A.shape[0] else None,
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        return None
    gap_abs = max(0.0, float(c @ res.x - c @ z))
    f = abs(ev.objective(x))
    return gap_abs / max(f, 1e-12)


def kkt_polish(
    ev: Evaluator, x: np.ndarray, fixed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Newton on the KKT system of the active set at ``x`` (T = 1, separable objectives).

    Returns the polished spend and the rows' multipliers (``None`` when not polished).
    """
    p = ev.problem
    if p.periods != 1 or p.risk != "mean" or p.objective in ("min_spend", "kpi_at_min_roas"):
        return x, None
    sysm = ev.system
    sigma = sysm.sigma
    x0 = np.asarray(x, dtype=float).reshape(-1).copy()
    lo, hi = p.lower(), p.upper()
    tol = 1e-7 * sigma
    free = (x0 > lo + tol) & (x0 < hi - tol)
    if fixed is not None:
        free &= ~fixed
    rows = sysm.rows
    A = np.array([r.coef for r in rows]) if rows else np.zeros((0, p.n))
    b = np.array([r.rhs for r in rows], dtype=float)
    pen = p.elastic_penalty or 0.0
    act = A @ x0
    slack_tol = 1e-6 * np.maximum(np.abs(b), sigma)
    over_rows = np.array([r.elastic for r in rows], bool) & (act > b + slack_tol)
    binding = (np.abs(act - b) <= slack_tol) & ~over_rows
    const = (pen * A[over_rows].sum(axis=0)) if over_rows.any() else np.zeros(p.n)

    def grad(v):
        return _obj_grad(ev, v[None, :])[0] - const

    g = grad(x0)
    eps = 1e-6 * np.maximum(x0, sigma * 1e-2)
    h = (grad(x0 + eps) - grad(np.maximum(x0 - eps, 0))) / (x0 + eps - np.maximum(x0 - eps, 0))
    free &= np.isfinite(g) & np.isfinite(h) & (h < 0)
    allowed = np.isfinite(g) & np.isfinite(h) & (h < 0)
    if fixed is not None:
        allowed &= ~fixed
    if not free.any():
        return x, None
    AB = A[binding][:, free]
    keep = np.abs(AB).sum(axis=1) > 0
    AB = AB[keep]
    bidx = np.nonzero(binding)[0][keep]
    if AB.shape[0] >= free.sum() and np.linalg.matrix_rank(AB) == free.sum():
        # a vertex: the binding rows fix the free spends
        xv = x0.copy()
        fixed_part = A[bidx][:, ~free] @ x0[~free]
        xv[free] = np.linalg.lstsq(AB, b[bidx] - fixed_part, rcond=None)[0]
        ok = np.all(xv >= lo - 1e-12) and np.all(xv <= hi + 1e-12)
        ok = ok and all(
            r.elastic or r.coef @ xv <= r.rhs + 1e-12 * max(abs(r.rhs), sigma) for r in rows
        )
        f0 = ev.objective(x0[None, :])
        if ok and ev.objective(xv[None, :]) >= f0 - 1e-12 * max(abs(f0), 1.0):
            gv = grad(xv)
            yv = np.linalg.lstsq(AB.T, gv[free], rcond=None)[0]
            unique = AB.shape[0] == free.sum()
            if unique and np.all(yv >= 0) and np.allclose(AB.T @ yv, gv[free], rtol=1e-9):
                duals = np.zeros(len(rows))
                duals[bidx] = yv
                duals[over_rows] = pen
                return np.clip(xv, lo, hi)[None, :], duals
            return np.clip(xv, lo, hi)[None, :], None  # degenerate: keep the solver's duals
        return x, None
    if AB.shape[0] > free.sum():
        return x, None
    # initial multipliers: least squares on the stationarity equations
    y = np.linalg.lstsq(AB.T, g[free], rcond=None)[0] if AB.shape[0] else np.zeros(0)
    Ab = A[bidx]
    xv = x0.copy()
    f0 = ev.objective(x0[None, :])
    for _ in range(200):
        AB = Ab[:, free]
        use = np.abs(AB).sum(axis=1) > 0
        ABu = AB[use]
        if ABu.shape[0] > free.sum() or not free.any():
            return x, None
        g = grad(xv)
        eps = 1e-6 * np.maximum(xv, sigma * 1e-2)
        h = (grad(xv + eps) - grad(np.maximum(xv - eps, 0))) / (xv + eps - np.maximum(xv - eps, 0))
        hF = h[free]
        if not np.all(hF < 0) or not np.all(np.isfinite(g[free])):
            return x, None
        yu = y[use]
        r1 = g[free] - ABu.T @ yu
        if ABu.shape[0]:
            r2 = Ab[use] @ xv - b[bidx][use]
            M = (ABu / hF) @ ABu.T
            rhs = ABu @ (r1 / hF) - r2
            try:
                dy = np.linalg.solve(M, rhs)
            except np.linalg.LinAlgError:  # dependent binding rows: multipliers not unique
                dy = np.linalg.lstsq(M, rhs, rcond=None)[0]
            dx = (ABu.T @ dy - r1) / hF
        else:
            dy = np.zeros(0)
            dx = -r1 / hF
        xf = xv[free]
        with np.errstate(divide="ignore", invalid="ignore"):
            to_lo = np.where(dx < 0, (lo[free] - xf) / dx, np.inf)
            to_hi = np.where(dx > 0, (hi[free] - xf) / dx, np.inf)
        alpha = float(min(1.0, to_lo.min(initial=np.inf), to_hi.min(initial=np.inf)))
        alpha = max(alpha, 0.0)
        xv[free] = xf + alpha * dx
        y[use] = yu + alpha * dy
        if alpha < 1.0:
            fi = np.nonzero(free)[0]
            hit_lo = fi[to_lo <= alpha * (1 + 1e-12)]
            hit_hi = fi[to_hi <= alpha * (1 + 1e-12)]
            xv[hit_lo] = lo[hit_lo]
            xv[hit_hi] = hi[hit_hi]
            free[hit_lo] = False
            free[hit_hi] = False
            continue
        if np.max(np.abs(dx)) <= 1e-14 * max(float(np.abs(xv).max()), sigma):
            # converged on this active set: release bounds whose reduced gradient says so
            rg = grad(xv) - Ab.T @ y
            at_lo = ~free & (xv <= lo + tol) & (rg > 1e-12 * np.abs(g).max())
            at_hi = ~free & (xv >= hi - tol) & (rg < -1e-12 * np.abs(g).max())
            release = (at_lo | at_hi) & allowed
            if not release.any():
                break
            free |= release
    # accept only a feasible improvement
    tot_ok = True
    for r in rows:
        if not r.elastic and r.coef @ xv > r.rhs + 1e-9 * max(abs(r.rhs), sigma):
            tot_ok = False
    f1 = ev.objective(xv[None, :])
    if tot_ok and np.isfinite(f1) and f1 >= f0 - 1e-12 * max(abs(f0), 1.0):
        AF = Ab[:, free]
        if AF.shape[0] and np.linalg.matrix_rank(AF) < AF.shape[0]:
            # dependent binding rows (e.g. a total budget that is the sum of department
            # budgets): the multipliers are not unique; take nonnegative ones that satisfy
            # stationarity g_F = A_F^T y, as a maximisation under A x <= b needs
            from scipy.optimize import nnls

            y = nnls(AF.T, grad(xv)[free])[0]
        duals = np.zeros(len(rows))
        duals[bidx] = y
        duals[over_rows] = pen
        return xv[None, :], duals
    return x, None


def feasible(ev: Evaluator, x: np.ndarray, rtol: float = 1e-9) -> bool:
    """Whether spend ``x`` (T, n) satisfies every hard constraint of the problem."""
    p = ev.problem
    tol = rtol * max(ev.system.sigma, 1.0) * p.n * p.periods
    x = np.asarray(x, dtype=float).reshape(p.periods, p.n)
    if np.any(x < p.lower_tn() - tol) or np.any(x > p.upper_tn() + tol):
        return False
    tot = x.sum(axis=0)
    for r in ev.system.rows:
        if not r.elastic and r.coef @ tot > r.rhs + tol:
            return False
    for r in ev.system.pacing:  # rows on spend per period
        if r.coef @ x.ravel() > r.rhs + tol:
            return False
    if not p.flight_ok(x):
        return False
    k = ev.kpi_draws(x)
    if p.objective == "min_spend" and risk(k, p) < p.kpi_target * (1 - 1e-9):
        return False
    if p.objective == "kpi_at_min_roas":
        rate = (p.min_roas / p.kpi_value) if p.min_roas is not None else 1.0 / p.max_cpa
        if risk(k, p) < rate * x.sum() * (1 - 1e-9):
            return False
    return True


def certify(ev: Evaluator, raw: RawSolution, method: str) -> RawSolution:
    """Polish ``raw`` and set its certified gap; never worse than the reference allocation.

    ``convex``: the KKT polish, then the smallest of the Frank-Wolfe gap and (after tangent
    cuts) the cut bound's gap; the conic solver's own tolerance when neither applies.
    ``global``: the polish is kept only when it does not lose objective, and the gap is
    recomputed against the branch-and-bound upper bound.
    """
    p = ev.problem
    if method == "convex":
        raw.x, duals = kkt_polish(ev, raw.x)
        if duals is not None:
            raw.row_duals = duals
        cands = []
        fw = frank_wolfe_gap(ev, raw.x)
        if fw is not None:
            cands.append(fw)
        kelley = raw.info.get("cut_rounds", 0) > 0 and p.objective in ("kpi", "profit")
        if kelley and raw.upper_bound is not None:
            f = ev.objective(raw.x)
            cands.append(max(0.0, raw.upper_bound - f) / max(abs(f), 1e-300))
        if cands:
            raw.gap = min(cands)
        elif raw.gap is None:
            raw.gap = CLARABEL_GAP
    else:
        f0 = ev.objective(raw.x)
        x1, duals = kkt_polish(ev, raw.x)
        f1 = ev.objective(x1)
        if duals is not None and f1 >= f0 - 1e-12 * max(abs(f0), 1.0):
            raw.x = x1
            raw.row_duals = duals  # the true problem's multipliers, not the relaxation's
            if raw.upper_bound is not None:
                raw.gap = max(0.0, raw.upper_bound - f1) / max(abs(f1), 1e-300)
    return never_worse_than_reference(ev, raw)


def never_worse_than_reference(ev: Evaluator, raw: RawSolution) -> RawSolution:
    """Return today's allocation (with a note) when it is feasible and scores higher."""
    p = ev.problem
    ref = p.reference()
    if ref is None:
        return raw
    xr = np.tile(ref, (p.periods, 1))
    if not feasible(ev, xr):
        return raw
    fx, fr = ev.objective(raw.x), ev.objective(xr)
    if fr > fx:
        raw.messages.append(
            "the current allocation scores higher than the solver's answer by "
            f"{fr - fx:.3g}; returning the current allocation"
        )
        raw.x = xr
    return raw
