"""One kernel and one compiled program per model structure: refits reuse them, give the same
draws as the first fit, and keep no earlier fit's data alive (memory flat across fits)."""

import gc

import jax
import numpy as np

from mediamix.estimator import GeoMMM
from mediamix.inference.nuts import NUTS, _program
from mediamix.model import geo as gm
from mediamix.model.geo_data import GeoData

SPEC = {"adstock": "none", "saturation": "michaelis_menten", "trend": "none",
        "seasonality_order": 0}  # fmt: skip


def _data(seed: int) -> GeoData:
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 1.0, (2, 40, 1))
    kpi = 10.0 + 2.0 * spend[..., 0] / (1.0 + spend[..., 0]) + rng.normal(0, 0.2, (2, 40))
    return GeoData.from_arrays(kpi, spend, channel_names=["tv"])


def _run(seed: int, warmup: int = 15):
    _, _, st, design, _ = GeoMMM(SPEC).prepare(_data(seed))
    return NUTS(chains=1, draws=10, warmup=warmup).run(gm.model, design, st, seed=0)


def test_refits_reuse_the_program_and_give_the_same_draws():
    first = _run(1)
    before = _program.cache_info()
    other = _run(2)  # other numbers, the same structure: no new kernel
    again = _run(1)
    after = _program.cache_info()
    assert after.hits == before.hits + 2 and after.currsize == before.currsize
    for k, v in first.samples.items():
        np.testing.assert_array_equal(again.samples[k], v)
    assert not np.allclose(other.samples["effect"], first.samples["effect"])
    # the warmup length fixes the adaptation schedule: another warmup is another program
    _run(1, warmup=20)
    assert _program.cache_info().misses == after.misses + 1


def test_no_earlier_fit_stays_alive():
    _run(3)
    gc.collect()
    live = {id(a) for a in jax.live_arrays()}
    for seed in (4, 5, 6):
        _run(seed)
    gc.collect()
    assert len(jax.live_arrays()) <= len(live)
