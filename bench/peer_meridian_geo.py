"""Fit Google Meridian's geo model on a geo CSV and write timing, memory, diagnostics and ROI as JSON.

Runs with the Python of a throw-away virtual environment that holds ``google-meridian``
(``bench_geo_meridian.py`` creates it); it never imports mediamix and mediamix never imports it.

The model is Meridian's default (``ModelSpec()``: geometric adstock, Hill saturation, its
default ROI priors for paid media, knots for the time effect, geo-level hierarchy) on the
geo panel as Meridian's own demo reads it: KPI ``conversions`` (``kpi_type="non_revenue"``)
with ``revenue_per_conversion``, paid media ``ChannelN_impression`` with spend
``ChannelN_spend``, organic media, non-media treatments, controls and population.

Figures, all inside this one process:

- ``build_seconds``: the ``Meridian(...)`` constructor (data checks, scaling, priors);
- ``prior_seconds``: ``sample_prior`` (only with ``--prior-draws N``; not part of the fit);
- ``sample_seconds``: ``sample_posterior`` (graph tracing, XLA compilation, adaptation,
  burn-in and kept draws: TensorFlow does not report its compilation apart);
- ``fit_seconds`` = build + sample (what the benchmark compares), ``cpu_seconds`` the CPU
  seconds of the same span (all threads; on shared cores the steadier figure);
- ``min_ess_bulk`` / ``max_rhat``: ArviZ bulk ESS and rank-normalised R-hat over every
  posterior variable with a finite value (constants such as a fixed Hill slope have none);
- ``peak_rss_mb``: the process's peak resident memory (``getrusage``), and ``rss_mb`` after
  each step (``VmRSS``); with ``--repeat N`` the fit runs N times in this process;
- ``roi``: ``Analyzer.roi()`` per paid channel (the drop in expected revenue when the
  channel's spend is set to zero, over its spend), mean, median and 90% interval.

Usage (with the peer environment's Python)::

    python bench/peer_meridian_geo.py --csv ../shared/data/meridian_geo_all_channels.csv \
        --chains 2 --adapt 100 --burnin 100 --draws 100 --out meridian.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from typing import Any

CHANNELS = [f"Channel{i}" for i in range(5)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True)
    p.add_argument("--geo", default="geo")
    p.add_argument("--time", default="time")
    p.add_argument("--kpi", default="conversions")
    p.add_argument("--revenue-per-kpi", default="revenue_per_conversion")
    p.add_argument("--population", default="population")
    p.add_argument("--channels", default=",".join(CHANNELS),
                   help="channel names N: columns N_impression and N_spend")  # fmt: skip
    p.add_argument("--organic", default="Organic_channel0_impression")
    p.add_argument("--non-media", default="Promo")
    p.add_argument("--controls", default="competitor_sales_control,sentiment_score_control")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--adapt", type=int, default=500)
    p.add_argument("--burnin", type=int, default=500)
    p.add_argument("--draws", type=int, default=500, help="kept draws per chain")
    p.add_argument("--prior-draws", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1, help="fits in this process (memory growth)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


def _split(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def rss_mb() -> float:
    """Current resident memory of this process in MB (VmRSS)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def summarise(values: Any) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "lower": float(np.quantile(v, 0.05)),
        "upper": float(np.quantile(v, 0.95)),
    }


