"""Stochastic variational inference: the fast path for big data and quick iterations.

Guides: ``normal`` (AutoNormal, mean field) or ``lowrank`` (AutoLowRankMultivariateNormal).
Optimiser: Adam (optax) with a cosine-decayed learning rate. Mean-field intervals are known to
be too narrow; the fitted model says so next to them. The steps run in compiled chunks (one
program for every chunk) with progress after each (`mediamix.inference.progress`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.errors import ConvergenceError, SpecError
from mediamix.inference.options import check_int, check_positive
from mediamix.inference.progress import (
    Clock,
    OptimiserProgress,
    Report,
    chunk_length,
    chunk_runner,
    reporter,
)
from mediamix.inference.result import FitResult

GUIDES = ("normal", "lowrank")


@dataclass(frozen=True)
class SVIRunResult:
    """The fitted guide's parameters, the last optimiser state and every step's loss."""

    params: dict
    state: object
    losses: np.ndarray


def loss_rel_change(losses) -> float:
    """How much the loss still fell at the end of the run: the median of the last tenth of
    the steps below the median of the tenth before, relative to the final loss (at least 1);
    > 0 while falling, about 0 once levelled off (`mediamix.inference.diagnostics`). NaN when
    the trace holds a non-finite value or is shorter than 20 steps."""
    L = np.asarray(losses, dtype=float)
    n = len(L)
    if n < 20 or not np.isfinite(L).all():
        return float("nan")
    before = float(np.median(L[int(n * 0.8) : int(n * 0.9)]))
    last = float(np.median(L[int(n * 0.9) :]))
    return (before - last) / max(abs(last), 1.0)


def optimiser(learning_rate: float, steps: int):
    """The optimiser of SVI and MAP: Adam on a cosine-decayed rate (to 5% at ``steps``),
    applied to all the guide's parameters as one flat vector (``optax.flatten``): the same
    steps as per-parameter Adam (to rounding), one update instead of one per parameter in the
    compiled step (2 s less compilation at 10 channels, a quarter faster per step)."""
    import optax

    sched = optax.cosine_decay_schedule(learning_rate, steps, alpha=0.05)
    return optax.flatten(optax.adam(sched))


def model_sites(m, *args) -> list[str]:
    """Names of the latent and deterministic sites of the model (not the observed KPI).

    The model is traced on abstract values (``jax.eval_shape``): nothing is computed or
    compiled (an eager trace would draw every prior once, compiling each prior's sampler)."""
    import jax
    from numpyro import handlers

    names: list[str] = []

    def probe(a):
        tr = handlers.trace(handlers.seed(m, jax.random.PRNGKey(0))).get_trace(*a)
        names.extend(
            k for k, v in tr.items() if v["type"] in ("sample", "deterministic") and k != "y"
        )

    jax.eval_shape(probe, args)
    return names


def guide_draws(m, guide, params, args: tuple, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Draws of every latent and deterministic site from a fitted guide, (1, draws, ...),
    for the model's arguments ``args`` (a tuple).

    One compiled program (the guide's parameters and the model's arguments as its own);
    `draw_program` makes it, to be kept where it is used again."""
    import jax

    return draw_program(m, guide, draws)(jax.random.PRNGKey(seed), params, args)


def draw_program(m, guide, draws: int):
    """``draw(key, params, args) -> {site: (1, draws, ...)}``: the guide's draws of every
    site `model_sites` names, one jitted program (the sites read off the model when it is
    traced)."""
    import jax
    from numpyro.infer import Predictive

    @jax.jit
    def draw(key, p, args):
        sites = model_sites(m, *args)
        pred = Predictive(m, guide=guide, params=p, num_samples=draws, return_sites=sites)
        return pred(key, *args, observe=False)

    def run(key, p, args):
        return {k: np.asarray(v)[None] for k, v in draw(key, p, args).items()}

    return run


def start_params(guide, start: dict) -> dict:
    """``init_params`` for ``SVI.init`` that start ``guide`` at ``start``, ``{site: (value,
    support)}`` as `mediamix.inference.init.start_values` gives it: the location parameters of NumPyro's
    guides, ``<site>_<prefix>_loc`` (constrained for AutoDelta, unconstrained for the
    mean-field guide) or one flat ``<prefix>_loc`` (unconstrained, sites in sorted order, as
    ``ravel_pytree`` lays them out) for the guides over all latent values at once."""
    from jax.flatten_util import ravel_pytree
    from numpyro.distributions.transforms import biject_to
    from numpyro.infer.autoguide import AutoContinuous, AutoDelta

    prefix = guide.prefix
    if isinstance(guide, AutoDelta):
        return {f"{k}_{prefix}_loc": v for k, (v, _) in start.items()}
    free = {k: biject_to(support).inv(v) for k, (v, support) in start.items()}
    if isinstance(guide, AutoContinuous):
        return {f"{prefix}_loc": ravel_pytree(free)[0]}
    return {f"{k}_{prefix}_loc": v for k, v in free.items()}


def start_state(svi, model, key, *args):
    """``svi.init(key, *args)`` with the guide started where
    `mediamix.inference.init.start_values` puts it (traceable; `init_program` jits it).

    Since the start is given, the search for a valid start that the guide's set-up runs
    (the potential and its gradient, compiled twice) has no use in the result, and a program
    made of this leaves it out: a third of the compilation of a cold start. Set up inside a
    traced program, the guide's prototype trace holds traced values; afterwards it reads
    only their shapes and the sites' supports (constants of the structure)."""
    import jax

    from mediamix.inference.init import start_values

    k_start, k_svi = jax.random.split(key)
    start = start_values(model, k_start, args)
    return svi.init(k_svi, *args, init_params=start_params(svi.guide, start))


def init_program(svi, model):
    """``init(key, *args) -> state``: `start_state` as one jitted program."""
    import jax

    return jax.jit(functools.partial(start_state, svi, model))


@dataclass(frozen=True)
class _Engine:
    """What every SVI fit of one model structure and settings shares: the guide, numpyro's
    SVI, and its compiled programs (`_engine`)."""

    guide: object
    svi: object
    init: object  # (key, *args) -> state
    run_chunk: object  # (state, n, *args) -> (state, losses)
    draw: object  # (key, params, args) -> draws


@functools.lru_cache(maxsize=4)
def _engine(shared, guide: str, steps: int, learning_rate: float, draws: int) -> _Engine:
    """The `_Engine` of a model structure (`mediamix.model.reuse.SharedModel`) and settings,
    made once: refits of the structure (a fleet, a refresh) compile nothing new.

    ``svi.init`` runs as one compiled program with the start given (`init_program`): run
    eagerly, the guide's set-up (the model's trace, the search for a valid start with its
    gradients) dispatches and compiles hundreds of small programs, most of a cold fit's
    time."""
    from numpyro.infer import SVI as Engine
    from numpyro.infer import Trace_ELBO
    from numpyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoNormal

    from mediamix.inference.init import init_to_prior_centre

    m = shared.model
    auto = AutoNormal if guide == "normal" else AutoLowRankMultivariateNormal
    g = auto(m, init_loc_fn=init_to_prior_centre(), init_scale=0.05)
    svi = Engine(m, g, optimiser(learning_rate, steps), Trace_ELBO())
    run_chunk = chunk_runner(svi, chunk_length(steps))
    return _Engine(g, svi, init_program(svi, m), run_chunk, draw_program(m, g, draws))


@dataclass(frozen=True)
class SVI:
    """``steps`` of Adam at ``learning_rate`` on the ELBO of ``guide``; then ``draws`` from it."""

    steps: int = 3000
    draws: int = 1000
    learning_rate: float = 0.02
    guide: str = "normal"

    name = "svi"

    def __post_init__(self) -> None:
        check_int("SVI", "steps", self.steps, 1)
        check_int("SVI", "draws", self.draws, 1)
        check_positive("SVI", "learning_rate", self.learning_rate)
        if self.guide not in GUIDES:
            raise SpecError(f"SVI: guide must be one of {', '.join(GUIDES)} (got {self.guide!r})")

    @property
    def total_draws(self) -> int:
        return self.draws

    def run(
        self,
        model,
        design: dict,
        structure,
        *,
        seed: int = 0,
        progress: bool | Report = False,
    ):
        """Fit the guide to ``model(design, structure)``; returns a `FitResult` of draws.

        The steps run in about `CHUNKS` compiled chunks (one program for all of them, the
        same steps as one uninterrupted run); ``progress``: False (quiet), True (a line per
        chunk on stderr) or a function called with an `OptimiserProgress` after every chunk
        (a Ctrl-C, or an exception from it, lands between chunks).
        """
        import jax

        from mediamix.model.reuse import shared_program

        enable_compile_cache()
        report = reporter(progress)
        shared, args = shared_program(model, structure, design)
        steps = int(self.steps)
        eng = _engine(shared, self.guide, steps, float(self.learning_rate), int(self.draws))
        length = chunk_length(steps)
        clock = Clock(steps)
        state = eng.init(jax.random.PRNGKey(seed), *args)
        parts, done = [], 0
        while done < steps:
            n = min(length, steps - done)
            state, buf = eng.run_chunk(state, n, *args)
            part = np.asarray(buf)[:n]
            parts.append(part)
            done += n
            if report is not None:
                elapsed, remaining = clock.tick(done)
                report(OptimiserProgress("SVI", done, steps, float(part[-1]), elapsed, remaining))
        res = SVIRunResult(eng.svi.get_params(state), state, np.concatenate(parts))
        losses = np.asarray(res.losses)
        if not np.isfinite(losses[-1]):
            raise ConvergenceError(
                "the variational fit diverged (loss is not finite); try a smaller learning_rate, "
                "more steps, or method='nuts'"
            )
        samples = eng.draw(jax.random.PRNGKey(seed + 1), res.params, args)
        info = {
            "guide": self.guide,
            "steps": self.steps,
            "final_loss": float(losses[-1]),
            "losses": losses[:: max(1, self.steps // 200)].tolist(),
            "loss_rel_change": loss_rel_change(losses),
        }
        return FitResult(samples, {}, info)
