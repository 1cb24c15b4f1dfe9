"""The default media prior is a prior on the total media share of the KPI, split over the
channels by spend share; the ROI prior is centred on the data's revenue per spend; priors
the user sets still apply."""

import jax
import numpy as np
import pytest
from numpyro.infer import Predictive

from mediamix.data.simulate import simulate, simulated_dataset
from mediamix.errors import SpecError
from mediamix.estimator import MMM
from mediamix.model import ModelData, ModelSpec
from mediamix.model.maths import batched, components
from mediamix.model.numpyro_model import model
from mediamix.model.priors import ROI_SHARE, SHARE_SPLIT, split_concentration

HN = {"dist": "half_normal", "scale": 0.3}


def _prior_media_share(spec: ModelSpec, n_channels: int, draws: int = 1000, seed: int = 1):
    """Prior draws of the media contributions' share of the KPI over the likelihood window,
    through the model's own maths; and the draws of each channel's effect."""
    frame, truth = simulate(n_periods=156, n_channels=n_channels, seed=seed)
    _, _, structure, design, n_train = MMM(spec).prepare(simulated_dataset(frame, truth))
    prior = Predictive(model, num_samples=draws)(
        jax.random.PRNGKey(seed), design, structure, observe=False
    )
    keep = {k: v for k, v in prior.items() if k != "y"}
    comps = batched(components, structure)(keep, design)
    mask = np.asarray(design["mask"])
    media = np.asarray(comps["media"])[:, mask].sum(axis=(1, 2))
    share = media / float(np.asarray(design["y"])[mask].sum())
    return share, np.asarray(prior["effect"]), structure


def test_total_media_share_does_not_grow_with_the_channel_count():
    medians = {}
    for c in (3, 10):
        share, _, structure = _prior_media_share(ModelSpec(), c)
        assert structure.priors["effect"][0] == SHARE_SPLIT
        medians[c] = float(np.median(share))
        assert 0.1 < medians[c] < 0.5, (c, medians[c])
        assert 0.03 < np.quantile(share, 0.05) and np.quantile(share, 0.95) < 1.0
    assert 0.8 < medians[10] / medians[3] < 1.25, medians
    # the per-channel half-normal (the former default) says media is ~2x the KPI on 10 channels
    share, _, _ = _prior_media_share(ModelSpec(priors={"effect": HN}), 10)
    assert np.median(share) > 1.5


def test_split_follows_spend_share():
    conc = split_concentration(np.array([600.0, 300.0, 100.0]))
    np.testing.assert_allclose(conc, [1.8, 1.0, 1.0])  # C x share, at least 1
    np.testing.assert_allclose(split_concentration(np.array([5.0, 5.0, 5.0, 5.0])), 1.0)
    _, effect, structure = _prior_media_share(ModelSpec(), 10)
    spend = np.asarray(structure.priors["effect"][1]["concentration"])
    big, small = int(np.argmax(spend)), int(np.argmin(spend))
    assert spend[big] > spend[small]
    assert effect[:, big].mean() > 1.3 * effect[:, small].mean()


def test_explicit_priors_still_apply():
    # a site-wide effect prior: independent per-channel priors, exactly as given
    _, effect, structure = _prior_media_share(ModelSpec(priors={"effect": HN}), 3)
    d, params = structure.priors["effect"]
    assert d == "half_normal"
    np.testing.assert_allclose(params["scale"], 0.3)
    # one channel's own prior: that channel as given, the others scaled by spend share
    spec = ModelSpec(priors={"effect.tv": {"dist": "half_normal", "scale": 0.01}})
    share, effect, structure = _prior_media_share(spec, 3)
    d, params = structure.priors["effect"]
    assert d == "half_normal" and params["scale"][0] == pytest.approx(0.01)
    assert effect[:, 0].mean() < 0.02 < effect[:, 1:].mean()
    assert 0.1 < np.median(share) < 0.5
    # the total share prior itself
    tight = {"dist": "lognormal", "loc": float(np.log(0.5)), "scale": 0.05}
    share, _, _ = _prior_media_share(ModelSpec(priors={"media_share": tight}), 3)
    assert np.median(share) == pytest.approx(0.5, rel=0.03)
    # cost_proportional keeps its per-channel scale C x spend share x the effect prior
    _, _, structure = _prior_media_share(ModelSpec(media_prior="cost_proportional"), 3)
    d, params = structure.priors["effect"]
    assert d == "half_normal" and params["scale"].sum() == pytest.approx(0.3 * 3, rel=1e-5)


def test_media_share_prior_errors_name_the_problem():
    with pytest.raises(SpecError, match=r"priors.media_share: .*'effect.tv' replaces"):
        ModelSpec(priors={"media_share": HN, "effect.tv": HN})
    with pytest.raises(SpecError, match="multiplicative form puts a prior on each channel"):
        ModelSpec(form="multiplicative", priors={"media_share": HN})
    with pytest.raises(SpecError, match="'media_share' belongs to media_prior 'default'"):
        ModelSpec(media_prior="roi", priors={"media_share": HN})
    frame, truth = simulate(n_periods=60, n_channels=2, seed=2)
    spec = ModelSpec(priors={"media_share": {"dist": "normal", "loc": 0.3, "scale": 0.1}})
    with pytest.raises(SpecError, match="needs a distribution on positive numbers"):
        MMM(spec).prepare(simulated_dataset(frame, truth))


def test_roi_prior_is_centred_on_the_data_revenue_per_spend():
    rng = np.random.default_rng(0)
    T = 60
    spend = rng.uniform(10, 50, (T, 2))
    kpi = 5000 + rng.normal(0, 50, T)
    data = ModelData.from_arrays(kpi=kpi, spend=spend, channel_names=["tv", "search"])
    spec = ModelSpec(media_prior="roi", kpi_value=2.0)
    _, _, structure, _, _ = MMM(spec).prepare(data)
    d, params = structure.priors["roas"]
    w = slice(structure.warmup, T)
    per_spend = 2.0 * kpi[w].sum() / spend[w].sum()
    assert d == "lognormal"
    np.testing.assert_allclose(params["loc"], np.log(ROI_SHARE * per_spend), rtol=1e-5)
    # the user's own ROI prior is kept as written
    own = {"roas": {"dist": "lognormal", "loc": 0.5, "scale": 0.2}}
    _, _, structure, _, _ = MMM(spec.replace(priors=own)).prepare(data)
    np.testing.assert_allclose(structure.priors["roas"][1]["loc"], 0.5)
