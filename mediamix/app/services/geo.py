"""Per-geo plans for a geo run: the geo form -> `mediamix.optimize.geo` -> the breakdown.

A run is a geo run when its folder holds per-geo response curves: ``geo_responses.json``
(``{geo: [Response mapping, ...]}``, copied there when a geo run folder is registered, see
`copy_geo_responses`), or the ``geo_responses`` of the folder's own ``responses.json`` (a
run folder written in place by ``RunDir.write_geo``). The national planner keeps planning
such a run with its national curves; this module adds the geo x channel plan:

- `geo_defaults(run)`: what the page's geo form starts from (geos, channels, today's spend
  per geo and channel, per-geo totals and shares), None for a national run;
- `geo_plan(run, form)`: `geo_problem` + `solve_geo` for the form (`GeoPlanForm`), answered
  as a scenario stores it: the problem (``kind: geo``, the cells ``"<geo>/<channel>"`` with
  today's spend, the rules as the ``geo`` section of a geo plan file, each cell's bounds
  from ``relative_bound``: +-50% of today's spend by default on the page) and the plan (the
  certified plan over the cells, with ``plan.geo`` = `GeoPlan.to_dict` less its nested plan).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediamix.app.schemas_geo import GeoPlanForm
from mediamix.app.services.planning import DEFAULT_RELATIVE_BOUND
from mediamix.app.store import Run
from mediamix.errors import SpecError
from mediamix.jsonable import jsonable
from mediamix.schemas import validate

GEO_RESPONSES_FILE = "geo_responses.json"  # in a run's folder: {geo: [Response mapping, ...]}
RESPONSES_FILE = "responses.json"
GEO_KEY = "geo_responses"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_geo_responses(folder: Path) -> dict[str, list[dict[str, Any]]] | None:
    """The per-geo curves a run folder holds, ``{geo: [Response mapping, ...]}``, or None."""
    folder = Path(folder)
    got = (
        _read_json(folder / GEO_RESPONSES_FILE) if (folder / GEO_RESPONSES_FILE).is_file() else None
    )
    if got is None and (folder / RESPONSES_FILE).is_file():
        whole = _read_json(folder / RESPONSES_FILE)
        got = whole.get(GEO_KEY) if isinstance(whole, Mapping) else None
    if isinstance(got, list):  # records with a 'geo' key
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rec in got:
            if isinstance(rec, Mapping) and "geo" in rec:
                grouped.setdefault(str(rec["geo"]), []).append(
                    {k: v for k, v in rec.items() if k != "geo"}
                )
        got = grouped
    if not isinstance(got, Mapping) or not got:
        return None
    return {str(g): list(rs) for g, rs in got.items() if isinstance(rs, list) and rs}


def copy_geo_responses(src: Path, dest: Path) -> None:
    """Copy a geo run folder's per-geo curves into a registered run's folder (nothing for a
    national folder)."""
    got = read_geo_responses(src)
    if got:
        (Path(dest) / GEO_RESPONSES_FILE).write_text(json.dumps(got), encoding="utf-8")


def run_geo_responses(run: Run) -> dict[str, list[dict[str, Any]]]:
    """The run's per-geo curves, or a clear error for a national run or an unfinished one."""
    if run.status != "done":
        raise SpecError(f"run {run.name!r} is {run.status}; plan with a finished run")
    got = read_geo_responses(run.run_dir)
    if not got:
        raise SpecError(
            f"run {run.name!r} has no per-geo response curves: it is a national run (plan it "
            "with the national planner), or a geo run folder written before per-geo curves; "
            "fit the panel with `mediamix fit DATA --geo COL` and import that folder"
        )
    return got


def geo_defaults(run: Run | None) -> dict[str, Any] | None:
    """What the geo form starts from, or None for a run without per-geo curves: ``geos``
    (``{name, current, share}``: today's spend per period over the geo's channels and its
    share of the total), ``channels`` (``{name, current}``: national per period),
    ``current`` (``{geo: {channel: spend}}``), ``budget`` (today's total)."""
    if run is None or run.status != "done":
        return None
    got = read_geo_responses(run.run_dir)
    if not got:
        return None
    channels: list[str] = []
    current: dict[str, dict[str, float | None]] = {}
    for g, rs in got.items():
        current[g] = {}
        for r in rs:
            name = str(r.get("name"))
            if name not in channels:
                channels.append(name)
            ref = r.get("reference_spend")
            current[g][name] = float(ref) if isinstance(ref, int | float) else None
    totals = {g: sum(v for v in row.values() if v is not None) for g, row in current.items()}
    total = sum(totals.values())
    return {
        "geos": [
            {"name": g, "current": totals[g], "share": totals[g] / total if total else None}
            for g in got
        ],  # fmt: skip
        "channels": [
            {"name": c, "current": sum((current[g].get(c) or 0.0) for g in got)} for c in channels
        ],
        "current": current,
        "budget": total,
        "relative_bound": DEFAULT_RELATIVE_BOUND,
    }


def geo_form(form: GeoPlanForm | Mapping[str, Any]) -> GeoPlanForm:
    """The form as its schema (a mapping is checked, with the key path in the error)."""
    return form if isinstance(form, GeoPlanForm) else validate(GeoPlanForm, form, "form")


def cell_bounds(responses: Mapping[str, Any], relative: float | None) -> dict[str, tuple]:
    """``{"<geo>/<channel>": (lo, hi)}``: each cell within +- ``relative`` of its spend today
    (``reference_spend``); cells without spend today, or ``relative`` None, are left free."""
    if relative is None:
        return {}
    out = {}
    for g, curves in responses.items():
        for r in curves:
            ref = r.reference_spend
            if ref is not None and ref > 0:
                out[f"{g}/{r.name}"] = (max(0.0, ref * (1 - relative)), ref * (1 + relative))
    return out


def geo_plan(run: Run, form: GeoPlanForm | Mapping[str, Any]) -> dict[str, Any]:
    """Solve the geo plan of ``form`` for ``run``; ``{run_id, problem, plan}`` (see the
    module docstring). Errors: the form's (key path), the problem's (geo, rule and fix),
    an infeasible plan's (the rules in conflict)."""
    from mediamix.optimize.geo import geo_problem, geo_responses_from_records, solve_geo

    form = geo_form(form)
    responses = geo_responses_from_records(run_geo_responses(run), "the run's geo_responses")
    bounds = cell_bounds(responses, form.relative_bound)
    problem = geo_problem(
        responses,
        form.budget,
        bounds=bounds or None,
        channel_bounds=dict(form.channel_bounds) or None,
        geo_caps=dict(form.geo_caps) or None,
        geo_share=dict(form.geo_share) or None,
        share_of=form.share_of,
    )
    result = solve_geo(problem)
    geo = result.to_dict()
    plan = dict(geo.pop("plan"))
    plan["geo"] = geo
    cells = [{"name": c.name, "reference_spend": c.response.reference_spend}
             for c in problem.channels]  # fmt: skip
    rules = form.rules()
    if bounds:
        rules["bounds"] = {k: list(v) for k, v in bounds.items()}
    scenario_problem = {
        "kind": "geo",
        "budget": problem.budget,
        "objective": problem.objective,
        "relative_bound": form.relative_bound,
        "channels": cells,
        "geo": rules,
    }
    return jsonable({"run_id": run.id, "problem": scenario_problem, "plan": plan})
