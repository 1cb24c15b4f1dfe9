"""The linear side of a problem: spend variables, bounds, named rows and carry-over maps.

Shared by the convex path, the global path, the optimality certificates and the
infeasibility diagnosis, so that every solver sees exactly the same constraints.
Variables are ``z = [vec(x) ; o]``: spend per (period, channel) in row-major order and one
overrun per elastic row, all divided by the spend scale ``sigma``. The rows of ``A`` are the
problem's rows on total spend per channel (``rows``), then its pacing rows on spend per
period (``pacing``, see :meth:`Problem.pacing_rows`); per-period caps and dark periods are
box bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize.problem import Problem, Row

TAIL_TOL = 1e-4
MAX_TAIL = 520


@dataclass(frozen=True)
class LinearSystem:
    """``A @ z <= b`` with box bounds ``lo <= z <= hi``, in units of ``sigma``."""

    rows: list[Row]
    A: sp.csr_matrix
    b: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    T: int
    n: int
    n_over: int
    elastic_rows: list[int]
    sigma: float
    pacing: tuple[Row, ...] = ()

    @property
    def n_x(self) -> int:
        return self.T * self.n


def spend_scale(problem: Problem) -> float:
    """A typical spend per period and channel, so the solver works with numbers near 1."""
    n, T = problem.n, problem.periods
    cands = []
    if problem.budget is not None and problem.budget > 0:
        cands.append(problem.budget / (n * T))
    elif problem.departments:
        tot = sum(max(float(b), 0.0) for b in problem.departments.values())
        if tot > 0:
            cands.append(tot / (n * T))
    ref = problem.reference()
    if not cands and ref is not None and ref.sum() > 0:
        cands.append(float(ref.mean()))
    up = problem.upper()
    if not cands and np.isfinite(up).any() and up[np.isfinite(up)].sum() > 0:
        cands.append(float(up[np.isfinite(up)].mean()))
    if not cands:
        lo = problem.lower()
        if lo.sum() > 0:
            cands.append(float(lo.mean()))
    if not cands:
        prices = [float(np.mean(c.response.unit_price)) for c in problem.channels]
        cands.append(float(np.mean(prices)))
    s = cands[0]
    return s if math.isfinite(s) and s > 0 else 1.0


def linear_system(problem: Problem, sigma: float) -> LinearSystem:
    n, T = problem.n, problem.periods
    rows = problem.linear_rows()
    el = [j for j, r in enumerate(rows) if r.elastic]
    n_x = n * T
    pacing = tuple(problem.pacing_rows())
    data = []
    for r in rows:
        data.append(np.tile(r.coef, T))  # the row applies to spend summed over periods
    for r in pacing:
        data.append(r.coef)  # the row applies to spend per period
    m = len(rows) + len(pacing)
    A = sp.csr_matrix(np.array(data).reshape(m, n_x)) if m else sp.csr_matrix((0, n_x))
    if el:
        over = sp.csr_matrix((-np.ones(len(el)), (el, np.arange(len(el)))), shape=(m, len(el)))
        A = sp.hstack([A, over]).tocsr()
    b = np.array([r.rhs for r in rows] + [r.rhs for r in pacing], dtype=float) / sigma
    lo = np.concatenate([problem.lower_tn().ravel(), np.zeros(len(el))]) / sigma
    hi = np.concatenate([problem.upper_tn().ravel(), np.full(len(el), np.inf)]) / sigma
    return LinearSystem(rows, A, b, lo, hi, T, n, len(el), el, sigma, pacing)


def spend_caps(problem: Problem) -> np.ndarray:
    """An upper limit on each channel's spend per period implied by the constraints."""
    up = problem.upper()
    tot = []
    if problem.budget is not None:
        tot.append(max(problem.budget, 0.0))
    if problem.departments:
        tot.append(sum(max(float(b), 0.0) for b in problem.departments.values()))
    total = max(tot) if tot else np.inf
    if problem.elastic_penalty is not None or not np.isfinite(total):
        total = 2 * max(total if np.isfinite(total) else 0.0, problem.lower().sum())
        if total <= 0:
            total = spend_scale(problem) * problem.n * 10
    caps = np.minimum(up, total)
    return np.maximum(caps, problem.lower())


def adstock_map(problem: Problem, sigma: float) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """Effective (adstocked) spend ``A = L @ vec(x) + c`` over the horizon plus its tail.

    ``A_t = lam A_{t-1} + (1 - lam) x_t`` with ``A_{-1}`` from ``history`` (oldest first);
    after the last period spend is zero and the tail runs until ``lam^h < 1e-4``. With one
    period the curve is the steady-state response to a constant spend: ``A = x``. With ``R``
    carry-over draws the rows stack one block per draw: index ``(r, t, i)``. With
    ``lag_weights`` the kernel is the model's own (`lag_map`); with ``carry_out`` off there
    is no tail.
    """
    n, T = problem.n, problem.periods
    if T == 1:
        return sp.identity(n, format="csr"), np.zeros(n), 0
    if problem.lag_weights:
        return lag_map(problem, sigma)
    lam_all = problem.carryover()  # (R, n)
    R = lam_all.shape[0]
    H = 0
    for v in lam_all.max(axis=0):
        if v > 0:
            H = max(H, min(MAX_TAIL, int(math.ceil(math.log(TAIL_TOL) / math.log(v)))))
    if not problem.carry_out:
        H = 0
    P = T + H
    ri, ci, vals = [], [], []
    carry = np.zeros((R, P, n))
    t_idx, tau_idx = np.meshgrid(np.arange(P), np.arange(T), indexing="ij")
    mask = tau_idx <= t_idx
    tt, uu = t_idx[mask], tau_idx[mask]
    for r in range(R):
        lam = lam_all[r]
        for i in range(n):
            a0 = 0.0
            for v in problem.history.get(problem.names[i], []):
                a0 = lam[i] * a0 + (1 - lam[i]) * v
            carry[r, :, i] = lam[i] ** (np.arange(P) + 1) * a0 / sigma
            w = (1 - lam[i]) * lam[i] ** (tt - uu).astype(float)
            keep = (w > 1e-14) | (tt == uu)
            ri.append((r * P + tt[keep]) * n + i)
            ci.append(uu[keep] * n + i)
            vals.append(w[keep])
    L = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))), shape=(R * P * n, T * n)
    )
    return L, carry.ravel(), H


