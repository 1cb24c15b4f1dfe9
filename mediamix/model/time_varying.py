"""Time-varying media effects and baseline: a smooth multiplier path per channel.

A channel named in ``spec.time_varying`` gets a multiplier on its coefficient that changes
over time, ``contribution_tc = beta_c * m_tc * Sat_c(Adstock_c(x_c))_t``, with

    log m_tc = drift_c * sum_k phi_k(t) * w_ck,      w_ck ~ N(0, 1)   (non-centred)

``phi_k`` are the first ``K`` terms of the Karhunen-Loeve expansion of a Brownian motion
(a random walk in continuous time) on the data's span of ``L`` years,
``phi_k(t) = sqrt(2 L) sin((k - 1/2) pi t / L) / ((k - 1/2) pi)`` with ``t`` in years from
the first period, each centred on the likelihood window. So the prior is a random walk:
``sd(log m_{t + 1 year} - log m_t) = drift_c``, i.e. with ``time_varying_drift: 0.2`` the
effect may change by about 20% per year (about 10% per quarter: the walk's sd grows with the
square root of time). The first terms carry most of the walk's variance (``K = 10`` keep 98%
of it over the span; the smallest wiggle they resolve is about ``L / K`` long).

Why this form and not a state per period: the weights are independent standard normals with
a fixed scale (no sampled hyper-scale, so no funnel for NUTS to fall into), there are ``K``
of them per channel instead of ``T``, and the path is smooth between periods, so the
sampler's geometry stays close to the static model's (see ``bench/bench_time_varying.py``
for steps per draw and ESS per second beside the static fit). The centring makes ``log m``
average zero over the window, so ``m`` is centred at 1 there and the channel's ``effect``
(its average contribution per period) keeps its meaning: the model divides by the window
mean of ``m_t * Sat_t`` (see `mediamix.model.maths.forward`).

``baseline`` in ``time_varying`` adds the same smooth walk to the baseline, in model units
(KPI / its mean in the additive form: ``drift 0.1`` lets the baseline move by about 10% of
the mean KPI per year; log KPI in the multiplicative form, a relative change).

Channels without a time-varying effect have ``m = 1`` exactly (nothing is computed for a
model without any).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# basis terms of the walk (per time-varying component)
N_TERMS = 10
DEFAULT_DRIFT = 0.3
MAX_DRIFT = 5.0
BASELINE = "baseline"
ALL = "all"
# sampled sites: (C_tv, K) weights of the channels' paths, (K,) of the baseline's
CHANNEL_SITE = "tv_weight"
BASELINE_SITE = "baseline_tv_weight"
YEAR_DAYS = 365.25


def walk_basis(days: np.ndarray, window: slice, n_terms: int = N_TERMS) -> np.ndarray:
    """The walk's basis (T, K) for periods at ``days`` (days from the first period): the
    Karhunen-Loeve terms of a unit Brownian motion in years, centred on ``window`` (the
    likelihood window), so ``basis @ w`` with ``w ~ N(0, I)`` has increments of variance
    ``dt`` (years) and mean zero over the window."""
    t = np.asarray(days, dtype=float) / YEAR_DAYS
    span = max(float(t[-1]) if t.size else 0.0, 1.0 / 52)
    freq = (np.arange(1, n_terms + 1) - 0.5) * np.pi
    basis = np.sqrt(2.0 * span) * np.sin(freq[None, :] * t[:, None] / span) / freq[None, :]
    return basis - basis[window].mean(0, keepdims=True)


def log_multiplier(params: dict, design: dict, structure) -> Any:
    """``log m`` of the time-varying channels, (..., T, C_tv), ordered as ``structure.tv_idx``."""
    import jax.numpy as jnp

    w = params[CHANNEL_SITE]  # (..., C_tv, K)
    drift = jnp.asarray(structure.tv_drift, dtype=jnp.float32)
    return jnp.einsum("tk,...ck->...tc", design["tv_basis"], w) * drift


def multiplier(params: dict, design: dict, structure) -> Any:
    """Every channel's multiplier (..., T, C): ``exp(log m)`` for the time-varying channels,
    exactly 1 for the others; None when no channel varies."""
    if not structure.tv_idx:
        return None
    import jax.numpy as jnp

    lm = log_multiplier(params, design, structure)
    T = design["tv_basis"].shape[0]
    lead = lm.shape[:-2]
    full = jnp.zeros(lead + (T, structure.n_channels), dtype=lm.dtype)
    full = full.at[..., list(structure.tv_idx)].set(lm)
    return jnp.exp(full)


def baseline_path(params: dict, design: dict, structure) -> Any:
    """The time-varying baseline term (..., T) in model units (0 mean over the window)."""
    import jax.numpy as jnp

    w = params[BASELINE_SITE]  # (..., K)
    return jnp.einsum("tk,...k->...t", design["tv_basis"], w) * structure.baseline_drift
