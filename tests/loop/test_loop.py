"""A short closed loop with the real MMM inside (SVI, few steps, refit every 4 periods)."""

import numpy as np
import pytest

from mediamix.loop import Environment, LoopEngine, RefitSettings, guard_rails, simulate, world
from mediamix.loop.policies import Greedy, Thompson
from mediamix.loop.refit import LoopModel

from .test_env import env_dict

SETTINGS = RefitSettings(method="svi", steps=400, warm_steps=60, draws=40)


@pytest.fixture(scope="module")
def env():
    return Environment.from_dict(
        env_dict(max_move=0.3, initial={"a": 900.0, "b": 100.0}, noise_sd=20.0)
    )


@pytest.fixture(scope="module")
def engine(env):
    return LoopEngine(env.names, env.initial, env.history, env.periods, SETTINGS,
                      max_lag=env.max_lag)  # fmt: skip


@pytest.fixture(scope="module")
def thompson_run(env, engine):
    return simulate(env, "thompson", seed=2, refit_every=4, engine=engine)


def test_thompson_keeps_its_guard_rails_every_period(env, thompson_run):
    r = thompson_run
    assert r.allocations.shape == (env.periods, 2)
    prev = env.initial
    for x in r.allocations:
        rails = guard_rails(prev, env.budget, max_move=env.max_move)
        assert rails.contains(x), (prev, x, rails)
        prev = x
    # refits on the cadence: the history fit, then after periods 4 (of 8)
    assert len(r.refit_seconds) == 2 and r.method == "svi" and r.refit_every == 4
    assert r.regret == pytest.approx(r.oracle_kpi - r.total_kpi)
    assert np.isfinite(r.regret_by_period).all()
    # the world answered each period with its expected KPI plus its own noise
    eps = world.noise(env, 2)[env.history :]
    hist = world.history_spend(env, 2)
    expected = world.expected_kpi(env, np.vstack([hist, r.allocations]))[env.history :]
    np.testing.assert_allclose(r.observed_kpi, expected + eps)


def test_thompson_explores_while_greedy_repeats_itself(env, engine):
    hist = world.history_spend(env, 5)
    kpi = world.expected_kpi(env, hist) + world.noise(env, 5)[: env.history]
    post = LoopModel(engine, hist, kpi, seed=5).refit()
    assert post.n_draws == SETTINGS.draws and len(post.responses) == 2
    # no maximum move: each draw's own optimum is inside the channel bounds
    rails = guard_rails(env.initial, env.budget, np.zeros(2), np.full(2, 900.0))
    rng = np.random.default_rng(0)
    ts = np.array([Thompson().decide(rails, post, rng) for _ in range(5)])
    assert all(rails.contains(x) for x in ts)
    assert np.ptp(ts[:, 0]) > 1e-3 * env.budget  # one posterior, different draws, other splits
    g1, g2 = (Greedy().decide(rails, post, rng) for _ in range(2))
    np.testing.assert_allclose(g1, g2)
    assert rails.contains(g1)
