"""numpy or jax.numpy, picked from the arguments, without importing JAX.

Every transform is written once against an array namespace ``xp``: with numpy inputs it runs
in float64 numpy (the optimizer, the simulator, the report); with JAX arrays or tracers
(the model under ``jit`` / ``grad``) it runs in ``jax.numpy``. The choice is made from
``type(a).__module__`` so that importing :mod:`mediamix.transforms` never imports JAX:
``jax.numpy`` is imported only when a JAX value is actually passed in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def is_jax(value: Any) -> bool:
    """Whether ``value`` is a JAX array or tracer (``jax.*`` / ``jaxlib.*`` types)."""
    return type(value).__module__.startswith(("jax", "jaxlib"))


def namespace(*values: Any):
    """``jax.numpy`` if any of ``values`` is a JAX array or tracer, else ``numpy``."""
    for v in values:
        if is_jax(v):
            import jax.numpy as jnp

            return jnp
    return np


def asarray(xp, value: Any):
    """``value`` as an array of ``xp``: float64 for numpy, JAX's default float for JAX."""
    if xp is np:
        return np.asarray(value, dtype=float)
    return xp.asarray(value)


def quiet(fn: F) -> F:
    """Run ``fn`` with numpy's floating-point warnings off.

    The formulas evaluate both branches of ``where`` (e.g. ``(k / x)^s`` at ``x = 0``
    before the branch is discarded); overflow to ``inf`` there is intended, not an error.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
