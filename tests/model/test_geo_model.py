"""The geo model's maths, scaling, structure and errors (no sampler: closed forms by hand)."""

import jax
import numpy as np
import pytest

from mediamix.errors import DataError, SpecError
from mediamix.estimator.geo import GeoFitted, GeoMMM, _to_idata
from mediamix.inference.result import FitResult
from mediamix.model import geo as gm
from mediamix.model.geo_data import GeoData, GeoScalers
from mediamix.model.spec import ModelSpec
from mediamix.transforms.adstock import apply_weights, geometric_weights
from mediamix.transforms.saturation import hill

T = 60


def _panel(G=3, seed=0, pop=None, rf=False, organic=False, non_media=False):
    rng = np.random.default_rng(seed)
    pop = np.linspace(1.0, 3.0, G) * 1e3 if pop is None else np.asarray(pop, float)
    spend = rng.gamma(2.0, 1.0, (G, T, 2)) * pop[:, None, None]
    kpi = 10 * pop[:, None] + spend.sum(-1) + rng.normal(0, 1, (G, T))
    kw = {}
    if rf:
        kw["reach"] = rng.uniform(0.1, 0.4, (G, T, 1)) * pop[:, None, None]
        kw["frequency"] = rng.uniform(1.0, 6.0, (G, T, 1))
        kw["rf_spend"] = kw["reach"] * kw["frequency"] * 0.01
        kw["rf_names"] = ["video"]
    if organic:
        kw["organic"] = rng.gamma(2.0, 1.0, (G, T, 1)) * pop[:, None, None]
        kw["organic_names"] = ["email"]
    if non_media:
        kw["non_media"] = rng.binomial(1, 0.3, (G, T, 1)).astype(float)
        kw["non_media_names"] = ["promo"]
    return GeoData.from_arrays(kpi, spend, population=pop, channel_names=["tv", "search"], **kw)


def _params(st: gm.GeoStructure, seed=0) -> dict:
    """Random values of every site `components` reads."""
    rng = np.random.default_rng(seed)
    G = st.n_geos
    p = {"intercept": rng.normal(1, 0.1, G), "geo_trend": rng.normal(0, 0.1, G),
         "geo_season": rng.normal(0, 0.1, (G, st.n_fourier)),
         "beta": rng.uniform(0.1, 0.5, (G, st.n_media)),
         "beta_organic": rng.uniform(0.1, 0.5, (G, st.n_organic)),
         "non_media": rng.normal(0, 0.2, len(st.non_media_names)),
         "rf_hill_k": rng.uniform(1, 3, st.n_rf), "rf_hill_s": rng.uniform(1, 3, st.n_rf)}  # fmt: skip
    for g in st.sat_groups + st.ad_groups:
        for q in g.params:
            p[g.site(q)] = rng.uniform(0.3, 0.7, len(g.idx)) if q == "lam" else rng.uniform(
                0.8, 1.5, len(g.idx))  # fmt: skip
    return {k: np.asarray(v, np.float32) for k, v in p.items()}


def _prepare(data, **settings):
    return GeoMMM(**settings).prepare(data)


def test_components_add_up_to_mu_and_media_is_beta_times_units():
    data = _panel(rf=True, organic=True, non_media=True)
    _, sc, st, de, _ = _prepare(data)
    p = _params(st)
    c = {k: np.asarray(v) for k, v in gm.components_jit(st)(p, de).items()}
    assert c["media"].shape == (3, T, 3) and c["organic"].shape == (3, T, 1)
    assert c["non_media"].shape == (3, T, 1) and c["baseline"].shape == (3, T)
    total = c["baseline"] + c["media"].sum(-1) + c["organic"].sum(-1) + c["non_media"].sum(-1)
    np.testing.assert_allclose(c["mu"], total, rtol=1e-5, atol=1e-6)
    unit = np.asarray(jax.jit(lambda q, d: gm.transform_inputs(q, d, st))(p, de))
    np.testing.assert_allclose(c["media"], p["beta"][:, None, :] * unit[..., :3], rtol=1e-5)
    # non-media: coefficient x treatment / its sd, zero where the treatment is 0
    nm = data.non_media[..., 0] / sc.non_media.scale[0]
    np.testing.assert_allclose(c["non_media"][..., 0], p["non_media"][0] * nm, rtol=1e-5)


