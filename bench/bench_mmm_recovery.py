"""Recovery of the true ROAS on simulated data, over many seeds, for NUTS and for SVI.

Each seed draws a data set from mediamix's simulator with 3-6 channels and 104-156 weeks
(both chosen from the seed) at the simulator's default, realistic noise level, fits it with
each method and checks every channel's true ROAS against the fitted 90% interval. Printed:
per method, the coverage (share of channel-seeds whose true ROAS lies inside the 90%
interval; target for NUTS: at least 85%), the median absolute ROAS error (posterior median
against truth), and the fit time.

    python bench/bench_mmm_recovery.py                   # 20 seeds, NUTS and SVI
    python bench/bench_mmm_recovery.py --seeds 5 --method nuts
    python bench/bench_mmm_recovery.py --quick           # 2 chains x 500 draws
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _mmm_common as common
import numpy as np

METHODS = ("nuts", "svi")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=20, help="number of simulated data sets")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--method", default="nuts,svi", help="comma-separated: nuts, svi")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="2 chains x 500 draws (500 warmup)")
    p.add_argument("--json", default=None, help="also write per-seed results to this file")
    return p.parse_args(argv)


def design(seed: int) -> tuple[int, int]:
    """Number of channels (3-6) and weeks (104-156) for a seed, reproducibly."""
    rng = np.random.default_rng(seed)
    return int(rng.integers(3, 7)), int(rng.integers(104, 157))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"--method {m!r}: choose from {', '.join(METHODS)}")
    chains, draws, warmup = (2, 500, 500) if args.quick else (args.chains, args.draws, args.warmup)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    covered: dict[str, list[bool]] = {m: [] for m in methods}
    errors: dict[str, list[float]] = {m: [] for m in methods}
    rel_errors: dict[str, list[float]] = {m: [] for m in methods}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    rhat: list[float] = []
    failures: dict[str, list[int]] = {m: [] for m in methods}
    per_seed: list[dict] = []
    t_all = time.perf_counter()
    print(
        f"recovery: {len(seeds)} seeds, methods {', '.join(methods)}; "
        f"NUTS {chains} chains x {draws} draws ({warmup} warmup)",
        flush=True,
    )
    for i, seed in enumerate(seeds, 1):
        n_channels, n_weeks = design(seed)
        sim = common.simulate_data(seed, n_weeks=n_weeks, n_channels=n_channels)
        record = {"seed": seed, "channels": n_channels, "weeks": n_weeks, "true": sim.true_roas}
        for m in methods:
            kw = {"chains": chains, "draws": draws, "warmup": warmup} if m == "nuts" else {}
            try:
                fit = common.fit_mediamix(sim, method=m, seed=seed, **kw)
            except Exception as exc:  # count it, say so, go on with the other seeds
                failures[m].append(seed)
                record[m] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"[{i:>2}/{len(seeds)}] seed {seed:>3} {m:<4} FAILED: {exc}", flush=True)
                continue
            cov = common.roas_covered(fit, sim.true_roas)
            err = common.roas_abs_errors(fit, sim.true_roas)
            covered[m] += cov
            errors[m] += err
            rel_errors[m] += [e / abs(sim.true_roas[c]) for e, c in zip(err, sim.true_roas)]
            seconds[m].append(fit.wall_seconds)
            if m == "nuts":
                rhat.append(fit.max_rhat)
            record[m] = {
                "roas": fit.roas,
                "covered": cov,
                "wall_seconds": fit.wall_seconds,
                "max_rhat": fit.max_rhat,
                "min_ess_bulk": fit.min_ess_bulk,
                "divergences": fit.divergences,
            }
            print(
                f"[{i:>2}/{len(seeds)}] seed {seed:>3} {n_channels} ch x {n_weeks:>3} wk {m:<4} "
                f"{fit.wall_seconds:6.1f} s  covered {sum(cov)}/{len(cov)}  "
                f"median |err| {common.median(err):.3f}"
                + (f"  R-hat {fit.max_rhat:.3f}" if m == "nuts" else ""),
                flush=True,
            )
        per_seed.append(record)
        if args.json:  # keep what is done so far
            Path(args.json).write_text(json.dumps({"seeds": per_seed}, indent=2, default=str))

    print()
    header = (
        f"{'method':<6} {'coverage (90% int.)':>20} {'median |ROAS err|':>18} "
        f"{'median rel. err':>16} {'median fit s':>13}"
    )
    print(header)
    print("-" * len(header))
    summary: dict = {}
    for m in methods:
        n = len(covered[m])
        cov = sum(covered[m]) / n if n else float("nan")
        summary[m] = {
            "coverage": cov,
            "channel_seeds": n,
            "median_abs_roas_error": common.median(errors[m]),
            "median_rel_roas_error": common.median(rel_errors[m]),
            "median_fit_seconds": common.median(seconds[m]),
            "failed_seeds": failures[m],
        }
        print(
            f"{m:<6} {f'{cov:.0%} of {n}':>20} {summary[m]['median_abs_roas_error']:>18.3f} "
            f"{summary[m]['median_rel_roas_error']:>16.1%} "
            f"{summary[m]['median_fit_seconds']:>13.1f}"
        )
    for m in methods:
        if failures[m]:
            print(f"{m}: {len(failures[m])} fit(s) failed (seeds {failures[m]}), not counted")
    if "nuts" in summary and rhat:
        ok = summary["nuts"]["coverage"] >= 0.85
        print(f"NUTS coverage target (>= 85%): {'met' if ok else 'NOT met'}")
        print(f"NUTS max R-hat over seeds: {max(rhat):.3f}")
    if "svi" in summary and summary["svi"]["coverage"] < 0.8:
        print("SVI intervals are too narrow to trust as 90% intervals (see coverage above)")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    result = {"summary": summary, "seeds": per_seed, "chains": chains, "draws": draws}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
