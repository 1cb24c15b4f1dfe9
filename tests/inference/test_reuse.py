"""Fits of one model structure share their compiled programs: a second data set (its priors
scaled to its own data) compiles no sampler program, and gets the draws a fresh program
gives it."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix.estimator import MMM
from mediamix.inference import nuts as nuts_module
from mediamix.inference import svi as svi_module
from mediamix.inference.nuts import NUTS
from mediamix.inference.svi import SVI
from mediamix.model.numpyro_model import model
from mediamix.model.reuse import prior_arrays, structure_key
from tests.compiles import COMPILED
from tests.compiles import listen as _listen


@pytest.fixture(scope="module")
def two_markets():
    from mediamix.data.simulate import simulate, simulated_dataset

    out = []
    for seed in (11, 12):
        ds = simulated_dataset(*simulate(n_periods=60, n_channels=2, seed=seed, n_controls=0))
        _, _, structure, design, _ = MMM().prepare(ds)
        out.append((structure, design))
    (s1, d1), (s2, d2) = out
    assert structure_key(s1, d1) == structure_key(s2, d2)
    p1, p2 = prior_arrays(s1.priors)["effect"], prior_arrays(s2.priors)["effect"]
    assert not np.array_equal(p1["concentration"], p2["concentration"])  # own priors
    return out


def _sampled(sampler, structure, design, seed=4):
    COMPILED.clear()
    res = sampler.run(model, design, structure, seed=seed)
    return res, list(COMPILED)


@pytest.mark.parametrize("sampler", [NUTS(chains=2, draws=30, warmup=30),
                                     SVI(steps=60, draws=20)], ids=["nuts", "svi"])  # fmt: skip
def test_a_second_market_compiles_nothing_and_gets_its_own_answer(two_markets, sampler):
    _listen()
    (s1, d1), (s2, d2) = two_markets
    _sampled(sampler, s1, d1)
    shared, compiled = _sampled(sampler, s2, d2)
    assert compiled == [], f"the second fit of the structure compiled {compiled}"
    nuts_module._program.cache_clear()
    svi_module._engine.cache_clear()
    fresh, compiled = _sampled(sampler, s2, d2)
    assert compiled, "a fresh program compiles"
    assert set(shared.samples) == set(fresh.samples)
    for site, v in fresh.samples.items():
        np.testing.assert_allclose(shared.samples[site], v, rtol=1e-5, atol=1e-6, err_msg=site)
