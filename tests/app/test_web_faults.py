"""The planner's answers to bad requests and broken state: every one a clear 4xx with the
reason, never a 500; a bad row in the store never takes a page down; two servers on one
store never fail each other's live jobs; scenarios keep a history."""

from __future__ import annotations

import csv
import io
import json
import secrets
import socket
import time
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from mediamix.app.middleware import add_error_handlers
from mediamix.app.models import RunRow, utcnow
from mediamix.app.schemas import MAX_JSON_DEPTH
from mediamix.app.server import create_app, serve, weak_token_reason
from mediamix.app.services.scenarios import spreadsheet_safe
from mediamix.app.store import Store
from mediamix.errors import NotFoundError, SpecError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSES = [
    {"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]
PROBLEM = {"budget": 100.0, "channels": [{"name": "tv"}, {"name": "search"}]}
PLAN = {"kpi": 90.0, "spend_total": 100.0, "allocation": {"tv": 60.0, "search": 40.0}}
HUGE_ID = 2**64
JSON_HEADERS = {"content-type": "application/json"}


class NoJobs:
    """An executor that holds every job (a fit that is still running)."""

    def submit(self, *_a, **_k) -> Future:
        return Future()

    def shutdown(self, *_a, **_k) -> None:
        pass


@pytest.fixture
def client(store: Store):
    with TestClient(create_app(store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def run_id(client: TestClient) -> str:
    r = client.post("/api/runs/import", json={"name": "demo", "responses": RESPONSES})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def raw(client: TestClient, method: str, path: str, body: str | bytes):
    return client.request(method, path, content=body, headers=JSON_HEADERS)


# ------------------------------------------------------------------------ bodies (D118-D134)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/runs/import"),
        ("POST", "/api/runs/RUN/optimise"),
        ("POST", "/api/scenarios"),
        ("PATCH", "/api/scenarios/1"),
    ],
)
def test_malformed_json_is_a_clear_422(client: TestClient, run_id: str, method, path) -> None:
    r = raw(client, method, path.replace("RUN", run_id), '{"name": "x", ')
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "the body is not valid JSON" in detail and "line 1, column 15" in detail


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("[1, 2]", JSON_HEADERS),
        ("name=x", {"content-type": "application/x-www-form-urlencoded"}),
        ("plain text", {"content-type": "text/plain"}),
    ],
)
def test_a_body_that_is_not_an_object_is_refused(client: TestClient, body, headers) -> None:
    r = client.post("/api/scenarios", content=body, headers=headers)
    assert r.status_code == 422
    assert "valid dictionary or object" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ('{"budget": NaN}', "budget"),
        ('{"budget": 100, "bounds": {"tv": [0, Infinity]}}', "bounds.tv[1]"),
        ('{"budget": 100, "objective": "profit", "kpi_value": Infinity}', "kpi_value"),
        ('{"budget": 100, "departments": {"d": Infinity}}', "departments.d"),
        ('{"budget": 100, "elastic_penalty": -Infinity}', "elastic_penalty"),
        ('{"budget": Infinity}', "budget"),
        ('{"budget": 1e400}', "budget"),
    ],
)
def test_non_finite_numbers_are_a_422_naming_the_key(client, run_id: str, body, path) -> None:
    r = raw(client, "POST", f"/api/runs/{run_id}/optimise", body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"{path}: NaN and Infinity") and "finite number" in detail


def test_the_422_handler_never_fails_on_the_input_it_reports(store: Store) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    add_error_handlers(app)

    @app.get("/api/boom")
    def boom():
        raise RequestValidationError(
            [
                {
                    "type": "finite_number",
                    "loc": ("body", "budget"),
                    "msg": "bad",
                    "input": float("nan"),
                    "ctx": {"error": ValueError("x")},
                }
            ]  # fmt: skip
        )

    r = TestClient(app).get("/api/boom")
    assert r.status_code == 422
    assert r.json() == {
        "detail": "budget: bad",
        "errors": [{"type": "finite_number", "loc": ["body", "budget"], "msg": "bad"}],
    }


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_deeply_nested_json_is_refused_naming_the_limit(client, run_id: str, levels) -> None:
    nested = "[" * levels + "]" * levels
    body = f'{{"run_id": "{run_id}", "name": "deep", "problem": {{"x": {nested}}}}}'
    r = raw(client, "POST", "/api/scenarios", body)
    assert r.status_code == 422
    assert f"at most {MAX_JSON_DEPTH}" in r.json()["detail"]
    assert client.get("/api/scenarios").json() == []
    r = raw(client, "POST", "/api/runs/import", f'{{"name": "x", "responses": {nested}}}')
    assert r.status_code == 422 and f"at most {MAX_JSON_DEPTH}" in r.json()["detail"]


