"""The loop on real life: next period's split for a fitted run folder, recorded in it.

``next_split(run_dir, budget, policy="thompson")`` reads the run's response curves (their
posterior draws, `mediamix.runs.RunDir`), sets the guard-rails from the last split the loop
recorded (else the run's current spend per period), plans the period with the policy and
appends one line to ``RUN_DIR/loop.jsonl``. The log is what the next refit needs to know:
which splits were tried, when, and from which draw -- the run folder keeps it when the run is
refitted (`RunDir.write` carries files it does not own). Without a seed every call draws anew,
so repeated Thompson calls explore (their splits differ), always within the guard-rails.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.loop.policies import POLICIES, guard_rails, make_policy
from mediamix.loop.refit import Posterior
from mediamix.optimize.response import Response

LOG_FILE = "loop.jsonl"
LIVE_POLICIES = tuple(p for p in POLICIES if p != "oracle")


def read_log(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``RUN_DIR/loop.jsonl`` (oldest first); a damaged line is an error naming
    it."""
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{path}: line {i} is not JSON ({exc.msg}); remove or fix that line"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("split"), dict):
            raise SpecError(f"{path}: line {i} has no 'split' mapping; remove or fix that line")
        rows.append(row)
    return rows


def append_log(run_dir: str | Path, row: Mapping[str, Any]) -> Path:
    """Append one JSON line to the run's log in one write under an exclusive lock, so two
    calls at once never interleave and a reader never sees half a line."""
    import fcntl

    path = Path(run_dir) / LOG_FILE
    data = (json.dumps(dict(row), allow_nan=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return path


def parse_bounds(items, names) -> dict[str, tuple[float, float | None]]:
    """``["tv=1000:8000", "display=:4000"]`` -> ``{channel: (lower, upper or None)}``."""
    out: dict[str, tuple[float, float | None]] = {}
    for item in items or ():
        name, eq, rng = str(item).partition("=")
        a, colon, b = rng.partition(":")
        if not eq or not colon:
            raise SpecError(f"--bound {item!r}: expected CHANNEL=LOW:HIGH, e.g. tv=1000:8000")
        if name not in names:
            raise SpecError(
                f"--bound {item!r}: unknown channel '{name}'; channels: {', '.join(names)}"
            )
        try:
            lo = float(a) if a.strip() else 0.0
            hi = float(b) if b.strip() else None
        except ValueError:
            raise SpecError(f"--bound {item!r}: LOW and HIGH must be numbers") from None
        if lo < 0 or (hi is not None and hi < lo):
            raise SpecError(f"--bound {item!r}: need 0 <= LOW <= HIGH")
        out[name] = (lo, hi)
    return out


def next_split(
    run_dir: str | Path,
    budget: float,
    policy: str = "thompson",
    *,
    max_move: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    seed: int | None = None,
    record: bool = True,
) -> dict[str, Any]:
    """Plan next period's split for a fitted run (see the module docstring); returns the
    recorded row: ``split``, ``lower``, ``upper``, ``reference``, ``policy``, ``period``, ..."""
    from mediamix.runs import RunDir

    if policy not in LIVE_POLICIES:
        raise SpecError(
            f"policy must be one of {', '.join(LIVE_POLICIES)} (got {policy!r}); 'oracle' "
            "needs the true curves, which only a simulation has"
        )
    view = RunDir(run_dir).read()
    curves = tuple(Response.from_dict(d) for d in view.responses)
    names = [r.name for r in curves]
    log = read_log(view.path)
    if log:
        last = log[-1]["split"]
        missing = [n for n in names if n not in last]
        if missing:
            raise SpecError(
                f"{view.path / LOG_FILE}: the last split has no channel '{missing[0]}'; the run "
                "was refitted with other channels: move the old log away to start afresh"
            )
        prev = np.array([float(last[n]) for n in names])
    else:
        cur = view.current_spend() or {}
        prev = np.array([float(cur.get(n) or 0.0) for n in names])
        if prev.sum() <= 0:
            prev = np.full(len(names), 1.0)
    lo = np.zeros(len(names))
    hi = np.full(len(names), np.inf)
    for name, (a, b) in (bounds or {}).items():
        if name not in names:
            raise SpecError(f"bounds: unknown channel '{name}'; channels: {', '.join(names)}")
        i = names.index(name)
        lo[i] = 0.0 if a is None else float(a)
        hi[i] = np.inf if b is None else float(b)
    rails = guard_rails(prev, float(budget), lo, hi, max_move, names)
    rng = np.random.default_rng(seed)
    pol = make_policy(policy)
    posterior = Posterior(curves, 0, 0.0, str((view.summary or {}).get("method") or "run"))
    split = pol.decide(rails, posterior, rng)
    row = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": len(log) + 1,
        "policy": policy,
        "budget": float(budget),
        "seed": seed,
        "max_move": max_move,
        "draws": int(posterior.n_draws),
        "split": dict(zip(names, map(float, split))),
        "reference": dict(zip(names, map(float, rails.reference))),
        "lower": dict(zip(names, map(float, rails.lower))),
        "upper": {
            n: (None if not np.isfinite(v) else float(v)) for n, v in zip(names, rails.upper)
        },
        **getattr(pol, "info", {}),
    }
    if record:
        append_log(view.path, row)
    return row