def test_one_geo_matches_the_numbers_by_hand():
    """G = 1: KPI and media per capita over their means, geometric adstock, Hill, and the rf
    channel's reach x Hill(frequency) adstocked, computed here with numpy."""
    data = _panel(G=1, rf=True, pop=[2500.0])
    _, sc, st, de, n = _prepare(data)
    assert not st.pooled
    p = _params(st, seed=3)
    c = {k: np.asarray(v) for k, v in gm.components_jit(st)(p, de).items()}
    pop = 2500.0
    x = data.media[0] / pop / sc.media_scale[:2]
    lam = p["geometric_lam"]
    w = geometric_weights(lam, 8, normalize=True)
    r = data.reach[0] / pop / sc.reach_scale
    rf_in = r * hill(data.frequency[0], 1.0, p["rf_hill_k"], p["rf_hill_s"])
    ad = apply_weights(np.concatenate([x, rf_in], axis=1), w)
    paid = hill(ad[:, :2], 1.0, p["hill_k"], p["hill_s"])
    unit = np.concatenate([paid, ad[:, 2:]], axis=1)
    np.testing.assert_allclose(c["media"][0], p["beta"][0] * unit, rtol=2e-4, atol=1e-6)
    # the KPI in model units: per capita over the mean per capita of the training periods
    y = data.kpi[0] / pop
    np.testing.assert_allclose(np.asarray(de["y"])[0], y / y.mean(), rtol=1e-5)
    # forward: the intercept makes the window mean of mu equal to the level
    raw = {"level": np.float32([1.2]), "trend": np.float32([0.0]),
           "season": np.zeros((1, st.n_fourier), np.float32),
           "effect": np.float32([[0.1, 0.05, 0.02]]),
           **{k: p[k] for k in ("geometric_lam", "hill_k", "hill_s", "rf_hill_k", "rf_hill_s")}}  # fmt: skip
    out = gm.forward_jit(st)(raw, de)
    w0 = gm.likelihood_window(st, n)
    np.testing.assert_allclose(np.asarray(out["mu"])[0, w0].mean(), 1.2, rtol=1e-5)
    # effect = the channel's mean contribution per period of the window
    mean_unit = unit[w0].mean(0)
    np.testing.assert_allclose(np.asarray(out["beta"])[0] * mean_unit, [0.1, 0.05, 0.02],
                               rtol=2e-3)  # fmt: skip


def test_population_scaling_keeps_the_per_capita_model():
    """Doubling one geo's population, KPI and media leaves its model-unit data (and so its
    per-capita effect) unchanged, and doubles its contributions in KPI units."""
    a = _panel(G=3, seed=1, organic=True)
    pop = a.population.copy()
    pop[1] *= 2
    scale = np.array([1.0, 2.0, 1.0])
    b = GeoData.from_arrays(a.kpi * scale[:, None], a.spend * scale[:, None, None],
                            population=pop, organic=a.organic * scale[:, None, None],
                            channel_names=a.channel_names, organic_names=a.organic_names)  # fmt: skip
    _, sa, st_a, da, _ = _prepare(a)
    _, sb, st_b, db, _ = _prepare(b)
    for k in ("media", "y"):
        np.testing.assert_allclose(np.asarray(da[k]), np.asarray(db[k]), rtol=1e-6)
    assert sa.kpi_scale == pytest.approx(sb.kpi_scale)
    p = _params(st_a)
    ca = (
        np.asarray(gm.components_jit(st_a)(p, da)["media"])
        * sa.kpi_scale
        * a.population[:, None, None]
    )
    cb = (
        np.asarray(gm.components_jit(st_b)(p, db)["media"])
        * sb.kpi_scale
        * b.population[:, None, None]
    )
    np.testing.assert_allclose(cb, ca * scale[:, None, None], rtol=1e-5)


