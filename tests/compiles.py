"""The names of the XLA programs JAX compiles, for tests that count them."""

from __future__ import annotations

COMPILED: list[str] = []
_listening: list[bool] = []


def listen() -> None:
    """Append every compiled program's name to `COMPILED` from now on (registered once)."""
    import jax.monitoring as mon

    if not _listening:
        mon.register_event_duration_secs_listener(
            lambda name, secs, **kw: (
                COMPILED.append(kw.get("fun_name", ""))
                if name.endswith("backend_compile_duration")
                else None
            )
        )
        _listening.append(True)
