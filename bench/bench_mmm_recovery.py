"""Recovery of the true ROAS on simulated data, over many seeds, for NUTS and for SVI.

Each seed draws a data set from mediamix's simulator with 3-6 channels and 104-156 weeks
(both chosen from the seed) at the simulator's default, realistic noise level, fits it with
each method and checks every channel's true ROAS against the fitted 90% interval. Printed:
per method, the coverage (share of channel-seeds whose true ROAS lies inside the 90%
interval; target for NUTS: at least 85%), the median absolute ROAS error (posterior median
against truth), the median width of the 90% interval relative to the true ROAS, and the fit
time; then the same figures for the always-on channels alone (spend that never stops and
varies little: the channels the data says least about).

The true ROAS is taken over the periods the fit's likelihood uses (``fitted.window`` where the
model has one: with the adstock warm-up the first periods only condition the adstock), from
the simulator's own truth: the true contribution in those periods over the spend in them.

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


def true_roas_in_window(sim: common.SimData, window: np.ndarray | None) -> dict[str, float]:
    """Each channel's true ROAS over the rows ``window`` (all rows when None)."""
    if window is None:
        return sim.true_roas
    from mediamix.data.simulate import channel_contributions

    spend = sim.frame[sim.spend_columns].to_numpy(dtype=float)
    contrib = channel_contributions(spend, sim.truth)
    w = np.asarray(window, dtype=bool)
    return {
        name: float(contrib[w, c].sum() / spend[w, c].sum()) for c, name in enumerate(sim.channels)
    }


