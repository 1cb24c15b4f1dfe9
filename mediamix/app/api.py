"""The JSON API under /api: runs and fit jobs, planning, scenarios.

Every handler is a thin call into :mod:`mediamix.app.services`; errors are the project's
own and become status codes in :mod:`mediamix.app.middleware`. The schema documents every
refusal the server sends (`ERROR_RESPONSES`): ``{"detail": "<what went wrong and the fix>"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from mediamix import __version__
from mediamix.app import services
from mediamix.app.deps import JobsDep, SettingsDep, StoreDep
from mediamix.app.schemas import (
    MAX_ID,
    Comparison,
    CurveOut,
    ErrorOut,
    Health,
    HorizonForm,
    HorizonOut,
    JobOut,
    PlannerForm,
    PlanOut,
    RunImport,
    RunOut,
    RunStarted,
    ScenarioEvent,
    ScenarioIn,
    ScenarioOut,
    ScenarioPatch,
    UploadForm,
    ValidationErrorOut,
)
from mediamix.app.schemas_geo import GeoPlanForm, GeoPlanOut
from mediamix.app.services import fits
from mediamix.app.store import Run
from mediamix.errors import SpecError

MAX_COMPARE = 50

#: what every route may answer besides its success (see `middleware.ERROR_STATUS`)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "refused (unknown Host header, other mistakes)"},
    401: {"model": ErrorOut, "description": "missing or wrong access token"},
    403: {"model": ErrorOut, "description": "cross-origin request refused"},
    404: {"model": ErrorOut, "description": "no such run or scenario"},
    409: {
        "model": ErrorOut,
        "description": "a scenario of that name exists, or the run's status forbids the action"
        " (cancel a finished fit, retry one that is running or done)",
    },
    413: {"model": ErrorOut, "description": "the body is larger than the upload limit"},
    422: {"model": ValidationErrorOut, "description": "the request or its data is invalid"},
}

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

ScenarioId = Annotated[int, Path(ge=1, le=MAX_ID, description=f"a scenario's id (1 to {MAX_ID})")]


def job_view(run: Run) -> dict[str, Any]:
    """A run's job state (what `/api/jobs/{id}` answers)."""
    return {
        "id": run.id,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "done": run.status in ("done", "failed", "cancelled"),
    }


# ---------------------------------------------------------------------------------- meta
@router.get("/health", tags=["meta"], response_model=Health)
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


# ---------------------------------------------------------------------------------- runs
@router.get("/runs", tags=["runs"], response_model=list[RunOut])
def list_runs(store: StoreDep) -> list[dict[str, Any]]:
    return [r.to_dict() for r in store.list_runs()]


@router.get("/runs/{run_id}", tags=["runs"], response_model=RunOut)
def get_run(run_id: str, store: StoreDep) -> dict[str, Any]:
    return store.get_run(run_id).to_dict()


@router.post("/runs", status_code=202, tags=["runs"], response_model=RunStarted)
async def create_run(
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    form: Annotated[UploadForm, Form()],
    file: UploadFile = File(description="CSV with a date, a KPI and spend columns"),
) -> dict[str, Any]:
    """Upload a CSV and start a fit as a background job (poll /api/jobs/{id})."""
    data = await file.read(settings.max_upload_bytes + 1)
    run = await run_in_threadpool(
        services.start_fit,
        store,
        data,
        form.columns(),
        form.method,
        name=form.name or None,
        executor=jobs,
    )
    return {"run": run.to_dict(), "job": job_view(run)}


@router.post("/runs/import", status_code=201, tags=["runs"], response_model=RunOut)
def import_run(body: RunImport, store: StoreDep) -> dict[str, Any]:
    """Make a run from response curves given directly (e.g. from another system)."""
    responses = [r.model_dump(exclude_none=True) for r in body.responses]
    summary = body.summary.model_dump(exclude_unset=True) if body.summary is not None else None
    return services.import_responses(store, body.name, responses, summary).to_dict()


@router.get("/jobs/{run_id}", tags=["runs"], response_model=JobOut)
def job(run_id: str, store: StoreDep) -> dict[str, Any]:
    return job_view(store.get_run(run_id))


@router.post("/runs/{run_id}/cancel", status_code=202, tags=["runs"], response_model=JobOut)
def cancel_run(run_id: str, store: StoreDep) -> dict[str, Any]:
    """Stop a queued or running fit: a queued one is cancelled at once, a running one stops at
    its next chunk of draws or steps and ends "cancelled" (poll /api/jobs/{id}); asking
    again answers the same. 409 for a fit that is done or failed."""
    return job_view(fits.cancel_fit(store, run_id))


@router.post("/runs/{run_id}/retry", status_code=202, tags=["runs"], response_model=RunStarted)
def retry_run(run_id: str, store: StoreDep, jobs: JobsDep) -> dict[str, Any]:
    """Fit a failed or cancelled run again from its stored upload, with the same columns and
    method, as a background job (poll /api/jobs/{id}). 409 for a run that is fitting or done."""
    run = fits.retry_fit(store, run_id, executor=jobs)
    return {"run": run.to_dict(), "job": job_view(run)}


@router.get("/runs/{run_id}/curves", tags=["runs"], response_model=list[CurveOut])
def curves(run_id: str, store: StoreDep) -> list[dict[str, Any]]:
    return services.curve_points(services.run_responses(store.get_run(run_id)))


