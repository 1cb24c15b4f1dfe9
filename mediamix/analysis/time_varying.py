"""Read-offs of time-varying effects: the effect path per channel, ROAS per period window, the
end / start ratio, and the ``time_varying`` block of summary.json.

The path of channel c is its multiplier ``m_tc`` (`mediamix.model.time_varying`): the effect
per unit in period t relative to the channel's average over the fitted window (``m = 1``
there on average in log). Contributions, ROAS and mROAS already follow it: they go through
`mediamix.model.maths.components`, whose media response includes ``m``. Shapes: draws on
axis 0, time on axis -2, channel on axis -1.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from mediamix.analysis._util import interval, triple
from mediamix.model import time_varying as tv
from mediamix.model.maths import batched

# periods in a quarter by data frequency: the "last quarter" of the ROAS windows
QUARTER = {"D": 91, "W": 13, "M": 3}
PATH_DEFINITION = (
    "the channel's effect per unit in each period relative to its average over the fitted "
    "window (1 = average; the multiplier on its coefficient)"
)


def is_time_varying(fitted) -> bool:
    """Whether any channel (or the baseline) of the fit varies over time."""
    s = fitted.structure
    return bool(getattr(s, "tv_idx", ()) or getattr(s, "baseline_drift", 0.0))


def multiplier_draws(fitted) -> np.ndarray:
    """Draws of every channel's multiplier per period, (S, T, C) (1 for static channels)."""
    s = fitted.structure
    S, T, C = fitted.n_draws, fitted.data.n_periods, len(fitted.channel_names)
    if not s.tv_idx:
        return np.ones((S, T, C))
    fn = batched(tv.multiplier, s)
    return np.asarray(fn(fitted.params, fitted.design), dtype=np.float64)


def baseline_path_draws(fitted) -> np.ndarray | None:
    """Draws of the time-varying baseline term per period in KPI units, (S, T) (additive
    form; in the multiplicative form the relative change, ``exp(term)``); None when static."""
    s = fitted.structure
    if not s.baseline_drift:
        return None
    fn = batched(tv.baseline_path, s)
    b = np.asarray(fn(fitted.params, fitted.design), dtype=np.float64)
    return b * fitted.scalers.kpi_scale if s.additive else np.exp(b)


def effect_paths(fitted, level: float = 0.9) -> pd.DataFrame:
    """One row per time-varying channel and period: date, channel, mean, lower, upper of its
    multiplier (see `PATH_DEFINITION`), and ``window`` (inside the fitted window)."""
    m = multiplier_draws(fitted)
    dates = pd.DatetimeIndex(fitted.data.dates)
    T = len(dates)
    w = fitted.window
    inside = (np.arange(T) >= w.start) & (np.arange(T) < w.stop)
    frames = []
    for c in fitted.structure.tv_idx:
        mean, lo, hi = interval(m[..., c], level)
        frames.append(
            pd.DataFrame({"date": dates, "channel": fitted.channel_names[c], "mean": mean,
                          "lower": lo, "upper": hi, "window": inside})
        )  # fmt: skip
    cols = ["date", "channel", "mean", "lower", "upper", "window"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def quarter_periods(fitted) -> int:
    """The periods of a quarter at the data's frequency (at most the fitted window's)."""
    w = fitted.window
    return min(QUARTER.get(fitted.data.freq, 13), w.stop - w.start)


def window_roas_draws(fitted, periods: slice, contrib: np.ndarray | None = None) -> np.ndarray:
    """Draws (S, C) of each channel's ROAS over the ``periods`` slice: kpi_value x its
    contribution there / its spend there (NaN without spend)."""
    if contrib is None:
        contrib = fitted.contribution_draws()
    spend = fitted.data.spend[periods].sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            fitted.spec.kpi_value * contrib[:, periods].sum(1) / np.where(spend > 0, spend, np.nan)
        )


