"""The convex path: concave curves give a convex program, solved by cvxpy with Clarabel.

Each family with a cone form (``SaturationFamily.cone``, see
:mod:`mediamix.transforms.saturation`) becomes a disciplined-convex expression of the
(normalised) units ``u``:

- ``log1p``: ``a * log1p(u / scale)``; ``power`` (alpha <= 1): ``a * u^alpha``;
- ``exponential``: ``beta - beta * exp(-k u)``;
- ``michaelis_menten`` and ``hill`` with ``s = 1``: ``beta - beta * k * inv_pos(k + u)``;
- concave ``table``: the minimum of its segments' lines (exact);
- other concave curves, without a cone form (``logistic``, ``hill`` with ``s < 1``, ``sigmoid`` with ``m <= 0``):
  an epigraph variable below tangent lines (an outer approximation), refined with a tangent
  at the solution until the gap to the true objective is below the target (Kelley cuts).

Over posterior draws the objective is the sample average of the per-draw KPI (or its CVaR in
the Rockafellar-Uryasev form ``eta - mean((eta - K_s)_+) / alpha``), never the curve of the
mean parameters. The certificate is the Frank-Wolfe bound: for concave ``f`` and the feasible
polytope ``P``, ``max_P f <= f(x) + max_{y in P} g(x) . (y - x)``, an LP.
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from mediamix.errors import ConvergenceError, SpecError
from mediamix.optimize.curves import CurveBank, family_eval
from mediamix.optimize.linear import LinearSystem, diagnose_infeasible, spend_caps
from mediamix.optimize.objective import Evaluator, risk
from mediamix.optimize.solution import RawSolution

MAX_CUT_ROUNDS = 60


class _Pieces:
    """cvxpy expressions of every channel's curve per (draw, effective period, channel)."""

    def __init__(self, ev: Evaluator, aeff, sigma: float):
        p = ev.problem
        bank: CurveBank = ev.bank
        self.S = bank.S
        n_lam = ev.R
        P = ev.P
        self.P = P
        self.terms = []  # (rows of K (S,), expression over elements, its log form or None)
        self.constraints = []
        self.cut_sets = []  # {fam, params (flat), U expr, epigraph var, cut points}
        caps = spend_caps(p)
        for fam, idx, params in bank.groups:
            nf = idx.size
            # element e = (s, t, j) with j over idx
            s_i, t_i, j_i = np.meshgrid(
                np.arange(self.S), np.arange(P), np.arange(nf), indexing="ij"
            )
            s_i, t_i, j_i = s_i.ravel(), t_i.ravel(), j_i.ravel()
            ch = idx[j_i]
            scale = sigma / bank.price[s_i, ch]
            E = s_i.size
            r_i = s_i if n_lam > 1 else np.zeros_like(s_i)
            col = (r_i * P + t_i) * p.n + ch
            D = sp.csr_matrix((scale, (np.arange(E), col)), shape=(E, n_lam * P * p.n))
            U = D @ aeff
            flat = {k: (v if k in fam.vector_params else v[s_i, j_i]) for k, v in params.items()}
            # per-draw sums, each effective period weighted by its discount (1 without one)
            R = sp.csr_matrix((ev.weights[t_i], (s_i, np.arange(E))), shape=(self.S, E))
            cone = fam.cone_form(U, flat)
            if cone is not None:  # the family's exact disciplined-convex form
                for term in cone:
                    rows = R if term.rows is None else R[:, term.rows]
                    self.terms.append((rows, term.expr, term.log))
                    self.constraints.extend(term.constraints)
            else:
                v = cp.Variable(E)
                cap_u = caps[ch] / bank.price[s_i, ch]
                cap_u = np.where(
                    np.isfinite(cap_u) & (cap_u > 0), cap_u, sigma / bank.price[s_i, ch]
                )
                pts = [cap_u * (k / 16) ** 2 for k in range(1, 17)] + [cap_u * 1e-6]
                cs = {"fam": fam, "params": flat, "U": U, "v": v, "points": []}
                self.cut_sets.append(cs)
                for q in pts:
                    self.add_cut(cs, q)
                self.terms.append((R, v, None))

    def add_cut(self, cs, q) -> None:
        q = np.maximum(np.asarray(q, dtype=float), 1e-12)
        f = family_eval(cs["fam"], q, cs["params"], "f")
        d = family_eval(cs["fam"], q, cs["params"], "d")
        ok = np.isfinite(d) & np.isfinite(f)
        d = np.where(ok, d, 0.0)
        f = np.where(ok, f, 1e30)
        self.constraints.append(cs["v"] <= f - d * q + cp.multiply(d, cs["U"]))
        cs["points"].append(q)

    def kpi(self, log: bool = False):
        """Per-draw KPI expression (S,), or per-draw sum of log responses."""
        out = 0
        for R, e, log_e in self.terms:
            if log:
                e = log_e if log_e is not None else cp.log(e)
            out = out + R @ e
        return out


