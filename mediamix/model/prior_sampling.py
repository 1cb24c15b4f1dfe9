"""Draws of many prior distributions at once: every gamma variate from one sampler, every
normal variate from one call.

Gamma, Beta, Dirichlet and Student-t priors (and the joint media-share prior, a total share
and a Dirichlet split) are drawn through gamma variates; drawing each site with its own
``fn.sample`` puts one rejection sampler (a while loop, about a second of compilation) and
one random-bits program per site into the program. `sample_sites` draws all the sites of a
model together instead: each distribution of those families is written through standard
gamma variates (``Gamma(a, r) = G(a) / r``; ``Beta(a, b) = G(a) / (G(a) + G(b))``;
``Dirichlet(alpha) = G(alpha) / sum G(alpha)``; ``StudentT(df, loc, scale) = loc + scale * Z
* sqrt(df / (2 G(df / 2)))``) and the normal families through standard normal variates
(``Normal``: ``loc + scale * Z``; ``HalfNormal``: ``scale * |Z|``; ``LogNormal``: ``exp(loc +
scale * Z)``); the gamma variates of all sites come from one `standard_gamma` call over their
concentrations laid end to end, the normal ones from one ``jax.random.normal`` call. Every
other distribution is drawn by its own ``sample``. The draws follow the same distributions as
``fn.sample`` (not the same random numbers).

`standard_gamma` is Marsaglia and Tsang's method (2000) with a fixed number of proposals
drawn at once instead of a loop until one is accepted: straight-line code, which XLA compiles
in about half the time of ``jax.random.gamma``'s while loop. For a concentration of at least
1 a proposal is accepted with probability above 0.95, so all `PROPOSALS` are rejected with
probability below 0.05 ** 16 (about 1e-21; the first proposal is then kept); below 1 the
variate of ``a + 1`` is scaled by ``U ** (1 / a)``.

Shapes: ``sample_sites({name: fn}, n, key)[name]`` is ``(n, *fn.shape())``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from mediamix.model.share_prior import ShareSplit

Gamma = Callable[[Any], Any]  # concentrations -> standard gamma variates of that shape
Normal = Callable[[tuple[int, ...]], Any]  # shape -> standard normal variates of that shape

PROPOSALS = 16  # Marsaglia-Tsang proposals per variate (module docstring)


def standard_gamma(key, a, proposals: int = PROPOSALS):
    """Standard gamma variates ``G(a)`` (shape and rate 1), one per element of ``a`` (float32):
    Marsaglia-Tsang with ``proposals`` proposals at once (module docstring). Traceable."""
    a = jnp.asarray(a, jnp.float32)
    small = a < 1.0
    d = jnp.where(small, a + 1.0, a) - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    k_z, k_u, k_small = jax.random.split(key, 3)
    tiny = jnp.finfo(jnp.float32).tiny
    z = jax.random.normal(k_z, (proposals, *a.shape))
    u = jax.random.uniform(k_u, (proposals, *a.shape), minval=tiny)
    v = (1.0 + c * z) ** 3
    v_pos = jnp.where(v > 0, v, 1.0)
    accept = (v > 0) & (jnp.log(u) < 0.5 * z**2 + d - d * v_pos + d * jnp.log(v_pos))
    first = jnp.argmax(accept, axis=0)  # the first accepted proposal (0 when none is)
    x = d * jnp.take_along_axis(v_pos, first[None], axis=0)[0]
    u_small = jax.random.uniform(k_small, a.shape, minval=tiny)
    return jnp.where(small, x * jnp.exp(jnp.log(u_small) / a), x)


def sample_sites(fns: Mapping[str, Any], n: int, key) -> dict[str, Any]:
    """``n`` draws of each distribution in ``fns``, ``{name: (n, *fn.shape())}``, the gamma
    variates of all of them from one `standard_gamma` call and the normal variates from one
    ``jax.random.normal`` call (module docstring). Traceable (use under jit)."""
    names = list(fns)
    keys = dict(zip(names, jax.random.split(jax.random.fold_in(key, 1), max(1, len(names)))))

    def run(gamma: Gamma, normal: Normal) -> dict[str, Any]:
        return {k: _draw(fns[k], keys[k], (int(n),), gamma, normal) for k in names}

    concs: list[Any] = []
    shapes: list[tuple[int, ...]] = []

    def record_gamma(conc):  # first pass: note what is wanted, in call order
        concs.append(jnp.asarray(conc, jnp.float32))
        return jnp.ones_like(concs[-1])

    def record_normal(shape):
        shapes.append(tuple(shape))
        return jnp.zeros(shape, jnp.float32)

    run(record_gamma, record_normal)  # traced only: its values are never used (XLA drops them)
    gammas = normals = iter(())
    if concs:
        flat = jnp.concatenate([c.reshape(-1) for c in concs])
        gammas = _pieces(standard_gamma(jax.random.fold_in(key, 2), flat), concs)
    if shapes:
        total = sum(int(np.prod(s)) for s in shapes)
        z = jax.random.normal(jax.random.fold_in(key, 3), (total,))
        normals = _pieces(z, [jnp.zeros(s) for s in shapes])
    return run(lambda conc: next(gammas), lambda shape: next(normals))


def _pieces(flat, like: list[Any]):
    """``flat`` cut into consecutive pieces of the shapes of ``like``, in order."""
    start = 0
    for c in like:
        yield flat[start : start + c.size].reshape(c.shape)
        start += c.size


def _draw(fn, key, shape: tuple[int, ...], gamma: Gamma, normal: Normal):
    """Draws of ``fn`` with sample shape ``shape``: ``shape + fn.shape()``."""
    full = shape + tuple(fn.shape())
    base = fn
    while isinstance(base, dist.Independent | dist.ExpandedDistribution):
        base = base.base_dist  # neither changes how one element is drawn

    def param(p):  # a scalar-event family's parameter, broadcast to every drawn element
        return jnp.broadcast_to(jnp.asarray(p, jnp.float32), full)

    if type(base) is dist.Normal:
        return param(base.loc) + param(base.scale) * normal(full)
    if type(base) is dist.HalfNormal:
        return param(base.scale) * jnp.abs(normal(full))
    if type(base) is dist.LogNormal:
        return jnp.exp(param(base.loc) + param(base.scale) * normal(full))
    if type(base) is dist.Gamma:
        return gamma(param(base.concentration)) / param(base.rate)
    if type(base) is dist.Beta:
        a = gamma(param(base.concentration1))
        b = gamma(param(base.concentration0))
        return jnp.clip(a / (a + b), jnp.finfo(jnp.float32).tiny, 1 - jnp.finfo(jnp.float32).eps)
    if type(base) is dist.StudentT:
        g = gamma(param(base.df) / 2)
        z = normal(full)
        return param(base.loc) + param(base.scale) * z * jnp.sqrt(param(base.df) / (2 * g))
    if type(base) is dist.Dirichlet:
        g = gamma(jnp.broadcast_to(base.concentration, full))
        return g / g.sum(-1, keepdims=True)
    if isinstance(base, ShareSplit):  # the joint media-share prior
        k_total, k_split = jax.random.split(key)
        share = _draw(base.total, k_total, full[:-1], gamma, normal)
        g = gamma(jnp.broadcast_to(base.concentration, full))
        return (share * base.kpi_mean)[..., None] * g / g.sum(-1, keepdims=True)
    return fn.sample(key, shape)