# ------------------------------------------------------------------------------ planning
@router.post("/runs/{run_id}/optimise", tags=["planning"], response_model=PlanOut)
def optimise(run_id: str, body: PlannerForm, store: StoreDep) -> dict[str, Any]:
    """Solve the allocation problem for the run; returns the problem and the plan."""
    run = store.get_run(run_id)
    problem, plan = services.optimise(run, body)
    rows = services.plan_rows(problem, plan)
    return {"run_id": run.id, "problem": problem, "plan": plan, "rows": rows}


@router.post("/runs/{run_id}/horizon", tags=["planning"], response_model=HorizonOut)
def horizon(run_id: str, body: HorizonForm, store: StoreDep) -> dict[str, Any]:
    """A certified plan for the weeks after the run's data (spend per week and channel, the
    forecast KPI with its band, the marginal return of one more unit in each week)."""
    from mediamix.app.services.planning import horizon_plan

    run = store.get_run(run_id)
    plan, header, rows = horizon_plan(run, body)
    return {"run_id": run.id, "plan": plan, "header": header, "rows": rows}


@router.post("/runs/{run_id}/geo-plan", tags=["planning"], response_model=GeoPlanOut)
def geo_plan(run_id: str, body: GeoPlanForm, store: StoreDep) -> dict[str, Any]:
    """A geo run's certified geo x channel plan (per-geo caps and share bounds, national
    channel totals); the problem and plan as a scenario stores them, ``plan.geo`` the
    breakdown (see `mediamix.app.services.geo`)."""
    from mediamix.app.services.geo import geo_plan as solve_geo_plan

    return solve_geo_plan(store.get_run(run_id), body)


# ----------------------------------------------------------------------------- scenarios
@router.get("/scenarios", tags=["scenarios"], response_model=list[ScenarioOut])
def list_scenarios(store: StoreDep, run_id: str | None = None) -> list[dict[str, Any]]:
    return [s.to_dict() for s in store.list_scenarios(run_id)]


@router.post("/scenarios", status_code=201, tags=["scenarios"], response_model=ScenarioOut)
def save_scenario(body: ScenarioIn, store: StoreDep) -> dict[str, Any]:
    plan = body.plan.model_dump(exclude_unset=True) if body.plan is not None else None
    return store.save_scenario(
        body.run_id, body.name, problem=body.problem.model_dump(exclude_unset=True), plan=plan
    ).to_dict()


def scenario_ids(values: list[str]) -> list[int]:
    """`?ids=1,3`, `?ids=1&ids=3` or both: the ids in order, each once."""
    out: list[int] = []
    for part in (p.strip() for v in values for p in v.split(",")):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= MAX_ID:
            raise SpecError(
                f"ids: {part[:40]!r} is not a scenario id; send ids as whole numbers from 1,"
                " e.g. ?ids=1,3"
            )
        if int(part) not in out:
            out.append(int(part))
    if not out:
        raise SpecError("ids: give the scenarios to compare, e.g. ?ids=1,3")
    if len(out) > MAX_COMPARE:
        raise SpecError(f"ids: {len(out)} scenarios given; compare at most {MAX_COMPARE}")
    return out


@router.get("/scenarios/compare", tags=["scenarios"], response_model=Comparison)
def compare(
    store: StoreDep,
    ids: list[str] = Query(
        min_length=1,
        description="scenario ids, comma-separated (`ids=1,3`) and/or repeated (`ids=1&ids=3`)",
    ),
) -> dict[str, Any]:
    return services.compare_scenarios([store.get_scenario(i) for i in scenario_ids(ids)])


@router.get("/scenarios/{scenario_id}", tags=["scenarios"], response_model=ScenarioOut)
def get_scenario(scenario_id: ScenarioId, store: StoreDep) -> dict[str, Any]:
    return store.get_scenario(scenario_id).to_dict()


@router.get(
    "/scenarios/{scenario_id}/history", tags=["scenarios"], response_model=list[ScenarioEvent]
)
def scenario_history(scenario_id: ScenarioId, store: StoreDep) -> list[dict[str, Any]]:
    """Every create, rename and delete of a scenario, with its time (deleted ones too)."""
    return [e.to_dict() for e in store.scenario_history(scenario_id)]


@router.patch("/scenarios/{scenario_id}", tags=["scenarios"], response_model=ScenarioOut)
def rename_scenario(
    scenario_id: ScenarioId, body: ScenarioPatch, store: StoreDep
) -> dict[str, Any]:
    return store.rename_scenario(scenario_id, body.name).to_dict()


@router.delete("/scenarios/{scenario_id}", status_code=204, tags=["scenarios"])
def delete_scenario(scenario_id: ScenarioId, store: StoreDep) -> Response:
    """Delete a scenario: it leaves the lists; its history stays."""
    store.delete_scenario(scenario_id)
    return Response(status_code=204)


def _attachment(text: str, media_type: str, filename: str) -> Response:
    return PlainTextResponse(
        text,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/scenarios/{scenario_id}/export.csv", tags=["scenarios"])
def export_csv(scenario_id: ScenarioId, store: StoreDep) -> Response:
    scenario = store.get_scenario(scenario_id)
    return _attachment(services.scenario_csv(scenario), "text/csv", f"scenario-{scenario.id}.csv")


@router.get("/scenarios/{scenario_id}/export.yaml", tags=["scenarios"])
def export_yaml(
    scenario_id: ScenarioId,
    store: StoreDep,
    exact: Annotated[
        bool, Query(description="every posterior draw of the curves (default: their means)")
    ] = False,
) -> Response:
    scenario = store.get_scenario(scenario_id)
    return _attachment(
        services.scenario_yaml(scenario, exact=exact),
        "application/yaml",
        f"scenario-{scenario.id}.yaml",
    )