def lag_map(problem: Problem, sigma: float) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """`adstock_map` with each channel's own lag kernel ``w`` (``lag_weights``: (L,) or per
    draw (R, L), lag 0 first): ``A_{t,i} = sum_l w~_l x_{t-l,i}`` with ``w~ = w / sum(w)`` (so a
    constant spend gives ``A = x``, the steady state the curves' unit price is set for), the
    spend before the horizon from ``history`` (oldest first) and a tail of ``L - 1`` periods
    after it (none with ``carry_out`` off)."""
    n, T = problem.n, problem.periods
    ws = []
    for name in problem.names:
        w = np.atleast_2d(np.asarray(problem.lag_weights[name], dtype=float))
        ws.append(w / w.sum(axis=1, keepdims=True))
    R = max(w.shape[0] for w in ws)
    bad = sorted({w.shape[0] for w in ws} - {1, R})
    if bad:
        raise SpecError(
            f"problem.lag_weights: one number of draws for every channel (got {bad} and {R})"
        )
    L = max(w.shape[1] for w in ws)
    W = np.zeros((R, n, L))
    for i, w in enumerate(ws):
        W[:, i, : w.shape[1]] = np.broadcast_to(w, (R, w.shape[1]))
    H = L - 1 if problem.carry_out else 0
    P = T + H
    hist = np.zeros((L, n))  # hist[k] = spend k + 1 periods before the horizon
    for i, name in enumerate(problem.names):
        h = np.asarray(problem.history.get(name, ()), dtype=float)[::-1][:L]
        hist[: h.size, i] = h
    carry = np.zeros((R, P, n))
    for p in range(P):
        for lag in range(p + 1, L):  # spend lag - p - 1 ... periods before the horizon
            carry[:, p, :] += W[:, :, lag] * hist[lag - p - 1][None, :]
    ri, ci, vals = [], [], []
    for p in range(P):
        for tau in range(max(0, p - L + 1), min(p, T - 1) + 1):
            lag = p - tau
            ri.append(((np.arange(R)[:, None] * P + p) * n + np.arange(n)[None, :]).ravel())
            ci.append(np.tile(tau * n + np.arange(n), R))
            vals.append(W[:, :, lag].ravel())
    Lm = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))), shape=(R * P * n, T * n)
    )
    return Lm, (carry / sigma).ravel(), H


def _feasible(system: LinearSystem, rows: list[int], lows: list[int]) -> bool:
    from scipy.optimize import linprog

    nx = system.n_x
    lo = np.zeros(nx)
    lo[lows] = system.lo[:nx][lows]
    hi = system.hi[:nx]
    A = system.A[rows, :nx] if rows else None
    b = system.b[rows] if rows else None
    bounds = [(lo[k], hi[k] if np.isfinite(hi[k]) else None) for k in range(nx)]
    res = linprog(np.zeros(nx), A_ub=A, b_ub=b, bounds=bounds, method="highs")
    return res.status == 0


def diagnose_infeasible(problem: Problem, system: LinearSystem, extra: str = "") -> InfeasibleError:
    """Name a minimal set of constraints that cannot hold together (a deletion filter)."""
    nx = system.n_x
    all_rows = list(system.rows) + list(system.pacing)
    rows = list(range(len(all_rows)))
    lows = [k for k in range(nx) if system.lo[k] > 0]
    names: list[str] = []
    if len(rows) + len(lows) <= 300 and not _feasible(system, rows, lows):
        for j in list(rows):
            trial = [r for r in rows if r != j]
            if not _feasible(system, trial, lows):
                rows = trial
        for k in list(lows):
            trial = [v for v in lows if v != k]
            if not _feasible(system, rows, trial):
                lows = trial
        names = [all_rows[j].name for j in rows]
        seen = set()
        for k in lows:
            i = k % system.n
            if i not in seen:
                seen.add(i)
                names.append(
                    f"lower bound of channel '{problem.names[i]}' ({problem.lower()[i]:g})"
                )
    what = "; ".join(names) if names else "the constraints (with the curves' limits)"
    hint = (
        "Relax one of them, or add `elastic: {penalty: M}` to overrun budgets at a penalty "
        "and get the best plan with the overrun reported."
    )
    return InfeasibleError(
        f"the problem is infeasible: conflicting constraints: {what}. {extra}{hint}"
    )
