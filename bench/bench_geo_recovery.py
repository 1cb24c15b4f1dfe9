"""Recovery of per-geo and national ROAS on simulated geo panels, hierarchical vs separate.

Each seed simulates a geo panel (`mediamix.data.simulate_geo.simulate_geo_panel`: 24 geos x
104 weeks x 3 paid channels by default; the truth draws every geo's media effects around
national ones, ``pooling_sd`` 0.3 in logs, with populations spread 10x) and fits it twice with
the geo model (`mediamix.estimator.geo.GeoMMM`): ``geo_pooling: partial`` (the hierarchical
model) and ``geo_pooling: none`` (every geo its own media effects: separate per-geo fits).
The true ROAS is taken over the fit's own window (``fitted.window``: after the adstock warm-up)
from the simulator's per-period contributions (`window_roas`), the fitted ROAS draws from
`mediamix.analysis.geo.roas_draws` (the same definition: window contribution / window spend,
national = sum over geos / sum over geos).

Printed per seed and overall, for each fit: national coverage (channels whose true ROAS lies
inside the 90% interval; target: all), per-geo coverage (geo x channel; target: >= 75%),
the per-geo ROAS error (mean |posterior mean - truth| over geo x channel, and the same relative
to the truth), the median width of the per-geo 90% intervals, wall seconds and max R-hat.
Target: the hierarchical per-geo error below the separate fits'.

Measured 2026-12-01 on the 2-core machine (load 2-5), NUTS 2 chains x 500 draws (+500
warm-up), the per-geo level centred; seeds 0-2 in one run, seeds 3-4 in a second
(``--seeds 2 --first-seed 3``):

    seeds 0-2  partial  national in 90%: 8/9   per-geo coverage 84.3%  per-geo MAE 0.552
    seeds 0-2  none     national in 90%: 7/9   per-geo coverage 88.0%  per-geo MAE 1.433
    seeds 3-4  partial  national in 90%: 6/6   per-geo coverage 95.1%  per-geo MAE 0.289
    seeds 3-4  none     national in 90%: 5/6   per-geo coverage 91.7%  per-geo MAE 0.419
    5 seeds    partial  national 14/15, per-geo coverage 88.6%, per-geo MAE 0.447
    5 seeds    none     national 12/15, per-geo coverage 89.5%, per-geo MAE 1.028

(wall 105-175 s per hierarchical fit, max R-hat 1.030.)

The hierarchical per-geo error is below the separate fits' in 5/5 seeds (0.794 / 0.406 / 0.457
/ 0.212 / 0.367 against 1.353 / 1.714 / 1.232 / 0.393 / 0.446), and its per-geo coverage
(88.6%) is above the 75% target. One national ROAS of fifteen lies outside its 90% interval
(about one in ten is what a 90% interval allows): seed 0's search, an always-on channel whose spend follows a yearly sine, so the data
barely tell it from the seasonality; true 0.69, fitted 2.15 [0.96, 4.19] (the separate fits
miss it too: 3.25 [2.15, 4.62]), and its per-geo coverage is 12% because every geo inherits
the national miss. The strict target (every national ROAS inside) is not met on seed 0.
Each channel line also prints the review's prior-data conflict verdict (``prior check``);
rerun 2026-12-02 (seed 0, hierarchical only): search 2.17 [0.97, 4.46] against 0.69 with the
prior check passing (the data moved the estimate away from its prior), so the review does not
flag this miss: the upward pull comes from the data, not from the prior. The review's
``always_on`` check does flag it: search never goes dark in any geo (0% of geo-weeks below
10% of the geo's mean; tv and social 39-47%), so its ROAS against no search at all
extrapolates the curve below the observed spend; in seed 0 the true Hill is still convex
there (true mROAS 0.77 above its ROAS 0.69, the only seed where it is). Search's spend is
as seasonal in every seed (R^2 0.39-0.48 on a trend and two yearly harmonics) and is
recovered in seeds 1-4.

    nice -n 19 python bench/bench_geo_recovery.py                       # 3 seeds, 2 x 500 NUTS
    nice -n 19 python bench/bench_geo_recovery.py --seeds 5 --chains 4
    python bench/bench_geo_recovery.py --method svi --seeds 5           # the fast path
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

POOLINGS = ("partial", "none")
LEVEL = 0.9


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--geos", type=int, default=24)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--pooling-sd", type=float, default=0.3)
    p.add_argument("--method", default="nuts", choices=("nuts", "svi"))
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--steps", type=int, default=3000, help="SVI steps")
    p.add_argument("--pooling", default="partial,none", help="comma-separated: partial, none")
    p.add_argument("--json", default=None, help="also write the per-seed results to this file")
    return p.parse_args(argv)


def sampler_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.method == "nuts":
        return {"chains": args.chains, "draws": args.draws, "warmup": args.warmup}
    return {"steps": args.steps, "draws": args.draws}


def fit_panel(panel, pooling: str, method: str, seed: int, **options: Any):
    """Fit the geo model with ``geo_pooling`` = ``pooling``; the fit and its wall seconds."""
    from mediamix.estimator.geo import GeoMMM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        fitted = GeoMMM({"geo_pooling": pooling}).fit(panel, method=method, seed=seed, **options)
        return fitted, time.perf_counter() - t0


def max_rhat(fitted) -> float:
    d = getattr(fitted, "diagnostics", None)
    value = getattr(d, "max_rhat", None) if d is not None else None
    if value is None and isinstance(d, dict):
        value = d.get("max_rhat")
    return float("nan") if value is None else float(value)


def score(fitted, truth: dict[str, Any], level: float = LEVEL) -> dict[str, Any]:
    """Coverage and error of one fit against the truth over the fit's window."""
    from mediamix.analysis.geo import roas_draws
    from mediamix.data.simulate_geo import window_roas

    w = fitted.window
    nat_true, geo_true = window_roas(truth, (w.start or 0, w.stop or truth["n_periods"]))
    q = ((1 - level) / 2, (1 + level) / 2)
    nat = np.asarray(roas_draws(fitted, by="national"))  # (S, M)
    geo = np.asarray(roas_draws(fitted, by="geo"))  # (S, G, M)
    n_lo, n_hi = np.quantile(nat, q, axis=0)
    g_lo, g_hi = np.quantile(geo, q, axis=0)
    g_mean = geo.mean(0)
    nat_in = (n_lo <= nat_true) & (nat_true <= n_hi)
    geo_in = (g_lo <= geo_true) & (geo_true <= g_hi)
    err = np.abs(g_mean - geo_true)
    return {
        "national_true": nat_true.tolist(),
        "national_mean": nat.mean(0).tolist(),
        "national_lower": n_lo.tolist(),
        "national_upper": n_hi.tolist(),
        "national_covered": nat_in.tolist(),
        "geo_coverage": float(geo_in.mean()),
        "geo_coverage_by_channel": geo_in.mean(0).tolist(),
        "geo_mae": float(err.mean()),
        "geo_mae_by_channel": err.mean(0).tolist(),
        "geo_rel_mae": float((err / geo_true).mean()),
        "geo_width": float(np.median(g_hi - g_lo)),
        "national_abs_error": np.abs(nat.mean(0) - nat_true).tolist(),
    }


