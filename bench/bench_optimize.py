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
from pathlib import Path

import numpy as np

from mediamix.optimize import solve

# the instances (with their exact objectives and the SLSQP reference) are the tests' own
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.optimize.instances import concave_ads, s_shaped, slsqp  # noqa: E402


def run(name, inst, compare=True):
    prob, f, g, budget, rows = inst
    t = time.perf_counter()
    plan = solve(prob)
    ours_t = time.perf_counter() - t
    ours = f(np.array(list(plan.allocation.values())))
    line = f"{name:<34} ours {ours_t:7.2f}s obj {ours:14.8g} gap {plan.gap:.1e} {plan.method:<7}| "
    if compare:
        t0 = time.perf_counter()
        sv, feas = slsqp(f, g, prob.n, budget, rows)
        st = time.perf_counter() - t0
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
