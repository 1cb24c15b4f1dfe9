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
``L`` is a static Python int so the functions stay jit-friendly. Like the saturation
families, the functions run on numpy arrays (float64) and on JAX arrays or tracers alike;
each family is one :class:`AdstockFamily` in the registry :data:`ADSTOCKS` (extend it with
:func:`register_adstock`), carrying its weights, default priors and simulator draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import SpecError, did_you_mean
from mediamix.transforms.arrays import asarray, namespace, quiet


def _lags(xp, L: int):
    if int(L) != L or L < 1:
        raise SpecError(f"adstock max lag L must be a positive integer (got {L!r})")
    return xp.arange(int(L), dtype=float)


@quiet
def geometric_weights(lam, L: int, normalize: bool = False):
    """``w_l = lam^l`` for l = 0..L-1, optionally normalised to sum to 1."""
    xp = namespace(lam)
    lam = asarray(xp, lam)[..., None]
    w = xp.power(lam, _lags(xp, L))
    return w / w.sum(-1, keepdims=True) if normalize else w


@quiet
def weibull_cdf_weights(shape, scale, L: int):
    """``w_l = exp(-(l / scale)^shape)``: Weibull survival at lag l, ``w_0 = 1``."""
    xp = namespace(shape, scale)
    shape = asarray(xp, shape)[..., None]
    scale = asarray(xp, scale)[..., None]
    return xp.exp(-xp.power(_lags(xp, L) / scale, shape))


@quiet
def weibull_pdf_weights(shape, scale, L: int):
    """Weibull density ``shape / scale * z^(shape - 1) * exp(-z^shape)`` at ``z = (l + 1) /
    scale``, l = 0..L-1, normalised to sum to 1."""
    xp = namespace(shape, scale)
    shape = asarray(xp, shape)[..., None]
    scale = asarray(xp, scale)[..., None]
    z = (_lags(xp, L) + 1.0) / scale
    dens = shape / scale * xp.power(z, shape - 1.0) * xp.exp(-xp.power(z, shape))
    return dens / dens.sum(-1, keepdims=True)


@quiet
def delayed_weights(lam, theta, L: int):
    """``w_l = lam^((l - theta)^2)`` normalised to sum to 1: the effect peaks at lag theta."""
    xp = namespace(lam, theta)
    lam = asarray(xp, lam)[..., None]
    theta = asarray(xp, theta)[..., None]
    w = xp.power(lam, (_lags(xp, L) - theta) ** 2)
    return w / w.sum(-1, keepdims=True)


def apply_weights(x, w):
    """Convolve along time: ``y[..., t, c] = sum_l w[..., c, l] * x[..., t - l, c]``.

    Periods before the first observation count as zero spend. ``x`` is ``(..., T, C)`` and
    ``w`` is ``(..., C, L)``; leading axes broadcast.
    """
    xp = namespace(x, w)
    x = asarray(xp, x)
    w = asarray(xp, w)
    L = w.shape[-1]
    T = x.shape[-2]
    pad = xp.zeros(x.shape[:-2] + (L - 1,) + x.shape[-1:], dtype=x.dtype)
    xp_ = xp.concatenate([pad, x], axis=-2)  # (..., T + L - 1, C)
    # the lagged inputs by one gather with a constant index, then one contraction over the
    # lags: two operations whatever L (a slice per lag, stacked, made 2L + 2; the gradient
    # of the contraction is one more)
    lags = np.arange(T)[:, None] + (L - 1) - np.arange(L)[None, :]  # (T, L): t + L-1 - l
    lagged = xp_[..., lags, :]  # (..., T, L, C)
    return xp.einsum("...tlc,...cl->...tc", lagged, w)


def steady_state_gain(w):
    """Output per unit of constant spend once the carry-over has built up: ``sum_l w_l``."""
    xp = namespace(w)
    return xp.sum(w, axis=-1)


def geometric(x, lam, L: int, normalize: bool = False):
    return apply_weights(x, geometric_weights(lam, L, normalize))


def weibull_cdf(x, shape, scale, L: int):
    return apply_weights(x, weibull_cdf_weights(shape, scale, L))


def weibull_pdf(x, shape, scale, L: int):
    return apply_weights(x, weibull_pdf_weights(shape, scale, L))


def delayed(x, lam, theta, L: int):
    return apply_weights(x, delayed_weights(lam, theta, L))


