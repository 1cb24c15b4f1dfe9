"""Fit Google Meridian's national MMM on a CSV and print timing, diagnostics and ROAS as JSON.

Runs with the Python of a throw-away virtual environment that holds ``google-meridian``
(``bench_mmm_peers.py`` creates it); it never imports mediamix and mediamix never imports it.

The model is Meridian's default (``ModelSpec()``: geometric adstock, Hill saturation, its
default ROI priors, knots for the time effect) on national data: the KPI is revenue
(``kpi_type="revenue"``), each channel's media is its spend, the controls as given.
ROAS per channel = Meridian's ``Analyzer.roi()`` (the drop in expected revenue when the
channel's spend is set to zero, over its total spend), per posterior draw.

Usage (with the peer environment's Python)::

    python bench/peer_meridian.py --csv data.csv --date date --target sales \
        --channels tv_spend,search_spend --controls price_index --chains 4 --draws 500
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True)
    p.add_argument("--date", default="date")
    p.add_argument("--target", default="kpi")
    p.add_argument("--channels", required=True, help="comma-separated spend columns")
    p.add_argument("--controls", default="", help="comma-separated control columns")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=500, help="kept draws per chain")
    p.add_argument("--adapt", type=int, default=500)
    p.add_argument("--burnin", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore")
    import arviz as az
    import numpy as np
    import pandas as pd
    from meridian.analysis import analyzer
    from meridian.data import data_frame_input_data_builder as builder_mod
    from meridian.model import model, spec
    from meridian.version import __version__ as meridian_version

    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    controls = [c.strip() for c in args.controls.split(",") if c.strip()]
    df = pd.read_csv(args.csv)
    df["time"] = pd.to_datetime(df[args.date]).dt.strftime("%Y-%m-%d")
    b = builder_mod.DataFrameInputDataBuilder(kpi_type="revenue")
    b = b.with_kpi(df, kpi_col=args.target, time_col="time")
    if controls:
        b = b.with_controls(df, control_cols=controls, time_col="time")
    b = b.with_media(
        df, media_cols=channels, media_spend_cols=channels, media_channels=channels, time_col="time"
    )
    data = b.build()

    t0 = time.perf_counter()
    mmm = model.Meridian(input_data=data, model_spec=spec.ModelSpec())
    mmm.sample_posterior(
        n_chains=args.chains,
        n_adapt=args.adapt,
        n_burnin=args.burnin,
        n_keep=args.draws,
        seed=args.seed,
    )
    fit_seconds = time.perf_counter() - t0
    idata = mmm.inference_data
    roi = np.asarray(analyzer.Analyzer(mmm).roi())  # (chains, draws, channels)
    roi = roi.reshape(-1, roi.shape[-1])
    roas = {}
    for i, ch in enumerate(channels):
        r = roi[:, i]
        roas[ch] = {
            "mean": float(r.mean()),
            "median": float(np.median(r)),
            "lower": float(np.quantile(r, 0.05)),
            "upper": float(np.quantile(r, 0.95)),
        }
    post = idata.posterior
    names = [v for v in ("roi_m", "beta_m", "alpha_m", "ec_m", "slope_m", "sigma", "tau_g")
             if v in post]  # fmt: skip
    rhat = az.rhat(post[names])
    ess = az.ess(post[names])
    div = -1
    if "trace" in idata.groups() and "diverging" in idata.trace:
        div = int(np.asarray(idata.trace["diverging"]).sum())
    elif "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    result = {
        "tool": "meridian",
        "versions": {"meridian": meridian_version},
        "fit_seconds": fit_seconds,
        "min_ess_bulk": float(min(float(ess[v].min()) for v in names)),
        "max_rhat": float(max(float(rhat[v].max()) for v in names)),
        "divergences": div,
        "roas": roas,
    }
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return result


if __name__ == "__main__":
    main()