def test_structure_is_hashable_by_value_and_compiles_once():
    a = _panel(seed=0)
    b = _panel(seed=5)  # other numbers, same shapes and names
    st_a = _prepare(a)[2]
    st_b = _prepare(b)[2]
    assert st_a == st_b and hash(st_a) == hash(st_b)
    assert gm.forward_jit(st_a) is gm.forward_jit(st_b)
    # the data-scaled priors are numbers of the design, not of the structure
    assert "priors" in _prepare(a)[3]


def test_pooling_and_per_geo_transform_sites():
    data = _panel(G=3)
    _, _, st, _, _ = _prepare(data, geo_transforms="per_geo")
    assert st.pooled
    dims, coords = st.dims()
    assert dims["hill_k_geo"] == ["geo", "sat_channel"] and "hill_s_geo" not in dims
    assert dims["geometric_lam_geo_z"] == ["geo", "adstock_channel"]
    assert dims["effect"] == ["channel"] and dims["effect_z"] == ["geo", "channel"]
    assert coords["geo"] == ["geo_0", "geo_1", "geo_2"]
    st_none = _prepare(data, geo_pooling="none")[2]
    dims, _ = st_none.dims()
    assert not st_none.pooled and dims["effect"] == ["geo", "channel"] and "effect_z" not in dims
    one = _prepare(_panel(G=1))[2]
    assert not one.pooled and "level_sd" not in one.dims()[0]


def test_optimal_frequency_is_the_argmax_of_hill_over_frequency():
    """d/df [Hill(f) / f] = 0 at f* = k (s - 1)^(1 / s) (s > 1): the fitted model's optimal
    frequency per draw, its interval, and the rf response is linear at f*."""
    data = _panel(G=2, rf=True)
    gd, sc, st, de, n = _prepare(data)
    S = 4
    k = np.array([1.5, 2.0, 2.5, 3.0], np.float32)
    s = np.array([2.0, 2.5, 3.0, 1.8], np.float32)
    p = _params(st)
    samples = {key: np.broadcast_to(v, (1, S) + v.shape).copy() for key, v in p.items()}
    samples["rf_hill_k"] = k.reshape(1, S, 1)
    samples["rf_hill_s"] = s.reshape(1, S, 1)
    samples["sigma"] = np.full((1, S), 0.1, np.float32)
    idata = _to_idata(FitResult(samples), st, gd)
    fitted = GeoFitted(ModelSpec(), gd, sc, n, "svi", 1.0, idata)
    f = fitted.optimal_frequency_draws()[:, 0]
    exact = k * (s - 1) ** (1 / s)
    step = fitted._frequency_grid(0)[1] - fitted._frequency_grid(0)[0]
    np.testing.assert_allclose(f, exact, atol=step)
    table = fitted.optimal_frequency(level=0.5)
    assert list(table["channel"]) == ["video"]
    assert table["lower"][0] <= table["mean"][0] <= table["upper"][0]
    video = fitted.responses()["geo_0"][2]
    assert video.family == "power" and float(video.params["alpha"]) == 1.0
    np.testing.assert_allclose(video(np.array([20.0])), 2 * video(np.array([10.0])), rtol=1e-9)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"form": "multiplicative"}, "form: the geo model is additive"),
        ({"media_prior": "roi"}, "media_prior: 'roi' is not available in the geo model"),
        ({"time_varying": ["tv"]}, "time_varying: the geo model has no time-varying"),
        ({"trend": "piecewise"}, "trend: 'piecewise' is not available in the geo model"),
        ({"geo_pooling": "partly"}, "geo_pooling: unknown value 'partly'.*Did you mean 'partial'"),
        ({"geo_transforms": "geo"}, "geo_transforms: unknown value 'geo'; choose one of shared"),
    ],
)
def test_unsupported_settings_are_clear_errors(settings, match):
    with pytest.raises(SpecError, match=match):
        GeoMMM(**settings)


def test_geo_settings_round_trip_through_yaml():
    spec = ModelSpec.from_dict({"geo_pooling": "none", "geo_transforms": "per_geo"})
    back = ModelSpec.from_yaml(spec.to_yaml())
    assert (back.geo_pooling, back.geo_transforms) == ("none", "per_geo")
    with pytest.raises(SpecError, match="model.geo_pooling: unknown value"):
        ModelSpec.from_dict({"geo_pooling": "nope"}, "model")


