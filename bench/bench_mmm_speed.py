"""Speed side by side: mediamix NUTS against PyMC-Marketing on the same simulated data.

156 weeks x 3 channels from mediamix's simulator (fixed seed), written to a CSV that both
tools read. Each fits 4 chains x 1000 draws after 1000 warmup steps with a comparable model
(geometric adstock L = 8, Hill saturation, linear trend, yearly seasonality). Printed per
fit: wall seconds (compilation included), min bulk ESS, min-ESS per second, max R-hat,
divergences and the median absolute error of the posterior-median ROAS against the truth;
then mediamix's min-ESS/s over each peer configuration's. Last, SVI wall seconds on
156 weeks x 10 channels (target: under 10 s).

PyMC-Marketing runs in its own throw-away virtual environment (``MEDIAMIX_PEER_VENV``,
default /tmp/mediamix-peer-venv), created on first use; see ``_mmm_common.PEER_PINS``.

    python bench/bench_mmm_speed.py                  # mediamix + peer (NumPyro backend)
    python bench/bench_mmm_speed.py --peer-samplers numpyro,nutpie,pymc
    python bench/bench_mmm_speed.py --skip-peer      # mediamix only
    python bench/bench_mmm_speed.py --quick          # 4 chains x 250 draws, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import _mmm_common as common


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--skip-peer", action="store_true", help="fit mediamix only")
    p.add_argument("--quick", action="store_true", help="250 draws / 250 warmup per chain")
    p.add_argument(
        "--peer-samplers",
        default="numpyro",
        help="comma-separated PyMC-Marketing samplers: numpyro, nutpie, pymc",
    )
    p.add_argument(
        "--peer-saturations",
        default="hill,logistic",
        help="comma-separated: hill (the same form as mediamix's default) and/or logistic "
        "(PyMC-Marketing's usual choice, and its fastest here)",
    )
    p.add_argument("--seed", type=int, default=20261124, help="simulation seed")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--skip-svi", action="store_true", help="leave out the 10-channel SVI timing")
    p.add_argument("--svi-only", action="store_true", help="only the 10-channel SVI timing")
    p.add_argument("--json", default=None, help="also write all figures to this JSON file")
    return p.parse_args(argv)


def _row(label: str, fit: common.FitResult, mae: float, ratio: str) -> str:
    return (
        f"{label:<34} {fit.wall_seconds:>8.1f} {fit.extra.get('cpu_seconds', float('nan')):>7.1f} "
        f"{fit.min_ess_bulk:>8.0f} "
        f"{fit.min_ess_per_second:>9.2f} {fit.max_rhat:>7.3f} {fit.divergences:>5d} "
        f"{mae:>9.3f} {ratio:>9}"
    )


def _svi_timing(seed: int, figures: dict) -> None:
    sim10 = common.simulate_data(seed + 1, n_weeks=156, n_channels=10)
    print("\nmediamix: SVI on 156 weeks x 10 channels ...", flush=True)
    svi = common.fit_mediamix(sim10, method="svi", seed=0)
    mae = common.median(common.roas_abs_errors(svi, sim10.true_roas))
    verdict = "under" if svi.wall_seconds < 10 else "OVER"
    print(
        f"SVI 156 x 10: {svi.wall_seconds:.1f} s wall (compilation included; "
        f"{svi.extra['cpu_seconds']:.1f} s CPU), {verdict} the 10 s target; "
        f"ROAS MAE {mae:.3f}"
    )
    figures["svi_10_channels"] = {
        "wall_seconds": svi.wall_seconds,
        "roas_median_abs_error": mae,
        "extra": svi.extra,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    draws, warmup = (250, 250) if args.quick else (args.draws, args.warmup)
    chains = args.chains
    figures: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}

    if args.svi_only:
        _svi_timing(args.seed, figures)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
        return figures
    sim = common.simulate_data(args.seed, n_weeks=156, n_channels=3)
    true_roas = sim.true_roas
    print(f"data: {sim.n_weeks} weeks x {len(sim.channels)} channels, seed {args.seed}")
    print("true ROAS: " + ", ".join(f"{c} {v:.3f}" for c, v in true_roas.items()))

    with tempfile.TemporaryDirectory(prefix="mediamix-bench-") as tmp:
        csv = Path(tmp) / "data.csv"
        sim.frame.to_csv(csv, index=False)

        print(f"mediamix: NUTS {chains} chains x {draws} draws ({warmup} warmup) ...", flush=True)
        mm = common.fit_mediamix(
            sim, method="nuts", chains=chains, draws=draws, warmup=warmup, seed=0
        )
        fits: list[tuple[str, common.FitResult]] = [("mediamix NUTS", mm)]

        if not args.skip_peer:
            python = common.ensure_peer_venv()
            samplers = [s.strip() for s in args.peer_samplers.split(",") if s.strip()]
            saturations = [s.strip() for s in args.peer_saturations.split(",") if s.strip()]
            for sampler, sat in [(a, b) for b in saturations for a in samplers]:
                print(f"pymc-marketing: {sampler} ({sat}) ...", flush=True)
                try:
                    peer = common.run_peer(
                        python,
                        csv,
                        sim.spend_columns,
                        date=sim.date_column,
                        target=sim.kpi_column,
                        controls=sim.controls,
                        names=dict(zip(sim.spend_columns, sim.channels)),
                        sampler=sampler,
                        chains=chains,
                        draws=draws,
                        tune=warmup,
                        seed=0,
                        extra_args=("--saturation", sat),
                    )
                except Exception as exc:  # report and go on with the other samplers
                    print(f"  {sampler} ({sat}) failed: {exc}")
                    continue
                fits.append((f"pymc-marketing {sampler} ({sat})", peer))

    header = (
        f"{'fit':<34} {'wall s':>8} {'cpu s':>7} {'min ESS':>8} {'ESS/s':>9} {'R-hat':>7} {'div':>5} "
        f"{'ROAS MAE':>9} {'mm ratio':>9}"
    )
    print()
    print(f"{chains} chains x {draws} draws ({warmup} warmup), 156 weeks x 3 channels")
    print(header)
    print("-" * len(header))
    rows = []
    for label, fit in fits:
        mae = common.median(common.roas_abs_errors(fit, true_roas))
        ratio = mm.min_ess_per_second / fit.min_ess_per_second
        print(_row(label, fit, mae, "-" if fit is mm else f"{ratio:.2f}x"))
        rows.append(
            {
                "fit": label,
                "wall_seconds": fit.wall_seconds,
                "min_ess_bulk": fit.min_ess_bulk,
                "min_ess_per_second": fit.min_ess_per_second,
                "max_rhat": fit.max_rhat,
                "divergences": fit.divergences,
                "roas_median_abs_error": mae,
                "mediamix_ess_per_s_ratio": ratio,
                "roas": fit.roas,
                "extra": {k: v for k, v in fit.extra.items() if k != "roas"},
            }
        )
    print("cpu s: CPU time of the fit (all threads; 2 cores shared with other jobs)")
    print("ROAS MAE: median over channels of |posterior median ROAS - true ROAS|")
    print("mm ratio: mediamix min-ESS/s divided by the row's min-ESS/s")
    for label, fit in fits[1:]:
        s = fit.extra.get("sampling_seconds")
        if s:
            print(
                f"  {label}: sampling alone {s:.1f} s -> {fit.min_ess_bulk / s:.2f} min-ESS/s "
                f"(mediamix ratio {mm.min_ess_per_second / (fit.min_ess_bulk / s):.2f}x)"
            )
    figures["nuts"] = rows
    figures["true_roas"] = true_roas

    if not args.skip_svi:
        _svi_timing(args.seed, figures)

    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return figures


if __name__ == "__main__":
    main()
