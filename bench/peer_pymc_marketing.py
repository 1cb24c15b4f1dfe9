"""Fit PyMC-Marketing's MMM on a CSV and print timing, diagnostics and ROAS as JSON.

This script runs with the Python of a throw-away virtual environment that holds
PyMC-Marketing (see ``bench_mmm_speed.py``, which creates it); it never imports
mediamix and mediamix never imports it.

The model is PyMC-Marketing's ``mmm.multidimensional.MMM`` with geometric adstock
(``l_max=8``, normalised weights) followed by Hill saturation
``beta * x^slope / (x^slope + kappa^slope)``: the same functional form as mediamix's
default (geometric adstock, L = 8, then Hill). A linear trend enters as a control
column ``t / T``, yearly seasonality as Fourier terms (order 2) and the controls standardised,
as in mediamix's default.
Priors are PyMC-Marketing's defaults on its max-scaled data.

ROAS per channel = sum over time of the channel contribution on the original KPI scale
divided by the channel's total spend (the channel columns are spend).

Usage (with the peer environment's Python)::

    python bench/peer_pymc_marketing.py --csv data.csv --date date --target kpi \
        --channels tv,search,social --sampler numpyro --chains 4 --draws 1000 --tune 1000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

SAMPLERS = ("numpyro", "pymc", "nutpie")


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (all threads)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True, help="CSV with a date, a KPI and spend columns")
    p.add_argument("--date", default="date", help="date column")
    p.add_argument("--target", default="kpi", help="KPI column")
    p.add_argument("--channels", required=True, help="comma-separated spend columns")
    p.add_argument("--controls", default="", help="comma-separated control columns")
    p.add_argument("--sampler", default="numpyro", choices=SAMPLERS)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--l-max", type=int, default=8, help="adstock window length")
    p.add_argument(
        "--saturation",
        default="hill",
        choices=("hill", "logistic"),
        help="hill (closest to mediamix's default) or logistic (PyMC-Marketing's usual)",
    )
    p.add_argument("--yearly-seasonality", type=int, default=2, help="Fourier order; 0: none")
    p.add_argument("--no-trend", action="store_true", help="leave out the linear trend")
    p.add_argument(
        "--chain-method",
        default="parallel",
        choices=("parallel", "vectorized", "sequential"),
        help="how the NumPyro backend runs chains",
    )
    p.add_argument("--out", default=None, help="write the JSON here too")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    # JAX reads this at import: one host device per chain for parallel chains.
    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={args.chains}")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    t_start = time.perf_counter()
    import warnings

    import arviz as az
    import numpy as np
    import pandas as pd
    import pymc as pm
    import pymc_marketing
    from pymc_marketing.mmm import GeometricAdstock, HillSaturation, LogisticSaturation
    from pymc_marketing.mmm.multidimensional import MMM

    warnings.filterwarnings("ignore")
    t_imported = time.perf_counter()

    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    df = pd.read_csv(args.csv)
    df[args.date] = pd.to_datetime(df[args.date])
    X = df[[args.date, *channels]].copy()
    # PyMC-Marketing scales the KPI and the channels but not the controls: standardise them
    # here (as mediamix does internally), the preprocessing its documentation asks for.
    controls = [c.strip() for c in args.controls.split(",") if c.strip()]
    for c in controls:
        z = df[c].astype(float)
        sd = float(z.std())
        X[c] = (z - z.mean()) / sd if sd > 0 else z - z.mean()
    if not args.no_trend:
        X["trend"] = np.arange(len(df), dtype=float) / len(df)
        controls.append("trend")
    y = df[args.target].astype(float)

    saturation = HillSaturation() if args.saturation == "hill" else LogisticSaturation()
    mmm = MMM(
        date_column=args.date,
        channel_columns=channels,
        target_column=args.target,
        adstock=GeometricAdstock(l_max=args.l_max),
        saturation=saturation,
        control_columns=controls or None,
        yearly_seasonality=args.yearly_seasonality or None,
    )

    # Time pm.sample alone (model compilation for the chosen backend included, the
    # deterministics PyMC-Marketing computes afterwards excluded).
    sample_seconds: list[float] = []
    original_sample = pm.sample

    def timed_sample(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original_sample(*a, **kw)
        finally:
            sample_seconds.append(time.perf_counter() - t0)

    sample_kwargs: dict[str, Any] = {
        "chains": args.chains,
        "draws": args.draws,
        "tune": args.tune,
        "progressbar": False,
        "random_seed": args.seed,
    }
    if args.sampler == "numpyro":
        sample_kwargs["nuts_sampler"] = "numpyro"
        sample_kwargs["nuts_sampler_kwargs"] = {"chain_method": args.chain_method}
    elif args.sampler == "nutpie":
        sample_kwargs["nuts_sampler"] = "nutpie"
    else:
        sample_kwargs["cores"] = min(args.chains, os.cpu_count() or 1)

    pm.sample = timed_sample
    try:
        t0, c0 = time.perf_counter(), cpu_seconds()
        idata = mmm.fit(X, y, **sample_kwargs)
        fit_seconds, fit_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    finally:
        pm.sample = original_sample

    free = [rv.name for rv in mmm.model.free_RVs]
    post = idata.posterior
    ess = az.ess(post[free], method="bulk")
    rhat = az.rhat(post[free])
    min_ess = float(min(float(ess[v].min()) for v in free))
    max_rhat = float(max(float(rhat[v].max()) for v in free))
    divergences = int(idata.sample_stats["diverging"].sum()) if "sample_stats" in idata else -1

    target_scale = float(np.asarray(idata.constant_data["target_scale"]).reshape(-1)[0])
    contrib = post["channel_contribution"].sum("date") * target_scale  # (chain, draw, channel)
    roas: dict[str, dict[str, float]] = {}
    for ch in channels:
        spend = float(df[ch].sum())
        r = np.asarray(contrib.sel(channel=ch)).reshape(-1) / spend
        roas[ch] = {
            "mean": float(r.mean()),
            "median": float(np.median(r)),
            "lower": float(np.quantile(r, 0.05)),
            "upper": float(np.quantile(r, 0.95)),
        }

    sampling = sample_seconds[0] if sample_seconds else float("nan")
    result: dict[str, Any] = {
        "tool": "pymc-marketing",
        "versions": {
            "pymc_marketing": pymc_marketing.__version__,
            "pymc": pm.__version__,
            "python": sys.version.split()[0],
        },
        "sampler": args.sampler,
        "chain_method": args.chain_method if args.sampler == "numpyro" else None,
        "saturation": args.saturation,
        "chains": args.chains,
        "draws": args.draws,
        "tune": args.tune,
        "n_periods": len(df),
        "channels": channels,
        "import_seconds": t_imported - t_start,
        "fit_seconds": fit_seconds,
        "sampling_seconds": sampling,
        "cpu_seconds": fit_cpu,
        "total_seconds": time.perf_counter() - t_start,
        "min_ess_bulk": min_ess,
        "max_rhat": max_rhat,
        "divergences": divergences,
        "min_ess_per_second": min_ess / fit_seconds,
        "min_ess_per_sampling_second": min_ess / sampling,
        "roas": roas,
    }
    for mod in ("numpyro", "jax", "nutpie"):
        try:
            result["versions"][mod] = __import__(mod).__version__
        except Exception:  # optional backends
            pass
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return result


if __name__ == "__main__":
    main()
