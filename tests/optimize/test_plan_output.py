"""What the optimizer prints: the gain over today's plan with its interval, the KPI labelled as
incremental KPI from media per period, why each channel moves (its marginal return against the
shadow price of its budgets, or the bound it sits on), plain numbers at one precision."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from mediamix.optimize import Channel, Problem, Response, solve
from mediamix.optimize.plan import decimals, fmt_amount, fmt_gap, frontier_notes, plan_lines

SCI = re.compile(r"\d[eE][+-]?\d")


def draws_problem(n_draws: int = 400, seed: int = 0) -> Problem:
    """Three log1p channels whose scale ``a`` varies over posterior draws; today's spend is
    100 / 120 / 80 (300 per period), each channel between 50 and 150."""
    rng = np.random.default_rng(seed)
    chans = []
    for name, a, ref in (("tv", 60.0, 100.0), ("search", 20.0, 120.0), ("social", 35.0, 80.0)):
        r = Response(
            name,
            "log1p",
            {"a": rng.normal(a, 0.15 * a, n_draws), "scale": 50.0},
            reference_spend=ref,
        )
        chans.append(Channel(r, lower=50.0, upper=150.0))
    return Problem(channels=tuple(chans), budget=300.0)


def kpi_of(problem: Problem, spend: dict[str, float]) -> np.ndarray:
    """KPI per draw of a spend per channel (the formula itself, not the optimizer's code)."""
    tot = 0.0
    for c in problem.channels:
        a = np.asarray(c.response.params["a"], dtype=float)
        tot = tot + a * np.log1p(spend[c.name] / 50.0)
    return tot


def test_gain_is_paired_over_draws_and_matches_the_formula():
    p = draws_problem()
    plan = solve(p)
    today = kpi_of(p, {c.name: c.response.reference_spend for c in p.channels})
    rec = kpi_of(p, plan.allocation)
    g = rec - today
    assert plan.reference["kpi"] == pytest.approx(today.mean(), rel=1e-9)
    assert plan.reference["p5"] == pytest.approx(np.quantile(today, 0.05), rel=1e-9)
    assert plan.gain["mean"] == pytest.approx(g.mean(), rel=1e-6)
    assert plan.gain["p5"] == pytest.approx(np.quantile(g, 0.05), rel=1e-6)
    assert plan.gain["p95"] == pytest.approx(np.quantile(g, 0.95), rel=1e-6)
    assert plan.gain["relative"] == pytest.approx(g.mean() / today.mean(), rel=1e-6)
    assert plan.gain["share_positive"] == pytest.approx(np.mean(g > 0))
    # the gain's own interval is much narrower than the difference of the two intervals
    assert plan.gain["p95"] - plan.gain["p5"] < 0.5 * (plan.outcome["p95"] - plan.outcome["p5"])
    d = plan.to_dict()
    assert d["gain"] == plan.gain and d["periods"] == 1


def test_table_states_the_gain_with_intervals_and_labels_the_kpi():
    p = draws_problem()
    plan = solve(p)
    text = plan.table()
    lines = text.splitlines()
    assert "expected incremental KPI from media, per period with its 90% interval:" in lines
    d = decimals([plan.kpi, plan.reference["kpi"], plan.outcome["p95"], plan.reference["p95"]], 4)
    today = next(x for x in lines if x.strip().startswith("today's plan"))
    assert fmt_amount(plan.reference["kpi"], d) in today
    assert (
        f"[{fmt_amount(plan.reference['p5'], d)}, {fmt_amount(plan.reference['p95'], d)}]" in today
    )
    assert "spend 300" in today
    rec = next(x for x in lines if x.strip().startswith("recommended"))
    assert f"[{fmt_amount(plan.outcome['p5'], d)}, {fmt_amount(plan.outcome['p95'], d)}]" in rec
    gain = next(x for x in lines if x.strip().startswith("gain"))
    g = plan.gain
    assert fmt_amount(g["mean"], d, sign=True) in gain
    assert f"[{fmt_amount(g['p5'], d, True)}, {fmt_amount(g['p95'], d, True)}]" in gain
    assert f"({100 * g['relative']:+.1f}%)" in gain
    assert f"better in {100 * g['share_positive']:.0f}% of the posterior draws" in gain
    assert not SCI.search(text), text


def test_each_channel_says_why_against_the_shadow_price_or_its_bound():
    p = draws_problem()
    plan = solve(p)
    by = {c.name: c for c in plan.channels}
    # tv returns most: raised to its upper bound; search returns least: held at its lower one
    assert by["tv"].binding == "upper" and by["search"].binding == "lower"
    assert by["social"].binding is None
    budget = next(c for c in plan.constraints if c.name.startswith("total budget"))
    sp = budget.shadow_price
    # KKT: the free channel's marginal return equals the budget's shadow price
    assert by["social"].marginal_return == pytest.approx(sp, rel=1e-4)
    assert by["social"].threshold == pytest.approx(sp)
    assert by["tv"].marginal_return > sp > by["search"].marginal_return
    d = decimals(
        [v for c in plan.channels for v in (c.marginal_return, c.marginal_at_current, c.threshold)],
        3,
    )
    spt = fmt_amount(sp, d)
    assert by["tv"].reason == (
        f"held at its upper bound 150: its marginal return there "
        f"({fmt_amount(by['tv'].marginal_return, d)}) is still above the shadow price of the "
        f"total budget ({spt}); a higher bound would move more budget here"
    )
    assert by["search"].reason.startswith("held at its lower bound 50: its marginal return")
    assert f"still below the shadow price of the total budget ({spt})" in by["search"].reason
    mc = fmt_amount(by["social"].marginal_at_current, d)
    assert by["social"].change > 0.1 and by["social"].marginal_at_current > sp
    assert by["social"].reason == (
        f"raised: at today's spend its marginal return ({mc}) is above the shadow price of the "
        f"total budget ({spt}), so budget moves here until its marginal return falls to "
        f"{fmt_amount(by['social'].marginal_return, d)}"
    )
    text = plan.table()
    assert "why:" in text
    flat = " ".join(x.strip() for x in text.splitlines())
    for c in plan.channels:
        assert f"{c.name}: {c.reason}" in flat


def test_a_cut_to_zero_and_department_prices():
    """A channel whose first unit returns less than the budget's price is cut to zero; with
    departments, a channel's price is the shadow prices of its budgets weighted by its shares."""
    chans = (
        Channel(Response("a", "log1p", {"a": 10.0}, reference_spend=50.0), shares={"x": 1.0}),
        Channel(Response("b", "log1p", {"a": 0.05}, reference_spend=50.0), shares={"x": 0.5, "y": 0.5}),
        Channel(Response("c", "log1p", {"a": 8.0}, reference_spend=50.0), shares={"y": 1.0}),
    )  # fmt: skip
    plan = solve(Problem(channels=chans, departments={"x": 60.0, "y": 90.0}))
    by = {c.name: c for c in plan.channels}
    assert by["b"].binding == "lower" and by["b"].recommended == pytest.approx(0, abs=1e-6)
    assert by["b"].reason.startswith("cut to zero (its lower bound): even its first unit returns")
    sp = {d.name: d.shadow_price for d in plan.departments.values()}
    assert by["b"].threshold == pytest.approx(0.5 * sp["x"] + 0.5 * sp["y"], rel=1e-6)
    assert "the shadow price of its budgets" in by["b"].reason
    for name, dept in (("a", "x"), ("c", "y")):
        assert by[name].threshold == pytest.approx(sp[dept], rel=1e-6)
        assert by[name].marginal_return == pytest.approx(sp[dept], rel=1e-4)


def test_numbers_are_plain_at_one_precision_per_column():
    """Tiny marginal returns (conversions per unit of money) and large spends: no scientific
    notation, and every row of a column has the same number of decimals."""
    chans = tuple(
        Channel(Response(n, "log1p", {"a": a, "scale": 20000.0}, reference_spend=r))
        for n, a, r in (("tv", 30.0, 40000.0), ("search", 12.0, 25000.0), ("radio", 4.0, 9000.0))
    )
    plan = solve(Problem(channels=chans, budget=74000.0))
    lines = plan.table().splitlines()
    assert not any(SCI.search(x) for x in lines), "\n".join(lines)
    head = next(i for i, x in enumerate(lines) if x.startswith("channel"))
    rows = [x.split() for x in lines[head + 1 : head + 4]]
    for col in (1, 2, 4, 5):  # today, recommended, KPI, marginal
        decs = {len(r[col].partition(".")[2]) for r in rows}
        assert len(decs) == 1, (col, rows)
    marg = [r[5] for r in rows]
    assert all(m.startswith("0.000") for m in marg), marg  # 3 significant digits, fixed
    assert rows[0][1] == "40,000"


def test_formatters():
    assert fmt_amount(1234567.891, 0) == "1,234,568"
    assert fmt_amount(0.000123456, decimals([0.000123456], 3)) == "0.000123"
    assert fmt_amount(-0.00001, 2) == "0.00" and fmt_amount(12.5, 1, sign=True) == "+12.5"
    assert fmt_amount(None) == "" and fmt_amount(float("nan")) == ""
    assert decimals([0.99996, 0.5], 4) == 3  # 1.000, not 0.9999x at 4 decimals
    assert decimals([15000, 2.5]) == 0 and decimals([523.4]) == 0 and decimals([]) == 0
    assert decimals([52.34]) == 1 and decimals([523.4], 4) == 1
    assert fmt_gap(0.0) == "certified optimal"
    assert fmt_gap(3.5e-7) == "certified within 0.0001% of the global optimum"
    assert fmt_gap(0.0123) == "certified within 1.2% of the global optimum"
    assert fmt_gap(1e-5) == "certified within 0.001% of the global optimum"
    assert fmt_gap(None) == "not certified"


def test_frontier_flattened_by_bounds_says_so():
    p = draws_problem(n_draws=50)
    plan = solve(p)
    from mediamix.optimize import sweep

    plan = replace(plan, frontier=sweep(p, [200.0, 300.0, 400.0, 500.0]))
    d = plan.to_dict()
    notes = frontier_notes(d)
    # the upper bounds sum to 450: from a budget of 500 nothing more can be spent
    assert notes == [
        "from a budget of 500 every channel is at its upper bound, so the frontier is flat "
        "there because of the bounds, not saturation: more budget cannot be spent. Widen the "
        "bounds to see what it would buy."
    ]
    lines = plan_lines(d)
    i = lines.index("frontier (the optimum at other budgets):")
    assert lines[i + 1].split() == ["budget", "KPI", "at", "the", "upper", "bound"]
    assert lines[i + 2].split()[:1] == ["200"] and lines[i + 5].endswith("all channels")
    assert "tv" in lines[i + 3]  # at 300 tv already sits at its upper bound
    assert f"note: {notes[0]}" in lines
    # without bounds, no such note
    free = Problem(channels=tuple(replace(c, upper=None) for c in p.channels), budget=300.0)
    plan = replace(solve(free), frontier=sweep(free, [200.0, 500.0]))
    assert frontier_notes(plan.to_dict()) == []


def test_multi_period_plans_say_the_kpi_is_over_the_horizon():
    r = Response("tv", "log1p", {"a": 10.0}, reference_spend=10.0, carryover=0.5)
    r2 = Response("radio", "log1p", {"a": 5.0}, reference_spend=10.0)
    plan = solve(Problem(channels=(Channel(r), Channel(r2)), budget=60.0, periods=3))
    assert plan.periods == 3
    text = plan.table()
    assert (
        "expected incremental KPI from media, over the 3 planned periods and their carry-over"
        in text
    )
    assert "(spend mean per period;" in text
    today = next(x for x in text.splitlines() if x.strip().startswith("today's plan"))
    assert "spend 60" in today  # today's spend over the 3 periods, as the budget
