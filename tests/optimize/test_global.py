"""S-shaped curves: the certified optimum beats a dense grid and multi-start SLSQP."""

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from mediamix.optimize import Channel, Problem, Response, solve


def _hill(x, beta, k, s):
    x = np.maximum(x, 0.0)
    return beta * x**s / (x**s + k**s)


def _instance(n, seed):
    rng = np.random.default_rng(seed)
    pars = [
        (float(rng.uniform(2, 10)), float(rng.uniform(2, 12)), float(rng.uniform(1.5, 4.5)))
        for _ in range(n)
    ]
    prices = rng.uniform(0.5, 2.0, n)
    budget = float(rng.uniform(2, 6) * n)
    chans = tuple(
        Channel(
            Response(
                f"c{i}", "hill", dict(zip("beta k s".split(), p, strict=True)), float(prices[i])
            )
        )
        for i, p in enumerate(pars)
    )
    f = lambda x: sum(_hill(x[i] / prices[i], *pars[i]) for i in range(n))  # noqa: E731
    return Problem(channels=chans, budget=budget), f, budget


def _grid_best(f, n, budget, m):
    g = np.linspace(0, budget, m)
    best = -np.inf
    for idx in itertools.product(range(m), repeat=n - 1):
        rest = budget - g[list(idx)].sum()
        if rest < -1e-12:
            continue
        best = max(best, f(np.r_[g[list(idx)], rest]))
    return best


def _slsqp_best(f, n, budget, starts, seed):
    rng = np.random.default_rng(seed)
    best = -np.inf
    for _ in range(starts):
        x0 = rng.dirichlet(np.ones(n)) * budget
        r = minimize(
            lambda x: -f(x),
            x0,
            method="SLSQP",
            bounds=[(0, budget)] * n,
            constraints=[{"type": "ineq", "fun": lambda x: budget - x.sum()}],
            options={"ftol": 1e-12, "maxiter": 300},
        )
        if r.success or True:
            x = np.clip(r.x, 0, budget)
            if x.sum() <= budget * (1 + 1e-9):
                best = max(best, f(x))
    return best


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (4, 2), (5, 3), (3, 4), (2, 5)])
def test_global_beats_grid_and_multistart_slsqp(n, seed):
    prob, f, budget = _instance(n, seed)
    plan = solve(prob)
    assert plan.method == "global" and plan.status == "optimal"
    x = np.array([plan.allocation[f"c{i}"] for i in range(n)])
    assert x.sum() <= budget * (1 + 1e-9)
    ours = f(x)
    assert ours == pytest.approx(plan.kpi, rel=1e-9)
    m = {2: 4001, 3: 401, 4: 61, 5: 25}[n]
    grid = _grid_best(f, n, budget, m)
    slsqp = _slsqp_best(f, n, budget, 20, seed)
    assert ours >= grid - 1e-9 * abs(grid)
    assert ours >= slsqp - 1e-7 * abs(slsqp)
    # honest certificate: no point found by anyone exceeds the upper bound
    assert plan.gap <= 1e-4
    assert max(grid, slsqp) <= plan.upper_bound * (1 + 1e-12)
    assert plan.upper_bound <= ours * (1 + plan.gap) * (1 + 1e-12)


def test_two_channel_gap_contains_dense_optimum():
    # two equal S-curves: the even split is a stationary point, concentrating is optimal
    chans = (
        Channel(Response("a", "hill", {"beta": 10.0, "k": 50.0, "s": 4.0})),
        Channel(Response("b", "hill", {"beta": 10.0, "k": 50.0, "s": 4.0})),
    )
    plan = solve(Problem(channels=chans, budget=70.0))
    g = np.linspace(0, 70, 700001)
    vals = _hill(g, 10, 50, 4) + _hill(70 - g, 10, 50, 4)
    true = vals.max()
    assert plan.kpi >= true - 1e-6
    assert plan.upper_bound >= true
    r = minimize(
        lambda v: -(_hill(v[0], 10, 50, 4) + _hill(v[1], 10, 50, 4)),
        [35.0, 35.0],
        method="SLSQP",
        bounds=[(0, 70)] * 2,
        constraints=[{"type": "ineq", "fun": lambda v: 70 - v.sum()}],
    )
    assert -r.fun < true - 1.0  # the local method stays at the even split; ours does not


