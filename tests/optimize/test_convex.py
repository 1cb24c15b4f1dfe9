"""Concave problems: closed forms, brute-force grids and KKT conditions."""

import itertools

import numpy as np
import pytest

from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize import Channel, Problem, Response, solve


def _power_problem(budget, a, prices):
    return Problem.from_dict(
        {
            "combine": "multiplicative",
            "budget": budget,
            "channels": [
                {
                    "name": f"c{i}",
                    "response": {"type": "power", "a": 1.0, "alpha": float(a[i])},
                    "unit_price": float(prices[i]),
                }
                for i in range(len(a))
            ],
        }
    )


def test_cobb_douglas_closed_form_over_a_sweep():
    a = np.array([0.3, 0.5, 0.15, 0.05])
    prices = np.array([2.0, 5.0, 0.5, 11.0])
    for budget in np.linspace(10, 100, 10):
        plan = solve(_power_problem(budget, a, prices))
        x = np.array([plan.allocation[f"c{i}"] for i in range(4)])
        exact = budget * a / a.sum()  # p_i x_i (spend) = B a_i / sum a
        np.testing.assert_allclose(x, exact, rtol=1e-6)
        units = np.array([plan.units[f"c{i}"] for i in range(4)])
        np.testing.assert_allclose(units, exact / prices, rtol=1e-6)
        assert plan.method == "convex" and plan.status == "optimal"
        assert plan.gap is not None and plan.gap < 1e-6


def _log1p(x, a, scale=1.0):
    return a * np.log1p(x / scale)


def test_departments_match_brute_force_grid():
    # three channels, two departments sharing costs; brute force over a fine grid
    a = [20.0, 35.0, 12.0]
    sc = [5.0, 30.0, 2.0]
    shares = [{"rent": 0.2, "sales": 0.8}, {"rent": 0.5, "sales": 0.5}, {"rent": 0.9, "sales": 0.1}]
    budgets = {"rent": 40.0, "sales": 70.0}
    chans = [
        {
            "name": f"c{i}",
            "response": {"type": "log1p", "a": a[i], "scale": sc[i]},
            "shares": shares[i],
        }
        for i in range(3)
    ]
    plan = solve(Problem.from_dict({"channels": chans, "departments": budgets, "budget": 100.0}))
    x = np.array([plan.allocation[f"c{i}"] for i in range(3)])
    g = np.linspace(0, 100, 201)
    X = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1)
    S = np.array([[s["rent"] for s in shares], [s["sales"] for s in shares]])
    ok = (X.sum(0) <= 100 + 1e-9) & np.all(S @ X <= np.array([40.0, 70.0])[:, None] + 1e-9, axis=0)
    val = sum(_log1p(X[i], a[i], sc[i]) for i in range(3))
    best = val[ok].max()
    ours = sum(_log1p(x[i], a[i], sc[i]) for i in range(3))
    assert ours >= best - 1e-9
    assert ours <= best + 0.2  # the grid is within its resolution of the optimum
    assert plan.kpi == pytest.approx(ours, rel=1e-9)
    # department report: spend within budget; the shadow price is the KPI per extra unit
    for d in ("rent", "sales"):
        assert plan.departments[d].spend <= budgets[d] + 1e-6
    bumped = solve(
        Problem.from_dict(
            {"channels": chans, "departments": {"rent": 40.01, "sales": 70.0}, "budget": 100.0}
        )
    )
    assert (bumped.kpi - plan.kpi) / 0.01 == pytest.approx(
        plan.departments["rent"].shadow_price, rel=0.01
    )