def test_the_store_refuses_deep_documents_too(store: Store) -> None:
    run = store.create_run("m", status="done", responses=RESPONSES)
    deep: list = []
    for _ in range(MAX_JSON_DEPTH + 5):
        deep = [deep]
    with pytest.raises(SpecError, match=f"more than {MAX_JSON_DEPTH} levels"):
        store.save_scenario(run.id, "deep", problem={"budget": 1.0, "x": deep})
    with pytest.raises(SpecError, match="levels"):
        store.create_run("m2", status="done", summary={"x": deep})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"problem": {"channels": ["tv", 5]}}, "problem.channels"),
        ({"problem": {"budget": "lots"}}, "problem.budget"),
        ({"problem": PROBLEM, "plan": {"allocation": [1, 2]}}, "plan.allocation"),
        ({"problem": PROBLEM, "plan": {"kpi": "high"}}, "plan.kpi"),
    ],
)
def test_scenario_problem_and_plan_are_checked_on_write(client, run_id, body, fragment) -> None:
    r = client.post("/api/scenarios", json={"run_id": run_id, "name": "bad", **body})
    assert r.status_code == 422 and fragment in r.json()["detail"], r.text
    assert client.get("/api/scenarios").json() == []
    assert client.get("/scenarios").status_code == 200


@pytest.mark.parametrize(
    ("summary", "fragment"),
    [
        ({"channels": ["tv", "search"]}, "summary.channels"),
        ({"channels": {"tv": {"roas": {"mean": "high"}}}}, "summary.channels.tv.roas"),
        ({"channels": {"tv": {"roas": {"mean": 1.0, "lower": 0.5}}}}, "lower"),
        ({"review": {"checks": "all fine"}}, "summary.review.checks"),
    ],
)
def test_imported_summaries_are_checked_on_write(client: TestClient, summary, fragment) -> None:
    body = {"name": "x", "responses": RESPONSES, "summary": summary}
    r = client.post("/api/runs/import", json=body)
    assert r.status_code == 422 and fragment in r.json()["detail"], r.text
    assert client.get("/api/runs").json() == []


def test_store_refuses_a_bad_summary_or_scenario_from_python(store: Store) -> None:
    with pytest.raises(SpecError, match=r"summary\.channels"):
        store.create_run("x", status="done", summary={"channels": ["tv"]})
    run = store.create_run("y", status="done", responses=RESPONSES)
    with pytest.raises(SpecError, match=r"problem\.channels\[0\]"):
        store.save_scenario(run.id, "p", problem={"channels": ["tv"]})
    with pytest.raises(SpecError, match=r"plan\.allocation"):
        store.save_scenario(run.id, "p", problem=PROBLEM, plan={"allocation": [1]})


def _insert_bad_rows(store: Store, run_id: str) -> int:
    """Rows of the wrong shape written behind the store's back (an old version, a hand edit)."""
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET summary = :s WHERE id = :id"),
            {"s": json.dumps({"channels": ["tv", "search"], "review": "ok"}), "id": run_id},
        )
        conn.execute(
            text(
                "INSERT INTO scenarios (run_id, name, created_at, problem, plan)"
                " VALUES (:r, 'broken', :t, :p, :plan)"
            ),
            {
                "r": run_id,
                "t": "2025-01-02 03:04:05",
                "p": json.dumps({"channels": ["tv", 5], "budget": "lots"}),
                "plan": json.dumps({"allocation": [1, 2], "kpi": "x"}),
            },
        )
        return conn.execute(text("SELECT max(id) FROM scenarios")).scalar_one()


