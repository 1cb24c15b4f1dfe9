"""The design: the data's arrays in model units (float32), what the model function reads."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from mediamix.errors import DataError
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.structure import Structure

YEAR_DAYS = 365.25


def build_design(
    data: ModelData,
    scalers: ModelScalers,
    structure: Structure,
    n_train: int,
    media: np.ndarray | None = None,
) -> dict[str, jnp.ndarray]:
    """Float32 arrays the model reads. ``media`` replaces the data's media (what-if)."""
    T = data.n_periods
    f32 = np.float32
    m = data.media if media is None else np.asarray(media, dtype=float)
    days = (data.dates - data.dates[0]).astype("timedelta64[D]").astype(float)
    t = np.arange(T, dtype=float) / max(n_train - 1, 1)
    d: dict[str, Any] = {
        "media": scalers.media.transform(m).astype(f32),
        # trend time centred on the training window: the intercept is the mid-window level,
        # uncorrelated with the slope (a ridge NUTS otherwise has to crawl along)
        "t": (t - 0.5).astype(f32),
        "y": scalers.kpi.transform(data.kpi).astype(f32),
        "mask": (np.arange(T) < n_train),
    }
    ctrl = scalers.controls.transform(data.controls) if data.controls.shape[1] else data.controls
    d["controls_free"] = ctrl[:, list(structure.free_idx)].astype(f32)
    d["controls_signed"] = ctrl[:, list(structure.signed_idx)].astype(f32)
    d["events"] = ctrl[:, list(structure.event_idx)].astype(f32)
    k = np.arange(1, structure.n_fourier // 2 + 1)
    ang = 2 * np.pi * days[:, None] * k[None, :] / YEAR_DAYS
    four = np.stack([np.sin(ang), np.cos(ang)], axis=-1).reshape(T, -1)
    d["fourier"] = four.astype(f32)
    wd = (data.dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    dow = np.stack([(wd == j) for j in range(1, 7)], axis=-1).astype(f32)
    d["dow"] = dow[:, : structure.n_dow]
    cps = np.arange(1, structure.n_changepoints + 1) / (structure.n_changepoints + 1)
    d["cp_basis"] = np.maximum(t[:, None] - cps[None, :], 0.0).astype(f32)
    d["media_ref"] = d["media"][:n_train].mean(0).astype(f32)
    spend_train = data.spend[:n_train].sum(0)
    d["roi_factor"] = (spend_train / (structure.spec.kpi_value * scalers.kpi_scale)).astype(f32)
    if not structure.additive and np.any(data.kpi[:n_train] <= 0):
        bad = int(np.nonzero(data.kpi[:n_train] <= 0)[0][0])
        raise DataError(
            f"the multiplicative form models log KPI, but the KPI is {data.kpi[bad]} in row "
            f"{bad}; use form: additive or remove non-positive KPI periods"
        )
    return {k: jnp.asarray(v) for k, v in d.items()}
