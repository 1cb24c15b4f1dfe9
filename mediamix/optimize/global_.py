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

Everything is in normalised units: spend ``xi = x / sigma`` and objective
``phi(xi) = weight * mean_s F_s(sigma xi) / scale``. The limits (``Problem.max_nodes``,
``Problem.time_limit``) stop the search with status ``gap_limit`` and the gap reached.
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
from mediamix.optimize.curves import CurveBank
from mediamix.optimize.linear import LinearSystem, diagnose_infeasible, spend_caps
from mediamix.optimize.objective import Evaluator
from mediamix.optimize.solution import RawSolution


@dataclass
class Node:
    """A box ``[lo, hi]`` of normalised spend with each channel's envelope on it."""

    lo: np.ndarray
    hi: np.ndarray
    w: np.ndarray  # tangent point per channel
    slope: np.ndarray  # chord slope from lo (upper bound)


@dataclass
class Bound:
    """The relaxation of one node: its LP point ``xi``, epigraph values ``t`` (the envelope
    at ``xi``), the upper bound ``ub``, the envelope gap per channel ``err = t - phi(xi)`` and
    which channels sit on the concave part (``in_conc``: their gap is cut error only)."""

    xi: np.ndarray
    t: np.ndarray
    ub: float
    err: np.ndarray
    in_conc: np.ndarray


class _Curves:
    """Mean-over-draws curves in normalised units: ``phi(xi) = weight * F(sigma xi) / scale``."""

    def __init__(self, ev: Evaluator, sigma: float, scale: float, weight: float):
        self.ev, self.sigma, self.scale, self.weight = ev, sigma, scale, weight

    def f(self, xi: np.ndarray) -> np.ndarray:
        return self.weight * self.ev.bank.values(xi * self.sigma).mean(axis=0) / self.scale

    def d(self, xi: np.ndarray) -> np.ndarray:
        d = self.ev.bank.derivs(xi * self.sigma).mean(axis=0) * self.sigma
        return self.weight * np.where(np.isfinite(d), d, 1e300) / self.scale


def check_supported(problem) -> None:
    """The global path handles one period, additive KPI, mean risk, kpi / profit objectives."""
    p = problem
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


