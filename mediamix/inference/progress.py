"""Progress of the samplers and optimisers, reported between compiled chunks of steps.

The pieces every method shares: `chunk_length`, `Clock` (elapsed time and the time left),
`duration` (seconds as words), `stderr_line` and `reporter`. The NUTS sampler reports a `mediamix.inference.nuts.SamplerProgress`; SVI and MAP report an
:class:`OptimiserProgress` of the same shape (``phase``, ``done`` of ``total``, ``elapsed``,
``remaining``, ``fraction``, ``line()``), so one callback serves every method. ``progress``
arguments take False (quiet), True (a line per chunk on stderr) or such a callback.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHUNKS = 20  # an optimiser's steps run in about this many chunks

Report = Callable[[Any], None]


@dataclass(frozen=True)
class OptimiserProgress:
    """Where an SVI or MAP run stands after a chunk: ``done`` of ``total`` optimiser steps,
    ``loss`` the last step's loss, ``elapsed`` seconds since the start and ``remaining`` an
    estimate of the seconds left (None until two chunks have run: the first one includes the
    compilation)."""

    method: str  # "SVI" or "MAP"
    done: int
    total: int
    loss: float
    elapsed: float
    remaining: float | None
    phase: str = "optimising"

    @property
    def fraction(self) -> float:
        """Steps done over all steps, 0..1."""
        return min(1.0, self.done / max(1, self.total))

    def line(self) -> str:
        """One line for a person, e.g. ``optimising 300/3000 steps · loss 812.4 · 3 s elapsed
        · about 27 s left``."""
        text = f"{self.phase} {self.done}/{self.total} steps · loss {self.loss:,.1f}"
        text += f" · {duration(self.elapsed)} elapsed"
        if self.remaining is not None:
            text += f" · about {duration(self.remaining)} left"
        return text


def duration(seconds: float) -> str:
    """``"8 s"``, ``"2 min 05 s"``, ``"1 h 04 min"``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def chunk_length(steps: int, chunks: int = CHUNKS) -> int:
    """Steps per chunk: the steps in about ``chunks`` equal parts."""
    return max(1, math.ceil(steps / chunks))


def stderr_line(text: str, last: bool) -> None:
    """The CLI's progress: one line per chunk on stderr (rewritten in place on a terminal,
    kept once ``last``)."""
    tty = sys.stderr.isatty()
    end = "\n" if not tty or last else ""
    print(("\r\033[K" if tty else "") + text, end=end, file=sys.stderr, flush=True)


def stderr_report(p: OptimiserProgress) -> None:
    """An optimiser's progress line on stderr."""
    stderr_line(f"{p.method} " + p.line(), p.done >= p.total)


def reporter(progress: bool | Report, stderr: Report = stderr_report) -> Report | None:
    """The function to call after each chunk: the callback itself, the ``stderr`` lines for
    True, nothing for False."""
    if callable(progress):
        return progress
    return stderr if progress else None


class Clock:
    """Elapsed time and the time left, from the chunks after the first (which includes the
    compilation)."""

    def __init__(self, total: int) -> None:
        self.started = time.perf_counter()
        self.total = total
        self.first: tuple[float, int] | None = None  # (time, steps) at the end of chunk 1

    def tick(self, done: int) -> tuple[float, float | None]:
        """``(elapsed, remaining)`` once ``done`` steps have run."""
        elapsed = time.perf_counter() - self.started
        if self.first is None:
            self.first = (elapsed, done)
            return elapsed, None
        t1, s1 = self.first
        rate = (elapsed - t1) / max(1, done - s1)
        return elapsed, rate * max(0, self.total - done)


def chunk_runner(svi, length: int):
    """``run(state, n, *args) -> (state, losses)``: ``n <= length`` steps of ``svi.update``,
    the losses in a buffer of ``length`` (the first ``n`` filled). The step count is traced,
    so one compiled program serves every chunk, the last shorter one included."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    @jax.jit
    def run(state, n, args):
        def body(i, carry):
            s, buf = carry
            s, loss = svi.update(s, *args)
            return s, buf.at[i].set(loss)

        proto = jax.eval_shape(lambda s: svi.update(s, *args)[1], state)
        buf = jnp.full((length,), jnp.nan, proto.dtype)
        return lax.fori_loop(0, n, body, (state, buf))

    return lambda state, n, *args: run(state, jnp.int32(n), args)
