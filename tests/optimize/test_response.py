import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.optimize.response import Response


def test_point_curve_matches_formula_with_unit_price():
    r = Response("tv", "hill", {"beta": 10.0, "k": 5.0, "s": 2.0}, unit_price=2.0)
    x = np.array([0.0, 4.0, 10.0, 40.0])
    u = x / 2.0
    np.testing.assert_allclose(r(x)[0], 10 * u**2 / (u**2 + 25), rtol=1e-6)
    assert r.n_draws == 1
    assert not r.is_concave
    # Marginal return is in KPI per unit of spend (chain rule through the price).
    uu = u[1:]
    exact = 10 * 2 * 25 * uu / (uu**2 + 25) ** 2 / 2.0
    np.testing.assert_allclose(r.marginal(x[1:])[0], exact, rtol=1e-5)
    assert float(r.inflection_spend()[0]) == pytest.approx(2.0 * 5.0 * (1 / 3) ** 0.5, rel=1e-6)


def test_draws_mean_is_average_of_curves_not_curve_of_mean():
    k = np.array([1.0, 9.0])
    r = Response("search", "michaelis_menten", {"beta": 1.0, "k": k})
    assert r.n_draws == 2
    x = np.array([3.0])
    assert r(x).shape == (2, 1)
    avg = np.mean(3.0 / (k + 3.0))
    assert float(r.mean(x)[0]) == pytest.approx(avg, rel=1e-6)
    assert float(r.mean(x)[0]) != pytest.approx(3.0 / (k.mean() + 3.0), rel=1e-3)
    assert r.draw(1).params["k"] == pytest.approx(9.0)


def test_round_trip_dict():
    r = Response(
        "a",
        "hill",
        {"beta": [1.0, 2.0], "k": 3.0, "s": 1.5},
        2.0,
        reference_spend=4.0,
        carryover=0.3,
    )
    r2 = Response.from_dict(r.to_dict())
    x = np.linspace(0, 10, 5)
    np.testing.assert_allclose(r(x), r2(x))
    assert r2.reference_spend == 4.0 and float(r2.carryover) == pytest.approx(0.3)


def test_table_response_is_monotone_interpolation():
    r = Response("ad1", "table", {"xs": [0, 10, 20], "ys": [0, 8, 10]})
    np.testing.assert_allclose(r(np.array([5.0, 15.0, 30.0]))[0], [4.0, 9.0, 10.0], rtol=1e-6)
    assert r.is_concave


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"family": "hil", "params": {}}, "Did you mean 'hill'"),
        ({"family": "hill", "params": {"beta": 1, "s": 1}}, "channel 'x'.*missing \\['k'\\]"),
        ({"family": "hill", "params": {"beta": 1, "k": -1, "s": 1}}, "'k' must be > 0"),
        (
            {"family": "hill", "params": {"beta": 1, "k": 1, "s": 1}, "unit_price": 0},
            "unit_price must be > 0",
        ),
        (
            {"family": "hill", "params": {"beta": 1, "k": 1, "s": 1}, "carryover": 1.2},
            "carryover must be in",
        ),
        ({"family": "table", "params": {"xs": [0, 2, 1], "ys": [0, 1, 2]}}, "must increase"),
    ],
)
def test_bad_curves_are_named(kwargs, msg):
    with pytest.raises(SpecError, match=msg):
        Response("x", **kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(SpecError, match="unknown key\\(s\\) \\['beta'\\]"):
        Response.from_dict({"name": "x", "family": "hill", "beta": 1})


def test_plot_range_without_today_spend_uses_the_curve_shape():
    r = Response("tv", "hill", {"beta": 1.0, "k": 10.0, "s": 3.0}, unit_price=2.0)
    assert r.plot_range() == pytest.approx(3 * 2.0 * 10.0 * 0.5 ** (1 / 3))
    assert Response("x", "hill", {"beta": 1, "k": 1, "s": 1}, reference_spend=5).plot_range() == 10
    assert Response("t", "table", {"xs": [0, 4], "ys": [0, 1]}, unit_price=3).plot_range() == 12
    assert Response("f", "michaelis_menten", {"beta": 0.0, "k": 1.0}).plot_range() == 1.0
