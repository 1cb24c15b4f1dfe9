"""`fit_many`: one fit per group, each a complete run folder, and the fleet's tables.

``fit_many(data, out, by=["market"], engine="local", method="svi", ...)`` splits the data
into groups (`mediamix.fleet.groups`), fits each through the single-fit pipeline
(`mediamix.runs.pipeline.fit_run`) on the chosen engine (`mediamix.fleet.engines`) and
writes, in ``out``:

- ``<group>/``: the group's run folder, as ``mediamix fit`` writes it;
- ``fleet.csv``: one row per group: the ``by`` columns, ``group`` (its folder), ``status``
  (ok | failed | not_converged), ``message`` (a failed group's error, the line
  ``mediamix fit`` prints for it), ``fit_seconds``, ``max_rhat``, ``min_ess``, the review's
  verdict, ``attempts``, the worker's ``peak_rss_mb``, ``resumed`` (done by an earlier run);
- ``fleet_roas.csv``: every group's ROAS and marginal ROAS per channel with intervals;
- ``fleet.log``: one line per group event (start, retry, done, failed with its message);
- ``.fleet/``: each group's record and the fingerprint of its data and options, so that a
  second run skips the groups already done with the same data and options (resume).

Failures are data: a group whose data or settings are wrong is recorded as ``failed`` and
the others go on; a worker that dies is retried. Settings wrong for every group (an unknown
method, a sampler option that does not apply, a bad config) are raised before any fit.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mediamix.errors import MediamixError, SpecError
from mediamix.fleet.engines import make_engine
from mediamix.fleet.groups import Group, make_groups
from mediamix.fleet.task import RUNNING, STATE_DIR, GroupTask, marker_path
from mediamix.runs.pipeline import FitOptions, check_out

FLEET_CSV = "fleet.csv"
FLEET_ROAS = "fleet_roas.csv"
FLEET_LOG = "fleet.log"
FLEET_HTML = "fleet.html"
DONE = ("ok", "not_converged")
COLUMNS = ("group", "status", "message", "fit_seconds", "wall_seconds", "attempts", "method",
           "max_rhat", "min_ess", "divergences", "r2", "holdout_mape", "review", "review_fail",
           "review_to_read", "peak_rss_mb", "resumed")  # fmt: skip
ROAS_COLUMNS = ("group", "channel", "status", "level", "spend", "contribution", "roas",
                "roas_lower", "roas_upper", "mroas", "mroas_lower", "mroas_upper")  # fmt: skip


@dataclass(frozen=True)
class FleetStatus:
    """Where a fleet stands: groups ``total``, ``ok``, ``not_converged``, ``failed``,
    ``running`` and ``skipped`` (done by an earlier run), seconds ``elapsed``."""

    total: int
    ok: int = 0
    not_converged: int = 0
    failed: int = 0
    running: int = 0
    skipped: int = 0
    elapsed: float = 0.0

    @property
    def done(self) -> int:
        return self.ok + self.not_converged + self.failed

    def line(self) -> str:
        """``fleet: 12/50 done (10 ok, 1 not converged, 1 failed), 2 running, 1m05s``."""
        m, s = divmod(int(self.elapsed), 60)
        parts = [f"{self.ok} ok"]
        if self.not_converged:
            parts.append(f"{self.not_converged} not converged")
        parts.append(f"{self.failed} failed")
        skipped = f", {self.skipped} already done" if self.skipped else ""
        return (f"fleet: {self.done}/{self.total} done ({', '.join(parts)}{skipped}), "
                f"{self.running} running, {m}m{s:02d}s")  # fmt: skip


@dataclass(frozen=True)
class FleetResult:
    """A finished fleet: its folder ``out``, the engine, one record per group (the rows of
    fleet.csv, in group order) and the ``by`` columns."""

    out: Path
    engine: str
    records: tuple[dict[str, Any], ...]
    by: tuple[str, ...] = ()
    seconds: float = 0.0

    def names(self, status: str) -> list[str]:
        return [r["group"] for r in self.records if r.get("status") == status]

    @property
    def ok(self) -> list[str]:
        return self.names("ok")

    @property
    def failed(self) -> list[str]:
        return self.names("failed")

    @property
    def not_converged(self) -> list[str]:
        return self.names("not_converged")

    @property
    def exit_status(self) -> int:
        """0 when every group was fitted, 1 when some failed (as the command exits)."""
        return 1 if self.failed else 0

    def table(self):
        """fleet.csv as a DataFrame."""
        import pandas as pd

        return pd.read_csv(self.out / FLEET_CSV, keep_default_na=False, na_values=[""])

    def roas(self):
        """fleet_roas.csv as a DataFrame."""
        import pandas as pd

        return pd.read_csv(self.out / FLEET_ROAS)


def _file_digest(path: str | Path | None) -> str | None:
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def fingerprint(group: Group, options: FitOptions) -> str:
    """What makes a group's fit the same fit: its data, the fit's options (``force`` aside),
    and the contents of the config and experiments files."""
    o = {k: v for k, v in options.to_dict().items() if k != "force"}
    payload = {"data": group.data_digest(), "options": o,
               "config": _file_digest(options.config),
               "experiments": _file_digest(options.experiments)}  # fmt: skip
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def check_options(options: FitOptions) -> None:
    """Settings wrong for every group are a usage error before any fit (module docstring)."""
    import math

    from mediamix.inference import sampler
    from mediamix.model.spec import load_config

    if not (math.isfinite(options.level) and 0 < options.level < 1):
        raise SpecError(f"--level must be between 0 and 1, e.g. 0.9 (got {options.level})")
    sampler(options.method, **options.sampler_options())
    if options.config:
        load_config(options.config)


class _Log:
    """fleet.log: one timestamped line per event, appended (a resumed fleet adds its own)."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def __call__(self, text: str) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i, line in enumerate(str(text).splitlines() or [""]):
            self.file.write(f"{stamp} {line}\n" if i == 0 else f"{stamp}   {line}\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def stderr_progress(status: FleetStatus, final: bool = False) -> None:
    """The fleet's one progress line on stderr (redrawn in place on a terminal)."""
    tty = sys.stderr.isatty()
    end = "\n" if final or not tty else ""
    sys.stderr.write(("\r\x1b[2K" if tty else "") + status.line() + end)
    sys.stderr.flush()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _unpack(archive: bytes, target: Path) -> None:
    """A shipped run folder, swapped in for ``target`` whole (`runs.layout.Staging`)."""
    from mediamix.runs import layout as L

    with L.Staging(target) as tmp, tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(tmp, filter="data")


def fit_many(
    data: Any,
    out: str | Path,
    *,
    by: Sequence[str] | str | None = None,
    options: FitOptions | None = None,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    cpus_per_fit: float = 1,
    gpus_per_fit: float = 0,
    max_retries: int = 2,
    fits_per_worker: int = 1,
    resume: bool = True,
    progress: bool | Callable[[FleetStatus], None] = False,
    **fit_options: Any,
) -> FleetResult:
    """Fit one model per group of ``data`` and write the fleet folder ``out`` (module
    docstring); returns a `FleetResult` (``exit_status`` 1 when some group failed).

    ``data``: a long table (a CSV / Parquet file or a DataFrame) split by the ``by`` columns,
    a folder with one data file per group, or a mapping ``{name: table or file}``.
    ``options`` (a `FitOptions`) or the same as keywords (``method="svi", steps=500,
    date="date", kpi="sales", channels=["tv", "search"]``): every ``mediamix fit`` option.
    ``engine``: ``local`` (a process pool, ``workers`` at a time), ``ray`` (``address`` of a
    cluster, else a local one), ``batched`` (same-structure groups in one compiled run, in
    this process) or ``sequential`` (one after another in this process); ``cpus_per_fit`` /
    ``gpus_per_fit``: each fit's resources (also its JAX host devices); ``max_retries``:
    runs again of a group whose worker died; ``fits_per_worker``: fits a pool or Ray worker
    process serves before a fresh one replaces it (1: a fresh process per fit; more: later
    fits of one model structure in a worker compile nothing new). ``resume``: skip groups already done with the
    same data and options. ``progress``: True for the one stderr line, or a function
    called with each `FleetStatus`.
    """
    t0 = time.perf_counter()
    if options is None:
        options = FitOptions(**fit_options)
    elif fit_options:
        options = replace(options, **fit_options)
    check_options(options)
    if int(max_retries) < 0:
        raise SpecError(f"max retries must be >= 0 (got {max_retries})")
    if workers is not None and int(workers) < 1:
        raise SpecError(f"--workers must be at least 1 (got {workers})")
    runner = make_engine(engine, workers, address=address, cpus=cpus_per_fit, gpus=gpus_per_fit,
                         max_retries=max_retries,
                         fits_per_worker=fits_per_worker)  # fmt: skip
    if hasattr(runner, "check"):
        runner.check(options)
    groups = make_groups(data, by)
    root = Path(out)
    if root.is_file():
        raise SpecError(f"--out '{root}' is a file; give a folder for the fleet")
    state = root / STATE_DIR
    (state / RUNNING).mkdir(parents=True, exist_ok=True)
    by_cols = tuple(k for k, _ in groups[0].key)
    log = _Log(root / FLEET_LOG)
    report = stderr_progress if progress is True else (progress or None)
    records: dict[str, dict[str, Any]] = {}
    tasks: list[GroupTask] = []
    prints: dict[str, str] = {}
    for g in groups:
        fp = prints[g.name] = fingerprint(g, options)
        rec = _read_json(state / f"{g.name}.json") if resume else None
        if (rec and rec.get("status") in DONE and rec.get("fingerprint") == fp
                and (root / g.name / "summary.json").is_file()):  # fmt: skip
            records[g.name] = {**rec, "resumed": True}
            continue
        try:
            check_out(root / g.name, options.force)
        except SpecError as exc:
            records[g.name] = {"group": g.name, "status": "failed", "message": str(exc)}
            continue
        devices = max(1, int(cpus_per_fit))
        tasks.append(GroupTask(g.name, g.data, str(root), options, devices=devices,
                               ship=runner.name == "ray"))  # fmt: skip
    skipped = sum(1 for r in records.values() if r.get("resumed"))
    counts = {"ok": 0, "not_converged": 0, "failed": 0}
    for r in records.values():
        counts[r["status"]] += 1
    running: set[str] = set()

    def status() -> FleetStatus:
        return FleetStatus(len(groups), counts["ok"], counts["not_converged"], counts["failed"],
                           len(running), skipped, time.perf_counter() - t0)  # fmt: skip

    def tell(final: bool = False) -> None:
        if report is stderr_progress:
            stderr_progress(status(), final)
        elif report is not None:
            report(status())

    def started(task: GroupTask) -> None:
        running.add(task.name)
        log(f"start {task.name}")
        tell()

    def retried(task: GroupTask, why: str) -> None:
        running.discard(task.name)
        log(f"retry {task.name}: its worker died ({why})")

    def finished(task: GroupTask, record: dict) -> None:
        running.discard(task.name)
        archive = record.pop("archive", None)
        trace = record.pop("traceback", None)
        if archive is not None:
            try:
                _unpack(archive, root / task.name)
            except (MediamixError, OSError, tarfile.TarError) as exc:
                record.update(status="failed", message=f"cannot write the run folder: {exc}")
        record = {**record, "group": task.name, "attempts": record.pop("attempt", 1),
                  "fingerprint": prints[task.name], "resumed": False}  # fmt: skip
        _write_json(state / f"{task.name}.json", record)
        marker_path(root, task.name).unlink(missing_ok=True)
        records[task.name] = record
        counts[record["status"]] += 1
        for line in record.get("data_warnings") or []:
            log(f"warning {task.name}: {line}")
        if record["status"] == "failed":
            log(f"failed {task.name}: {record.get('message')}")
            if trace:
                log(trace)
        else:
            secs = record.get("fit_seconds")
            took = f" in {secs:.1f} s" if isinstance(secs, int | float) else ""
            log(f"{record['status']} {task.name}{took} (review {record.get('review')})")
        tell()

    log(f"fleet of {len(groups)} groups in {root}: {len(tasks)} to fit, {skipped} already "
        f"done, {len(records) - skipped} refused; engine {runner.name}")  # fmt: skip
    for name, r in records.items():
        if r["status"] == "failed":
            log(f"failed {name}: {r['message']}")
    tell()
    try:
        runner.run(tasks, started, retried, finished)
    except KeyboardInterrupt:
        for t in tasks:
            records.setdefault(t.name, {"group": t.name, "status": "failed",
                                        "message": "interrupted before it finished"})  # fmt: skip
        log("interrupted")
        raise
    finally:
        rows = [_row(g, records[g.name]) for g in groups if g.name in records]
        write_tables(root, rows, by_cols, options.level)
        log.close()
        tell(final=True)
    rows = [_row(g, records[g.name]) for g in groups]
    return FleetResult(root, runner.name, tuple(rows), by_cols, time.perf_counter() - t0)


def _row(group: Group, record: dict[str, Any]) -> dict[str, Any]:
    row = dict(group.key)
    row.update({k: record.get(k) for k in COLUMNS})
    row["resumed"] = bool(record.get("resumed"))
    return row


def write_tables(root: Path, rows: list[dict[str, Any]], by: Sequence[str],
                 level: float) -> None:  # fmt: skip
    """fleet.csv and fleet_roas.csv from the groups' records and their summary.json."""
    import pandas as pd

    cols = [*by, *COLUMNS]
    table = pd.DataFrame(rows, columns=cols)
    table.to_csv(root / FLEET_CSV, index=False)
    roas = []
    for row in rows:
        if row.get("status") not in DONE:
            continue
        summary = _read_json(root / str(row["group"]) / "summary.json") or {}
        for name, ch in (summary.get("channels") or {}).items():
            r, m = ch.get("roas") or {}, ch.get("mroas") or {}
            roas.append({**{b: row[b] for b in by}, "group": row["group"], "channel": name,
                         "status": row["status"], "level": summary.get("level", level),
                         "spend": ch.get("spend"),
                         "contribution": (ch.get("contribution") or {}).get("mean"),
                         "roas": r.get("mean"), "roas_lower": r.get("lower"),
                         "roas_upper": r.get("upper"), "mroas": m.get("mean"),
                         "mroas_lower": m.get("lower"), "mroas_upper": m.get("upper")})  # fmt: skip
    pd.DataFrame(roas, columns=[*by, *ROAS_COLUMNS]).to_csv(root / FLEET_ROAS, index=False)
