"""Speed side by side, cold: mediamix NUTS against the fastest peer on the same simulated data.

Two data sets from mediamix's simulator (geometric adstock + Hill, known truth): 156 weeks x 3
channels and 208 weeks x 10 channels, each written to a CSV that every tool reads. Each tool
fits 4 chains x 1000 draws after 1000 warmup steps, in a fresh process (cold): mediamix with
``MEDIAMIX_JAX_CACHE=off`` and fresh temporary cache folders (``bench/_cold.py``), the peer in
its own environment. Printed per fit: wall seconds of the fit call (compilation included),
CPU seconds, min bulk ESS, min-ESS per second, max R-hat, divergences, ROAS mean absolute error
against the truth, mediamix's min-ESS/s over the row's, and the load average around the fit
(the machine is shared: compare rows of one run). For mediamix, where the time goes: import,
preparation, initialisation + compilation, warmup, sampling, the work after the sampler
(diagnostics, model review), the compile seconds in each, leapfrog steps per draw and the
cost of one gradient evaluation. Last, SVI on 156 weeks x 10 channels, cold (target: < 10 s).

The peers run in throw-away virtual environments outside the repository:
PyMC-Marketing (``MEDIAMIX_PEER_VENV``, default /tmp/mediamix-peer-venv; ``_mmm_common``)
with the NumPyro backend and logistic saturation, its fastest configuration here
(``--peers pymc``, the default), and Meridian (``--peers pymc,meridian``;
``bench_mmm_peers.ensure_meridian_venv``).

    python bench/bench_mmm_speed.py                          # both sizes, PyMC-Marketing, SVI
    python bench/bench_mmm_speed.py --sizes 156x3 --skip-svi
    python bench/bench_mmm_speed.py --peers pymc,meridian
    python bench/bench_mmm_speed.py --skip-peer              # mediamix only
    python bench/bench_mmm_speed.py --svi-only
    python bench/bench_mmm_speed.py --baseline-src /tmp/old  # also an older checkout, cold
    python bench/bench_mmm_speed.py --quick                  # 250 + 250 draws per chain
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _mmm_common as common

COLD_SCRIPT = common.BENCH_DIR / "_cold.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="156x3,208x10", help="comma-separated WEEKSxCHANNELS")
    p.add_argument("--peers", default="pymc", help="comma-separated: pymc, pymc-hill, meridian")
    p.add_argument("--skip-peer", action="store_true", help="fit mediamix only")
    p.add_argument("--quick", action="store_true", help="250 draws / 250 warmup per chain")
    p.add_argument("--seed", type=int, default=20261124, help="simulation seed")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--skip-svi", action="store_true", help="leave out the 10-channel SVI timing")
    p.add_argument("--svi-only", action="store_true", help="only the 10-channel SVI timing")
    p.add_argument("--baseline-src", default=None,
                   help="also fit, cold, the mediamix package found in this folder (e.g. an "
                   "older commit unpacked with git archive): before/after in one run")  # fmt: skip
    p.add_argument("--json", default=None, help="also write all figures to this JSON file")
    return p.parse_args(argv)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()[:2])


def run_cold(cfg: dict, timeout: float = 3600.0) -> dict:
    """One mediamix fit in a fresh process, no compile cache (``bench/_cold.py``)."""
    with tempfile.TemporaryDirectory(prefix="mediamix-cold-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION")}
        env.update(MEDIAMIX_JAX_CACHE="off", XDG_CACHE_HOME=tmp, TMPDIR=tmp, JAX_PLATFORMS="cpu",
                   XLA_FLAGS=f"--xla_force_host_platform_device_count={max(4, cfg.get('chains', 4))}")  # fmt: skip
        out = Path(tmp) / "out.json"
        before = load()
        r = subprocess.run([sys.executable, str(COLD_SCRIPT), json.dumps(cfg), str(out)],
                           capture_output=True, text=True, env=env, timeout=timeout)  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"mediamix cold fit failed:\n{r.stderr[-3000:]}")
        res = json.loads(out.read_text())
    res["load"] = f"{before} -> {load()}"
    return res


def as_fit(res: dict, label: str) -> common.FitResult:
    return common.FitResult(
        tool=label,
        method=res["config"]["method"],
        wall_seconds=res["wall_seconds"],
        min_ess_bulk=res["min_ess_bulk"],
        max_rhat=res["max_rhat"],
        divergences=res["divergences"],
        roas=res["roas"],
        extra={"cpu_seconds": res["cpu_seconds"], "load": res["load"], "cold": res},
    )


def mae(fit: common.FitResult, truth: dict[str, float]) -> float:
    """Mean over channels of |posterior mean ROAS - true ROAS|."""
    errs = [abs(fit.roas[c]["mean"] - truth[c]) for c in truth]
    return sum(errs) / len(errs)


def breakdown(res: dict) -> list[str]:
    p = res["parts"]
    keys = [k for k in ("import", "prepare", "init_compile", "warmup", "sampling", "optimise",
                        "draws", "assemble", "post_fit") if k in p]  # fmt: skip
    lines = [
        "  where the time goes (s): "
        + " | ".join(f"{k.replace('_', ' ')} {p[k]:.1f}" for k in keys)
        + f"  (fit call {res['wall_seconds']:.1f} s, {res['cpu_seconds']:.1f} s CPU; "
        f"{res['host_devices']} host devices, chains {res.get('chain_method')})",
        f"  compiling (trace + lower + XLA): {res['compile_seconds']:.1f} s of the fit call, "
        + ", ".join(f"{k} {v:.1f}" for k, v in res["compile_by_part"].items())
        + f"; {res['backend_compiles']} XLA programs, longest: "
        + ", ".join(f"{n} {s:.1f}" for n, s in res["top_programs"][:4]),
    ]
    if "leapfrog_per_draw" in res:
        lines.append(
            f"  leapfrog steps per draw {res['leapfrog_per_draw']:.1f}; gradient "
            f"{res['gradient_seconds'] * 1e6:.0f} us per evaluation (one chain, alone); "
            f"{res['seconds_per_leapfrog_all_chains'] * 1e6:.0f} us per leapfrog step of the "
            f"run ({res['config']['chains']} chains side by side)"
        )
    return lines


def run_peer(name: str, sim: common.SimData, csv: Path, chains: int, draws: int, warmup: int):
    before = load()
    if name in ("pymc", "pymc-hill"):
        python = common.ensure_peer_venv()
        sat = "hill" if name == "pymc-hill" else "logistic"
        fit = common.run_peer(
            python, csv, sim.spend_columns, date=sim.date_column, target=sim.kpi_column,
            controls=sim.controls, names=dict(zip(sim.spend_columns, sim.channels)),
            sampler="numpyro", chains=chains, draws=draws, tune=warmup, seed=0,
            extra_args=("--saturation", sat),
        )  # fmt: skip
        label = f"pymc-marketing numpyro ({sat})"
    elif name == "meridian":
        import bench_mmm_peers as peers

        python = peers.ensure_meridian_venv()
        fit = peers.run_meridian(python, csv, sim, chains, draws, warmup, 0)
        label = "meridian"
    else:
        raise SystemExit(f"unknown peer {name!r}: pymc, pymc-hill or meridian")
    fit.extra["load"] = f"{before} -> {load()}"
    return label, fit


def one_size(weeks: int, channels: int, args, draws: int, warmup: int, figures: dict) -> None:
    sim = common.simulate_data(args.seed, n_weeks=weeks, n_channels=channels)
    truth = sim.true_roas
    print(f"\n== {weeks} weeks x {channels} channels (seed {args.seed}), {args.chains} chains x "
          f"{draws} draws ({warmup} warmup), load {load()}", flush=True)  # fmt: skip
    cfg = {"method": "nuts", "weeks": weeks, "channels": channels, "seed": args.seed,
           "chains": args.chains, "draws": draws, "warmup": warmup}  # fmt: skip
    fits: list[tuple[str, common.FitResult]] = []
    colds = []
    mm = as_fit(run_cold(cfg), "mediamix")
    fits.append(("mediamix NUTS, cold", mm))
    colds.append(("mediamix", mm.extra["cold"]))
    if args.baseline_src:
        base = as_fit(run_cold({**cfg, "src": args.baseline_src}), "baseline")
        fits.append(("mediamix baseline, cold", base))
        colds.append(("baseline", base.extra["cold"]))
    with tempfile.TemporaryDirectory(prefix="mediamix-bench-") as tmp:
        csv = Path(tmp) / "data.csv"
        sim.frame.to_csv(csv, index=False)
        if not args.skip_peer:
            for name in [p.strip() for p in args.peers.split(",") if p.strip()]:
                print(f"  {name} ...", flush=True)
                try:
                    fits.append(run_peer(name, sim, csv, args.chains, draws, warmup))
                except Exception as exc:  # report and go on with the others
                    print(f"  {name} failed: {exc}")
    header = (f"{'fit':<34} {'wall s':>7} {'cpu s':>7} {'min ESS':>8} {'ESS/s':>7} "
              f"{'R-hat':>6} {'div':>5} {'ROAS MAE':>8} {'mm ratio':>8}  load before -> after")  # fmt: skip
    print(header)
    print("-" * len(header))
    rows = []
    for label, fit in fits:
        ratio = mm.min_ess_per_second / fit.min_ess_per_second
        err = mae(fit, truth)
        print(f"{label:<34} {fit.wall_seconds:>7.1f} "
              f"{fit.extra.get('cpu_seconds', float('nan')):>7.1f} {fit.min_ess_bulk:>8.0f} "
              f"{fit.min_ess_per_second:>7.1f} {fit.max_rhat:>6.3f} {fit.divergences:>5d} "
              f"{err:>8.3f} {'-' if fit is mm else f'{ratio:.2f}x':>8}  "
              f"{fit.extra.get('load', '')}")  # fmt: skip
        rows.append({"fit": label, "wall_seconds": fit.wall_seconds,
                     "min_ess_bulk": fit.min_ess_bulk, "min_ess_per_second": fit.min_ess_per_second,
                     "max_rhat": fit.max_rhat, "divergences": fit.divergences, "roas_mae": err,
                     "mediamix_ratio": ratio, "roas": fit.roas,
                     "extra": {k: v for k, v in fit.extra.items() if k != "roas"}})  # fmt: skip
    for label, res in colds:
        print(f"{label}:")
        for line in breakdown(res):
            print(line)
        run_only = res["min_ess_bulk"] / max(1e-9, res["run_seconds"])
        print(f"  min-ESS/s over the sampler's run alone ({res['run_seconds']:.1f} s): "
              f"{run_only:.1f}")  # fmt: skip
    print(
        "ROAS MAE: mean over channels of |posterior mean ROAS - true ROAS|; true ROAS "
        + ", ".join(f"{c} {v:.2f}" for c, v in truth.items())
    )
    figures[f"{weeks}x{channels}"] = {"rows": rows, "true_roas": truth}


def svi_timing(args, figures: dict) -> None:
    cfg = {"method": "svi", "weeks": 156, "channels": 10, "seed": args.seed + 1}
    runs = [("mediamix", cfg)]
    if args.baseline_src:
        runs.append(("baseline", {**cfg, "src": args.baseline_src}))
    for label, c in runs:
        print(f"\n== SVI ({label}), 156 weeks x 10 channels, cold, load {load()}", flush=True)
        res = run_cold(c)
        fit = as_fit(res, label)
        verdict = "under" if res["wall_seconds"] < 10 else "OVER"
        print(
            f"SVI 156 x 10 cold: {res['wall_seconds']:.1f} s wall ({res['cpu_seconds']:.1f} s "
            f"CPU), {verdict} the 10 s target; ROAS MAE {mae(fit, res['true_roas']):.3f}; "
            f"load {res['load']}"
        )
        for line in breakdown(res):
            print(line, flush=True)
        figures[f"svi_156x10_{label}"] = res


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    draws, warmup = (250, 250) if args.quick else (args.draws, args.warmup)
    figures: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "cores": os.cpu_count()}  # fmt: skip
    print(f"{os.cpu_count()} cores; load average (1 min/5 min) now {load()}")
    if not args.svi_only:
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            weeks, channels = (int(v) for v in size.lower().split("x"))
            one_size(weeks, channels, args, draws, warmup, figures)
    if not args.skip_svi:
        svi_timing(args, figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return figures


if __name__ == "__main__":
    main()
