"""Fleet throughput and memory: one model per simulated market, on every engine.

Simulates ``--markets`` markets (``--weeks`` x ``--channels``, one with a negative spend),
then runs `mediamix.fleet.fit_many` on each engine asked for (sequential in this process, the
local process pool, a local Ray cluster, batched when `mediamix.estimator.batch` exists),
each into a fresh folder (``local:10`` / ``ray:10``: each worker process serves 10 fits, so
its later fits of the structure compile nothing). Printed per engine: wall time, fits per minute (groups fitted,
ok or not converged, per minute of wall time), the groups ok / not converged / failed (the
bad market must be the one failure), and the peak RSS of a worker (the largest over the
fleet's fits; the sequential and batched engines run in their own fresh process, so theirs is
that process's peak over its fleet) against a single fit in a fresh process (target: within
1.5x).

    python bench/bench_fleet.py                              # 50 markets, SVI, all engines
    python bench/bench_fleet.py --markets 8 --engines local,ray --steps 500
    python bench/bench_fleet.py --json /tmp/fleet.json
    python bench/bench_fleet.py --engines sequential,local:10,ray:10,batched

Measured on the 2-core development machine while it ran other jobs (load average 20-30),
``--markets 4 --weeks 52 --channels 2 --method map --steps 1500 --workers 2`` (3 fits and the
bad market's failure per engine): a single fit in a fresh process 401 s wall, 872 MiB;
sequential 297 s (0.61 fits/min, 1137 MiB, 1.30x); local 279 s (0.65 fits/min, 1137 MiB, read
before workers used VmHWM: an upper bound); Ray 492 s (0.37 fits/min, 1132 MiB, 1.30x);
batched 210 s (0.86 fits/min; 1638 MiB is this process's peak over the whole run). The
50-market run was not made on that machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--markets", type=int, default=50)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--method", default="svi")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--draws", type=int, default=200, help="SVI draws")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--engines", default="sequential,local,local:10,ray,ray:10,batched",
                   help="engines to run; NAME:N runs a pool or Ray worker for N fits "
                   "(--fits-per-worker N), NAME alone for one")  # fmt: skip
    p.add_argument("--out", default=None, help="folder for the fleets (default: a temp dir)")
    p.add_argument("--json", default=None, help="write every figure to this file")
    return p.parse_args(argv)


def markets_table(n: int, weeks: int, channels: int):
    """``n`` simulated markets in one long table; the second has a negative spend."""
    import pandas as pd

    from mediamix.data.simulate import simulate

    parts = []
    for i in range(n):
        frame, _ = simulate(n_periods=weeks, n_channels=channels, seed=100 + i, n_controls=0)
        if i == 1:
            frame.iloc[5, frame.columns.get_loc(frame.columns[2])] = -1.0
        parts.append(frame.assign(market=f"market_{i:03d}"))
    table = pd.concat(parts, ignore_index=True)
    spend = [c for c in table.columns if c.endswith("_spend")]
    return table, spend


def _fleet(table, out, engine, workers, per, options) -> tuple[float, dict]:
    """One fleet on ``engine``: its wall seconds and what the table above prints."""
    from mediamix.fleet import fit_many

    t0 = time.perf_counter()
    res = fit_many(table, out, by="market", engine=engine, workers=workers,
                   fits_per_worker=per, resume=False, **options)  # fmt: skip
    wall = time.perf_counter() - t0
    return wall, {
        "ok": list(res.ok), "not_converged": list(res.not_converged),
        "failed": list(res.failed),
        "messages": [r["message"] for r in res.records if r["status"] == "failed"],
        "peak_rss_mb": max((r.get("peak_rss_mb") or 0) for r in res.records),
    }  # fmt: skip


def _in_fresh_process(*args) -> tuple[float, dict]:
    """`_fleet` in a fresh spawned process, so that its peak RSS is that fleet's alone; the
    wall time counts the process's start and imports, as a pool worker's does."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        _, res = pool.submit(_fleet, *args).result()
    return time.perf_counter() - t0, res


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mediamix.fleet import fit_many

    table, spend = markets_table(args.markets, args.weeks, args.channels)
    options = {"method": args.method, "steps": args.steps, "date": "date", "kpi": "sales",
               "channels": spend, "controls": ()}  # fmt: skip
    if args.method == "svi":
        options["draws"] = args.draws
    root = Path(args.out or tempfile.mkdtemp(prefix="bench-fleet-"))
    print(f"{args.markets} markets x {args.weeks} weeks x {args.channels} channels, "
          f"{args.method} {args.steps} steps, {args.workers} workers, in {root}")  # fmt: skip

    # a single fit in a fresh process: the memory a worker should stay near
    single = fit_many(table[table["market"] == "market_000"], root / "single", by="market",
                      engine="local", workers=1, resume=False, **options)  # fmt: skip
    base_rss = single.records[0]["peak_rss_mb"]
    print(f"single fit (fresh process): {single.seconds:.1f} s wall, peak RSS {base_rss:.0f} MiB")

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "batched" in engines:
        try:
            import mediamix.estimator.batch  # noqa: F401
        except ImportError:
            print("batched: mediamix.estimator.batch is not available; skipped")
            engines.remove("batched")
    figures = {"single": {"seconds": single.seconds, "peak_rss_mb": base_rss}, "engines": {}}
    print(f"{'engine':<11}{'wall s':>9}{'fits/min':>10}{'ok':>5}{'n.c.':>6}{'failed':>8}"
          f"{'peak RSS MiB':>14}{'x single':>10}")  # fmt: skip
    for label in engines:
        engine, _, per = label.partition(":")
        out = root / label.replace(":", "_")
        shutil.rmtree(out, ignore_errors=True)
        run = _in_fresh_process if engine in ("sequential", "batched") else _fleet
        wall, res = run(table, out, engine, args.workers, int(per or 1), options)
        fitted = len(res["ok"]) + len(res["not_converged"])
        rss = res["peak_rss_mb"]
        rate = fitted / (wall / 60)
        print(f"{label:<11}{wall:>9.1f}{rate:>10.2f}{len(res['ok']):>5}"
              f"{len(res['not_converged']):>6}{len(res['failed']):>8}{rss:>14.0f}"
              f"{rss / base_rss:>10.2f}")  # fmt: skip
        if res["failed"] != ["market_001"]:
            print(f"  unexpected failures: {res['failed']}: {res['messages'][:3]}")
        figures["engines"][label] = {
            "wall_seconds": wall, "fits_per_minute": rate, "ok": len(res["ok"]),
            "not_converged": len(res["not_converged"]), "failed": res["failed"],
            "peak_rss_mb": rss, "rss_vs_single": rss / base_rss,
        }  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
