"""Runs made elsewhere: a run folder written by `mediamix fit` / `mediamix demo`, or response
curves sent as JSON. Either becomes a finished run the planner can plan with."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mediamix.app.services.planning import check_responses
from mediamix.app.store import Run, Store
from mediamix.jsonable import jsonable

REPORT_FILE = "report.html"  # `mediamix report` writes it into the run folder


def import_responses(
    store: Store,
    name: str,
    responses: list[dict[str, Any]],
    summary: dict[str, Any] | None = None,
) -> Run:
    """A finished run from response curves given directly (`Response.to_dict()` mappings)."""
    check_responses(responses)
    return store.create_run(
        name,
        method="import",
        status="done",
        summary=summary,
        responses=responses,
        message="imported",
    )


def import_run_dir(store: Store, run_dir: Path | str, name: str | None = None) -> Run:
    """Register a run folder (`mediamix.runs.RunDir` layout, any format version) in the store.

    Takes its summary and response curves (`responses.json`, or computed from the saved
    model when the folder has none) and copies `report.html` when present into a new
    server-named run folder. The source folder is left as it is.
    """
    from mediamix.runs import RunDir

    src = Path(run_dir)
    view = RunDir(src).read()
    responses = view.responses
    summary = view.summary
    if summary is None and view.model_dir is not None:
        summary = jsonable(view.fitted.to_json())
    check_responses(responses)
    method = (summary or {}).get("method") or (view.meta or {}).get("method") or "import"
    run = store.create_run(
        name or src.name,
        method=str(method)[:16],
        status="done",
        summary=summary,
        responses=responses,
        message=f"imported from {src.name}",
    )
    if (src / REPORT_FILE).is_file():
        shutil.copyfile(src / REPORT_FILE, run.run_dir / REPORT_FILE)
    return run
