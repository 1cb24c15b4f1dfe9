"""Auction mechanics, bidding rules and the first-price equilibrium."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from mediamix.errors import SpecError
from mediamix.rtb.auctions import run_auctions
from mediamix.rtb.bidding import (
    WinRateModel,
    equilibrium_bid_function,
    first_price_equilibrium_bid,
    impression_value,
    truthful_bid,
    uniform_equilibrium_bid,
)
from mediamix.rtb.distributions import parse_distribution


def test_mechanics_with_reserve():
    bids = np.array([[3.0, 5.0, 1.0], [1.0, 2.0, 0.5], [4.0, 4.5, 0.0], [0.2, 0.1, 0.3]])
    values = bids + 1.0
    first = run_auctions(values, bids, "first", reserve=1.5)
    second = run_auctions(values, bids, "second", reserve=1.5)
    np.testing.assert_array_equal(first.winner, [1, 1, 1, -1])
    np.testing.assert_allclose(first.price, [5.0, 2.0, 4.5, 0.0])
    # second price: max(second-highest, reserve)
    np.testing.assert_allclose(second.price, [3.0, 1.5, 4.0, 0.0])
    np.testing.assert_allclose(second.surplus[0], [0.0, 3.0, 0.0])
    np.testing.assert_allclose(first.surplus[2], [0.0, 1.0, 0.0])
    assert second.sold.tolist() == [True, True, True, False]
    with pytest.raises(SpecError, match="mechanism"):
        run_auctions(values, bids, "dutch")


def test_second_price_truthful_beats_shading_and_inflation():
    """Truthful bidding is weakly dominant: never worse auction by auction, better on average."""
    rng = np.random.default_rng(0)
    n_auctions, n = 50_000, 4
    values = rng.lognormal(0.0, 0.5, size=(n_auctions, n))
    mean_utility = {}
    for factor in (0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0):
        bids = values.copy()
        bids[:, 0] = factor * values[:, 0]
        res = run_auctions(values, bids, "second", reserve=0.3)
        mean_utility[factor] = res.surplus[:, 0]
    truthful = mean_utility[1.0]
    for factor, util in mean_utility.items():
        assert np.all(truthful >= util - 1e-12), factor
        if factor != 1.0:
            assert truthful.mean() > util.mean() + 1e-4, factor


def test_uniform_closed_form_matches_integral():
    for n in (2, 3, 5, 10):
        v = np.linspace(0.0, 1.0, 11)
        closed = uniform_equilibrium_bid(v, n)
        np.testing.assert_allclose(closed, (n - 1) / n * v)
        # the numerical path on Beta(1, 1) == Uniform(0, 1)
        numeric = first_price_equilibrium_bid(v, n, "beta:1:1")
        np.testing.assert_allclose(numeric, closed, atol=1e-9)
    # uniform on [lo, hi]: lo + (n-1)/n (v - lo)
    b = first_price_equilibrium_bid(1.5, 3, "uniform:1:2")
    assert b == pytest.approx(1.0 + 2 / 3 * 0.5)
    assert first_price_equilibrium_bid(0.5, 3, "uniform:0:2") == pytest.approx(1 / 3)


def test_non_uniform_equilibrium_is_a_simulated_best_response():
    """When the others bid b(V), bidding b(v) maximises expected surplus (simulation)."""
    rng = np.random.default_rng(1)
    dist = parse_distribution("beta:2:5")
    n = 3
    bid_fn = equilibrium_bid_function(n, dist)
    others = bid_fn(dist.sample((200_000, n - 1), rng)).max(axis=1)
    others.sort()
    for v in (0.2, 0.35, 0.5, 0.7):
        b_eq = float(first_price_equilibrium_bid(v, n, dist))
        grid = np.linspace(0.0, v, 401)
        p_win = np.searchsorted(others, grid, side="left") / others.size
        utility = (v - grid) * p_win
        u_eq = (v - b_eq) * np.searchsorted(others, b_eq, side="left") / others.size
        best = grid[np.argmax(utility)]
        assert abs(best - b_eq) < 0.02 * max(v, 0.25), (v, best, b_eq)
        assert u_eq >= utility.max() - 2e-4, (v, u_eq, utility.max())
        # truthful bidding in a first-price auction earns nothing
        assert (v - v) * 1.0 < u_eq
        # a clearly different bid is clearly worse
        for off in (-0.3, 0.3):
            x = b_eq * (1 + off)
            u_x = (v - x) * np.searchsorted(others, x, side="left") / others.size
            assert u_x < u_eq - 1e-4


def test_revenue_equivalence_within_sampling_error():
    rng = np.random.default_rng(2)
    dist = parse_distribution("lognormal:0:0.5")
    n, n_auctions = 4, 200_000
    values = dist.sample((n_auctions, n), rng)
    bid_fn = equilibrium_bid_function(n, dist)
    first = run_auctions(values, bid_fn(values), "first")
    second = run_auctions(values, truthful_bid(values), "second")
    diff = first.revenue - second.revenue
    z = diff.mean() / (diff.std(ddof=1) / np.sqrt(n_auctions))
    assert abs(z) < 4.0, z
    # both equal E[second-highest value] = int x n(n-1) F^(n-2) (1-F) f dx
    d = dist.dist
    exact, _ = integrate.quad(
        lambda x: x * n * (n - 1) * d.cdf(x) ** (n - 2) * d.sf(x) * d.pdf(x), 0, np.inf
    )
    se = second.revenue.std(ddof=1) / np.sqrt(n_auctions)
    assert abs(second.mean_revenue - exact) < 4 * se
    assert abs(first.mean_revenue - exact) < 4 * first.revenue.std(ddof=1) / np.sqrt(n_auctions)
    # and first price is not trivially the same auction: winners pay less than their value
    assert np.all(first.price[first.sold] < values.max(axis=1)[first.sold])


def test_equilibrium_limits_and_errors():
    assert first_price_equilibrium_bid(0.0, 3, "exponential:2") == 0.0
    # more bidders -> less shading, bids rise toward value
    b = [first_price_equilibrium_bid(1.0, n, "exponential:1") for n in (2, 5, 20, 100)]
    assert b == sorted(b) and b[-1] < 1.0 and b[-1] > 0.95
    with pytest.raises(SpecError, match="bidders"):
        first_price_equilibrium_bid(0.5, 1, "uniform")
    assert impression_value(0.02, 1.5) == pytest.approx(0.03)
    with pytest.raises(SpecError, match="per click"):
        impression_value(0.02, -1.0)


@pytest.mark.parametrize(
    "spec,match",
    [
        ("", "empty"),
        ("weibull:2", "unknown distribution"),
        ("uniform:2:1", "greater than lo"),
        ("uniform:-1:1", ">= 0"),
        ("uniform:1", "0 or 2 parameters"),
        ("beta:2", "2 to 3 parameters"),
        ("beta:2:x", "not a number"),
        ("beta:0:5", "must be > 0"),
        ("lognormal:0:-1", "sigma"),
        ("exponential:0", "rate"),
        ("exponential:nan", "finite"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(SpecError, match=match):
        parse_distribution(spec)


def test_good_specs():
    assert parse_distribution("uniform:0:2").upper == 2.0
    assert parse_distribution("beta:2:5").dist.mean() == pytest.approx(2 / 7)
    assert parse_distribution("lognormal:0:0.5").dist.median() == pytest.approx(1.0)
    assert parse_distribution("exponential:2").dist.mean() == pytest.approx(0.5)
    assert parse_distribution("gamma:2:3").dist.mean() == pytest.approx(6.0)


def test_shading_recovers_the_equilibrium_against_uniform_competitors():
    """Against n-1 truthful uniform competitors, argmax (v-b) b^(n-1) is (n-1)/n v."""
    rng = np.random.default_rng(3)
    n = 3
    winning = rng.uniform(size=(100_000, n - 1)).max(axis=1)
    model = WinRateModel.from_prices(winning, max_candidates=2000)
    v = np.array([0.3, 0.6, 0.9])
    np.testing.assert_allclose(model.shade(v), (n - 1) / n * v, atol=0.02)
    for vi in v:
        assert model.shade_one(vi) == pytest.approx(model.shade(vi))
    # floors are respected, values under the floor do not bid
    assert model.shade(0.6, floor=0.5) >= 0.5
    assert np.isnan(model.shade(0.3, floor=0.5))
    assert model.shade_one(0.3, floor=0.5) is None
    assert model.p_win(2.0) == 1.0 and model.p_win(-1.0) == 0.0
