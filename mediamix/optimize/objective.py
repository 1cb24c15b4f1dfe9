"""The true objective of a plan, evaluated exactly over posterior draws (float64).

Every solver path proposes spend; this module scores it the same way: KPI per draw
``K_s = sum_{t, i} d_t F_{s,i}(A_{t,i})`` (additive; ``d_t = (1 + r)^-t`` with the problem's
``discount`` r, 1 without) or ``base * prod_i F_{s,i}(x_i)``
(multiplicative), the risk measure over draws (mean, or CVaR = the mean of the worst
``alpha`` share), then the objective (KPI, profit, spend).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.curves import CurveBank
from mediamix.optimize.linear import LinearSystem, adstock_map
from mediamix.optimize.problem import Problem


def cvar_weights(k: np.ndarray, alpha: float) -> np.ndarray:
    """Weights ``w_s`` with ``CVaR_alpha(K) = sum_s w_s K_s`` (lower tail, fractional edge)."""
    S = k.shape[0]
    order = np.argsort(k, kind="stable")
    w = np.zeros(S)
    mass = alpha * S
    full = int(np.floor(mass + 1e-12))
    w[order[:full]] = 1.0
    if full < S and mass - full > 1e-12:
        w[order[full]] = mass - full
    return w / mass


def risk(k: np.ndarray, problem: Problem) -> float:
    """The problem's risk measure of KPI draws ``k`` (S,): the mean, or CVaR at ``alpha``."""
    if problem.risk == "cvar":
        return float(cvar_weights(k, problem.alpha) @ k)
    return float(np.mean(k))


@dataclass
class Evaluator:
    """Scores spend ``x`` of shape ``(T, n)`` for one problem."""

    problem: Problem
    bank: CurveBank
    system: LinearSystem

    def __post_init__(self) -> None:
        self.L, self.carry, self.H = adstock_map(self.problem, self.system.sigma)
        self.P = self.problem.periods + self.H
        self.weights = self.problem.discount_weights(self.P)  # (P,) discount per period
        self.R = self.L.shape[0] // (self.P * self.problem.n)
        if self.R > 1 and self.R != self.bank.S:
            raise SpecError(
                f"carry-over has {self.R} draws but the curves have {self.bank.S}; they must match"
            )

    def effective(self, x: np.ndarray) -> np.ndarray:
        """Adstocked spend per (carry-over draw, period incl. tail, channel): ``(R, P, n)``."""
        T, n = self.problem.periods, self.problem.n
        a = self.L @ (np.asarray(x, dtype=float).reshape(T * n) / self.system.sigma) + self.carry
        return np.maximum(a, 0.0).reshape(self.R, self.P, n) * self.system.sigma

    def curve_values(self, a: np.ndarray, which: str = "f") -> np.ndarray:
        """Per-draw responses (or slopes) at effective spend ``a`` (R, P, n): ``(S, P, n)``."""
        fn = self.bank.values if which == "f" else self.bank.derivs
        if self.R == 1:
            return fn(a[0])
        return fn(a, paired=True)

    def kpi_draws(self, x: np.ndarray) -> np.ndarray:
        """KPI per draw ``K_s`` at spend ``x`` (T, n): shape ``(S,)``."""
        p = self.problem
        a = self.effective(x)
        f = self.curve_values(a)  # (S, P, n)
        if p.combine == "multiplicative":
            return p.base * np.prod(f[:, 0, :], axis=-1)
        if not self.problem.discount:
            return f.sum(axis=(1, 2))
        return np.einsum("spn,p->s", f, self.weights)

    def kpi_scale(self) -> float:
        """A typical KPI size (the mean KPI at spend ``sigma`` on every channel and period), so
        that solvers work with objective values near 1; 1 for ``combine: multiplicative``."""
        p = self.problem
        if p.combine == "multiplicative":
            return 1.0
        x = np.full((p.periods, p.n), self.system.sigma)
        k = abs(float(np.mean(self.kpi_draws(x))))
        return k if np.isfinite(k) and k > 0 else 1.0

    def overruns(self, x: np.ndarray) -> np.ndarray:
        tot = np.asarray(x).reshape(self.problem.periods, -1).sum(axis=0)
        return np.array(
            [max(0.0, float(r.coef @ tot) - r.rhs) for r in self.system.rows if r.elastic]
        )

    def objective(self, x: np.ndarray) -> float:
        """The value the solver maximises (spend is negated for ``min_spend``), original units."""
        p = self.problem
        spend = float(np.sum(x))
        pen = (p.elastic_penalty or 0.0) * float(self.overruns(x).sum())
        if p.combine == "multiplicative":
            k = self.kpi_draws(x)
            with np.errstate(divide="ignore"):
                return float(np.mean(np.log(np.maximum(k, 0.0)))) - pen
        if p.objective == "min_spend":
            return -spend - pen
        rk = risk(self.kpi_draws(x), p)
        if p.objective == "profit":
            return p.kpi_value * rk - spend - pen
        return rk - pen

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """A supergradient of the (concave) KPI risk measure w.r.t. spend, shape ``(T, n)``."""
        p = self.problem
        T, n = p.periods, p.n
        a = self.effective(x)
        d = self.curve_values(a, "d")  # (S, P, n)
        d = np.where(np.isfinite(d), d, 1e300)
        if p.combine != "multiplicative" and p.discount:
            d = d * self.weights[None, :, None]
        if p.combine == "multiplicative":
            f = self.curve_values(a)[:, 0, :]
            return np.mean(d[:, 0, :] / np.maximum(f, 1e-300), axis=0)[None, :]
        k = self.kpi_draws(x)
        w = cvar_weights(k, p.alpha) if p.risk == "cvar" else np.full(k.shape, 1 / k.size)
        if self.R == 1:
            g_eff = np.tensordot(w, d, axes=1).reshape(-1)  # (P * n,)
        else:
            g_eff = (w[:, None, None] * d).reshape(-1)  # (R * P * n,), one block per draw
        return (self.L.T @ g_eff).reshape(T, n)