def test_elastic_department_reports_overrun_and_matches_grid():
    # rent's remaining budget is negative: the hard problem is infeasible
    chans = [
        {
            "name": "a",
            "response": {"type": "exponential", "beta": 50, "k": 0.05},
            "shares": {"rent": 1.0},
            "bounds": [5, None],
        },
        {
            "name": "b",
            "response": {"type": "michaelis_menten", "beta": 30, "k": 10},
            "shares": {"sales": 1.0},
        },
    ]
    base = {"channels": chans, "departments": {"rent": -5.0, "sales": 60.0}}
    with pytest.raises(InfeasibleError, match="department 'rent'"):
        solve(Problem.from_dict(base))
    pen = 2.0
    plan = solve(Problem.from_dict({**base, "elastic": {"penalty": pen}}))
    assert plan.departments["rent"].overrun > 0
    x = np.array([plan.allocation["a"], plan.allocation["b"]])
    ga = np.linspace(5, 60, 5501)
    gb = np.linspace(0, 60, 6001)
    fa = 50 * (1 - np.exp(-0.05 * ga)) - pen * np.maximum(0, ga + 5)
    fb = 30 * gb / (10 + gb) - pen * np.maximum(0, gb - 60)
    best = fa.max() + fb.max()  # separable once the elastic penalty is in the objective
    assert plan.objective_value == pytest.approx(best, abs=1e-4)
    assert x[0] == pytest.approx(ga[fa.argmax()], abs=0.02)
    assert plan.departments["rent"].overrun == pytest.approx(x[0] + 5, rel=1e-6)
    assert plan.departments["rent"].shadow_price == pytest.approx(pen, rel=1e-3)


def test_infeasible_names_the_conflicting_constraints():
    chans = [
        {"name": "tv", "response": {"type": "log1p", "a": 1}, "bounds": [80, None]},
        {"name": "radio", "response": {"type": "log1p", "a": 1}, "bounds": [50, None]},
    ]
    with pytest.raises(InfeasibleError) as err:
        solve(Problem.from_dict({"channels": chans, "budget": 100}))
    msg = str(err.value)
    assert "total budget (100)" in msg and "elastic" in msg
    assert "channel 'tv'" in msg or "channel 'radio'" in msg


def test_kkt_equal_marginal_returns_many_channels():
    rng = np.random.default_rng(3)
    n = 40
    chans = []
    for i in range(n):
        fam = ["log1p", "exponential", "michaelis_menten", "power"][i % 4]
        params = {
            "log1p": {"a": rng.uniform(1, 9), "scale": rng.uniform(1, 20)},
            "exponential": {"beta": rng.uniform(5, 40), "k": rng.uniform(0.01, 0.2)},
            "michaelis_menten": {"beta": rng.uniform(5, 40), "k": rng.uniform(5, 50)},
            "power": {"a": rng.uniform(0.5, 3), "alpha": rng.uniform(0.3, 0.9)},
        }[fam]
        up = 15.0 if i % 7 == 0 else None
        chans.append(
            Channel(Response(f"c{i}", fam, params, unit_price=rng.uniform(0.5, 3)), 0.0, up)
        )
    plan = solve(Problem(channels=tuple(chans), budget=400.0))
    assert plan.spend_total == pytest.approx(400.0, rel=1e-9)
    lam = plan.constraints[0].shadow_price
    for c in plan.channels:
        if c.binding is None:
            assert c.marginal_return == pytest.approx(lam, rel=1e-6)
        elif c.binding == "upper":
            assert c.marginal_return >= lam * (1 - 1e-6)
        else:
            assert c.marginal_return <= lam * (1 + 1e-6)
    assert plan.gap < 1e-8


def test_draws_use_sample_average_not_plug_in_mean():
    k = np.array([2.0, 50.0, 200.0])
    chans = [
        Channel(Response("a", "michaelis_menten", {"beta": 10.0, "k": k})),
        Channel(Response("b", "michaelis_menten", {"beta": 10.0, "k": 84.0})),
    ]
    plan = solve(Problem(channels=tuple(chans), budget=100.0))
    g = np.linspace(0, 100, 100001)
    saa = np.mean(10 * g[None] / (k[:, None] + g[None]), axis=0) + 10 * (100 - g) / (84 + 100 - g)
    plug = 10 * g / (k.mean() + g) + 10 * (100 - g) / (84 + 100 - g)
    assert plan.allocation["a"] == pytest.approx(g[saa.argmax()], abs=2e-3)
    assert abs(g[plug.argmax()] - g[saa.argmax()]) > 5  # the plug-in answer is different
    assert plan.outcome["p5"] <= plan.kpi <= plan.outcome["p95"]


