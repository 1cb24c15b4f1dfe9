"""ROAS, marginal ROAS, cost per incremental KPI, the per-channel summary and summary.json.

Definitions (all over the fitted window ``fitted.window``: the training periods after the
adstock warm-up, the periods the likelihood uses):

- ROAS_c = kpi_value * sum_t contribution_tc / sum_t spend_tc.
- mROAS_c (marginal ROAS at current spend) = kpi_value * (extra KPI when the channel's spend
  rises by 1% in every period of the window, run through the full model incl. adstock and
  saturation, counted within the window) / (the extra spend, 1% of the window's spend).
- Cost per incremental KPI_c = sum_t spend_tc / sum_t contribution_tc per draw (a ratio of
  sums, never the mean of per-period ratios or of 1 / ROAS); the media total is the sum of
  all channels' spend over the sum of their contributions. A ratio's draws are skewed, so its
  point estimate is the median when the draws' skewness exceeds ``SKEWED`` (0.5 in absolute
  value), else the mean; the JSON says which (``estimate``) and gives both.
- Contributions (and so ROAS) are measured against zero spend; in the multiplicative form
  with ``log_offset = 0`` against each channel's minimum spend in the window (``log x`` has
  no value at zero) -- ``definitions.contribution`` says which.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mediamix.analysis._util import interval, triple
from mediamix.analysis.experiments import experiments_summary

MROAS_DEFINITION = (
    "extra KPI value within the fitted window from +1% spend in every period of the channel "
    "(through the full model incl. adstock), divided by the extra spend"
)
ROAS_DEFINITION = "channel contribution (KPI value) over the fitted window divided by its spend"
COST_PER_KPI_DEFINITION = (
    "total spend over the total incremental KPI of the window, per draw (a ratio of sums); "
    "summarised by its median when the draws are skewed (|skewness| > 0.5), else its mean "
    "('estimate' says which)"
)
SKEWED = 0.5


def contribution_definition(fitted) -> str:
    """What contributions and ROAS are measured against, in words."""
    ref = getattr(fitted, "contribution_reference", "zero spend")
    if ref == "zero spend":
        what = "zero spend"
        if not fitted.structure.additive:
            what += " (multiplicative form, log(x + offset) is zero at x = 0)"
    else:
        what = (
            "the channel's minimum adstocked spend in the window (multiplicative form with "
            "log_offset 0: log x has no value at zero spend)"
        )
    return f"the KPI the channel adds over the window against {what}"


def skewed(draws) -> bool:
    """Whether finite draws are skewed enough (|sample skewness| > ``SKEWED``) that their
    median, not their mean, is the point estimate."""
    x = np.asarray(draws, float).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size < 3 or x.std() == 0:
        return False
    return bool(abs(np.mean((x - x.mean()) ** 3)) / x.std() ** 3 > SKEWED)


def ratio_triple(draws, level: float = 0.9) -> dict[str, Any]:
    """``{mean, median, lower, upper, estimate}`` of a ratio's draws; ``estimate`` is
    ``median`` when they are skewed (see `skewed`), else ``mean``."""
    t = triple(draws, level)
    x = np.asarray(draws, float).reshape(-1)
    x = x[np.isfinite(x)]
    med = float(np.median(x)) if x.size else None
    return {**t, "median": med, "estimate": "median" if skewed(x) else "mean"}


def _window_spend(fitted) -> np.ndarray:
    return fitted.data.spend[fitted.window].sum(0)


def contribution_totals(fitted) -> np.ndarray:
    """Draws of each channel's total contribution over the fitted window, (S, C)."""
    return fitted.contribution_draws()[:, fitted.window].sum(1)


def roas_draws(fitted) -> np.ndarray:
    """Draws of ROAS per channel, (S, C) (NaN for a channel without spend)."""
    spend = _window_spend(fitted)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            fitted.spec.kpi_value * contribution_totals(fitted) / np.where(spend > 0, spend, np.nan)
        )


def mroas_draws(fitted, step: float = 0.01) -> np.ndarray:
    """Draws of marginal ROAS per channel at current spend, (S, C); see the module doc."""
    w = fitted.window
    base = fitted.expected_kpi()[:, w].sum(1)
    spend = _window_spend(fitted)
    out = np.full((fitted.n_draws, len(fitted.channel_names)), np.nan)
    for c in range(len(fitted.channel_names)):
        if spend[c] <= 0:
            continue
        media = fitted.data.media.copy()
        media[w, c] *= 1 + step
        up = fitted.expected_kpi(media)[:, w].sum(1)
        out[:, c] = fitted.spec.kpi_value * (up - base) / (step * spend[c])
    return out


def _channel_draws(fitted):
    """Spend over the window (C,) and draws (S, C) of contribution, ROAS, mROAS, cost per KPI."""
    spend = _window_spend(fitted)
    contrib = contribution_totals(fitted)
    roas = roas_draws(fitted)
    mroas = mroas_draws(fitted)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpk = np.where(contrib > 0, spend / contrib, np.nan)
    return spend, contrib, roas, mroas, cpk


