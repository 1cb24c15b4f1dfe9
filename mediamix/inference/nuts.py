"""NUTS over several chains, run in parallel across host devices where JAX has them.

Chains run in parallel only when ``jax.local_device_count() >= chains``: call
``mediamix.set_host_devices(n)`` before JAX starts (the CLI does); otherwise they run one after
another (still correct, just slower).

The chains advance in chunks of steps (warmup, then sampling, about ten chunks of draws): one
compiled program runs any chunk, so chunking costs no recompilation, and between chunks the
sampler reports its progress (:class:`SamplerProgress`: phase, steps done, time elapsed and
an estimate of the time left) and a Ctrl-C is answered. The chain of states is the one numpyro's
``MCMC`` would run in one go (the same initialisation, kernel and random keys).

One kernel and one compiled chunk program per model structure and sampler settings
(`_program`, a bounded cache): the data are arguments, never constants, so a refit of the same
structure (a fleet, a refresh, a benchmark's repeat) compiles nothing new, and memory stays
flat across repeated fits (a new program per fit kept every fit's kernel and data alive in
JAX's caches: +38 arrays and about 75 MB per fit in one process).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.inference import progress as _progress
from mediamix.inference.options import check_int, check_positive
from mediamix.inference.progress import Clock, duration, reporter, stderr_line
from mediamix.inference.result import FitResult
from mediamix.model.reuse import shared_program

CHUNKS = 10  # sampling chunks; warmup runs in chunks of the same length


@dataclass(frozen=True)
class SamplerProgress:
    """Where a NUTS run stands after a chunk: ``phase`` is ``"warmup"`` or ``"sampling"``,
    ``done`` of ``total`` steps per chain of that phase; ``elapsed`` seconds since the start;
    ``remaining`` an estimate of the seconds left (None until two chunks have run: the first
    one includes the compilation)."""

    phase: str
    done: int
    total: int
    warmup: int
    draws: int
    elapsed: float
    remaining: float | None

    @property
    def fraction(self) -> float:
        """Steps done over all steps (warmup and sampling), 0..1."""
        steps = self.done + (self.warmup if self.phase == "sampling" else 0)
        return steps / max(1, self.warmup + self.draws)

    def line(self) -> str:
        """One line for a person, e.g. ``sampling 300/1000 draws · 45 s elapsed · about 1 min
        left``."""
        what = "warmup steps" if self.phase == "warmup" else "draws"
        text = f"{self.phase} {self.done}/{self.total} {what} · {duration(self.elapsed)} elapsed"
        if self.remaining is not None:
            text += f" · about {duration(self.remaining)} left"
        return text


Progress = Callable[[SamplerProgress], None]


def chunk_length(draws: int, chunks: int = CHUNKS) -> int:
    """Draws per sampling chunk (and warmup steps per warmup chunk): about ``CHUNKS`` parts."""
    return _progress.chunk_length(draws, chunks)


def stderr_progress(p: SamplerProgress) -> None:
    """The sampler's progress line on stderr."""
    stderr_line("NUTS " + p.line(), p.phase == "sampling" and p.done == p.total)


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

    def run(
        self,
        model,
        design: dict,
        structure,
        *,
        seed: int = 0,
        progress: bool | Progress = False,
    ):
        """Sample ``model(design, structure)``; returns a `FitResult` with (chain, draw) axes.

        ``progress``: False (quiet), True (a line per chunk on stderr) or a function called
        with a :class:`SamplerProgress` after every chunk (and once before the first).
        """
        import jax

        enable_compile_cache()
        report = reporter(progress, stderr_progress)
        devices = jax.local_device_count()
        method = "parallel" if devices >= self.chains else "sequential"
        if method == "sequential" and self.chains > 1:
            warnings.warn(
                f"NUTS: {self.chains} chains but JAX has {devices} host device(s), so the "
                "chains run one after another; for parallel chains call "
                f"mediamix.set_host_devices({self.chains}) first thing in the script, before "
                "any JAX computation (the mediamix command line does this itself)",
                RuntimeWarning,
                stacklevel=2,
            )
        W, D = int(self.warmup), int(self.draws)
        length = chunk_length(D)
        clock = Clock(W + D)
        if report is not None:
            report(SamplerProgress("warmup", 0, W, W, D, 0.0, None))

        shared, args = shared_program(model, structure, design)
        init, program, lock = _program(shared, self.target_accept, self.max_tree_depth,
                                       self.dense_mass, W, length, method)  # fmt: skip
        with lock:  # the kernel is shared by the fits of one structure
            states = init(chain_keys(jax.random.PRNGKey(seed), self.chains), args)
            parts = self._sample(program, states, args, method, W, D, length, clock, report)
        joined = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts)
        z, diverging, energy, n_steps = joined
        samples = {k: np.asarray(v) for k, v in z.items()}
        stats = {"diverging": diverging, "energy": energy, "n_steps": n_steps}
        info = {"chain_method": method, "chains": self.chains, "draws": self.draws,
                "warmup": self.warmup, "chunk": length, "target_accept": self.target_accept,
                "max_tree_depth": self.max_tree_depth,
                "dense_mass": self.dense_mass}  # fmt: skip
        return FitResult(samples, stats, info)

    @staticmethod
    def _sample(program, states, args, method, W, D, length, clock, report) -> list:
        """Warmup then sampling in chunks; the sampling chunks' records."""
        import jax

        def advance(states, n):
            states, record = program(states, jax.numpy.int32(n), args)
            return states, jax.tree.map(lambda v: np.asarray(v)[:, :n], record)

        parts = []
        for phase, steps, before in (("warmup", W, 0), ("sampling", D, W)):
            done = 0
            while done < steps:
                n = min(length, steps - done)
                states, record = advance(states, n)
                done += n
                if phase == "sampling":
                    parts.append(record)
                if report is not None:
                    elapsed, remaining = clock.tick(before + done)
                    report(SamplerProgress(phase, done, steps, W, D, elapsed, remaining))
        return parts