def test_cvar_matches_brute_force():
    rng = np.random.default_rng(0)
    S = 40
    ka = rng.lognormal(np.log(20), 0.8, S)
    ba = rng.uniform(8, 12, S)
    chans = [
        Channel(Response("risky", "michaelis_menten", {"beta": ba * 1.3, "k": ka})),
        Channel(
            Response("safe", "michaelis_menten", {"beta": np.full(S, 10.0), "k": np.full(S, 25.0)})
        ),
    ]
    alpha = 0.2
    plan = solve(Problem(channels=tuple(chans), budget=60.0, risk="cvar", alpha=alpha))
    g = np.linspace(0, 60, 60001)
    K = (ba[:, None] * 1.3 * g / (ka[:, None] + g)) + 10 * (60 - g) / (25 + 60 - g)
    Ks = np.sort(K, axis=0)[: int(alpha * S)].mean(axis=0)
    assert plan.objective_value == pytest.approx(Ks.max(), rel=1e-7)
    assert plan.allocation["risky"] == pytest.approx(g[Ks.argmax()], abs=0.01)
    mean_plan = solve(Problem(channels=tuple(chans), budget=60.0))
    assert plan.allocation["risky"] < mean_plan.allocation["risky"]  # risk aversion


def test_profit_min_spend_and_roas_closed_forms():
    ch = [{"name": "a", "response": {"type": "log1p", "a": 20.0}}]
    # profit: d/dx 20 log(1+x) = 1  ->  x = 19
    plan = solve(Problem.from_dict({"objective": "profit", "channels": ch, "budget": 1000}))
    assert plan.allocation["a"] == pytest.approx(19.0, rel=1e-7)
    # min spend to reach a KPI target, two identical channels split evenly
    two = ch + [{"name": "b", "response": {"type": "log1p", "a": 20.0}}]
    plan = solve(Problem.from_dict({"objective": "min_spend", "kpi_target": 60.0, "channels": two}))
    each = np.expm1(30.0 / 20.0)
    assert plan.allocation["a"] == pytest.approx(each, rel=1e-5)
    assert plan.spend_total == pytest.approx(2 * each, rel=1e-5)
    # max KPI subject to ROAS >= 2: 20 log(1+x) = 2 x at the largest root
    plan = solve(
        Problem.from_dict(
            {"objective": "kpi_at_min_roas", "min_roas": 2.0, "channels": ch, "budget": 1000}
        )
    )
    x = plan.allocation["a"]
    assert 20 * np.log1p(x) == pytest.approx(2 * x, rel=1e-5)
    assert x > 30


def test_non_dcp_concave_curves_certified_against_grid():
    chans = [
        Channel(Response("lg", "logistic", {"beta": 30.0, "lam": 0.1})),
        Channel(Response("h", "hill", {"beta": 25.0, "k": 10.0, "s": 0.6})),
        Channel(Response("t", "table", {"xs": [0, 10, 30, 60], "ys": [0, 12, 20, 22]})),
    ]
    plan = solve(Problem(channels=tuple(chans), budget=50.0, gap_tol=1e-6))
    g = np.linspace(0, 50, 501)
    lg = 30 * np.tanh(0.1 * g / 2)
    h = 25 * g**0.6 / (g**0.6 + 10**0.6)
    t = np.interp(g, [0, 10, 30, 60], [0, 12, 20, 22])
    best = -np.inf
    for i, j in itertools.product(range(501), range(501)):
        k = 500 - i - j
        if k >= 0:
            best = max(best, lg[i] + h[j] + t[k])
    assert plan.kpi >= best * (1 - 1e-6)
    # the certificate is honest: the true optimum is within the reported gap
    assert plan.gap <= 1e-6
    assert best <= plan.kpi * (1 + plan.gap) + 1e-9


