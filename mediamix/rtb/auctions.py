"""Vectorised sealed-bid auctions: first price and second price, with a reserve (floor).

Each row of ``bids`` is one auction, each column one bidder. The highest bid at or above the
reserve wins (ties go to the lowest column index, a zero-probability event for continuous
bids). The winner pays

- first price:  its own bid;
- second price: max(second-highest bid, reserve).

Bidder surplus is ``value - price`` for the winner and 0 for everyone else; seller revenue is
the price paid (0 when nothing sells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediamix.errors import SpecError

MECHANISMS = ("first", "second")


@dataclass(frozen=True)
class AuctionResult:
    """Outcome of ``A`` auctions with ``n`` bidders each."""

    mechanism: str
    winner: np.ndarray  # (A,) int, -1 when no bid met the reserve
    price: np.ndarray  # (A,) price paid, 0 when unsold
    surplus: np.ndarray  # (A, n) value - price for the winner, 0 otherwise

    @property
    def sold(self) -> np.ndarray:
        return self.winner >= 0

    @property
    def revenue(self) -> np.ndarray:
        """Seller revenue per auction (= price, 0 when unsold)."""
        return self.price

    @property
    def mean_revenue(self) -> float:
        return float(self.price.mean())


def _check_mechanism(mechanism: str) -> str:
    m = str(mechanism).lower()
    aliases = {"1": "first", "first_price": "first", "2": "second", "second_price": "second"}
    m = aliases.get(m, m)
    if m not in MECHANISMS:
        raise SpecError(
            f"auction mechanism {mechanism!r} is unknown; use 'first' or 'second' "
            "(OpenRTB at=1 is first price, at=2 second price)"
        )
    return m


def run_auctions(
    values: np.ndarray,
    bids: np.ndarray,
    mechanism: str = "second",
    reserve: float | np.ndarray = 0.0,
) -> AuctionResult:
    """Run many auctions at once; ``values`` and ``bids`` have shape (A, n)."""
    mechanism = _check_mechanism(mechanism)
    bids = np.asarray(bids, dtype=float)
    values = np.asarray(values, dtype=float)
    if bids.ndim != 2 or bids.shape[1] < 1:
        raise SpecError(f"bids must have shape (auctions, bidders), got {bids.shape}")
    if values.shape != bids.shape:
        raise SpecError(f"values shape {values.shape} must equal bids shape {bids.shape}")
    if np.isnan(bids).any():
        raise SpecError("bids contain NaN; every bidder needs a numeric bid (use 0 to abstain)")
    n_auctions, n = bids.shape
    reserve = np.broadcast_to(np.asarray(reserve, dtype=float), (n_auctions,))
    rows = np.arange(n_auctions)
    top = np.argmax(bids, axis=1)
    best = bids[rows, top]
    sold = best >= reserve
    if mechanism == "first":
        price = best
    else:
        if n > 1:
            others = bids.copy()
            others[rows, top] = -np.inf
            second = others.max(axis=1)
        else:
            second = np.full(n_auctions, -np.inf)
        price = np.maximum(second, reserve)
    price = np.where(sold, price, 0.0)
    winner = np.where(sold, top, -1)
    surplus = np.zeros_like(bids)
    surplus[rows[sold], top[sold]] = values[rows[sold], top[sold]] - price[sold]
    return AuctionResult(mechanism=mechanism, winner=winner, price=price, surplus=surplus)
