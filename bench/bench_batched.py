"""Many small models in one compiled batch against the same models fitted one by one.

``--models`` (20) national models simulated by `mediamix.data.simulate` (``--weeks`` x 3
channels, seeds 0, 1, ...; one structure), fitted with NUTS (``--chains`` x ``--draws``
after ``--warmup``) and with SVI (``--steps``, ``--svi-draws``):

- batched: `mediamix.estimator.batch.fit_batch`, all models in one call, in a fresh process;
- sequential, same process: ``MMM().fit`` on each model in turn, in one fresh process (the
  first fit pays the imports' warm-up; every fit compiles its own program, because each
  model's priors are scaled to its data);
- sequential, cold: ``MMM().fit`` on one model in a fresh process, for ``--cold`` of the
  models; the 20-model total is their mean times the count (each fresh process also pays
  the imports, reported separately).

Every process runs with the persistent compile cache off (``MEDIAMIX_JAX_CACHE=off``) and
the host devices the CLI would ask for (`mediamix.devices.set_host_devices`). Printed: wall
seconds of the fit calls (compilation included) and the speed-up; per model, ROAS of each
channel (posterior mean) batched against sequential as ``|diff| / posterior sd``, with the
Monte Carlo error of the difference for scale (``sqrt(sd_a^2 / ess_a + sd_b^2 / ess_b)`` in
sd units), and max R-hat / min bulk ESS for both.

    python bench/bench_batched.py                         # 20 models, NUTS 2 x 500/500, SVI
    python bench/bench_batched.py --models 5 --draws 200 --warmup 200 --cold 1
    python bench/bench_batched.py --skip-svi --json out.json
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

HERE = Path(__file__).resolve()


def _datasets(models: int, weeks: int, first: int = 0):
    from mediamix.data.simulate import simulate, simulated_dataset

    return [
        simulated_dataset(*simulate(n_periods=weeks, n_channels=3, seed=s, n_controls=1))
        for s in range(first, first + models)
    ]


def _summary(fitted) -> dict:
    roas = fitted.roas_draws()
    d = fitted.diagnostics
    return {
        "roas_mean": roas.mean(0).tolist(),
        "roas_sd": roas.std(0).tolist(),
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "divergences": d.divergences,
        "draws": int(roas.shape[0]),
    }


def worker(args) -> dict:
    """One measured run in this (fresh) process; returns seconds and per-model summaries."""
    t_import = time.perf_counter()
    import mediamix

    mediamix.set_host_devices()
    import jax

    from mediamix.estimator import MMM
    from mediamix.estimator.batch import fit_batch

    import_seconds = time.perf_counter() - t_import
    datasets = _datasets(args.models, args.weeks, args.first)
    if args.method == "nuts":
        opts = {"chains": args.chains, "draws": args.draws, "warmup": args.warmup}
    else:
        opts = {"steps": args.steps, "draws": args.svi_draws}
    t0, c0 = time.perf_counter(), time.process_time()
    per_fit = []
    if args.worker == "batched":
        fits = fit_batch(None, datasets, args.method, seed=args.seed, progress=True, **opts)
    else:
        fits = []
        for i, ds in enumerate(datasets[: args.sequential or None]):
            t1 = time.perf_counter()
            fits.append(MMM().fit(ds, args.method, seed=args.seed, warn=False, **opts))
            per_fit.append(time.perf_counter() - t1)
            print(f"sequential fit {i}: {per_fit[-1]:.1f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if args.worker == "sequential" and len(fits) < len(datasets):
        # the total for every model, from the fits run: the first fit plus the mean of the others
        later = per_fit[1:] or per_fit
        seconds = per_fit[0] + (len(datasets) - 1) * sum(later) / len(later)
        cpu *= len(datasets) / len(fits)
    return {
        "mode": args.worker,
        "method": args.method,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "import_seconds": import_seconds,
        "per_fit_seconds": per_fit,
        "devices": jax.local_device_count(),
        "fitted": len(fits),
        "batch_info": {k: fits[0].info.get(k) for k in ("batch_size", "devices", "batch_seconds")},
        "models": [_summary(f) for f in fits],
    }


def _run(argv: list[str]) -> dict:
    env = {**os.environ, "MEDIAMIX_JAX_CACHE": "off", "JAX_PLATFORMS": "cpu"}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(HERE), *argv, "--json", out], check=True, env=env)
    res = json.loads(Path(out).read_text())
    res["process_seconds"] = time.perf_counter() - t0
    os.unlink(out)
    return res


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def compare(a: dict, b: dict, mc: bool) -> list[tuple]:
    """Per model: (max |diff| / sd, max MC error of the difference / sd, rhat/ess a, b)."""
    rows = []
    for i, (x, y) in enumerate(zip(a["models"], b["models"], strict=False)):
        worst, worst_mc = 0.0, 0.0
        for c in range(len(x["roas_mean"])):
            sd = 0.5 * (x["roas_sd"][c] + y["roas_sd"][c])
            z = abs(x["roas_mean"][c] - y["roas_mean"][c]) / sd
            if mc:
                se = (x["roas_sd"][c] ** 2 / x["min_ess_bulk"]
                      + y["roas_sd"][c] ** 2 / y["min_ess_bulk"]) ** 0.5 / sd  # fmt: skip
                worst_mc = max(worst_mc, se)
            worst = max(worst, z)
        rows.append((i, worst, worst_mc, x, y))
    return rows


def report(name: str, batched: dict, seq: dict, cold_total: float | None, mc: bool) -> None:
    n = len(batched["models"])
    print(f"\n== {name}: {n} models ==")
    print(f"batched, one call (fresh process):        {batched['seconds']:8.1f} s")
    est = "" if seq["fitted"] == n else f", estimated from the first {seq['fitted']}"
    print(f"sequential, same process ({n} MMM.fit{est}):  {seq['seconds']:8.1f} s  "
          f"(first fit {seq['per_fit_seconds'][0]:.1f} s, later ones "
          f"{sum(seq['per_fit_seconds'][1:]) / max(1, len(seq['per_fit_seconds']) - 1):.1f} s each)")  # fmt: skip
    print(f"speed-up against sequential, same process: {seq['seconds'] / batched['seconds']:.1f}x")
    print(f"CPU seconds (all threads; fairer on a shared machine): batched "
          f"{batched['cpu_seconds']:.1f}, sequential {seq['cpu_seconds']:.1f} -> "
          f"{seq['cpu_seconds'] / batched['cpu_seconds']:.1f}x")  # fmt: skip
    if cold_total is not None:
        print(f"sequential, cold ({n} fresh processes, estimated): {cold_total:8.1f} s  "
              f"-> speed-up {cold_total / batched['seconds']:.1f}x")  # fmt: skip
    rows = compare(batched, seq, mc)
    head = "model  max|dROAS|/sd" + ("  MC err/sd" if mc else "")
    if mc:
        head += "  rhat(b)  ess(b)  rhat(s)  ess(s)  div(b)"
    print(head)
    for i, z, se, x, y in rows:
        line = f"{i:5d}  {z:13.3f}"
        if mc:
            line += (f"  {se:9.3f}  {x['max_rhat']:.3f}  {x['min_ess_bulk']:6.0f}  "
                     f"{y['max_rhat']:.3f}  {y['min_ess_bulk']:6.0f}  {x['divergences']:6d}")  # fmt: skip
        print(line)
    zs = [r[1] for r in rows]
    print(
        f"max over models of max |dROAS| / sd: {max(zs):.3f} (median {sorted(zs)[len(zs) // 2]:.3f})"
    )
    if mc:
        print(f"max MC error of the difference / sd: {max(r[2] for r in rows):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--svi-draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", type=int, default=2, help="models fitted cold, one per process")
    ap.add_argument(
        "--sequential",
        type=int,
        default=0,
        help="fit only the first N models one by one and estimate the total (0: all)",
    )
    ap.add_argument("--skip-nuts", action="store_true")
    ap.add_argument("--skip-svi", action="store_true")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--worker", choices=("batched", "sequential"), help=argparse.SUPPRESS)
    ap.add_argument("--method", default="nuts", help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        Path(args.json).write_text(json.dumps(worker(args)))
        return
    common = ["--models", str(args.models), "--weeks", str(args.weeks), "--seed", str(args.seed),
              "--chains", str(args.chains), "--draws", str(args.draws), "--warmup",
              str(args.warmup), "--steps", str(args.steps), "--svi-draws", str(args.svi_draws),
              "--sequential", str(args.sequential)]  # fmt: skip
    print(f"{args.models} models x {args.weeks} weeks x 3 channels; NUTS {args.chains} chains x "
          f"{args.draws} draws after {args.warmup}; SVI {args.steps} steps; load {_load()}")  # fmt: skip
    out: dict = {}
    for method in ("nuts", "svi"):
        if (method == "nuts" and args.skip_nuts) or (method == "svi" and args.skip_svi):
            continue
        b = _run(["--worker", "batched", "--method", method, *common])
        print(f"{method} batched: {b['seconds']:.1f} s, {b['cpu_seconds']:.1f} CPU s "
              f"({b['batch_info']}); load {_load()}",
              flush=True)  # fmt: skip
        s = _run(["--worker", "sequential", "--method", method, *common])
        print(f"{method} sequential: {s['seconds']:.1f} s, {s['cpu_seconds']:.1f} CPU s "
              f"({s['fitted']} fitted); load {_load()}", flush=True)  # fmt: skip
        cold = None
        if args.cold:
            one = [_run(["--worker", "sequential", "--method", method, *common[2:],
                         "--models", "1", "--first", str(i)])  # fmt: skip
                   for i in range(min(args.cold, args.models))]  # fmt: skip
            cold = args.models * sum(r["seconds"] + r["import_seconds"] for r in one) / len(one)
        report(method.upper(), b, s, cold, mc=method == "nuts")
        print(f"(devices: {b['devices']}; load now {_load()})")
        out[method] = {"batched": b, "sequential": s, "cold_estimate": cold}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