def test_a_bad_row_in_the_store_never_takes_a_page_down(client, store: Store, run_id) -> None:
    good = client.post(
        "/api/scenarios", json={"run_id": run_id, "name": "good", "problem": PROBLEM, "plan": PLAN}
    ).json()
    bad_id = _insert_bad_rows(store, run_id)
    for path in ("/runs", f"/runs/{run_id}", "/planner", f"/planner?run={run_id}", "/scenarios"):
        assert client.get(path).status_code == 200, path
    assert "broken" in client.get("/scenarios").text
    shown = client.get(f"/api/scenarios/{bad_id}").json()
    assert shown["problem"] == {"channels": []} and shown["plan"] is None
    assert "wrong shape" in shown["damaged"]
    assert client.get(f"/api/scenarios/{good['id']}").json()["damaged"] is None
    assert client.get("/api/scenarios").status_code == 200
    cmp = client.get("/api/scenarios/compare", params={"ids": f"{good['id']},{bad_id}"})
    assert cmp.status_code == 200
    assert cmp.json()["allocation"] == {"tv": [60.0, None], "search": [40.0, None]}
    for fmt in ("csv", "yaml"):
        assert client.get(f"/api/scenarios/{bad_id}/export.{fmt}").status_code == 200
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["summary"] == {"channels": {}}  # the wrong review is left out
    assert client.get("/api/runs").status_code == 200


def test_import_refuses_falling_curves_and_non_positive_kpi_values(client: TestClient) -> None:
    falling = {"name": "tv", "family": "log1p", "params": {"a": -2.0}}
    r = client.post("/api/runs/import", json={"name": "x", "responses": [falling]})
    assert r.status_code == 422
    assert "'tv'" in r.json()["detail"] and "falls as spend grows" in r.json()["detail"]
    r = client.post(
        "/api/runs/import", json={"name": "x", "responses": [{**RESPONSES[0], "kpi_value": -1}]}
    )
    assert r.status_code == 422 and "kpi_value" in r.json()["detail"]
    assert client.get("/api/runs").json() == []


# ------------------------------------------------------------------------------- ids (D133)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/export.csv"),
        ("GET", "/export.yaml"),
        ("GET", "/history"),
    ],  # fmt: skip
)
def test_scenario_ids_beyond_a_database_integer_are_refused(client, method, suffix) -> None:
    r = client.request(method, f"/api/scenarios/{HUGE_ID}{suffix}", json={"name": "x"})
    assert r.status_code == 422
    assert "9223372036854775807" in r.json()["detail"]
    r = client.get("/api/scenarios/compare", params={"ids": str(HUGE_ID)})
    assert r.status_code == 422 and "not a scenario id" in r.json()["detail"]


def test_the_store_reports_huge_or_odd_ids_as_not_found(store: Store) -> None:
    for bad in (HUGE_ID, -1, 0, "abc"):
        with pytest.raises(NotFoundError):
            store.get_scenario(bad)
    for bad in ("x" * 200, "a\x00b"):
        with pytest.raises(NotFoundError):
            store.get_run(bad)
        assert store.list_scenarios(bad) == []


def test_compare_takes_comma_lists_and_repeated_ids(client: TestClient, run_id: str) -> None:
    ids = [
        client.post(
            "/api/scenarios",
            json={"run_id": run_id, "name": f"P{i}", "problem": PROBLEM, "plan": PLAN},
        ).json()["id"]
        for i in range(3)
    ]
    a, b, c = ids
    for query in (f"ids={a},{c}", f"ids={a}&ids={c}", f"ids={a},{c}&ids={a}", f"ids=+{a}, {c},"):
        r = client.get(f"/api/scenarios/compare?{query}")
        assert r.status_code == 200, query
        assert [s["id"] for s in r.json()["scenarios"]] == [a, c], query
    r = client.get("/api/scenarios/compare?ids=1,x")
    assert r.status_code == 422 and "'x' is not a scenario id" in r.json()["detail"]
    r = client.get("/api/scenarios/compare?ids=,")
    assert r.status_code == 422 and "give the scenarios" in r.json()["detail"]
    assert client.get(f"/api/scenarios/compare?ids={b},999").status_code == 404


