"""JAX's host devices and compile cache, set explicitly (importing mediamix sets nothing).

JAX fixes the number of host (CPU) devices when its backend starts, so parallel NUTS chains
need ``set_host_devices(n)`` before the first JAX computation: the CLI calls it at its entry
(enough devices for its ``--chains``, at least 4);
in Python call ``mediamix.set_host_devices(4)`` first thing. Called after JAX has started it
warns and changes nothing (the chains then run one after another).
"""

from __future__ import annotations

import os
import re
import sys
import warnings

_FLAG = "--xla_force_host_platform_device_count"
#: host devices asked for by default: one per chain of a default NUTS run (4 chains), whatever
#: the number of cores (chains beyond the device count would run one after another)
DEFAULT_HOST_DEVICES = 4


def chains_in_args(args: list[str]) -> int | None:
    """The value of a ``--chains N`` (or ``--chains=N``) option in command-line arguments,
    None when absent or not a positive integer (the command itself reports a bad value)."""
    for i, a in enumerate(args):
        value = None
        if a == "--chains" and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--chains="):
            value = a.split("=", 1)[1]
        if value is not None:
            return int(value) if value.isdigit() and int(value) > 0 else None
    return None


def host_devices_for(args: list[str]) -> int:
    """Host devices for a command line: enough for its ``--chains`` to run in parallel, at
    least `DEFAULT_HOST_DEVICES`."""
    return max(DEFAULT_HOST_DEVICES, chains_in_args(args) or 0)


def jax_started() -> bool:
    """Whether JAX's backend is already running (the device count is then fixed)."""
    xb = sys.modules.get("jax._src.xla_bridge")
    backends = getattr(xb, "_backends", None) if xb is not None else None
    return bool(backends)


def set_host_devices(n: int | None = None) -> int:
    """Ask JAX for ``n`` host devices (default `DEFAULT_HOST_DEVICES`, 4: the chains of a
    default NUTS run in parallel, even on fewer cores); returns the count in effect. A count
    already in ``XLA_FLAGS`` is replaced; after JAX started, a warning."""
    if n is None:
        n = DEFAULT_HOST_DEVICES
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        from mediamix.errors import SpecError

        raise SpecError(f"host devices must be a positive integer (got {n!r})")
    if jax_started():
        import jax

        have = jax.local_device_count()
        if have != n:
            warnings.warn(
                f"JAX has already started with {have} host device(s); set_host_devices({n}) "
                "has no effect. Call mediamix.set_host_devices() before any JAX computation "
                "(chains beyond the device count run one after another).",
                RuntimeWarning,
                stacklevel=2,
            )
        return have
    flags = re.sub(rf"{_FLAG}=\d+", "", os.environ.get("XLA_FLAGS", "")).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {_FLAG}={n}".strip()
    return n


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
