"""Campaign simulation: pacing keeps spend even, budgets hold, shading pays in first price."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.rtb.campaign import (
    CampaignSpec,
    Strategy,
    compare_strategies,
    simulate_campaign,
    simulate_requests,
)


@pytest.fixture(scope="module")
def day():
    spec = CampaignSpec(budget=200.0, mechanism="second")
    return spec, simulate_requests(spec, seed=0)


def test_unpaced_bidding_exhausts_the_budget_early(day):
    spec, stream = day
    res = simulate_campaign(spec, "truthful", seed=0, stream=stream)
    assert res.exhausted_at is not None and res.exhausted_at < 12.0
    assert res.max_pacing_error(spec.budget) > 0.3
    assert res.spend <= spec.budget + 1e-9


@pytest.mark.parametrize("mechanism", ["second", "first"])
@pytest.mark.parametrize(
    "strategy", ["truthful+multiplier", "truthful+throttle", "shaded+multiplier"]
)
def test_pacing_keeps_spend_within_tolerance_of_even(mechanism, strategy):
    spec = CampaignSpec(budget=200.0, mechanism=mechanism)
    res = simulate_campaign(spec, strategy, seed=0)
    even = spec.budget * res.curve_hours / 24.0
    np.testing.assert_allclose(res.target_spend, even)
    assert np.max(np.abs(res.curve_spend - even)) / spec.budget < 0.05, res.to_dict()
    assert 0.97 * spec.budget <= res.spend <= spec.budget + 1e-9
    assert res.exhausted_at is None or res.exhausted_at > 23.0


def test_pacing_to_the_traffic_curve(day):
    spec, stream = day
    res = simulate_campaign(spec, Strategy("truthful", "multiplier", target="traffic"), 0, stream)
    # the traffic target is the expected share of requests seen so far
    seen = np.searchsorted(stream.hours, res.curve_hours) / stream.hours.size
    np.testing.assert_allclose(res.target_spend / spec.budget, seen, atol=0.01)
    assert res.max_pacing_error(spec.budget) < 0.05


def test_first_price_shading_beats_truthful_bidding():
    spec = CampaignSpec(budget=1e9, mechanism="first", n_requests=50_000)
    truthful, shaded = compare_strategies(spec, ("truthful", "shaded"), seed=3)
    # bidding the value in a first-price auction leaves (in expectation) no surplus
    assert abs(truthful.value - truthful.spend) < 0.15 * truthful.spend
    assert shaded.value - shaded.spend > 0.3 * shaded.value
    assert shaded.value - shaded.spend > truthful.value - truthful.spend + 50
    assert shaded.cpc < truthful.cpc


def test_second_price_truthful_earns_at_least_as_much_as_shading():
    spec = CampaignSpec(budget=1e9, mechanism="second", n_requests=50_000)
    truthful, shaded = compare_strategies(spec, ("truthful", "shaded"), seed=4)
    assert truthful.value - truthful.spend >= shaded.value - shaded.spend
    assert truthful.impressions > shaded.impressions


def test_reports_and_determinism(day):
    spec, stream = day
    a = simulate_campaign(spec, "shaded+throttle", seed=0, stream=stream)
    b = simulate_campaign(spec, "shaded+throttle", seed=0, stream=stream)
    assert a.to_dict() == b.to_dict()
    d = a.to_dict()
    assert d["cpc"] == pytest.approx(d["spend"] / d["clicks"])
    assert d["win_rate"] == pytest.approx(d["impressions"] / d["requests"])
    assert np.all(np.diff(a.curve_spend) >= 0)


def test_floor_is_respected():
    spec = CampaignSpec(budget=1e9, mechanism="second", floor=0.05, n_requests=20_000)
    res = simulate_campaign(spec, "truthful", seed=1)
    assert res.spend >= 0.05 * res.impressions  # every won impression cost at least the floor
    stream = simulate_requests(spec, seed=1)
    assert res.bids == int((stream.pctr * spec.cpc >= 0.05).sum())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"budget": 0}, "budget"),
        ({"budget": 1, "mechanism": "dutch"}, "mechanism"),
        ({"budget": 1, "competitor": "nope"}, "unknown distribution"),
        ({"budget": 1, "diurnal": 1.5}, "diurnal"),
    ],
)
def test_spec_errors(kwargs, match):
    with pytest.raises(SpecError, match=match):
        CampaignSpec(**kwargs)


def test_strategy_errors():
    with pytest.raises(SpecError, match="base"):
        Strategy.parse("greedy")
    with pytest.raises(SpecError, match="pacing"):
        Strategy.parse("truthful+turbo")
    assert Strategy.parse("shaded+throttle").name == "shaded+throttle"
