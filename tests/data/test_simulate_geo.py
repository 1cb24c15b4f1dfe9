"""The geo panel simulator: its truth recomputed by hand, shapes, seeds, population scaling,
pooling, reach and frequency, and the panel passing the panel checks."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix.data.panel import Panel
from mediamix.data.simulate_geo import (
    optimal_frequency,
    simulate_geo,
    simulate_geo_panel,
    window_roas,
)
from mediamix.errors import SpecError


def _geometric(x: np.ndarray, lam: float, L: int) -> np.ndarray:
    """Normalised geometric adstock along axis 1 by an explicit loop (zero before t = 0)."""
    w = lam ** np.arange(L)
    w = w / w.sum()
    out = np.zeros_like(x, dtype=float)
    for t in range(x.shape[1]):
        for lag in range(min(L, t + 1)):
            out[:, t] += w[lag] * x[:, t - lag]
    return out


def _hill(x: np.ndarray, k: float, s: float) -> np.ndarray:
    return np.where(x > 0, x**s / (x**s + k**s), 0.0)


@pytest.fixture(scope="module")
def tiny():
    return simulate_geo(n_geos=3, n_periods=30, n_channels=2, seed=4, rf_channels=1)


def test_paid_roas_recomputed_by_hand(tiny):
    arr, truth = tiny
    pop = np.asarray(truth["population"])
    start, stop = truth["window"]
    assert (start, stop) == (7, 30)  # weekly: the first max lag - 1 = 7 periods feed adstock
    contrib_all, spend_all = 0.0, 0.0
    for c, name in enumerate(arr["channel_names"]):
        ch = truth["channels"][name]
        a = _geometric(arr["spend"][:, :, c] / pop[:, None], ch["adstock"]["lam"], 8)
        sat = _hill(a, ch["saturation"]["k"], ch["saturation"]["s"])
        contrib = pop[:, None] * np.asarray(ch["beta_geo"])[:, None] * sat
        per_geo = contrib[:, start:stop].sum(1) / arr["spend"][:, start:stop, c].sum(1)
        np.testing.assert_allclose(ch["roas_geo"], per_geo, rtol=1e-10)
        national = contrib[:, start:stop].sum() / arr["spend"][:, start:stop, c].sum()
        np.testing.assert_allclose(ch["roas"], national, rtol=1e-10)
        contrib_all += contrib[:, start:stop].sum()
        spend_all += arr["spend"][:, start:stop, c].sum()
    nat, geo = window_roas(truth)
    assert nat.shape == (3,) and geo.shape == (3, 3)
    np.testing.assert_allclose(nat[:2], [truth["channels"][c]["roas"] for c in ("tv", "search")])
    # over another window the ROAS changes and follows the stored contributions
    nat_all, _ = window_roas(truth, (0, 30))
    assert not np.allclose(nat_all, nat)


def test_rf_roas_and_optimal_frequency_by_hand(tiny):
    arr, truth = tiny
    pop = np.asarray(truth["population"])
    start, stop = truth["window"]
    ch = truth["channels"]["youtube"]
    assert ch["kind"] == "rf" and arr["rf_names"] == ("youtube",)
    k, s = ch["frequency_hill"]["k"], ch["frequency_hill"]["s"]
    assert s > 1
    f = np.linspace(0.01, 30, 300_001)
    assert ch["optimal_frequency"] == pytest.approx(f[np.argmax(_hill(f, k, s) / f)], abs=2e-4)
    assert optimal_frequency(k, s) == pytest.approx(k * (s - 1) ** (1 / s))
    reach, freq = arr["reach"][..., 0], arr["frequency"][..., 0]
    x = reach / pop[:, None] * _hill(freq, k, s)
    contrib = (
        pop[:, None] * np.asarray(ch["beta_geo"])[:, None] * _geometric(x, ch["adstock"]["lam"], 8)
    )
    spend = arr["rf_spend"][:, start:stop, 0]
    np.testing.assert_allclose(ch["roas_geo"], contrib[:, start:stop].sum(1) / spend.sum(1))
    # linear in reach: the marginal return is the window's own spend's return (the carry-over
    # of the warm-up periods is in the ROAS, not in what a window spend increase adds)
    own = np.where(np.arange(x.shape[1]) < start, 0.0, x)
    own = (
        pop[:, None]
        * np.asarray(ch["beta_geo"])[:, None]
        * _geometric(own, ch["adstock"]["lam"], 8)
    )
    np.testing.assert_allclose(ch["mroas_geo"], own[:, start:stop].sum(1) / spend.sum(1))
    assert np.all(np.asarray(ch["mroas_geo"]) < np.asarray(ch["roas_geo"]))
    # spend = cost per impression x reach x frequency, zero where nothing was reached
    assert np.all((arr["rf_spend"][..., 0] > 0) == (reach > 0))
    cpi = arr["rf_spend"][..., 0][reach > 0] / (reach * freq)[reach > 0]
    assert cpi.min() > 0 and cpi.max() / cpi.min() < 3


def test_frequency_data_span_the_optimum():
    arr, truth = simulate_geo(n_geos=8, n_periods=104, n_channels=1, seed=2, rf_channels=2)
    for r, name in enumerate(arr["rf_names"]):
        f = arr["frequency"][..., r][arr["reach"][..., r] > 0]
        opt = truth["channels"][name]["optimal_frequency"]
        assert np.quantile(f, 0.1) < 0.7 * opt and np.quantile(f, 0.9) > 1.4 * opt
        assert f.min() >= 1.0


def test_kpi_is_the_sum_of_the_recorded_parts():
    arr, truth = simulate_geo(n_geos=6, n_periods=80, n_channels=2, seed=3, organic=1,
                              non_media=2, rf_channels=1)  # fmt: skip
    G, T = arr["kpi"].shape
    pop = np.asarray(truth["population"])[:, None]
    t = np.arange(T)
    base = truth["baseline"]
    mu = np.asarray(base["intercept_geo"])[:, None] + np.asarray(base["slope_geo"])[:, None] * t
    P = base["seasonality"]["period"]
    for h in base["seasonality"]["harmonics"]:
        mu = mu + np.asarray(h["sin_geo"])[:, None] * np.sin(2 * np.pi * h["harmonic"] * t / P)
        mu = mu + np.asarray(h["cos_geo"])[:, None] * np.cos(2 * np.pi * h["harmonic"] * t / P)
    for k, name in enumerate(arr["control_names"]):
        mu = mu + truth["controls"][name]["coef"] * arr["controls"][..., k]
    for j, name in enumerate(arr["non_media_names"]):
        mu = mu + truth["non_media"][name]["coef"] * arr["non_media"][..., j]
    media = sum(np.asarray(truth["contributions"][m]) for m in truth["media_names"])
    org = truth["organic"]["organic_social"]
    oa = _geometric(arr["organic"][..., 0] / pop, org["adstock"]["lam"], 8)
    organic = np.asarray(org["beta_geo"])[:, None] * _hill(oa, **org["saturation"])
    resid = arr["kpi"] / pop - (mu + media / pop + organic)
    assert abs(resid.mean()) < 0.1 * truth["noise_sd"]
    assert resid.std() == pytest.approx(truth["noise_sd"], rel=0.08)
    # the media's share of the KPI is what was asked for
    paid = media[:, 7:].sum() / arr["kpi"][:, 7:].sum()
    assert 0.2 < paid < 0.4


def test_shapes_and_seeds():
    a1, t1 = simulate_geo(n_geos=5, n_periods=40, n_channels=3, seed=11, organic=2,
                          non_media=1, rf_channels=2, n_controls=3)  # fmt: skip
    assert a1["kpi"].shape == (5, 40)
    assert a1["spend"].shape == (5, 40, 3) and a1["controls"].shape == (5, 40, 3)
    assert a1["organic"].shape == (5, 40, 2) and a1["non_media"].shape == (5, 40, 1)
    for key in ("reach", "frequency", "rf_spend"):
        assert a1[key].shape == (5, 40, 2)
    assert truth_names(t1) == ["tv", "search", "social", "youtube", "ctv"]
    assert len(a1["dates"]) == 40 and a1["dates"].freqstr.startswith("W")
    a2, t2 = simulate_geo(n_geos=5, n_periods=40, n_channels=3, seed=11, organic=2,
                          non_media=1, rf_channels=2, n_controls=3)  # fmt: skip
    for key in ("kpi", "spend", "controls", "organic", "non_media", "reach", "frequency"):
        np.testing.assert_array_equal(a1[key], a2[key])
    assert t1 == t2
    a3, t3 = simulate_geo(n_geos=5, n_periods=40, n_channels=3, seed=12)
    assert not np.allclose(a1["kpi"], a3["kpi"])
    assert t3["channels"]["tv"]["roas"] != t1["channels"]["tv"]["roas"]


def truth_names(truth):
    return list(truth["channels"])


def test_population_scaling_and_pooling():
    arr, truth = simulate_geo(n_geos=40, n_periods=52, n_channels=2, seed=5, pooling_sd=0.4)
    pop = np.asarray(truth["population"])
    assert pop.max() / pop.min() == pytest.approx(10.0, rel=1e-3)
    # totals follow the population, per-capita values do not
    total = arr["kpi"].sum(1)
    assert np.corrcoef(np.log(total), np.log(pop))[0, 1] > 0.9
    per_capita = total / pop
    assert per_capita.max() / per_capita.min() < 3
    spend_pc = arr["spend"].sum((1, 2)) / pop
    assert spend_pc.max() / spend_pc.min() < 6
    for name in ("tv", "search"):
        ch = truth["channels"][name]
        z = np.log(np.asarray(ch["beta_geo"]) / ch["beta_national"])
        assert 0.25 < z.std() < 0.55  # the pooling sd, 0.4, from 40 draws
        assert np.ptp(ch["roas_geo"]) > 0.3 * ch["roas"]
    _, flat = simulate_geo(n_geos=6, n_periods=40, n_channels=2, seed=5, pooling_sd=0.0)
    assert np.ptp(flat["channels"]["tv"]["beta_geo"]) == 0.0


def test_panel_passes_the_panel_checks():
    panel, truth = simulate_geo_panel(n_geos=4, n_periods=60, n_channels=2, seed=1)
    assert isinstance(panel, Panel) and panel.shape == (4, 60, 2)
    assert panel.geos == tuple(truth["geos"]) and panel.population is not None
    frame = panel.to_frame()
    again = Panel.from_frame(frame, geo="geo", date="date", kpi="sales",
                             channels=["tv_spend", "search_spend"],
                             controls=list(panel.control_names),
                             population="population")  # fmt: skip
    np.testing.assert_allclose(again.kpi, panel.kpi)
    np.testing.assert_allclose(again.spend, panel.spend)
    np.testing.assert_allclose(again.population, panel.population)
    no_pop, _ = simulate_geo_panel(n_geos=4, n_periods=60, n_channels=2, seed=1,
                                   population=False)  # fmt: skip
    assert no_pop.population is None
    np.testing.assert_array_equal(no_pop.kpi, panel.kpi)


def test_panel_roles_pass_the_panel_checks():
    panel, truth = simulate_geo_panel(n_geos=3, n_periods=80, n_channels=1, seed=2,
                                      rf_channels=1, organic=1, non_media=2)  # fmt: skip
    assert panel.rf_names == ("youtube",) and panel.organic_names == ("organic_social",)
    assert panel.non_media_names == ("promotion", "discount_depth")
    again = Panel.from_frame(
        panel.to_frame(), geo="geo", date="date", kpi="sales", channels=["tv_spend"],
        controls=list(panel.control_names), population="population",
        organic=["organic_social"], non_media=["promotion", "discount_depth"],
        reach_frequency={"youtube": {"reach": "youtube_reach", "frequency":
                                     "youtube_frequency", "spend": "youtube_spend"}},
    )  # fmt: skip
    for name in ("organic", "non_media", "reach", "frequency", "rf_spend"):
        np.testing.assert_allclose(getattr(again, name), getattr(panel, name))
    spend = np.asarray(truth["media_spend"]["youtube"])
    np.testing.assert_allclose(panel.rf_spend[..., 0], spend)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"n_geos": 0}, "n_geos must be an integer >= 1"),
        ({"n_periods": 10}, "n_periods must be an integer >= 20"),
        ({"n_channels": 0}, "at least one paid or rf channel"),
        ({"pooling_sd": -0.1}, "pooling_sd must be >= 0"),
        ({"rf_channels": 1.5}, "rf_channels must be an integer"),
    ],
)
def test_bad_settings(kwargs, text):
    with pytest.raises(SpecError, match=text):
        simulate_geo(**kwargs)