def test_sigmoid_with_draws_and_departments():
    rng = np.random.default_rng(7)
    S = 30
    chans = (
        Channel(
            Response(
                "tv",
                "sigmoid",
                {"beta": rng.uniform(40, 60, S), "r": 0.15, "m": rng.uniform(25, 35, S)},
            ),
            shares={"brand": 1.0},
        ),
        Channel(Response("search", "log1p", {"a": 10.0, "scale": 5.0}), shares={"perf": 1.0}),
        Channel(
            Response("social", "hill", {"beta": 20.0, "k": rng.uniform(10, 20, S), "s": 2.0}),
            shares={"brand": 0.5, "perf": 0.5},
        ),
    )
    prob = Problem(channels=chans, departments={"brand": 60.0, "perf": 40.0})
    plan = solve(prob)
    assert plan.method == "global"
    # brute force over the two free spends (search gets the rest of perf)
    g = np.linspace(0, 100, 401)
    T, SO = np.meshgrid(g, g, indexing="ij")
    ok = T + 0.5 * SO <= 60 + 1e-9
    se = np.maximum(40 - 0.5 * SO, 0)
    ok &= 0.5 * SO <= 40 + 1e-9
    tvp, socp = chans[0].response, chans[2].response
    val = tvp.mean(T.ravel()).reshape(T.shape) + socp.mean(SO.ravel()).reshape(T.shape)
    val = val + 10 * np.log1p(se / 5)
    best = val[ok].max()
    assert plan.kpi >= best - 1e-4 * best
    assert plan.upper_bound >= best * (1 - 1e-9)
    assert plan.departments["brand"].spend <= 60 + 1e-6


def test_explanation_equal_marginals_and_shadow_price():
    prob, f, _ = _instance(5, 21)
    plan = solve(prob)
    lam = plan.constraints[0].shadow_price
    free = [c for c in plan.channels if c.binding is None]
    assert free
    for c in free:
        assert c.marginal_return == pytest.approx(lam, rel=1e-5)
    # the shadow price is the KPI of one more unit of budget (finite difference)
    bumped = solve(prob.with_budget(prob.budget + 1e-3))
    assert (bumped.kpi - plan.kpi) / 1e-3 == pytest.approx(lam, rel=1e-2)


def test_method_can_be_forced():
    from mediamix.errors import SpecError

    concave = Problem(
        channels=(
            Channel(Response("a", "log1p", {"a": 5.0, "scale": 2.0})),
            Channel(Response("b", "exponential", {"beta": 9.0, "k": 0.2})),
        ),
        budget=20.0,
    )
    c = solve(concave)
    g = solve(concave, method="global")
    assert c.method == "convex" and g.method == "global"
    assert g.kpi == pytest.approx(c.kpi, rel=1e-8)
    s_shaped, _, _ = _instance(3, 2)
    with pytest.raises(SpecError, match="S-shaped"):
        solve(s_shaped, method="convex")


def test_s_shaped_elastic_budget_overrun():
    chans = (
        Channel(Response("a", "hill", {"beta": 100.0, "k": 10.0, "s": 3.0}), lower=5.0),
        Channel(Response("b", "hill", {"beta": 50.0, "k": 8.0, "s": 2.0}), lower=5.0),
    )
    prob = Problem(channels=chans, budget=8.0, elastic_penalty=3.0)
    plan = solve(prob)
    over = plan.spend_total - 8.0
    assert over > 2.0 - 1e-9  # the lower bounds force at least 2 over budget
    # brute force: value - penalty * overrun
    g = np.linspace(5, 40, 3501)
    A, B = np.meshgrid(g, g, indexing="ij")
    val = _hill(A, 100, 10, 3) + _hill(B, 50, 8, 2) - 3.0 * np.maximum(0, A + B - 8)
    assert plan.objective_value >= val.max() - 1e-6 * val.max()
    assert plan.upper_bound >= val.max() - 1e-9