def test_flighting_with_carry_in_and_tail_matches_independent_optimum():
    from scipy.optimize import minimize

    lam = np.array([0.6, 0.0])
    T = 4
    hist = {"tv": [30.0, 30.0]}
    chans = [
        Channel(Response("tv", "michaelis_menten", {"beta": 40.0, "k": 20.0}, carryover=0.6)),
        Channel(Response("search", "log1p", {"a": 8.0, "scale": 4.0})),
    ]
    prob = Problem(channels=tuple(chans), budget=120.0, periods=T, history=hist)
    plan = solve(prob)

    def kpi(v):
        x = v.reshape(T, 2)
        a0 = 0.0
        for h in hist["tv"]:
            a0 = 0.6 * a0 + 0.4 * h
        tot, a = 0.0, a0
        H = int(np.ceil(np.log(1e-4) / np.log(0.6)))
        for t in range(T + H):
            xt = x[t, 0] if t < T else 0.0
            a = 0.6 * a + 0.4 * xt
            tot += 40 * a / (20 + a)
            if t < T:
                tot += 8 * np.log1p(x[t, 1] / 4)
        return tot

    best = -np.inf
    rng = np.random.default_rng(1)
    for _ in range(8):
        v0 = rng.dirichlet(np.ones(2 * T)) * 120
        r = minimize(
            lambda v: -kpi(v),
            v0,
            method="SLSQP",
            bounds=[(0, None)] * (2 * T),
            constraints=[{"type": "ineq", "fun": lambda v: 120 - v.sum()}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        best = max(best, -r.fun)
    assert plan.kpi == pytest.approx(best, rel=1e-6)
    assert plan.kpi >= best - 1e-6
    tv = np.array(plan.by_period["tv"])
    assert tv.shape == (T,) and np.all(np.isfinite(tv))
    assert lam[0] > 0


def test_unknown_options_give_clear_errors():
    with pytest.raises(SpecError, match="unknown saturation family 'hil'.*hill"):
        Problem.from_dict(
            {"budget": 1, "channels": [{"name": "a", "response": {"type": "hil", "k": 1}}]}
        )
    with pytest.raises(SpecError, match="shares must be >= 0 and sum to 1"):
        Problem.from_dict(
            {
                "departments": {"x": 1, "y": 1},
                "channels": [
                    {"name": "a", "response": {"type": "log1p", "a": 1}, "shares": {"x": 0.5}}
                ],
            }
        )
    with pytest.raises(SpecError, match="objective"):
        Problem.from_dict(
            {
                "objective": "roi",
                "budget": 1,
                "channels": [{"name": "a", "response": {"type": "log1p", "a": 1}}],
            }
        )


def test_flighting_with_carryover_draws_averages_per_draw():
    from scipy.optimize import minimize

    lam = np.array([0.2, 0.7])
    k = np.array([10.0, 30.0])
    T = 3
    chans = [
        Channel(Response("tv", "michaelis_menten", {"beta": 40.0, "k": k}, carryover=lam)),
        Channel(Response("search", "log1p", {"a": np.array([6.0, 9.0]), "scale": 4.0})),
    ]
    plan = solve(Problem(channels=tuple(chans), budget=60.0, periods=T))

    def kpi(v):
        x = v.reshape(T, 2)
        total = 0.0
        for s in range(2):
            H = int(np.ceil(np.log(1e-4) / np.log(lam.max())))
            a = 0.0
            for t in range(T + H):
                a = lam[s] * a + (1 - lam[s]) * (x[t, 0] if t < T else 0.0)
                total += 40 * a / (k[s] + a)
                if t < T:
                    total += [6.0, 9.0][s] * np.log1p(x[t, 1] / 4)
        return total / 2

    best = -np.inf
    rng = np.random.default_rng(2)
    for _ in range(6):
        r = minimize(
            lambda v: -kpi(v),
            rng.dirichlet(np.ones(2 * T)) * 60,
            method="SLSQP",
            bounds=[(0, None)] * (2 * T),
            constraints=[{"type": "ineq", "fun": lambda v: 60 - v.sum()}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        best = max(best, -r.fun)
    assert plan.kpi == pytest.approx(best, rel=1e-6)
    assert plan.kpi >= best - 1e-6
