"""The prior check's draws: one compiled program whose draws follow each site's prior (the
closed-form means, the joint media-share prior's included), no sampler compiled per shape."""

from __future__ import annotations

import numpy as np

from tests.compiles import COMPILED
from tests.compiles import listen as _listen


def test_prior_draws_follow_the_priors_in_one_program():
    import jax
    from numpyro import handlers

    from mediamix.analysis.prior_check import prior_draws
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM
    from mediamix.model.numpyro_model import model

    frame, truth = simulate(n_periods=60, n_channels=2, seed=5, n_controls=0)
    _, _, structure, design, _ = MMM().prepare(simulated_dataset(frame, truth), 0, None)
    _listen()
    COMPILED.clear()
    n = 4000
    draws = prior_draws(structure, design, n, jax.random.PRNGKey(2))
    assert not [f for f in COMPILED if "gamma" in f or "dirichlet" in f], COMPILED
    trace = handlers.trace(handlers.seed(model, 0)).get_trace(design, structure)
    latent = {
        k: v["fn"] for k, v in trace.items() if v["type"] == "sample" and not v["is_observed"]
    }
    assert {"hill_k", "geometric_lam", "effect"} <= set(latent) <= set(draws)
    for site, fn in latent.items():
        x = np.asarray(draws[site])
        assert x.shape == (n, *fn.shape()), site
        se = x.std(0) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(x.mean(0) - np.asarray(fn.mean)), 5 * se + 1e-9)
    assert np.asarray(draws["beta"]).shape == (n, 2) and np.asarray(draws["intercept"]).shape == (
        n,
    )
    assert np.isfinite(np.asarray(draws["beta"])).all()