def test_data_errors_name_the_array_and_the_fix():
    kpi = np.ones((2, 30))
    with pytest.raises(DataError, match=r"spend: expected an array of shape \(2, 30, n\)"):
        GeoData.from_arrays(kpi, np.ones((2, 29, 1)))
    with pytest.raises(DataError, match="population: geo 1 has population 0.0"):
        GeoData.from_arrays(kpi, np.ones((2, 30, 1)), population=[1.0, 0.0])
    bad = np.ones((2, 30, 1))
    bad[1, 4, 0] = -3
    with pytest.raises(
        DataError, match="spend: value -3.0 in geo 1, period 4, column 0 is negative"
    ):
        GeoData.from_arrays(kpi, bad)
    with pytest.raises(DataError, match="channel_names: the name 'a' is used twice"):
        GeoData.from_arrays(kpi, np.ones((2, 30, 2)), channel_names=["a", "a"])
    data = GeoData.from_arrays(kpi, np.ones((2, 30, 1)))
    with pytest.raises(SpecError, match="holdout must be an integer between 0 and 20"):
        GeoMMM().fit(data, "map", holdout=25)
    with pytest.raises(SpecError, match="experiments: the geo model does not take lift tests"):
        GeoMMM().fit(data, "map", experiments=[{"channel": "channel_0"}])
    with pytest.raises(SpecError, match="channel 'tv' is named in two roles"):
        GeoMMM().prepare(GeoData.from_arrays(kpi, np.ones((2, 30, 1)), organic=np.ones((2, 30, 1)),
                                             channel_names=["tv"], organic_names=["tv"]))  # fmt: skip


def test_scalers_round_trip():
    data = _panel(rf=True, organic=True, non_media=True)
    sc = GeoScalers.fit(data, 50)
    back = GeoScalers.from_dict(sc.to_dict())
    assert back.kpi_scale == sc.kpi_scale
    np.testing.assert_array_equal(back.media_scale, sc.media_scale)
    np.testing.assert_array_equal(back.reach_scale, sc.reach_scale)
    # the KPI scale: the mean per capita over every geo and training period
    assert sc.kpi_scale == pytest.approx((data.kpi[:, :50] / data.population[:, None]).mean())


def test_unpooled_and_per_geo_transforms_forward():
    """``geo_pooling: none``: each geo's effect over its own window mean unit; ``geo_transforms:
    per_geo``: a geo's half-saturation and decay moved around the national values."""
    data = _panel(G=3, seed=2)
    _, _, st, de, n = _prepare(data, geo_pooling="none", geo_transforms="per_geo")
    p = _params(st)
    z = np.array([[-1.0, 0.5], [0.0, 0.0], [1.0, -0.5]], np.float32)
    raw = {"level": np.float32([1.0, 1.1, 0.9]), "trend": np.zeros(3, np.float32),
           "season": np.zeros((3, st.n_fourier), np.float32),
           "effect": np.float32([[0.1, 0.05], [0.2, 0.1], [0.3, 0.02]]),
           "hill_k": p["hill_k"], "hill_s": p["hill_s"], "geometric_lam": p["geometric_lam"],
           "hill_k_geo_sd": np.float32([0.2, 0.4]), "hill_k_geo_z": z,
           "geometric_lam_geo_sd": np.float32([0.3, 0.3]), "geometric_lam_geo_z": z}  # fmt: skip
    out = {k: np.asarray(v) for k, v in gm.forward_jit(st)(raw, de).items()}
    np.testing.assert_allclose(out["hill_k_geo"], p["hill_k"] * np.exp([0.2, 0.4] * z), rtol=1e-5)
    logit = np.log(p["geometric_lam"] / (1 - p["geometric_lam"]))
    lam_g = 1 / (1 + np.exp(-(logit + 0.3 * z)))
    np.testing.assert_allclose(out["geometric_lam_geo"], lam_g, rtol=1e-5)
    # geo 2's media by hand with its own decay and half-saturation
    pop = data.population[2]
    _, sc, *_ = _prepare(data)
    x = apply_weights(data.media[2] / pop / sc.media_scale, geometric_weights(lam_g[2], 8, True))
    unit = hill(x, 1.0, out["hill_k_geo"][2], p["hill_s"])
    w = gm.likelihood_window(st, n)
    np.testing.assert_allclose(out["beta"][2] * unit[w].mean(0), [0.3, 0.02], rtol=2e-3)
    np.testing.assert_allclose(out["mu"][:, w].mean(1), [1.0, 1.1, 0.9], rtol=1e-5)