# ------------------------------------------------------------------------ exports (D141)
def test_csv_exports_are_safe_from_formula_injection(client: TestClient, store: Store) -> None:
    names = ['=HYPERLINK("http://evil.example","click")', "@SUM(1+1)", "+1", "-2", "\tx", "tv"]
    responses = [
        {"name": n, "family": "log1p", "params": {"a": 1.0}, "reference_spend": 10.0} for n in names
    ]
    run = client.post("/api/runs/import", json={"name": "x", "responses": responses}).json()
    problem = {"budget": 60.0, "channels": [{"name": n, "reference_spend": 10.0} for n in names]}
    plan = {"allocation": {n: 5.0 for n in names}}
    sid = client.post(
        "/api/scenarios", json={"run_id": run["id"], "name": "p", "problem": problem, "plan": plan}
    ).json()["id"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/scenarios/{sid}/export.csv").text)))
    assert [r["channel"] for r in rows] == ["'" + n for n in names[:-1]] + ["tv"]
    assert float(rows[0]["change_abs"]) == -5.0  # numbers stay numbers
    assert spreadsheet_safe(-3.0) == -3.0 and spreadsheet_safe("\rx") == "'\rx"


# ----------------------------------------------------------- names and injection (D138-D140)
def test_traversal_and_sql_injection_names_are_plain_data(client: TestClient) -> None:
    names = ["../../../../tmp/x", "/etc/passwd", "x'); DROP TABLE scenarios;--", "' OR '1'='1"]
    for name in names:
        r = client.post("/api/runs/import", json={"name": name, "responses": RESPONSES})
        assert r.status_code == 201 and r.json()["name"] == name
        s = client.post(
            "/api/scenarios", json={"run_id": r.json()["id"], "name": name, "problem": PROBLEM}
        )
        assert s.status_code == 201 and s.json()["name"] == name
    assert len(client.get("/api/runs").json()) == len(names)
    assert client.get("/api/scenarios", params={"run_id": "' OR '1'='1"}).json() == []
    for path in ("/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd"):
        assert client.get(path).status_code == 404


def test_markup_in_names_is_escaped_on_every_page(client: TestClient) -> None:
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>" onmouseover="x'
    responses = [{**RESPONSES[0], "name": evil}]
    run = client.post("/api/runs/import", json={"name": evil, "responses": responses}).json()
    client.post(
        "/api/scenarios",
        json={"run_id": run["id"], "name": evil, "problem": {"channels": [{"name": evil}]}},
    )
    for path in ("/runs", f"/runs/{run['id']}", f"/planner?run={run['id']}", "/scenarios"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text, path


# -------------------------------------------------------------------- jobs (D145-D147)
def _age_heartbeat(store: Store, run_id: str, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )


def test_a_second_server_never_fails_a_live_job(db_url: str, tmp_path: Path) -> None:
    first = Store(db_url, tmp_path / "home")
    app1 = create_app(first, executor=NoJobs(), heartbeat_seconds=1.0)
    with TestClient(app1) as c1:
        job = first.create_run("fitting", status="running", message="fitting (svi)")
        s = first.save_scenario(
            first.create_run("done", status="done", responses=RESPONSES).id, "keep", problem=PROBLEM
        )
        second = Store(db_url, tmp_path / "home")
        with TestClient(create_app(second, executor=NoJobs(), heartbeat_seconds=1.0)) as c2:
            time.sleep(4.0)  # past the grace (3 s): several beats and sweeps of both servers
            for c in (c1, c2):
                state = c.get(f"/api/jobs/{job.id}").json()
                assert (state["status"], state["done"]) == ("running", False)
            assert second.fail_interrupted() == 0
            beat = first.get_run(job.id).heartbeat_at
            assert beat is not None and (utcnow() - beat).total_seconds() < 3.0
            assert first.get_run(job.id).owner == first.server_id != second.server_id
        # the first server stops beating (it crashed): after the grace the second fails it
        second = Store(db_url, tmp_path / "home")
    _age_heartbeat(first, job.id, 60)
    with TestClient(create_app(second, executor=NoJobs(), heartbeat_seconds=1.0)) as c2:
        state = c2.get(f"/api/jobs/{job.id}").json()
        assert state["status"] == "failed" and "no heartbeat" in state["message"]
        assert c2.get(f"/api/scenarios/{s.id}").json()["name"] == "keep"
    first.close()
    second.close()


def test_a_crashed_servers_job_fails_only_after_its_heartbeat_lapses(db_url, tmp_path) -> None:
    crashed = Store(db_url, tmp_path)
    running = crashed.create_run("running", status="running")
    crashed.close()  # it stops beating now
    survivor = Store(db_url, tmp_path)
    with TestClient(create_app(survivor, executor=NoJobs(), heartbeat_seconds=1.0)) as c:
        assert c.get(f"/api/jobs/{running.id}").json()["status"] == "running"  # within grace
        _age_heartbeat(survivor, running.id, 10.0)  # lapsed: older than 3 x 1 s
        deadline = time.monotonic() + 15
        while (state := c.get(f"/api/jobs/{running.id}").json())["status"] != "failed":
            assert time.monotonic() < deadline, "the lapsed job was never marked failed"
            time.sleep(0.2)
        assert state["done"] and "no heartbeat for 3 s" in state["message"]
        assert "upload the data again" in state["message"]
    survivor.close()


def test_jobs_from_before_heartbeats_fail_by_their_last_update(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, name, created_at, updated_at, status, method, run_dir,"
                " progress, message) VALUES ('old', 'old job', :t, :t, 'running', 'svi', '/x',"
                " 0, '')"
            ),
            {"t": "2025-01-02 03:04:05"},
        )
    assert store.fail_interrupted() == 1
    assert store.get_run("old").status == "failed"


def test_serve_on_a_busy_port_touches_nothing(store: Store, tmp_path: Path) -> None:
    job = store.create_run("fitting", status="running")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    other_home = tmp_path / "other"
    try:
        with pytest.raises(SpecError, match=f"cannot listen on 127.0.0.1:{port}") as err:
            serve("127.0.0.1", port, home=tmp_path / "home", url=store.url)
        assert "Nothing in the store was touched" in str(err.value)
        with pytest.raises(SpecError):
            serve("127.0.0.1", port, home=other_home)
    finally:
        busy.close()
    _age_heartbeat(store, job.id, 3600)  # even a lapsed job is left alone by a refused start
    with pytest.raises(SpecError):
        busy2 = socket.socket()
        busy2.bind(("127.0.0.1", port))
        busy2.listen(1)
        try:
            serve("127.0.0.1", port, home=tmp_path / "home", url=store.url)
        finally:
            busy2.close()
    assert store.get_run(job.id).status == "running"
    assert not other_home.exists()


def test_serve_refuses_an_open_host_without_a_token_before_anything(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="refusing to listen on 0.0.0.0"):
        serve("0.0.0.0", 0, home=tmp_path / "h")
    with pytest.raises(SpecError, match="MEDIAMIX_TOKEN uses only 1"):
        serve("0.0.0.0", 0, home=tmp_path / "h", token="a" * 16)
    assert not (tmp_path / "h").exists()


# ------------------------------------------------------------------------- tokens (D149-D150)
@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        (" " * 20, "spaces"),
        ("a" * 16, "only 1 different"),
        ("short", "has 5 characters; use at least 16"),
        ("abcabcabcabcabcabc", "only 3 different"),
        ("abcdefabcdefabcdef", "repeats 'abcdef'"),
        ("abcdefghijklmnop", "simple run"),
        ("0123456789abcdefghij", "simple run"),
        ("correct horse battery", "spaces"),
    ],
)
def test_weak_tokens_are_refused_with_the_rule(store: Store, token, fragment) -> None:
    assert fragment in (weak_token_reason(token) or "")
    with pytest.raises(SpecError, match="MEDIAMIX_TOKEN") as err:
        create_app(store, token=token)
    assert "secrets.token_urlsafe" in str(err.value)


