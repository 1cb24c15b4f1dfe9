import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediamix.errors import SpecError
from mediamix.transforms import ADSTOCKS, SATURATIONS, apply_weights, get_adstock, get_saturation
from mediamix.transforms import adstock as ad
from mediamix.transforms import saturation as sat

PARAMS = {
    "log1p": {"a": 2.0, "scale": 3.0},
    "power": {"a": 1.5, "alpha": 0.6},
    "hill": {"beta": 4.0, "k": 2.0, "s": 2.5},
    "logistic": {"beta": 3.0, "lam": 0.7},
    "sigmoid": {"beta": 2.0, "r": 1.3, "m": 3.0},
    "exponential": {"beta": 5.0, "k": 0.4},
    "michaelis_menten": {"beta": 3.0, "k": 1.5},
    "table": {"xs": [1.0, 2.0, 4.0, 8.0], "ys": [1.0, 1.8, 2.6, 3.0]},
}


def test_registry_names_match_design():
    assert set(SATURATIONS) == set(PARAMS)
    assert set(ADSTOCKS) == {"geometric", "weibull_cdf", "weibull_pdf", "delayed"}


def test_closed_forms():
    x = np.array([0.0, 0.5, 1.0, 2.0, 7.0])
    np.testing.assert_allclose(sat.log1p(x, 2.0, 3.0), 2 * np.log(1 + x / 3), rtol=1e-6)
    np.testing.assert_allclose(sat.power(x, 1.5, 0.6), 1.5 * x**0.6, rtol=1e-6)
    np.testing.assert_allclose(sat.hill(x, 4.0, 2.0, 2.5), 4 * x**2.5 / (x**2.5 + 2**2.5), 1e-6)
    e = np.exp(-0.7 * x)
    np.testing.assert_allclose(sat.logistic(x, 3.0, 0.7), 3 * (1 - e) / (1 + e), rtol=1e-5)
    sg = 1 / (1 + np.exp(-1.3 * (x - 3))) - 1 / (1 + np.exp(1.3 * 3))
    np.testing.assert_allclose(sat.sigmoid(x, 2.0, 1.3, 3.0), 2 * sg, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sat.exponential(x, 5.0, 0.4), 5 * (1 - np.exp(-0.4 * x)), 1e-6)
    np.testing.assert_allclose(sat.michaelis_menten(x, 3.0, 1.5), 3 * x / (1.5 + x), rtol=1e-6)
    # Michaelis-Menten is Hill with slope 1.
    np.testing.assert_allclose(sat.hill(x, 3.0, 1.5, 1.0), sat.michaelis_menten(x, 3.0, 1.5))


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_derivative_matches_autodiff_and_zero_at_zero(name):
    fam = get_saturation(name)
    p = fam.complete(PARAMS[name])
    assert float(fam(0.0, **p)) == pytest.approx(0.0, abs=1e-7)
    xs = jnp.array([0.3, 1.1, 2.5, 3.7, 6.0])
    auto = jax.vmap(jax.grad(lambda v: fam(v, **p)))(xs)
    np.testing.assert_allclose(fam.deriv(xs, **p), auto, rtol=1e-4, atol=1e-6)
    # Monotone increasing.
    grid = jnp.linspace(0, 20, 400)
    assert np.all(np.diff(np.asarray(fam(grid, **p))) >= -1e-6)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_concavity_flag_agrees_with_second_differences(name):
    fam = get_saturation(name)
    p = fam.complete(PARAMS[name])
    grid = np.linspace(0, 20, 2001)
    with jax.enable_x64(True):
        y = np.asarray(fam(jnp.asarray(grid, dtype=jnp.float64), **p), dtype=float)
    second = np.diff(y, 2)
    numerically_concave = bool(np.all(second <= 1e-9))
    assert fam.is_concave(**p) == numerically_concave


