"""The global path for S-shaped curves: concave-envelope relaxation + branch and bound.

The objective is separable, ``sum_i phi_i(x_i)``. Over a box ``[l_i, u_i]`` the concave
envelope of an S-shaped ``phi_i`` is the chord from ``(l_i, phi_i(l_i))`` to the tangent
point ``w_i`` (where ``phi_i'(w) (w - l) = phi_i(w) - phi_i(l)``) followed by ``phi_i``
itself. Replacing each curve by its envelope gives a concave problem whose optimum bounds
the true one from above; we solve it as an LP (HiGHS) with the chord line and tangent
lines of the concave part (each a supporting line of the envelope, so the LP value is a
valid upper bound) and add a tangent at the LP solution until the cut error is negligible.
The LP solution is feasible for the original problem, so its true value (after a local
KKT polish) is a lower bound. Branch and bound splits the box of the channel with the
largest envelope gap at its LP value (Udell and Boyd's sigmoidal programming) until
``(upper - lower) / |lower| <= gap_tol``: the reported gap is a certificate.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from mediamix.errors import ConvergenceError, SpecError
from mediamix.optimize.certify import kkt_polish
from mediamix.optimize.convex import RawSolution, _kpi_scale
from mediamix.optimize.curves import CurveBank
from mediamix.optimize.linear import LinearSystem, diagnose_infeasible, spend_caps
from mediamix.optimize.objective import Evaluator

GRID = 1025


@dataclass
class _Node:
    lo: np.ndarray
    hi: np.ndarray
    w: np.ndarray  # tangent point per channel
    slope: np.ndarray  # chord slope from lo (upper bound)
    ub: float = np.inf


class _Curves:
    """Mean-over-draws curves in normalised units: ``phi(xi) = weight * F(sigma xi) / scale``."""

    def __init__(self, ev: Evaluator, sigma: float, scale: float, weight: float):
        self.ev, self.sigma, self.scale, self.weight = ev, sigma, scale, weight
        self.n = ev.problem.n

    def f(self, xi: np.ndarray) -> np.ndarray:
        return self.weight * self.ev.bank.values(xi * self.sigma).mean(axis=0) / self.scale

    def d(self, xi: np.ndarray) -> np.ndarray:
        d = self.ev.bank.derivs(xi * self.sigma).mean(axis=0) * self.sigma
        return self.weight * np.where(np.isfinite(d), d, 1e300) / self.scale


def solve_global(ev: Evaluator, system: LinearSystem) -> RawSolution:
    p = ev.problem
    if p.periods != 1 or p.combine != "additive" or p.risk != "mean":
        raise SpecError(
            "S-shaped curves are solved globally for one period, combine 'additive' and risk "
            "'mean'; for flighting, multiplicative or CVaR use concave curves (e.g. hill with "
            "s <= 1) or approximate with a concave 'table'"
        )
    if p.objective not in ("kpi", "profit"):
        raise SpecError(
            f"objective '{p.objective}' with S-shaped curves is not supported; use 'kpi' or "
            "'profit' (or concave curves)"
        )
    t0 = time.perf_counter()
    sigma = system.sigma
    kappa = _kpi_scale(ev, sigma)
    weight = p.kpi_value if p.objective == "profit" else 1.0
    scale = weight * kappa
    lin = sigma / scale if p.objective == "profit" else 0.0
    pen = (p.elastic_penalty or 0.0) * sigma / scale
    cv = _Curves(ev, sigma, scale, weight)
    n = p.n
    lo0 = system.lo[:n].copy()
    hi0 = np.minimum(system.hi[:n], spend_caps(p) / sigma)
    hi0 = np.maximum(hi0, lo0)
    # inflection bracket per S-shaped channel from the derivative of its mean curve on a grid
    concave = np.array([c.response.is_concave for c in p.channels])
    c_lo, c_hi = lo0.copy(), lo0.copy()
    nc = np.nonzero(~concave)[0]
    if nc.size:
        G = int(np.clip(4e6 / (ev.bank.S * nc.size), 129, GRID))
        grid = lo0[None, nc] + (hi0 - lo0)[None, nc] * np.linspace(0, 1, G)[:, None]
        sub = CurveBank([p.responses[i] for i in nc])
        dg = sub.derivs(grid * sigma).mean(axis=0)
        am = np.argmax(np.where(np.isfinite(dg), dg, np.inf), axis=0)
        cols = np.arange(nc.size)
        c_lo[nc] = grid[np.maximum(am - 1, 0), cols]
        c_hi[nc] = np.where(am == 0, lo0[nc], grid[np.minimum(am + 1, G - 1), cols])
    pool: list[list[float]] = [[] for _ in range(n)]
    # initial tangent points spread over the concave part
    for i in range(n):
        a, b = max(c_hi[i], lo0[i]), hi0[i]
        if b > a:
            pool[i].extend(list(a + (b - a) * np.linspace(0, 1, 9)[1:] ** 1.5))
            pool[i].append(a + (b - a) * 1e-4)
        else:
            pool[i].append(float(b))

    def envelope(lo, hi, idx):
        """Tangent point and chord slope for channels ``idx`` on boxes [lo, hi]."""
        w = lo.copy()
        slope = np.zeros(n)
        idx = np.asarray(idx)
        if idx.size == 0:
            return w, slope
        need = idx[lo[idx] < c_hi[idx]]
        if need.size:
            full_lo = lo.copy()
            x_hi = hi.copy()
            f_lo = cv.f(full_lo)
            psi_hi = cv.d(x_hi) * (x_hi - lo) - (cv.f(x_hi) - f_lo)
            chord = need[psi_hi[need] >= 0]
            w[chord] = hi[chord]
            den = np.maximum(hi - lo, 1e-300)
            slope[chord] = ((cv.f(x_hi) - f_lo) / den)[chord]
            bis = need[psi_hi[need] < 0]
            if bis.size:
                a = np.maximum(lo, c_lo).copy()
                b = hi.copy()
                for _ in range(64):
                    mid = 0.5 * (a + b)
                    psi = cv.d(mid) * (mid - lo) - (cv.f(mid) - f_lo)
                    pos = psi >= 0
                    a = np.where(pos, mid, a)
                    b = np.where(pos, b, mid)
                w[bis] = b[bis]
                s = np.maximum(cv.d(a), cv.d(b))
                slope[bis] = (s * (1 + 1e-12) + 1e-300)[bis]
        return w, slope

    # --- LP pieces that do not change -------------------------------------------------
    A_sys = system.A
    m = A_sys.shape[0]
    n_over = system.n_over
    # variable order [xi (n), t (n), over (n_over)]
    if m:
        A_rows = sp.hstack([A_sys[:, :n], sp.csr_matrix((m, n)), A_sys[:, n:]], format="csr")
    else:
        A_rows = sp.csr_matrix((0, 2 * n + n_over))
    cobj = np.concatenate([np.full(n, lin), -np.ones(n), np.full(n_over, pen)])  # minimise

    memo: dict[tuple[int, float], tuple[float, float]] = {}

    def cached_fd(pi: np.ndarray, pp: np.ndarray):
        """Mean curve value and slope at (channel, point) pairs, evaluated once each."""
        keys = list(zip(pi.tolist(), pp.tolist(), strict=True))
        miss = [k for k in dict.fromkeys(keys) if k not in memo]
        if miss:
            mi = np.array([k[0] for k in miss])
            mp = np.array([k[1] for k in miss])
            counts = np.bincount(mi, minlength=n)
            order = np.argsort(mi, kind="stable")
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            slot = np.zeros(mi.size, int)
            slot[order] = np.arange(mi.size) - np.repeat(start, counts)
            X = np.tile(lo0, (int(counts.max()), 1))
            X[slot, mi] = mp
            F, D = cv.f(X), cv.d(X)
            for k, fv_, dv_ in zip(miss, F[slot, mi], D[slot, mi], strict=True):
                memo[k] = (float(fv_), float(dv_))
        vals = np.array([memo[k] for k in keys])
        return vals[:, 0], vals[:, 1]

    def solve_lp(node: _Node):
        ri, ci, vals, rhs = [], [], [], []
        r = 0
        f_lo = cv.f(node.lo)
        for i in range(n):
            if node.lo[i] < c_hi[i] and node.hi[i] > node.lo[i]:
                # chord line from (lo, f(lo)) with the envelope slope
                ri += [r, r]
                ci += [n + i, i]
                vals += [1.0, -node.slope[i]]
                rhs.append(f_lo[i] - node.slope[i] * node.lo[i])
                r += 1
        pts_i, pts_p = [], []
        for i in range(n):
            thr = node.w[i] if node.lo[i] < c_hi[i] else c_hi[i]
            if node.lo[i] >= c_hi[i] or node.w[i] < node.hi[i]:
                ps = [q for q in pool[i] if q >= thr - 1e-15]
                if node.lo[i] >= c_hi[i]:
                    ps.append(node.lo[i])
                if node.w[i] < node.hi[i] and node.lo[i] < c_hi[i]:
                    ps.append(node.w[i])
                ps.append(node.hi[i])
                pts_i += [i] * len(ps)
                pts_p += ps
        if pts_i:
            pi = np.array(pts_i)
            pp = np.array(pts_p)
            fv, dv = cached_fd(pi, pp)
            good = np.isfinite(dv) & (np.abs(dv) < 1e9) & np.isfinite(fv)
            pi, pp, fv, dv = pi[good], pp[good], fv[good], dv[good]
            rows = r + np.arange(pp.size)
            ri += list(np.repeat(rows, 2))
            ci += list(np.column_stack([n + pi, pi]).ravel())
            vals += list(np.column_stack([np.ones(pp.size), -dv]).ravel())
            rhs += list(fv - dv * pp)
            r += pp.size
        Cut = sp.csr_matrix((vals, (ri, ci)), shape=(r, 2 * n + n_over))
        A = sp.vstack([Cut, A_rows], format="csr")
        b = np.concatenate([np.asarray(rhs, float), system.b])
        bounds = (
            [(node.lo[i], node.hi[i]) for i in range(n)]
            + [(None, None)] * n
            + [(0.0, None)] * n_over
        )
        res = linprog(cobj, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if res.status == 2:
            return None
        if res.status != 0:
            raise ConvergenceError(f"the LP relaxation failed: {res.message}")
        duals = -np.asarray(res.ineqlin.marginals[r:], float) if m else np.zeros(0)
        return res.x, -res.fun, duals

    def true_value(xi):
        tv = float(cv.f(xi).sum()) - lin * float(xi.sum())
        if n_over:
            ov = np.maximum(0.0, system.A[:, :n] @ xi - system.b)[system.elastic_rows]
            tv -= pen * float(ov.sum())
        return tv

    best = {"x": None, "val": -np.inf, "duals": np.zeros(m)}

    def consider(xi, duals):
        xs = kkt_polish(ev, (xi * sigma)[None, :])[0][0] / sigma
        for cand in (xs, xi):
            v = true_value(cand)
            if v > best["val"]:
                best.update(x=cand.copy(), val=v, duals=duals)

    def process(node: _Node):
        out = None
        for _ in range(40):
            sol = solve_lp(node)
            if sol is None:
                return None
            z, ub, duals = sol
            xi, t = z[:n], z[n : 2 * n]
            fx = cv.f(xi)
            consider(xi, duals)
            err = t - fx
            in_conc = (xi >= node.w - 1e-15) & (xi > node.lo) | (node.lo >= c_hi)
            in_conc &= xi >= c_hi
            cut_err = float(np.sum(np.maximum(err[in_conc], 0)))
            out = (xi, t, ub, err, in_conc)
            if cut_err <= 0.05 * p.gap_tol * max(abs(best["val"]), 1e-12):
                break
            add = np.nonzero(in_conc & (err > 1e-13 * max(abs(ub), 1.0)))[0]
            if add.size == 0:
                break
            for i in add:
                pool[i].append(float(xi[i]))
        return out

    w0, s0 = envelope(lo0, hi0, np.arange(n))
    root = _Node(lo0, hi0, w0, s0)
    res = process(root)
    if res is None:
        raise diagnose_infeasible(p, system)
    counter = itertools.count()
    heap = [(-res[2], next(counter), root, res)]
    nodes = 1
    status = "optimal"
    closed_ub = -np.inf  # largest bound among nodes closed without branching
    time_limit, max_nodes = 120.0, 20000

    def tol_of(v):
        return p.gap_tol * max(abs(v), 1e-12)

    while heap:
        lb = best["val"]
        if -heap[0][0] <= lb + tol_of(lb):
            closed_ub = max(closed_ub, -heap[0][0])
            break  # every open node is within the target: done
        if time.perf_counter() - t0 > time_limit or nodes >= max_nodes:
            status = "gap_limit"
            break
        _, _, node, (xi, t, ub, err, in_conc) = heapq.heappop(heap)
        gapc = np.where(~in_conc & (xi > node.lo) & (xi < node.hi), err, 0.0)
        j = int(np.argmax(gapc))
        if gapc[j] <= 1e-14 * max(abs(ub), 1.0):
            closed_ub = max(closed_ub, ub)  # only cut error left in this node
            continue
        split = xi[j]
        for lo_j, hi_j in ((node.lo[j], split), (split, node.hi[j])):
            lo = node.lo.copy()
            hi = node.hi.copy()
            lo[j], hi[j] = lo_j, hi_j
            w, s = node.w.copy(), node.slope.copy()
            wj, sj = envelope(lo, hi, [j])
            w[j], s[j] = wj[j], sj[j]
            child = _Node(lo, hi, w, s)
            r = process(child)
            nodes += 1
            if r is None:
                continue
            heapq.heappush(heap, (-r[2], next(counter), child, r))
    lb = best["val"]
    ub = max([closed_ub, lb] + [-h[0] for h in heap])
    gap = max(0.0, ub - lb) / max(abs(lb), 1e-12)
    x = (best["x"] * sigma)[None, :]
    duals = np.asarray(best["duals"], float) * scale / sigma
    info = {"nodes": nodes, "seconds_solver": time.perf_counter() - t0}
    return RawSolution(x, status, "global", gap, duals, ub * scale, info)