@dataclass(frozen=True, eq=False)
class AdstockFamily:
    """One adstock family: parameter names, lag weights, default priors and simulator draws.

    ``weights(L=..., **params)`` gives the lag weights ``(..., C, L)``; ``options`` are
    non-sampled settings (``normalize``); ``priors`` are the default priors of the
    parameters, ``{param: {dist: ..., **dist_params}}``; ``simulate(rng, n, periods_per_week,
    L)`` draws per-channel parameters (arrays of shape ``(n,)``, plus ``L`` and options) for
    the simulator.
    """

    name: str
    params: tuple[str, ...]
    weights: Callable[..., Any]
    options: tuple[str, ...] = ()
    priors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    simulate: Callable[[np.random.Generator, int, float, int], dict] | None = None
    description: str = ""

    def __call__(self, x, L: int, **params):
        return apply_weights(x, self.weights(L=L, **params))


def _beta(c1: float, c0: float) -> dict[str, Any]:
    return {"dist": "beta", "concentration1": c1, "concentration0": c0}


def _gamma(concentration: float, rate: float) -> dict[str, Any]:
    return {"dist": "gamma", "concentration": concentration, "rate": rate}


def _sim_geometric(rng, n, ppw, L):
    lam_w = rng.uniform(0.2, 0.7, n)
    return {"lam": lam_w ** (1.0 / ppw), "L": L, "normalize": True}


def _sim_weibull_cdf(rng, n, ppw, L):
    return {"shape": rng.uniform(0.8, 2.0, n), "scale": rng.uniform(1.0, 3.0, n) * ppw, "L": L}


def _sim_weibull_pdf(rng, n, ppw, L):
    return {"shape": rng.uniform(1.5, 3.0, n), "scale": rng.uniform(1.0, 3.0, n) * ppw, "L": L}


def _sim_delayed(rng, n, ppw, L):
    theta = np.minimum(rng.uniform(1.0, 3.0, n) * ppw, L - 1)
    return {"lam": rng.uniform(0.3, 0.7, n) ** (1.0 / ppw**2), "theta": theta, "L": L}


ADSTOCKS: dict[str, AdstockFamily] = {}


def register_adstock(family: AdstockFamily, *, replace: bool = False) -> AdstockFamily:
    """Add an adstock family to the registry (see :func:`register_saturation`)."""
    if not isinstance(family, AdstockFamily):
        raise TypeError(f"register_adstock expects an AdstockFamily (got {family!r})")
    if family.name in ADSTOCKS and not replace:
        raise SpecError(
            f"adstock family '{family.name}' is already registered; pass replace=True to replace it"
        )
    bad = [p for p in family.priors if p not in family.params]
    if bad:
        raise SpecError(
            f"adstock family '{family.name}': priors name {bad}, which are not among its "
            f"parameters {list(family.params)}"
        )
    ADSTOCKS[family.name] = family
    return family


for _family in [
    AdstockFamily(
        "geometric",
        ("lam",),
        geometric_weights,
        ("normalize",),
        priors={"lam": _beta(2.0, 2.0)},
        simulate=_sim_geometric,
        description="w_l = lam^l (normalize: divide by the sum)",
    ),
    AdstockFamily(
        "weibull_cdf",
        ("shape", "scale"),
        weibull_cdf_weights,
        priors={"shape": _gamma(2.0, 1.0), "scale": _gamma(2.0, 1.0)},
        simulate=_sim_weibull_cdf,
        description="w_l = exp(-(l / scale)^shape): Weibull survival, w_0 = 1",
    ),
    AdstockFamily(
        "weibull_pdf",
        ("shape", "scale"),
        weibull_pdf_weights,
        priors={"shape": _gamma(2.0, 1.0), "scale": _gamma(2.0, 1.0)},
        simulate=_sim_weibull_pdf,
        description="Weibull density at lags 1..L, sums to 1: a late peak when shape > 1",
    ),
    AdstockFamily(
        "delayed",
        ("lam", "theta"),
        delayed_weights,
        priors={"lam": _beta(2.0, 2.0), "theta": {"dist": "half_normal", "scale": 2.0}},
        simulate=_sim_delayed,
        description="w_l = lam^((l - theta)^2), sums to 1: the peak at lag theta",
    ),
]:
    register_adstock(_family)
del _family


def get_adstock(name: str) -> AdstockFamily:
    """Look an adstock family up by name, with a clear error listing the known names."""
    try:
        return ADSTOCKS[name]
    except KeyError:
        raise SpecError(
            f"unknown adstock family '{name}'; known: {', '.join(ADSTOCKS)}."
            + did_you_mean(name, ADSTOCKS)
        ) from None