def test_hill_inflection_point_is_where_curvature_changes():
    k, s = 2.0, 3.0
    x0 = float(get_saturation("hill").inflection(beta=1.0, k=k, s=s))
    assert x0 == pytest.approx(k * ((s - 1) / (s + 1)) ** (1 / s))
    second = jax.grad(jax.grad(lambda v: sat.hill(v, 1.0, k, s)))
    assert float(second(x0 - 0.05)) > 0 > float(second(x0 + 0.05))
    assert get_saturation("hill").is_concave(beta=1.0, k=k, s=0.8)


def test_saturation_broadcasts_over_draws_and_channels():
    x = jnp.ones((10, 3)) * jnp.arange(1, 4)  # (T, C)
    k = jnp.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])  # (S, C)
    # Saturation is elementwise: draws of a per-channel parameter get a time axis inserted.
    y = sat.hill(x, 1.0, k[:, None, :], 2.0)
    assert y.shape == (2, 10, 3)
    np.testing.assert_allclose(y[0, 0], 1.0 / (1.0 + (k[0] / x[0]) ** 2), rtol=1e-6)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(SpecError, match="Did you mean 'hill'"):
        get_saturation("hil")
    with pytest.raises(SpecError, match="Did you mean 'geometric'"):
        get_adstock("geometrc")
    with pytest.raises(SpecError, match="missing \\['k'\\]"):
        get_saturation("hill").complete({"beta": 1.0, "s": 1.0})


def test_table_validation_messages():
    sat.validate_table([0, 1, 2], [0, 1, 2])
    with pytest.raises(SpecError, match="must increase; point 2"):
        sat.validate_table([0, 2, 1], [0, 1, 2])
    with pytest.raises(SpecError, match="must not decrease"):
        sat.validate_table([0, 1, 2], [0, 2, 1])


def test_geometric_impulse_response_and_gain():
    x = jnp.zeros((12, 1)).at[2, 0].set(10.0)
    y = ad.geometric(x, jnp.array([0.5]), L=4)
    expected = np.zeros(12)
    expected[2:6] = 10 * 0.5 ** np.arange(4)
    np.testing.assert_allclose(y[:, 0], expected, rtol=1e-6)
    w = ad.geometric_weights(jnp.array([0.5]), 4)
    assert float(ad.steady_state_gain(w)[0]) == pytest.approx(1 + 0.5 + 0.25 + 0.125)
    wn = ad.geometric_weights(jnp.array([0.5]), 4, normalize=True)
    assert float(wn.sum()) == pytest.approx(1.0)


def test_constant_spend_reaches_steady_state():
    x = jnp.full((30, 2), 3.0)
    for name, p in {
        "geometric": {"lam": jnp.array([0.3, 0.8])},
        "weibull_cdf": {"shape": jnp.array([1.0, 2.0]), "scale": jnp.array([2.0, 3.0])},
        "weibull_pdf": {"shape": jnp.array([1.5, 3.0]), "scale": jnp.array([2.0, 3.0])},
        "delayed": {"lam": jnp.array([0.5, 0.7]), "theta": jnp.array([0.0, 2.0])},
    }.items():
        fam = get_adstock(name)
        w = fam.weights(L=6, **p)
        y = fam(x, L=6, **p)
        np.testing.assert_allclose(y[-1], 3.0 * ad.steady_state_gain(w), rtol=1e-5)
        np.testing.assert_allclose(y[0], 3.0 * w[:, 0], rtol=1e-5)


def test_delayed_peaks_at_theta_and_weibull_pdf_can_peak_late():
    w = ad.delayed_weights(jnp.array([0.6]), jnp.array([3.0]), 8)
    assert int(jnp.argmax(w[0])) == 3
    w = ad.weibull_pdf_weights(jnp.array([3.0]), jnp.array([4.0]), 10)
    assert int(jnp.argmax(w[0])) > 0
    w = ad.weibull_cdf_weights(jnp.array([1.0]), jnp.array([2.0]), 5)
    np.testing.assert_allclose(w[0], np.exp(-np.arange(5) / 2.0), rtol=1e-6)


