"""The planner's pages (server-rendered): Runs, one run, Planner, Scenarios, and the login.

Pages read the store directly and leave every calculation to the browser's calls to the API.
Plotly's JavaScript is served from the installed `plotly` package, so pages work offline.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mediamix import __version__
from mediamix.app.deps import SettingsDep, StoreDep
from mediamix.app.middleware import LOGIN_PATH, TOKEN_COOKIE, error_response, same_token
from mediamix.app.services import REPORT_FILE
from mediamix.app.services.geo import geo_defaults
from mediamix.app.services.planning import DEFAULT_RELATIVE_BOUND, observed_spend
from mediamix.app.store import Run
from mediamix.errors import NotFoundError

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = __version__

REVIEW_ORDER = {"fail": 0, "review": 1, "pass": 2}


def review_badge(summary: dict[str, Any] | None) -> dict[str, str] | None:
    """A run's model review as a badge ``{key, label, title}`` (``key``: fail,
    not-converged, review, pass or none); None for a run without results. A fit that failed
    its review or did not converge never reads as plainly done."""
    if not summary:
        return None
    rev = summary.get("review")
    if not rev:
        diag = summary.get("diagnostics") or {}
        if diag.get("converged") is False:
            return {"key": "not-converged", "label": "not converged",
                    "title": "the sampler did not converge (no model review in this run)"}  # fmt: skip
        return {"key": "none", "label": "not reviewed",
                "title": "this run holds no model review; refit it to review the fit"}  # fmt: skip
    badge = str(rev.get("badge") or rev.get("verdict") or "review")
    n = rev.get("counts") or {}
    title = f"{n.get('fail', 0)} fail, {n.get('review', 0)} to review, {n.get('pass', 0)} pass"
    return {"key": badge.replace(" ", "-"), "label": str(rev.get("label") or badge),
            "title": title}  # fmt: skip


def review_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The review's checks, failing first (the run page's table)."""
    checks = ((summary or {}).get("review") or {}).get("checks") or []
    return sorted(checks, key=lambda c: REVIEW_ORDER.get(c.get("verdict"), 3))


templates.env.globals["review_badge"] = review_badge

# words kept in capitals when a column name becomes a channel's label
ACRONYMS = {"tv", "ctv", "ooh", "dooh", "sem", "seo", "crm", "sms", "pr", "vod", "bvod", "dv360",
            "ppc", "cpc", "cpm", "b2b", "b2c", "uk", "us", "eu", "id"}  # fmt: skip
SUFFIXES = ("_spend", "_cost", "_costs", "_investment", "_media", "_eur", "_usd", "_gbp")


def humanise(name: Any) -> str:
    """A column name as a person writes it: ``tv_spend`` -> ``TV``, ``paid_social`` -> ``Paid
    social``, ``searchSpend`` -> ``Search``; a name with spaces or capitals is left as it is."""
    text = str(name)
    if " " in text.strip() or (text[:1].isupper() and "_" not in text):
        return text
    low = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    for suffix in SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            low = low[: -len(suffix)]
            break
    words = [w for w in re.split(r"[_\-.\s]+", low) if w]
    if not words:
        return text
    out = [w.upper() if w in ACRONYMS else w for w in words]
    if out[0] == words[0]:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def number(x: Any, digits: int = 3) -> str:
    """A number for a page: thousands separators, never scientific notation; whole numbers at
    or above 100, ``digits`` significant digits below."""
    if x is None:
        return "—"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return str(x)
    if abs(v) >= 100 or v == 0:
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


templates.env.filters["humanise"] = humanise
templates.env.filters["num"] = number

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def plan_defaults(run: Run | None) -> dict[str, Any]:
    """What the planner form starts from: channels with today's spend (per period), their
    labels and the spend range the data has seen, budget = their sum, the default +-% bound,
    the KPI's name and the value of one KPI unit the curves carry."""
    if run is None or not run.responses:
        return {"channels": [], "budget": 0.0, "relative_bound": DEFAULT_RELATIVE_BOUND}
    ranges = observed_spend(run) or {}
    channels = [
        {
            "name": r["name"],
            "label": humanise(r["name"]),
            "reference_spend": float(r.get("reference_spend") or 0.0),
            "observed": ranges.get(r["name"]),
        }
        for r in run.responses
    ]
    kpi = (run.columns or {}).get("kpi") or ((run.summary or {}).get("kpi")) or "KPI"
    values = {float(r.get("kpi_value", 1.0)) for r in run.responses}
    return {
        "channels": channels,
        "budget": sum(c["reference_spend"] for c in channels),
        "relative_bound": DEFAULT_RELATIVE_BOUND,
        "kpi": str(kpi) if isinstance(kpi, str) else "KPI",
        "kpi_value": values.pop() if len(values) == 1 else None,
    }


