"""Speed, memory and ROI on Meridian's geo sample data: mediamix's geo model beside Meridian.

One run, one data set (``../shared/data/meridian_geo_all_channels.csv``: 40 geos x 156 weeks,
five paid channels with impressions beside spend, an organic channel, a promotion, two
controls, population), the same chains and draws for both tools, one after the other (never
side by side on the shared cores):

- **mediamix**: ``GeoMMM`` with ``examples/meridian_geo.yaml`` (geometric adstock, Hill with
  its shape fixed at 1, per-geo control coefficients, partial pooling over geos), NUTS, in a fresh process with the compile cache off (a cold fit:
  everything compiles). The same process then fits twice more (``--repeat``) and records its
  resident memory after each fit, to show whether memory grows across repeated fits.
- **Meridian** (``google-meridian``, its default ``ModelSpec``) in its own throw-away virtual
  environment (``MEDIAMIX_MERIDIAN_VENV``, default ``/tmp/mediamix-meridian-venv``, created
  with ``pip install google-meridian`` on first use: a few minutes, about 1 GB with
  TensorFlow); ``bench/peer_meridian_geo.py`` is its side and never imports mediamix. Its
  warmup is split into adaptation and burn-in (``--warmup 500`` = 250 + 250).

Printed for each: fit wall seconds (mediamix: the whole ``GeoMMM.fit`` call, compilation
included; Meridian: ``Meridian(...)`` plus ``sample_posterior``, its compilation included),
process seconds (with imports and data loading), min bulk ESS and max R-hat over every
posterior variable (the same ArviZ computation for both, ``peer_meridian_geo.diagnostics``),
min-ESS per fit second, divergences, peak resident memory (``getrusage``), and ROI per paid
channel (revenue per unit of spend; mediamix: window contribution x kpi_value / window spend,
the first ``max_lag - 1`` weeks only feed the adstock; Meridian: ``Analyzer.roi()``) with its
90% interval. Then mediamix's warm fits and its memory after each fit.

Measured 2026-12-02 on the 2-core machine (idle but for this run), one run, 2 chains x 300
draws (+300 warmup) for both, ``examples/meridian_geo.yaml`` as shipped (per-geo control
coefficients, Hill with its shape fixed at 1), cold:

    fit                       fit s  CPU s  min ESS  ESS/s   R-hat  div  steps  peak MB
    mediamix GeoMMM NUTS      260.6  444.6       24  0.092   1.104    1     31     2757
    Meridian 2.1.0            213.0  283.0        3  0.016   1.631  105    109     3143

mediamix / Meridian in min-ESS per fit second: 5.9x (per CPU second 4.6x); target >= 3x. At
this length neither has converged (mediamix's worst variable is the per-geo controls' pooling
sd, control_sd; Meridian's chains disagree: R-hat 1.63, min ESS 3, so its ESS/s is itself
poorly estimated). mediamix converges at 4 chains x 1000 (+1000): 994 s, R-hat 1.009, min
ESS 468, no divergences. ROI per paid channel (mean [90%]), mediamix / Meridian: Channel0
1.15 [0.05, 3.32] / 1.87 [0.45, 3.28], Channel1 0.87 [0.18, 1.92] / 1.04 [0.25, 2.10],
Channel2 1.33 [0.35, 2.60] / 1.37 [0.57, 2.43], Channel3 0.95 [0.33, 1.87] / 0.88 [0.33,
1.54], Channel4 0.91 [0.06, 2.25] / 1.67 [0.46, 3.19]. Repeated fits in one process: RSS
after fits 1-3 2315, 2366, 2312 MB (flat: one kernel and compiled program per structure,
`mediamix.inference.nuts`), warm fits 234 and 226 s.

The same run on 2026-12-01 with the earlier config (national control coefficients, Hill with
a free shape): mediamix 294 s, min ESS 99, R-hat 1.030, 11 divergences, 0.336 min-ESS/s
against Meridian's 0.017 (20x); ROI Channel0-4 0.80 / 0.70 / 2.40 / 1.85 / 1.25.

    .venv/bin/python bench/bench_geo_meridian.py                         # 2 chains x 500 (+500)
    .venv/bin/python bench/bench_geo_meridian.py --chains 4 --draws 1000 --warmup 1000
    .venv/bin/python bench/bench_geo_meridian.py --skip meridian --repeat 3
    .venv/bin/python bench/bench_geo_meridian.py --quick                 # 2 chains x 100 (+100)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_CSV = REPO.parent / "shared" / "data" / "meridian_geo_all_channels.csv"
DEFAULT_CONFIG = REPO / "examples" / "meridian_geo.yaml"
PEER_SCRIPT = BENCH_DIR / "peer_meridian_geo.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", default=str(DEFAULT_CSV))
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=500, help="kept draws per chain")
    p.add_argument("--warmup", type=int, default=500, help="warmup per chain (both tools)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3, help="mediamix fits in one process")
    p.add_argument("--skip", default="", help="comma-separated: mediamix, meridian")
    p.add_argument("--quick", action="store_true", help="2 chains x 100 draws (+100 warmup)")
    p.add_argument("--timeout", type=float, default=7200.0, help="seconds per tool")
    p.add_argument("--json", default=None, help="also write every figure to this JSON file")
    p.add_argument("--progress", action="store_true", help="mediamix's sampler progress on stderr")
    p.add_argument("--worker", nargs=2, metavar=("CFG", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.chains, args.draws, args.warmup = 2, 100, 100
    return args


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def interval(values: Any) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "median": float(np.median(v)),
            "lower": float(np.quantile(v, 0.05)), "upper": float(np.quantile(v, 0.95))}  # fmt: skip


def loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()[:2])


# --------------------------------------------------------------------------- mediamix side


def national_roi(fitted: Any) -> tuple[Any, str]:
    """ROI draws ``(S, C+R)`` of the media channels, national, over the fit's window."""
    import numpy as np

    try:
        from mediamix.analysis.geo import roas_draws
    except ImportError:
        roas_draws = None
    if roas_draws is not None:
        return np.asarray(roas_draws(fitted, by="national")), "mediamix.analysis.geo.roas_draws"
    window = fitted.window
    media = np.asarray(fitted.contribution_draws()["media"])[:, :, window]  # (S, G, W, C)
    spend = np.asarray(fitted.media_spend())[:, window]  # (G, W, C)
    return (fitted.spec.kpi_value * media.sum(axis=(1, 2)) / spend.sum(axis=(0, 1)),
            "window contribution x kpi_value / window spend")  # fmt: skip


