import jax.numpy as jnp
import numpy as np

from mediamix.estimator import MMM
from mediamix.model import ModelData, ModelSpec
from mediamix.model.maths import components
from mediamix.transforms import apply_weights, get_saturation
from mediamix.transforms.adstock import geometric_weights


def _data(T=80, C=3, seed=0):
    rng = np.random.default_rng(seed)
    spend = rng.uniform(0, 100, (T, C)) * (rng.random((T, C)) < 0.7)
    return ModelData.from_arrays(kpi=rng.uniform(500, 800, T), spend=spend,
                                 channel_names=["tv", "search", "social"])  # fmt: skip


def test_components_wire_transforms_per_channel():
    """Mixed families: channel order, scaling and adstock match the transforms library."""
    data = _data()
    spec = ModelSpec(
        trend="none",
        seasonality_order=0,
        channel_transforms={"search": {"saturation": "logistic", "max_lag": 4}},
    )
    _, scalers, plan, design, _ = MMM(spec).prepare(data)
    params = {
        "intercept": jnp.float32(0.4),
        "beta": jnp.array([0.2, 0.3, 0.1], jnp.float32),
        "geometric_lam": jnp.array([0.5, 0.3, 0.7], jnp.float32),
        "hill_k": jnp.array([0.8, 1.2], jnp.float32),
        "hill_s": jnp.array([1.5, 2.0], jnp.float32),
        "logistic_lam": jnp.array([1.7], jnp.float32),
    }
    out = components(params, design, plan)
    x = data.media / scalers.media_scale
    lam = np.array([0.5, 0.3, 0.7])
    w = np.array(geometric_weights(lam, 8, normalize=True))
    w[1] = np.asarray(geometric_weights(0.3, 4, normalize=True)).tolist() + [0.0] * 4
    a = np.asarray(apply_weights(x, jnp.asarray(w)))
    hill = get_saturation("hill").fn
    expect = np.stack(
        [
            0.2 * np.asarray(hill(a[:, 0], 1.0, 0.8, 1.5)),
            0.3 * np.asarray(get_saturation("logistic").fn(a[:, 1], 1.0, 1.7)),
            0.1 * np.asarray(hill(a[:, 2], 1.0, 1.2, 2.0)),
        ],
        axis=1,
    )
    np.testing.assert_allclose(np.asarray(out["media"]), expect, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(out["mu"]), 0.4 + expect.sum(1), rtol=2e-5)


def test_multiplicative_recovers_cobb_douglas_elasticities():
    rng = np.random.default_rng(7)
    T = 156
    media = np.exp(rng.normal(0.0, 0.5, (T, 3))) * np.array([100.0, 50.0, 20.0])
    alpha = np.array([0.30, 0.15, 0.05])
    y = 1000 * np.prod(media**alpha, axis=1) * np.exp(rng.normal(0, 0.05, T))
    data = ModelData.from_arrays(kpi=y, spend=media, channel_names=["a", "b", "c"])
    spec = ModelSpec(form="multiplicative", adstock="none", trend="none", seasonality_order=0)
    fitted = MMM(spec).fit(data, method="map", steps=2000, learning_rate=0.02, warn=False)
    est = np.array([fitted.elasticities()[n][0] for n in "abc"])
    np.testing.assert_allclose(est, alpha, atol=0.03)
    assert fitted.structure.log_offset == 0.0


def test_roi_prior_applies_in_roi_units_daily_model():
    """A tight prior at ROAS 2 (in ROAS units) pins the fitted ROAS; exercises the daily
    terms (day-of-week), piecewise trend, Student-t noise, events and signed controls."""
    rng = np.random.default_rng(3)
    T = 120
    spend = rng.uniform(0, 50, (T, 2)) * (rng.random((T, 2)) < 0.8)
    promo = (rng.random(T) < 0.1).astype(float)
    price = rng.normal(10, 1, T)
    kpi = 400 + 2.5 * spend.sum(1) + 30 * promo - 8 * (price - 10) + rng.normal(0, 10, T)
    data = ModelData.from_arrays(
        kpi=kpi, spend=spend, controls=np.c_[promo, price], channel_names=["tv", "search"],
        control_names=["promo", "price"], freq="D",
    )  # fmt: skip
    spec = ModelSpec(
        media_prior="roi",
        trend="piecewise",
        trend_changepoints=3,
        likelihood="student_t",
        events=("promo",),
        control_signs={"price": "negative"},
        kpi_value=2.0,
        priors={"roas": {"dist": "lognormal", "loc": float(np.log(2.0)), "scale": 0.01}},
    )
    fitted = MMM(spec).fit(data, method="map", steps=1500, warn=False)
    assert fitted.structure.n_dow == 6 and fitted.structure.n_changepoints == 3
    np.testing.assert_allclose(fitted.roas_draws()[0], [2.0, 2.0], rtol=0.03)
    # the price effect in KPI units per unit of price: negative, near the true -8
    sign = fitted.structure.signs[0]
    scale = float(np.asarray(fitted.scalers.controls.scale).reshape(-1)[1])
    per_unit = float(fitted.draws("control_signed")[0, 0]) * sign * fitted.scalers.kpi_scale / scale
    assert sign == -1.0 and -12 < per_unit < -4


def test_sampled_level_and_effect_are_window_averages():
    """The sampled ``level`` is the mean location and ``effect_c`` each channel's mean
    contribution over the training periods; the intercept and beta are solved from them."""
    import jax
    from numpyro import handlers

    from mediamix.model.numpyro_model import model

    data = _data(T=60)
    _, _, plan, design, n_train = MMM(ModelSpec()).prepare(data, holdout=10)
    tr = handlers.trace(handlers.seed(model, jax.random.PRNGKey(3))).get_trace(design, plan)
    site = {k: v["value"] for k, v in tr.items()}
    params = {k: site[k] for k in ("intercept", "trend", "season", "beta", "geometric_lam",
                                   "hill_k", "hill_s")}  # fmt: skip
    out = components(params, design, plan)
    mu = np.asarray(out["mu"])
    assert n_train == 50
    # the likelihood window: the training periods after the adstock warm-up (7 weekly)
    window = np.asarray(design["mask"])
    assert window.sum() == n_train - 7 and not window[:7].any() and window[7:n_train].all()
    np.testing.assert_allclose(mu[window].mean(), float(site["level"]), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(tr["y"]["fn"].base_dist.loc), mu, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(out["media"])[window].mean(0), np.asarray(site["effect"]), rtol=1e-4
    )
