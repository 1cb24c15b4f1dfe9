"""The learning loop on the starved world: every policy over several seeds, side by side.

    .venv/bin/python bench/bench_loop.py [--seeds 1,2,3,4,5] [--env examples/loop_starved.yaml]
        [--refit-every 4] [--nuts-periods 12] [--json out.json] [--figure regret.html]

Prints, per policy, the total regret over the decision periods (mean and a 90% interval of the
mean over seeds, t-based, with min and max), the regret per period in the first and the last
quarter, and the seconds per decision period; then Thompson minus each other policy paired by
seed; then the seconds per decision period of each refit method (SVI for the whole loop, NUTS
on a loop of ``--nuts-periods`` periods of the same world, both warm-started).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T90 = {1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833}


def interval(values) -> tuple[float, float, float]:
    """Mean and its 90% t-interval over seeds."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, m, m
    half = T90.get(len(v) - 1, 1.645) * float(v.std(ddof=1)) / np.sqrt(len(v))
    return m, m - half, m + half


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default=str(ROOT / "examples" / "loop_starved.yaml"))
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--policies", default="fixed,oracle,thompson,greedy,optimistic")
    ap.add_argument("--refit-every", type=int, default=4)
    ap.add_argument("--nuts-periods", type=int, default=12,
                    help="decision periods of the NUTS timing loop (0: skip it)")  # fmt: skip
    ap.add_argument("--json", default=None, help="write every loop's record here")
    ap.add_argument("--figure", default=None, help="cumulative regret per policy (HTML)")
    args = ap.parse_args(argv)

    import mediamix

    mediamix.set_host_devices(1)
    from mediamix.loop import Environment, LoopEngine, RefitSettings, oracle_path, simulate

    env = Environment.from_yaml(args.env)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    print(f"world {args.env}: {env.periods} decision periods after {env.history} of history, "
          f"budget {env.budget:,.0f}, max_move {env.max_move}; seeds {seeds}; SVI refit every "
          f"{args.refit_every}", flush=True)  # fmt: skip
    t0 = time.perf_counter()
    oracle = oracle_path(env)
    print(f"oracle path: {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    engine = LoopEngine(env.names, env.initial, env.history, env.periods,
                        RefitSettings(method="svi"), max_lag=env.max_lag)  # fmt: skip
    results: dict[str, list] = {}
    for policy in policies:
        for seed in seeds:
            r = simulate(env, policy, seed, refit_every=args.refit_every, engine=engine,
                         oracle=oracle)  # fmt: skip
            results.setdefault(policy, []).append(r)
            q = env.periods // 4
            print(f"  {policy:10s} seed {seed}: regret {r.regret:10,.0f}  per period first "
                  f"quarter {r.regret_by_period[:q].mean():7,.0f}  last {r.regret_by_period[-q:].mean():7,.0f}"
                  f"  {r.seconds:6.1f} s", flush=True)  # fmt: skip
    print(f"all SVI loops: {time.perf_counter() - t0:.0f} s (one compilation, shared)\n")

    q = env.periods // 4
    print(f"{'policy':11s} {'regret mean [90% CI]':>30s} {'min':>9s} {'max':>9s} "
          f"{'1st quarter':>12s} {'last quarter':>13s} {'s/period':>9s}")  # fmt: skip
    for policy, runs in results.items():
        m, lo, hi = interval([r.regret for r in runs])
        f1 = interval([r.regret_by_period[:q].mean() for r in runs])
        f4 = interval([r.regret_by_period[-q:].mean() for r in runs])
        sp = np.mean([r.seconds_per_period for r in runs])
        print(f"{policy:11s} {m:11,.0f} [{lo:8,.0f}, {hi:8,.0f}] {min(r.regret for r in runs):9,.0f} "
              f"{max(r.regret for r in runs):9,.0f} {f1[0]:12,.0f} {f4[0]:13,.0f} {sp:9.2f}")  # fmt: skip
    if "thompson" in results:
        ts = np.array([r.regret for r in results["thompson"]])
        print("\nThompson minus each policy, paired by seed (negative: Thompson regrets less):")
        for policy, runs in results.items():
            if policy in ("thompson", "oracle"):
                continue
            d = ts - np.array([r.regret for r in runs])
            m, lo, hi = interval(d)
            print(f"  vs {policy:10s} {m:11,.0f} [{lo:9,.0f}, {hi:9,.0f}]  "
                  f"Thompson better in {int((d < 0).sum())} of {len(d)} seeds")  # fmt: skip
        first = np.array([r.regret_by_period[:q].mean() for r in results["thompson"]])
        last = np.array([r.regret_by_period[-q:].mean() for r in results["thompson"]])
        m, lo, hi = interval(last - first)
        print(f"Thompson per-period regret, last quarter minus first: {m:,.0f} [{lo:,.0f}, "
              f"{hi:,.0f}]; falls in {int((last < first).sum())} of {len(first)} seeds")  # fmt: skip

    timing = {}
    for policy in ("thompson",):
        runs = results.get(policy) or []
        if runs:
            fits = [s for r in runs for s in r.refit_seconds[1:]]
            timing["svi"] = {
                "seconds_per_period": float(np.mean([r.seconds_per_period for r in runs])),
                "warm_refit_seconds": float(np.mean(fits)) if fits else None,
                "first_fit_seconds": [r.refit_seconds[0] for r in runs],
            }
    if args.nuts_periods > 0:
        short = replace(env, periods=int(args.nuts_periods))
        oracle_short = oracle[: short.periods]
        t0 = time.perf_counter()
        r = simulate(short, "thompson", seeds[0], refit_every=args.refit_every, method="nuts",
                     oracle=oracle_short)  # fmt: skip
        timing["nuts"] = {
            "seconds_per_period": r.seconds_per_period,
            "first_fit_seconds": r.refit_seconds[0],
            "warm_refit_seconds": float(np.mean(r.refit_seconds[1:])) if r.refit_seconds[1:] else None,
            "periods": short.periods,
            "regret": r.regret,
            "refit_seconds": list(r.refit_seconds),
        }  # fmt: skip
        print(f"\nNUTS loop ({short.periods} periods, seed {seeds[0]}): "
              f"{time.perf_counter() - t0:.0f} s, regret {r.regret:,.0f}; refits (s): "
              f"{', '.join(f'{x:.1f}' for x in r.refit_seconds)} (the first warm refit compiles "
              "the sampler without warm-up)", flush=True)  # fmt: skip
    print(
        "\nseconds per decision period by refit method (Thompson, refit every "
        f"{args.refit_every}; the first fit includes the compilation where it happened):"
    )
    for method, t in timing.items():
        warm = t["warm_refit_seconds"]
        print(f"  {method:5s} {t['seconds_per_period']:6.2f} s/period   warm refit "
              f"{'-' if warm is None else f'{warm:.2f}'} s   first fit {t['first_fit_seconds']}")  # fmt: skip
    if args.json:
        out = {"env": args.env, "seeds": seeds, "timing": timing,
               "runs": {p: [r.to_dict() for r in runs] for p, runs in results.items()}}  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.figure:
        from mediamix.loop.figures import cumulative_regret, write_figure

        write_figure(cumulative_regret({p: [r.regret_by_period for r in runs]
                                        for p, runs in results.items()}), args.figure)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
