"""The model's maths as pure functions of parameters, design and structure (jax.numpy).

``components(params, design, structure)`` gives the KPI's location in model units; the
analysis evaluates it on posterior draws (``batched``), the NumPyro model on sampled sites
(through ``forward``). Shapes: media ``(T, C)``, per-channel parameters ``(C,)`` or
``(C_group,)``; leading axes are draws.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mediamix.model import time_varying as tv
from mediamix.model.priors import coefficient_name
from mediamix.model.structure import Structure
from mediamix.transforms.adstock import apply_weights, get_adstock
from mediamix.transforms.saturation import get_saturation


def adstock_weights(params: dict, structure: Structure) -> jnp.ndarray:
    """Lag weights (..., C, L) for every channel; channels without adstock get w = [1, 0, ...]."""
    L = structure.max_lag
    C = structure.n_channels
    lead = jnp.shape(params["beta"])[:-1]
    w = jnp.zeros(lead + (C, L), dtype=jnp.float32).at[..., 0].set(1.0)
    for g in structure.ad_groups:
        fam = get_adstock(g.family)
        kw = {p: params[g.site(p)] for p in g.params}
        if g.family == "geometric":
            kw["normalize"] = structure.spec.adstock_normalize
        wg = fam.weights(L=L, **kw).astype(jnp.float32)
        lagmask = np.array(
            [[lag < structure.lags[i] for lag in range(L)] for i in g.idx], np.float32
        )
        if not lagmask.all():
            wg = wg * lagmask
            if g.family == "geometric" and structure.spec.adstock_normalize:
                wg = wg / wg.sum(-1, keepdims=True)
        if g.idx == tuple(range(C)):
            return wg
        w = w.at[..., list(g.idx), :].set(wg)
    return w


def saturate(x: jnp.ndarray, params: dict, structure: Structure) -> jnp.ndarray:
    """Saturation with unit coefficient per channel: (T, C) -> (T, C)."""
    out = jnp.zeros_like(x)
    for g in structure.sat_groups:
        fam = get_saturation(g.family)
        kw = {p: params[g.site(p)] for p in g.params}
        kw[coefficient_name(g.family)] = 1.0
        if g.idx == tuple(range(x.shape[-1])):
            return fam.fn(x, **kw)
        out = out.at[..., list(g.idx)].set(fam.fn(x[..., list(g.idx)], **kw))
    return out


def media_inputs(params: dict, design: dict, structure: Structure) -> jnp.ndarray:
    """Per-channel unit-coefficient media response (T, C) before multiplying by beta; a
    time-varying channel's includes its multiplier path (`mediamix.model.time_varying`), so
    contributions, ROAS, mROAS, lifts and the ``effect`` parametrisation all follow it."""
    x = apply_weights(design["media"], adstock_weights(params, structure))
    if structure.additive:
        unit = saturate(x, params, structure)
    else:
        unit = jnp.log(x + structure.log_offset)
    m = tv.multiplier(params, design, structure)  # None: no channel varies over time
    return unit if m is None else unit * m


def baseline(params: dict, design: dict, structure: Structure) -> jnp.ndarray:
    """Everything but media, (T,): intercept, trend, seasonality, weekday, events, controls."""
    b = params["intercept"] + jnp.zeros_like(design["t"])
    if structure.spec.trend != "none":
        b = b + params["trend"] * design["t"]
    if structure.n_changepoints:
        b = b + design["cp_basis"] @ params["trend_delta"]
    if structure.n_fourier:
        b = b + design["fourier"] @ params["season"]
    if structure.n_dow:
        b = b + design["dow"] @ params["dow"]
    if structure.event_idx:
        b = b + design["events"] @ params["event"]
    if structure.free_idx:
        b = b + design["controls_free"] @ params["control"]
    if structure.signed_idx:
        b = b + design["controls_signed"] @ (
            params["control_signed"] * jnp.asarray(structure.signs)
        )
    if structure.baseline_drift:
        b = b + tv.baseline_path(params, design, structure)
    return b


def components(params: dict, design: dict, structure: Structure) -> dict[str, jnp.ndarray]:
    """Location of the KPI in model units: ``mu = baseline + sum_c media_c``.

    Additive: media_c = beta_c * Sat_c(Adstock_c(x_c)) on scaled KPI. Multiplicative: the same
    on log scaled KPI with media_c = beta_c * log(Adstock_c(x_c) + offset).
    """
    base = baseline(params, design, structure)
    media = params["beta"] * media_inputs(params, design, structure)
    return {"baseline": base, "media": media, "mu": base + media.sum(-1)}


def forward(
    raw: dict, design: dict, structure: Structure
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """From sampled sites to (beta (C,), mu (T,), intercept ()), for every parametrisation.

    ``roi``: ROAS_c = kpi_value * kpi_scale * beta_c * sum_t unit_tc / spend_c, solved for
    beta_c. Additive default: the sampled ``effect_c`` is the channel's average contribution
    per period of the likelihood window, beta_c = effect_c / mean_t Sat_c(Adstock_c(x_c))_t.
    That average is what the data pin down (ROAS is proportional to it), so the amplitude no
    longer trades off against the shape of Sat and adstock (a curved ridge, and divergences,
    when it was tied to one reference input); its prior is the media prior (with the default,
    a joint prior on the total media share, `mediamix.model.share_prior`). Multiplicative:
    beta sampled.
    """
    params = dict(raw)
    C = structure.n_channels
    if structure.spec.media_prior == "roi":
        params["beta"] = jnp.ones(C, dtype=jnp.float32)
        unit = media_inputs(params, design, structure)
        total = jnp.sum(jnp.where(design["mask"][:, None], unit, 0.0), axis=0)
        beta = raw["roas"] * design["roi_factor"] / (total + 1e-6)
    elif structure.additive:
        params["beta"] = jnp.ones(C, dtype=jnp.float32)
        unit = media_inputs(params, design, structure)
        mask = design["mask"][:, None]
        mean_unit = jnp.sum(jnp.where(mask, unit, 0.0), axis=0) / jnp.sum(mask)
        beta = raw["effect"] / (mean_unit + 1e-6)
    else:
        beta = raw["beta"]
        unit = media_inputs(params, design, structure)
    mu = baseline({**params, "intercept": 0.0}, design, structure) + (beta * unit).sum(-1)
    # the sampled ``level`` is the mean location over the likelihood window; the intercept is
    # what is left of it (sampling the intercept itself leaves a ridge with every channel
    # whose contribution is near constant over time)
    mask = design["mask"]
    intercept = raw["level"] - jnp.sum(jnp.where(mask, mu, 0.0)) / jnp.sum(mask)
    return beta, mu + intercept, intercept


@functools.lru_cache(maxsize=32)
def forward_jit(structure: Structure):
    return jax.jit(lambda raw, design: forward(raw, design, structure))


def posterior_params(
    samples: dict[str, np.ndarray], structure: Structure
) -> dict[str, jnp.ndarray]:
    """The sites :func:`components` needs, as float32 arrays with draws on axis 0."""
    keep = {"intercept", "trend", "trend_delta", "season", "dow", "event", "control",
            "control_signed", "beta", "sigma", "nu", tv.CHANNEL_SITE,
            tv.BASELINE_SITE}  # fmt: skip
    for g in structure.sat_groups + structure.ad_groups:
        keep |= {g.site(p) for p in g.params}
    return {k: jnp.asarray(v, dtype=jnp.float32) for k, v in samples.items() if k in keep}


def batched(fn, structure: Structure):
    """jit(vmap(fn)) over draws of params for a fixed structure: fn(params, design, structure)."""
    return jax.jit(jax.vmap(lambda p, d: fn(p, d, structure), in_axes=(0, None)))
