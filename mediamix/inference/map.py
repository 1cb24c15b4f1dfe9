"""MAP: the posterior mode (AutoDelta guide) for a first look. No intervals.

The loss of a delta guide is deterministic, so Adam's progress can be read off it: the fit
runs compiled chunks of ``CHUNK`` steps (one program, compiled once) and stops as soon as a
chunk improves the negative log posterior by less than ``RTOL`` (relative), or after
``steps``. A small MMM reaches its mode in a few hundred steps. After every chunk it reports
an `mediamix.inference.progress.OptimiserProgress` (``progress``), and a Ctrl-C lands there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.errors import ConvergenceError
from mediamix.inference.options import check_int, check_positive
from mediamix.inference.progress import Clock, OptimiserProgress, Report, reporter
from mediamix.inference.result import FitResult
from mediamix.inference.svi import guide_draws, init_program, optimiser

CHUNK = 100
RTOL = 1e-5


def _adam_early_stop(
    m, g, design, steps: int, seed: int, learning_rate: float, progress: bool | Report
):
    """Adam on a cosine-decayed rate, stopped early; returns (params, final loss, steps run,
    the relative improvement of the last chunk, whether it stopped on the tolerance)."""
    import jax
    from numpyro.infer import SVI, Trace_ELBO

    svi = SVI(m, g, optimiser(learning_rate, steps), Trace_ELBO())
    state = init_program(svi, m)(jax.random.PRNGKey(seed), design)  # one program, not hundreds

    @jax.jit
    def chunk(st, d):
        return jax.lax.scan(lambda s, _: svi.update(s, d), st, None, length=CHUNK)

    report = reporter(progress)
    total = -(-steps // CHUNK) * CHUNK
    clock = Clock(total)
    done, prev, loss, rel, converged = 0, np.inf, np.inf, float("nan"), False
    while done < steps:
        state, losses = chunk(state, design)
        done += CHUNK
        loss = float(losses[-1])
        if not np.isfinite(loss):
            raise ConvergenceError(
                "the MAP fit diverged (loss is not finite); try a smaller learning_rate, "
                "more steps, or method='nuts'"
            )
        if report is not None:
            elapsed, remaining = clock.tick(done)
            report(OptimiserProgress("MAP", done, total, loss, elapsed, remaining))
        if np.isfinite(prev):
            rel = (prev - loss) / max(1.0, abs(loss))
        if prev - loss < RTOL * max(1.0, abs(loss)):
            converged = True
            break
        prev = loss
    return svi.get_params(state), loss, done, rel, converged


@dataclass(frozen=True)
class MAP:
    """The posterior mode: at most ``steps`` Adam steps at ``learning_rate`` (rounded up to a
    multiple of ``CHUNK``), fewer when the loss has stopped improving; one 'draw'."""

    steps: int = 3000
    learning_rate: float = 0.02

    name = "map"
    total_draws = 1

    def __post_init__(self) -> None:
        check_int("MAP", "steps", self.steps, 1)
        check_positive("MAP", "learning_rate", self.learning_rate)

    def run(
        self,
        model,
        design: dict,
        structure,
        *,
        seed: int = 0,
        progress: bool | Report = False,
    ):
        """The mode of ``model(design, structure)``; ``progress``: False (quiet), True (a line
        per chunk on stderr) or a function called with an `OptimiserProgress` after every
        chunk."""
        from numpyro.infer.autoguide import AutoDelta

        from mediamix.inference.init import init_to_prior_centre

        enable_compile_cache()
        m = functools.partial(model, structure=structure)
        g = AutoDelta(m, init_loc_fn=init_to_prior_centre())
        params, loss, done, rel, converged = _adam_early_stop(
            m, g, design, self.steps, seed, self.learning_rate, progress
        )
        samples = guide_draws(m, g, params, (design,), 1, seed + 1)
        info = {"steps": self.steps, "steps_run": done, "final_loss": loss,
                "loss_rel_change": rel, "loss_converged": converged}  # fmt: skip
        return FitResult(samples, {}, info)
