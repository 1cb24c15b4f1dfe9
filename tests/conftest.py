"""Test-wide settings: JAX sees 4 host devices so NUTS chains run in parallel."""

import os

import numpy as np
import pytest

import mediamix

os.environ.setdefault("JAX_PLATFORMS", "cpu")
mediamix.set_host_devices(4)  # before JAX starts; importing mediamix sets nothing itself

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


# Shared by tests/analysis and tests/inference: one simulated data set and one SVI fit per session.
@pytest.fixture(scope="session")
def sim_data():
    from mediamix.data.simulate import simulate, simulated_dataset

    frame, truth = simulate(n_periods=104, n_channels=3, seed=3)
    return simulated_dataset(frame, truth), truth


@pytest.fixture(scope="session")
def svi_fit(sim_data):
    from mediamix.estimator import MMM
    from mediamix.model import ModelSpec

    ds, _ = sim_data
    return MMM(ModelSpec()).fit(ds, method="svi", steps=800, draws=200, seed=1, holdout=8,
                                warn=False)  # fmt: skip


@pytest.fixture
def rng():
    return np.random.default_rng(0)
