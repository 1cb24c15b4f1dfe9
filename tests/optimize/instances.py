"""Seeded benchmark instances for the optimizer tests, with exact objectives and SLSQP.

The same instances as ``bench/bench_optimize.py`` (which times them); kept here so that the
tests do not import the benchmarks.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from mediamix.optimize import Channel, Problem, Response


def s_shaped(n: int, seed: int = 0):
    """``n`` Hill channels with slope 1.5-4 and one budget: ``(problem, f, g, budget, None)``
    with ``f`` the exact KPI of a spend vector and ``g`` its gradient."""
    rng = np.random.default_rng(seed)
    beta = rng.uniform(1, 10, n)
    k = rng.uniform(1, 10, n)
    s = rng.uniform(1.5, 4.0, n)
    price = rng.uniform(0.5, 2.0, n)
    chans = tuple(
        Channel(Response(f"c{i}", "hill", {"beta": beta[i], "k": k[i], "s": s[i]}, price[i]))
        for i in range(n)
    )
    budget = 3.0 * n

    def f(x):
        u = np.maximum(x, 0) / price
        return float(np.sum(beta * u**s / (u**s + k**s)))

    def g(x):
        u = np.maximum(x, 1e-12) / price
        return beta * s * k**s * u ** (s - 1) / (u**s + k**s) ** 2 / price

    return Problem(channels=chans, budget=budget), f, g, budget, None


def concave_ads(n: int, seed: int = 1):
    """``n`` concave ads (log1p / exponential / Michaelis-Menten) whose cost two departments
    share: ``(problem, f, g, None, (A, b))`` with the department rows ``A x <= b``."""
    rng = np.random.default_rng(seed)
    fam = rng.integers(0, 3, n)
    a = rng.uniform(1, 5, n)
    sc = rng.uniform(0.5, 5, n)
    share = rng.uniform(0, 1, n)
    chans = []
    for i in range(n):
        if fam[i] == 0:
            r = Response(f"ad{i}", "log1p", {"a": a[i], "scale": sc[i]})
        elif fam[i] == 1:
            r = Response(f"ad{i}", "exponential", {"beta": 3 * a[i], "k": 1 / sc[i]})
        else:
            r = Response(f"ad{i}", "michaelis_menten", {"beta": 3 * a[i], "k": sc[i]})
        chans.append(Channel(r, shares={"rent": share[i], "sales": 1 - share[i]}))
    depts = {"rent": 0.4 * n, "sales": 0.6 * n}

    def f(x):
        x = np.maximum(x, 0)
        v = np.where(
            fam == 0,
            a * np.log1p(x / sc),
            np.where(fam == 1, 3 * a * (1 - np.exp(-x / sc)), 3 * a * x / (sc + x)),
        )
        return float(v.sum())

    def g(x):
        x = np.maximum(x, 0)
        return np.where(
            fam == 0,
            a / (sc + x),
            np.where(fam == 1, 3 * a / sc * np.exp(-x / sc), 3 * a * sc / (sc + x) ** 2),
        )

    A = np.vstack([share, 1 - share])
    b = np.array([depts["rent"], depts["sales"]])
    return Problem(channels=tuple(chans), departments=depts), f, g, None, (A, b)


def slsqp(f, g, n, budget, rows):
    """scipy's SLSQP from the even split: ``(objective, feasible)``."""
    cons = []
    if budget is not None:
        cons.append(
            {"type": "ineq", "fun": lambda x: budget - x.sum(), "jac": lambda x: -np.ones(n)}
        )
        x0 = np.full(n, budget / n)
    else:
        A, b = rows
        cons.append({"type": "ineq", "fun": lambda x: b - A @ x, "jac": lambda x: -A})
        x0 = np.full(n, float(np.min(b / A.sum(axis=1))))
    r = minimize(
        lambda x: -f(x),
        x0,
        jac=lambda x: -g(x),
        method="SLSQP",
        bounds=[(0, None)] * n,
        constraints=cons,
        options={"maxiter": 500, "ftol": 1e-10},
    )
    x = np.maximum(r.x, 0)
    feas = (budget is None or x.sum() <= budget * (1 + 1e-6)) and (
        rows is None or np.all(rows[0] @ x <= rows[1] * (1 + 1e-6))
    )
    return f(x), feas
