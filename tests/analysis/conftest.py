import numpy as np
import pytest


@pytest.fixture(scope="session")
def sim_data():
    from mediamix.data.simulate import simulate, simulated_dataset

    frame, truth = simulate(n_periods=104, n_channels=3, seed=3)
    return simulated_dataset(frame, truth), truth


@pytest.fixture(scope="session")
def svi_fit(sim_data):
    from mediamix.model import MMM, ModelSpec

    ds, _ = sim_data
    return MMM(ModelSpec()).fit(ds, method="svi", steps=800, draws=200, seed=1, holdout=8,
                                warn=False)  # fmt: skip


@pytest.fixture
def rng():
    return np.random.default_rng(0)