def test_random_tokens_are_accepted() -> None:
    for _ in range(200):
        assert weak_token_reason(secrets.token_urlsafe()) is None
        assert weak_token_reason(secrets.token_hex(8)) is None  # 16 hex characters
    assert weak_token_reason("s3cret-token-0123456789") is None


def test_login_keeps_the_token_out_of_the_address(store: Store) -> None:
    token = secrets.token_urlsafe()
    with TestClient(create_app(store, token=token)) as c:
        form = c.get("/login")
        assert form.status_code == 200 and 'method="post"' in form.text
        assert 'name="token"' in form.text and token not in form.text
        r = c.get("/api/runs")
        assert r.status_code == 401 and "sign in at /login" in r.json()["detail"]
        assert "?token=" not in r.json()["detail"]
        assert c.post("/login", data={"token": "nope"}).status_code == 401
        r = c.post("/login", data={"token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/runs"
        assert token not in r.headers["location"]
        assert c.get("/runs").status_code == 200
        r = c.post("/login", data={"token": token}, headers={"origin": "http://evil.example"})
        assert r.status_code == 403


def test_null_and_lookalike_origins_are_refused(store: Store) -> None:
    with TestClient(create_app(store), base_url="http://127.0.0.1:18631") as c:
        body = {"name": "x", "responses": RESPONSES}
        for origin in ("null", "http://127.0.0.1:18631.evil.example", "http://evil.example"):
            r = c.post("/api/runs/import", json=body, headers={"origin": origin})
            assert r.status_code == 403 and "cross-origin" in r.json()["detail"], origin
        assert c.get("/api/runs").json() == []


# -------------------------------------------------------------------- scenario history
def test_scenarios_have_updated_at_soft_delete_and_a_history(db_url: str, tmp_path) -> None:
    store = Store(db_url, tmp_path)
    run = store.create_run("m", status="done", responses=RESPONSES)
    s = store.save_scenario(run.id, "Plan A", problem=PROBLEM, plan=PLAN)
    assert s.updated_at == s.created_at
    renamed = store.rename_scenario(s.id, "Plan B")
    assert renamed.updated_at > s.created_at
    store.delete_scenario(s.id)
    assert store.list_scenarios() == []
    with pytest.raises(NotFoundError, match=r"was deleted on .*history"):
        store.get_scenario(s.id)
    with pytest.raises(NotFoundError):
        store.delete_scenario(s.id)
    events = store.scenario_history(s.id)
    assert [(e.action, e.name, e.previous_name) for e in events] == [
        ("create", "Plan A", None),
        ("rename", "Plan B", "Plan A"),
        ("delete", "Plan B", None),
    ]
    assert events[0].at <= events[1].at <= events[2].at
    again = store.save_scenario(run.id, "Plan B", problem=PROBLEM)  # the name is free again
    assert again.id != s.id
    with pytest.raises(Exception, match="already exists"):
        store.save_scenario(run.id, "Plan B", problem=PROBLEM)
    with store.engine.connect() as conn:  # the deleted row is still there
        assert conn.execute(text("SELECT count(*) FROM scenarios")).scalar_one() == 2
    store.close()


def test_the_api_hides_deleted_scenarios_and_serves_their_history(client, run_id) -> None:
    sid = client.post(
        "/api/scenarios", json={"run_id": run_id, "name": "A", "problem": PROBLEM}
    ).json()["id"]
    assert client.patch(f"/api/scenarios/{sid}", json={"name": "B"}).status_code == 200
    assert client.delete(f"/api/scenarios/{sid}").status_code == 204
    assert client.get("/api/scenarios").json() == []
    r = client.get(f"/api/scenarios/{sid}")
    assert r.status_code == 404 and "was deleted" in r.json()["detail"]
    assert client.get(f"/api/scenarios/compare?ids={sid}").status_code == 404
    history = client.get(f"/api/scenarios/{sid}/history").json()
    assert [h["action"] for h in history] == ["create", "rename", "delete"]
    assert history[1] == {**history[1], "name": "B", "previous_name": "A"}
    assert client.get("/api/scenarios/999/history").status_code == 404
    assert "B" not in client.get("/scenarios").text.split("<tbody>")[1].split("</tbody>")[0]


def test_upgrade_from_0002_keeps_scenarios_and_frees_deleted_names(db_url, tmp_path) -> None:
    from mediamix.app.store import current_revision, make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, name, created_at, status, method, run_dir, progress,"
                " message) VALUES ('r1', 'old', :t, 'done', 'svi', '/x', 1, '')"
            ),
            {"t": "2025-01-02 03:04:05"},
        )
        conn.execute(
            text(
                "INSERT INTO scenarios (run_id, name, created_at, problem)"
                " VALUES ('r1', 'kept', :t, :p)"
            ),
            {"t": "2025-01-02 03:04:05", "p": json.dumps(PROBLEM)},
        )
    engine.dispose()
    store = Store(db_url, tmp_path)
    assert current_revision(store.engine) == "0003"
    (s,) = store.list_scenarios("r1")
    assert (s.name, s.problem, s.updated_at) == ("kept", PROBLEM, None)
    with pytest.raises(Exception, match="already exists"):
        store.save_scenario("r1", "kept", problem=PROBLEM)
    store.delete_scenario(s.id)
    assert store.save_scenario("r1", "kept", problem=PROBLEM).name == "kept"
    assert store.scenario_history(s.id)[-1].action == "delete"
    store.close()


