"""Small fits for the validation tests: 96 weeks x 3 channels with known truth, equal mean
spend per channel, and one channel ('steady') whose spend barely varies, so its ROAS is the
least identified."""

import numpy as np
import pytest

T = 96
CHANNELS = ("bursty", "flighted", "steady")
TRUE_ROAS = {"bursty": 2.0, "flighted": 1.5, "steady": 1.0}
WARMUP = 7  # weekly data: the first max_lag - 1 = 7 periods only condition the adstock


def make_data(seed: int = 7, n: int = T):
    """Weekly KPI = 1000 + seasonality + sum_c roas_c * adstock(spend_c) + noise; every
    channel's spend averages 100 per week."""
    from mediamix.model.data import ModelData

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    bursty = rng.lognormal(0.0, 0.6, n)
    flighted = np.where((t // 6) % 2 == 0, 1.8, 0.2) * rng.uniform(0.8, 1.2, n)
    steady = 1 + 0.03 * rng.standard_normal(n)
    spend = np.column_stack([bursty, flighted, steady])
    spend = 100 * spend / spend[WARMUP:].mean(0)  # the mean over the likelihood window
    ad = np.zeros_like(spend)
    for i in range(n):  # geometric carry-over, 0.4 per week, normalised
        ad[i] = spend[i] + (0.4 * ad[i - 1] if i else 0.0)
    ad *= 0.6
    roas = np.array([TRUE_ROAS[c] for c in CHANNELS])
    y = 1000 + 40 * np.sin(2 * np.pi * t / 52) + ad @ roas + rng.normal(0, 20, n)
    return ModelData.from_arrays(y, spend, channel_names=CHANNELS)


@pytest.fixture(scope="session")
def small_data():
    return make_data()


@pytest.fixture(scope="session")
def small_fit(small_data):
    """A short SVI fit with enough draws for the designer's reweighting."""
    from mediamix.estimator import MMM
    from mediamix.model import ModelSpec

    return MMM(ModelSpec()).fit(small_data, "svi", steps=1000, draws=1000, seed=0, warn=False)


@pytest.fixture(scope="session")
def small_run(small_fit, tmp_path_factory):
    from mediamix.runs import RunDir

    path = tmp_path_factory.mktemp("validation") / "run"
    RunDir(path).write(small_fit)
    return path