def end_start_ratio_draws(
    fitted, m: np.ndarray | None = None, periods: int | None = None
) -> np.ndarray:
    """Draws (S, C) of each channel's effect at the end of the fitted window over its effect
    at the start: the mean multiplier over the last ``periods`` of the window over its mean
    over the first ``periods`` (a quarter by default, `quarter_periods`; 1: the last period
    over the first). Below 1: the effect per unit wore out."""
    m = multiplier_draws(fitted) if m is None else m
    w = fitted.window
    q = quarter_periods(fitted) if periods is None else max(1, min(int(periods), w.stop - w.start))
    return m[:, w.stop - q : w.stop].mean(1) / m[:, w.start : w.start + q].mean(1)


def current_multiplier(fitted, at: str = "current") -> np.ndarray:
    """Draws (S, C) of the multiplier the response curves use: ``current`` = at the last
    period of the fitted window, ``average`` = its mean over the window (1 for static
    channels either way)."""
    if at not in ("current", "average"):
        from mediamix.errors import SpecError

        raise SpecError(f"time_varying: expected 'current' or 'average', got {at!r}")
    m = multiplier_draws(fitted)
    w = fitted.window
    return m[:, w.stop - 1] if at == "current" else m[:, w].mean(1)


def _dates(fitted, idx) -> list[str]:
    return [str(d) for d in np.asarray(fitted.data.dates)[idx].astype("datetime64[D]")]


def time_varying_summary(fitted, level: float = 0.9) -> dict[str, Any] | None:
    """The ``time_varying`` block of summary.json, or None for a static fit.

    Per time-varying channel: ``drift`` (the prior), the path over the fitted window (dates,
    mean, lower, upper), ``roas_last_quarter`` and ``roas_window`` with intervals, the
    ``end_start_ratio`` (the last quarter's mean effect over the first quarter's) and the
    share of draws in which it is below 1. ``baseline``: the
    time-varying baseline term per period (KPI units) when the baseline varies.
    """
    if not is_time_varying(fitted):
        return None
    s = fitted.structure
    w = fitted.window
    q = quarter_periods(fitted)
    last = slice(w.stop - q, w.stop)
    contrib = fitted.contribution_draws()
    m = multiplier_draws(fitted)
    ratio = end_start_ratio_draws(fitted, m)
    r_last = window_roas_draws(fitted, last, contrib)
    r_all = window_roas_draws(fitted, w, contrib)
    tri = partial(triple, level=level)
    channels: dict[str, Any] = {}
    for c in s.tv_idx:
        name = fitted.channel_names[c]
        mean, lo, hi = interval(m[:, w, c], level)
        channels[name] = {
            "drift": fitted.spec.drift(name),
            "path": {"mean": mean.tolist(), "lower": lo.tolist(), "upper": hi.tolist()},
            "roas_last_quarter": tri(r_last[:, c]),
            "roas_window": tri(r_all[:, c]),
            "end_start_ratio": tri(ratio[:, c]),
            "p_decline": float(np.mean(ratio[:, c] < 1)),
        }
    out: dict[str, Any] = {
        "definition": PATH_DEFINITION,
        "drift_definition": (
            "prior sd of the change of the log effect per year (0.2: the effect may change by "
            "about 20% a year, about 10% a quarter)"
        ),
        "dates": _dates(fitted, w),
        "last_quarter": {"start": _dates(fitted, [last.start])[0], "periods": int(q)},
        "end_start_definition": (
            "the mean effect per unit over the window's last quarter over its mean over the "
            "first quarter (below 1: the effect wore out)"
        ),
        "channels": channels,
    }
    b = baseline_path_draws(fitted)
    if b is not None:
        mean, lo, hi = interval(b[:, w], level)
        out["baseline"] = {
            "drift": fitted.spec.drift(tv.BASELINE),
            "units": "KPI" if s.additive else "relative (x baseline)",
            "path": {"mean": mean.tolist(), "lower": lo.tolist(), "upper": hi.tolist()},
        }
    return out