def prior_verdicts(fitted, names: list[str]) -> list[str]:
    """The review's prior-data conflict verdict per channel: ``pass``, or ``review`` with why
    (``mostly the prior``, ``prior tail``)."""
    checks = {c.subject: c for c in fitted.review.checks if c.name == "prior_shift"}
    out = []
    for n in names:
        c = checks.get(n)
        if c is None:
            out.append("-")
        elif c.verdict == "pass":
            out.append("pass")
        else:
            out.append("review (" + ("mostly the prior" if "mostly" in c.advice else "prior tail")
                       + ")")  # fmt: skip
    return out


def always_on(fitted, names: list[str]) -> list[str]:
    """The review's ``always_on`` verdict per channel (``review``: its ROAS extrapolates the
    response below any spend in the data)."""
    checks = {c.subject: c.verdict for c in fitted.review.checks if c.name == "always_on"}
    return [checks.get(n, "-") for n in names]


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    from mediamix.data.simulate_geo import simulate_geo_panel

    panel, truth = simulate_geo_panel(
        n_geos=args.geos,
        n_periods=args.weeks,
        n_channels=args.channels,
        seed=seed,
        pooling_sd=args.pooling_sd,
    )
    out: dict[str, Any] = {"seed": seed, "channels": truth["media_names"], "fits": {}}
    for pooling in args.pooling.split(","):
        fitted, wall = fit_panel(panel, pooling, args.method, seed, **sampler_options(args))
        s = score(fitted, truth)
        s.update({"wall_seconds": wall, "max_rhat": max_rhat(fitted),
                  "prior_verdict": prior_verdicts(fitted, truth["media_names"]),
                  "always_on": always_on(fitted, truth["media_names"])})  # fmt: skip
        out["fits"][pooling] = s
        print(line(seed, pooling, s), flush=True)
        for i, name in enumerate(truth["media_names"]):
            print(
                f"    {name:<8} national true {s['national_true'][i]:.2f} fitted "
                f"{s['national_mean'][i]:.2f} [{s['national_lower'][i]:.2f}, "
                f"{s['national_upper'][i]:.2f}]  per-geo coverage "
                f"{s['geo_coverage_by_channel'][i]:.0%}, MAE {s['geo_mae_by_channel'][i]:.3f}"
                f"  prior check: {s['prior_verdict'][i]}, always on: {s['always_on'][i]}",
                flush=True,
            )
    return out


