"""Refresh without flip-flopping: a refresh with new weeks beside a cold refit, over seeds.

Each seed simulates 164 weeks (mediamix's simulator, 3 channels by default), fits the first
156 with NUTS (the old run), then fits all 164 twice: a refresh (the old posterior as the prior,
widened by ``--widen``, the old scalers; `mediamix.estimator.refresh.refresh`, with its anchor
fit for the attribution) and a cold refit (the default priors, new scalers). Printed per
channel: the true ROAS over each fit's window, the old, refresh and cold ROAS (mean and 90%
interval), the move of each against the old ROAS in old interval widths (``move/width``), the
share of the refresh's move the new weeks explain, and whether the true ROAS lies inside each
interval; then, over every channel and seed, the largest |move/width| of the refresh and of
the cold refit, the share of channels within one interval width, and the coverage.

    python bench/bench_refresh.py                         # seeds 0-2, 2 chains x 500/500
    python bench/bench_refresh.py --seeds 5 --chains 4 --draws 1000 --warmup 1000
    python bench/bench_refresh.py --json /tmp/refresh.json
"""

from __future__ import annotations

import os

# one host device per chain so NUTS chains run in parallel (set before JAX starts)
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--weeks", type=int, default=156, help="weeks of the old run")
    p.add_argument("--new-weeks", type=int, default=8)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--widen", type=float, default=None, help="default: the refresh's default")
    p.add_argument("--no-attribution", action="store_true", help="skip the anchor fit")
    p.add_argument("--json", default=None, help="write every figure to this file")
    return p.parse_args(argv)


def true_roas(frame, truth, fitted) -> dict[str, float]:
    """The true ROAS over the fit's window (true contribution over spend in those periods)."""
    from mediamix.data.simulate import channel_contributions

    cols = [ch["spend_column"] for ch in truth["channels"].values()]
    spend = frame[cols].to_numpy(float)[: len(fitted.data.kpi)]
    contrib = channel_contributions(spend, truth)
    w = fitted.window
    return {
        name: float(contrib[w, i].sum() / spend[w, i].sum())
        for i, name in enumerate(truth["channels"])
    }


