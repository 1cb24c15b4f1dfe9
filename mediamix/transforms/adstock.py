"""Adstock (carry-over) transforms: spend in period t keeps acting in later periods.

Every transform is a finite lag filter ``y_t = sum_{l=0}^{L-1} w_l x_{t-l}`` whose weights
come from a family:

- ``geometric``: ``w_l = lam^l`` (``normalize=True`` divides by ``sum_l lam^l``);
- ``weibull_cdf``: ``w_l = exp(-(l / scale)^shape)``, the Weibull survival function at lag l
  (``w_0 = 1``; the share of the effect still alive after l periods);
- ``weibull_pdf``: ``w_l`` proportional to the Weibull density at ``l + 1``, normalised to sum
  to 1 (allows a delayed peak when shape > 1);
- ``delayed``: ``w_l = lam^((l - theta)^2)`` normalised to sum to 1 (peak at lag theta).

Shapes: ``x`` is ``(..., T, C)``; parameters are ``(..., C)``; weights are ``(..., C, L)``.
``L`` is a static Python int so the functions stay jit-friendly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp

from mediamix.errors import SpecError, did_you_mean


def _lags(L: int):
    if int(L) != L or L < 1:
        raise SpecError(f"adstock max lag L must be a positive integer (got {L!r})")
    return jnp.arange(int(L), dtype=float)


def geometric_weights(lam, L: int, normalize: bool = False):
    """``w_l = lam^l`` for l = 0..L-1, optionally normalised to sum to 1."""
    lam = jnp.asarray(lam, dtype=float)[..., None]
    w = jnp.power(lam, _lags(L))
    return w / w.sum(-1, keepdims=True) if normalize else w


def weibull_cdf_weights(shape, scale, L: int):
    """``w_l = exp(-(l / scale)^shape)``: Weibull survival at lag l, ``w_0 = 1``."""
    shape = jnp.asarray(shape, dtype=float)[..., None]
    scale = jnp.asarray(scale, dtype=float)[..., None]
    return jnp.exp(-jnp.power(_lags(L) / scale, shape))


def weibull_pdf_weights(shape, scale, L: int):
    """Weibull density at lags 1..L, normalised to sum to 1."""
    shape = jnp.asarray(shape, dtype=float)[..., None]
    scale = jnp.asarray(scale, dtype=float)[..., None]
    z = (_lags(L) + 1.0) / scale
    dens = shape / scale * jnp.power(z, shape - 1.0) * jnp.exp(-jnp.power(z, shape))
    return dens / dens.sum(-1, keepdims=True)


def delayed_weights(lam, theta, L: int):
    """``w_l = lam^((l - theta)^2)`` normalised to sum to 1: the effect peaks at lag theta."""
    lam = jnp.asarray(lam, dtype=float)[..., None]
    theta = jnp.asarray(theta, dtype=float)[..., None]
    w = jnp.power(lam, (_lags(L) - theta) ** 2)
    return w / w.sum(-1, keepdims=True)


def apply_weights(x, w):
    """Convolve along time: ``y[..., t, c] = sum_l w[..., c, l] * x[..., t - l, c]``.

    Periods before the first observation count as zero spend. ``x`` is ``(..., T, C)`` and
    ``w`` is ``(..., C, L)``; leading axes broadcast.
    """
    x = jnp.asarray(x)
    L = w.shape[-1]
    T = x.shape[-2]
    pad = jnp.zeros(x.shape[:-2] + (L - 1,) + x.shape[-1:], dtype=x.dtype)
    xp = jnp.concatenate([pad, x], axis=-2)  # (..., T + L - 1, C)
    lagged = jnp.stack([xp[..., L - 1 - lag : L - 1 - lag + T, :] for lag in range(L)], axis=-1)
    return jnp.sum(lagged * w[..., None, :, :], axis=-1)


def steady_state_gain(w):
    """Output per unit of constant spend once the carry-over has built up: ``sum_l w_l``."""
    return jnp.sum(w, axis=-1)


def geometric(x, lam, L: int, normalize: bool = False):
    return apply_weights(x, geometric_weights(lam, L, normalize))


def weibull_cdf(x, shape, scale, L: int):
    return apply_weights(x, weibull_cdf_weights(shape, scale, L))


def weibull_pdf(x, shape, scale, L: int):
    return apply_weights(x, weibull_pdf_weights(shape, scale, L))


def delayed(x, lam, theta, L: int):
    return apply_weights(x, delayed_weights(lam, theta, L))


@dataclass(frozen=True)
class AdstockFamily:
    """One adstock family: parameter names, the lag-weight function and the transform."""

    name: str
    params: tuple[str, ...]
    weights: Callable[..., jnp.ndarray]
    options: tuple[str, ...] = ()

    def __call__(self, x, L: int, **params):
        return apply_weights(x, self.weights(L=L, **params))


ADSTOCKS: dict[str, AdstockFamily] = {
    f.name: f
    for f in [
        AdstockFamily("geometric", ("lam",), geometric_weights, ("normalize",)),
        AdstockFamily("weibull_cdf", ("shape", "scale"), weibull_cdf_weights),
        AdstockFamily("weibull_pdf", ("shape", "scale"), weibull_pdf_weights),
        AdstockFamily("delayed", ("lam", "theta"), delayed_weights),
    ]
}


def get_adstock(name: str) -> AdstockFamily:
    """Look an adstock family up by name, with a clear error listing the known names."""
    try:
        return ADSTOCKS[name]
    except KeyError:
        raise SpecError(
            f"unknown adstock family '{name}'; known: {', '.join(ADSTOCKS)}."
            + did_you_mean(name, ADSTOCKS)
        ) from None