def fit(sim: common.SimData, method: str, seed: int, **kw) -> tuple[common.FitResult, dict]:
    """Fit mediamix's default model (as ``common.fit_mediamix`` does: the wall time covers the
    whole ``fit`` call); the result and the true ROAS over the periods the fit's ROAS uses."""
    import warnings

    from mediamix.data.simulate import simulated_dataset
    from mediamix.estimator import MMM

    ds = simulated_dataset(sim.frame, sim.truth)
    options = {"seed": seed, **(kw if method == "nuts" else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        fitted = MMM().fit(ds, method=method, **options)
        wall = time.perf_counter() - t0
        draws = np.asarray(fitted.roas_draws())
    roas = {
        name: {
            "median": float(np.median(draws[:, i])),
            "lower": float(np.quantile(draws[:, i], 0.05)),
            "upper": float(np.quantile(draws[:, i], 0.95)),
        }
        for i, name in enumerate(fitted.channel_names)
    }
    d = fitted.diagnostics
    window = getattr(fitted, "window", None)  # the likelihood window, where the model has one
    if window is not None:
        mask = np.zeros(sim.n_weeks, dtype=bool)
        mask[window] = True
        window = mask
    result = common.FitResult(
        tool="mediamix",
        method=method,
        wall_seconds=wall,
        min_ess_bulk=float(d.min_ess_bulk) if d and d.min_ess_bulk is not None else np.nan,
        max_rhat=float(d.max_rhat) if d and d.max_rhat is not None else np.nan,
        divergences=int(getattr(d, "divergences", None) or 0),
        roas=roas,
        extra={"window_periods": int(window.sum()) if window is not None else sim.n_weeks},
    )
    return result, true_roas_in_window(sim, window)


def widths(fit_: common.FitResult, truth: dict[str, float]) -> list[float]:
    """90% interval width relative to |true ROAS|, per channel."""
    return [(fit_.roas[c]["upper"] - fit_.roas[c]["lower"]) / abs(truth[c]) for c in truth]


def _table(title: str, methods, covered, errors, rel_errors, rel_widths, seconds, failures):
    print(title)
    header = (
        f"{'method':<6} {'coverage (90% int.)':>20} {'median |ROAS err|':>18} "
        f"{'median rel. err':>16} {'median rel. width':>18} {'median fit s':>13}"
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
            "median_rel_width": common.median(rel_widths[m]),
            "median_fit_seconds": common.median(seconds[m]),
            "failed_seeds": failures[m],
        }
        print(
            f"{m:<6} {f'{cov:.0%} of {n}':>20} {summary[m]['median_abs_roas_error']:>18.3f} "
            f"{summary[m]['median_rel_roas_error']:>16.1%} "
            f"{summary[m]['median_rel_width']:>18.2f} "
            f"{summary[m]['median_fit_seconds']:>13.1f}"
        )
    return summary


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"--method {m!r}: choose from {', '.join(METHODS)}")
    chains, draws, warmup = (2, 500, 500) if args.quick else (args.chains, args.draws, args.warmup)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    groups = ("all", "always_on")
    covered = {g: {m: [] for m in methods} for g in groups}
    errors = {g: {m: [] for m in methods} for g in groups}
    rel_errors = {g: {m: [] for m in methods} for g in groups}
    rel_widths = {g: {m: [] for m in methods} for g in groups}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    rhat: list[float] = []
    divergences: list[int] = []
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
        patterns = {name: ch["pattern"] for name, ch in sim.truth["channels"].items()}
        record = {
            "seed": seed,
            "channels": n_channels,
            "weeks": n_weeks,
            "true": sim.true_roas,
            "patterns": patterns,
        }
        for m in methods:
            kw = {"chains": chains, "draws": draws, "warmup": warmup} if m == "nuts" else {}
            try:
                res, truth = fit(sim, m, seed, **kw)
            except Exception as exc:  # count it, say so, go on with the other seeds
                failures[m].append(seed)
                record[m] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"[{i:>2}/{len(seeds)}] seed {seed:>3} {m:<4} FAILED: {exc}", flush=True)
                continue
            cov = common.roas_covered(res, truth)
            err = common.roas_abs_errors(res, truth)
            wid = widths(res, truth)
            rel = [e / abs(truth[c]) for e, c in zip(err, truth)]
            for g in groups:
                keep = [g == "all" or patterns[c] == g for c in truth]
                covered[g][m] += [v for v, k in zip(cov, keep) if k]
                errors[g][m] += [v for v, k in zip(err, keep) if k]
                rel_errors[g][m] += [v for v, k in zip(rel, keep) if k]
                rel_widths[g][m] += [v for v, k in zip(wid, keep) if k]
            seconds[m].append(res.wall_seconds)
            if m == "nuts":
                rhat.append(res.max_rhat)
                divergences.append(res.divergences)
            record[m] = {
                "true_in_window": truth,
                "window_periods": res.extra["window_periods"],
                "roas": res.roas,
                "covered": cov,
                "rel_width": wid,
                "wall_seconds": res.wall_seconds,
                "max_rhat": res.max_rhat,
                "min_ess_bulk": res.min_ess_bulk,
                "divergences": res.divergences,
            }
            print(
                f"[{i:>2}/{len(seeds)}] seed {seed:>3} {n_channels} ch x {n_weeks:>3} wk {m:<4} "
                f"{res.wall_seconds:6.1f} s  covered {sum(cov)}/{len(cov)}  "
                f"median |err| {common.median(err):.3f}  "
                f"median rel. width {common.median(wid):.2f}"
                + (
                    f"  R-hat {res.max_rhat:.3f}  divergences {res.divergences}"
                    if m == "nuts"
                    else ""
                ),
                flush=True,
            )
        per_seed.append(record)
        if args.json:  # keep what is done so far
            Path(args.json).write_text(json.dumps({"seeds": per_seed}, indent=2, default=str))

    print()
    summary = {}
    for g, title in (("all", "all channels"), ("always_on", "always-on channels only")):
        summary[g] = _table(
            title,
            methods,
            covered[g],
            errors[g],
            rel_errors[g],
            rel_widths[g],
            seconds,
            failures,
        )
        print()
    for m in methods:
        if failures[m]:
            print(f"{m}: {len(failures[m])} fit(s) failed (seeds {failures[m]}), not counted")
    if "nuts" in summary["all"] and rhat:
        ok = summary["all"]["nuts"]["coverage"] >= 0.85
        print(f"NUTS coverage target (>= 85%): {'met' if ok else 'NOT met'}")
        print(f"NUTS max R-hat over seeds: {max(rhat):.3f}")
        print(f"NUTS divergences: {sum(divergences)} in all, at most {max(divergences)} in a fit")
    if "svi" in summary["all"] and summary["all"]["svi"]["coverage"] < 0.8:
        print("SVI intervals are too narrow to trust as 90% intervals (see coverage above)")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    result = {"summary": summary, "seeds": per_seed, "chains": chains, "draws": draws}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
