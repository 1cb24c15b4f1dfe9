"""What-if: the predicted KPI under a changed spend plan, with its interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mediamix.analysis._util import triple
from mediamix.errors import SpecError


@dataclass(frozen=True)
class WhatIf:
    """Totals over the fitted window under the current and the changed plan (KPI units)."""

    current_kpi: dict[str, float | None]
    plan_kpi: dict[str, float | None]
    delta_kpi: dict[str, float | None]
    extra_spend: float
    delta_value_per_spend: dict[str, float | None]
    per_period: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_kpi": self.current_kpi,
            "plan_kpi": self.plan_kpi,
            "delta_kpi": self.delta_kpi,
            "extra_spend": self.extra_spend,
            "delta_value_per_spend": self.delta_value_per_spend,
        }


def _periods(fitted, periods) -> np.ndarray:
    w = fitted.window
    idx = np.arange(w.start, w.stop)
    n = len(idx)
    if periods is None:
        return idx
    if isinstance(periods, int | np.integer):
        if not 0 < periods <= n:
            raise SpecError(f"periods must be between 1 and {n} (got {periods})")
        return idx[-int(periods) :]
    if isinstance(periods, slice):
        return idx[periods]
    return np.asarray(periods, dtype=int)


def what_if(fitted, plan, periods=None, level: float = 0.9) -> WhatIf:
    """Predict the KPI under ``plan``.

    ``plan``: ``{channel: multiplier}`` (e.g. ``{"tv": 1.2, "search": 0.9}``) applied to the
    spend of ``periods`` (None = the whole fitted window ``fitted.window``; an int n = its last
    n periods; a slice of the window's periods; or period indices of the data), or a spend
    array / DataFrame of shape (T, C) in original units. The totals are over the window.
    Activity scales with spend at each channel's cost per unit.
    """
    data = fitted.data
    names = fitted.channel_names
    media = data.media.copy()
    spend = data.spend.copy()
    if isinstance(plan, Mapping):
        unknown = [k for k in plan if k not in names]
        if unknown:
            raise SpecError(f"what-if names unknown channel(s) {unknown}; channels: {names}")
        rows = _periods(fitted, periods)
        for k, f in plan.items():
            if not f >= 0:
                raise SpecError(f"what-if multiplier for '{k}' must be >= 0 (got {f})")
            c = names.index(k)
            media[rows, c] *= f
            spend[rows, c] *= f
    else:
        new = plan[names].to_numpy(float) if isinstance(plan, pd.DataFrame) else np.asarray(plan)
        if new.shape != spend.shape:
            raise SpecError(f"a spend plan must have shape {spend.shape}; got {new.shape}")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(spend > 0, new / spend, np.nan)
        media = np.where(spend > 0, media * ratio, new / data.cost_per_unit)
        spend = new.astype(float)
    w = fitted.window
    cur = fitted.expected_kpi()[:, w]
    new_k = fitted.expected_kpi(media)[:, w]
    extra = float(spend[w].sum() - data.spend[w].sum())
    delta = new_k.sum(1) - cur.sum(1)
    if extra != 0:
        vps = triple(fitted.spec.kpi_value * delta / extra, level)
    else:
        vps = {"mean": None, "lower": None, "upper": None}
    lo, hi = (1 - level) / 2, (1 + level) / 2
    per = pd.DataFrame({
        "date": pd.DatetimeIndex(data.dates[w]),
        "current_mean": cur.mean(0),
        "plan_mean": new_k.mean(0),
        "plan_lower": np.quantile(new_k, lo, axis=0),
        "plan_upper": np.quantile(new_k, hi, axis=0),
    })  # fmt: skip
    return WhatIf(
        triple(cur.sum(1), level), triple(new_k.sum(1), level), triple(delta, level), extra,
        vps, per,
    )  # fmt: skip