class BranchAndBound:
    """Certified global maximum of a separable objective over the problem's polytope.

    ``BranchAndBound(ev, system).solve()`` returns a :class:`RawSolution` whose ``gap`` is
    ``(upper - lower) / |lower|`` over every open node. The search is best-first on the
    nodes' upper bounds; limits come from the problem (``max_nodes``, ``time_limit``).
    """

    GRID = 1025  # points per channel to bracket the inflection (fewer for many draws)
    CUT_ROUNDS = 40  # LP re-solves with new tangents per node
    BISECTIONS = 64  # steps to locate a tangent point

    def __init__(self, ev: Evaluator, system: LinearSystem):
        p = ev.problem
        check_supported(p)
        self.ev, self.system, self.problem = ev, system, p
        self.max_nodes, self.time_limit = p.max_nodes, p.time_limit
        self.sigma = sigma = system.sigma
        kappa = ev.kpi_scale()
        weight = p.kpi_value if p.objective == "profit" else 1.0
        self.scale = weight * kappa
        self.lin = sigma / self.scale if p.objective == "profit" else 0.0  # spend cost
        self.pen = (p.elastic_penalty or 0.0) * sigma / self.scale
        self.curves = _Curves(ev, sigma, self.scale, weight)
        self.n = n = p.n
        self.lo0 = system.lo[:n].copy()
        hi0 = np.minimum(system.hi[:n], spend_caps(p) / sigma)
        self.hi0 = np.maximum(hi0, self.lo0)
        self.c_lo, self.c_hi = self._inflection_brackets()
        self.pool = self._initial_tangent_points()
        # LP pieces that do not change; variable order [xi (n), t (n), over (n_over)]
        m = system.A.shape[0]
        self.m, self.n_over = m, system.n_over
        if m:
            self.A_rows = sp.hstack(
                [system.A[:, :n], sp.csr_matrix((m, n)), system.A[:, n:]], format="csr"
            )
        else:
            self.A_rows = sp.csr_matrix((0, 2 * n + self.n_over))
        self.cobj = np.concatenate(  # minimised: -(sum t) + spend cost + overrun penalty
            [np.full(n, self.lin), -np.ones(n), np.full(self.n_over, self.pen)]
        )
        self._memo: dict[tuple[int, float], tuple[float, float]] = {}
        self.best_x: np.ndarray | None = None
        self.best_val = -np.inf
        self.best_duals = np.zeros(m)
        self.nodes = 0
        self._t0 = time.perf_counter()

    # -- set-up -------------------------------------------------------------------------------
    def _inflection_brackets(self) -> tuple[np.ndarray, np.ndarray]:
        """``[c_lo, c_hi]`` around each S-shaped channel's inflection (from the derivative of
        its mean curve on a grid); concave channels get ``c_lo = c_hi = lo``."""
        p, ev, lo0, hi0 = self.problem, self.ev, self.lo0, self.hi0
        concave = np.array([c.response.is_concave for c in p.channels])
        c_lo, c_hi = lo0.copy(), lo0.copy()
        nc = np.nonzero(~concave)[0]
        if nc.size:
            G = int(np.clip(4e6 / (ev.bank.S * nc.size), 129, self.GRID))
            grid = lo0[None, nc] + (hi0 - lo0)[None, nc] * np.linspace(0, 1, G)[:, None]
            sub = CurveBank([p.responses[i] for i in nc])
            dg = sub.derivs(grid * self.sigma).mean(axis=0)
            am = np.argmax(np.where(np.isfinite(dg), dg, np.inf), axis=0)
            cols = np.arange(nc.size)
            c_lo[nc] = grid[np.maximum(am - 1, 0), cols]
            c_hi[nc] = np.where(am == 0, lo0[nc], grid[np.minimum(am + 1, G - 1), cols])
        return c_lo, c_hi

    def _initial_tangent_points(self) -> list[list[float]]:
        """Tangent points per channel spread over its concave part ``[c_hi, hi]``."""
        pool: list[list[float]] = [[] for _ in range(self.n)]
        for i in range(self.n):
            a, b = max(self.c_hi[i], self.lo0[i]), self.hi0[i]
            if b > a:
                pool[i].extend(list(a + (b - a) * np.linspace(0, 1, 9)[1:] ** 1.5))
                pool[i].append(a + (b - a) * 1e-4)
            else:
                pool[i].append(float(b))
        return pool

    # -- the envelope ---------------------------------------------------------------------------
    def envelope(self, lo: np.ndarray, hi: np.ndarray, idx) -> tuple[np.ndarray, np.ndarray]:
        """Tangent point ``w`` and chord slope for channels ``idx`` on boxes ``[lo, hi]``.

        The tangent point solves ``psi(w) = phi'(w) (w - lo) - (phi(w) - phi(lo)) = 0`` by
        bisection; when ``psi(hi) >= 0`` the chord to ``hi`` is the envelope (``w = hi``).
        """
        cv, n = self.curves, self.n
        w = lo.copy()
        slope = np.zeros(n)
        idx = np.asarray(idx)
        if idx.size == 0:
            return w, slope
        need = idx[lo[idx] < self.c_hi[idx]]
        if need.size:
            f_lo = cv.f(lo)
            f_hi = cv.f(hi)
            psi_hi = cv.d(hi) * (hi - lo) - (f_hi - f_lo)
            chord = need[psi_hi[need] >= 0]
            w[chord] = hi[chord]
            den = np.maximum(hi - lo, 1e-300)
            slope[chord] = ((f_hi - f_lo) / den)[chord]
            bis = need[psi_hi[need] < 0]
            if bis.size:
                a = np.maximum(lo, self.c_lo).copy()
                b = hi.copy()
                for _ in range(self.BISECTIONS):
                    mid = 0.5 * (a + b)
                    psi = cv.d(mid) * (mid - lo) - (cv.f(mid) - f_lo)
                    pos = psi >= 0
                    a = np.where(pos, mid, a)
                    b = np.where(pos, b, mid)
                w[bis] = b[bis]
                s = np.maximum(cv.d(a), cv.d(b))
                slope[bis] = (s * (1 + 1e-12) + 1e-300)[bis]
        return w, slope

    def curve_at(self, pi: np.ndarray, pp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean curve value and slope at (channel ``pi``, point ``pp``) pairs, each pair
        evaluated once over the whole search (tangent points recur across nodes)."""
        memo = self._memo
        keys = list(zip(pi.tolist(), pp.tolist(), strict=True))
        miss = [k for k in dict.fromkeys(keys) if k not in memo]
        if miss:
            mi = np.array([k[0] for k in miss])
            mp = np.array([k[1] for k in miss])
            counts = np.bincount(mi, minlength=self.n)
            order = np.argsort(mi, kind="stable")
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            slot = np.zeros(mi.size, int)
            slot[order] = np.arange(mi.size) - np.repeat(start, counts)
            X = np.tile(self.lo0, (int(counts.max()), 1))
            X[slot, mi] = mp
            F, D = self.curves.f(X), self.curves.d(X)
            for k, fv_, dv_ in zip(miss, F[slot, mi], D[slot, mi], strict=True):
                memo[k] = (float(fv_), float(dv_))
        vals = np.array([memo[k] for k in keys])
        return vals[:, 0], vals[:, 1]

    # -- one node ---------------------------------------------------------------------------------
    def relax(self, node: Node) -> tuple[np.ndarray, float, np.ndarray] | None:
        """Solve the node's LP relaxation: ``(z, upper bound, row duals)``, ``None`` if
        infeasible. Rows: one chord line per S-shaped channel still left of its inflection,
        then tangent lines of the concave parts, then the problem's linear rows."""
        n, cv = self.n, self.curves
        ri, ci, vals, rhs = [], [], [], []
        r = 0
        f_lo = cv.f(node.lo)
        for i in range(n):
            if node.lo[i] < self.c_hi[i] and node.hi[i] > node.lo[i]:
                ri += [r, r]
                ci += [n + i, i]
                vals += [1.0, -node.slope[i]]
                rhs.append(f_lo[i] - node.slope[i] * node.lo[i])
                r += 1
        pts_i, pts_p = [], []
        for i in range(n):
            left = node.lo[i] < self.c_hi[i]
            thr = node.w[i] if left else self.c_hi[i]
            if not left or node.w[i] < node.hi[i]:
                ps = [q for q in self.pool[i] if q >= thr - 1e-15]
                if not left:
                    ps.append(node.lo[i])
                if node.w[i] < node.hi[i] and left:
                    ps.append(node.w[i])
                ps.append(node.hi[i])
                pts_i += [i] * len(ps)
                pts_p += ps
        if pts_i:
            pi = np.array(pts_i)
            pp = np.array(pts_p)
            fv, dv = self.curve_at(pi, pp)
            good = np.isfinite(dv) & (np.abs(dv) < 1e9) & np.isfinite(fv)
            pi, pp, fv, dv = pi[good], pp[good], fv[good], dv[good]
            rows = r + np.arange(pp.size)
            ri += list(np.repeat(rows, 2))
            ci += list(np.column_stack([n + pi, pi]).ravel())
            vals += list(np.column_stack([np.ones(pp.size), -dv]).ravel())
            rhs += list(fv - dv * pp)
            r += pp.size
        cut = sp.csr_matrix((vals, (ri, ci)), shape=(r, 2 * n + self.n_over))
        A = sp.vstack([cut, self.A_rows], format="csr")
        b = np.concatenate([np.asarray(rhs, float), self.system.b])
        bounds = (
            [(node.lo[i], node.hi[i]) for i in range(n)]
            + [(None, None)] * n
            + [(0.0, None)] * self.n_over
        )
        res = linprog(self.cobj, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if res.status == 2:
            return None
        if res.status != 0:
            raise ConvergenceError(f"the LP relaxation failed: {res.message}")
        duals = -np.asarray(res.ineqlin.marginals[r:], float) if self.m else np.zeros(0)
        return res.x, -res.fun, duals

    def true_value(self, xi: np.ndarray) -> float:
        """The normalised objective at ``xi``: curves minus spend cost minus overrun penalty."""
        tv = float(self.curves.f(xi).sum()) - self.lin * float(xi.sum())
        if self.n_over:
            s = self.system
            ov = np.maximum(0.0, s.A[:, : self.n] @ xi - s.b)[s.elastic_rows]
            tv -= self.pen * float(ov.sum())
        return tv

    def consider(self, xi: np.ndarray, duals: np.ndarray) -> None:
        """Keep ``xi`` (or its KKT polish) as the incumbent when it scores higher."""
        sigma = self.sigma
        xs = kkt_polish(self.ev, (xi * sigma)[None, :])[0][0] / sigma
        for cand in (xs, xi):
            v = self.true_value(cand)
            if v > self.best_val:
                self.best_x, self.best_val, self.best_duals = cand.copy(), v, duals

    def bound(self, node: Node) -> Bound | None:
        """The node's relaxation, tightened with tangents at the LP point until the cut error
        is small next to the target gap (``None``: the node is infeasible)."""
        out = None
        for _ in range(self.CUT_ROUNDS):
            sol = self.relax(node)
            if sol is None:
                return None
            z, ub, duals = sol
            xi, t = z[: self.n], z[self.n : 2 * self.n]
            fx = self.curves.f(xi)
            self.consider(xi, duals)
            err = t - fx
            in_conc = (xi >= node.w - 1e-15) & (xi > node.lo) | (node.lo >= self.c_hi)
            in_conc &= xi >= self.c_hi
            cut_err = float(np.sum(np.maximum(err[in_conc], 0)))
            out = Bound(xi, t, ub, err, in_conc)
            if cut_err <= 0.05 * self.problem.gap_tol * max(abs(self.best_val), 1e-12):
                break
            add = np.nonzero(in_conc & (err > 1e-13 * max(abs(ub), 1.0)))[0]
            if add.size == 0:
                break
            for i in add:
                self.pool[i].append(float(xi[i]))
        return out

    def branch(self, node: Node, res: Bound) -> list[Node] | None:
        """Split the box of the channel with the largest envelope gap at its LP value; ``None``
        when only cut error is left in this node (nothing to branch on)."""
        gapc = np.where(~res.in_conc & (res.xi > node.lo) & (res.xi < node.hi), res.err, 0.0)
        j = int(np.argmax(gapc))
        if gapc[j] <= 1e-14 * max(abs(res.ub), 1.0):
            return None
        split = res.xi[j]
        children = []
        for lo_j, hi_j in ((node.lo[j], split), (split, node.hi[j])):
            lo, hi = node.lo.copy(), node.hi.copy()
            lo[j], hi[j] = lo_j, hi_j
            w, s = node.w.copy(), node.slope.copy()
            wj, sj = self.envelope(lo, hi, [j])
            w[j], s[j] = wj[j], sj[j]
            children.append(Node(lo, hi, w, s))
        return children

    # -- the search ---------------------------------------------------------------------------------
    def _out_of_budget(self) -> bool:
        return time.perf_counter() - self._t0 > self.time_limit or self.nodes >= self.max_nodes

    def solve(self) -> RawSolution:
        """Best-first branch and bound until every open node is within ``gap_tol``."""
        w0, s0 = self.envelope(self.lo0, self.hi0, np.arange(self.n))
        root = Node(self.lo0, self.hi0, w0, s0)
        res = self.bound(root)
        if res is None:
            raise diagnose_infeasible(self.problem, self.system)
        counter = itertools.count()
        heap = [(-res.ub, next(counter), root, res)]
        self.nodes = 1
        status = "optimal"
        closed_ub = -np.inf  # largest bound among nodes closed without branching
        gap_tol = self.problem.gap_tol
        while heap:
            lb = self.best_val
            if -heap[0][0] <= lb + gap_tol * max(abs(lb), 1e-12):
                closed_ub = max(closed_ub, -heap[0][0])
                break  # every open node is within the target: done
            if self._out_of_budget():
                status = "gap_limit"
                break
            _, _, node, res = heapq.heappop(heap)
            children = self.branch(node, res)
            if children is None:
                closed_ub = max(closed_ub, res.ub)  # only cut error left in this node
                continue
            for child in children:
                r = self.bound(child)
                self.nodes += 1
                if r is not None:
                    heapq.heappush(heap, (-r.ub, next(counter), child, r))
        lb = self.best_val
        ub = max([closed_ub, lb] + [-h[0] for h in heap])
        gap = max(0.0, ub - lb) / max(abs(lb), 1e-12)
        x = (self.best_x * self.sigma)[None, :]
        duals = np.asarray(self.best_duals, float) * self.scale / self.sigma
        info = {"nodes": self.nodes, "seconds_solver": time.perf_counter() - self._t0}
        return RawSolution(x, status, "global", gap, duals, ub * self.scale, info)
