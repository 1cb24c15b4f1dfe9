"""Runs made elsewhere: a run folder written by `mediamix fit` / `mediamix demo`, or response
curves sent as JSON. Either becomes a finished run the planner can plan with."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from mediamix.app.services.planning import check_responses
from mediamix.app.store import Run, Store
from mediamix.errors import SpecError
from mediamix.jsonable import jsonable
from mediamix.runs.layout import VALIDATION as VALIDATION_FILE

REPORT_FILE = "report.html"  # `mediamix report` writes it into the run folder


def import_responses(
    store: Store,
    name: str,
    responses: list[dict[str, Any]],
    summary: dict[str, Any] | None = None,
) -> Run:
    """A finished run from response curves given directly (`Response.to_dict()` mappings);
    each curve must rise with spend (`check_rising`) and its KPI value be > 0."""
    check_responses(responses)
    check_rising(responses)
    return store.create_run(
        name,
        method="import",
        status="done",
        summary=summary,
        responses=responses,
        message="imported",
    )


def check_rising(responses: list[dict[str, Any]], points: int = 21) -> None:
    """Refuse a curve that falls as spend grows (a sign slip such as ``a: -2``) or that gives
    no finite KPI, naming the channel, the spends and the KPI at each; and a KPI value <= 0."""
    import numpy as np

    from mediamix.optimize.response import Response

    for d in responses:
        value = d.get("kpi_value", 1.0)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise SpecError(f"channel {d.get('name')!r}: kpi_value must be > 0 (got {value!r})")
        r = Response.from_dict(d)
        top = float(r.plot_range())
        top = top if math.isfinite(top) and top > 0 else 1.0
        spend = np.linspace(0.0, top, points)
        kpi = np.asarray(r.mean(spend), dtype=float)
        if not np.all(np.isfinite(kpi)):
            raise SpecError(
                f"channel {r.name!r}: the response curve gives no finite KPI between spend 0"
                f" and {top:.4g}; check its parameters {dict(d.get('params') or {})}"
            )
        drop = np.diff(kpi) < -1e-9 * max(1.0, float(np.abs(kpi).max()))
        if drop.any():
            i = int(np.argmax(drop))
            raise SpecError(
                f"channel {r.name!r}: the response curve falls as spend grows (KPI"
                f" {kpi[i]:.4g} at spend {spend[i]:.4g}, {kpi[i + 1]:.4g} at {spend[i + 1]:.4g});"
                f" a media response must rise with spend: check the sign of its parameters"
                f" {dict(d.get('params') or {})}"
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
    copy_run_extras(src, run.run_dir)
    return run


def copy_run_extras(src: Path, dest: Path) -> None:
    """What the planner shows beside a run's curves, copied from its folder: the report, the
    validation battery (`validation.json`) and the spend range the model was fitted on
    (`spend_range.json`: the planner warns when a plan goes outside it) and a geo run's
    per-geo curves (`geo_responses.json`)."""
    import json

    from mediamix.app.services.fits import spend_range
    from mediamix.app.services.geo import copy_geo_responses
    from mediamix.app.services.planning import SPEND_RANGE_FILE
    from mediamix.runs import RunDir

    for name in (REPORT_FILE, VALIDATION_FILE):
        if (src / name).is_file():
            shutil.copyfile(src / name, dest / name)
    ranges = spend_range(RunDir(src))
    if ranges:
        (dest / SPEND_RANGE_FILE).write_text(json.dumps(ranges), encoding="utf-8")
    copy_geo_responses(src, dest)  # a geo run's per-geo curves (the planner's geo breakdown)
