"""Where the samplers start (`init_to_prior_centre`): gamma-drawn priors at their closed-form
centre plus a small jitter (no gamma sampler compiled), every other prior exactly where
``init_to_median(num_samples=15)`` puts it."""

from __future__ import annotations

import numpy as np

from mediamix.inference.init import RADIUS, draws_gamma, init_to_prior_centre, prior_centre
from tests.compiles import COMPILED
from tests.compiles import listen as _listen


def _init(model, strategy, seed: int) -> dict[str, np.ndarray]:
    """The initial value of every latent site, as NumPyro's initialisation draws it."""
    import jax
    from numpyro import handlers

    m = handlers.substitute(handlers.seed(model, jax.random.PRNGKey(seed)), substitute_fn=strategy)
    trace = handlers.trace(m).get_trace()
    return {k: np.asarray(v["value"]) for k, v in trace.items()
            if v["type"] == "sample" and not v["is_observed"]}  # fmt: skip


def cheap_priors():
    import numpyro
    import numpyro.distributions as dist

    numpyro.sample("a", dist.Normal(1.0, 2.0))
    numpyro.sample("b", dist.HalfNormal(3.0).expand((4,)).to_event(1))
    numpyro.sample("c", dist.LogNormal(0.0, 0.5).expand((2,)))
    numpyro.sample("d", dist.HalfCauchy(1.0))


# concentrations of shape (5,) and (6,): shapes no other test draws, so a compile would show
ALPHA = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)


def gamma_priors():
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    from mediamix.model.share_prior import ShareSplit

    numpyro.sample("g", dist.Gamma(jnp.asarray(ALPHA), 2.0).to_event(1))
    numpyro.sample("be", dist.Beta(2.0, 6.0).expand((6,)).to_event(1))
    numpyro.sample("di", dist.Dirichlet(jnp.asarray(ALPHA)))
    numpyro.sample("t", dist.StudentT(1.0, 3.0, 2.0))  # df 1: no mean; the location is the centre
    numpyro.sample("share", ShareSplit(dist.Gamma(2.5, 8.0), jnp.asarray(ALPHA), 4.0))


CENTRES = {"g": ALPHA / 2.0, "be": np.full(6, 0.25), "di": ALPHA / ALPHA.sum(), "t": 3.0,
           "share": 4.0 * (2.5 / 8.0) * ALPHA / ALPHA.sum()}  # fmt: skip


def test_cheap_priors_start_exactly_where_init_to_median_puts_them():
    from numpyro.infer.initialization import init_to_median

    got = _init(cheap_priors, init_to_prior_centre(), 3)
    want = _init(cheap_priors, init_to_median(num_samples=15), 3)
    assert set(got) == set(want) == set("abcd")
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_gamma_drawn_priors_start_at_their_centre_within_the_jitter():
    import numpyro.distributions as dist
    from numpyro.distributions.transforms import biject_to

    _listen()
    COMPILED.clear()
    exact = _init(gamma_priors, init_to_prior_centre(radius=0), 0)
    for k, centre in CENTRES.items():
        np.testing.assert_allclose(exact[k], centre, rtol=1e-6, err_msg=k)
    starts = [_init(gamma_priors, init_to_prior_centre(), seed) for seed in (0, 1)]
    assert not [f for f in COMPILED if "gamma" in f or "dirichlet" in f or "beta" in f], COMPILED
    supports = {"g": dist.constraints.positive, "be": dist.constraints.unit_interval,
                "di": dist.constraints.simplex, "t": dist.constraints.real,
                "share": dist.constraints.positive}  # fmt: skip
    for k, support in supports.items():
        t = biject_to(support)
        moved = [np.asarray(t.inv(s[k]) - t.inv(CENTRES[k])) for s in starts]
        assert all(np.abs(m).max() <= RADIUS + 1e-5 for m in moved), k
        assert np.abs(moved[0] - moved[1]).max() > 1e-3, f"{k}: two chains start at one point"
    assert not draws_gamma(dist.Normal(0.0, 1.0)) and draws_gamma(dist.Beta(2.0, 3.0))
    # no finite centre (a gamma-drawn prior without a mean): init_to_median's draws decide
    assert prior_centre(dist.InverseGamma(0.5, 1.0)) is None
    assert prior_centre(dist.HalfCauchy(1.0)) is None
