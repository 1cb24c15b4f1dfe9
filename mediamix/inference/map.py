"""MAP: the posterior mode (AutoDelta guide) for a first look. No intervals.

The loss of a delta guide is deterministic, so Adam's progress can be read off it: the fit
runs compiled chunks of ``CHUNK`` steps (one program, compiled once) and stops as soon as a
chunk improves the negative log posterior by less than ``RTOL`` (relative), or after
``steps``. A small MMM reaches its mode in a few hundred steps.
"""

from __future__ import annotations

import functools

import numpy as np

from mediamix.errors import ConvergenceError, SpecError
from mediamix.inference.nuts import FitResult
from mediamix.inference.svi import guide_draws

CHUNK = 100
RTOL = 1e-5


def _adam_early_stop(m, g, design, steps: int, seed: int, learning_rate: float, progress: bool):
    """Adam on a cosine-decayed rate, stopped early; returns (params, final loss, steps run)."""
    import jax
    import optax
    from numpyro.infer import SVI, Trace_ELBO

    sched = optax.cosine_decay_schedule(learning_rate, steps, alpha=0.05)
    svi = SVI(m, g, optax.adam(sched), Trace_ELBO())
    state = svi.init(jax.random.PRNGKey(seed), design)

    @jax.jit
    def chunk(st, d):
        return jax.lax.scan(lambda s, _: svi.update(s, d), st, None, length=CHUNK)

    done, prev, loss = 0, np.inf, np.inf
    while done < steps:
        state, losses = chunk(state, design)
        done += CHUNK
        loss = float(losses[-1])
        if not np.isfinite(loss):
            raise ConvergenceError(
                "the MAP fit diverged (loss is not finite); try a smaller learning_rate, "
                "more steps, or method='nuts'"
            )
        if progress:
            print(f"MAP step {done}: loss {loss:.4f}", flush=True)
        if prev - loss < RTOL * max(1.0, abs(loss)):
            break
        prev = loss
    return svi.get_params(state), loss, done


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
    """Maximise the log posterior; returns one 'draw' (chain 1, draw 1) at the mode.

    At most ``steps`` Adam steps (rounded up to a multiple of ``CHUNK``), fewer when the loss
    has stopped improving.
    """
    from numpyro.infer.autoguide import AutoDelta
    from numpyro.infer.initialization import init_to_median

    from mediamix.inference.nuts import enable_compile_cache

    if not isinstance(steps, int) or steps < 1:
        raise SpecError(f"steps must be a positive integer (got {steps!r})")
    if not learning_rate > 0:
        raise SpecError(f"learning_rate must be > 0 (got {learning_rate!r})")
    enable_compile_cache()
    m = functools.partial(model, plan=plan)
    g = AutoDelta(m, init_loc_fn=init_to_median(num_samples=15))
    params, loss, done = _adam_early_stop(m, g, design, steps, seed, learning_rate, progress)
    samples = guide_draws(m, g, params, design, 1, seed + 1)
    return FitResult(samples, {}, {"steps": steps, "steps_run": done, "final_loss": loss})
