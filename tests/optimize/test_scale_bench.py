"""The benchmark instances, certified (their time is measured by bench/bench_optimize.py)."""

import numpy as np
import pytest

from mediamix.optimize import solve
from tests.optimize.instances import concave_ads, s_shaped, slsqp


@pytest.mark.slow
def test_200_s_shaped_channels_certified_and_better_than_slsqp():
    prob, f, g, budget, rows = s_shaped(200)
    plan = solve(prob)
    assert plan.method == "global" and plan.gap <= 1e-4
    x = np.array(list(plan.allocation.values()))
    assert x.sum() <= budget * (1 + 1e-9)
    sv, feasible = slsqp(f, g, prob.n, budget, rows)
    assert f(x) >= sv * (1 - 1e-9)


@pytest.mark.slow
def test_10000_concave_ads_two_departments():
    prob, f, g, _, (A, b) = concave_ads(10000)
    plan = solve(prob)
    assert plan.method == "convex" and plan.gap <= 1e-6
    x = np.array(list(plan.allocation.values()))
    assert np.all(A @ x <= b * (1 + 1e-9))
    assert f(x) == pytest.approx(plan.kpi, rel=1e-9)