def diagnostics(idata: Any) -> dict[str, Any]:
    """Min bulk ESS and max R-hat over every posterior variable (finite values only)."""
    import arviz as az
    import numpy as np

    post = idata.posterior
    ess = az.ess(post, method="bulk")
    rhat = az.rhat(post)
    per_var: dict[str, dict[str, float]] = {}
    for name in post.data_vars:
        e = np.asarray(ess[name].values, dtype=float).ravel()
        r = np.asarray(rhat[name].values, dtype=float).ravel()
        e, r = e[np.isfinite(e)], r[np.isfinite(r)]
        if e.size:  # R-hat needs two chains or more
            per_var[name] = {"min_ess_bulk": float(e.min()),
                             "max_rhat": float(r.max()) if r.size else float("nan")}  # fmt: skip
    div, steps = -1, None
    for group in ("trace", "sample_stats"):
        if group in idata.groups() and "diverging" in idata[group]:
            div = int(np.asarray(idata[group]["diverging"]).sum())
            if "n_steps" in idata[group]:
                steps = float(np.asarray(idata[group]["n_steps"], dtype=float).mean())
            break
    worst_ess = min(per_var, key=lambda k: per_var[k]["min_ess_bulk"], default=None)
    rhats = [k for k in per_var if np.isfinite(per_var[k]["max_rhat"])]
    worst_rhat = max(rhats, key=lambda k: per_var[k]["max_rhat"], default=None)
    return {
        "min_ess_bulk": per_var[worst_ess]["min_ess_bulk"] if worst_ess else float("nan"),
        "min_ess_variable": worst_ess,
        "max_rhat": per_var[worst_rhat]["max_rhat"] if worst_rhat else float("nan"),
        "max_rhat_variable": worst_rhat,
        "divergences": div,
        "leapfrog_per_draw": steps,
        "per_variable": per_var,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore")
    t_import0 = time.perf_counter()
    import numpy as np
    from meridian.analysis import analyzer
    from meridian.data import load
    from meridian.model import model, spec
    from meridian.version import __version__ as meridian_version

    import_seconds = time.perf_counter() - t_import0
    channels = _split(args.channels)
    organic = _split(args.organic)
    non_media = _split(args.non_media)
    controls = _split(args.controls)
    coords = load.CoordToColumns(
        geo=args.geo,
        time=args.time,
        kpi=args.kpi,
        revenue_per_kpi=args.revenue_per_kpi,
        population=args.population,
        controls=controls,
        media=[f"{c}_impression" for c in channels],
        media_spend=[f"{c}_spend" for c in channels],
        organic_media=organic,
        non_media_treatments=non_media,
    )
    t0 = time.perf_counter()
    loader = load.CsvDataLoader(
        csv_path=args.csv,
        coord_to_columns=coords,
        kpi_type="non_revenue",
        media_to_channel={f"{c}_impression": c for c in channels},
        media_spend_to_channel={f"{c}_spend": c for c in channels},
    )
    data = loader.load()
    load_seconds = time.perf_counter() - t0
    rss_steps: list[dict[str, float]] = [{"step": "loaded", "rss_mb": rss_mb()}]

    fits: list[dict[str, Any]] = []
    mmm = None
    for k in range(args.repeat):
        mmm = None  # the previous fit's model is released before the next one is built
        t0, c0 = time.perf_counter(), cpu_seconds()
        mmm = model.Meridian(input_data=data, model_spec=spec.ModelSpec())
        build_seconds = time.perf_counter() - t0
        prior_seconds = 0.0
        if args.prior_draws:
            t1 = time.perf_counter()
            mmm.sample_prior(args.prior_draws, seed=args.seed + k)
            prior_seconds = time.perf_counter() - t1
        t1 = time.perf_counter()
        mmm.sample_posterior(
            n_chains=args.chains,
            n_adapt=args.adapt,
            n_burnin=args.burnin,
            n_keep=args.draws,
            seed=args.seed + k,
        )
        sample_seconds = time.perf_counter() - t1
        cpu = cpu_seconds() - c0
        rss_steps.append({"step": f"fit {k + 1}", "rss_mb": rss_mb()})
        fits.append(
            {
                "build_seconds": build_seconds,
                "prior_seconds": prior_seconds,
                "sample_seconds": sample_seconds,
                "fit_seconds": build_seconds + sample_seconds,
                "cpu_seconds": cpu,
                "rss_mb_after": rss_steps[-1]["rss_mb"],
            }
        )

    assert mmm is not None
    idata = mmm.inference_data
    t0 = time.perf_counter()
    roi = np.asarray(analyzer.Analyzer(mmm).roi())  # (chains, draws, channels)
    roi_seconds = time.perf_counter() - t0
    roi = roi.reshape(-1, roi.shape[-1])
    names = [str(c) for c in np.asarray(data.media_channel.values)]
    diag = diagnostics(idata)
    first = fits[0]
    result = {
        "tool": "meridian",
        "versions": {"meridian": meridian_version},
        "config": {
            "chains": args.chains,
            "adapt": args.adapt,
            "burnin": args.burnin,
            "draws": args.draws,
            "seed": args.seed,
            "geos": int(len(data.geo)),
            "periods": int(len(data.time)),
            "channels": names,
            "organic": organic,
            "non_media": non_media,
            "controls": controls,
        },
        "import_seconds": import_seconds,
        "load_seconds": load_seconds,
        "build_seconds": first["build_seconds"],
        "prior_seconds": first["prior_seconds"],
        "sample_seconds": first["sample_seconds"],
        "fit_seconds": first["fit_seconds"],
        "cpu_seconds": first["cpu_seconds"],
        "roi_seconds": roi_seconds,
        "fits": fits,
        "rss_mb": rss_steps,
        "peak_rss_mb": peak_rss_mb(),
        **{k: v for k, v in diag.items()},
        "roi": {name: summarise(roi[:, i]) for i, name in enumerate(names)},
    }
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(json.dumps({k: v for k, v in result.items() if k != "per_variable"}))
    return result


if __name__ == "__main__":
    main()
