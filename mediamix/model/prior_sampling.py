"""Draws of many prior distributions at once, with every gamma variate from one sampler.

Gamma, Beta, Dirichlet and Student-t priors (and the joint media-share prior, a total share
and a Dirichlet split) are drawn through gamma variates: JAX's rejection sampler, which
compiles anew, for about a second, for every call in a program. Drawing each site with its
own ``fn.sample`` puts one such sampler per site into the program. `sample_sites` draws all
the sites of a model together instead: each distribution of those families is written
through standard gamma variates (``Gamma(a, r) = G(a) / r``; ``Beta(a, b) = G(a) / (G(a) +
G(b))``; ``Dirichlet(alpha) = G(alpha) / sum G(alpha)``; ``StudentT(df, loc, scale) = loc +
scale * Z * sqrt(df / (2 G(df / 2)))``), and the variates of all sites come from one
``jax.random.gamma`` call over their concentrations laid end to end. Every other
distribution is drawn by its own ``sample``. The draws follow the same distributions as
``fn.sample`` (not the same random numbers).

Shapes: ``sample_sites({name: fn}, n, key)[name]`` is ``(n, *fn.shape())``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from mediamix.model.share_prior import ShareSplit

Gamma = Callable[[Any], Any]  # concentrations -> standard gamma variates of that shape


def sample_sites(fns: Mapping[str, Any], n: int, key) -> dict[str, Any]:
    """``n`` draws of each distribution in ``fns``, ``{name: (n, *fn.shape())}``, the gamma
    variates of all of them from one sampler (module docstring). Traceable (use under jit)."""
    names = list(fns)
    keys = dict(zip(names, jax.random.split(jax.random.fold_in(key, 1), max(1, len(names)))))

    def run(gamma: Gamma) -> dict[str, Any]:
        return {k: _draw(fns[k], keys[k], (int(n),), gamma) for k in names}

    wanted: list[Any] = []

    def record(conc):  # first pass: note the concentrations, in call order
        wanted.append(jnp.asarray(conc, jnp.float32))
        return jnp.ones_like(wanted[-1])

    run(record)  # traced only: its values are never used, so XLA drops them
    if not wanted:
        return run(record)
    flat = jnp.concatenate([c.reshape(-1) for c in wanted])
    variates = jax.random.gamma(jax.random.fold_in(key, 2), flat)
    parts, start = [], 0
    for c in wanted:
        parts.append(variates[start:start + c.size].reshape(c.shape))  # fmt: skip
        start += c.size
    supply = iter(parts)
    return run(lambda conc: next(supply))


def _draw(fn, key, shape: tuple[int, ...], gamma: Gamma):
    """Draws of ``fn`` with sample shape ``shape``: ``shape + fn.shape()``."""
    full = shape + tuple(fn.shape())
    base = fn
    while isinstance(base, dist.Independent | dist.ExpandedDistribution):
        base = base.base_dist  # neither changes how one element is drawn

    def param(p):  # a scalar-event family's parameter, broadcast to every drawn element
        return jnp.broadcast_to(jnp.asarray(p, jnp.float32), full)

    if type(base) is dist.Gamma:
        return gamma(param(base.concentration)) / param(base.rate)
    if type(base) is dist.Beta:
        a = gamma(param(base.concentration1))
        b = gamma(param(base.concentration0))
        return jnp.clip(a / (a + b), jnp.finfo(jnp.float32).tiny, 1 - jnp.finfo(jnp.float32).eps)
    if type(base) is dist.StudentT:
        g = gamma(param(base.df) / 2)
        z = jax.random.normal(key, full)
        return param(base.loc) + param(base.scale) * z * jnp.sqrt(param(base.df) / (2 * g))
    if type(base) is dist.Dirichlet:
        g = gamma(jnp.broadcast_to(base.concentration, full))
        return g / g.sum(-1, keepdims=True)
    if isinstance(base, ShareSplit):  # the joint media-share prior
        k_total, k_split = jax.random.split(key)
        share = _draw(base.total, k_total, full[:-1], gamma)
        g = gamma(jnp.broadcast_to(base.concentration, full))
        return (share * base.kpi_mean)[..., None] * g / g.sum(-1, keepdims=True)
    return fn.sample(key, shape)
