"""The cost of a NUTS fit as the work grows: 104/208/416 weeks x 3/10/20 channels.

Each point is a fresh mediamix process (cold, no compile cache; ``bench/_cold.py``) fitting
simulated data (geometric adstock + Hill, known truth) with a short NUTS run (default 2 chains
x 200 draws after 200 warmup). Printed per point: wall seconds of the fit call and its parts
(init + compile, warmup, sampling, the work after the sampler), min bulk ESS, min-ESS per
second, leapfrog steps per draw and the cost of one gradient evaluation; then, for each
measure, the exponent b of a least-squares fit ``cost ~ (weeks x channels)^b`` over the points,
and whether it grows no worse than linearly (b <= 1; a cost that is mostly fixed, such as
compilation, gives b well below 1).

    python bench/bench_scaling.py
    python bench/bench_scaling.py --weeks 104,208 --channels 3,10 --draws 300 --warmup 300
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

from bench_mmm_speed import load, run_cold


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(max(y, 1e-12)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den if den > 0 else float("nan")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weeks", default="104,208,416")
    p.add_argument("--channels", default="3,10,20")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    weeks = [int(v) for v in args.weeks.split(",")]
    channels = [int(v) for v in args.channels.split(",")]
    print(f"{os.cpu_count()} cores, load {load()}; NUTS {args.chains} chains x {args.draws} draws "
          f"({args.warmup} warmup), each point a fresh process without compile cache")  # fmt: skip
    head = (f"{'weeks':>5} {'ch':>3} {'wall s':>7} {'init+comp':>9} {'warmup':>7} {'sampling':>8} "
            f"{'post':>6} {'min ESS':>7} {'ESS/s':>6} {'steps/draw':>10} {'grad us':>8}  load")  # fmt: skip
    print(head)
    print("-" * len(head))
    rows = []
    for T in weeks:
        for C in channels:
            cfg = {"method": "nuts", "weeks": T, "channels": C, "seed": args.seed,
                   "chains": args.chains, "draws": args.draws, "warmup": args.warmup}  # fmt: skip
            try:
                r = run_cold(cfg)
            except Exception as exc:  # report and go on
                print(f"{T:>5} {C:>3} failed: {str(exc)[-300:]}")
                continue
            pt = r["parts"]
            ess_s = r["min_ess_bulk"] / r["wall_seconds"]
            print(f"{T:>5} {C:>3} {r['wall_seconds']:>7.1f} {pt['init_compile']:>9.1f} "
                  f"{pt['warmup']:>7.1f} {pt['sampling']:>8.1f} {pt['post_fit']:>6.1f} "
                  f"{r['min_ess_bulk']:>7.0f} {ess_s:>6.1f} {r['leapfrog_per_draw']:>10.1f} "
                  f"{r['gradient_seconds'] * 1e6:>8.0f}  {r['load']}", flush=True)  # fmt: skip
            rows.append({"weeks": T, "channels": C, **r})
    if len(rows) >= 2:
        work = [r["weeks"] * r["channels"] for r in rows]
        print(
            "\nexponent b of cost ~ (weeks x channels)^b over the points (b <= 1: no worse "
            "than linear)"
        )
        measures = {
            "wall seconds of the fit": [r["wall_seconds"] for r in rows],
            "sampling seconds": [r["parts"]["sampling"] for r in rows],
            "sampling seconds per leapfrog step": [r["seconds_per_leapfrog_all_chains"]
                                                   for r in rows],
            "gradient seconds per evaluation": [r["gradient_seconds"] for r in rows],
            "seconds per effective draw (wall / min ESS)": [r["wall_seconds"] / r["min_ess_bulk"]
                                                           for r in rows],
        }  # fmt: skip
        for name, ys in measures.items():
            b = slope(work, ys)
            verdict = "no worse than linear" if b <= 1.0 else "WORSE than linear"
            print(f"  {name:<46} b = {b:5.2f}  {verdict}")
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
