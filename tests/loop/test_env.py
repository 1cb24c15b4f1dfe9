"""The loop's environment file: the contract, its errors with key paths, the true world."""

from pathlib import Path

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.loop import Environment, world

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "loop_starved.yaml"


def env_dict(**changes):
    d = {
        "periods": 8,
        "history": 30,
        "budget": 1000.0,
        "baseline": 500.0,
        "noise_sd": 10.0,
        "history_jitter": 0.2,
        "initial": {"a": 600.0, "b": 400.0},
        "channels": [
            {"name": "a", "response": {"type": "hill", "beta": 900, "k": 600, "s": 1.4},
             "adstock": {"type": "geometric", "lam": 0.5, "max_lag": 4}},
            {"name": "b", "response": {"type": "hill", "beta": 800, "k": 300, "s": 1.0},
             "adstock": {"type": "geometric", "lam": 0.2, "max_lag": 4}},
        ],
    }  # fmt: skip
    d.update(changes)
    return d


def test_the_example_world_reads_and_its_history_starves_the_best_channel():
    from mediamix.optimize import Channel, Problem, solve

    env = Environment.from_yaml(EXAMPLE)
    assert env.names == ["tv", "search", "social", "display"]
    assert (env.periods, env.history, env.budget, env.max_move) == (52, 52, 12000.0, 0.3)
    curves = [c.steady_curve() for c in env.channels]
    plan = solve(Problem(tuple(Channel(c) for c in curves), budget=env.budget))
    best = np.array([plan.allocation[n] for n in env.names])
    # the oracle's split moves display far above the 700 a week the history ran it at ...
    assert best[3] > 5 * env.initial[3] and best[3] == best.max()
    # ... and earns much more per period than the historical split, once the carry-over built up
    assert world.steady_kpi(env, best) - world.steady_kpi(env, env.initial) > 5000
    # at the history's spend display's next unit looks only modestly better than the others'
    marginal = [c.marginal(np.array([x]))[0, 0] for c, x in zip(curves, env.initial)]
    assert np.argmax(marginal) == 3 and marginal[3] < 2 * sorted(marginal)[-2]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"budget": "lots"}, "env.budget: expected a number, got 'lots'"),
        ({"periods": 0}, "env.periods:"),
        ({"period": 3}, "env: unknown key 'period'"),
        ({"initial": {"a": 600.0, "c": 1.0}}, "env.initial.c: not a channel"),
        ({"initial": {"a": 600.0}}, "env.initial.b: required key is missing"),
    ],
)
def test_top_level_mistakes_name_their_key_path(change, message):
    with pytest.raises(SpecError) as err:
        Environment.from_dict(env_dict(**change))
    assert message in str(err.value)


def test_channel_mistakes_name_their_key_path():
    d = env_dict()
    d["channels"][1]["response"]["beta"] = "lots"
    with pytest.raises(SpecError, match=r"env\.channels\[1\]\.response\.beta: expected a number, got 'lots'"):  # fmt: skip
        Environment.from_dict(d)
    d = env_dict()
    d["channels"][0]["response"]["type"] = "hil"
    with pytest.raises(SpecError, match=r"env\.channels\[0\]\.response\.type: .*hill"):
        Environment.from_dict(d)
    d = env_dict()
    d["channels"][0]["adstock"] = {"type": "geometric", "lam": 0.5, "max_lag": 4, "lag": 2}
    with pytest.raises(SpecError, match=r"env\.channels\[0\]\.adstock: unknown key 'lag'"):
        Environment.from_dict(d)
    d = env_dict()
    del d["channels"][0]["adstock"]["max_lag"]
    with pytest.raises(SpecError, match=r"env\.channels\[0\]\.adstock\.max_lag: required"):
        Environment.from_dict(d)
    d = env_dict()
    d["channels"][0]["name"] = "b"
    with pytest.raises(SpecError, match="repeated"):
        Environment.from_dict(d)


def test_a_steady_split_gives_the_steady_state_curve_once_the_carry_over_built_up():
    env = Environment.from_dict(env_dict())
    split = np.array([700.0, 300.0])
    path = np.tile(split, (20, 1))
    y = world.expected_kpi(env, path)
    # normalised adstock: the adstocked spend of a steady split is the split itself
    np.testing.assert_allclose(world.adstocked(env, path)[-1], split, rtol=1e-12)
    assert y[-1] == pytest.approx(world.steady_kpi(env, split), rel=1e-12)
    hill = lambda x, b, k, s: b * x**s / (x**s + k**s)  # noqa: E731
    assert y[-1] == pytest.approx(500 + hill(700, 900, 600, 1.4) + hill(300, 800, 300, 1.0))


def test_the_history_jitters_within_its_share_and_is_the_same_for_one_seed():
    env = Environment.from_dict(env_dict())
    h = world.history_spend(env, 3)
    assert h.shape == (30, 2)
    ratio = h / env.initial
    assert ratio.min() >= 0.8 and ratio.max() <= 1.2
    assert ratio.std() > 0.05
    np.testing.assert_array_equal(h, world.history_spend(env, 3))
    assert not np.array_equal(h, world.history_spend(env, 4))
