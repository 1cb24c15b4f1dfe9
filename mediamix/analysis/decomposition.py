"""Contributions per period (with intervals) and the baseline vs media decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediamix.analysis._util import interval


def contributions(fitted, level: float = 0.9) -> pd.DataFrame:
    """Tidy table: one row per period and component (``baseline`` or a channel).

    Columns: date, component, mean, lower, upper (KPI units), plus the observed KPI and whether
    the period was a training period (``train``: before the hold-out; the fitted window
    ``fitted.window`` is these periods after the adstock warm-up).
    baseline = expected KPI - sum of channel contributions.
    """
    comps = fitted.components()
    contrib = fitted.contribution_draws(comps=comps)
    ekpi = fitted.expected_kpi(comps=comps)
    base = ekpi - contrib.sum(-1)
    dates = pd.DatetimeIndex(fitted.data.dates)
    T = len(dates)
    frames = []
    for name, d in [("baseline", base), ("expected_kpi", ekpi)] + [
        (n, contrib[..., i]) for i, n in enumerate(fitted.channel_names)
    ]:
        m, lo, hi = interval(d, level)
        frames.append(
            pd.DataFrame({"date": dates, "component": name, "mean": m, "lower": lo, "upper": hi,
                          "kpi": fitted.data.kpi, "train": np.arange(T) < fitted.n_train})
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def decomposition(fitted, level: float = 0.9) -> pd.DataFrame:
    """Totals over the fitted window: baseline, media and each channel, with shares."""
    w = fitted.window
    comps = fitted.components()
    contrib = fitted.contribution_draws(comps=comps)[:, w].sum(1)
    ekpi = fitted.expected_kpi(comps=comps)[:, w].sum(1)
    rows = {"baseline": ekpi - contrib.sum(1), "media": contrib.sum(1)}
    rows.update({c: contrib[:, i] for i, c in enumerate(fitted.channel_names)})
    out = []
    for k, d in rows.items():
        m, lo, hi = interval(d, level)
        out.append({"component": k, "mean": m, "lower": lo, "upper": hi,
                    "share": float(np.mean(d / ekpi))})  # fmt: skip
    return pd.DataFrame(out).set_index("component")


def fit_table(fitted, level: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """Fit vs actual per period: the expected KPI (mean) with the central ``level`` interval of
    the posterior predictive (noise included). Columns: date, actual, mean, lower, upper, train
    (see `contributions`).
    """
    pred = fitted.predictive(seed=seed)
    _, lo, hi = interval(pred, level)
    T = len(fitted.data.kpi)
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex(fitted.data.dates),
            "actual": fitted.data.kpi,
            "mean": fitted.expected_kpi().mean(0),
            "lower": lo,
            "upper": hi,
            "train": np.arange(T) < fitted.n_train,
        }
    )