@functools.lru_cache(maxsize=4)
def _program(shared, target_accept, max_tree_depth, dense_mass, warmup, length, method):
    """``(init, program, lock)`` for a model structure (`SharedModel`) and sampler settings,
    made once.

    The warmup length is part of the key: numpyro's kernel fixes the adaptation schedule
    when it is traced. ``init(keys, args)`` makes every chain's initial state in one
    compiled program (`_init_program`); ``program(states, n, args)`` runs ``n <= length``
    steps of every chain (`_chunk_program`). The data and the priors are the programs'
    arguments, so the cache holds programs, at most ``maxsize`` structures, not data."""
    kernel = make_kernel(shared.model, target_accept, max_tree_depth, dense_mass)
    init = _init_program(kernel, warmup, method)
    return init, _chunk_program(kernel, length, method), threading.Lock()


def make_kernel(model, target_accept: float, max_tree_depth: int, dense_mass: bool):
    """numpyro's NUTS kernel for ``model`` (taking its arguments at ``init`` and ``sample``)
    with mediamix's settings, started at `mediamix.inference.init.init_to_prior_centre`; used
    inside traced programs only (`one_chain_init`, `one_chain_chunk`), so that its set-up is
    compiled with them rather than run op by op."""
    from numpyro.infer import NUTS as Kernel

    from mediamix.inference.init import init_to_prior_centre

    return Kernel(
        model,
        target_accept_prob=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=bool(dense_mass),
        init_strategy=init_to_prior_centre(),
    )


def one_chain_init(kernel, warmup: int):
    """``init(key, args) -> state``: one chain's initial state (``kernel.init``, traceable)."""

    def init(key, design_args):
        return kernel.init(key, warmup, None, model_args=design_args, model_kwargs={})

    return init


def one_chain_chunk(kernel, length: int):
    """``chunk(state, n, args) -> (state, (z, diverging, energy, num_steps))``: ``n <=
    length`` kernel steps of one chain, the draws in buffers of ``length`` (the first ``n``
    filled; traceable)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def chunk(state, n, design_args):
        postprocess = kernel.postprocess_fn(design_args, {})

        def record(s):
            return (postprocess(s.z), s.diverging, s.energy, s.num_steps)

        def body(i, carry):
            s, buf = carry
            s = kernel.sample(s, design_args, {})
            buf = jax.tree.map(lambda b, v: b.at[i].set(v), buf, record(s))
            return s, buf

        proto = jax.eval_shape(record, state)
        buf = jax.tree.map(lambda v: jnp.zeros((length, *v.shape), v.dtype), proto)
        return lax.fori_loop(0, n, body, (state, buf))

    return chunk


def chain_keys(rng_key, chains: int):
    """One random key per chain, as ``MCMC`` splits them: (chains, 2)."""
    import jax

    return jax.random.split(rng_key, chains) if chains > 1 else rng_key[None]


def _init_program(kernel, warmup: int, method: str):
    """``init(keys, args) -> states``: every chain's initial state (``kernel.init`` with its
    key, as ``MCMC`` runs it under ``pmap``), stacked on a leading chain axis, in one
    compiled program: run eagerly, the initialisation (the model's trace, the search for a
    valid start, the first gradients, the step-size heuristic) dispatched and compiled
    hundreds of small programs per chain, the largest part of a cold fit. The states come
    out laid out as the chunk program takes them (on the devices, for parallel chains)."""
    import jax

    one_chain = one_chain_init(kernel, warmup)
    if method == "parallel":
        return jax.pmap(one_chain, in_axes=(0, None))
    return jax.jit(jax.vmap(one_chain, in_axes=(0, None)))


def _chunk_program(kernel, length: int, method: str):
    """``run(states, n, args) -> (states, (z, diverging, energy, num_steps))``: ``n <=
    length`` kernel steps on every chain, the draws in buffers of ``length`` (the first ``n``
    filled). The step count and the data are traced, so one compiled program serves every
    chunk and every data set of the structure."""
    import jax
    from jax import lax

    one_chain = one_chain_chunk(kernel, length)
    if method == "parallel":
        return jax.pmap(one_chain, in_axes=(0, None, None))

    @jax.jit
    def sequential(states, n, design_args):
        return lax.map(lambda s: one_chain(s, n, design_args), states)

    return sequential
