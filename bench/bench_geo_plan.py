"""Per-geo budget plans at geo scale: 40 geos x 5 channels with national and geo rules.

Seeded instances (a budget of today's total, every rule kind at once: two national channel
limits, five geo caps, one geo floor, ten geo shares, four cell bounds at 40 geos):

- ``hill``: Hill curves with s = 1 (concave), point curves;
- ``log/power``: log1p and power curves, point curves;
- ``draws``: Hill s = 1 with 100 posterior draws, risk mean;
- ``cvar``: the same draws, CVaR of the worst 10%;
- ``s-shaped``: Hill with s = 2 (the global branch and bound), point curves.

Prints per instance: seconds (after a first solve that pays the solver imports), the
certified gap, the method, the gain over today's allocation and how many rules bind; for
the point-curve instances also SLSQP (scipy, from today's allocation, the same rows) and
whether our plan is at least as good. Exit status 1 when a plan is not certified (gap above
1e-4) or breaks a rule.

    python bench/bench_geo_plan.py            # all instances, 40 geos x 5 channels
    python bench/bench_geo_plan.py --geos 10  # smaller

Measured on the shared 2-core machine (loaded), 40 geos x 5 channels, 19 rules:

    instance    seconds       gap  method      gain  binding   SLSQP
    hill           1.41   8.3e-17  convex     +5.3%   8/19      14.35s  +8.9e-10  2.3e-04
    log/power      3.35  FAILED: the convex solver failed (Clarabel; a lower bound on a
                         power cell among ~100 power cells fails the same way in a national
                         Problem without any geo rule)
    draws          6.58   0.0e+00  convex     +5.0%  10/19
    cvar          10.68   6.2e-14  convex     +4.7%   9/19
    s-shaped      35.72   9.7e-05  global    +25.9%   7/19

(the first solve, which imports cvxpy and scipy, took 11.8 s.) At 10 geos the log/power
instance solves: 1.56 s, gap 2e-16.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from mediamix.errors import MediamixError
from mediamix.optimize import Response
from mediamix.optimize.geo import geo_problem, solve_geo

CHANNELS = ("tv", "search", "social", "display", "radio")


def responses(G: int, kind: str, draws: int = 0, seed: int = 0) -> dict[str, list[Response]]:
    rng = np.random.default_rng(seed)
    out = {}
    for g in range(G):
        size = rng.uniform(0.3, 3.0)  # geos differ in size
        rs = []
        for c, name in enumerate(CHANNELS):
            ref = float(size * rng.uniform(50, 200))
            noise = rng.lognormal(0, 0.3, draws) if draws else 1.0
            if kind == "log/power":
                if c % 2:
                    r = Response(name, "power", {"a": size * rng.uniform(0.5, 2) * noise,
                                 "alpha": rng.uniform(0.3, 0.7)}, reference_spend=ref)  # fmt: skip
                else:
                    r = Response(name, "log1p", {"a": size * rng.uniform(5, 20) * noise,
                                 "scale": size * rng.uniform(30, 150)}, reference_spend=ref)  # fmt: skip
            else:
                s = 2.0 if kind == "s-shaped" else 1.0
                r = Response(name, "hill", {"beta": size * rng.uniform(40, 120) * noise,
                             "k": size * rng.uniform(60, 300), "s": s}, reference_spend=ref)  # fmt: skip
            rs.append(r)
        out[f"Geo{g + 1:02d}"] = rs
    return out


def rules(resp: dict[str, list[Response]]) -> dict:
    geos = list(resp)
    cur = {g: sum(r.reference_spend for r in rs) for g, rs in resp.items()}
    total = sum(cur.values())
    chan = {c: sum(r.reference_spend for rs in resp.values() for r in rs if r.name == c)
            for c in CHANNELS}  # fmt: skip
    G = len(geos)
    a, b = max(2, G // 4), max(2, G // 4) + max(1, G // 8)  # 10 shares, 5 caps at 40 geos
    share = {}
    for j, g in enumerate(geos[:a]):
        s = cur[g] / total
        share[g] = (0.8 * s, None) if j % 2 else (None, 1.1 * s)
    return dict(
        channel_bounds={"tv": (None, 0.8 * chan["tv"]), "radio": (1.1 * chan["radio"], None)},
        geo_caps={**{g: 0.9 * cur[g] for g in geos[a:b]}, geos[b]: (1.2 * cur[geos[b]], None)},
        geo_share=share,
        bounds={
            (g, "search"): (0.5 * r.reference_spend, 1.5 * r.reference_spend)
            for g, rs in list(resp.items())[20:24]
            for r in rs
            if r.name == "search"
        },  # fmt: skip
    )


def slsqp(problem, x0):
    """scipy SLSQP on the same rows and bounds, from ``x0`` (the mean curves)."""
    from scipy.optimize import minimize

    from mediamix.optimize.curves import CurveBank

    bank = CurveBank(problem.responses)
    rows = problem.linear_rows()
    A = np.array([r.coef for r in rows])
    b = np.array([r.rhs for r in rows])
    s = max(float(np.mean(x0)), 1.0)

    def f(z):
        return -float(bank.values(z * s).mean(axis=0).sum())

    def g(z):
        d = bank.derivs(np.maximum(z * s, 1e-9)).mean(axis=0) * s
        return -np.where(np.isfinite(d), d, 1e6)

    up = problem.upper()
    bounds = [(lo / s, None if not np.isfinite(u) else u / s) for lo, u in
              zip(problem.lower(), up, strict=True)]  # fmt: skip
    cons = [{"type": "ineq", "fun": lambda z: b / s - A @ z, "jac": lambda z: -A}]
    t = time.perf_counter()
    res = minimize(f, np.clip(x0 / s, problem.lower() / s, up / s), jac=g, bounds=bounds,
                   constraints=cons, method="SLSQP", options={"maxiter": 1000})  # fmt: skip
    z = res.x
    viol = max(0.0, float(np.max(A @ z - b / s))) * s
    return -res.fun, time.perf_counter() - t, viol


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--geos", type=int, default=40)
    ap.add_argument("--draws", type=int, default=100)
    args = ap.parse_args()
    G = args.geos
    kinds = [("hill", 0, "mean"), ("log/power", 0, "mean"), ("draws", args.draws, "mean"),
             ("cvar", args.draws, "cvar"), ("s-shaped", 0, "mean")]  # fmt: skip
    t = time.perf_counter()
    solve_geo(responses(2, "hill"), 100.0)  # pays the solver imports once
    print(f"first solve (imports cvxpy, scipy): {time.perf_counter() - t:.2f}s")
    print(f"{G} geos x {len(CHANNELS)} channels = {G * len(CHANNELS)} cells; every rule kind")
    print(f"{'instance':<11}{'seconds':>9}{'gap':>10}  {'method':<8}{'gain':>8}{'binding':>9}"
          f"   SLSQP (seconds, KPI vs ours, max row violation)")  # fmt: skip
    bad = 0
    for name, S, risk in kinds:
        kind = "hill" if name in ("draws", "cvar") else name
        resp = responses(G, kind, draws=S, seed=1)
        p = geo_problem(resp, **rules(resp), risk=risk, alpha=0.1, time_limit=300.0)
        t = time.perf_counter()
        try:
            gp = solve_geo(p)
        except MediamixError as exc:
            print(f"{name:<11}{time.perf_counter() - t:>9.2f}  FAILED: {exc}", flush=True)
            bad += 1
            continue
        sec = time.perf_counter() - t
        tol = 1e-6 * p.budget
        broken = [r["name"] for r in gp.rules
                  if (r["value"] > r["limit"] + (tol if not r["rule"].startswith("share") else 1e-7)
                      if r["rule"].endswith("max") or r["rule"] == "budget"
                      else r["value"] < r["limit"] - (tol if not r["rule"].startswith("share") else 1e-7))]  # fmt: skip
        gain = gp.plan.gain["relative"] if gp.plan.gain else float("nan")
        nb = sum(r["binding"] for r in gp.rules)
        line = (f"{name:<11}{sec:>9.2f}{gp.gap:>10.1e}  {gp.plan.method:<8}{gain:>+8.1%}"
                f"{nb:>4}/{len(gp.rules):<4}")  # fmt: skip
        if S == 0 and name != "s-shaped":
            x0 = p.reference()
            kpi, st, viol = slsqp(p, x0)
            line += f"   {st:6.2f}s  {kpi / gp.plan.kpi - 1:+.2e}  {viol:.1e}"
        print(line + (f"   BROKEN: {broken}" if broken else ""), flush=True)
        if not gp.certified or broken:
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