# ------------------------------------------------------------------------- schema (D152)
def test_the_schema_documents_every_refusal_with_a_string_detail(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["ErrorOut"]["properties"]["detail"]["type"] == "string"
    assert schemas["ValidationErrorOut"]["properties"]["detail"]["type"] == "string"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert {"400", "401", "403", "404", "409", "413", "422"} <= codes, (method, path)
            ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ValidationErrorOut"), (method, path)
    r = client.get("/api/scenarios/abc")
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def test_a_failed_runs_report_is_a_404_naming_the_run(client: TestClient, store: Store) -> None:
    run = store.create_run("sales model", status="failed", message="column 'x' is missing")
    r = client.get(f"/runs/{run.id}/report")
    assert r.status_code == 404 and "'sales model'" in r.text


def test_an_upload_filename_never_becomes_a_path(store: Store, tmp_path: Path) -> None:
    import pandas as pd

    weeks = pd.date_range("2024-01-07", periods=60, freq="7D").strftime("%Y-%m-%d")
    rows = "\n".join(f"{w},{100 + i},{10 + i % 3},{5 + i % 2}" for i, w in enumerate(weeks))
    data = ("week,sales,tv,search\n" + rows + "\n").encode()
    with TestClient(create_app(store, executor=NoJobs())) as c:
        r = c.post(
            "/api/runs",
            data={"date": "week", "kpi": "sales", "channels": "tv,search"},
            files={"file": ("../../../../tmp/evil.csv", data)},
        )
        assert r.status_code == 202, r.text
        run = store.get_run(r.json()["run"]["id"])
    assert (run.run_dir / "data.csv").read_bytes() == data
    assert run.run_dir.parent == store.home / "runs"
    assert not any(p.name == "evil.csv" for p in tmp_path.rglob("*"))


@pytest.mark.parametrize(
    "responses",
    [
        [{"x": 1}],
        "not a list",
        [{"name": "tv", "family": "log1p", "params": {"a": "lots"}}],
        [{"name": "tv", "family": "nope"}],
        [{"name": "tv", "family": "log1p", "params": {"a": 1.0}, "reference_spend": "x"}],
    ],
)
def test_bad_stored_response_curves_never_take_a_page_down(client, store: Store, responses):
    run = store.create_run("bad curves", status="done")
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET responses = :r WHERE id = :id"),
            {"r": json.dumps(responses), "id": run.id},
        )
    for path in ("/runs", f"/runs/{run.id}", "/planner", f"/planner?run={run.id}"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/api/runs/{run.id}").status_code == 200
    # a curve the planner can read after the repair is used; any other is a 422 with the reason
    for r in (
        client.get(f"/api/runs/{run.id}/curves"),
        client.post(f"/api/runs/{run.id}/optimise", json={"budget": 10}),
    ):
        assert r.status_code in (200, 422), r.text
        assert r.status_code == 200 or r.json()["detail"]
