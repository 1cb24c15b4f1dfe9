"""The run folder and the saved-model folder: file names, format version, reading and writing.

This module (with :mod:`mediamix.runs.rundir`) is the only place that knows where the files of a
run live. It imports nothing above the base layer, so the estimator can use it to save and load
a model folder and the run folder can be read without JAX.

A run folder (format 2)::

    RUN/
      meta.json             {"format_version": 2, "kind": "mediamix-run", "mediamix": ...,
                             "created": ..., "files": [...]}; written last (marks a complete run)
      summary.json          channel ROAS / mROAS / contribution with intervals, diagnostics
      summary.csv           the same per channel, as a table
      model/                the saved model (see below)
      contributions.csv     date, component, mean, lower, upper, kpi, train
      fit.csv               date, actual, mean, lower, upper, train (predictive band)
      response_curves.csv   channel, spend, mean, lower, upper, current
      geo_summary.csv       a geo fit's ROAS / mROAS / contribution per geo and channel
      adstock_curves.csv    channel, lag, mean, lower, upper
      responses.json        [Response.to_dict(), ...]: the optimizer's input
      data_checks.json      the data checks (``mediamix check --format json``)
      plan.json             Plan.to_dict() of a budget plan (optional)
      validation.json       the validation battery (``mediamix validate``; optional)
      test_design.json      the experiment designer's ranking (``mediamix design-test``; optional)

A saved model folder::

    model/
      posterior.nc          ArviZ InferenceData (netCDF)
      spec.yaml             the ModelSpec
      scalers.json          KPI, media and control scalers
      data.npz              the data the model was fitted on (original units)
      meta.json             format_version, method, fit seconds, training periods, diagnostics

Format 1 is the layout before the version was recorded: no run-level ``meta.json``, the model
either in ``model/`` or in the run folder itself, and ``fit.csv`` / ``responses.json`` /
``data_checks.json`` possibly missing. Such folders are read as they are (missing tables are
recomputed from the model) and :meth:`mediamix.runs.RunDir.migrate` writes what is missing.

Complete folders, never half-written (:class:`Staging`): a writer puts every file into a hidden
sibling ``.RUN.partial-PID-START-XXXX`` (the writer's process id and start time) that holds the
marker file ``.mediamix-partial`` while it is written; ``meta.json`` (the completeness marker)
comes last. Only then is the marker removed and the staged folder swapped in for ``RUN`` in one
step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, the old folder parked as
``.RUN.old-XXXX`` in between); the old folder, now under the staging name, is deleted. The new
folder replaces the old one whole: files of the run (:data:`RUN_FILES`, ``report.html`` and a
format-1 model at the root) that the new write does not produce are gone, so no stale
``plan.json`` or ``validation.json`` survives; files the layout does not know (an uploaded
``data.csv``) are carried over. A failure or an interrupt before the swap leaves ``RUN`` as it
was. A writer killed outright leaves its staging folder behind (with or without the marker);
the next writer of ``RUN`` removes it once the process of its name has ended: no such process,
a zombie, or a later process given the same id (another start time).

Reading (:meth:`mediamix.runs.RunDir.read`) refuses, with the folder and the fix: a folder that
holds ``.mediamix-partial`` (an unfinished write, e.g. a staging folder copied elsewhere), a
damaged run ``meta.json``, and a missing ``RUN`` whose ``.RUN.old-*`` sibling shows that a swap
was cut short. A folder without ``meta.json`` is read as format 1: folders written before the
version was recorded stay readable (the staged writer never leaves such a folder behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError

FORMAT_VERSION = 2

META = "meta.json"
SUMMARY = "summary.json"
SUMMARY_CSV = "summary.csv"
MODEL_DIR = "model"
CONTRIBUTIONS = "contributions.csv"
FIT = "fit.csv"
RESPONSE_CURVES = "response_curves.csv"
ADSTOCK_CURVES = "adstock_curves.csv"
RESPONSES = "responses.json"
CHECKS = "data_checks.json"
PLAN = "plan.json"
VALIDATION = "validation.json"
TEST_DESIGN = "test_design.json"
GEO_SUMMARY = "geo_summary.csv"  # a geo fit: geo, channel, role, spend, metric mean/lower/upper

#: tables by name -> file
TABLES = {
    "contributions": CONTRIBUTIONS,
    "fit": FIT,
    "response_curves": RESPONSE_CURVES,
    "adstock_curves": ADSTOCK_CURVES,
    "geo_summary": GEO_SUMMARY,
}

POSTERIOR = "posterior.nc"
SPEC = "spec.yaml"
SCALERS = "scalers.json"
DATA = "data.npz"
MODEL_FILES = (POSTERIOR, SPEC, SCALERS, DATA, META)

REPORT = "report.html"  # `mediamix report` writes it into the run folder by default
#: every file a run folder may hold that belongs to the run (written by `mediamix fit`, a plan,
#: `mediamix validate`, `mediamix design-test`)
RUN_FILES = (META, SUMMARY, SUMMARY_CSV, MODEL_DIR, *TABLES.values(), RESPONSES, CHECKS, PLAN,
             VALIDATION, TEST_DESIGN)  # fmt: skip
#: what a rewrite of the folder replaces: the run's files, the report made from them and the
#: model files of a format-1 folder that kept its model at the root
REPLACED = frozenset(RUN_FILES) | {REPORT} | set(MODEL_FILES)
#: the marker of a folder that is still being written (removed just before it is moved in)
PARTIAL = ".mediamix-partial"


REFIT = "fit it again (`mediamix fit DATA --out RUN_DIR --force`)"


def damaged(path: Path, what: str, fix: str = REFIT) -> SpecError:
    """The error for a damaged file of a run: which file, what is wrong, and the fix."""
    return SpecError(f"'{path}' is damaged ({what}). Fix: {fix}")


def read_json(path: Path, fix: str = "re-create it or remove it") -> Any:
    """A JSON file, with a clear error when it is damaged."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise damaged(path, f"not valid JSON: {exc}", fix) from None


