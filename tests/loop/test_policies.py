"""Guard-rails and the model-free policies: exact regret, kept splits, bounds every period."""

import numpy as np
import pytest

from mediamix.errors import InfeasibleError, SpecError
from mediamix.loop import Environment, guard_rails, oracle_path, simulate
from mediamix.loop.policies import plan_split
from mediamix.loop.runner import true_curves

from .test_env import env_dict


@pytest.fixture(scope="module")
def env():
    return Environment.from_dict(env_dict(max_move=0.25, initial={"a": 900.0, "b": 100.0}))


@pytest.fixture(scope="module")
def oracle(env):
    return oracle_path(env)


def test_guard_rails_bound_each_channel_and_its_move():
    rails = guard_rails(np.array([600.0, 400.0]), 2000.0, np.array([0.0, 500.0]),
                        np.array([1000.0, np.inf]), 0.25)  # fmt: skip
    # the reference is the last split scaled to the budget: 1200 / 800
    np.testing.assert_allclose(rails.reference, [1200.0, 800.0])
    np.testing.assert_allclose(rails.lower, [900.0, 600.0])
    np.testing.assert_allclose(rails.upper, [1000.0, 1000.0])  # the channel bound wins
    # a channel at zero may still start: its move is 25% of 5% of the budget
    z = guard_rails(np.array([1.0, 0.0]), 1000.0, max_move=0.25)
    assert z.upper[1] == pytest.approx(0.25 * 0.05 * 1000.0)
    with pytest.raises(InfeasibleError, match="at least 1,500 in all, above the budget 1,000"):
        guard_rails(np.array([1.0, 1.0]), 1000.0, np.array([800.0, 700.0]))
    with pytest.raises(SpecError, match="max_move must be > 0"):
        guard_rails(np.array([1.0, 1.0]), 1000.0, max_move=0.0)


def test_a_plan_keeps_its_guard_rails_and_beats_every_split_within_them(env):
    rails = guard_rails(env.initial, env.budget, max_move=0.1)
    x, kpi = plan_split(true_curves(env), rails)
    assert rails.contains(x)
    assert x.sum() == pytest.approx(env.budget, rel=1e-6)
    # every split within the rails on a fine grid does no better than the plan
    b = np.linspace(max(rails.lower[1], env.budget - rails.upper[0]),
                    min(rails.upper[1], env.budget - rails.lower[0]), 401)  # fmt: skip
    grid = np.stack([env.budget - b, b], axis=1)
    curves = true_curves(env)
    values = sum(c(grid[:, i])[0] for i, c in enumerate(curves))
    assert kpi >= values.max() - 1e-6 * abs(values.max())
    assert kpi == pytest.approx(sum(c(np.array([x[i]]))[0, 0] for i, c in enumerate(curves)))


def test_the_oracle_has_zero_regret_and_the_fixed_split_keeps_the_history(env, oracle):
    # the loop's own oracle decisions (rails from its last split) against the separate path
    r = simulate(env, "oracle", seed=1, oracle=oracle)
    assert r.regret == 0.0
    assert np.all(r.regret_by_period == 0.0)
    assert r.total_kpi == r.oracle_kpi
    f = simulate(env, "fixed", seed=1, oracle=oracle)
    np.testing.assert_allclose(f.allocations, np.tile(env.initial, (env.periods, 1)))
    # the historical split starves b: the oracle plan earns more every period
    assert np.all(f.regret_by_period > 0)
    d = f.to_dict()
    assert set(d) >= {"policy", "seed", "total_kpi", "oracle_kpi", "regret",
                      "regret_by_period", "allocations"}  # fmt: skip
    assert d["regret"] == pytest.approx(d["oracle_kpi"] - d["total_kpi"])
    assert len(d["allocations"]) == env.periods and set(d["allocations"][0]) == {"a", "b"}


def test_the_oracle_path_moves_within_the_maximum_move(env, oracle):
    path = np.vstack([env.initial, oracle])
    for prev, x in zip(path[:-1], path[1:]):
        rails = guard_rails(prev, env.budget, max_move=0.25)
        assert rails.contains(x)
    with pytest.raises(SpecError, match="policy must be one of"):
        simulate(env, "gredy", seed=1)