def line(seed: Any, pooling: str, s: dict[str, Any]) -> str:
    nat = f"{sum(s['national_covered'])}/{len(s['national_covered'])}"
    return (
        f"seed {seed!s:>4}  {pooling:<8} national in 90%: {nat:<5} per-geo coverage "
        f"{s['geo_coverage']:6.1%}  per-geo MAE {s['geo_mae']:.3f} (rel {s['geo_rel_mae']:.1%}, "
        f"width {s['geo_width']:.2f})  wall {s['wall_seconds']:7.1f} s  "
        f"max R-hat {s['max_rhat']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    import mediamix

    args = parse_args(argv)
    if args.method == "nuts":
        mediamix.set_host_devices(args.chains)
    print(
        f"geo recovery: {args.seeds} seed(s), {args.geos} geos x {args.weeks} weeks x "
        f"{args.channels} channels, pooling sd {args.pooling_sd}, {args.method} "
        + (
            f"{args.chains} chains x {args.draws} draws ({args.warmup} warm-up)"
            if args.method == "nuts"
            else f"{args.steps} steps, {args.draws} draws"
        ),
        flush=True,
    )
    results = [run_seed(args, args.first_seed + i) for i in range(args.seeds)]
    print("\noverall")
    ok = True
    for pooling in args.pooling.split(","):
        fits = [r["fits"][pooling] for r in results]
        covered = [c for f in fits for c in f["national_covered"]]
        overall = {
            "national_covered": covered,
            "geo_coverage": float(np.mean([f["geo_coverage"] for f in fits])),
            "geo_mae": float(np.mean([f["geo_mae"] for f in fits])),
            "geo_rel_mae": float(np.mean([f["geo_rel_mae"] for f in fits])),
            "geo_width": float(np.median([f["geo_width"] for f in fits])),
            "wall_seconds": float(np.sum([f["wall_seconds"] for f in fits])),
            "max_rhat": float(np.nanmax([f["max_rhat"] for f in fits])),
        }
        print(line("all", pooling, overall))
        if pooling == "partial":
            ok &= all(covered) and overall["geo_coverage"] >= 0.75
    if {"partial", "none"} <= set(args.pooling.split(",")):
        wins = sum(r["fits"]["partial"]["geo_mae"] < r["fits"]["none"]["geo_mae"] for r in results)
        print(f"hierarchical per-geo MAE below the separate fits' in {wins}/{len(results)} seeds")
        ok &= wins == len(results)
    print("targets met" if ok else "targets NOT met (see above)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