def test_per_geo_controls_move_each_geo_around_the_national_coefficient():
    """``geo_controls: per_geo``: a free control's coefficient ``gamma + sd z`` per geo, a
    sign-constrained one ``gamma exp(sd z)`` (its sign kept); the baseline reads each geo's
    own; ``shared`` keeps one national coefficient."""
    rng = np.random.default_rng(4)
    base = _panel(G=3, seed=4)
    ctrl = rng.normal(0, 1, (3, T, 2))
    data = GeoData.from_arrays(base.kpi, base.media, controls=ctrl, population=base.population,
                               channel_names=["tv", "search"], control_names=["price", "temp"])  # fmt: skip
    _, sc, st, de, _ = _prepare(data, geo_controls="per_geo", control_signs={"price": "negative"})
    assert st.geo_controls and st.free_idx == (1,) and st.signed_idx == (0,)
    dims, _ = st.dims()
    assert dims["control"] == ["control_free"] and dims["control_z"] == ["geo", "control_free"]
    assert dims["geo_control_signed"] == ["geo", "signed_control"]
    z = np.float32([[-1.0], [0.0], [2.0]])
    p = _params(st)
    raw = {"level_geo": np.float32([1.0, 1.0, 1.0]), "level": np.float32(1.0),
           "trend": np.float32(0.0), "trend_sd": np.float32(0.1), "trend_z": np.zeros(3, np.float32),
           "season": np.zeros(st.n_fourier, np.float32), "season_sd": np.float32(0.1),
           "season_z": np.zeros((3, st.n_fourier), np.float32),
           "effect": np.float32([0.1, 0.05]), "effect_tau": np.float32([0.1, 0.1]),
           "effect_z": np.zeros((3, 2), np.float32),
           "control": np.float32([0.2]), "control_sd": np.float32([0.1]), "control_z": z,
           "control_signed": np.float32([0.3]), "control_signed_sd": np.float32([0.5]),
           "control_signed_z": z,
           **{k: p[k] for k in ("geometric_lam", "hill_k", "hill_s")}}  # fmt: skip
    out = {k: np.asarray(v) for k, v in gm.forward_jit(st)(raw, de).items()}
    np.testing.assert_allclose(out["geo_control"][:, 0], 0.2 + 0.1 * z[:, 0], rtol=1e-6)
    np.testing.assert_allclose(out["geo_control_signed"][:, 0], 0.3 * np.exp(0.5 * z[:, 0]),
                               rtol=1e-6)  # fmt: skip
    # the baseline by hand: intercept + each geo's own coefficients on its scaled controls
    q = {**p, "intercept": out["intercept"], "geo_trend": np.zeros(3, np.float32),
         "geo_season": np.zeros((3, st.n_fourier), np.float32),
         "geo_control": out["geo_control"], "geo_control_signed": out["geo_control_signed"]}  # fmt: skip
    b = np.asarray(jax.jit(lambda q, d: gm.baseline(q, d, st))(q, de))
    x = sc.controls.transform(ctrl)
    by_hand = (out["intercept"][:, None] + x[..., 1] * out["geo_control"][:, None, 0]
               - x[..., 0] * out["geo_control_signed"][:, None, 0])  # fmt: skip
    np.testing.assert_allclose(b, by_hand, rtol=1e-4, atol=1e-5)
    shared = _prepare(data, control_signs={"price": "negative"})[2]
    assert not shared.geo_controls and shared.dims()[0]["control"] == ["control_free"]
    assert "geo_control" not in shared.dims()[0]
    with pytest.raises(SpecError, match="geo_controls: unknown value 'geo'"):
        GeoMMM(geo_controls="geo")
