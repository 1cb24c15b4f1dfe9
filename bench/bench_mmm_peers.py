"""ROAS recovery on a 10-channel simulated set: mediamix beside PyMC-Marketing and Meridian.

One data set from mediamix's simulator (208 weeks x 10 channels, known truth), written to a
CSV that every tool reads; each tool fits its default model with NUTS. Printed per tool:
wall seconds, max R-hat, divergences, ROAS mean absolute error against the truth, share of
channels whose true ROAS lies in the 90% interval, median interval width relative to the
truth, and the total media contribution implied by the ROAS (sum_c ROAS_c x spend_c, in
KPI units) against the true total.

The peers run in their own throw-away virtual environments outside the repository:
PyMC-Marketing (``MEDIAMIX_PEER_VENV``, created by ``_mmm_common.ensure_peer_venv``) and
Meridian (``MEDIAMIX_MERIDIAN_VENV``, default ``/tmp/mediamix-meridian-venv``, created with
``pip install google-meridian`` when missing; about 1 GB with TensorFlow).

    .venv/bin/python bench/bench_mmm_peers.py                       # all three
    .venv/bin/python bench/bench_mmm_peers.py --skip meridian --draws 500
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
import numpy as np

MERIDIAN_SCRIPT = common.BENCH_DIR / "peer_meridian.py"
DEFAULT_MERIDIAN_VENV = "/tmp/mediamix-meridian-venv"


def ensure_meridian_venv(log=print) -> Path:
    venv = Path(os.environ.get("MEDIAMIX_MERIDIAN_VENV", DEFAULT_MERIDIAN_VENV))
    python = venv / "bin" / "python"
    ok = (
        python.exists()
        and subprocess.run([str(python), "-c", "import meridian"], capture_output=True).returncode
        == 0
    )
    if ok:
        return python
    if venv.resolve().is_relative_to(common.BENCH_DIR.parent.resolve()):
        raise SystemExit(f"MEDIAMIX_MERIDIAN_VENV={venv} lies inside the repository")
    log(f"meridian: creating {venv} and installing google-meridian (a few minutes)")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "google-meridian"], check=True)
    return python


def run_meridian(python: Path, csv: Path, sim: common.SimData, chains: int, draws: int,
                 warmup: int, seed: int) -> common.FitResult:  # fmt: skip
    fd, out_name = tempfile.mkstemp(prefix="meridian_", suffix=".json", dir=csv.parent)
    os.close(fd)
    cmd = [
        str(python), str(MERIDIAN_SCRIPT), "--csv", str(csv), "--date", sim.date_column,
        "--target", sim.kpi_column, "--channels", ",".join(sim.spend_columns),
        "--controls", ",".join(sim.controls), "--chains", str(chains), "--draws", str(draws),
        "--adapt", str(warmup // 2), "--burnin", str(warmup - warmup // 2),
        "--seed", str(seed), "--out", out_name,
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
    if r.returncode != 0:
        raise RuntimeError(f"meridian failed:\n{r.stderr[-3000:]}")
    res = json.loads(Path(out_name).read_text())
    names = {ch["spend_column"]: n for n, ch in sim.truth["channels"].items()}
    return common.FitResult(
        tool="meridian",
        method="nuts",
        wall_seconds=res["fit_seconds"],
        min_ess_bulk=res["min_ess_bulk"],
        max_rhat=res["max_rhat"],
        divergences=res["divergences"],
        roas={names.get(c, c): v for c, v in res["roas"].items()},
        extra=res,
    )


def row(fit: common.FitResult, sim: common.SimData) -> str:
    truth = sim.true_roas
    errs = common.roas_abs_errors(fit, truth)
    cov = common.roas_covered(fit, truth)
    width = [
        (fit.roas[n]["upper"] - fit.roas[n]["lower"]) / abs(truth[n])
        for n in truth
        if n in fit.roas
    ]
    spend = {
        n: float(sim.frame[ch["spend_column"]].sum()) for n, ch in sim.truth["channels"].items()
    }
    media = sum(fit.roas[n]["mean"] * spend[n] for n in truth if n in fit.roas)
    true_media = sum(truth[n] * spend[n] for n in truth)
    return (
        f"{fit.tool + ' ' + fit.method:<24}{fit.wall_seconds:>8.1f}{fit.max_rhat:>8.3f}"
        f"{fit.divergences:>6d}{float(np.mean(errs)):>9.3f}{np.mean(cov):>9.0%}"
        f"{float(np.median(width)):>9.2f}{media / 1e6:>10.2f}M{true_media / 1e6:>9.2f}M"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=20261201)
    p.add_argument("--weeks", type=int, default=208)
    p.add_argument("--channels", type=int, default=10)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--skip", default="", help="comma-separated: pymc, meridian")
    args = p.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    sim = common.simulate_data(args.seed, args.weeks, args.channels)
    work = Path(tempfile.mkdtemp(prefix="mediamix-peers-"))
    csv = work / "data.csv"
    sim.frame.to_csv(csv, index=False)
    print(f"data: {args.weeks} weeks x {args.channels} channels (seed {args.seed}), {csv}")
    print(f"{'tool':<24}{'seconds':>8}{'R-hat':>8}{'div':>6}{'ROAS MAE':>9}{'cover90':>9}"
          f"{'width':>9}{'media':>11}{'true':>10}")  # fmt: skip
    fits = []
    t0 = time.perf_counter()
    fits.append(common.fit_mediamix(sim, "nuts", chains=args.chains, draws=args.draws,
                                    warmup=args.warmup))  # fmt: skip
    print(row(fits[-1], sim), flush=True)
    if "pymc" not in skip:
        python = common.ensure_peer_venv()
        names = {ch["spend_column"]: n for n, ch in sim.truth["channels"].items()}
        fits.append(
            common.run_peer(
                python,
                csv,
                sim.spend_columns,
                date=sim.date_column,
                target=sim.kpi_column,
                controls=sim.controls,
                names=names,
                chains=args.chains,
                draws=args.draws,
                tune=args.warmup,
                extra_args=("--saturation", "logistic"),
            )  # fmt: skip
        )
        print(row(fits[-1], sim), flush=True)
    if "meridian" not in skip:
        python = ensure_meridian_venv()
        fits.append(run_meridian(python, csv, sim, args.chains, args.draws, args.warmup, 0))
        print(row(fits[-1], sim), flush=True)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
