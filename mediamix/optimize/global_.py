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
from scipy.optimize import Bounds, linprog

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


class FlightSearch:
    """Certified plan under a minimum flight length: on/off binaries, outer approximation.

    A flight rule ("a channel that is on stays on for at least ``m`` periods", on meaning a
    spend of at least ``f``) is combinatorial: ``y_{t,i}`` in {0, 1} with
    ``f y <= x <= U y`` and ``y_t - y_{t-1} <= y_{t+k}`` (k = 1..m-1). With concave curves
    the KPI is a sum of concave terms ``h_{p,i}(x)`` (the mean over draws of each effective
    period and channel, discounted), so tangent planes of each term over-estimate it
    (Duran and Grossmann's outer approximation): the MILP with an epigraph variable per term
    below its tangents (HiGHS branch and bound) gives an upper bound (its dual bound), its
    solution is a feasible plan (a lower bound, scored exactly), and a tangent at that plan
    is added until ``(upper - lower) / |lower| <= gap_tol``.
    """

    ROUNDS = 400

    def __init__(self, ev: Evaluator, system: LinearSystem):
        self.ev, self.system, self.problem = ev, system, ev.problem
        p = self.problem
        self.T, self.n = p.periods, p.n
        self.sigma = system.sigma
        self.kappa = ev.kpi_scale()
        self.K = ev.P * p.n  # one epigraph variable per (effective period, channel)
        self.t0 = time.perf_counter()
        weight = p.kpi_value if p.objective == "profit" else 1.0
        self.scale = weight * self.kappa  # objective units per normalised unit
        caps = np.minimum(system.hi[: system.n_x], np.tile(spend_caps(p), self.T) / self.sigma)
        self.U = np.maximum(caps, system.lo[: system.n_x])

    # -- the terms and their tangents ----------------------------------------------------------
    def terms(self, x: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        """Term values ``h / kappa`` (K,) and their gradients w.r.t. normalised spend (K, T n)."""
        ev = self.ev
        a = ev.effective(x)
        w = ev.weights[None, :, None]
        f = ev.curve_values(a) * w
        d = np.where(np.isfinite(dv := ev.curve_values(a, "d")), dv, 1e300) * w
        h = f.mean(axis=0).reshape(-1) / self.kappa
        if ev.R == 1:
            G = sp.diags(d.mean(axis=0).reshape(-1)) @ ev.L
        else:
            S = d.shape[0]
            blocks = sp.hstack([sp.identity(self.K, format="csr")] * ev.R, format="csr")
            G = blocks @ sp.diags(d.reshape(-1) / S) @ ev.L
        return h, (G * (self.sigma / self.kappa)).tocsr()

    def cut_rows(self, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """Tangent rows ``theta_k - G_k xi <= h_k(x) - G_k xi0`` in the MILP's variables."""
        h, G = self.terms(x)
        xi0 = x.reshape(-1) / self.sigma
        nv = self.nv
        left = sp.hstack([-G, sp.csr_matrix((self.K, nv - self.T * self.n))], format="csr")
        theta = sp.csr_matrix(
            (np.ones(self.K), (np.arange(self.K), self.off_theta + np.arange(self.K))),
            shape=(self.K, nv),
        )
        return (left + theta).tocsr(), h - G @ xi0

    # -- the mixed-integer master -----------------------------------------------------------------
    def build(self) -> None:
        """Variables ``[xi (T n), overruns, y (T n), theta (K)]`` and the fixed rows."""
        p, s = self.problem, self.system
        T, n, nx = self.T, self.n, s.n_x
        no = s.n_over
        self.off_y = nx + no
        self.off_theta = self.off_y + nx
        self.nv = nv = self.off_theta + self.K
        rows = []
        rhs = []
        if s.A.shape[0]:
            rows.append(sp.hstack([s.A, sp.csr_matrix((s.A.shape[0], nx + self.K))]))
            rhs.append(s.b)
        eye = sp.identity(nx, format="csr")
        z_over = sp.csr_matrix((nx, no))
        z_t = sp.csr_matrix((nx, self.K))
        floor = p.flight_floor() / self.sigma
        rows.append(sp.hstack([eye, z_over, -sp.diags(self.U), z_t]))  # x <= U y
        rows.append(sp.hstack([-eye, z_over, floor * eye, z_t]))  # f y <= x
        rhs += [np.zeros(nx), np.zeros(nx)]
        m = int(p.min_flight)
        ri, ci, vals, fr = [], [], [], []
        y_lo = np.zeros(nx)
        r = 0
        for i, name in enumerate(p.names):
            hist = list(p.history.get(name, ()))
            run = 0
            for v in reversed(hist):
                if float(v) > 0:
                    run += 1
                else:
                    break
            for t in range(min(max(m - run, 0), T) if run else 0):
                y_lo[t * n + i] = 1.0  # the flight under way at the end of history goes on
            for t in range(T):
                for k in range(1, m):
                    if t + k >= T:
                        break
                    # y_t - y_{t-1} - y_{t+k} <= 0 (y_{-1}: on at the end of history)
                    ri += [r, r]
                    ci += [self.off_y + t * n + i, self.off_y + (t + k) * n + i]
                    vals += [1.0, -1.0]
                    if t > 0:
                        ri.append(r)
                        ci.append(self.off_y + (t - 1) * n + i)
                        vals.append(-1.0)
                        fr.append(0.0)
                    else:
                        fr.append(1.0 if run else 0.0)
                    r += 1
        if r:
            rows.append(sp.csr_matrix((vals, (ri, ci)), shape=(r, nv)))
            rhs.append(np.asarray(fr))
        self.A_fixed = sp.vstack(rows, format="csr")
        self.b_fixed = np.concatenate(rhs)
        lo = np.concatenate([s.lo, y_lo, np.full(self.K, -np.inf)])
        hi_y = np.where(self.U > 0, 1.0, 0.0)
        top, _ = self.terms(self.U.reshape(T, n) * self.sigma)  # the curves increase
        hi = np.concatenate([np.minimum(s.hi, np.concatenate([self.U, np.full(no, np.inf)])),
                             hi_y, top + 1e-12 * np.abs(top).max()])  # fmt: skip
        self.bounds = Bounds(lo, hi)
        self.integrality = np.concatenate([np.zeros(nx + no), np.ones(nx), np.zeros(self.K)])
        lin = 1.0 / (self.problem.kpi_value * self.kappa) if p.objective == "profit" else 0.0
        pen = (p.elastic_penalty or 0.0) / self.scale
        self.c = np.concatenate(  # minimised
            [np.full(nx, lin * self.sigma), np.full(no, pen * self.sigma), np.zeros(nx),
             -np.ones(self.K) * (self.kappa / self.scale) * (p.kpi_value if lin else 1.0)]
        )  # fmt: skip

    def start_points(self) -> list[np.ndarray]:
        """Plans to put the first tangents at: even splits of the budget at several levels."""
        p = self.problem
        T, n = self.T, self.n
        tot = p.budget if p.budget is not None else float(self.U.sum() * self.sigma)
        out = []
        for c in (0.05, 0.25, 0.5, 1.0, 1.5, 3.0):
            x = np.full(T * n, c * tot / (T * n) / self.sigma)
            out.append(np.clip(x, 0.0, self.U).reshape(T, n) * self.sigma)
        return out

    def solve(self) -> RawSolution:
        from scipy.optimize import LinearConstraint, milp

        p = self.problem
        self.build()
        cuts_A, cuts_b = [], []
        for x0 in self.start_points():
            a, b = self.cut_rows(x0)
            cuts_A.append(a)
            cuts_b.append(b)
        best_x, best_val = None, -np.inf
        ub = np.inf
        rounds = 0
        status = "optimal"
        nx = self.system.n_x
        while True:
            A = sp.vstack([self.A_fixed, *cuts_A], format="csr")
            b = np.concatenate([self.b_fixed, *cuts_b])
            left = max(1.0, p.time_limit - (time.perf_counter() - self.t0))
            res = milp(
                self.c,
                constraints=LinearConstraint(A, -np.inf, b),
                integrality=self.integrality,
                bounds=self.bounds,
                options={"mip_rel_gap": 1e-7, "time_limit": left, "presolve": True},
            )
            if res.x is None:
                if res.status == 2 or (res.status == 1 and best_x is None):
                    raise diagnose_infeasible(
                        p,
                        self.system,
                        f"(or the minimum flight of {p.min_flight} periods at a spend of at "
                        f"least {p.flight_floor():g} cannot be kept with them) ",
                    )
                raise ConvergenceError(f"the flight search's MILP failed: {res.message}")
            rounds += 1
            dual = getattr(res, "mip_dual_bound", None)
            ub_norm = -float(dual if dual is not None and np.isfinite(dual) else res.fun)
            ub = min(ub, ub_norm * self.scale)
            xi = np.clip(res.x[:nx], self.system.lo[:nx], self.system.hi[:nx])
            y = np.round(res.x[self.off_y : self.off_y + nx])
            xi = np.where(y > 0.5, xi, 0.0)
            x = (xi * self.sigma).reshape(self.T, self.n)
            val = self.ev.objective(x)
            if val > best_val:
                best_x, best_val = x, val
            gap = max(0.0, ub - best_val) / max(abs(best_val), 1e-12)
            if gap <= 0.5 * p.gap_tol:
                break
            if rounds >= self.ROUNDS or time.perf_counter() - self.t0 > p.time_limit:
                status = "gap_limit"
                break
            a, bb = self.cut_rows(x)
            cuts_A.append(a)
            cuts_b.append(bb)
        info = {
            "rounds": rounds,
            "cut_rounds": rounds,
            "binaries": nx,
            "seconds_solver": time.perf_counter() - self.t0,
        }
        duals = np.zeros(len(self.system.rows))
        raw = RawSolution(best_x, status, "global", gap, duals, ub, info)
        return raw
