"""Budget allocation: mediamix.optimize versus scipy SLSQP (what peer tools use).

Instances (seeded): 10, 50 and 200 S-shaped channels (Hill, slope 1.5-4) with one budget, and
concave ads (log1p / exponential / Michaelis-Menten) with two departments sharing costs.
Prints seconds, objective, certified gap and the ratio ours / SLSQP for each, then checks
the time budgets (200 S-shaped channels certified in under 30 s, 10,000 ads in under 60 s;
exit status 1 when one is missed). The tests check the same instances for correctness only.

    python bench/bench_optimize.py            # 10/50/200 S-shaped, 10,000 ads (SLSQP on 1,000)
    python bench/bench_optimize.py --quick    # smaller, for a smoke run (no time budgets)
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.optimize import minimize

from mediamix.optimize import Channel, Problem, Response, solve


def s_shaped(n: int, seed: int = 0):
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
    t = time.perf_counter()
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
    return time.perf_counter() - t, f(x), feas


def run(name, inst, compare=True):
    prob, f, g, budget, rows = inst
    t = time.perf_counter()
    plan = solve(prob)
    ours_t = time.perf_counter() - t
    ours = f(np.array(list(plan.allocation.values())))
    line = f"{name:<34} ours {ours_t:7.2f}s obj {ours:14.8g} gap {plan.gap:.1e} {plan.method:<7}| "
    if compare:
        st, sv, feas = slsqp(f, g, prob.n, budget, rows)
        line += (
            f"SLSQP {st:7.2f}s obj {sv:14.8g}{'' if feas else ' (infeasible)'} | "
            f"objective ratio ours/SLSQP {ours / sv:.6f}, time ratio {ours_t / max(st, 1e-9):.2f}"
        )
    else:
        line += "SLSQP not run (dense n x n matrices at this size)"
    print(line, flush=True)
    return plan


# instance -> the most seconds its certified plan may take (``plan.seconds``)
TIME_BUDGETS = {"200 S-shaped channels, 1 budget": 30.0, "10000 concave ads, 2 departments": 60.0}


def check_times(plans: dict) -> bool:
    """Print each time budget's verdict; True when every measured instance is within it."""
    ok = True
    for name, limit in TIME_BUDGETS.items():
        if name not in plans:
            continue
        took = plans[name].seconds
        verdict = "ok" if took < limit else "TOO SLOW"
        ok &= took < limit
        print(f"time budget {name}: {took:.2f} s (limit {limit:g} s) {verdict}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = [10, 50] if args.quick else [10, 50, 200]
    solve(s_shaped(5)[0])  # warm up (imports, first LP)
    plans = {}
    for n in sizes:
        name = f"{n} S-shaped channels, 1 budget"
        plans[name] = run(name, s_shaped(n))
    small = 300 if args.quick else 1000
    run(f"{small} concave ads, 2 departments", concave_ads(small))
    n_ads = 2000 if args.quick else 10000
    name = f"{n_ads} concave ads, 2 departments"
    plans[name] = run(name, concave_ads(n_ads), compare=False)
    if not check_times(plans):
        sys.exit(1)


if __name__ == "__main__":
    main()
