"""The store on SQLite and PostgreSQL: runs, scenarios, names, migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from mediamix.app.store import Store, current_revision, make_engine, upgrade
from mediamix.errors import ConflictError, NotFoundError, SpecError

PROBLEM = {
    "objective": "kpi",
    "budget": 300.0,
    "channels": [{"name": "tv", "response": {"type": "log1p", "a": 20.0}}],
}


@pytest.fixture
def store(db_url: str, tmp_path: Path):
    s = Store(db_url, tmp_path / "home")
    yield s
    s.close()


def test_run_roundtrip_and_job_state(store: Store) -> None:
    run = store.create_run("Q3 model", method="nuts", columns={"kpi": "sales"})
    assert run.status == "queued" and run.progress == 0.0
    assert run.run_dir.is_dir() and run.run_dir.parent == store.home / "runs"
    assert run.run_dir.name == run.id

    store.update_run(run.id, status="running", progress=0.5, message="sampling")
    got = store.get_run(run.id)
    assert (got.status, got.progress, got.message) == ("running", 0.5, "sampling")
    assert got.columns == {"kpi": "sales"}
    assert got.created_at.tzinfo is not None

    summary = {"channels": {"tv": {"roas": {"mean": 1.5, "lower": 1.1, "upper": 1.9}}}}
    responses = [{"name": "tv", "family": "hill", "params": {"beta": 3.0, "k": 2.0, "s": 1.5}}]
    store.update_run(run.id, status="done", progress=1.0, summary=summary, responses=responses)
    got = store.get_run(run.id)
    assert got.summary == summary and got.responses == responses
    assert [r.id for r in store.list_runs()] == [run.id]


def test_user_names_never_become_paths(store: Store) -> None:
    run = store.create_run("../../etc/passwd")
    assert run.name == "../../etc/passwd"
    assert run.run_dir.resolve().parent == (store.home / "runs").resolve()
    assert "passwd" not in str(run.run_dir)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 201, "at most 200"),
        ("a\x00b", "control"),
        (3, "text"),
    ],
)
def test_bad_names_are_refused_with_a_reason(store: Store, name, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        store.create_run(name)
    assert store.list_runs() == []
    runs_dir = store.home / "runs"
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


def test_unknown_ids_and_fields(store: Store) -> None:
    with pytest.raises(NotFoundError, match="run 'nope' not found"):
        store.get_run("nope")
    with pytest.raises(NotFoundError, match="scenario 42 not found"):
        store.get_scenario(42)
    run = store.create_run("m")
    with pytest.raises(SpecError, match="run_dir"):
        store.update_run(run.id, run_dir="/tmp/elsewhere")
    with pytest.raises(SpecError, match="status 'weird'"):
        store.update_run(run.id, status="weird")
    with pytest.raises(NotFoundError):
        store.save_scenario("nope", "a", problem=PROBLEM)


def test_scenarios_crud_and_unique_names(store: Store) -> None:
    run = store.create_run("m", status="done")
    other = store.create_run("other", status="done")
    plan = {"allocation": {"tv": 300.0}, "kpi": 114.1}
    a = store.save_scenario(run.id, "plan A", problem=PROBLEM, plan=plan)
    b = store.save_scenario(run.id, "plan B", problem={**PROBLEM, "budget": 200.0})
    store.save_scenario(other.id, "plan A", problem=PROBLEM)  # same name, other run: fine

    with pytest.raises(ConflictError, match="'plan A' already exists"):
        store.save_scenario(run.id, "plan A", problem=PROBLEM)
    # The failed write left the saved ones as they were.
    assert [s.name for s in store.list_scenarios(run.id)] == ["plan A", "plan B"]
    assert store.get_scenario(a.id).plan == plan
    assert store.get_scenario(b.id).problem["budget"] == 200.0

    with pytest.raises(ConflictError):
        store.rename_scenario(b.id, "plan A")
    assert store.rename_scenario(b.id, "plan C").name == "plan C"
    store.delete_scenario(a.id)
    assert [s.name for s in store.list_scenarios(run.id)] == ["plan C"]
    assert len(store.list_scenarios()) == 2
    with pytest.raises(NotFoundError):
        store.delete_scenario(a.id)


def test_non_finite_numbers_are_stored_as_null(store: Store) -> None:
    run = store.create_run("m", status="done", summary={"rhat": float("nan"), "ess": (1.0, 2.0)})
    s = store.save_scenario(run.id, "p", problem=PROBLEM, plan={"gap": float("inf"), "kpi": 3.0})
    assert store.get_run(run.id).summary == {"rhat": None, "ess": [1.0, 2.0]}
    assert store.get_scenario(s.id).plan == {"gap": None, "kpi": 3.0}
    store.update_run(run.id, responses=[{"name": "tv", "x": float("-inf")}])
    assert store.get_run(run.id).responses == [{"name": "tv", "x": None}]


def test_interrupted_jobs_are_marked_failed_and_scenarios_kept(store: Store) -> None:
    done = store.create_run("done", status="done")
    s = store.save_scenario(done.id, "keep me", problem=PROBLEM)
    crashed = Store(store.url, store.home)  # a server that stopped during its job
    running = crashed.create_run("busy", status="running")
    crashed.close()
    assert store.fail_interrupted() == 0  # its heartbeat is still fresh
    assert store.fail_interrupted(grace_seconds=0.0) == 1  # ... and now it has lapsed
    assert store.get_run(running.id).status == "failed"
    assert "interrupted" in store.get_run(running.id).message
    assert store.get_run(done.id).status == "done"
    assert store.get_scenario(s.id).name == "keep me"


def test_reopening_keeps_data(db_url: str, tmp_path: Path) -> None:
    s1 = Store(db_url, tmp_path)
    run = s1.create_run("persisted", status="done")
    s1.save_scenario(run.id, "kept", problem=PROBLEM)
    s1.close()
    s2 = Store(db_url, tmp_path)
    assert s2.get_run(run.id).name == "persisted"
    assert [x.name for x in s2.list_scenarios(run.id)] == ["kept"]
    s2.close()


def test_upgrade_from_first_revision_keeps_rows(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    cols = {c["name"] for c in inspect(engine).get_columns("runs")}
    assert "progress" not in cols and "responses" not in cols
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, name, created_at, status, method, summary, run_dir)"
                " VALUES ('r1', 'old run', :t, 'done', 'nuts', :summary, '/data/runs/r1')"
            ),
            {"t": "2025-01-02 03:04:05", "summary": '{"fit_seconds": 12.5}'},
        )
        conn.execute(
            text(
                "INSERT INTO scenarios (run_id, name, created_at, problem, plan)"
                " VALUES ('r1', 'old plan', :t, :problem, NULL)"
            ),
            {"t": "2025-01-02 03:04:05", "problem": '{"budget": 300}'},
        )
    engine.dispose()

    store = Store(db_url, tmp_path)  # opening upgrades to head
    assert current_revision(store.engine) == "0003"
    run = store.get_run("r1")
    assert (run.name, run.status, run.method) == ("old run", "done", "nuts")
    assert run.summary == {"fit_seconds": 12.5}
    assert run.progress == 0.0 and run.message == "" and run.responses is None
    (scenario,) = store.list_scenarios("r1")
    assert (scenario.name, scenario.problem) == ("old plan", {"budget": 300})
    store.update_run("r1", responses=[{"name": "tv"}])
    assert store.get_run("r1").responses == [{"name": "tv"}]
    store.close()


def test_open_uses_home_and_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MEDIAMIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDIAMIX_HOME", str(tmp_path / "h"))
    store = Store.open()
    assert store.url == f"sqlite:///{(tmp_path / 'h' / 'mediamix.db').resolve()}"
    assert (tmp_path / "h" / "mediamix.db").exists()
    store.close()
    monkeypatch.setenv("MEDIAMIX_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    store = Store.open(home=tmp_path / "h2")
    assert store.url.endswith("other.db") and store.home == tmp_path / "h2"
    store.close()
