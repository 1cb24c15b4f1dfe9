"""Small helpers: posterior summaries with central intervals."""

from __future__ import annotations

import numpy as np


def interval(draws, level: float = 0.9, axis: int = 0):
    """Mean and central ``level`` interval along ``axis``: (mean, lower, upper)."""
    x = np.asarray(draws, dtype=float)
    lo, hi = np.nanquantile(x, [(1 - level) / 2, (1 + level) / 2], axis=axis)
    return np.nanmean(x, axis=axis), lo, hi


def triple(draws, level: float = 0.9) -> dict[str, float | None]:
    """``{mean, lower, upper}`` of 1-D draws, JSON-ready (NaN -> None)."""
    m, lo, hi = interval(np.asarray(draws).reshape(-1), level)
    return {"mean": _f(m), "lower": _f(lo), "upper": _f(hi)}


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
