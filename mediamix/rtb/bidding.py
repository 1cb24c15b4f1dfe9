"""Bidding rules: truthful (second price), first-price equilibrium, and bid shading.

- Second price: bidding the value ``b = v`` is a (weakly) dominant strategy.
- First price, n symmetric bidders with i.i.d. values of CDF F (support starting at ``lo``):

      b(v) = v - (int_lo^v F(s)^(n-1) ds) / F(v)^(n-1)

  computed as ``v - int_lo^v (F(s)/F(v))^(n-1) ds`` (stable for large n) with
  ``scipy.integrate.quad``; for uniform values on [lo, hi] it is exactly
  ``lo + (n-1)/n * (v - lo)``.
- First price in practice: shade the bid against an observed distribution of winning prices,
  ``b* = argmax_b (v - b) * P(win | b)``, with ``P(win | b)`` the empirical CDF of the
  highest competing bid (the minimum price that would have won).
- Impression value: ``CPC * P(click)`` (or ``CPA * P(conversion)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediamix.errors import DataError, SpecError
from mediamix.rtb.distributions import ValueDistribution, parse_distribution


def impression_value(p_event, price_per_event: float):
    """Expected value of one impression: ``price_per_event * P(event)`` (CPC x CTR, CPA x CVR)."""
    if price_per_event < 0:
        raise SpecError(f"price per click/action must be >= 0, got {price_per_event:g}")
    return price_per_event * np.asarray(p_event, dtype=float)


def truthful_bid(value):
    """Second-price rule: bid the value."""
    return np.asarray(value, dtype=float)


def _as_dist(dist: ValueDistribution | str) -> ValueDistribution:
    return parse_distribution(dist) if isinstance(dist, str) else dist


def _check_bidders(n_bidders: int) -> int:
    if int(n_bidders) != n_bidders or n_bidders < 2:
        raise SpecError(
            f"bidders must be an integer >= 2, got {n_bidders!r} (with one bidder there is no "
            "competition and the equilibrium bid is the reserve)"
        )
    return int(n_bidders)


def uniform_equilibrium_bid(value, n_bidders: int, lo: float = 0.0):
    """Closed form for uniform values on [lo, hi]: ``lo + (n-1)/n * (v - lo)``."""
    n = _check_bidders(n_bidders)
    v = np.asarray(value, dtype=float)
    return np.where(v > lo, lo + (n - 1) / n * (v - lo), v)


def first_price_equilibrium_bid(value, n_bidders: int, dist: ValueDistribution | str):
    """Symmetric first-price equilibrium bid for value(s) ``value`` (scalar or array)."""
    from scipy import integrate

    n = _check_bidders(n_bidders)
    d = _as_dist(dist)
    v = np.asarray(value, dtype=float)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise SpecError("values must be finite and >= 0")
    if d.is_uniform:
        out = uniform_equilibrium_bid(v, n, lo=d.lower)
        return out if out.ndim else float(out)
    lo = d.lower
    out = np.empty(v.shape, dtype=float)
    for i, vi in np.ndenumerate(v):
        fv = float(d.cdf(vi))
        if vi <= lo or fv <= 0.0:
            out[i] = vi
            continue
        upper = min(vi, d.upper)
        integral, _ = integrate.quad(
            lambda s, fv=fv: (float(d.cdf(s)) / fv) ** (n - 1), lo, upper, limit=200
        )
        out[i] = vi - integral
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class EquilibriumBidFunction:
    """b(v) tabulated on a grid and interpolated: fast for millions of simulated values."""

    n_bidders: int
    grid: np.ndarray
    bids: np.ndarray

    def __call__(self, value):
        v = np.asarray(value, dtype=float)
        inside = np.interp(v, self.grid, self.bids)
        # beyond the grid's top the bid grows with slope ~1 at most; extrapolate linearly
        slope = (self.bids[-1] - self.bids[-2]) / (self.grid[-1] - self.grid[-2])
        return np.where(v > self.grid[-1], self.bids[-1] + slope * (v - self.grid[-1]), inside)


def equilibrium_bid_function(
    n_bidders: int, dist: ValueDistribution | str, n_grid: int = 257
) -> EquilibriumBidFunction:
    """Tabulate the first-price equilibrium bid on an even grid plus quantiles of the values.

    The grid spans the support up to the 1 - 1e-6 quantile, so linear interpolation is accurate
    both where values are dense and in the upper tail where the winners are.
    """
    d = _as_dist(dist)
    top = float(d.ppf(1.0 - 1e-6))
    q = np.linspace(0.0, 1.0 - 1e-6, n_grid)[1:]
    grid = np.unique(np.concatenate([np.linspace(d.lower, top, n_grid), d.ppf(q)]))
    bids = np.asarray(first_price_equilibrium_bid(grid, n_bidders, d), dtype=float)
    return EquilibriumBidFunction(n_bidders=_check_bidders(n_bidders), grid=grid, bids=bids)


@dataclass(frozen=True)
class WinRateModel:
    """P(win | b) from logged winning prices (the highest competing bid in each auction).

    ``P(win | b) = #(w_i <= b) / N``; the candidate bids are the logged prices themselves
    (thinned to at most ``max_candidates`` quantiles), since the expected surplus
    ``(v - b) P(win | b)`` of a step CDF peaks at one of its steps.
    """

    prices: np.ndarray  # sorted candidate bids
    win_prob: np.ndarray  # P(win | candidate)

    @classmethod
    def from_prices(cls, winning_prices, max_candidates: int = 512) -> WinRateModel:
        w = np.asarray(winning_prices, dtype=float).ravel()
        if w.size == 0:
            raise DataError("no winning prices were given; shading needs logged winning prices")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise DataError("winning prices must be finite and >= 0")
        w = np.sort(w)
        if w.size > max_candidates:
            idx = np.unique(np.linspace(0, w.size - 1, max_candidates).round().astype(int))
        else:
            idx = np.arange(w.size)
        cand = w[idx]
        cand = np.unique(cand)
        prob = np.searchsorted(w, cand, side="right") / w.size
        return cls(prices=cand, win_prob=prob)

    def p_win(self, bid):
        """Empirical P(win | bid) (step function, right-continuous)."""
        b = np.asarray(bid, dtype=float)
        k = np.searchsorted(self.prices, b, side="right")
        return np.where(k > 0, self.win_prob[np.maximum(k - 1, 0)], 0.0)

    def shade(self, value, floor: float | np.ndarray = 0.0):
        """Bid maximising ``(v - b) * P(win | b)`` over b in [floor, v]; NaN when v < floor."""
        v = np.atleast_1d(np.asarray(value, dtype=float))
        f = np.broadcast_to(np.asarray(floor, dtype=float), v.shape)
        cand = self.prices[None, :]
        j = np.empty(v.size, dtype=int)
        best = np.empty(v.size)
        for s in range(0, v.size, 4096):  # bounded memory: (4096, candidates) at a time
            vs, fs = v[s : s + 4096, None], f[s : s + 4096, None]
            ok = (cand >= fs) & (cand <= vs)
            gain = np.where(ok, (vs - cand) * self.win_prob[None, :], -np.inf)
            j[s : s + 4096] = np.argmax(gain, axis=1)
            best[s : s + 4096] = gain[np.arange(gain.shape[0]), j[s : s + 4096]]
        at_floor = (v - f) * self.p_win(f)
        use_floor = ~(best > at_floor)
        bid = np.where(use_floor, f, self.prices[j])
        bid = np.where(v < f, np.nan, bid)
        return bid if np.ndim(value) else float(bid[0])

    def shade_one(self, value: float, floor: float = 0.0) -> float | None:
        """Scalar fast path for a bidder: the shaded bid, or None when value < floor."""
        if value < floor:
            return None
        lo = np.searchsorted(self.prices, floor, side="left")
        hi = np.searchsorted(self.prices, value, side="right")
        best_bid, best_gain = floor, (value - floor) * float(self.p_win(floor))
        if hi > lo:
            gains = (value - self.prices[lo:hi]) * self.win_prob[lo:hi]
            j = int(np.argmax(gains))
            if gains[j] > best_gain:
                best_bid = float(self.prices[lo + j])
        return best_bid