def write_json(path: Path, value: Any) -> None:
    """Strict JSON (no NaN), indented, with a trailing newline; written to a hidden file next
    to ``path`` and renamed over it, so a reader never sees half a file."""
    path = Path(path)
    text = json.dumps(value, indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # as a plain write would leave it (mkstemp makes it private)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_model_dir(path: Path) -> bool:
    return all((Path(path) / f).is_file() for f in MODEL_FILES)


def find_model_dir(run: Path) -> Path | None:
    """The saved-model folder of a run: ``RUN/model`` (format 2) or ``RUN`` itself (format 1)."""
    for cand in (Path(run) / MODEL_DIR, Path(run)):
        if is_model_dir(cand):
            return cand
    return None


def run_format(run: Path) -> int:
    """The format version of a run folder (1 when it predates the version record); a damaged
    run ``meta.json`` is an error naming it."""
    meta = Path(run) / META
    if meta.is_file() and not is_model_dir(run):
        got = read_json(meta, fix=f"{REFIT}; a folder written before format 2 has no meta.json")
        version = got.get("format_version") if isinstance(got, dict) else None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise damaged(meta, "not the meta.json of a run folder: no integer 'format_version'")
        if version > FORMAT_VERSION:
            raise SpecError(
                f"'{run}' is a run folder of format {version}, newer than this mediamix reads "
                f"({FORMAT_VERSION}). Fix: upgrade mediamix"
            )
        return version
    return 1


# ---- the saved model -------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFiles:
    """The parts of a saved model as plain values (``idata`` loaded on demand)."""

    path: Path
    spec_text: str
    scalers: dict[str, Any]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def idata(self):
        import arviz as az

        path = self.path / POSTERIOR
        try:
            idata = az.from_netcdf(str(path))
            if hasattr(idata, "load"):
                idata.load()
        except Exception as exc:  # truncated or not netCDF: h5py/netCDF4/xarray errors vary
            raise damaged(path, f"the posterior draws cannot be read: {type(exc).__name__}: "
                          f"{_first_line(exc)}") from None  # fmt: skip
        if not getattr(idata, "posterior", None):
            raise damaged(path, "it holds no posterior group")
        return idata


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_model(path: Path, idata, spec_text: str, scalers: dict, arrays: dict, meta: dict) -> Path:
    """Write a saved-model folder (module docstring); the meta gets the format version."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    idata.to_netcdf(str(p / POSTERIOR))
    (p / SPEC).write_text(spec_text, encoding="utf-8")
    (p / SCALERS).write_text(json.dumps(scalers, indent=1), encoding="utf-8")
    np.savez(p / DATA, **arrays)
    (p / META).write_text(
        json.dumps({"format_version": FORMAT_VERSION, **meta}, indent=1), encoding="utf-8"
    )
    return p


#: the arrays every saved model's data.npz holds
DATA_ARRAYS = ("dates", "kpi", "spend")


def read_model_data(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Only the fitted data arrays and the meta of a saved model (no posterior, no spec);
    damaged files are an error naming the file and the fix."""
    p = Path(path)
    meta = read_model_meta(p)
    try:
        with np.load(p / DATA, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # not a zip, truncated, pickled objects: numpy's errors vary
        what = "pickled objects, which are never loaded" if "pickle" in str(exc) else (
            f"{type(exc).__name__}: {_first_line(exc)}")  # fmt: skip
        raise damaged(
            p / DATA, f"not a readable NumPy .npz archive of the fitted data: {what}"
        ) from None
    missing = [k for k in DATA_ARRAYS if k not in arrays]
    if missing:
        raise damaged(p / DATA, f"the arrays {missing} are missing")
    n = len(arrays["kpi"])
    if arrays["spend"].ndim != 2 or len(arrays["spend"]) != n or len(arrays["dates"]) != n:
        raise damaged(p / DATA, "kpi, spend and dates disagree in length or shape")
    return arrays, meta


def read_model_meta(path: Path) -> dict[str, Any]:
    """The meta.json of a saved model, checked for the keys a model needs."""
    p = Path(path) / META
    meta = read_json(p, fix=REFIT)
    if not isinstance(meta, dict):
        raise damaged(p, f"expected a JSON object, got {type(meta).__name__}")
    if "n_train" not in meta:
        raise damaged(p, "the key 'n_train' is missing")
    n_train = meta["n_train"]
    if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
        raise damaged(p, f"'n_train' must be a positive integer (got {n_train!r})")
    if not isinstance(meta.get("data", {}), dict):
        raise damaged(p, "'data' must be a JSON object")
    return meta


def read_model(path: Path) -> ModelFiles:
    """Read a saved-model folder (format 1 or 2) without building the model."""
    p = Path(path)
    for f in MODEL_FILES:
        if not (p / f).exists():
            raise SpecError(f"'{p}' is not a saved model folder: '{f}' is missing")
    arrays, meta = read_model_data(p)
    try:
        spec_text = (p / SPEC).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise damaged(p / SPEC, f"not UTF-8 text: {exc}") from None
    scalers = read_json(p / SCALERS, fix=REFIT)
    if not isinstance(scalers, dict):
        raise damaged(p / SCALERS, f"expected a JSON object, got {type(scalers).__name__}")
    return ModelFiles(path=p, spec_text=spec_text, scalers=scalers, arrays=arrays, meta=meta)


# ---- complete folders, never half-written -------------------------------------------------
class InterruptedAfterWrite(KeyboardInterrupt):
    """Ctrl+C (or SIGTERM) arrived while a finished folder was being moved into place; the move
    was completed first, so the folder at the target is the complete new one."""


#: the signals that arrived while `interrupts_recorded` was in force
_interrupts: list[int] = []


def _record_interrupt(signum, frame) -> None:
    _interrupts.append(signum)
    raise KeyboardInterrupt


def _quiet_unraisable(previous):
    """An unraisable-exception hook that drops a recorded interrupt's KeyboardInterrupt (raised
    inside a garbage-collector or weak-reference callback, which Python ignores and would print
    with its traceback; `check_interrupt` raises it again) and hands the rest to ``previous``."""

    def hook(unraisable) -> None:
        if not (_interrupts and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous(unraisable)

    return hook


@contextlib.contextmanager
def interrupts_recorded():
    """SIGINT and SIGTERM raise KeyboardInterrupt while the block runs, and are recorded (main
    thread only). Library code may swallow that exception (a bare ``except:`` around a call
    that returned just as the signal came; a garbage-collector callback, where Python ignores
    it), and the work would go on; `check_interrupt` raises it again at the next safe point:
    each progress report of the command line's fits, and `Staging` before it starts and before
    it swaps a folder in, so a stopped command never writes its folder."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    old = {}
    hook = sys.unraisablehook
    try:
        sys.unraisablehook = _quiet_unraisable(hook)
        for sig in sigs:
            old[sig] = signal.signal(sig, _record_interrupt)
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook
        if old.get(signal.SIGINT) is not _record_interrupt:  # the outermost block
            _interrupts.clear()


def check_interrupt() -> None:
    """Raise KeyboardInterrupt when a signal recorded by `interrupts_recorded` has arrived
    (whatever became of the exception it raised)."""
    if _interrupts:
        raise KeyboardInterrupt


class Staging:
    """Write a folder's files into a hidden sibling, then swap it in for the target at once.

    The new folder replaces the target whole (module docstring): files in :data:`REPLACED` that
    the staging did not write are dropped, unless named in ``keep``; files the layout does not
    know (an uploaded ``data.csv``) are carried over. When writing fails or is interrupted the
    target is left as it was, also when a signal recorded by `interrupts_recorded` arrived
    while it was written (its exception swallowed on the way). SIGINT / SIGTERM arriving during
    the swap itself (in the main thread) wait until it is done and are then raised as
    `InterruptedAfterWrite`.
    """

    def __init__(self, target: Path, keep: tuple[str, ...] | frozenset[str] = ()) -> None:
        target = Path(target)
        # a link to a run folder (runs/latest): the folder it points to is replaced, the link stays
        self.target = target.resolve() if target.is_symlink() else target
        self.keep = frozenset(keep)

    def __enter__(self) -> Path:
        if self.target.exists() and not self.target.is_dir():
            raise SpecError(f"'{self.target}' is a file, not a folder; give another folder")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        check_interrupt()
        _remove_stale_stagings(self.target)
        self.dir = Path(
            tempfile.mkdtemp(prefix=_staging_prefix(self.target), dir=self.target.parent)
        )
        (self.dir / PARTIAL).write_text(f"unfinished write of {self.target}\n", encoding="utf-8")
        return self.dir

    def __exit__(self, exc_type, exc, tb) -> None:
        with _signals_held() as held:
            try:
                if exc_type is None:
                    check_interrupt()  # stopped while it was written: the target stays
                    self._commit()
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)
        if held and exc_type is None:
            raise InterruptedAfterWrite()

    def _commit(self) -> None:
        staged = {e.name for e in self.dir.iterdir()}
        if self.target.is_dir():
            for entry in self.target.iterdir():
                if entry.name in staged or (entry.name in REPLACED and entry.name not in self.keep):
                    continue
                _link_tree(entry, self.dir / entry.name)
        (self.dir / PARTIAL).unlink()
        if self.target.is_dir():
            _exchange(self.dir, self.target)  # self.dir now holds the old folder
        else:
            os.rename(self.dir, self.target)


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (else copy) a file or folder of the old target into the staging folder."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_file)
    else:
        _link_file(src, dst)


def _link_file(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _exchange(new: Path, target: Path) -> None:
    """Swap two folders: one atomic ``renameat2(RENAME_EXCHANGE)`` where the system has it,
    else the target is parked as ``.NAME.old-XXXX`` while ``new`` takes its name."""
    if _renameat2_exchange(new, target):
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    aside.rmdir()
    os.rename(target, aside)
    os.rename(new, target)
    os.rename(aside, new)


def _renameat2_exchange(a: Path, b: Path) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False  # the file system cannot exchange: use the two renames
    raise OSError(err, os.strerror(err), str(b))


def _staging_prefix(target: Path) -> str:
    """``.NAME.partial-PID-START-``: the writer's process id and, where the system tells it,
    the process's start time (clock ticks since boot), so that a later process given the same
    id is not taken for the writer."""
    pid = os.getpid()
    start = _process_state(pid)
    return f".{target.name}.partial-{pid}-" + (f"{start[1]}-" if start else "")


def _remove_stale_stagings(target: Path) -> None:
    """Staging folders of ``target`` left by a process that no longer runs (killed hard).

    The folder's name alone says whose it is: a writer killed at any moment leaves it, with or
    without the marker file (killed before the marker was written, or after the swap while
    the old folder it then holds was being deleted)."""
    prefix = f".{target.name}.partial-"
    for cand in target.parent.glob(prefix + "*"):
        parts = cand.name[len(prefix) :].split("-")
        if not parts[0].isdigit() or not cand.is_dir() or cand.is_symlink():
            continue
        start = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        if not _writer_alive(int(parts[0]), start):
            shutil.rmtree(cand, ignore_errors=True)


def _process_state(pid: int) -> tuple[str, int] | None:
    """``(state, start time in clock ticks since boot)`` of process ``pid`` from Linux's
    ``/proc`` (state ``Z``: exited, not yet reaped by its parent); None when there is no such
    process or no ``/proc``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 1 :].split()  # the command name may hold spaces and ')'
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _writer_alive(pid: int, start: int | None) -> bool:
    """Whether the process that named a staging folder still runs: a process with that id
    exists and, where ``/proc`` tells (Linux), it is not a zombie (dead, its parent has not
    reaped it yet) and it started when the writer did (``start``; an id reused by a later
    process is not the writer). A process whose state cannot be read counts as running."""
    if not _alive(pid):
        return False
    state = _process_state(pid)
    if state is None:
        return True
    return state[0] not in ("Z", "X", "x") and (start is None or state[1] == start)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def parked(target: Path) -> list[Path]:
    """Old folders of ``target`` parked by a swap that was cut short (see `_exchange`)."""
    return sorted(Path(target).parent.glob(f".{Path(target).name}.old-*"))


@contextlib.contextmanager
def _signals_held():
    """SIGINT / SIGTERM wait until the block is done (main thread only); yields the list of
    the signals that arrived."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    sigs = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    old = {}
    try:
        for sig in sigs:
            old[sig] = signal.signal(sig, lambda signum, frame: held.append(signum))
        yield held
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
