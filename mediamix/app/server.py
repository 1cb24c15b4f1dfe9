"""The web planner: a JSON API under /api and server-rendered pages (Runs, Planner, Scenarios).

`create_app(store, token=..., ...)` builds the FastAPI application. Safe by default:
- with a token, every request must carry `Authorization: Bearer <token>` (pages may use the
  cookie set by `/login?token=...`, SameSite=Strict); without one the server is meant for
  127.0.0.1 only (`mediamix serve` refuses other hosts without a token);
- `allowed_hosts` rejects requests for other Host names (DNS rebinding) and a state-changing
  request from another origin is refused (cross-site form posts);
- request bodies are capped at `max_upload_bytes`;
- names from users are data, never file paths (run directories are named by the server);
- a failed fit or solve only marks its own run or returns an error; saved scenarios stay.
Plotly's JavaScript is served from the installed `plotly` package, so pages work offline.
"""

from __future__ import annotations

import csv
import hmac
import html
import io
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mediamix import __version__
from mediamix.app import services
from mediamix.app.store import ConflictError, NotFoundError, Run, Store
from mediamix.errors import (
    ConvergenceError,
    DataError,
    InfeasibleError,
    MediamixError,
    SpecError,
)

HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "mediamix_token"
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# ------------------------------------------------------------------------- request bodies
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseIn(_Body):
    """One channel's response curve (the `Response.to_dict()` mapping)."""

    name: str = Field(min_length=1, max_length=200)
    family: str
    params: dict[str, float | list[float]]
    unit_price: float | list[float] = 1.0
    reference_spend: float | None = Field(default=None, ge=0)
    carryover: float | list[float] | None = None
    kpi_value: float = 1.0


class RunImport(_Body):
    """A run made from response curves written elsewhere (no fit on this server)."""

    name: str = Field(min_length=1, max_length=200)
    responses: list[ResponseIn] = Field(min_length=1)
    summary: dict[str, Any] | None = None

    @field_validator("responses")
    @classmethod
    def _unique(cls, value: list[ResponseIn]) -> list[ResponseIn]:
        names = [r.name for r in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel name(s) {dupes} appear more than once")
        return value


class OptimiseIn(_Body):
    """The planner's form: budget, objective, risk, bounds, departments."""

    budget: float | None = Field(default=None, gt=0)
    objective: Literal["kpi", "profit", "min_spend", "kpi_at_min_roas"] = "kpi"
    target: float | None = Field(default=None, gt=0)
    kpi_value: float | None = Field(default=None, gt=0)
    combine: Literal["additive", "multiplicative"] = "additive"
    risk: Literal["mean", "cvar"] = "mean"
    alpha: float = Field(default=0.1, gt=0, lt=1)
    bounds: dict[str, tuple[float | None, float | None]] = {}
    departments: dict[str, Annotated[float, Field(gt=0)]] = {}
    shares: dict[str, dict[str, Annotated[float, Field(ge=0, le=1)]]] = {}
    elastic_penalty: float | None = Field(default=None, gt=0)
    sweep: tuple[float, float, float] | None = None

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, value: dict[str, tuple[float | None, float | None]]):
        for name, (lo, hi) in value.items():
            for v in (lo, hi):
                if v is not None and (v < 0 or not math.isfinite(v)):
                    raise ValueError(f"bounds of {name!r} must be finite and >= 0 (got {v})")
        return value


class ScenarioIn(_Body):
    run_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    problem: dict[str, Any]
    plan: dict[str, Any] | None = None


class ScenarioPatch(_Body):
    name: str = Field(min_length=1, max_length=200)


