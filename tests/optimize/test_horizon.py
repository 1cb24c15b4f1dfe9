"""Forward plans: exact optima on small instances, each pacing rule binding, the discount and
carry-out switches moving the optimum the right way, validation naming the key path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.optimize import Channel, Problem, Response
from mediamix.optimize.horizon import solve_horizon
from mediamix.optimize.solver import make_evaluator


def tv():
    return Response("tv", "exponential", {"beta": 100.0, "k": 0.02})


def search():
    return Response("search", "michaelis_menten", {"beta": 60.0, "k": 30.0})


KERNELS = {"tv": [0.5, 0.3, 0.2], "search": [0.8, 0.2, 0.0]}
HISTORY = {"tv": [40.0, 40.0, 40.0], "search": [20.0, 20.0, 20.0]}


def two_channels(T: int, budget: float, **kw) -> Problem:
    opts = {"history": HISTORY, "lag_weights": KERNELS, **kw}
    return Problem(channels=(Channel(tv()), Channel(search())), budget=budget, periods=T, **opts)


def test_discount_closed_form():
    """One channel, no carry-over, two periods: ``beta k e^{-k x0} = beta k e^{-k x1} / (1+r)``
    with ``x0 + x1 = B`` gives ``x0 - x1 = ln(1 + r) / k``; without a discount the split is even."""
    r, k, B = 0.1, 0.05, 60.0
    resp = Response("tv", "exponential", {"beta": 100.0, "k": k})
    for rate, diff in ((r, math.log(1 + r) / k), (0.0, 0.0)):
        p = Problem(channels=(Channel(resp),), budget=B, periods=2, lag_weights={"tv": [1.0]},
                    discount=rate)  # fmt: skip
        hp = solve_horizon(p)
        x0, x1 = hp.spend[:, 0]
        assert hp.gap <= 1e-4
        assert x0 + x1 == pytest.approx(B, rel=1e-6)
        assert x0 - x1 == pytest.approx(diff, abs=1e-3 * B)


def _objective_by_hand(x: np.ndarray, discount: float, carry_out: bool) -> np.ndarray:
    """The discounted KPI of spend ``x`` (..., T, 2), computed directly from the kernels."""
    x = np.asarray(x, dtype=float)
    T = x.shape[-2]
    out = np.zeros(x.shape[:-2])
    curves = {"tv": lambda a: 100.0 * (1 - np.exp(-0.02 * a)),
              "search": lambda a: 60.0 * a / (30.0 + a)}  # fmt: skip
    for i, name in enumerate(("tv", "search")):
        w = np.array(KERNELS[name]) / np.sum(KERNELS[name])
        L = len(w)
        lead = np.broadcast_to(np.array(HISTORY[name]), x.shape[:-2] + (L,))
        spend = np.concatenate([lead, x[..., i], np.zeros(x.shape[:-2] + (L - 1,))], axis=-1)
        P = T + (L - 1 if carry_out else 0)
        for p in range(P):
            t = L + p
            a = sum(w[lag] * spend[..., t - lag] for lag in range(L))
            out = out + curves[name](a) / (1 + discount) ** p
    return out


def test_exact_optimum_against_brute_force():
    """Two channels, two periods, carry-in, discount: the certified plan scores at least the
    best point of a fine grid over every split of the budget (the grid's best is within its
    resolution of the plan) and its objective is the direct formula's."""
    B, r = 200.0, 0.05
    hp = solve_horizon(two_channels(2, B, discount=r))
    assert hp.plan.status == "optimal" and hp.gap <= 1e-4
    assert hp.objective_value == pytest.approx(
        float(_objective_by_hand(hp.spend, r, True)), rel=1e-9
    )
    g = np.linspace(0, B, 121)
    a, b, c = np.meshgrid(g, g, g, indexing="ij")
    d = B - a - b - c
    ok = d >= 0
    x = np.stack([np.stack([a[ok], b[ok]], -1), np.stack([c[ok], d[ok]], -1)], axis=-2)
    best = float(_objective_by_hand(x, r, True).max())
    assert hp.objective_value >= best - 1e-9
    assert hp.objective_value <= best * (1 + 1e-3)


def test_max_change_binds():
    """History ends at 40 on tv and a large budget: week 0 may rise 20% at most, every week
    after by 20% of the one before, and the rule binds."""
    hp = solve_horizon(two_channels(4, 1200.0, max_change=0.2))
    x = hp.spend
    assert hp.gap <= 1e-4
    assert x[0, 0] <= 1.2 * 40.0 + 1e-6
    ratio = x[1:] / x[:-1]
    assert np.all(ratio <= 1.2 + 1e-6) and np.all(ratio >= 0.8 - 1e-6)
    assert np.isclose(ratio, 1.2, atol=1e-4).any()  # binding
    free = solve_horizon(two_channels(4, 1200.0))
    assert free.objective_value > hp.objective_value  # the rule costs something here


