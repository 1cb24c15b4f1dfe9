"""Pacing targets and bid caps from a plan file; traffic profiles; the pacing controllers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.rtb.pacing import (
    DEFAULT_HOURLY,
    DayPacing,
    DualPacer,
    PIPacer,
    TrafficProfile,
    daily_budgets,
    hourly_targets,
)
from mediamix.rtb.plan_targets import plan_targets, read_plan_targets

PLAN = {  # the keys Plan.to_dict() writes that the bidder reads, plus one it ignores
    "status": "optimal",
    "allocation": {"search": 2800.0, "social": 1700.0, "tv": 2500.0},
    "marginal_return": {"search": 0.79, "social": 0.79, "tv": 0.66},
    "threshold": {"value": 0.79, "source": "the total budget's shadow price"},
    "periods": 1,
    "channels": [],
}


@pytest.fixture(scope="module")
def solved_plan(tmp_path_factory):
    """A plan the optimizer solved, written with Plan.to_json (as `mediamix optimize` does)."""
    from mediamix.optimize import Problem, solve

    problem = Problem.from_dict(
        {
            "objective": "kpi",
            "budget": 70,
            "channels": [
                {"name": "search", "response": {"type": "michaelis_menten", "beta": 90, "k": 30}},
                {"name": "social", "response": {"type": "log1p", "a": 25, "scale": 15}},
                {
                    "name": "tv",
                    "response": {"type": "michaelis_menten", "beta": 80, "k": 60},
                    "bounds": [25, None],
                },
            ],
        }
    )
    plan = solve(problem)
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    path.write_text(plan.to_json())
    return plan, path


def test_targets_from_a_solved_plan_file_split_the_week_and_cap_at_the_shadow_price(solved_plan):
    plan, path = solved_plan
    t = read_plan_targets(path, channel="search")
    assert t.budget_per_period == pytest.approx(plan.allocation["search"])
    assert t.marginal_roas == pytest.approx(plan.marginal_return["search"])
    assert t.shadow_price == pytest.approx(plan.threshold["value"]) and t.hurdle == t.shadow_price
    # seven days of a weekly plan add up to the period's budget; weekdays follow the profile
    assert t.daily.sum() == pytest.approx(plan.allocation["search"], rel=1e-12)
    assert t.daily_budget(1) > t.daily_budget(5)  # Tuesday busier than Saturday by default
    assert t.hourly(2).sum() == pytest.approx(t.daily_budget(2), rel=1e-12)
    # break-even bid: value / hurdle, so the return per unit of spend is exactly the hurdle
    assert t.bid_cap(20.0) * t.hurdle == pytest.approx(20.0)
    # tv is held at its lower bound: its own marginal ROAS is below the shadow price
    tv = read_plan_targets(path.parent, channel="tv")  # a run folder with plan.json works too
    assert tv.marginal_roas < tv.hurdle == pytest.approx(plan.threshold["value"])


def test_hurdle_is_the_break_even_when_it_is_higher_and_the_margin_without_a_binding_budget():
    t = plan_targets(PLAN, channel="social", min_roas=1.0)
    assert t.hurdle == 1.0 and "break-even" in t.hurdle_source
    free = plan_targets({**PLAN, "threshold": None}, channel="tv")
    assert free.shadow_price is None and free.hurdle == pytest.approx(0.66)
    assert "marginal ROAS" in free.hurdle_source
    daily = plan_targets(PLAN, channel="tv", period_days=1, profile=TrafficProfile.flat())
    assert daily.daily_budget(6) == pytest.approx(2500.0)


@pytest.mark.parametrize(
    ("plan", "channel", "kw", "match"),
    [
        ({"allocation": {"a": 1.0}}, None, {}, r"plan\.marginal_return: required key.*mediamix optimize"),
        ({**PLAN, "allocation": {"search": "lots"}}, "search", {}, r"plan\.allocation\.search: expected a number, got 'lots'"),
        (PLAN, "serch", {}, r"plan\.allocation: no channel 'serch'.*Did you mean 'search'"),
        (PLAN, None, {}, r"3 channels \(search, social, tv\); choose .* --channel"),
        ({**PLAN, "allocation": {"tv": -5.0}}, "tv", {}, r"plan\.allocation\.tv: .*>= 0, got -5"),
        ({**PLAN, "marginal_return": {"search": 1.0}}, "tv", {}, r"plan\.marginal_return\.tv: required key is missing"),
        ({**PLAN, "threshold": {"value": "x"}}, "tv", {}, r"plan\.threshold\.value: expected a number"),
        ({**PLAN, "threshold": {"value": 0.0}}, "tv", {}, r"hurdle for 'tv' is 0.*--min-roas"),
        (PLAN, "tv", {"period_days": 0}, r"period_days must be > 0 .*7 for weekly"),
        ([1, 2], None, {}, r"plan: a plan must be a JSON object"),
    ],
)  # fmt: skip
def test_a_bad_plan_names_the_key_path_and_the_fix(plan, channel, kw, match):
    with pytest.raises(SpecError, match=match):
        plan_targets(plan, channel=channel, **kw)


def test_a_bad_plan_file_names_the_file_and_the_line(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text('{"allocation": {"tv": 1},\n "marginal_return": }')
    with pytest.raises(SpecError, match=r"plan file '.*plan\.json' is not valid JSON: .* line 2"):
        read_plan_targets(bad)
    with pytest.raises(SpecError, match=r"plan file '.*missing\.json' does not exist"):
        read_plan_targets(tmp_path / "missing.json")
    bad.write_text(json.dumps({**PLAN, "allocation": {"tv": None}}))
    with pytest.raises(SpecError, match=r"plan file '.*': plan\.allocation\.tv: expected a number"):
        read_plan_targets(bad, channel="tv")


def test_profiles_default_user_given_and_their_errors(tmp_path):
    p = TrafficProfile.default()
    assert p.hour_share.sum() == pytest.approx(1.0) and p.weekday.mean() == pytest.approx(1.0)
    assert int(p.hour_share.argmax()) == int(np.argmax(DEFAULT_HOURLY))
    assert p.cumulative(0.0) == 0.0 and p.cumulative(24.0) == pytest.approx(1.0)
    assert p.cumulative(12.5) == pytest.approx(p.hour_share[:12].sum() + 0.5 * p.hour_share[12])
    f = tmp_path / "profile.yaml"
    f.write_text("hourly: [" + ", ".join(["0"] * 12 + ["1"] * 12) + "]\n")
    own = TrafficProfile.read(f)
    assert own.hour_share[:12].sum() == 0.0 and own.hour_share[12] == pytest.approx(1 / 12)
    assert hourly_targets(240.0, own)[23] == pytest.approx(20.0)
    with pytest.raises(SpecError, match=r"profile\.hourly: give 24 weights .*got 23"):
        TrafficProfile.from_mapping({"hourly": [1.0] * 23})
    with pytest.raises(SpecError, match=r"profile\.weekday: weight \[3\] must be .* >= 0"):
        TrafficProfile.from_mapping({"hourly": [1.0] * 24, "weekday": [1, 1, 1, -1, 1, 1, 1]})
    with pytest.raises(SpecError, match=r"profile: unknown key 'hours'"):
        TrafficProfile.from_mapping({"hours": [1.0] * 24})
    assert daily_budgets(700.0, 7, TrafficProfile.flat()) == pytest.approx(np.full(7, 100.0))


def test_controllers_lower_bids_when_ahead_and_raise_them_when_behind():
    dual, pi = DualPacer(ref=10.0), PIPacer(ref=10.0)
    for c in (dual, pi):
        assert c.factor == 1.0
        c.update(spent=30.0, wanted=10.0)  # spent three times what it wanted
        ahead = c.factor
        assert ahead < 1.0
        for _ in range(8):
            c.update(spent=0.0, wanted=10.0)  # then nothing: behind, bid above the base
        assert 1.5 < c.factor <= 2.0  # above the base, never past the multiplier's top
    assert dual.mu == -0.5 and dual.factor == 2.0  # projected onto [mu_min, mu_max]
    assert pi.integral < 8  # the PI integral stopped growing while the multiplier was capped
    d2 = DualPacer(ref=10.0)
    d2.update(30.0, 10.0)
    assert d2.mu == pytest.approx(0.5 * 20 / 10) and d2.factor == pytest.approx(1 / 2)


def test_a_day_started_at_noon_spreads_what_is_left_over_the_rest_of_the_day():
    prof = TrafficProfile.default()
    pacing = DayPacing(1000.0, prof, start_hour=12.0, spent=200.0, interval_hours=1.0)
    assert pacing.target(12.0) == pytest.approx(200.0) and pacing.target(24.0) == pytest.approx(
        1000.0
    )
    rest = 1.0 - prof.cumulative(12.0)
    assert pacing.target(18.0) == pytest.approx(200.0 + 800.0 * prof.hour_share[12:18].sum() / rest)
    assert not pacing.observe(12.5, 200.0)  # half an interval: no update yet
    assert pacing.observe(13.0, 800.0) and pacing.factor < 1.0  # far ahead of the target
