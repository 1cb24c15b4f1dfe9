"""The design: the data's arrays in model units (float32), what the model function reads."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from mediamix.errors import DataError
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.structure import Structure
from mediamix.model.time_varying import walk_basis

YEAR_DAYS = 365.25
# the fewest periods the likelihood may have (after the warm-up, before the hold-out)
MIN_WINDOW = 10


def likelihood_window(structure: Structure, n_train: int) -> slice:
    """The periods the likelihood and the window metrics use: after the adstock warm-up
    (``structure.warmup`` periods that only condition the adstock), before the hold-out."""
    return slice(structure.warmup, int(n_train))


def check_window(structure: Structure, n_periods: int, n_train: int) -> None:
    """A clear error when the warm-up and the hold-out leave fewer than `MIN_WINDOW`
    periods for the likelihood."""
    w = structure.warmup
    if n_train - w >= MIN_WINDOW:
        return
    held = n_periods - n_train
    parts = [f"{n_periods} periods"]
    if w:
        parts.append(
            f"the first {w} only condition the adstock (adstock_warmup: exclude, max lag {w + 1})"
        )
    if held:
        parts.append(f"{held} are held out")
    raise DataError(
        f"too few periods to fit: {', '.join(parts)}, which leaves {max(n_train - w, 0)} for "
        f"the likelihood; it needs at least {MIN_WINDOW}. Use a longer series"
        + (
            ", a shorter adstock_max_lag, or adstock_warmup: none if the data start from no media"
            if w
            else ""
        )
        + (", or a smaller holdout" if held else "")
    )


def build_design(
    data: ModelData,
    scalers: ModelScalers,
    structure: Structure,
    n_train: int,
    media: np.ndarray | None = None,
) -> dict[str, jnp.ndarray]:
    """Float32 arrays the model reads. ``media`` replaces the data's media (what-if).

    ``mask`` is the likelihood window (`likelihood_window`): the training periods after the
    adstock warm-up.
    """
    T = data.n_periods
    check_window(structure, T, n_train)
    f32 = np.float32
    window = likelihood_window(structure, n_train)
    w0 = window.start
    m = data.media if media is None else np.asarray(media, dtype=float)
    days = (data.dates - data.dates[0]).astype("timedelta64[D]").astype(float)
    t = (np.arange(T, dtype=float) - w0) / max(n_train - 1 - w0, 1)
    rows = np.arange(T)
    d: dict[str, Any] = {
        "media": scalers.media.transform(m).astype(f32),
        # trend time centred on the likelihood window: the intercept is the mid-window level,
        # uncorrelated with the slope (a ridge NUTS otherwise has to crawl along)
        "t": (t - 0.5).astype(f32),
        "y": scalers.kpi.transform(data.kpi).astype(f32),
        "mask": (rows >= w0) & (rows < n_train),
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
    if structure.n_tv_terms:
        d["tv_basis"] = walk_basis(days, window, structure.n_tv_terms).astype(f32)
    d["media_ref"] = d["media"][window].mean(0).astype(f32)
    spend_train = data.spend[window].sum(0)
    d["roi_factor"] = (spend_train / (structure.spec.kpi_value * scalers.kpi_scale)).astype(f32)
    if not structure.additive and np.any(data.kpi[:n_train] <= 0):
        bad = int(np.nonzero(data.kpi[:n_train] <= 0)[0][0])
        raise DataError(
            f"the multiplicative form models log KPI, but the KPI is {data.kpi[bad]} in row "
            f"{bad}; use form: additive or remove non-positive KPI periods"
        )
    return {k: jnp.asarray(v) for k, v in d.items()}