def solve_convex(ev: Evaluator, system: LinearSystem) -> RawSolution:
    """Solve a problem whose curves are all concave (see the module docstring)."""
    p = ev.problem
    if p.min_flight is not None:  # on/off binaries: the outer-approximation search
        from mediamix.optimize.global_ import FlightSearch

        return FlightSearch(ev, system).solve()
    t0 = time.perf_counter()
    for c in p.channels:
        if not c.response.is_concave:
            raise SpecError(
                f"channel '{c.name}' has an S-shaped curve ({c.response.family}); the convex "
                "path needs concave curves. Use method 'global' (or 'auto')."
            )
    sigma = system.sigma
    kappa = ev.kpi_scale()
    z = cp.Variable(system.A.shape[1])
    xv = z[: system.n_x]
    aeff = ev.L @ xv + ev.carry
    pieces = _Pieces(ev, aeff, sigma)
    cons = list(pieces.constraints)
    n_used = len(pieces.constraints)
    lo, hi = system.lo, system.hi
    cons.append(z >= lo)
    fin = np.isfinite(hi)
    if fin.any():
        cons.append(z[np.nonzero(fin)[0]] <= hi[fin])
    row_con = None
    if system.A.shape[0]:
        row_con = system.A @ z <= system.b
        cons.append(row_con)
    over = z[system.n_x :] if system.n_over else None
    pen = p.elastic_penalty or 0.0
    S = pieces.S
    if p.combine == "multiplicative":
        k = pieces.kpi(log=True)
        obj_scale = 1.0
        obj = cp.sum(k) / S
        if over is not None:
            obj = obj - pen * sigma * cp.sum(over)
        measure = None
    else:
        k = pieces.kpi() / kappa
        if p.risk == "cvar":
            eta = cp.Variable()
            measure = eta - cp.sum(cp.pos(eta - k)) / (p.alpha * S)
        else:
            measure = cp.sum(k) / S
        spend = cp.sum(xv)
        pen_term = (pen * sigma * cp.sum(over)) if over is not None else 0
        if p.objective == "kpi":
            obj_scale = kappa
            obj = measure - pen_term / kappa
        elif p.objective == "profit":
            obj_scale = p.kpi_value * kappa
            obj = measure - (sigma * spend + pen_term) / obj_scale
        elif p.objective == "min_spend":
            obj_scale = sigma * p.n * p.periods
            obj = -(sigma * spend + pen_term) / obj_scale
            cons.append(measure >= p.kpi_target / kappa)
        else:
            obj_scale = kappa
            obj = measure - pen_term / kappa
            rate = (p.min_roas / p.kpi_value) if p.min_roas is not None else 1.0 / p.max_cpa
            cons.append(measure * kappa >= rate * sigma * spend)
    prob = cp.Problem(cp.Maximize(obj), cons)
    rounds = 0
    gap = None
    best_x = None
    ub = None
    while True:
        try:
            prob.solve(solver="CLARABEL")
        except cp.error.SolverError:
            try:
                prob.solve(solver="CLARABEL", max_iter=500, tol_gap_rel=1e-7, tol_feas=1e-7)
            except cp.error.SolverError as exc:
                raise ConvergenceError(f"the convex solver failed: {exc}") from None
        if prob.status in ("infeasible", "infeasible_inaccurate"):
            extra = ""
            if p.objective == "min_spend":
                extra = f"(or the KPI target {p.kpi_target:g} is out of reach) "
            if p.objective == "kpi_at_min_roas":
                extra = "(or no spend reaches the minimum ROAS / maximum CPA) "
            raise diagnose_infeasible(p, system, extra)
        if prob.status not in ("optimal", "optimal_inaccurate"):
            raise ConvergenceError(
                f"the convex solver stopped with status '{prob.status}'; check the curves' "
                "parameters and bounds"
            )
        xs = np.clip(np.asarray(xv.value, dtype=float), lo[: system.n_x], hi[: system.n_x])
        best_x = xs * sigma
        ub = float(prob.value)
        if not pieces.cut_sets:
            break
        true = ev.objective(best_x.reshape(p.periods, p.n)) / obj_scale
        if p.combine != "multiplicative" and p.objective not in ("kpi", "profit"):
            kval = float(measure.value)
            # For constrained KPI forms the cut error shows in the KPI measure instead.
            kt = ev.kpi_draws(best_x.reshape(p.periods, p.n))
            true_k = risk(kt, p) / kappa
            gap = abs(kval - true_k) / max(abs(true_k), 1e-12)
        else:
            gap = max(0.0, ub - true) / max(abs(true), 1e-12)
        rounds += 1
        if gap <= 0.5 * p.gap_tol or rounds >= MAX_CUT_ROUNDS:
            break
        for cs in pieces.cut_sets:
            pieces.add_cut(cs, cs["U"].value)
        cons = cons + pieces.constraints[n_used:]
        n_used = len(pieces.constraints)
        prob = cp.Problem(cp.Maximize(obj), cons)
    duals = np.zeros(len(system.rows))
    if row_con is not None and row_con.dual_value is not None:
        duals = np.asarray(row_con.dual_value, dtype=float) * obj_scale / sigma
    x = best_x.reshape(p.periods, p.n)
    status = "optimal" if prob.status == "optimal" else "optimal_inaccurate"
    info = {"solver": "CLARABEL", "cut_rounds": rounds, "seconds_solver": time.perf_counter() - t0}
    return RawSolution(x, status, "convex", gap, duals, ub * obj_scale, info)
