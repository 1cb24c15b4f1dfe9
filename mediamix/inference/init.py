"""Where every sampler and optimiser starts: `init_to_prior_centre`, a NumPyro init strategy.

NumPyro's ``init_to_median(num_samples=15)`` draws each prior 15 times and starts at the
median of the draws. For a prior drawn through gamma variates (Gamma, Beta, Dirichlet,
Student-t, a joint share prior, ...) that compiles a rejection sampler for every prior shape,
seconds each: much of a cold fit's initialisation. Such a site starts instead at its prior's
centre, computed rather than drawn (the ``.mean``; the location of a Student-t, whose mean
may not exist), moved by a uniform jitter of +-``radius`` in the unconstrained space drawn
with the site's own random key, so that parallel chains start apart (R-hat keeps its power to
see chains that disagree) and only uniform numbers are drawn. Every other site (normal,
half-normal, lognormal priors: cheap to draw) and a site whose centre is unknown or not
finite (no ``.mean``, a heavy tail) starts where ``init_to_median(num_samples=15)`` puts it,
from the same key; so a model without gamma-drawn priors starts exactly as before. Whether a
prior is drawn through gamma variates is read off its sampler's program (traced, never
compiled), so any NumPyro model and distribution works. NUTS, SVI, MAP, the batched samplers
and the loop's refits all start here.
"""

from __future__ import annotations

from functools import partial

RADIUS = 0.5  # the jitter of a centred site, +- in unconstrained space
MEDIAN_DRAWS = 15  # the draws of init_to_median for every other site


def init_to_prior_centre(site=None, radius: float = RADIUS):
    """NumPyro init strategy (``init_strategy=`` / ``init_loc_fn=``): a gamma-drawn prior's
    centre jittered by +-``radius`` in unconstrained space (``radius=0``: the centre itself),
    ``init_to_median(num_samples=15)`` for every other site (module docstring)."""
    if site is None:
        return partial(init_to_prior_centre, radius=radius)
    from numpyro.infer.initialization import init_to_median

    if (
        site["type"] != "sample"
        or site["is_observed"]
        or site["fn"].support.is_discrete
        or site["value"] is not None
        or not draws_gamma(site["fn"])
    ):
        return init_to_median(site, num_samples=MEDIAN_DRAWS)
    centre = prior_centre(site["fn"])
    if centre is None:
        return init_to_median(site, num_samples=MEDIAN_DRAWS)
    import jax
    import jax.numpy as jnp
    from numpyro.distributions.transforms import biject_to

    sample_shape = tuple(site["kwargs"].get("sample_shape") or ())
    centre = jnp.broadcast_to(centre, sample_shape + jnp.shape(centre))
    key = site["kwargs"].get("rng_key")
    if not radius or key is None:
        return centre
    t = biject_to(site["fn"].support)
    u = t.inv(centre)
    return t(u + jax.random.uniform(key, jnp.shape(u), minval=-radius, maxval=radius))


def prior_centre(fn):
    """The centre of distribution ``fn``, shape ``fn.shape()``: its ``.mean``, the location of a
    Student-t; None when there is none or it is not finite."""
    import jax.numpy as jnp
    import numpyro.distributions as dist

    base = fn
    while isinstance(base, dist.Independent | dist.ExpandedDistribution | dist.MaskedDistribution):
        base = base.base_dist
    try:
        if isinstance(base, dist.StudentT):
            centre = jnp.broadcast_to(base.loc, base.batch_shape)
        else:
            centre = 1.0 * base.mean
        centre = jnp.broadcast_to(centre, fn.shape())
    except (NotImplementedError, AttributeError, ValueError, TypeError):
        return None
    try:
        finite = bool(jnp.isfinite(centre).all())
    except Exception:  # a traced value (the strategy run under jit): trust the closed form
        return centre
    if not finite or not bool(fn.support(centre).all()):
        return None
    return centre


def draws_gamma(fn) -> bool:
    """Whether drawing from ``fn`` needs gamma variates (a rejection sampler that compiles for
    every shape): read off the jaxpr of one draw, which is traced, not compiled (and
    remembered per kind of distribution: its pytree structure and its parameters' shapes)."""
    import jax

    try:
        leaves, treedef = jax.tree.flatten(fn)
        kind = (treedef, tuple((jax.numpy.shape(x), jax.numpy.result_type(x)) for x in leaves))
        hash(kind)
    except Exception:  # not a pytree of arrays: trace it every time
        kind = None
    if kind is not None and kind in _DRAWS_GAMMA:
        return _DRAWS_GAMMA[kind]
    try:
        jaxpr = jax.make_jaxpr(lambda key: fn.sample(key))(jax.random.PRNGKey(0))
        found = _uses(jaxpr.jaxpr, "random_gamma")
    except Exception:  # a distribution that cannot be drawn: init_to_median decides
        found = False
    if kind is not None:
        _DRAWS_GAMMA[kind] = found
    return found


_DRAWS_GAMMA: dict = {}


def _uses(jaxpr, primitive: str) -> bool:
    """Whether ``jaxpr`` or a program nested in it (jit, while, cond, custom rules) calls
    ``primitive``."""
    import jax

    for eqn in jaxpr.eqns:
        if eqn.primitive.name.startswith(primitive):
            return True
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if isinstance(inner, jax.extend.core.Jaxpr) and _uses(inner, primitive):
                    return True
    return False


def start_values(model, key, args: tuple, strategy=None) -> dict:
    """Where ``strategy`` (default `init_to_prior_centre`) starts every latent site of
    ``model(*args)``: ``{site: (value, support)}``, the value in the constrained space and
    the support of the site's distribution. Traceable: one trace of the
    model, no potential, no gradient, no search for a valid start (NumPyro's
    ``find_valid_initial_params``, which the guides run when they set themselves up, compiles
    the potential and its gradient twice; an optimiser given these values as its
    ``init_params`` leaves that search out of its program)."""
    from numpyro import handlers

    fn = strategy or init_to_prior_centre()
    tr = handlers.trace(handlers.substitute(handlers.seed(model, key), substitute_fn=fn))
    sites = tr.get_trace(*args)
    return {k: (s["value"], s["fn"].support) for k, s in sites.items()
            if s["type"] == "sample" and not s["is_observed"]}  # fmt: skip
