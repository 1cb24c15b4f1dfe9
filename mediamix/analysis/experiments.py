"""Experiments against the fit: the model's posterior lift of each test beside the measured one.

The model's lift of an experiment is its counterfactual through the full model (see
`mediamix.model.experiments`): the expected KPI summed over ``start..measure_end`` with the
data's media minus the same with the test's counterfactual media (or the other way round for
a test on top of the data), per posterior draw, in KPI units.

Agreement (`AGREES_DEFINITION`): the measured lift lies inside the model's central interval
widened by two standard errors of the measurement on each side,
``lower - 2 lift_se <= lift <= upper + 2 lift_se``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from mediamix.analysis._util import triple
from mediamix.data.experiments import Experiment, experiment_periods
from mediamix.model.experiments import counterfactual_media

AGREES_DEFINITION = (
    "the measured lift lies inside the model's interval widened by 2 standard errors of the "
    "measurement on each side"
)


def lift_draws(fitted, experiments: Iterable[Experiment] | None = None) -> np.ndarray:
    """Draws of the model's lift of each experiment in KPI units, (S, E).

    ``experiments``: defaults to those the model was fitted with (``fitted.experiments``); any
    others are evaluated the same way (what the model predicts such a test would measure).
    """
    if experiments is None:
        experiments = getattr(fitted, "experiments", ()) or ()
    exps = tuple(experiments)
    out = np.zeros((fitted.n_draws, len(exps)))
    if not exps:
        return out
    base = fitted.expected_kpi()
    for i, e in enumerate(exps):
        media, _, sign = counterfactual_media(e, fitted.data)
        s, _, m = experiment_periods(e, fitted.data.dates)
        cf = fitted.expected_kpi(media)
        out[:, i] = sign * (cf[:, s : m + 1] - base[:, s : m + 1]).sum(1)
    return out


def agrees(lift: float, lift_se: float, lower: float | None, upper: float | None) -> bool | None:
    """The agreement rule (`AGREES_DEFINITION`); None when the interval is unknown."""
    if lower is None or upper is None:
        return None
    return bool(lower - 2 * lift_se <= lift <= upper + 2 * lift_se)


def experiments_summary(fitted, level: float = 0.9) -> list[dict[str, Any]]:
    """One entry per experiment of the fit: the row, the measured and the model's lift (mean
    and central ``level`` interval), the measured ROI, and whether they agree."""
    exps = tuple(getattr(fitted, "experiments", ()) or ())
    if not exps:
        return []
    draws = lift_draws(fitted, exps)
    kv = float(fitted.spec.kpi_value)
    out = []
    for i, e in enumerate(exps):
        model = triple(draws[:, i], level)
        out.append({
            "channel": e.channel,
            "start": e.start,
            "end": e.end,
            "measure_end": e.window_end,
            "spend_change": e.spend_change,
            "lift": e.lift,
            "lift_se": e.lift_se,
            "in_data": e.in_data,
            "geo": e.geo,
            "measured_roi": kv * e.lift / e.spend_change,
            "model_lift": model,
            "agrees": agrees(e.lift, e.lift_se, model["lower"], model["upper"]),
        })  # fmt: skip
    return out


def experiments_table(fitted, level: float = 0.9) -> pd.DataFrame:
    """`experiments_summary` as a table (one row per experiment)."""
    rows = []
    for d in experiments_summary(fitted, level):
        m = d.pop("model_lift")
        rows.append({**d, "model_lift_mean": m["mean"], "model_lift_lower": m["lower"],
                     "model_lift_upper": m["upper"]})  # fmt: skip
    return pd.DataFrame(rows)
