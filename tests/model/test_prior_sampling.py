"""Many priors drawn at once: each family's draws follow its distribution (mean and variance
in closed form; the gamma sampler against scipy's distribution), and the program holds no
loop and one normal draw however many sites need gamma or normal variates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from scipy import stats

from mediamix.model.prior_sampling import sample_sites, standard_gamma
from mediamix.model.share_prior import ShareSplit


def _sites():
    return {
        "gamma": dist.Gamma(jnp.array([2.0, 5.0]), jnp.array([1.0, 4.0])).to_event(1),
        "beta": dist.Beta(2.0, 3.0).expand((3,)).to_event(1),
        "student": dist.StudentT(6.0, 1.0, 2.0),
        "dirichlet": dist.Dirichlet(jnp.array([1.0, 2.0, 3.0])),
        "normal": dist.Normal(jnp.array([0.0, 3.0]), 1.0),
        "half_normal": dist.HalfNormal(jnp.array([0.5, 2.0])).to_event(1),
        "lognormal": dist.LogNormal(0.2, 0.4).expand((2,)),
        "laplace": dist.Laplace(1.0, 0.5),
        "share": ShareSplit(dist.Beta(2.0, 8.0), jnp.array([1.0, 3.0]), 2.0),
    }


def test_each_family_follows_its_distribution():
    n = 20000
    draws = sample_sites(_sites(), n, jax.random.PRNGKey(0))
    for name, fn in _sites().items():
        x = np.asarray(draws[name])
        assert x.shape == (n, *fn.shape()), name
        assert np.isfinite(x).all(), name
        mean = np.asarray(fn.mean)
        se = np.sqrt(np.asarray(fn.variance) / n) if name != "share" else x.std(0) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * se, err_msg=name)
        if name != "share":
            np.testing.assert_allclose(x.var(0), np.asarray(fn.variance), rtol=0.1, err_msg=name)
    # the share prior: the total share ~ Beta(2, 8) and the split ~ Dirichlet(1, 3)
    share = np.asarray(draws["share"])
    total = share.sum(1) / 2.0
    np.testing.assert_allclose(total.mean(), 0.2, atol=0.005)
    np.testing.assert_allclose((share[:, 0] / share.sum(1)).mean(), 0.25, atol=0.005)


def test_no_loop_and_one_normal_draw_for_every_site():
    jaxpr = jax.make_jaxpr(lambda k: sample_sites(_sites(), 10, k))(jax.random.PRNGKey(0))
    text = str(jaxpr)
    assert "while" not in text and "random_gamma" not in text
    # one normal draw for the sites, one for the gamma sampler's proposals
    assert text.count("erf_inv") == 2, text.count("erf_inv")


def test_standard_gamma_matches_the_gamma_distribution():
    for a in (0.3, 0.9, 1.0, 2.5, 40.0):
        x = np.asarray(standard_gamma(jax.random.PRNGKey(1), jnp.full(100_000, a)))
        assert np.isfinite(x).all() and (x > 0).all(), a
        assert stats.kstest(x, stats.gamma(a).cdf).pvalue > 1e-3, a
        np.testing.assert_allclose(x.mean(), a, rtol=0.02)
        np.testing.assert_allclose(x.var(), a, rtol=0.05)