# ----------------------------------------------------------------------------- middleware
class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413 (declared or streamed)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0
        state = {"started": False, "rejected": False}

        async def limited_receive():
            nonlocal seen
            if state["rejected"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer 413 now; the application sees a disconnected client and
                    # whatever it tries to send afterwards is dropped.
                    state["rejected"] = True
                    if not state["started"]:
                        state["started"] = True
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["rejected"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["rejected"]:
                raise

    async def _reject(self, send) -> None:
        body = (
            b'{"detail":"the request is larger than the upload limit of '
            + str(self.limit).encode()
            + b' bytes; upload a smaller file or raise the limit with --max-upload-mb"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _problem(detail: str, status: int, page: bool) -> Response:
    if page:
        return HTMLResponse(
            f"<h1>{status}</h1><p>{html.escape(detail, quote=False)}</p>", status_code=status
        )
    return JSONResponse({"detail": detail}, status_code=status)


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


# ----------------------------------------------------------------------------------- app
def create_app(
    store: Store,
    *,
    token: str | None = None,
    allowed_hosts: list[str] | tuple[str, ...] | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    executor: ThreadPoolExecutor | None = None,
) -> FastAPI:
    """The planner's web application over `store`.

    `token`: when set, required on every request (Bearer header or login cookie).
    `allowed_hosts`: Host header names accepted (None: any; `mediamix serve` passes the
    loopback names when bound to loopback). `executor`: runs fit jobs (default: one worker
    thread). Runs left queued or running by a previous server are marked failed.
    """
    store.fail_interrupted()
    jobs = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediamix-fit")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if executor is None:
            jobs.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its assets from a CDN; the schema is /openapi.json
        redoc_url=None,
        title="mediamix planner",
        version=__version__,
        description="Fit media mix models, plan budgets and keep scenarios.",
    )
    app.state.store = store
    app.add_middleware(BodyLimit, limit=max_upload_bytes)
    app.state.jobs = jobs
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = __version__
    hosts = {h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts else None

    @app.middleware("http")
    async def guard(request: Request, call_next):
        page = not request.url.path.startswith("/api")
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            return _problem("unknown Host header; open the planner by its address", 400, page)
        if request.method in _UNSAFE:
            origin = request.headers.get("origin")
            if origin and origin != "null":
                if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
                    return _problem("cross-origin request refused", 403, page)
            elif origin == "null":
                return _problem("cross-origin request refused", 403, page)
        if token is not None:
            if request.url.path == "/login":
                return await call_next(request)
            given = None
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            elif TOKEN_COOKIE in request.cookies:
                given = request.cookies[TOKEN_COOKIE]
            if given is None or not hmac.compare_digest(given.encode(), token.encode()):
                detail = (
                    "missing or wrong access token; send 'Authorization: Bearer <token>'"
                    " (pages: open /login?token=<token>)"
                )
                resp = _problem(detail, 401, page)
                resp.headers["WWW-Authenticate"] = "Bearer"
                return resp
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    # ------------------------------------------------------------------ error mapping
    def _error(status: int):
        async def handler(request: Request, exc: Exception) -> Response:
            return _problem(str(exc), status, not request.url.path.startswith("/api"))

        return handler

    app.add_exception_handler(NotFoundError, _error(404))
    app.add_exception_handler(ConflictError, _error(409))
    app.add_exception_handler(services.UnavailableError, _error(503))
    for exc_type in (DataError, SpecError, InfeasibleError, ConvergenceError):
        app.add_exception_handler(exc_type, _error(422))
    app.add_exception_handler(MediamixError, _error(400))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return JSONResponse(
            {"detail": "; ".join(parts), "errors": jsonable_encoder(exc.errors())},
            status_code=422,
        )

    # ------------------------------------------------------------------------- API
    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/runs", tags=["runs"])
    def list_runs() -> list[dict[str, Any]]:
        return [r.to_dict() for r in store.list_runs()]

    @app.get("/api/runs/{run_id}", tags=["runs"])
    def get_run(run_id: str) -> dict[str, Any]:
        return store.get_run(run_id).to_dict()

    @app.post("/api/runs", status_code=202, tags=["runs"])
    async def create_run(
        file: UploadFile = File(description="CSV with a date, a KPI and spend columns"),
        date: str = Form(),
        kpi: str = Form(),
        channels: str = Form(description="comma-separated channel spend columns"),
        controls: str = Form(default=""),
        method: Literal["nuts", "svi", "map"] = Form(default="svi"),
        name: str = Form(default=""),
    ) -> dict[str, Any]:
        """Upload a CSV and start a fit as a background job (poll /api/jobs/{id})."""
        data = await file.read(max_upload_bytes + 1)
        columns = {"date": date, "kpi": kpi, "channels": channels, "controls": controls}
        run = await run_in_threadpool(
            services.start_fit,
            store,
            data,
            columns,
            method,
            name=name or None,
            executor=app.state.jobs,
        )
        return {"run": run.to_dict(), "job": _job(run)}

    @app.post("/api/runs/import", status_code=201, tags=["runs"])
    def import_run(body: RunImport) -> dict[str, Any]:
        """Make a run from response curves given directly (e.g. from another system)."""
        responses = [r.model_dump(exclude_none=True) for r in body.responses]
        services.check_responses(responses)
        run = store.create_run(
            body.name,
            method="import",
            status="done",
            summary=body.summary,
            responses=responses,
            message="imported",
        )
        return run.to_dict()

    @app.get("/api/jobs/{run_id}", tags=["runs"])
    def job(run_id: str) -> dict[str, Any]:
        return _job(store.get_run(run_id))

    @app.get("/api/runs/{run_id}/curves", tags=["runs"])
    def curves(run_id: str) -> list[dict[str, Any]]:
        return services.response_curves(services.run_responses(store.get_run(run_id)))

    @app.post("/api/runs/{run_id}/optimise", tags=["planning"])
    def optimise(run_id: str, body: OptimiseIn) -> dict[str, Any]:
        """Solve the allocation problem for the run; returns the problem and the plan."""
        run = store.get_run(run_id)
        problem, plan = services.optimise(run, body.model_dump(exclude_none=True))
        rows = services.plan_rows(problem, plan)
        return {"run_id": run.id, "problem": problem, "plan": plan, "rows": rows}

    @app.get("/api/scenarios", tags=["scenarios"])
    def list_scenarios(run_id: str | None = None) -> list[dict[str, Any]]:
        return [s.to_dict() for s in store.list_scenarios(run_id)]

    @app.post("/api/scenarios", status_code=201, tags=["scenarios"])
    def save_scenario(body: ScenarioIn) -> dict[str, Any]:
        return store.save_scenario(
            body.run_id, body.name, problem=body.problem, plan=body.plan
        ).to_dict()

    @app.get("/api/scenarios/compare", tags=["scenarios"])
    def compare(ids: list[int] = Query(min_length=1)) -> dict[str, Any]:
        return services.compare_scenarios([store.get_scenario(i) for i in ids])

    @app.get("/api/scenarios/{scenario_id}", tags=["scenarios"])
    def get_scenario(scenario_id: int) -> dict[str, Any]:
        return store.get_scenario(scenario_id).to_dict()

    @app.patch("/api/scenarios/{scenario_id}", tags=["scenarios"])
    def rename_scenario(scenario_id: int, body: ScenarioPatch) -> dict[str, Any]:
        return store.rename_scenario(scenario_id, body.name).to_dict()

    @app.delete("/api/scenarios/{scenario_id}", status_code=204, tags=["scenarios"])
    def delete_scenario(scenario_id: int) -> Response:
        store.delete_scenario(scenario_id)
        return Response(status_code=204)

    @app.get("/api/scenarios/{scenario_id}/export.csv", tags=["scenarios"])
    def export_csv(scenario_id: int) -> Response:
        scenario = store.get_scenario(scenario_id)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        rows = services.plan_rows(scenario.problem, scenario.plan)
        writer.writerow(services.PLAN_COLUMNS)
        for row in rows:
            writer.writerow([row[c] if row[c] is not None else "" for c in services.PLAN_COLUMNS])
        return PlainTextResponse(
            buf.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="scenario-{scenario.id}.csv"'},
        )

    @app.get("/api/scenarios/{scenario_id}/export.yaml", tags=["scenarios"])
    def export_yaml(scenario_id: int) -> Response:
        scenario = store.get_scenario(scenario_id)
        text = f"# scenario {scenario.name!r}: mediamix optimize scenario-{scenario.id}.yaml\n"
        text += yaml.safe_dump(scenario.problem, sort_keys=False)
        return PlainTextResponse(
            text,
            media_type="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="scenario-{scenario.id}.yaml"'},
        )

    # ------------------------------------------------------------------------ pages
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(
            _plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    @app.get("/login", include_in_schema=False)
    def login(token_param: str = Query(default="", alias="token")) -> Response:
        if token is None:
            return RedirectResponse("/runs", status_code=303)
        if not hmac.compare_digest(token_param.encode(), token.encode()):
            return _problem("wrong access token", 401, True)
        resp = RedirectResponse("/runs", status_code=303)
        resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return resp

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return RedirectResponse("/runs", status_code=303)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "runs.html",
            {"runs": store.list_runs(), "max_upload_mb": max_upload_bytes / 2**20},
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str) -> Response:
        run = store.get_run(run_id)
        return templates.TemplateResponse(
            request,
            "run.html",
            {
                "run": run,
                "has_report": (run.run_dir / "report.html").is_file(),
                "channels": services.summary_rows(run.summary),
                "scenarios": store.list_scenarios(run.id),
            },
        )

    @app.get("/runs/{run_id}/report", include_in_schema=False)
    def run_report(run_id: str) -> Response:
        run = store.get_run(run_id)
        path = run.run_dir / "report.html"  # fixed name inside a server-named directory
        if not path.is_file():
            raise NotFoundError(f"run {run.name!r} has no report yet; run `mediamix report`")
        return FileResponse(path, media_type="text/html")

    @app.get("/planner", response_class=HTMLResponse, include_in_schema=False)
    def planner_page(request: Request, run: str | None = None) -> Response:
        runs = [r for r in store.list_runs() if r.status == "done" and r.responses]
        chosen: Run | None = None
        if run is not None:
            chosen = store.get_run(run)
        elif runs:
            chosen = runs[0]
        return templates.TemplateResponse(
            request,
            "planner.html",
            {"runs": runs, "run": chosen, "plan_defaults": services.plan_defaults(chosen)},
        )

    @app.get("/scenarios", response_class=HTMLResponse, include_in_schema=False)
    def scenarios_page(request: Request) -> Response:
        runs = {r.id: r for r in store.list_runs()}
        return templates.TemplateResponse(
            request, "scenarios.html", {"scenarios": store.list_scenarios(), "runs": runs}
        )

    return app


def _job(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "done": run.status in ("done", "failed"),
    }


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
