"""Fit jobs: an upload becomes a queued run, a background job fits it and writes its folder.

- `start_fit(store, csv_bytes, columns, method, ...)` checks the upload, creates the run, keeps
  the CSV in the run's folder and hands `run_fit(store, run_id)` to an executor;
- `run_fit` is the job: progress on the run while it works, then the summary and the fitted
  response curves (or the reason it failed);
- `fit_model` fits the default model and writes the complete run folder (`mediamix.runs`);
- `cancel_fit` asks a job to stop (it ends "cancelled" between two chunks of the sampler),
  `retry_fit` queues a failed or cancelled run again from its stored upload.

A user's mistake (a `MediamixError`) fails the run with its message. Anything else is a bug:
its traceback goes to the server log and the run fails with a short message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from mediamix.app.services.uploads import DATA_FILE, Columns, validate_upload
from mediamix.app.store import RETRYABLE, Run, Store, clean_name
from mediamix.errors import ConflictError, MediamixError
from mediamix.schemas import FIT_METHODS, choice

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: sampler options per method for the web's fits (empty: the sampler's defaults)
FIT_OPTIONS: dict[str, dict[str, Any]] = {"nuts": {}, "svi": {}, "map": {}}

FIT_START, FIT_END = 0.1, 0.85  # the job's progress bar while the sampler runs


def start_fit(
    store: Store,
    csv_bytes: bytes,
    columns: Columns | dict[str, Any],
    method: str,
    *,
    name: str | None = None,
    executor: Executor | None = None,
) -> Run:
    """Validate the upload, create a queued run holding it, and start the fit job.

    With `executor` the job runs in the background and this returns at once; without, the
    job runs before returning. The CSV is written as `<run_dir>/data.csv`; the file name the
    user uploaded is never used.
    """
    if not isinstance(columns, Columns):
        columns = Columns.from_dict(columns)
    choice(method, FIT_METHODS, "method")
    validate_upload(csv_bytes, columns)
    run = store.create_run(
        clean_name(name or f"{columns.kpi} model", "run name"),
        method=method,
        columns=columns.to_dict(),
        message="queued",
    )
    (run.run_dir / DATA_FILE).write_bytes(csv_bytes)
    if executor is None:
        run_fit(store, run.id)
    else:
        executor.submit(run_fit, store, run.id)
    return store.get_run(run.id)


class FitCancelled(Exception):
    """Raised by a job's progress callback when a cancel was asked for: the fit stops between
    two chunks of draws or steps, before anything of the run folder is written."""


def run_fit(store: Store, run_id: str, fit: Callable | None = None) -> None:
    """The fit job: data -> model -> summary and responses on the run; never raises.

    `fit(dataset, method, run_dir, progress)` returns `(summary, responses)`; the default
    is `fit_model`. A failure is stored as the run's message (status "failed"); it touches
    nothing else in the store, so saved scenarios stay as they are. A cancel asked for while
    it runs (`Store.request_cancel`) stops it at its next progress update: status
    "cancelled", the run folder as it was (it is written whole or not at all).
    """
    fit = fit or fit_model
    state = {"fraction": 0.0, "message": ""}

    def progress(fraction: float, message: str) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        run = store.update_run(run_id, progress=fraction, message=message)
        state.update(fraction=fraction, message=message)
        if run.status == "cancelling":
            raise FitCancelled

    try:
        if store.start_job(run_id) is None:  # cancelled (or taken) before it started
            _cancel_if_asked(store, run_id, "cancelled before the fit started; retry to fit it")
            return
        run = store.update_run(run_id, progress=0.02, message="reading the data")
        columns = Columns.from_dict(run.columns or {})
        dataset = validate_upload((run.run_dir / DATA_FILE).read_bytes(), columns)
        progress(0.1, f"fitting ({run.method})")
        summary, responses = fit(dataset, run.method, run.run_dir, progress)
        finished = store.finish_job(
            run_id,
            progress=1.0,
            message=done_message(summary),
            summary=summary,
            responses=responses,
        )
        if finished is None:  # the cancel came while the folder was being written
            _cancel_if_asked(
                store,
                run_id,
                "cancelled as the fit finished; its results are not used; retry to fit again",
            )
    except FitCancelled:
        where = state["message"].removeprefix("fitting ").strip() or "the fit"
        logger.info("fit of run %s cancelled", run_id)
        _cancel_if_asked(
            store,
            run_id,
            f"cancelled at {state['fraction']:.0%} ({where}); nothing was written; retry to"
            " fit it again",
        )
    except MediamixError as exc:  # the user's data or settings: the message says what to fix
        logger.info("fit of run %s failed: %s", run_id, exc)
        _fail(store, run_id, str(exc))
    except Exception as exc:  # a bug: keep the server alive, the traceback in the log
        logger.exception("fit of run %s crashed", run_id)
        _fail(
            store,
            run_id,
            f"the fit failed unexpectedly ({type(exc).__name__}); the server log has the details",
        )


def _cancel_if_asked(store: Store, run_id: str, message: str) -> None:
    try:
        run = store.get_run(run_id)
        if run.status == "cancelling":
            store.cancelled(run_id, message)
    except Exception:  # the run is gone or the database is down: nothing left to mark
        logger.exception("could not mark run %s as cancelled", run_id)


def cancel_fit(store: Store, run_id: str) -> Run:
    """Ask the run's fit job to stop (`Store.request_cancel`): a queued job is cancelled at
    once, a running one stops at its next chunk. A finished run: ConflictError."""
    return store.request_cancel(run_id)


def retry_fit(store: Store, run_id: str, *, executor: Executor | None = None) -> Run:
    """Queue a failed or cancelled run again from its stored upload (`data.csv` in the run
    folder), with the same columns and method; runs like `start_fit` (in the background with
    `executor`). Another status, or a run without its upload: ConflictError."""
    run = store.get_run(run_id)
    if run.status in RETRYABLE and not (run.run_dir / DATA_FILE).is_file():
        raise ConflictError(
            f"run {run.name!r} has no stored upload ({DATA_FILE}) to fit again; upload the"
            " data again as a new run"
        )
    run = store.requeue_run(run_id)
    if executor is None:
        run_fit(store, run.id)
    else:
        executor.submit(run_fit, store, run.id)
    return store.get_run(run.id)


def done_message(summary: dict | None) -> str:
    """The message of a finished fit: "done" and the model review's verdict, so a fit that
    failed its review or did not converge never reads as plainly done."""
    review = (summary or {}).get("review")
    if not review:
        return "done"
    return f"done; model review: {review.get('label') or review.get('verdict')}"


def _fail(store: Store, run_id: str, message: str) -> None:
    try:
        store.update_run(run_id, status="failed", message=message)
    except Exception:  # the run is gone or the database is down: nothing left to mark
        logger.exception("could not mark run %s as failed", run_id)


def fit_model(dataset, method: str, run_dir: Path, progress: Progress):
    """Fit the default model on `dataset` and write the complete run folder in `run_dir`;
    returns `(summary, responses)` (summary.json and responses.json of the folder)."""
    from mediamix.estimator import MMM
    from mediamix.model import ModelSpec
    from mediamix.runs import RunDir

    options = dict(FIT_OPTIONS.get(method) or {})
    # every sampler reports after each compiled chunk of draws or optimiser steps
    options["progress"] = sampler_progress(progress, method)
    fitted = MMM(ModelSpec()).fit(dataset, method=method, **options)
    progress(FIT_END, "writing the run folder")
    folder = RunDir(run_dir)
    summary = folder.write(fitted)
    return summary, folder.read().responses


def sampler_progress(progress: Progress, method: str = "nuts"):
    """The sampler's progress (`mediamix.inference.nuts.SamplerProgress` for NUTS,
    `mediamix.inference.progress.OptimiserProgress` for SVI and MAP) as the job's bar:
    FIT_START..FIT_END, the message naming the phase, the draws or steps and the time left."""
    label = method.upper()

    def report(p) -> None:
        progress(FIT_START + (FIT_END - FIT_START) * p.fraction, f"fitting ({label}): {p.line()}")

    return report


def spend_range(folder) -> dict[str, dict[str, float]] | None:
    """Per channel, the lowest, mean and highest spend per period the model was fitted on
    (the planner warns when a plan goes outside it); None when the folder has no saved data."""
    try:
        data = folder.read().data
    except (MediamixError, OSError, KeyError, ValueError):
        return None
    if data is None:
        return None
    spend = data.spend[: data.n_train]
    return {
        name: {"min": float(col.min()), "mean": float(col.mean()), "max": float(col.max())}
        for name, col in zip(data.channel_names, spend.T, strict=True)
    }
