"""One group's fit, as a worker runs it: `run_task(task) -> dict` (a plain record).

The worker is a fresh process for each task (the engines recycle it), so JAX's compiled
programs and buffers of one fit never pile up in the next one's process; the persistent
compile cache still shares compilations between them. A user mistake in the group's data or
settings is the record's ``message`` (the same line ``mediamix fit`` prints), never an
exception: failures are data. With ``ship`` the run folder is written in a scratch folder on
the worker and returned as a tar archive, for workers that do not share the fleet's disk.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediamix.errors import MediamixError
from mediamix.runs.pipeline import FitOptions

STATE_DIR = ".fleet"
RUNNING = "running"


@dataclass(frozen=True)
class GroupTask:
    """What a worker needs for one group: its ``name``, ``data`` (a DataFrame or a file),
    the fleet folder ``root`` (the run goes to ``root/name``), the fit's ``options``, the
    host devices to give JAX (``devices``, the task's CPUs) and ``ship`` (module docstring).
    """

    name: str
    data: Any
    root: str
    options: FitOptions
    devices: int = 1
    ship: bool = False


def marker_path(root: str | Path, name: str) -> Path:
    """The group's running marker: the worker's pid and attempt while it fits."""
    return Path(root) / STATE_DIR / RUNNING / f"{name}.json"


def _mark_running(task: GroupTask) -> int:
    """Write the running marker (when the fleet's folder is on this machine); returns the
    attempt: one more than a marker a dead worker left behind."""
    path = marker_path(task.root, task.name)
    if not path.parent.is_dir():
        return 1
    attempt = 1
    try:
        attempt = int(json.loads(path.read_text(encoding="utf-8")).get("attempt", 0)) + 1
    except (OSError, ValueError):
        pass
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "attempt": attempt, "started": time.time()}),
                   encoding="utf-8")  # fmt: skip
    os.replace(tmp, path)
    return attempt


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB: Linux's ``VmHWM`` (the high-water mark of
    this program's own memory; ``ru_maxrss`` would carry the parent's peak over a fork and
    an exec), else ``ru_maxrss``."""
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def outcome_record(summary: dict) -> dict[str, Any]:
    """The fleet.csv fields of a written run's summary.json: status ``ok`` or
    ``not_converged`` (by the review or the loss check), the convergence figures, the review."""
    d = summary.get("diagnostics") or {}
    r = summary.get("review") or {}
    n = r.get("counts") or {}
    converged = bool(r.get("converged", True)) and bool(d.get("converged", True))
    return {
        "status": "ok" if converged else "not_converged",
        "message": "" if converged else _first(d.get("warnings")) or "the fit did not converge",
        "method": summary.get("method"),
        "fit_seconds": summary.get("fit_seconds"),
        "max_rhat": d.get("max_rhat"),
        "min_ess": d.get("min_ess_bulk"),
        "divergences": d.get("divergences"),
        "r2": d.get("in_sample_r2"),
        "holdout_mape": d.get("holdout_mape"),
        "review": r.get("verdict"),
        "review_fail": n.get("fail", 0),
        "review_to_read": n.get("review", 0),
    }


def _first(items) -> str:
    return str(items[0]) if items else ""


def _archive(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=p.name)
    return buf.getvalue()


def run_task(task: GroupTask) -> dict[str, Any]:
    """Fit one group and write its run folder; the record of how it went (module docstring).

    Keys: ``group``, ``status`` (ok | failed | not_converged), ``message``, the figures of
    `outcome_record`, ``wall_seconds``, ``attempt``, ``pid``, ``host``, ``peak_rss_mb``,
    ``data_warnings`` and, with ``ship``, ``archive`` (the run folder as tar.gz bytes).
    """
    from mediamix.devices import jax_started, set_host_devices
    from mediamix.runs.pipeline import fit_run

    start = time.perf_counter()
    if not jax_started():
        set_host_devices(max(1, int(task.devices)))
    attempt = _mark_running(task)
    record: dict[str, Any] = {"group": task.name, "attempt": attempt, "pid": os.getpid(),
                              "host": socket.gethostname()}  # fmt: skip
    lines: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="mediamix-fleet-")) if task.ship else None
    out = scratch / task.name if scratch else Path(task.root) / task.name
    try:
        res = fit_run(task.data, out, task.options, progress=False, on_warning=lines.append)
        record.update(outcome_record(res.summary))
        if scratch is not None:
            record["archive"] = _archive(out)
    except MediamixError as exc:
        record.update(status="failed", message=str(exc))
    except Exception as exc:  # a bug, not the user's data: its traceback goes in the log
        record.update(status="failed", message=f"internal error: {type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())  # fmt: skip
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    record.update(wall_seconds=time.perf_counter() - start, peak_rss_mb=peak_rss_mb(),
                  data_warnings=lines)  # fmt: skip
    return record


def run_batch_tasks(tasks: list[GroupTask], progress: Any = False) -> list[dict[str, Any]]:
    """Fit many groups in one compiled run per model structure (`mediamix.estimator.batch`),
    in this process: each group's inputs are checked as for a single fit (a group with bad
    data fails alone, with the single fit's message), groups with the same spec go to
    `fit_batch` together, then each fitted model is checked and written as its own run
    folder. Returns one record per task, in order (no ``attempt`` retries: nothing is
    isolated in a worker)."""
    import warnings

    from mediamix.estimator.batch import fit_batch
    from mediamix.inference.diagnostics import ConvergenceWarning
    from mediamix.runs.pipeline import finish_fit, prepare_fit

    records: dict[str, dict[str, Any]] = {}
    prepared: dict[str, Any] = {}
    started = time.perf_counter()
    for t in tasks:
        lines: list[str] = []
        base = {"group": t.name, "attempt": 1, "pid": os.getpid(), "host": socket.gethostname(),
                "data_warnings": lines}  # fmt: skip
        try:
            prepared[t.name] = prepare_fit(t.data, t.options, on_warning=lines.append)
            records[t.name] = base
        except MediamixError as exc:
            records[t.name] = {**base, "status": "failed", "message": str(exc)}
    batches: list[tuple[Any, list[GroupTask]]] = []
    for t in tasks:
        if t.name not in prepared:
            continue
        spec = prepared[t.name].spec
        for s, members in batches:
            if s == spec:
                members.append(t)
                break
        else:
            batches.append((spec, [t]))
    for spec, members in batches:
        o = members[0].options
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                fitted = fit_batch(spec, [prepared[t.name].dataset for t in members], o.method,
                                   seed=o.seed, progress=progress, **o.sampler_options())  # fmt: skip
        except MediamixError as exc:
            for t in members:
                records[t.name].update(status="failed", message=str(exc))
            continue
        conv = tuple(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
        for t, f in zip(members, fitted, strict=True):
            try:
                res = finish_fit(prepared[t.name], f, Path(t.root) / t.name, conv)
                records[t.name].update(outcome_record(res.summary))
            except MediamixError as exc:
                records[t.name].update(status="failed", message=str(exc))
    wall = time.perf_counter() - started
    for r in records.values():
        r.update(wall_seconds=wall / max(1, len(tasks)), peak_rss_mb=peak_rss_mb())
    return [records[t.name] for t in tasks]
