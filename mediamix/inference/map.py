"""MAP: the posterior mode (AutoDelta guide) for a first look. No intervals."""

from __future__ import annotations

import functools

from mediamix.inference.nuts import FitResult
from mediamix.inference.svi import _fit_guide, guide_draws


def run_map(
    model,
    design: dict,
    plan,
    *,
    steps: int = 3000,
    seed: int = 0,
    progress: bool = False,
    learning_rate: float = 0.02,
) -> FitResult:
    """Maximise the log posterior; returns one 'draw' (chain 1, draw 1) at the mode."""
    from numpyro.infer.autoguide import AutoDelta
    from numpyro.infer.initialization import init_to_median

    m = functools.partial(model, plan=plan)
    g = AutoDelta(m, init_loc_fn=init_to_median(num_samples=15))
    params, losses = _fit_guide(m, g, design, steps, seed, progress, learning_rate)
    samples = guide_draws(m, g, params, design, 1, seed + 1)
    return FitResult(samples, {}, {"steps": steps, "final_loss": float(losses[-1])})
