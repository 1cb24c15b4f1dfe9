"""Where local optimizers fail: scale, unspent budget, degenerate curves, the reference."""

import numpy as np
import pytest

from mediamix.optimize import Channel, Problem, Response, solve


def _channels(scale):
    return (
        Channel(Response("tv", "hill", {"beta": 50.0, "k": 3.0, "s": 0.8}, unit_price=scale)),
        Channel(Response("search", "log1p", {"a": 20.0, "scale": 2.0}, unit_price=scale)),
        Channel(Response("social", "exponential", {"beta": 30.0, "k": 0.3}, unit_price=scale)),
        Channel(Response("ooh", "hill", {"beta": 40.0, "k": 4.0, "s": 2.5}, unit_price=scale)),
    )


@pytest.mark.parametrize("scale", [1e6, 1e9])
def test_scale_invariance_millions_and_billions(scale):
    small = solve(Problem(channels=_channels(1.0), budget=12.0))
    big = solve(Problem(channels=_channels(scale), budget=12.0 * scale))
    xs = np.array(list(small.allocation.values())) / 12.0
    xb = np.array(list(big.allocation.values())) / (12.0 * scale)
    np.testing.assert_allclose(xb, xs, atol=1e-6)
    assert big.kpi == pytest.approx(small.kpi, rel=1e-7)
    assert big.spend_total == pytest.approx(12.0 * scale, rel=1e-9)
    # not stuck at an even start: the shares differ clearly from 1/4
    assert np.ptp(xb) > 0.1


@pytest.mark.parametrize("budget", [1.0, 37.5, 1234.5])
def test_budget_spent_in_full_while_kpi_rises(budget):
    chans = (
        Channel(Response("a", "michaelis_menten", {"beta": 10.0, "k": 5.0})),
        Channel(Response("b", "power", {"a": 2.0, "alpha": 0.5}), upper=budget / 3),
        Channel(Response("c", "logistic", {"beta": 8.0, "lam": 0.01})),
    )
    plan = solve(Problem(channels=chans, budget=budget))
    assert plan.spend_total == pytest.approx(budget, rel=1e-12, abs=0)
    assert plan.spend_total <= budget * (1 + 1e-12)


def test_zero_reference_and_flat_curves_give_no_nan():
    chans = (
        Channel(Response("new", "hill", {"beta": 10.0, "k": 5.0, "s": 1.0}, reference_spend=0.0)),
        Channel(Response("flat", "exponential", {"beta": 0.0, "k": 1.0}, reference_spend=10.0)),
        Channel(Response("dead", "michaelis_menten", {"beta": 0.0, "k": 3.0}, reference_spend=0.0)),
        Channel(Response("tab", "table", {"xs": [0, 5, 10], "ys": [0, 0, 0]}, reference_spend=0.0)),
    )
    plan = solve(Problem(channels=chans, budget=10.0))
    d = plan.to_dict()
    for c in d["channels"]:
        for key in ("recommended", "kpi", "marginal_return", "units"):
            assert c[key] is not None and np.isfinite(c[key]), (c["name"], key)
    assert np.isfinite(plan.kpi) and np.isfinite(plan.objective_value)
    assert plan.allocation["new"] == pytest.approx(10.0, rel=1e-6)
    assert plan.to_json()  # serialisable


def test_never_worse_than_the_feasible_reference():
    rng = np.random.default_rng(11)
    for trial in range(4):
        n = 4
        chans = tuple(
            Channel(
                Response(
                    f"c{i}",
                    "hill",
                    {
                        "beta": rng.uniform(5, 20),
                        "k": rng.uniform(2, 8),
                        "s": rng.uniform(1.2, 3.5),
                    },
                    reference_spend=float(rng.uniform(0, 10)),
                )
            )
            for i in range(n)
        )
        prob = Problem(channels=chans, budget=float(sum(c.response.reference_spend for c in chans)))
        plan = solve(prob)
        assert plan.objective_value >= plan.reference["objective"] - 1e-9, trial
