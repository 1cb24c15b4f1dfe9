"""The planner's JSON API and pages over a real store: every endpoint, good and bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from mediamix.app import services
from mediamix.app.server import LOOPBACK_HOSTS, create_app, is_loopback
from mediamix.app.store import Store
from mediamix.errors import SpecError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSES = [
    {"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]
GOOD_CSV = b"week,sales,tv,search\n2024-01-07,100,10,5\n2024-01-14,120,12,6\n"


@pytest.fixture
def client(store: Store):
    with TestClient(create_app(store, max_upload_bytes=4096)) as c:
        yield c


@pytest.fixture
def run_id(client: TestClient) -> str:
    r = client.post("/api/runs/import", json={"name": "demo", "responses": RESPONSES})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(client: TestClient, data: bytes, **fields):
    form = {"date": "week", "kpi": "sales", "channels": "tv,search", **fields}
    return client.post("/api/runs", data=form, files={"file": ("../../evil.csv", data)})


# ---------------------------------------------------------------------------------- runs
def test_health_and_openapi_document_every_endpoint(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    paths = set(client.get("/openapi.json").json()["paths"])
    for path in (
        "/api/runs",
        "/api/runs/import",
        "/api/runs/{run_id}",
        "/api/jobs/{run_id}",
        "/api/runs/{run_id}/optimise",
        "/api/runs/{run_id}/curves",
        "/api/scenarios",
        "/api/scenarios/{scenario_id}",
        "/api/scenarios/compare",
        "/api/scenarios/{scenario_id}/export.csv",
        "/api/scenarios/{scenario_id}/export.yaml",
    ):
        assert path in paths


def test_import_list_get_and_job(client: TestClient, run_id: str) -> None:
    runs = client.get("/api/runs").json()
    assert [r["id"] for r in runs] == [run_id]
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "done" and run["responses"][0]["name"] == "tv"
    assert "run_dir" not in run
    job = client.get(f"/api/jobs/{run_id}").json()
    assert job == {
        "id": run_id,
        "status": "done",
        "progress": 1.0,
        "message": "imported",
        "done": True,
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "responses": [{**RESPONSES[0], "family": "nope"}]}, "nope"),
        ({"name": "x", "responses": [{**RESPONSES[0], "params": {"a": "lots"}}]}, "params.a"),
        ({"name": "x", "responses": [RESPONSES[0], RESPONSES[0]]}, "more than once"),
        ({"name": "x", "responses": []}, "responses"),
        ({"name": "", "responses": RESPONSES}, "name"),
        ({"responses": RESPONSES}, "name: Field required"),
        ({"name": "x", "responses": RESPONSES, "colour": 1}, "colour"),
        ({"name": "x", "responses": [{**RESPONSES[0], "reference_spend": -1}]}, "reference_spend"),
    ],
)
def test_import_rejects_bad_input_with_a_message(client: TestClient, body, fragment) -> None:
    r = client.post("/api/runs/import", json=body)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]
    assert client.get("/api/runs").json() == []


def test_unknown_ids_are_404_with_a_message(client: TestClient) -> None:
    for path in ("/api/runs/nope", "/api/jobs/nope", "/api/runs/nope/curves", "/runs/nope"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "'nope' not found" in r.text
    r = client.post("/api/runs/nope/optimise", json={"budget": 10})
    assert r.status_code == 404
    assert client.get("/api/scenarios/99").status_code == 404
    assert client.get("/api/scenarios/99/export.csv").status_code == 404
    assert client.delete("/api/scenarios/99").status_code == 404
    assert client.get("/api/scenarios/abc").status_code == 422


def test_curves_follow_the_response_formula(client: TestClient, run_id: str) -> None:
    curves = {c["name"]: c for c in client.get(f"/api/runs/{run_id}/curves").json()}
    tv = curves["tv"]
    assert tv["spend"][0] == 0.0 and tv["spend"][-1] == pytest.approx(100.0)
    for x, y in zip(tv["spend"], tv["kpi"]):
        assert y == pytest.approx(20.0 * math.log1p(x), rel=1e-5)


# -------------------------------------------------------------------------------- upload
def test_upload_errors_name_the_problem_and_create_nothing(client: TestClient, store) -> None:
    r = upload(client, b"week,sales,tv\n2024-01-07,1,2\n")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "column 'search'" in detail and "is not in the data" in detail
    r = upload(client, b"")
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = upload(client, b"\x00\xff\xfe binary \x00")
    assert r.status_code == 422
    r = upload(client, GOOD_CSV, method="gradient")
    assert r.status_code == 422 and "method" in r.json()["detail"]
    r = upload(client, GOOD_CSV, channels=" , ")
    assert r.status_code == 422 and "at least one channel" in r.json()["detail"]
    assert client.get("/api/runs").json() == []
    assert not (store.home / "runs").exists() or not any((store.home / "runs").iterdir())


def test_upload_limit_is_enforced(client: TestClient) -> None:
    big = b"week,sales,tv,search\n" + b"2024-01-07,1,2,3\n" * 400
    r = upload(client, big)
    assert r.status_code == 413 and "upload limit of 4096 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the streamed body is counted
        for _ in range(10):
            yield b"x" * 1000

    r = client.post(
        "/api/runs/import", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert client.get("/api/runs").json() == []


@pytest.mark.slow
def test_upload_fits_in_the_background_and_the_run_can_be_planned(store: Store) -> None:
    from mediamix.data.simulate import simulate

    frame, _ = simulate(n_periods=60, n_channels=2, n_controls=0, seed=3)
    data = frame.to_csv(index=False).encode()
    form = {"date": "date", "kpi": "sales", "channels": "tv_spend,search_spend", "method": "map"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        with TestClient(create_app(store, executor=pool)) as client:
            r = client.post(
                "/api/runs", data={**form, "name": "../up"}, files={"file": ("../x.csv", data)}
            )
            assert r.status_code == 202, r.text
            run_id = r.json()["run"]["id"]
            seen = set()
            deadline = time.time() + 240
            while not (job := client.get(f"/api/jobs/{run_id}").json())["done"]:
                seen.add(job["status"])
                assert time.time() < deadline, job
                time.sleep(0.2)
    run = store.get_run(run_id)
    assert run.name == "../up" and run.run_dir.parent == store.home / "runs"
    assert (run.run_dir / "data.csv").read_bytes() == data
    assert not (store.home / "up").exists() and not (store.home / "x.csv").exists()
    assert seen <= {"queued", "running"}
    assert job["status"] == "done", job["message"]
    assert [r["name"] for r in run.responses] == ["tv_spend", "search_spend"]
    assert set(run.summary["channels"]) == {"tv_spend", "search_spend"}
    assert (run.run_dir / "summary.json").exists() and (run.run_dir / "responses.json").exists()
    # A web fit writes the same complete run folder as `mediamix fit`.
    from mediamix.runs import FORMAT_VERSION, RunDir

    folder = RunDir(run.run_dir).read()
    assert folder.format_version == FORMAT_VERSION and folder.summary == run.summary
    assert folder.table("contributions") is not None and folder.table("fit") is not None
    # The fitted curves go straight into the planner: the plan spends the budget in full.
    budget = sum(r["reference_spend"] for r in run.responses)
    with TestClient(create_app(store)) as client:
        r = client.post(f"/api/runs/{run_id}/optimise", json={"budget": budget})
    assert r.status_code == 200, r.text
    plan = r.json()["plan"]
    assert plan["spend_total"] == pytest.approx(budget, rel=1e-6)
    assert plan["kpi"] > 0

    # A fitted folder without responses.json is registered from its saved model.
    (run.run_dir / "responses.json").unlink()
    again = services.import_run_dir(store, run.run_dir, name="again")
    assert [r["name"] for r in again.responses] == ["tv_spend", "search_spend"]
    for new, old in zip(again.responses, run.responses):
        assert new["params"].keys() == old["params"].keys()
        for key, value in old["params"].items():
            assert new["params"][key] == pytest.approx(value, rel=1e-6)


def test_failed_fit_keeps_saved_scenarios(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url, tmp_path)
    good = store.create_run("good", status="done", responses=RESPONSES)
    saved = store.save_scenario(good.id, "keep", problem={"budget": 1.0}, plan={"kpi": 2.0})
    bad = store.create_run("bad", columns={"date": "week", "kpi": "sales", "channels": ["radio"]})
    (bad.run_dir / services.DATA_FILE).write_bytes(GOOD_CSV)
    services.run_fit(store, bad.id)  # the data layer's check fails inside the job
    failed = store.get_run(bad.id)
    assert failed.status == "failed" and "column 'radio'" in failed.message
    assert store.get_scenario(saved.id).plan == {"kpi": 2.0}
    assert store.get_run(good.id).status == "done"
    store.close()


# ------------------------------------------------------------------------------ planning
def test_build_problem_is_the_cli_problem_mapping(store: Store) -> None:
    run = store.create_run("m", status="done", responses=RESPONSES)
    problem = services.build_problem(
        run,
        {
            "budget": 120,
            "bounds": {"tv": [10, None]},
            "departments": {"rent": 50, "sales": 70},
            "shares": {"search": {"rent": 0.4, "sales": 0.6}},
            "risk": "cvar",
            "alpha": 0.05,
            "elastic_penalty": 1000,
        },
    )
    assert problem["objective"] == "kpi" and problem["budget"] == 120.0
    assert (problem["risk"], problem["alpha"]) == ("cvar", 0.05)
    assert problem["departments"] == {"rent": {"budget": 50.0}, "sales": {"budget": 70.0}}
    assert problem["elastic"] == {"penalty": 1000.0}
    tv, search = problem["channels"]
    assert tv["bounds"] == [10, None] and search["bounds"] == [0.0, None]
    assert search["shares"] == {"rent": 0.4, "sales": 0.6} and "shares" not in tv
    assert tv["response"] == {"type": "log1p", "a": 20.0} and tv["reference_spend"] == 50.0
    assert problem["kpi_value"] == 1.0 and "kpi_target" not in problem
    target = services.build_problem(run, {"objective": "min_spend", "target": 80})
    assert target["kpi_target"] == 80.0 and "budget" not in target
    with pytest.raises(SpecError, match="needs the minimum ROAS"):
        services.build_problem(run, {"objective": "kpi_at_min_roas", "budget": 10})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"budget": "lots"}, "budget"),
        ({"budget": -5}, "budget"),
        ({"budget": 10, "objective": "fame"}, "objective"),
        ({"budget": 10, "bounds": {"radio": [0, 1]}}, "unknown channel(s) ['radio']"),
        ({"budget": 10, "bounds": {"tv": [5, 1]}}, "lower bound 5.0 is above upper bound 1.0"),
        ({"budget": 10, "bounds": {"tv": [-1, 1]}}, "must be finite and >= 0"),
        ({"budget": 10, "alpha": 1.5}, "alpha"),
        ({"budget": 10, "shares": {"tv": {"hr": 0.5}}}, "unknown department(s) ['hr']"),
        ({"budget": 10, "departments": {"a": -1}}, "departments.a"),
    ],
)
def test_optimise_rejects_bad_input(client: TestClient, run_id: str, body, fragment) -> None:
    r = client.post(f"/api/runs/{run_id}/optimise", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]


@pytest.mark.parametrize(
    ("sweep", "fragment"),
    [([10, 5, 1], "need 0 < from <= to"), ([1, 100, 1], "at most 41"), ([0, 10, 1], "0 < from")],
)
def test_bad_sweeps_are_refused(client: TestClient, run_id: str, sweep, fragment) -> None:
    r = client.post(f"/api/runs/{run_id}/optimise", json={"budget": 10, "sweep": sweep})
    assert r.status_code == 422 and fragment in r.json()["detail"]


def test_sweep_budgets() -> None:
    assert services.sweep_budgets([10, 30, 10]) == [10.0, 20.0, 30.0]
    assert services.sweep_budgets([10, 35, 10]) == [10.0, 20.0, 30.0]
    assert services.sweep_budgets([0.1, 0.3, 0.1]) == pytest.approx([0.1, 0.2, 0.3])


def test_optimise_needs_a_finished_run(client: TestClient, store: Store) -> None:
    run = store.create_run("busy", status="running")
    r = client.post(f"/api/runs/{run.id}/optimise", json={"budget": 10})
    assert r.status_code == 422 and "is running" in r.json()["detail"]


def test_optimise_matches_the_closed_form(client: TestClient, run_id: str) -> None:
    # a_i * log(1 + x_i): equal marginal returns a_i / (1 + x_i) give
    # x_i = a_i (B + n) / sum(a) - 1, i.e. tv = 20 * 102 / 30 - 1 = 67, search = 33.
    r = client.post(f"/api/runs/{run_id}/optimise", json={"budget": 100})
    assert r.status_code == 200, r.text
    out = r.json()
    alloc = out["plan"]["allocation"]
    assert alloc["tv"] == pytest.approx(67.0, rel=1e-5)
    assert alloc["search"] == pytest.approx(33.0, rel=1e-5)
    rows = {row["channel"]: row for row in out["rows"]}
    assert rows["tv"]["change_abs"] == pytest.approx(17.0, rel=1e-4)
    assert rows["tv"]["change_rel"] == pytest.approx(17.0 / 50.0, rel=1e-4)  # today 50

    r = client.post(f"/api/runs/{run_id}/optimise", json={"budget": 100, "sweep": [50, 150, 50]})
    frontier = r.json()["plan"]["frontier"]
    assert [p["budget"] for p in frontier] == [50.0, 100.0, 150.0]
    for p in frontier:
        assert p["allocation"]["tv"] == pytest.approx(20 * (p["budget"] + 2) / 30 - 1, rel=1e-5)


def test_infeasible_bounds_give_a_clear_422_and_keep_scenarios(client: TestClient, run_id) -> None:
    saved = client.post(
        "/api/scenarios", json={"run_id": run_id, "name": "keep", "problem": {"budget": 1}}
    ).json()
    r = client.post(
        f"/api/runs/{run_id}/optimise",
        json={"budget": 10, "bounds": {"tv": [8, None], "search": [8, None]}},
    )
    assert r.status_code == 422 and r.json()["detail"]
    assert client.get(f"/api/scenarios/{saved['id']}").json()["name"] == "keep"


# ----------------------------------------------------------------------------- scenarios
def test_scenario_crud_compare_and_exports(client: TestClient, run_id: str, store: Store) -> None:
    problem = services.build_problem(store.get_run(run_id), {"budget": 100})
    plan = {
        "status": "optimal",
        "kpi": 90.5,
        "spend_total": 100.0,
        "allocation": {"tv": 67.0, "search": 33.0},
        "marginal_return": {"tv": 0.294, "search": 0.294},
    }
    r = client.post(
        "/api/scenarios",
        json={"run_id": run_id, "name": "Plan A", "problem": problem, "plan": plan},
    )
    assert r.status_code == 201
    a = r.json()
    b = client.post(
        "/api/scenarios",
        json={"run_id": run_id, "name": "Plan B", "problem": {**problem, "budget": 50}},
    ).json()

    dup = client.post(
        "/api/scenarios", json={"run_id": run_id, "name": "Plan A", "problem": problem}
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    assert (
        client.post(
            "/api/scenarios", json={"run_id": "nope", "name": "x", "problem": {}}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/scenarios", json={"run_id": run_id, "name": "x", "problem": [1]}
        ).status_code
        == 422
    )

    assert [s["name"] for s in client.get("/api/scenarios", params={"run_id": run_id}).json()] == [
        "Plan A",
        "Plan B",
    ]
    assert (
        client.patch(f"/api/scenarios/{b['id']}", json={"name": "Plan C"}).json()["name"]
        == "Plan C"
    )
    assert client.patch(f"/api/scenarios/{b['id']}", json={"name": "Plan A"}).status_code == 409

    cmp = client.get("/api/scenarios/compare", params={"ids": [a["id"], b["id"]]}).json()
    assert [s["name"] for s in cmp["scenarios"]] == ["Plan A", "Plan C"]
    assert cmp["allocation"] == {"tv": [67.0, None], "search": [33.0, None]}
    assert client.get("/api/scenarios/compare").status_code == 422

    r = client.get(f"/api/scenarios/{a['id']}/export.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["channel"] for row in rows] == ["tv", "search"]
    assert float(rows[0]["recommended_spend"]) == 67.0 and float(rows[0]["change_abs"]) == 17.0
    assert float(rows[1]["current_spend"]) == 50.0

    r = client.get(f"/api/scenarios/{a['id']}/export.yaml")
    assert yaml.safe_load(r.text) == problem
    from mediamix.optimize import Problem  # the CLI's reader accepts the export as it is

    assert [c.response.name for c in Problem.from_yaml(r.text).channels] == ["tv", "search"]
    assert "attachment" in r.headers["content-disposition"]

    assert client.delete(f"/api/scenarios/{a['id']}").status_code == 204
    assert [s["name"] for s in client.get("/api/scenarios").json()] == ["Plan C"]


# --------------------------------------------------------------------------------- pages
def test_pages_render_offline(client: TestClient, run_id: str) -> None:
    client.post(
        "/api/scenarios", json={"run_id": run_id, "name": "<b>bold</b>", "problem": {"budget": 3}}
    )
    for path in ("/runs", f"/runs/{run_id}", "/planner", f"/planner?run={run_id}", "/scenarios"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "https://" not in r.text and "http://" not in r.text, path
    assert "&lt;b&gt;bold&lt;/b&gt;" in client.get("/scenarios").text
    assert 'data-channel="tv"' in client.get("/planner").text
    js = client.get("/vendor/plotly.min.js")
    assert (
        js.status_code == 200
        and len(js.content) > 1_000_000
        and b"plotly" in js.content[:2000].lower()
    )
    assert client.get("/static/app.js").status_code == 200
    assert client.get(f"/runs/{run_id}/report").status_code == 404
    assert client.get("/docs").status_code == 404  # Swagger UI would load a CDN
    assert 'href="/openapi.json"' in client.get("/runs").text


# ------------------------------------------------------------------------------ security
def test_token_is_required_everywhere(store: Store) -> None:
    token = "s3cret-token-0123456789"
    with TestClient(create_app(store, token=token)) as client:
        for path in (
            "/api/runs",
            "/runs",
            "/static/app.js",
            "/vendor/plotly.min.js",
            "/openapi.json",
        ):
            assert client.get(path).status_code == 401, path
        r = client.get("/api/runs", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and "Bearer" in r.json()["detail"]
        assert (
            client.get("/api/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        )
        # The token goes in the login form's body, never in the address.
        assert client.post("/login", data={"token": "wrong"}).status_code == 401
        r = client.get("/login", params={"token": token}, follow_redirects=False)
        assert r.status_code == 200 and "set-cookie" not in r.headers
        assert client.get("/runs").status_code == 401
        r = client.post("/login", data={"token": token}, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/runs").status_code == 200  # the cookie now carries the token


def test_host_and_origin_checks(store: Store) -> None:
    with TestClient(
        create_app(store, allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8000"
    ) as c:
        assert c.get("/api/runs").status_code == 200
        assert c.get("/api/runs", headers={"host": "evil.example:8000"}).status_code == 400
        body = {"name": "x", "responses": RESPONSES}
        r = c.post("/api/runs/import", json=body, headers={"origin": "http://evil.example"})
        assert r.status_code == 403
        r = c.post("/api/runs/import", json=body, headers={"origin": "http://127.0.0.1:8000"})
        assert r.status_code == 201


def test_serve_refuses_open_host_without_a_token(monkeypatch, tmp_path: Path) -> None:
    from mediamix.cli import cli

    monkeypatch.delenv("MEDIAMIX_TOKEN", raising=False)
    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--home", str(tmp_path)])
    assert r.exit_code == 2 and "refusing to listen on 0.0.0.0" in r.output
    monkeypatch.setenv("MEDIAMIX_TOKEN", "short")
    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--home", str(tmp_path)])
    assert r.exit_code == 2 and "at least 16" in r.output
    assert not (tmp_path / "mediamix.db").exists()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_import_run_dir_registers_a_fitted_run(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "demo_run"
    with pytest.raises(SpecError, match="does not exist"):
        services.import_run_dir(store, src)
    src.mkdir()
    (src / "summary.json").write_text('{"method": "nuts", "fit_seconds": 3.5}')
    with pytest.raises(SpecError, match="responses.json' is missing and .* holds no saved model"):
        services.import_run_dir(store, src)
    (src / "responses.json").write_text('[{"name": "tv", "family": "hill", "params": {"beta": 1}}]')
    with pytest.raises(SpecError, match="tv"):  # hill needs k and s too
        services.import_run_dir(store, src)
    (src / "responses.json").write_text(json.dumps(RESPONSES))
    (src / "report.html").write_text("<html>report</html>")
    (src / "validation.json").write_text('{"tests": []}')
    run = services.import_run_dir(store, src, name="Demo")
    assert (run.status, run.method, run.name) == ("done", "nuts", "Demo")
    assert (run.run_dir / "validation.json").read_text() == '{"tests": []}'  # the run page's
    assert run.responses == RESPONSES and run.summary["fit_seconds"] == 3.5
    with TestClient(create_app(store)) as client:
        assert client.get(f"/runs/{run.id}/report").text == "<html>report</html>"
        assert f'href="/runs/{run.id}/report"' in client.get(f"/runs/{run.id}").text


def test_yaml_export_summarises_draws_and_keeps_the_exact_problem_on_ask(
    client: TestClient, run_id: str, store: Store
) -> None:
    problem = services.build_problem(store.get_run(run_id), {"budget": 100})
    tv = problem["channels"][0]
    key = next(k for k, v in tv["response"].items() if isinstance(v, int | float))
    value = tv["response"][key]
    draws = [value * f for f in (0.8, 1.0, 1.2, 1.0)]  # four posterior draws of a parameter
    tv["response"][key] = draws
    r = client.post("/api/scenarios", json={"run_id": run_id, "name": "D", "problem": problem})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    readable = client.get(f"/api/scenarios/{sid}/export.yaml")
    assert readable.status_code == 200
    assert "tv (4 draws)" in readable.text and "?exact=true" in readable.text
    short = yaml.safe_load(readable.text)
    assert short["channels"][0]["response"][key] == pytest.approx(sum(draws) / 4)
    assert short["channels"][1] == problem["channels"][1]  # no draws: unchanged
    from mediamix.optimize import Problem, solve

    assert solve(Problem.from_yaml(readable.text)).status == "optimal"

    exact = client.get(f"/api/scenarios/{sid}/export.yaml", params={"exact": "true"})
    assert yaml.safe_load(exact.text) == problem
    assert "draws)" not in exact.text