T_START = time.perf_counter()
WORKER_CFG: dict[str, Any] = {}


def worker(cfg: dict[str, Any], out: str) -> None:
    """The mediamix side, in this (fresh) process: ``cfg["repeat"]`` fits one after another."""
    import mediamix

    mediamix.set_host_devices(max(1, int(cfg["chains"])))
    import warnings

    from mediamix.data.panel import load_panel
    from mediamix.estimator.geo import GeoMMM
    from mediamix.model.spec import load_config

    sys.path.insert(0, str(BENCH_DIR))
    from peer_meridian_geo import cpu_seconds, diagnostics

    warnings.filterwarnings("ignore")
    WORKER_CFG.update(cfg, import_seconds=time.perf_counter() - T_START)
    t0 = time.perf_counter()
    data_cfg, spec = load_config(cfg["config"])
    panel, _ = load_panel(cfg["csv"], data_cfg, base_dir=Path(cfg["config"]).parent)
    WORKER_CFG["load_seconds"] = time.perf_counter() - t0
    memory = [{"step": "loaded", "rss_mb": rss_mb()}]
    fits: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    fitted = None
    for k in range(int(cfg["repeat"])):
        fitted = None  # the previous fit is released before the next one starts
        gc.collect()
        t0, c0 = time.perf_counter(), cpu_seconds()
        fitted = GeoMMM(spec).fit(panel, method="nuts", chains=cfg["chains"],
                                  draws=cfg["draws"], warmup=cfg["warmup"],
                                  seed=cfg["seed"] + k,
                                  progress=bool(cfg.get("progress")))  # fmt: skip
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        diag = diagnostics(fitted.idata)
        d = fitted.diagnostics
        row = {
            "fit": k + 1,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "sampler_seconds": float(fitted.fit_seconds),
            "min_ess_bulk": diag["min_ess_bulk"],
            "min_ess_variable": diag["min_ess_variable"],
            "max_rhat": diag["max_rhat"],
            "max_rhat_variable": diag["max_rhat_variable"],
            "divergences": diag["divergences"],
            "leapfrog_per_draw": diag.get("leapfrog_per_draw"),
            "own_max_rhat": None if d.max_rhat is None else float(d.max_rhat),
            "own_min_ess_bulk": None if d.min_ess_bulk is None else float(d.min_ess_bulk),
            "rss_mb_after": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
        }
        if k == 0:
            roi, roi_how = national_roi(fitted)
            first = {
                "roi": {n: interval(roi[:, i]) for i, n in enumerate(fitted.media_names)},
                "roi_how": roi_how,
                "per_variable": diag["per_variable"],
                "window": [int(fitted.window.start or 0), int(fitted.window.stop or 0)],
            }
        fits.append(row)
        memory.append({"step": f"fit {k + 1}", "rss_mb": row["rss_mb_after"]})
        # written after every fit, so a run stopped early keeps what it measured
        write(out, fits, memory, first, panel)
        if cfg.get("partial"):
            write(cfg["partial"], fits, memory, first, panel)
    fitted = None
    gc.collect()
    memory.append({"step": "released", "rss_mb": rss_mb()})
    write(out, fits, memory, first, panel)