def test_apply_weights_matches_numpy_convolution_and_broadcasts_draws():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(20, 3))
    lam = np.array([[0.2, 0.5, 0.9], [0.4, 0.4, 0.4]])  # two draws
    w = ad.geometric_weights(jnp.asarray(lam), 5)
    y = apply_weights(jnp.asarray(x), w)
    assert y.shape == (2, 20, 3)
    for s in range(2):
        for c in range(3):
            ref = np.convolve(x[:, c], np.asarray(w[s, c]))[:20]
            np.testing.assert_allclose(y[s, :, c], ref, rtol=1e-5)


def test_transforms_jit():
    f = jax.jit(lambda x, lam, k: sat.hill(ad.geometric(x, lam, L=4), 1.0, k, 2.0))
    y = f(jnp.ones((8, 2)), jnp.array([0.5, 0.5]), jnp.array([1.0, 1.0]))
    assert y.shape == (8, 2) and bool(jnp.all(jnp.isfinite(y)))


def test_bad_lag_is_a_spec_error():
    with pytest.raises(SpecError, match="positive integer"):
        ad.geometric_weights(jnp.array([0.5]), 0)


def test_hill_is_half_at_k_and_derivative_matches_finite_differences():
    for s in (0.5, 1.0, 2.0, 4.0):
        assert float(sat.hill(3.0, 1.0, 3.0, s)) == pytest.approx(0.5, rel=1e-6)
    with jax.enable_x64(True):
        for name in sorted(PARAMS):
            fam = get_saturation(name)
            p = fam.complete(PARAMS[name])
            x = jnp.array([0.7, 1.5, 2.9, 5.3], dtype=jnp.float64)  # off the table's knots
            h = 1e-6
            fd = (fam(x + h, **p) - fam(x - h, **p)) / (2 * h)
            np.testing.assert_allclose(fam.deriv(x, **p), fd, rtol=1e-5, atol=1e-9)


_positive = st.floats(0.05, 20.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(beta=_positive, k=_positive, s=st.floats(0.2, 5.0), x1=st.floats(0, 100), dx=_positive)
def test_hill_is_monotone_and_bounded_by_beta(beta, k, s, x1, dx):
    y1 = float(sat.hill(x1, beta, k, s))
    y2 = float(sat.hill(x1 + dx, beta, k, s))
    assert 0.0 <= y1 <= y2 * (1 + 1e-6) + 1e-9
    assert y2 <= beta * (1 + 1e-6)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["logistic", "exponential", "michaelis_menten", "log1p", "power"]),
    x1=st.floats(0, 50),
    dx=_positive,
)
def test_every_family_is_monotone_and_nonnegative(name, x1, dx):
    fam = get_saturation(name)
    p = fam.complete(PARAMS[name])
    y1, y2 = float(fam(x1, **p)), float(fam(x1 + dx, **p))
    assert 0.0 <= y1 <= y2 * (1 + 1e-6) + 1e-9
    assert float(fam.deriv(x1 + dx, **p)) >= 0.0


@settings(max_examples=30, deadline=None)
@given(lam=st.floats(0.0, 0.95), L=st.integers(1, 12), normalize=st.booleans())
def test_geometric_pulse_is_lambda_power_t_and_mass_is_conserved(lam, L, normalize):
    T = L + 3
    x = jnp.zeros((T, 1)).at[0, 0].set(1.0)
    y = np.asarray(ad.geometric(x, jnp.array([lam]), L=L, normalize=normalize))[:, 0]
    w = lam ** np.arange(L)
    if normalize:
        w = w / w.sum()
    np.testing.assert_allclose(y[:L], w, rtol=1e-5, atol=1e-7)
    assert np.all(y[L:] == 0)
    assert y.sum() == pytest.approx(w.sum(), rel=1e-5)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_rescaled_parameters_describe_the_same_curve(name):
    fam = get_saturation(name)
    p = fam.complete(PARAMS[name])
    x_scale, y_scale = 7.0, 3.0
    q = fam.rescale(p, x_scale, y_scale)
    x = np.linspace(0.0, 30.0, 13)
    np.testing.assert_allclose(fam(x / x_scale, **q), fam(x, **p) / y_scale, rtol=1e-5, atol=1e-7)
