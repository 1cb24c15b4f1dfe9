"""The geo analysis (mediamix.analysis.geo) on one real small geo fit (SVI, few steps).

The panel: 3 geos (one never spends on search), 2 paid channels, a reach-and-frequency channel,
an organic channel and a promotion; power curves without adstock (so mROAS has a closed form:
+x% spend multiplies a channel's contribution by (1 + x)^alpha) and a hold-out at the end (so
the window is not the whole data). One fit for the module: its compilation is most of the time.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mediamix.analysis import geo
from mediamix.errors import SpecError
from mediamix.estimator.geo import GeoMMM
from mediamix.model.geo_data import GeoData

GEOS = ["north", "south", "west"]
LEVEL = 0.9
T = 32
HOLDOUT = 4


def _panel(seed: int = 0) -> GeoData:
    rng = np.random.default_rng(seed)
    G = 3
    spend = rng.uniform(50, 150, (G, T, 2))
    spend[2, :, 1] = 0.0  # west never spends on search
    rf_spend = rng.uniform(20, 60, (G, T, 1))
    freq = rng.uniform(1.5, 3.0, (G, T, 1))
    reach = rf_spend / (0.01 * freq)
    organic = rng.uniform(0, 10, (G, T, 1))
    promo = rng.integers(0, 2, (G, T, 1)).astype(float)
    pop = np.array([1.0, 2.0, 0.5])
    kpi = pop[:, None] * (
        1000 + 2 * spend[..., 0] + 1.5 * spend[..., 1] + rf_spend[..., 0] + 5 * organic[..., 0]
        + 80 * promo[..., 0] + rng.normal(0, 20, (G, T))
    )  # fmt: skip
    return GeoData.from_arrays(
        kpi, spend=spend, population=pop, organic=organic, non_media=promo, reach=reach,
        frequency=freq, rf_spend=rf_spend, geos=GEOS, channel_names=["tv", "search"],
        organic_names=["email"], non_media_names=["promo"], rf_names=["video"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def fitted():
    spec = {"kpi_value": 2.0, "adstock": "none", "saturation": "power", "trend": "none",
            "seasonality_order": 0}  # fmt: skip
    return GeoMMM(spec).fit(_panel(), "svi", steps=150, draws=40, seed=0, holdout=HOLDOUT,
                            warn=False)  # fmt: skip


@pytest.fixture(scope="module")
def summary_json(fitted):
    return geo.to_json(fitted, LEVEL)


def _contrib_window(fitted, **kw):
    w = fitted.window
    return {k: v[:, :, w].sum(2) for k, v in fitted.contribution_draws(**kw).items()}


def test_window_leaves_out_the_holdout(fitted):
    assert fitted.window.stop == T - HOLDOUT  # the metrics are over the fitted window only


def test_national_contribution_is_the_sum_over_geos(fitted):
    df = geo.contributions(fitted, LEVEL)
    assert set(df["geo"]) == {"national", *GEOS}
    assert set(df["role"]) == {"paid", "rf", "organic", "non_media", "baseline"}
    for ch in ["tv", "search", "video", "email", "promo", "baseline"]:
        rows = df[df["channel"] == ch].set_index("geo")
        assert rows.loc["national", "mean"] == pytest.approx(
            rows.loc[GEOS, "mean"].sum(), rel=1e-12
        )
    # the components add up to the expected KPI of the window
    ekpi = fitted.expected_kpi()[:, :, fitted.window].sum(2).mean(0)
    for j, g in enumerate(GEOS):
        assert df[df["geo"] == g]["mean"].sum() == pytest.approx(ekpi[j], rel=1e-5)
    assert (df["lower"] <= df["mean"] + 1e-9).all() and (df["mean"] <= df["upper"] + 1e-9).all()
    west = df[(df["geo"] == "west") & (df["channel"] == "search")]
    assert float(west["mean"].iloc[0]) == 0.0  # no spend, no contribution


def test_roas_is_window_contribution_over_window_spend(fitted):
    w = fitted.window
    c = _contrib_window(fitted)["media"]  # (S, G, M)
    spend = fitted.media_spend()[:, w].sum(1)  # (G, M)
    by_geo = geo.roas_draws(fitted, by="geo")
    national = geo.roas_draws(fitted)
    assert by_geo.shape == (fitted.n_draws, 3, 3) and national.shape == (fitted.n_draws, 3)
    np.testing.assert_allclose(by_geo[:, 0, 0], 2.0 * c[:, 0, 0] / spend[0, 0], rtol=1e-12)
    np.testing.assert_allclose(national[:, 2], 2.0 * c[:, :, 2].sum(1) / spend[:, 2].sum(),
                               rtol=1e-12)  # fmt: skip
    assert np.all(np.isnan(by_geo[:, 2, 1]))  # west never spends on search: no ROAS


def test_mroas_closed_forms(fitted):
    """Paid channels: power curve, no adstock: +x% spend multiplies the contribution by
    (1+x)^alpha, so mROAS = ROAS ((1+step)^alpha - 1) / step per draw. video (reach and
    frequency): linear in reach at the observed frequency, no adstock: mROAS = ROAS at any
    step."""
    step = 0.01
    roas = geo.roas_draws(fitted, by="geo")
    mroas = geo.mroas_draws(fitted, step=step, by="geo")
    resp = fitted.responses()
    for j, g in enumerate(GEOS):
        for i in (0, 1):
            alpha = resp[g][i].draw_params()["alpha"]
            want = roas[:, j, i] * ((1 + step) ** alpha - 1) / step
            np.testing.assert_allclose(mroas[:, j, i], want, rtol=1e-3)
            if j != 2 or i != 1:  # a curve, not a line: the marginal return is below the average
                assert np.all(mroas[:, j, i] < 0.995 * roas[:, j, i])
        np.testing.assert_allclose(mroas[:, j, 2], roas[:, j, 2], rtol=1e-3)
    assert np.all(np.isnan(mroas[:, 2, 1]))  # west: no search spend, no mROAS
    big = geo.mroas_draws(fitted, step=0.5)
    np.testing.assert_allclose(big[:, 2], geo.roas_draws(fitted)[:, 2], rtol=1e-3)


def test_geo_mroas_equals_raising_that_geo_alone(fitted):
    step, w = 0.01, fitted.window
    base = fitted.expected_kpi()[:, :, w].sum(2)
    media = np.array(fitted.data.media)
    media[1, w, 1] *= 1 + step  # search in south only
    up = fitted.expected_kpi(media=media)[:, :, w].sum(2)
    spend = fitted.data.spend[1, w, 1].sum()
    want = 2.0 * (up[:, 1] - base[:, 1]) / (step * spend)  # through the expected KPI
    got = geo.mroas_draws(fitted, step, by="geo")[:, 1, 1]
    np.testing.assert_allclose(got, want, rtol=1e-3)  # float32 round-off of the whole KPI
    c0 = _contrib_window(fitted)["media"][:, 1, 1]
    c1 = _contrib_window(fitted, media=media)["media"][:, 1, 1]
    np.testing.assert_allclose(got, 2.0 * (c1 - c0) / (step * spend), rtol=1e-4)
    assert np.allclose(up[:, [0, 2]], base[:, [0, 2]])  # the other geos did not move


def test_summary_json_geo_keys_and_national_block(fitted, summary_json):
    s = json.loads(json.dumps(summary_json))  # plain JSON
    assert s["model"]["kind"] == "geo" and s["model"]["geos"] == GEOS
    nat_keys = {"spend", "current_spend_per_period", "contribution", "roas", "mroas",
                "cost_per_kpi"}  # fmt: skip
    assert set(s["channels"]) == {"tv", "search", "video"}
    for name, ch in s["channels"].items():
        assert nat_keys <= set(ch)
        for k in ("roas", "mroas", "contribution"):
            t = ch[k]
            assert t["lower"] <= t["mean"] <= t["upper"], (name, k)
    assert set(s["geos"]) == set(GEOS)
    for g in GEOS:
        for name in ("tv", "search", "video"):
            for k in ("roas", "mroas", "contribution"):
                assert set(s["geos"][g]["channels"][name][k]) >= {"mean", "lower", "upper"}
        assert set(s["geos"][g]["organic"]["email"]["contribution"]) == {"mean", "lower", "upper"}
        assert "roas" not in s["geos"][g]["organic"]["email"]
        assert "promo" in s["geos"][g]["non_media"]
    assert s["geos"]["west"]["channels"]["search"]["roas"]["mean"] is None
    assert s["organic"]["email"]["contribution"]["mean"] > 0
    assert set(s["optimal_frequency"]) == {"video"}
    of = s["optimal_frequency"]["video"]
    assert of["lower"] <= of["mean"] <= of["upper"]
    assert "diagnostics" in s and s["window"]["first_period"] == fitted.window.start
    tot = sum(s["geos"][g]["channels"]["tv"]["contribution"]["mean"] for g in GEOS)
    assert s["channels"]["tv"]["contribution"]["mean"] == pytest.approx(tot, rel=1e-12)
    roas = geo.roas_draws(fitted)[:, 0].mean()
    assert s["channels"]["tv"]["roas"]["mean"] == pytest.approx(roas, rel=1e-12)


def test_summary_table_rows(fitted, summary_json):
    df = geo.summary(fitted, LEVEL)
    assert set(df["geo"]) == {"national", *GEOS}
    row = df[(df["geo"] == "south") & (df["channel"] == "tv")].iloc[0]
    assert row["roas_mean"] == pytest.approx(
        summary_json["geos"]["south"]["channels"]["tv"]["roas"]["mean"], rel=1e-12
    )
    email = df[df["channel"] == "email"]
    assert email["roas_mean"].isna().all() and email["contribution_mean"].notna().all()


def test_what_if_observed_plan_is_zero_change(fitted):
    w = fitted.window
    cur = fitted.media_spend()[:, w].sum(1) / (w.stop - w.start)  # (G, M) per period
    same = {name: float(cur[:, i].sum()) for i, name in enumerate(fitted.media_names)}
    res = geo.what_if(fitted, same)
    assert res.delta_kpi == {"mean": 0.0, "lower": 0.0, "upper": 0.0}
    assert res.extra_spend == pytest.approx(0.0, abs=1e-6)
    per_geo = geo.what_if(fitted, {"south": {"tv": float(cur[1, 0])}})
    assert per_geo.delta_kpi["mean"] == 0.0
    promo = geo.what_if(fitted, non_media={"north": {"promo": fitted.data.non_media[0, 5, 0]}})
    assert set(promo.by_geo["geo"]) == set(GEOS)


def test_what_if_per_geo_spend_moves_that_geo_only(fitted):
    w = fitted.window
    n = w.stop - w.start
    res = geo.what_if(fitted, {"west": {"search": 100.0}})  # west never spent on search
    assert res.extra_spend == pytest.approx(100.0 * n)
    rows = res.by_geo.set_index("geo")
    assert rows.loc["north", "delta_mean"] == 0.0 and rows.loc["south", "delta_mean"] == 0.0
    assert rows.loc["west", "delta_mean"] > 0
    assert res.delta_kpi["lower"] <= res.delta_kpi["mean"] <= res.delta_kpi["upper"]


def test_what_if_national_spend_and_promo(fitted):
    w = fitted.window
    n = w.stop - w.start
    cur = fitted.media_spend()[:, w].sum((0, 1)) / n
    res = geo.what_if(fitted, {"tv": 1.5 * float(cur[0])})
    assert res.extra_spend == pytest.approx(0.5 * cur[0] * n, rel=1e-9)
    # the split over geos is kept: each geo's extra spend is half its own tv spend
    own = fitted.media_spend()[:, w, 0].sum(1)
    np.testing.assert_allclose(res.by_geo["extra_spend"], 0.5 * own, rtol=1e-9)
    assert res.delta_kpi["mean"] > 0
    on = geo.what_if(fitted, non_media={"promo": 1.0})
    off = geo.what_if(fitted, non_media={"promo": 0.0})
    assert on.delta_kpi["mean"] > off.delta_kpi["mean"]
    assert on.extra_spend == 0.0 and on.delta_value_per_spend["mean"] is None
    # the promo's contribution is its effect against 0: switching it off loses exactly that
    promo = _contrib_window(fitted)["non_media"][:, :, 0].sum(1)
    assert off.delta_kpi["mean"] == pytest.approx(-promo.mean(), rel=1e-6)


@pytest.mark.parametrize(
    ("spend", "non_media", "words"),
    [
        ({"tvv": 1.0}, None, ["'tvv'", "channels: tv, search, video", "Did you mean 'tv'?"]),
        ({"nrth": {"tv": 1.0}}, None, ["geo 'nrth'", "north, south, west", "'north'"]),
        ({"south": {"serch": 1.0}}, None, ["'serch'", "in geo 'south'", "'search'"]),
        ({"email": 1.0}, None, ["'email' has no spend", "non_media"]),
        ({"south": 5.0}, None, ["'south' is a geo", "{south: {channel: value}}"]),
        ({"tv": -1.0}, None, ["tv", ">= 0", "-1.0"]),
        (None, {"promotion": 1.0}, ["'promotion'", "promo", "Did you mean 'promo'?"]),
    ],
)
def test_what_if_errors_name_the_thing(fitted, spend, non_media, words):
    with pytest.raises(SpecError) as err:
        geo.what_if(fitted, spend, non_media)
    for word in words:
        assert word in str(err.value)


def test_bad_by_and_step(fitted):
    with pytest.raises(SpecError, match="by must be one of"):
        geo.roas_draws(fitted, by="region")
    with pytest.raises(SpecError, match="step must be > 0"):
        geo.mroas_draws(fitted, step=0.0)


def test_response_curves_and_national_responses(fitted):
    rc = geo.response_curves(fitted, n_points=11, level=LEVEL)
    assert set(rc["geo"]) == {"national", *GEOS}
    assert set(rc["channel"]) == {"tv", "search", "video"}
    assert (rc["lower"] <= rc["mean"] + 1e-9).all() and (rc["mean"] <= rc["upper"] + 1e-9).all()
    resp = fitted.responses()
    north_tv = rc[(rc["geo"] == "north") & (rc["channel"] == "tv")]
    np.testing.assert_allclose(north_tv["mean"], resp["north"][0].mean(north_tv["spend"].values))
    # national at the current split = the sum of the geo curves at their shares
    w = fitted.window
    spend = fitted.media_spend()[:, w, 0].sum(1)
    share = spend / spend.sum()
    nat = rc[(rc["geo"] == "national") & (rc["channel"] == "tv")]
    x = nat["spend"].values
    want = sum(resp[g][0](share[j] * x) for j, g in enumerate(GEOS)).mean(0)
    np.testing.assert_allclose(nat["mean"], want, rtol=1e-9)
    # the marginal return: the slope of the summed curve (a central difference)
    x0 = float(nat.loc[nat["current"], "spend"].iloc[0])
    h = 1e-3 * x0

    def f(x):
        return sum(resp[g][0](share[j] * np.array([x])) for j, g in enumerate(GEOS)).mean()

    slope = (f(x0 + h) - f(x0 - h)) / (2 * h)
    assert nat.loc[nat["current"], "marginal_mean"].iloc[0] == pytest.approx(slope, rel=1e-4)
    nr = geo.national_responses(fitted)
    assert [r.name for r in nr] == ["tv", "search", "video"]
    assert all(r.family == "table" for r in nr)
    cur = fitted.media_spend()[:, w].sum((0, 1)) / (w.stop - w.start)
    for r, c in zip(nr, cur, strict=True):
        assert r.reference_spend == pytest.approx(c)
        assert r.kpi_value == 2.0
    # the table reproduces the summed curve at the current national spend
    tv = nr[0]
    got = tv.mean(np.array([cur[0]]))[0]
    want_cur = sum(resp[g][0](share[j] * np.array([cur[0]])) for j, g in enumerate(GEOS))
    assert got == pytest.approx(float(want_cur.mean()), rel=0.02)
