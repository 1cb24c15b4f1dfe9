"""The optimizer needs neither JAX nor float32; a family registered at runtime is usable."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mediamix.optimize import Channel, Problem, Response, solve
from mediamix.transforms import SATURATIONS, SaturationFamily, register_saturation
from mediamix.transforms.arrays import namespace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BLOCK_JAX = """
import importlib.abc, sys
class _NoJax(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('jax', 'jaxlib'):
            raise ImportError('JAX is blocked in this test')
sys.meta_path.insert(0, _NoJax())
"""


def test_importing_the_optimizer_does_not_import_jax():
    code = "import sys, mediamix.optimize; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    # nor cvxpy: the convex path loads it when it runs
    code = "import sys, mediamix.optimize; assert 'cvxpy' not in sys.modules, 'cvxpy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_optimizer_solves_without_jax_installed():
    code = BLOCK_JAX + (
        "from mediamix.optimize import Problem, solve\n"
        f"for name in ('optimize_departments.yaml', 'optimize_sshaped.yaml'):\n"
        f"    plan = solve(Problem.from_yaml({str(EXAMPLES)!r} + '/' + name))\n"
        "    assert plan.status == 'optimal', plan.status\n"
        "assert 'jax' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def test_optimizer_does_not_import_the_report():
    code = (
        "import sys, mediamix.optimize, mediamix.optimize.solver, mediamix.optimize.sweep\n"
        "assert not [m for m in sys.modules if m.startswith('mediamix.report')]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_response_evaluates_in_float64_to_the_formula():
    beta, k, s, price = 10.0, 5.0, 2.5, 2.0
    r = Response("tv", "hill", {"beta": beta, "k": k, "s": s}, unit_price=price)
    x = np.array([1e-3, 0.7, 4.0, 10.0, 40.0, 1e4])
    u = x / price
    y = r(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y[0], beta * u**s / (u**s + k**s), rtol=1e-12)
    d = beta * s * k**s * u ** (s - 1) / (u**s + k**s) ** 2 / price
    # the slope is beta s f (1 - f) / x: 1 - f cancels far out on the flat part (x = 1e4)
    np.testing.assert_allclose(r.marginal(x)[0, :-1], d[:-1], rtol=1e-12)
    np.testing.assert_allclose(r.marginal(x)[0, -1], d[-1], rtol=1e-8)
    e = Response("e", "exponential", {"beta": np.array([3.0, 4.0]), "k": 0.01})
    np.testing.assert_allclose(
        e(x), np.array([3.0, 4.0])[:, None] * -np.expm1(-0.01 * x), rtol=1e-12
    )
    # tiny spend: float32 would lose these digits entirely
    m = Response("m", "michaelis_menten", {"beta": 1.0, "k": 1.0})
    assert float(m(np.array([1e-9]))[0, 0]) == pytest.approx(1e-9 / (1 + 1e-9), rel=1e-12)


def _soft(x, beta, k):
    """``beta * x^2 / (k^2 + x^2)``: S-shaped (Hill with slope 2), written as a user would."""
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x, dtype=float), 0.0)
    return beta * x**2 / (k**2 + x**2)


def _soft_deriv(x, beta, k):
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x, dtype=float), 0.0)
    return 2 * beta * k**2 * x / (k**2 + x**2) ** 2


def _sat(x, beta, k):
    """``beta * (1 - 1 / (1 + x / k))^...``: concave, no cone form (tangent cuts)."""
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x, dtype=float), 0.0)
    return beta * (1.0 - 1.0 / (1.0 + x / k) ** 2)


def _sat_deriv(x, beta, k):
    xp = namespace(x, beta, k)
    x = xp.maximum(xp.asarray(x, dtype=float), 0.0)
    return 2.0 * beta / k / (1.0 + x / k) ** 3


@pytest.fixture
def user_families():
    soft = SaturationFamily(
        "soft_test",
        ("beta", "k"),
        _soft,
        _soft_deriv,
        lambda **_: False,
        lambda beta, k: np.asarray(k, dtype=float) / np.sqrt(3.0),
        x_params=("k",),
        positive=("k",),
        description="beta * x^2 / (k^2 + x^2): S-shaped",
    )
    sat = SaturationFamily(
        "sat_test",
        ("beta", "k"),
        _sat,
        _sat_deriv,
        lambda **_: True,
        x_params=("k",),
        positive=("k",),
        description="beta * (1 - (1 + x / k)^-2): concave",
    )
    register_saturation(soft)
    register_saturation(sat)
    yield soft, sat
    SATURATIONS.pop("soft_test", None)
    SATURATIONS.pop("sat_test", None)


def test_a_family_registered_at_runtime_is_used_by_response_and_solve(user_families):
    # the user's S-shaped family is Hill with s = 2: the same optimum as the built-in family
    mine = Problem(
        channels=(
            Channel(Response("a", "soft_test", {"beta": 10.0, "k": 20.0})),
            Channel(Response("b", "hill", {"beta": 6.0, "k": 10.0, "s": 2.0})),
        ),
        budget=50.0,
    )
    ref = Problem(
        channels=(
            Channel(Response("a", "hill", {"beta": 10.0, "k": 20.0, "s": 2.0})),
            Channel(Response("b", "hill", {"beta": 6.0, "k": 10.0, "s": 2.0})),
        ),
        budget=50.0,
    )
    r = mine.channels[0].response
    assert not r.is_concave and r.inflection_spend()[0] == pytest.approx(20 / np.sqrt(3))
    p1, p2 = solve(mine), solve(ref)
    assert p1.method == "global" and p1.status == "optimal"
    assert p1.kpi == pytest.approx(p2.kpi, rel=1e-6)
    assert p1.allocation["a"] == pytest.approx(p2.allocation["a"], rel=1e-4)
    # a concave user family without a cone form: the convex path with tangent cuts, from YAML
    text = (
        "budget: 30\nchannels:\n"
        "  - {name: a, response: {type: sat_test, beta: 5, k: 10}}\n"
        "  - {name: b, response: {type: log1p, a: 2, scale: 4}}\n"
    )
    plan = solve(Problem.from_yaml(text))
    assert plan.method == "convex" and plan.gap <= 1e-4
    x = plan.allocation
    # equal marginal returns at the optimum
    assert _sat_deriv(x["a"], 5.0, 10.0) == pytest.approx(2.0 / (4.0 + x["b"]), rel=1e-5)
    with pytest.raises(Exception, match="parameter 'k' must be > 0"):
        Response("c", "sat_test", {"beta": 1.0, "k": -1.0})


def test_change_is_relative_and_change_abs_absolute():
    p = Problem.from_yaml(
        "budget: 100\nchannels:\n"
        "  - {name: a, response: {type: log1p, a: 20}, reference_spend: 40}\n"
        "  - {name: b, response: {type: log1p, a: 10}, reference_spend: 60}\n"
    )
    plan = solve(p)
    for c in plan.channels:
        assert c.change == pytest.approx((c.recommended - c.current) / c.current)
        assert c.change_abs == pytest.approx(c.recommended - c.current)
    assert {"change", "change_abs"} <= set(plan.to_dict()["channels"][0])


def test_min_spend_objective_value_is_the_spend():
    p = Problem.from_yaml(
        "objective: min_spend\nkpi_target: 30\nchannels:\n"
        "  - {name: a, response: {type: log1p, a: 20}}\n"
        "  - {name: b, response: {type: michaelis_menten, beta: 60, k: 50}}\n"
    )
    plan = solve(p)
    assert plan.objective_value == pytest.approx(plan.spend_total, rel=1e-9)
    assert plan.objective_value > 0 and plan.kpi == pytest.approx(30.0, rel=1e-6)
