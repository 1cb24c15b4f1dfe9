"""Families as registered objects: numpy and JAX alike, priors, cone forms, the registry."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.transforms import (
    ADSTOCKS,
    SATURATIONS,
    AdstockFamily,
    SaturationFamily,
    apply_weights,
    get_adstock,
    get_saturation,
    register_adstock,
    register_saturation,
)
from mediamix.transforms.arrays import namespace

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
ADSTOCK_PARAMS = {
    "geometric": {"lam": np.array([0.3, 0.8]), "normalize": True},
    "weibull_cdf": {"shape": np.array([1.0, 2.0]), "scale": np.array([2.0, 3.0])},
    "weibull_pdf": {"shape": np.array([1.5, 3.0]), "scale": np.array([2.0, 3.0])},
    "delayed": {"lam": np.array([0.5, 0.7]), "theta": np.array([0.0, 2.0])},
}


def test_importing_the_transforms_does_not_import_jax():
    code = "import sys, mediamix.transforms; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_namespace_follows_the_arguments():
    assert namespace(np.ones(2), 1.0) is np
    assert namespace(1.0, jnp.ones(2)) is jnp
    seen = []
    jax.jit(lambda v: seen.append(namespace(v)) or v)(jnp.ones(2))
    assert seen == [jnp]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_numpy_in_numpy_out_in_float64_and_equal_to_jax(name):
    fam = get_saturation(name)
    p = fam.complete(PARAMS[name])
    x = np.array([0.0, 0.3, 1.1, 2.5, 3.7, 6.0, 40.0])
    for fn in (fam.fn, fam.deriv):
        y = fn(x, **p)
        assert isinstance(y, np.ndarray) and y.dtype == np.float64
        with jax.enable_x64(True):
            yj = fn(jnp.asarray(x), **p)
            assert not isinstance(yj, np.ndarray)
            np.testing.assert_allclose(y, np.asarray(yj), rtol=1e-12, atol=1e-15)


def test_numpy_path_is_quiet_where_a_branch_is_discarded():
    with np.errstate(all="raise"):  # (k / 0)^s and exp overflow happen in discarded branches
        assert get_saturation("hill").fn(np.array([0.0, 1e-300]), 1.0, 2.0, 50.0).tolist() == [
            0.0,
            0.0,
        ]
        get_saturation("sigmoid").fn(np.array([0.0, 1e6]), 1.0, 10.0, 3.0)


@pytest.mark.parametrize("name", sorted(ADSTOCK_PARAMS))
def test_adstock_numpy_and_jax_agree(name):
    fam = get_adstock(name)
    x = np.random.default_rng(0).gamma(2.0, size=(15, 2))
    w = fam.weights(L=6, **ADSTOCK_PARAMS[name])
    y = apply_weights(x, w)
    assert isinstance(w, np.ndarray) and isinstance(y, np.ndarray) and y.dtype == np.float64
    with jax.enable_x64(True):
        pj = {
            k: (v if isinstance(v, bool) else jnp.asarray(v))
            for k, v in ADSTOCK_PARAMS[name].items()
        }
        wj = fam.weights(L=6, **pj)
        yj = apply_weights(jnp.asarray(x), wj)
    np.testing.assert_allclose(w, np.asarray(wj), rtol=1e-12)
    np.testing.assert_allclose(y, np.asarray(yj), rtol=1e-12)


def test_default_priors_come_from_the_families_unchanged():
    from mediamix.model.priors import ADSTOCK_PRIORS, SATURATION_PRIORS, Prior

    def g(c, r):
        return Prior("gamma", {"concentration": c, "rate": r})

    def b(c1, c0):
        return Prior("beta", {"concentration1": c1, "concentration0": c0})

    assert SATURATION_PRIORS == {
        "hill": {"k": g(4.0, 4.0), "s": g(6.0, 4.0)},
        "logistic": {"lam": g(3.0, 2.0)},
        "exponential": {"k": g(2.0, 1.0)},
        "michaelis_menten": {"k": g(2.0, 2.0)},
        "log1p": {"scale": g(2.0, 2.0)},
        "power": {"alpha": b(2.0, 2.0)},
        "sigmoid": {"r": g(3.0, 1.0), "m": g(2.0, 2.0)},
    }
    assert ADSTOCK_PRIORS == {
        "geometric": {"lam": b(2.0, 2.0)},
        "weibull_cdf": {"shape": g(2.0, 1.0), "scale": g(2.0, 1.0)},
        "weibull_pdf": {"shape": g(2.0, 1.0), "scale": g(2.0, 1.0)},
        "delayed": {"lam": b(2.0, 2.0), "theta": Prior("half_normal", {"scale": 2.0})},
    }
    assert type(SATURATION_PRIORS) is dict and type(SATURATION_PRIORS["hill"]) is dict


def test_every_family_describes_itself_and_knows_its_cone_form():
    for fam in [*SATURATIONS.values(), *ADSTOCKS.values()]:
        assert fam.description and "\n" not in fam.description
    cone = {n for n, f in SATURATIONS.items() if f.has_cone_form(**f.complete(PARAMS[n]))}
    assert cone == {"log1p", "power", "exponential", "michaelis_menten", "table"}
    hill = get_saturation("hill")
    assert hill.has_cone_form(beta=1.0, k=2.0, s=np.array([1.0, 1.0]))
    assert not hill.has_cone_form(beta=1.0, k=2.0, s=np.array([1.0, 0.5]))
    assert hill.cone_form(None, {"beta": 1.0, "k": 2.0, "s": np.array([0.5])}) is None


def test_cone_forms_equal_the_formula():
    cp = pytest.importorskip("cvxpy")
    u = np.array([0.0, 0.5, 2.0, 7.0])
    for name in ("log1p", "power", "exponential", "michaelis_menten", "hill"):
        fam = get_saturation(name)
        p = fam.complete(dict(PARAMS[name], **({"s": 1.0} if name == "hill" else {})))
        flat = {k: np.full(u.size, v) for k, v in p.items()}
        var = cp.Variable(u.size)
        terms = fam.cone_form(var, flat)
        var.value = u
        got = np.zeros(u.size)
        for t in terms:
            rows = slice(None) if t.rows is None else t.rows
            got[rows] += t.expr.value
        np.testing.assert_allclose(got, fam.fn(u, **p), rtol=1e-9, atol=1e-12)


def test_simulator_draws_each_familys_shape_parameters():
    rng = np.random.default_rng(0)
    m = np.array([1.0, 10.0, 100.0])
    for name, fam in SATURATIONS.items():
        if fam.simulate is None:
            assert name == "table"
            continue
        p = fam.simulate(rng, m, rng.uniform(0.5, 1.5, 3))
        assert set(p) | {fam.amplitude} == set(fam.params)
        assert all(np.asarray(v).shape == (3,) for v in p.values())
    for name, fam in ADSTOCKS.items():
        p = fam.simulate(rng, 3, 1.0, 8)
        assert set(p) - {"L", *fam.options} == set(fam.params), name


def _cube(x, beta, k):
    """``beta * (1 - 1 / (1 + x / k)^3)``: concave; no cone form."""
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x), 0.0)
    return beta * (1.0 - 1.0 / (1.0 + x / k) ** 3)


def _cube_deriv(x, beta, k):
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x), 0.0)
    return 3.0 * beta / k / (1.0 + x / k) ** 4


def test_register_a_family_and_refuse_a_duplicate():
    fam = SaturationFamily(
        "cube_test",
        ("beta", "k"),
        _cube,
        _cube_deriv,
        lambda **_: True,
        x_params=("k",),
        positive=("k",),
        description="beta * (1 - (1 + x / k)^-3): concave",
    )
    try:
        assert register_saturation(fam) is fam
        assert get_saturation("cube_test") is fam
        with pytest.raises(SpecError, match="already registered"):
            register_saturation(fam)
        x = np.linspace(0, 5, 7)
        q = fam.rescale({"beta": 2.0, "k": 1.5}, 3.0, 2.0)
        np.testing.assert_allclose(fam(x / 3.0, **q), fam(x, beta=2.0, k=1.5) / 2.0, rtol=1e-12)
        d = jax.vmap(jax.grad(lambda v: fam(v, beta=2.0, k=1.5)))(jnp.linspace(0.1, 4, 5))
        np.testing.assert_allclose(fam.deriv(np.linspace(0.1, 4, 5), 2.0, 1.5), d, rtol=1e-5)
    finally:
        SATURATIONS.pop("cube_test", None)
    with pytest.raises(SpecError, match="not among its parameters"):
        register_saturation(SaturationFamily("bad_test", ("a",), _cube, _cube_deriv, amplitude="b"))
    assert "bad_test" not in SATURATIONS
    with pytest.raises(TypeError):
        register_saturation("hill")


def test_register_an_adstock_family():
    fam = AdstockFamily(
        "uniform_test",
        ("n",),
        lambda n, L: np.broadcast_to(np.ones(L) / L, np.shape(n) + (L,)),
        priors={"n": {"dist": "gamma", "concentration": 2.0, "rate": 1.0}},
    )
    try:
        register_adstock(fam)
        y = get_adstock("uniform_test")(np.ones((6, 2)), L=3, n=np.ones(2))
        np.testing.assert_allclose(y[-1], [1.0, 1.0])
        with pytest.raises(SpecError, match="already registered"):
            register_adstock(fam)
    finally:
        ADSTOCKS.pop("uniform_test", None)