def write(path: str, fits: list, memory: list, first: dict, panel: Any) -> None:
    import jax

    import mediamix

    cfg = WORKER_CFG
    keys = ("wall_seconds", "cpu_seconds", "min_ess_bulk", "max_rhat", "divergences",
            "min_ess_variable", "max_rhat_variable", "leapfrog_per_draw")  # fmt: skip
    result = {
        "tool": "mediamix",
        "versions": {"mediamix": mediamix.__version__, "jax": jax.__version__},
        "host_devices": jax.local_device_count(),
        "config": cfg,
        "geos": len(panel.geos),
        "periods": int(panel.n_periods),
        "import_seconds": cfg["import_seconds"],
        "load_seconds": cfg["load_seconds"],
        "process_seconds": time.perf_counter() - T_START,
        "fits": fits,
        "memory": memory,
        "peak_rss_mb": peak_rss_mb(),
        **first,
        **{k: fits[0].get(k) for k in keys},
    }
    Path(path).write_text(json.dumps(result, default=float))


def run_mediamix(args: argparse.Namespace) -> dict[str, Any]:
    cfg = {"csv": str(Path(args.csv).resolve()), "config": str(Path(args.config).resolve()),
           "chains": args.chains, "draws": args.draws, "warmup": args.warmup,
           "seed": args.seed, "repeat": max(1, args.repeat),
           "progress": args.progress,
           "partial": f"{args.json}.mediamix-partial.json" if args.json else None}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mediamix-geo-cold-") as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("JAX_COMPILATION") and k != "XLA_FLAGS"}  # fmt: skip
        env.update(MEDIAMIX_JAX_CACHE="off", XDG_CACHE_HOME=tmp, TMPDIR=tmp, JAX_PLATFORMS="cpu")
        out = Path(tmp) / "mediamix.json"
        before = loadavg()
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg), str(out)],
                           stdout=subprocess.PIPE, text=True, env=env, timeout=args.timeout,
                           stderr=None if args.progress else subprocess.PIPE)  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"mediamix geo fit failed:\n{(r.stderr or '')[-4000:]}")
        res = json.loads(out.read_text())
    res["process_wall_seconds"] = time.perf_counter() - t0
    res["load"] = f"{before} -> {loadavg()}"
    return res


# --------------------------------------------------------------------------- Meridian side


