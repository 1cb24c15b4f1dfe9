"""NUTS over several chains, run in parallel across host devices where JAX has them.

JAX fixes the number of host (CPU) devices when it starts, so this module asks for one device
per core (up to 4) at import, before anything touches JAX's backend. Setting ``XLA_FLAGS``
with ``--xla_force_host_platform_device_count`` yourself takes precedence.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _request_devices() -> None:
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    import numpyro

    numpyro.set_host_device_count(max(1, min(4, os.cpu_count() or 1)))


_request_devices()


def enable_compile_cache() -> str | None:
    """Turn on JAX's persistent compilation cache (compiling the sampler takes most of a small
    fit's time; identical programs are then loaded from disk, across fits and processes).

    Folder: ``$MEDIAMIX_JAX_CACHE`` (``off`` disables), default ``~/.cache/mediamix/jax``.
    """
    path = os.environ.get("MEDIAMIX_JAX_CACHE", os.path.expanduser("~/.cache/mediamix/jax"))
    if path.lower() in ("", "0", "off", "false", "no"):
        return None
    import jax

    try:
        os.makedirs(path, exist_ok=True)
        if jax.config.jax_compilation_cache_dir is None:
            jax.config.update("jax_compilation_cache_dir", path)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except (OSError, AttributeError):  # read-only home, or an older JAX
        return None
    return path


@dataclass
class FitResult:
    """Raw output of an inference run: draws as (chain, draw, ...) arrays."""

    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def run_nuts(
    model,
    design: dict,
    plan,
    *,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    progress: bool = False,
    target_accept: float = 0.85,
    max_tree_depth: int = 10,
    dense_mass: bool = False,
) -> FitResult:
    """Sample with NUTS; chains run in parallel when ``jax.local_device_count() >= chains``."""
    import jax
    from numpyro.infer import MCMC, NUTS, init_to_median

    from mediamix.errors import SpecError

    for key, val, lo in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        if not isinstance(val, int | np.integer) or val < lo:
            raise SpecError(f"{key} must be an integer >= {lo} (got {val!r})")
    enable_compile_cache()
    kernel = NUTS(
        functools.partial(model, plan=plan),
        target_accept_prob=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=bool(dense_mass),
        init_strategy=init_to_median(num_samples=15),
    )
    method = "parallel" if jax.local_device_count() >= chains else "sequential"
    mcmc = MCMC(
        kernel,
        num_warmup=int(warmup),
        num_samples=int(draws),
        num_chains=int(chains),
        chain_method=method,
        progress_bar=bool(progress),
        jit_model_args=True,
    )
    mcmc.run(jax.random.PRNGKey(seed), design, extra_fields=("diverging", "energy",
                                                                      "num_steps"))  # fmt: skip
    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {
        "diverging": np.asarray(extra["diverging"]),
        "energy": np.asarray(extra["energy"]),
        "n_steps": np.asarray(extra["num_steps"]),
    }
    return FitResult(samples, stats, {"chain_method": method, "chains": chains,
                                      "draws": draws, "warmup": warmup})  # fmt: skip
