"""One mediamix fit in a fresh process, with where its time goes (run by the speed benchmarks).

    python bench/_cold.py '{"method": "nuts", "weeks": 156, "channels": 3, "seed": 20261124,
                            "chains": 4, "draws": 1000, "warmup": 1000}' OUT.json

The benchmark starts this script as a new process with ``MEDIAMIX_JAX_CACHE=off`` and a fresh
temporary folder for every cache, so the fit compiles everything: a cold fit. Written to
OUT.json: the fit's figures (wall seconds of the whole ``MMM.fit`` call, min bulk ESS, R-hat,
divergences, ROAS against the truth) and the breakdown:

- ``import``: importing JAX, NumPyro and mediamix (Python's own start-up left out);
- ``prepare``: from the ``fit`` call to the sampler's first report (data checks, scaling,
  design, structure);
- ``init_compile``: the sampler's initialisation and compilation, i.e. the first chunk of steps
  less what a chunk of steps costs once compiled;
- ``warmup`` and ``sampling`` (NUTS) or ``optimise`` (SVI): the steps, compiled;
- ``draws`` (SVI: the draws from the fitted guide) and ``post_fit``: what ``fit`` does after the
  sampler returns (conversion to ArviZ, diagnostics, predictive check, model review);
- ``compile``: the seconds JAX spent tracing, lowering and compiling (XLA) in each part, and
  the programs that took longest;
- NUTS: leapfrog steps per draw, seconds per gradient evaluation (one chain, compiled, timed
  alone after the fit) and per leapfrog step of the run (all chains at once).
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    out = sys.argv[2]
    if cfg.get("src"):
        sys.path.insert(0, cfg["src"])
    import jax
    from jax import monitoring

    events: list[tuple[float, str, str, float]] = []

    def listen(event: str, secs: float, **kw) -> None:
        if event.startswith("/jax/core/compile/"):
            events.append(
                (time.perf_counter(), event.rsplit("/", 1)[-1], kw.get("fun_name", ""), secs)
            )

    monitoring.register_event_duration_secs_listener(listen)
    import numpy as np
    import numpyro  # noqa: F401

    import mediamix
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM

    if cfg.get("host_devices"):
        mediamix.set_host_devices(int(cfg["host_devices"]))
    t_import = time.perf_counter() - T_START
    frame, truth = simulate(n_periods=cfg["weeks"], n_channels=cfg["channels"], seed=cfg["seed"])
    ds = simulated_dataset(frame, truth)
    method = cfg["method"]
    marks: list[tuple[float, str, int]] = []
    kwargs: dict = {"seed": cfg.get("fit_seed", 0), "warn": False}
    if method == "nuts":
        kwargs.update(chains=cfg["chains"], draws=cfg["draws"], warmup=cfg["warmup"])
        kwargs.update(cfg.get("nuts_options", {}))
    else:
        kwargs.update(cfg.get("svi_options", {}))
    kwargs["progress"] = lambda p: marks.append((time.perf_counter(), p.phase, p.done))
    import resource

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    # the sampler's own run, timed from outside (start and end)
    from mediamix.inference import samplers

    span: list[float] = []
    cls = samplers.SAMPLERS[method]
    real_run = cls.run

    def timed_run(self, *a, **kw):
        span.append(time.perf_counter())
        try:
            return real_run(self, *a, **kw)
        finally:
            span.append(time.perf_counter())

    cls.run = timed_run
    t0, c0 = time.perf_counter(), cpu()
    fitted = MMM(cfg.get("spec")).fit(ds, method=method, **kwargs)
    t1, c1 = time.perf_counter(), cpu()
    cls.run = real_run
    wall = t1 - t0
    run_start, run_end = span
    parts: dict[str, float] = {"import": t_import, "prepare": run_start - t0}
    steps = [m for m in marks if m[2] > 0]  # after each chunk
    if method == "nuts":
        warm = [m for m in steps if m[1] == "warmup"]
        samp = [m for m in steps if m[1] == "sampling"]
        chunk = [b[0] - a[0] for a, b in zip(warm, warm[1:], strict=False)]
        per_chunk = float(np.median(chunk)) if chunk else 0.0
        parts["init_compile"] = max(0.0, warm[0][0] - run_start - per_chunk)
        parts["warmup"] = warm[-1][0] - run_start - parts["init_compile"]
        parts["sampling"] = samp[-1][0] - warm[-1][0]
        parts["assemble"] = run_end - samp[-1][0]
        first_chunk_end = warm[0][0]
    else:
        chunk = [b[0] - a[0] for a, b in zip(steps, steps[1:], strict=False)]
        per_chunk = float(np.median(chunk)) if chunk else 0.0
        parts["init_compile"] = max(0.0, steps[0][0] - run_start - per_chunk)
        parts["optimise"] = steps[-1][0] - run_start - parts["init_compile"]
        parts["draws"] = run_end - steps[-1][0]
        first_chunk_end = steps[0][0]
    parts["post_fit"] = t1 - run_end

    # compile seconds per part, from the events' end times
    bounds = [("prepare", t0, run_start), ("init_compile", run_start, first_chunk_end),
              ("steps", first_chunk_end, steps[-1][0]), ("draws/assemble", steps[-1][0], run_end),
              ("post_fit", run_end, t1 + 1)]  # fmt: skip
    compile_by_part: dict[str, float] = defaultdict(float)
    programs: dict[str, float] = defaultdict(float)
    n_backend = 0
    for t, kind, fun, secs in events:
        if t < t0:
            compile_by_part["import/simulate"] += secs
            continue
        for name, a, b in bounds:
            if a <= t < b:
                compile_by_part[name] += secs
                break
        if kind == "backend_compile_duration":
            n_backend += 1
            programs[fun] += secs
    d = fitted.diagnostics
    truth_roas = {n: float(c["roas"]) for n, c in truth["channels"].items()}
    r = np.asarray(fitted.roas_draws())
    roas = {}
    for i, name in enumerate(fitted.channel_names):
        roas[name] = {"mean": float(np.mean(r[:, i])), "median": float(np.median(r[:, i])),
                      "lower": float(np.quantile(r[:, i], 0.05)),
                      "upper": float(np.quantile(r[:, i], 0.95))}  # fmt: skip
    result = {
        "config": cfg,
        "versions": {"mediamix": mediamix.__version__, "jax": jax.__version__},
        "mediamix_path": os.path.dirname(mediamix.__file__),
        "host_devices": jax.local_device_count(),
        "wall_seconds": wall,
        "cpu_seconds": c1 - c0,
        "run_seconds": fitted.fit_seconds,
        "parts": parts,
        "compile_seconds": sum(e[3] for e in events if e[0] >= t0),
        "compile_by_part": dict(compile_by_part),
        "backend_compiles": n_backend,
        "top_programs": sorted(programs.items(), key=lambda kv: -kv[1])[:6],
        "min_ess_bulk": float(d.min_ess_bulk) if d.min_ess_bulk is not None else float("nan"),
        "max_rhat": float(d.max_rhat) if d.max_rhat is not None else float("nan"),
        "divergences": int(d.divergences) if d.divergences is not None else -1,
        "chain_method": fitted.info.get("chain_method"),
        "roas": roas,
        "true_roas": truth_roas,
    }
    if method == "nuts":
        n_steps = np.asarray(fitted.idata.sample_stats["n_steps"].values)
        result["leapfrog_per_draw"] = float(n_steps.mean())
        # the chains run side by side: the sampling time over the slowest chain's steps
        result["seconds_per_leapfrog_all_chains"] = parts["sampling"] / max(
            1.0, float(n_steps.sum(1).max())
        )
        result["gradient_seconds"] = gradient_seconds(fitted)
    with open(out, "w") as fh:
        json.dump(result, fh, default=float)


def gradient_seconds(fitted, calls: int = 300) -> float:
    """Seconds per evaluation of the potential and its gradient (one chain, compiled)."""
    import functools

    import jax
    from numpyro.infer.util import initialize_model

    from mediamix.model.numpyro_model import model

    m = functools.partial(model, structure=fitted.structure)
    info = initialize_model(jax.random.PRNGKey(0), m, model_args=(fitted.design,),
                            dynamic_args=True)  # fmt: skip
    z = info.param_info.z
    pot = info.potential_fn(fitted.design)
    f = jax.jit(jax.value_and_grad(pot))
    jax.block_until_ready(f(z))
    t = time.perf_counter()
    for _ in range(calls):
        out = f(z)
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / calls


if __name__ == "__main__":
    main()
