"""Fitting the geo model: recovery on a simulated panel with known truth, the draws' shapes
and units, responses, save / load, one MAP fit for the module."""

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.estimator import GeoFitted, GeoMMM
from mediamix.model.geo_data import GeoData
from mediamix.transforms.adstock import apply_weights, geometric_weights
from mediamix.transforms.saturation import hill

G, T = 6, 104


def simulate(seed: int = 0) -> tuple[GeoData, dict]:
    """6 geos x 104 weeks: two paid channels (geometric adstock, Hill; off air in some weeks), one reach-and-frequency
    channel, one organic channel and a promotion, per-geo effects around national ones; the
    KPI is per capita x population. Returns the data and the true contributions."""
    rng = np.random.default_rng(seed)
    pop = rng.uniform(0.5, 3.0, G) * 1e4
    level = rng.uniform(0.5, 1.5, (G, 2))
    spend_pc = rng.gamma(3.0, 1.0, (G, T, 2)) / 3.0 * level[:, None, :] * np.array([1.0, 0.5])
    spend_pc = spend_pc * rng.binomial(1, 0.7, (G, T, 2))  # flighting: weeks off air
    x = apply_weights(spend_pc / np.array([1.0, 0.5]),
                      geometric_weights(np.array([0.5, 0.3]), 8, normalize=True))  # fmt: skip
    beta = np.array([3.0, 1.5]) * np.exp(0.2 * rng.standard_normal((G, 2)))
    paid = beta[:, None, :] * hill(x, 1.0, 1.0, 1.5)
    reach_pc = rng.uniform(0.05, 0.3, (G, T, 1))
    freq = rng.uniform(1.0, 6.0, (G, T, 1))
    rf_in = apply_weights(reach_pc / 0.175 * hill(freq, 1.0, 2.0, 2.0),
                          geometric_weights(np.array([0.4]), 8, normalize=True))  # fmt: skip
    rf = 0.8 * rf_in
    organic_pc = rng.gamma(2.0, 1.0, (G, T, 1))
    org = 0.3 * hill(apply_weights(organic_pc / 2.0, geometric_weights(np.array([0.5]), 8,
                                                                       normalize=True)), 1.0, 1.0, 1.5)  # fmt: skip
    promo = rng.binomial(1, 0.25, (G, T, 1)).astype(float)
    season = 0.5 * np.sin(2 * np.pi * np.arange(T) / 52.18)
    base = rng.uniform(8, 12, G)[:, None] + season
    kpi_pc = base + paid.sum(-1) + rf[..., 0] + org[..., 0] + 0.6 * promo[..., 0]
    kpi_pc = kpi_pc + rng.normal(0, 0.3, (G, T))
    p3 = pop[:, None, None]
    data = GeoData.from_arrays(
        kpi_pc * pop[:, None], spend_pc * p3, population=pop, organic=organic_pc * p3,
        non_media=promo, reach=reach_pc * p3, frequency=freq, rf_spend=reach_pc * p3 * freq * 0.02,
        channel_names=["tv", "search"], rf_names=["video"], organic_names=["email"],
        non_media_names=["promo"],
    )  # fmt: skip
    truth = {"media": np.concatenate([paid, rf], -1) * p3, "organic": org * p3,
             "non_media": 0.6 * promo * p3}  # fmt: skip
    return data, truth


@pytest.fixture(scope="module")
def sim():
    return simulate()


@pytest.fixture(scope="module")
def fitted(sim):
    return GeoMMM().fit(sim[0], "map", steps=1500, warn=False, holdout=8)


def test_map_recovers_the_national_effects(sim, fitted):
    data, truth = sim
    w = fitted.window
    c = fitted.contribution_draws()
    est = c["media"][0][:, w].sum((0, 1))
    true = truth["media"][:, w].sum((0, 1))
    # all media together, and each channel, nationally over the window
    assert est.sum() == pytest.approx(true.sum(), rel=0.15)
    np.testing.assert_allclose(est, true, rtol=0.4)
    # the promotion's linear effect is well identified: within 15%
    nm = c["non_media"][0][:, w].sum()
    assert nm == pytest.approx(truth["non_media"][:, w].sum(), rel=0.15)
    assert fitted.diagnostics.in_sample_r2 > 0.95
    # the hold-out: the last 8 weeks out of the likelihood, predicted
    assert fitted.diagnostics.holdout_periods == 8 and fitted.diagnostics.holdout_r2 > 0.8


def test_draws_have_named_shapes_and_add_up(sim, fitted):
    data, _ = sim
    c = fitted.contribution_draws()
    S = fitted.n_draws
    assert c["media"].shape == (S, G, T, 3) and c["organic"].shape == (S, G, T, 1)
    assert c["non_media"].shape == (S, G, T, 1) and c["baseline"].shape == (S, G, T)
    total = c["baseline"] + c["media"].sum(-1) + c["organic"].sum(-1) + c["non_media"].sum(-1)
    np.testing.assert_allclose(total, fitted.expected_kpi(), rtol=1e-6)
    assert fitted.media_names == ["tv", "search", "video"]
    assert fitted.media_spend().shape == (G, T, 3)
    assert fitted.idata.posterior["beta"].dims[2:] == ("geo", "channel")
    assert list(fitted.idata.posterior["beta"].coords["geo"].values) == list(data.geos)
    assert fitted.predictive(seed=1).shape == (S, G, T)
    # contributions are in KPI units: zero media gives zero media contribution
    none = fitted.contribution_draws(media=np.zeros_like(data.media),
                                     rf_spend=np.zeros_like(data.rf_spend))  # fmt: skip
    assert np.abs(none["media"]).max() == 0.0
    # the expected KPI falls by what the media contributed
    drop = fitted.expected_kpi() - fitted.expected_kpi(media=np.zeros_like(data.media),
                                                       rf_spend=np.zeros_like(data.rf_spend))  # fmt: skip
    np.testing.assert_allclose(drop, c["media"].sum(-1), rtol=1e-4, atol=1e-3 * drop.max())
    with pytest.raises(SpecError, match=r"media must have shape \(6, 104, 2\)"):
        fitted.contribution_draws(media=np.zeros((6, 104, 3)))


def test_responses_match_the_model_at_steady_state(sim, fitted):
    """A paid channel's response at a constant spend is the model's contribution per period
    once the adstock has built up (constant spend from the start, last period)."""
    data, _ = sim
    resp = fitted.responses()
    assert list(resp) == list(data.geos)
    tv = resp["geo_2"][0]
    assert tv.name == "tv" and tv.family == "hill"
    x = 150.0
    media = data.media.copy()
    media[2, :, 0] = x / data.cost_per_unit[2, 0]
    model = fitted.contribution_draws(media=media)["media"][0, 2, -1, 0]
    assert float(tv(np.array([x]))[0, 0]) == pytest.approx(model, rel=1e-4)
    video = resp["geo_2"][2]
    assert video.family == "power" and video.name == "video"


def test_save_load_gives_identical_draws(fitted, tmp_path):
    path = fitted.save(tmp_path / "geo_model")
    back = GeoFitted.load(path)
    a, b = fitted.contribution_draws(), back.contribution_draws()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert back.media_names == fitted.media_names and back.n_train == fitted.n_train
    assert back.diagnostics.in_sample_r2 == fitted.diagnostics.in_sample_r2
    meta = (path / "meta.json").read_text()
    (path / "meta.json").write_text(meta.replace('"kind": "geo"', '"kind": "national"'))
    with pytest.raises(SpecError, match="holds a national model, not a geo model"):
        GeoFitted.load(path)