def test_dark_weeks_exactly_zero():
    hp = solve_horizon(two_channels(6, 400.0, dark={"tv": [1, 2]}))
    assert hp.gap <= 1e-4
    assert hp.spend[1, 0] == 0.0 and hp.spend[2, 0] == 0.0
    assert hp.spend[0, 0] > 1.0 and hp.spend[3, 0] > 1.0
    assert hp.spend.sum() == pytest.approx(400.0, rel=1e-6)


def test_min_flight_binds():
    """tv is dark in weeks 1 and 3: without a flight rule week 2 runs alone; with a minimum
    flight of 2 weeks it must stay off, and the plan is the one with weeks 1-3 dark (the best
    of the enumerated on/off patterns of week 2), certified."""
    base = dict(dark={"tv": [1, 3]})
    free = solve_horizon(two_channels(5, 300.0, **base))
    assert free.spend[2, 0] > 1.0
    hp = solve_horizon(two_channels(5, 300.0, min_flight=2, min_flight_spend=1.0, **base))
    assert hp.gap <= 1e-4
    assert hp.spend[2, 0] == 0.0
    problem = two_channels(5, 300.0, min_flight=2, min_flight_spend=1.0, **base)
    assert problem.flight_ok(hp.spend)
    ref = solve_horizon(two_channels(5, 300.0, dark={"tv": [1, 2, 3]}))
    assert hp.objective_value >= ref.objective_value * (1 - 1e-4)
    assert hp.objective_value <= free.objective_value


def test_discount_and_carry_out_move_the_optimum():
    """A discount moves spend earlier; without the carry-out the last week is worth less, so
    it gets less."""
    plain = solve_horizon(two_channels(6, 400.0))
    disc = solve_horizon(two_channels(6, 400.0, discount=0.05))
    assert disc.spend[:2].sum() > plain.spend[:2].sum()
    assert disc.spend[-2:].sum() < plain.spend[-2:].sum()
    no_out = solve_horizon(two_channels(6, 400.0, carry_out=False))
    assert no_out.spend[-1].sum() < plain.spend[-1].sum()
    ev = make_evaluator(two_channels(6, 400.0, carry_out=False))
    assert ev.P == 6 and make_evaluator(two_channels(6, 400.0)).P == 8
    assert no_out.objective_value < plain.objective_value


def test_plan_beats_the_best_constant_split():
    hp = solve_horizon(two_channels(6, 400.0))
    assert hp.constant["margin"] >= -1e-9 * abs(hp.objective_value)
    assert sum(hp.constant["allocation"].values()) * 6 == pytest.approx(400.0, rel=1e-6)


def _doc(**extra):
    return {
        "budget": 100,
        "periods": 3,
        "channels": [{"name": "tv", "response": {"type": "exponential", "beta": 10, "k": 0.1},
                      "carryover": 0.5}],
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"caps": {"tv": [10, 10]}}, "problem.caps.tv"),
        ({"caps": {"tv": [10, "lots", 10]}}, "problem.caps.tv[1]"),
        ({"caps": {"radio": [1, 1, 1]}}, "problem.caps.radio"),
        ({"dark": {"tv": [5]}}, "problem.dark.tv[0]"),
        ({"max_change": "x"}, "problem.max_change"),
        ({"max_change": -0.1}, "problem.max_change"),
        ({"discount": 1.5}, "problem.discount"),
        ({"min_flight": 0}, "problem.min_flight"),
        ({"carry_out": "maybe"}, "problem.carry_out"),
    ],
)
def test_validation_names_the_key_path(extra, path):
    with pytest.raises(SpecError) as err:
        Problem.from_dict(_doc(**extra))
    assert str(err.value).startswith(path)


def test_yaml_fields_reach_the_problem():
    p = Problem.from_dict(_doc(caps={"tv": [5, None, 5]}, dark={"tv": [1]}, max_change=0.5,
                               discount=0.01, carry_out=False))  # fmt: skip
    up = p.upper_tn()[:, 0]
    assert list(up) == [5.0, 0.0, 5.0]
    hp = solve_horizon(p)
    assert hp.spend[1, 0] == 0.0 and np.all(hp.spend[:, 0] <= 5 + 1e-9)