def summary(fitted, level: float = 0.9) -> pd.DataFrame:
    """One row per channel: spend, contribution, ROAS, mROAS, cost per KPI, with intervals."""
    spend, contrib, roas, mroas, cpk = _channel_draws(fitted)
    total_kpi = fitted.data.kpi[fitted.window].sum()
    rows = []
    for i, name in enumerate(fitted.channel_names):
        row: dict[str, Any] = {
            "channel": name,
            "spend": float(spend[i]),
            "spend_share": float(spend[i] / spend.sum()) if spend.sum() > 0 else np.nan,
        }
        for key, d in (("contribution", contrib), ("roas", roas), ("mroas", mroas),
                       ("cost_per_kpi", cpk)):  # fmt: skip
            m, lo, hi = interval(d[:, i], level)
            row[f"{key}_mean"], row[f"{key}_lower"], row[f"{key}_upper"] = m, lo, hi
        finite = cpk[:, i][np.isfinite(cpk[:, i])]
        row["cost_per_kpi_median"] = float(np.median(finite)) if finite.size else np.nan
        row["contribution_share"] = row["contribution_mean"] / total_kpi
        rows.append(row)
    df = pd.DataFrame(rows).set_index("channel")
    df.attrs["level"] = level
    df.attrs["method"] = fitted.method
    return df


def to_json(fitted, level: float = 0.9) -> dict[str, Any]:
    """The content of summary.json (plain JSON types; NaN -> null)."""
    spend, contrib, roas, mroas, cpk = _channel_draws(fitted)
    w = fitted.window
    ekpi = fitted.expected_kpi()[:, w].sum(1)
    base = ekpi - contrib.sum(1)
    diag = fitted.diagnostics.to_dict() if fitted.diagnostics else {}
    note = None
    if fitted.method == "svi":
        note = "SVI intervals are approximate and usually too narrow; use NUTS for reporting"
    elif fitted.method == "map":
        note = "MAP is a point estimate: lower = mean = upper"
    channels = {}
    for i, name in enumerate(fitted.channel_names):
        channels[name] = {
            "spend": float(spend[i]),
            "current_spend_per_period": float(spend[i] / (w.stop - w.start)),
            "contribution": triple(contrib[:, i], level),
            "roas": triple(roas[:, i], level),
            "mroas": triple(mroas[:, i], level),
            "cost_per_kpi": ratio_triple(cpk[:, i], level),
        }
        if not fitted.structure.additive:
            channels[name]["elasticity"] = triple(fitted.params["beta"][:, i], level)
    d = fitted.data
    return {
        "method": fitted.method,
        "form": fitted.spec.form,
        "fit_seconds": fitted.fit_seconds,
        "level": level,
        "n_draws": fitted.n_draws,
        "intervals_note": note,
        "definitions": {
            "roas": ROAS_DEFINITION,
            "mroas": MROAS_DEFINITION,
            "cost_per_kpi": COST_PER_KPI_DEFINITION,
            "contribution": contribution_definition(fitted),
        },
        "contribution_reference": getattr(fitted, "contribution_reference", "zero spend"),
        "window": {  # the likelihood window: every metric here is over these periods
            "start": str(d.dates[w.start].astype("datetime64[D]")),
            "end": str(d.dates[w.stop - 1].astype("datetime64[D]")),
            "periods": int(w.stop - w.start),
            "first_period": int(w.start),
            "warmup": int(w.start),  # earlier periods only condition the adstock
            "adstock_warmup": fitted.spec.adstock_warmup,
            "holdout": int(d.n_periods - fitted.n_train),
        },
        "kpi": {
            "total": float(d.kpi[w].sum()),
            "baseline": triple(base, level),
            "media": triple(contrib.sum(1), level),
            "cost_per_kpi": ratio_triple(_media_cost_per_kpi(spend, contrib), level),
        },  # fmt: skip
        "channels": channels,
        "diagnostics": diag,
        "experiments": experiments_summary(fitted, level),
        "review": _review_dict(fitted),
        **_time_varying_block(fitted, level),
    }


def _time_varying_block(fitted, level: float) -> dict[str, Any]:
    """``{"time_varying": ...}`` for a fit with time-varying effects, else nothing (a static
    fit's summary.json is unchanged)."""
    from mediamix.analysis.time_varying import time_varying_summary

    block = time_varying_summary(fitted, level)
    return {} if block is None else {"time_varying": block}


def _media_cost_per_kpi(spend: np.ndarray, contrib: np.ndarray) -> np.ndarray:
    """Draws of all media's spend over all media's contribution (a ratio of sums), (S,)."""
    total = contrib.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, spend.sum() / total, np.nan)


def _review_dict(fitted) -> dict[str, Any] | None:
    """The model review of the fit (`FittedModel.review`), as JSON."""
    rev = getattr(fitted, "review", None)
    return rev.to_dict() if rev is not None else None