def validation_view(run: Run) -> dict[str, Any] | None:
    """The run's validation battery (``validation.json`` in its folder), or None."""
    path = run.run_dir / "validation.json"
    if not path.is_file():
        got = (run.summary or {}).get("validation")
        return got if isinstance(got, dict) and got.get("tests") else None
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) and isinstance(got.get("tests"), list) else None


def summary_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per-channel rows (ROAS, mROAS, contribution with intervals) of a run's summary."""
    rows = []
    for name, stats in ((summary or {}).get("channels") or {}).items():
        row: dict[str, Any] = {"name": name}
        for key in ("roas", "mroas", "contribution", "cost_per_kpi"):
            value = stats.get(key) if isinstance(stats, dict) else None
            row[key] = value if isinstance(value, dict) else None
        rows.append(row)
    return rows


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" '
    'rx="6" fill="#1d2433"/><rect x="6" y="17" width="5" height="9" fill="#7fb3ff"/><rect '
    'x="13.5" y="11" width="5" height="15" fill="#a8e6a1"/><rect x="21" y="6" width="5" '
    'height="20" fill="#ffd27f"/></svg>'
)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/vendor/plotly.min.js")
def vendor_plotly() -> Response:
    return Response(
        plotly_js(),
        media_type="application/javascript",
        headers={"Cache-Control": "max-age=86400"},
    )


@router.get(LOGIN_PATH)
def login(settings: SettingsDep, token: str = Query(default="")) -> Response:
    if settings.token is None:
        return RedirectResponse("/runs", status_code=303)
    if not same_token(token, settings.token):
        return error_response("wrong access token", 401, True)
    resp = RedirectResponse("/runs", status_code=303)
    resp.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict")
    return resp


@router.get("/")
def index() -> Response:
    return RedirectResponse("/runs", status_code=303)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    return templates.TemplateResponse(
        request,
        "runs.html",
        {"runs": store.list_runs(), "max_upload_mb": settings.max_upload_bytes / 2**20},
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, store: StoreDep) -> Response:
    run = store.get_run(run_id)
    return templates.TemplateResponse(
        request,
        "run.html",
        {
            "run": run,
            "has_report": (run.run_dir / REPORT_FILE).is_file(),
            "channels": summary_rows(run.summary),
            "badge": review_badge(run.summary),
            "checks": review_rows(run.summary),
            "scenarios": store.list_scenarios(run.id),
            "validation": validation_view(run),
            "diagnostics": (run.summary or {}).get("diagnostics") or {},
            "intervals_note": (run.summary or {}).get("intervals_note"),
        },
    )


@router.get("/runs/{run_id}/report")
def run_report(run_id: str, store: StoreDep) -> Response:
    run = store.get_run(run_id)
    path = run.run_dir / REPORT_FILE  # a fixed name inside a server-named folder
    if not path.is_file():
        raise NotFoundError(f"run {run.name!r} has no report yet; run `mediamix report`")
    return FileResponse(path, media_type="text/html")


@router.get("/planner", response_class=HTMLResponse)
def planner_page(request: Request, store: StoreDep, run: str | None = None) -> Response:
    runs = [r for r in store.list_runs() if r.status == "done" and r.responses]
    chosen: Run | None = None
    if run is not None:
        chosen = store.get_run(run)
    elif runs:
        chosen = runs[0]
    return templates.TemplateResponse(
        request,
        "planner.html",
        {
            "runs": runs,
            "run": chosen,
            "plan_defaults": plan_defaults(chosen),
            # the weeks-ahead view needs the fitted model (history, adstock, baseline)
            "has_model": chosen is not None and (chosen.run_dir / "model").is_dir(),
            "geo": geo_defaults(chosen),  # per-geo curves: the geo breakdown (None: national)
        },
    )


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios_page(request: Request, store: StoreDep) -> Response:
    runs = {r.id: r for r in store.list_runs()}
    return templates.TemplateResponse(
        request, "scenarios.html", {"scenarios": store.list_scenarios(), "runs": runs}
    )