def one_seed(seed: int, a: argparse.Namespace) -> dict:
    from mediamix.analysis.drift import roas_intervals
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM
    from mediamix.estimator.refresh import DEFAULT_WIDEN, refresh
    from mediamix.inference import NUTS

    frame, truth = simulate(n_periods=a.weeks + a.new_weeks, n_channels=a.channels, seed=seed)
    old_ds = simulated_dataset(frame.iloc[: a.weeks].reset_index(drop=True), truth)
    new_ds = simulated_dataset(frame, truth)
    nuts = NUTS(chains=a.chains, draws=a.draws, warmup=a.warmup)
    widen = DEFAULT_WIDEN if a.widen is None else a.widen
    t = {}
    t0 = time.perf_counter()
    old = MMM().fit(old_ds, nuts, seed=seed, warn=False)
    t["old"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    new, table = refresh(old, new_ds, nuts, widen=widen, seed=seed, warn=False,
                         attribution=not a.no_attribution)  # fmt: skip
    t["refresh"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cold = MMM().fit(new_ds, nuts, seed=seed, warn=False)
    t["cold"] = time.perf_counter() - t0
    t_old, t_new = true_roas(frame, truth, old), true_roas(frame, truth, new)
    table = table.with_cold(roas_intervals(cold, table.level), t_new)
    rows = []
    for r in table.rows:
        c = r.channel
        rows.append({
            **r.to_dict(),
            "true_old": t_old[c],
            "true_new": t_new[c],
            "covered_old": bool(r.old.lower <= t_old[c] <= r.old.upper),
            "covered_new": bool(r.new.lower <= t_new[c] <= r.new.upper),
            "covered_cold": bool(r.cold.lower <= t_new[c] <= r.cold.upper),
            "new_width_rel": r.new.width / r.old.width if r.old.width > 0 else None,
            "cold_width_rel": r.cold.width / r.old.width if r.old.width > 0 else None,
        })  # fmt: skip
    diag = {k: getattr(f.diagnostics, "max_rhat", None) for k, f in
            (("old", old), ("refresh", new), ("cold", cold))}  # fmt: skip
    return {"seed": seed, "widen": widen, "seconds": t, "max_rhat": diag, "channels": rows}


def fmt_iv(d: dict) -> str:
    return f"{d['mean']:.2f} [{d['lower']:.2f}, {d['upper']:.2f}]"


def print_seed(res: dict) -> None:
    s = res["seconds"]
    print(f"\nseed {res['seed']} (widen {res['widen']:g}; old {s['old']:.0f} s, refresh "
          f"{s['refresh']:.0f} s incl. anchor, cold {s['cold']:.0f} s; max R-hat "
          + ", ".join(f"{k} {v:.3f}" for k, v in res["max_rhat"].items() if v is not None)
          + ")")  # fmt: skip
    head = (f"{'channel':<9}{'true':>6} {'old ROAS':<20}{'refresh ROAS':<20}{'cold ROAS':<20}"
            f"{'refresh mv/w':>13}{'cold mv/w':>10}{'new wks':>8}  covered o/r/c")  # fmt: skip
    print(head)
    for r in res["channels"]:
        share = r["new_weeks_share"]
        cov = "/".join("y" if r[k] else "n" for k in ("covered_old", "covered_new", "covered_cold"))
        print(f"{r['channel']:<9}{r['true_new']:>6.2f} {fmt_iv(r['old']):<20}"
              f"{fmt_iv(r['new']):<20}{fmt_iv(r['cold']):<20}{r['move_rel']:>+13.2f}"
              f"{r['cold_move_rel']:>+10.2f}"
              + (f"{share:>8.0%}" if share is not None else f"{'-':>8}") + f"  {cov}")  # fmt: skip


def print_total(results: list[dict]) -> None:
    rows = [r for res in results for r in res["channels"]]
    mv = [abs(r["move_rel"]) for r in rows]
    cm = [abs(r["cold_move_rel"]) for r in rows]
    print(f"\nover {len(results)} seeds x {len(rows) // max(len(results), 1)} channels:")
    print(f"  refresh: max |move/width| {max(mv):.2f}, median {np.median(mv):.2f}, within one "
          f"width {np.mean([m <= 1 for m in mv]):.0%}")  # fmt: skip
    print(f"  cold:    max |move/width| {max(cm):.2f}, median {np.median(cm):.2f}, within one "
          f"width {np.mean([m <= 1 for m in cm]):.0%}")  # fmt: skip
    for k, name in (("old", "old"), ("new", "refresh"), ("cold", "cold")):
        cov = np.mean([r[f"covered_{k}"] for r in rows])
        print(f"  90% coverage of the true ROAS, {name}: {cov:.0%}")
    nw = [r["new_width_rel"] for r in rows if r["new_width_rel"] is not None]
    cw = [r["cold_width_rel"] for r in rows if r["cold_width_rel"] is not None]
    print(f"  interval width / old width: refresh median {np.median(nw):.2f}, cold median "
          f"{np.median(cw):.2f}")  # fmt: skip
    shares = [r["new_weeks_share"] for r in rows if r["new_weeks_share"] is not None]
    if shares:
        print(f"  share of the refresh's move the new weeks explain: median "
              f"{np.median(shares):.0%}")  # fmt: skip


def main(argv=None) -> None:
    a = parse_args(argv)
    warnings.simplefilter("ignore")
    results = []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        res = one_seed(seed, a)
        results.append(res)
        print_seed(res)
        if a.json:
            with open(a.json, "w") as fh:
                json.dump(results, fh, indent=1)
    print_total(results)


if __name__ == "__main__":
    main()
