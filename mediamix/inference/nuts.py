"""NUTS over several chains, run in parallel across host devices where JAX has them.

Chains run in parallel only when ``jax.local_device_count() >= chains``: call
``mediamix.set_host_devices(n)`` before JAX starts (the CLI does); otherwise they run one after
another (still correct, just slower).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.inference.options import check_int, check_positive
from mediamix.inference.result import FitResult


@dataclass(frozen=True)
class NUTS:
    """The No-U-Turn sampler: ``chains`` x ``draws`` after ``warmup`` adaptation steps.

    ``target_accept`` (step-size adaptation target) and ``dense_mass`` (a full mass matrix)
    help hard posteriors; ``max_tree_depth`` caps the steps per draw at ``2**depth``.
    """

    chains: int = 4
    draws: int = 1000
    warmup: int = 1000
    target_accept: float = 0.85
    max_tree_depth: int = 10
    dense_mass: bool = False

    name = "nuts"

    def __post_init__(self) -> None:
        check_int("NUTS", "chains", self.chains, 1)
        check_int("NUTS", "draws", self.draws, 1)
        check_int("NUTS", "warmup", self.warmup, 0)
        check_int("NUTS", "max_tree_depth", self.max_tree_depth, 1)
        check_positive("NUTS", "target_accept", self.target_accept)
        if not self.target_accept < 1:
            from mediamix.errors import SpecError

            raise SpecError(f"NUTS: target_accept must be in (0, 1) (got {self.target_accept})")

    @property
    def total_draws(self) -> int:
        return self.chains * self.draws

    def run(self, model, design: dict, structure, *, seed: int = 0, progress: bool = False):
        """Sample ``model(design, structure)``; returns a `FitResult` with (chain, draw) axes."""
        import jax
        from numpyro.infer import MCMC, init_to_median
        from numpyro.infer import NUTS as Kernel

        enable_compile_cache()
        kernel = Kernel(
            functools.partial(model, structure=structure),
            target_accept_prob=self.target_accept,
            max_tree_depth=self.max_tree_depth,
            dense_mass=bool(self.dense_mass),
            init_strategy=init_to_median(num_samples=15),
        )
        method = "parallel" if jax.local_device_count() >= self.chains else "sequential"
        mcmc = MCMC(
            kernel,
            num_warmup=int(self.warmup),
            num_samples=int(self.draws),
            num_chains=int(self.chains),
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
        info = {"chain_method": method, "chains": self.chains, "draws": self.draws,
                "warmup": self.warmup}  # fmt: skip
        return FitResult(samples, stats, info)
