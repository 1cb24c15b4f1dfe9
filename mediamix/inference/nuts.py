"""NUTS over several chains, run in parallel across host devices where JAX has them.

Chains run in parallel only when ``jax.local_device_count() >= chains``: call
``mediamix.set_host_devices(n)`` before JAX starts (the CLI does); otherwise they run one after
another (still correct, just slower).

The chains advance in chunks of steps (warmup, then sampling, about ten chunks of draws): one
compiled program runs any chunk, so chunking costs no recompilation, and between chunks the
sampler reports its progress (:class:`SamplerProgress`: phase, steps done, time elapsed and
an estimate of the time left) and a Ctrl-C is answered. The chain of states is the one numpyro's
``MCMC`` would run in one go (the same initialisation, kernel and random keys).
"""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.inference.options import check_int, check_positive
from mediamix.inference.result import FitResult

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


def duration(seconds: float) -> str:
    """``"8 s"``, ``"2 min 05 s"``, ``"1 h 04 min"``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def chunk_length(draws: int, chunks: int = CHUNKS) -> int:
    """Steps per chunk: the draws in about ``chunks`` equal parts."""
    return max(1, math.ceil(draws / chunks))


def stderr_progress(p: SamplerProgress) -> None:
    """The CLI's progress: one line per chunk on stderr (rewritten in place on a terminal)."""
    tty = sys.stderr.isatty()
    end = "\n" if not tty or (p.phase == "sampling" and p.done == p.total) else ""
    print(("\r\033[K" if tty else "") + "NUTS " + p.line(), end=end, file=sys.stderr, flush=True)


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
        from numpyro.infer import NUTS as Kernel
        from numpyro.infer import init_to_median

        enable_compile_cache()
        report = progress if callable(progress) else (stderr_progress if progress else None)
        kernel = Kernel(
            functools.partial(model, structure=structure),
            target_accept_prob=self.target_accept,
            max_tree_depth=self.max_tree_depth,
            dense_mass=bool(self.dense_mass),
            init_strategy=init_to_median(num_samples=15),
        )
        method = "parallel" if jax.local_device_count() >= self.chains else "sequential"
        started = time.perf_counter()
        W, D = int(self.warmup), int(self.draws)
        length = chunk_length(D)
        clock = _Clock(started, W + D)
        if report is not None:
            report(SamplerProgress("warmup", 0, W, W, D, 0.0, None))

        args = (design,)
        states = _init_states(kernel, jax.random.PRNGKey(seed), self.chains, W, args)
        run_chunk = _chunk_runner(kernel, args, length, method)

        def advance(states, n):
            states, record = run_chunk(states, n)
            return states, jax.tree.map(lambda v: np.asarray(v)[:, :n], record)

        for phase, steps in (("warmup", W), ("sampling", D)):
            parts = []
            done = 0
            while done < steps:
                n = min(length, steps - done)
                states, record = advance(states, n)
                done += n
                if phase == "sampling":
                    parts.append(record)
                if report is not None:
                    remaining = clock.tick(n)
                    report(SamplerProgress(phase, done, steps, W, D, clock.elapsed, remaining))
        joined = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts)
        z, diverging, energy, n_steps = joined
        samples = {k: np.asarray(v) for k, v in z.items()}
        stats = {"diverging": diverging, "energy": energy, "n_steps": n_steps}
        info = {"chain_method": method, "chains": self.chains, "draws": self.draws,
                "warmup": self.warmup, "chunk": length}  # fmt: skip
        return FitResult(samples, stats, info)


class _Clock:
    """Time per step from the chunks after the first (which includes the compilation)."""

    def __init__(self, started: float, steps: int) -> None:
        self.started = started
        self.steps = steps
        self.done = 0
        self.elapsed = 0.0
        self.first: tuple[float, int] | None = None  # (time, steps) at the end of chunk 1

    def tick(self, n: int) -> float | None:
        self.done += n
        self.elapsed = time.perf_counter() - self.started
        if self.first is None:
            self.first = (self.elapsed, self.done)
            return None
        t1, s1 = self.first
        rate = (self.elapsed - t1) / max(1, self.done - s1)
        return rate * (self.steps - self.done)


def _init_states(kernel, rng_key, chains: int, warmup: int, args):
    """Each chain's initial state, as ``MCMC`` makes it (one key per chain), stacked on a
    leading chain axis."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(rng_key, chains) if chains > 1 else rng_key[None]
    states = [kernel.init(keys[c], warmup, None, model_args=args, model_kwargs={})
              for c in range(chains)]  # fmt: skip
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def _chunk_runner(kernel, args, length: int, method: str):
    """``run(states, n) -> (states, (z, diverging, energy, num_steps))``: ``n <= length``
    kernel steps on every chain, the draws in buffers of ``length`` (the first ``n`` filled).
    The step count is traced, so one compiled program serves every chunk."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def one_chain(state, n, design_args):
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

    if method == "parallel":
        mapped = jax.pmap(one_chain, in_axes=(0, None, None))
        placed = {}

        def parallel(states, n):
            if not placed:  # laid out as the program's outputs are, so chunk 2 needs no compile
                states = jax.pmap(lambda s: s)(states)
                placed["yes"] = True
            return mapped(states, jnp.int32(n), args)

        return parallel

    @jax.jit
    def sequential(states, n, design_args):
        return lax.map(lambda s: one_chain(s, n, design_args), states)

    return lambda states, n: sequential(states, jnp.int32(n), args)
