"""The planner's parts: the form's schema, errors as status codes, and what a crashed fit logs."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from mediamix.app import services
from mediamix.app.schemas import PlannerForm
from mediamix.app.server import create_app
from mediamix.app.services import fits
from mediamix.app.store import Store
from mediamix.errors import ConflictError, DataError, MediamixError, NotFoundError, SpecError
from mediamix.schemas import FIT_METHODS, OBJECTIVES, RISKS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSES = [
    {"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]
WEEKS = [str(date(2024, 1, 7) + timedelta(weeks=i)) for i in range(40)]
GOOD_CSV = "week,sales,tv\n" + "".join(
    f"{w},{100 + i % 7},{10 + i % 3}\n" for i, w in enumerate(WEEKS)
)


@pytest.fixture
def client(store: Store):
    with TestClient(create_app(store)) as c:
        yield c


@pytest.fixture
def run_id(store: Store) -> str:
    return store.create_run("m", status="done", responses=RESPONSES).id


def test_app_errors_live_in_mediamix_errors() -> None:
    assert issubclass(NotFoundError, MediamixError) and issubclass(NotFoundError, LookupError)
    assert issubclass(ConflictError, MediamixError)
    from mediamix.app import store

    assert store.NotFoundError is NotFoundError and store.ConflictError is ConflictError


# ------------------------------------------------------------------------ the planner form
def test_the_form_becomes_the_problem_mapping(store: Store, run_id: str) -> None:
    form = PlannerForm(budget=100, risk="cvar", bounds={"tv": (10, None)})
    problem = form.to_problem(RESPONSES)
    assert problem == services.build_problem(store.get_run(run_id), form)
    assert problem == services.build_problem(
        store.get_run(run_id), {"budget": 100, "risk": "cvar", "bounds": {"tv": [10, None]}}
    )
    assert (problem["risk"], problem["alpha"]) == ("cvar", 0.1)
    assert [c["bounds"] for c in problem["channels"]] == [[10, None], [0.0, None]]
    from mediamix.optimize import Problem

    assert Problem.from_dict(problem).budget == 100.0


def test_a_mapping_form_is_checked_with_key_paths(store: Store, run_id: str) -> None:
    run = store.get_run(run_id)
    with pytest.raises(SpecError, match=r"form\.budget: expected a number, got 'lots'"):
        services.build_problem(run, {"budget": "lots"})
    with pytest.raises(SpecError, match=r"form: unknown key 'budgte'.*Did you mean 'budget'"):
        services.build_problem(run, {"budgte": 10})


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"budget": 10, "combine": "weird"}, ("combine", "weird")),
        ({"budget": 10, "risk": "var"}, ("risk", "var")),
        ({"budget": 10, "kpi_value": -1}, ("kpi_value", "-1")),
        ({"budget": 10, "elastic_penalty": -1}, ("elastic", "-1")),
        ({"budget": 10, "departments": {"a": 5}, "shares": {"tv": {"a": 0.5}}}, ("shares", "0.5")),
    ],
)
def test_the_problem_checks_its_own_rules(client, run_id: str, body, fragments) -> None:
    """The form does not repeat these checks: the problem's message (naming the key and the
    value) reaches the user."""
    r = client.post(f"/api/runs/{run_id}/optimise", json=body)
    assert r.status_code == 422, r.text
    for fragment in fragments:
        assert fragment in r.json()["detail"]


def test_the_form_refuses_unknown_keys(client, run_id: str) -> None:
    r = client.post(f"/api/runs/{run_id}/optimise", json={"budget": 10, "colour": "red"})
    assert r.status_code == 422 and "colour" in r.json()["detail"]


def test_the_api_documents_the_vocabularies(client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    form = schemas["PlannerForm"]["properties"]
    assert form["objective"]["enum"] == list(OBJECTIVES)
    assert form["risk"]["enum"] == list(RISKS)
    assert schemas["UploadForm"]["properties"]["method"]["enum"] == list(FIT_METHODS)


# ------------------------------------------------------------------------- errors as codes
def test_errors_become_status_codes_in_json_and_html(store: Store) -> None:
    app = create_app(store)

    @app.get("/api/boom/{kind}")
    def boom(kind: str) -> None:
        raise {"data": DataError, "conflict": ConflictError, "other": MediamixError}[kind]("<no>")

    @app.get("/page/boom")
    def page_boom() -> None:
        raise ConflictError("<b>clash</b>")

    with TestClient(app) as c:
        assert c.get("/api/boom/data").status_code == 422
        assert c.get("/api/boom/conflict").json() == {"detail": "<no>"}
        assert c.get("/api/boom/conflict").status_code == 409
        assert c.get("/api/boom/other").status_code == 400
        r = c.get("/page/boom")
        assert r.status_code == 409 and "&lt;b&gt;clash&lt;/b&gt;" in r.text
        assert r.headers["x-frame-options"] == "DENY"


# ------------------------------------------------------------------------------ fit jobs
def _queued(store: Store) -> str:
    run = store.create_run("job", columns={"date": "week", "kpi": "sales", "channels": ["tv"]})
    (run.run_dir / services.DATA_FILE).write_text(GOOD_CSV)
    return run.id


def test_a_crashed_fit_logs_its_traceback_and_fails_the_run(store: Store, caplog) -> None:
    def crash(dataset, method, run_dir, progress):
        raise ZeroDivisionError("a bug in the fit")

    run_id = _queued(store)
    with caplog.at_level(logging.INFO, logger=fits.__name__):
        services.run_fit(store, run_id, fit=crash)
    run = store.get_run(run_id)
    assert run.status == "failed"
    assert "ZeroDivisionError" in run.message and "server log" in run.message
    assert "a bug in the fit" not in run.message  # short: the details are in the log
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.levelno == logging.ERROR and run_id in record.getMessage()
    assert record.exc_info[0] is ZeroDivisionError


def test_a_user_error_in_a_fit_is_a_clean_message(store: Store, caplog) -> None:
    def refuse(dataset, method, run_dir, progress):
        raise SpecError("the KPI has no variation; check the 'sales' column")

    run_id = _queued(store)
    with caplog.at_level(logging.INFO, logger=fits.__name__):
        services.run_fit(store, run_id, fit=refuse)
    run = store.get_run(run_id)
    assert (run.status, run.message) == (
        "failed",
        "the KPI has no variation; check the 'sales' column",
    )
    assert not [r for r in caplog.records if r.exc_info]