def run_meridian(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH_DIR))
    from bench_mmm_peers import ensure_meridian_venv

    python = ensure_meridian_venv()
    adapt = args.warmup // 2
    with tempfile.TemporaryDirectory(prefix="meridian-geo-") as tmp:
        out = Path(tmp) / "meridian.json"
        cmd = [str(python), str(PEER_SCRIPT), "--csv", str(Path(args.csv).resolve()),
               "--chains", str(args.chains), "--adapt", str(adapt),
               "--burnin", str(args.warmup - adapt), "--draws", str(args.draws),
               "--seed", str(args.seed), "--out", str(out)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
        before = loadavg()
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
        if r.returncode != 0:
            raise RuntimeError(f"meridian geo fit failed:\n{r.stderr[-4000:]}")
        res = json.loads(out.read_text())
    res["process_wall_seconds"] = time.perf_counter() - t0
    res["load"] = f"{before} -> {loadavg()}"
    return res


# --------------------------------------------------------------------------- the table


def _ess_rate(res: dict[str, Any], seconds_key: str) -> float:
    s = res[seconds_key]
    return res["min_ess_bulk"] / s if s > 0 else float("nan")


def print_table(mm: dict[str, Any] | None, mer: dict[str, Any] | None, args) -> None:
    print(f"\nMeridian's geo sample data, {args.chains} chains x {args.draws} draws "
          f"(+{args.warmup} warmup) each, one tool after the other\n")  # fmt: skip
    head = (f"{'fit':<30}{'fit s':>8}{'CPU s':>8}{'process s':>10}{'min ESS':>8}"
            f"{'ESS/s':>8}{'ESS/CPU s':>10}{'R-hat':>8}{'div':>5}{'steps':>6}{'peak MB':>8}"
            "  load")  # fmt: skip
    print(head)
    print("-" * len(head))
    rows = []
    if mm is not None:
        rows.append(("mediamix GeoMMM NUTS (cold)", mm, "wall_seconds"))
    if mer is not None:
        rows.append(("Meridian " + mer["versions"]["meridian"], mer, "fit_seconds"))
    for label, res, key in rows:
        steps = res.get("leapfrog_per_draw")
        print(f"{label:<30}{res[key]:>8.1f}{res['cpu_seconds']:>8.1f}"
              f"{res['process_wall_seconds']:>10.1f}{res['min_ess_bulk']:>8.0f}"
              f"{_ess_rate(res, key):>8.3f}{_ess_rate(res, 'cpu_seconds'):>10.3f}"
              f"{res['max_rhat']:>8.3f}{res['divergences']:>5d}"
              f"{'-' if steps is None else f'{steps:.0f}':>6}{res['peak_rss_mb']:>8.0f}"
              f"  {res['load']}")  # fmt: skip
    if mm is not None and mer is not None:
        ratio = _ess_rate(mm, "wall_seconds") / _ess_rate(mer, "fit_seconds")
        per_cpu = _ess_rate(mm, "cpu_seconds") / _ess_rate(mer, "cpu_seconds")
        print(f"\nmediamix / Meridian in min-ESS per fit second: {ratio:.2f}x (target >= 3x: "
              f"{'met' if ratio >= 3 else 'not met'}); per CPU second: {per_cpu:.2f}x")  # fmt: skip
        print(f"worst variable: mediamix {mm['min_ess_variable']} (ESS), "
              f"{mm['max_rhat_variable']} (R-hat); Meridian {mer['min_ess_variable']} (ESS), "
              f"{mer['max_rhat_variable']} (R-hat)")  # fmt: skip
    if mer is not None:
        print(f"Meridian's parts: import {mer['import_seconds']:.1f} s, load "
              f"{mer['load_seconds']:.1f} s, build {mer['build_seconds']:.1f} s, "
              f"sample_posterior {mer['sample_seconds']:.1f} s (compilation inside), "
              f"roi {mer['roi_seconds']:.1f} s")  # fmt: skip
    if mm is not None:
        print(f"mediamix's parts: import {mm['import_seconds']:.1f} s, load "
              f"{mm['load_seconds']:.1f} s, fit {mm['wall_seconds']:.1f} s (sampler "
              f"{mm['fits'][0]['sampler_seconds']:.1f} s)")  # fmt: skip
    # ROI per channel
    names = list((mm or mer)["roi"])
    print("\nROI per paid channel (revenue per unit of spend), mean [90% interval]")
    print(f"{'channel':<12}{'mediamix':>30}{'Meridian':>30}")
    for n in names:
        cells = []
        for res in (mm, mer):
            r = (res or {}).get("roi", {}).get(n)
            cells.append(f"{r['mean']:.2f} [{r['lower']:.2f}, {r['upper']:.2f}]" if r else "-")
        print(f"{n:<12}{cells[0]:>30}{cells[1]:>30}")
    if mm is not None:
        print(f"(mediamix ROI: {mm['roi_how']}, weeks {mm['window'][0]}..{mm['window'][1]})")
    if mm is not None and len(mm["fits"]) > 1:
        print("\nmediamix, repeated fits in one process (the previous fit released first)")
        print(f"{'fit':>4}{'wall s':>9}{'min ESS':>9}{'min-ESS/s':>11}{'max R-hat':>11}"
              f"{'RSS after MB':>14}{'peak MB':>9}")  # fmt: skip
        for f in mm["fits"]:
            print(f"{f['fit']:>4}{f['wall_seconds']:>9.1f}{f['min_ess_bulk']:>9.0f}"
                  f"{f['min_ess_bulk'] / f['wall_seconds']:>11.3f}{f['max_rhat']:>11.4f}"
                  f"{f['rss_mb_after']:>14.0f}{f['peak_rss_mb']:>9.0f}")  # fmt: skip
        rss = [f["rss_mb_after"] for f in mm["fits"]]
        print(
            f"RSS growth from fit 2 to fit {len(rss)}: {rss[-1] - rss[1]:+.0f} MB"
            if len(rss) > 2
            else f"RSS after fit 2 - fit 1: {rss[1] - rss[0]:+.0f} MB"
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker[0]), args.worker[1])
        return
    if not Path(args.csv).exists():
        raise SystemExit(f"{args.csv} not found: this benchmark reads Meridian's geo sample data")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    mm = mer = None
    if "mediamix" not in skip:
        print(f"mediamix: fitting (load {loadavg()}) ...", flush=True)
        mm = run_mediamix(args)
        print(f"mediamix: {mm['wall_seconds']:.1f} s, R-hat {mm['max_rhat']:.4f}", flush=True)
    if "meridian" not in skip:
        print(f"meridian: fitting (load {loadavg()}) ...", flush=True)
        mer = run_meridian(args)
        print(f"meridian: {mer['fit_seconds']:.1f} s, R-hat {mer['max_rhat']:.4f}", flush=True)
    print_table(mm, mer, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"mediamix": mm, "meridian": mer}, indent=1))


if __name__ == "__main__":
    main()
