"""Cancel and retry web fit jobs: a running fit stops between two chunks of the optimiser and
ends "cancelled" with nothing written; a failed or cancelled run is fitted again from its
stored upload; a cancel of a finished fit or a retry of a live or finished one is a 409."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mediamix.app import services
from mediamix.app.server import create_app
from mediamix.app.services import fits
from mediamix.app.store import Store
from tests.app.test_browser import browser  # noqa: F401
from tests.app.test_planner_browser import live, page  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

RESPONSES = [{"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0}]
CHANNELS = "tv_spend,search_spend"


@pytest.fixture
def app_client(store: Store):
    jobs = ThreadPoolExecutor(max_workers=1)
    with TestClient(create_app(store, executor=jobs)) as c:
        yield c
    jobs.shutdown(wait=True)


@pytest.fixture(scope="module")
def csv_bytes() -> bytes:
    from mediamix.data.simulate import simulate

    frame, _ = simulate(n_periods=60, n_channels=2, n_controls=0, seed=3)
    return frame.to_csv(index=False).encode()


def upload(client: TestClient, data: bytes, method: str = "svi", channels: str = CHANNELS):
    form = {"date": "date", "kpi": "sales", "channels": channels, "method": method, "name": "m"}
    r = client.post("/api/runs", data=form, files={"file": ("weeks.csv", data)})
    assert r.status_code == 202, r.text
    return r.json()["run"]["id"]


def wait_done(client: TestClient, run_id: str, seconds: float = 300) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{run_id}").json()
        if job["done"]:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {run_id} still not done after {seconds} s: {job}")


def test_cancel_a_running_svi_fit_then_retry_it(
    store: Store, app_client: TestClient, csv_bytes: bytes, monkeypatch
) -> None:
    monkeypatch.setitem(fits.FIT_OPTIONS, "svi", {"steps": 400, "draws": 50})
    first_chunk, cancel_sent = threading.Event(), threading.Event()
    updates: list[tuple[str, float, str]] = []
    real_update = store.update_run

    def recording(run_id, **fields):
        run = real_update(run_id, **fields)
        updates.append((run.status, run.progress, run.message))
        if "optimising" in run.message and not first_chunk.is_set():
            first_chunk.set()  # the first progress update of the optimiser: cancel now
            assert cancel_sent.wait(60)
        return run

    monkeypatch.setattr(store, "update_run", recording)
    run_id = upload(app_client, csv_bytes)
    assert first_chunk.wait(300), updates
    r = app_client.post(f"/api/runs/{run_id}/cancel")
    cancel_sent.set()
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "cancelling" and not r.json()["done"]
    again = app_client.post(f"/api/runs/{run_id}/cancel")  # a second cancel changes nothing
    assert again.status_code == 202 and again.json()["status"] in ("cancelling", "cancelled")

    job = wait_done(app_client, run_id)
    assert job["status"] == "cancelled", job
    assert job["message"].startswith("cancelled at ") and "SVI" in job["message"]
    assert "retry" in job["message"] and "Traceback" not in job["message"]
    late = app_client.post(f"/api/runs/{run_id}/cancel")  # a cancel after it stopped
    assert (late.status_code, late.json()["status"]) == (202, "cancelled")
    # it stopped between chunks, long before the 400 steps: at most one chunk after the cancel
    steps = [int(m.split("optimising ")[1].split("/")[0]) for _, _, m in updates
             if "optimising" in m]  # fmt: skip
    assert steps == [20, 40], updates
    run = store.get_run(run_id)
    assert run.summary is None and run.responses is None
    # the run folder holds the upload only: nothing of a fit, no half-written staging folder
    home_runs = run.run_dir.parent
    assert sorted(p.name for p in run.run_dir.iterdir()) == [services.DATA_FILE]
    assert [p.name for p in home_runs.iterdir() if p.name.startswith(".")] == []
    html = app_client.get(f"/runs/{run_id}").text
    assert 'id="retry-button"' in html and 'id="run-cancelled"' in html
    assert 'id="cancel-button"' not in html

    monkeypatch.setattr(store, "update_run", real_update)
    r = app_client.post(f"/api/runs/{run_id}/retry")
    assert r.status_code == 202, r.text
    assert r.json()["run"]["id"] == run_id and r.json()["job"]["status"] in ("queued", "running")
    job = wait_done(app_client, run_id)
    assert job["status"] == "done", job
    run = store.get_run(run_id)
    assert run.method == "svi"
    assert run.columns["channels"] == ["tv_spend", "search_spend"]
    assert [c["name"] for c in run.responses] == ["tv_spend", "search_spend"]
    assert (run.run_dir / "meta.json").is_file()
    # a finished fit can be neither cancelled nor retried
    r = app_client.post(f"/api/runs/{run_id}/cancel")
    assert r.status_code == 409 and "is done" in r.json()["detail"]
    assert "only a queued or running fit can be cancelled" in r.json()["detail"]
    r = app_client.post(f"/api/runs/{run_id}/retry")
    assert r.status_code == 409 and "only a failed or cancelled fit" in r.json()["detail"]


def test_a_running_fit_page_shows_cancel_and_a_live_one_cannot_be_retried(
    store: Store, app_client: TestClient
) -> None:
    run = store.create_run("m", status="running", columns={"date": "d", "kpi": "k"})
    html = app_client.get(f"/runs/{run.id}").text
    assert 'id="cancel-button"' in html and 'id="retry-button"' not in html
    r = app_client.post(f"/api/runs/{run.id}/retry")
    assert r.status_code == 409
    assert "is running" in r.json()["detail"] and "cancel it first" in r.json()["detail"]
    assert app_client.post("/api/runs/nosuchrun/cancel").status_code == 404
    assert app_client.post("/api/runs/nosuchrun/retry").status_code == 404
    imported = app_client.post("/api/runs/import", json={"name": "i", "responses": RESPONSES})
    r = app_client.post(f"/api/runs/{imported.json()['id']}/cancel")
    assert r.status_code == 409 and "is done" in r.json()["detail"]


def test_a_queued_job_cancelled_before_it_starts_never_runs(store: Store, csv_bytes) -> None:
    columns = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"]}
    run = store.create_run("m", columns=columns)
    (run.run_dir / services.DATA_FILE).write_bytes(csv_bytes)
    cancelled = fits.cancel_fit(store, run.id)
    assert cancelled.status == "cancelled" and "before the fit started" in cancelled.message
    called = []
    fits.run_fit(store, run.id, fit=lambda *a: called.append(a))  # the executor gets to it
    assert called == [] and store.get_run(run.id).status == "cancelled"
    requeued = store.requeue_run(run.id)
    assert (requeued.status, requeued.progress, requeued.owner) == ("queued", 0.0, store.server_id)
    assert store.beat() == 1  # a re-queued job is this server's live job


def test_a_cancel_while_the_folder_is_written_never_reads_done(store: Store, csv_bytes) -> None:
    columns = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"]}
    run = store.create_run("m", columns=columns)
    (run.run_dir / services.DATA_FILE).write_bytes(csv_bytes)

    def fit(dataset, method, run_dir, progress):
        progress(0.5, "fitting")
        store.request_cancel(run.id)  # arrives after the last progress update
        return {"channels": []}, RESPONSES

    fits.run_fit(store, run.id, fit=fit)
    got = store.get_run(run.id)
    assert got.status == "cancelled" and "results are not used" in got.message
    assert got.summary is None and got.responses is None


def test_a_failed_fit_is_retried_with_the_same_columns(store: Store, csv_bytes) -> None:
    columns = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "radio"]}
    run = store.create_run("m", columns=columns, method="map")
    (run.run_dir / services.DATA_FILE).write_bytes(csv_bytes)
    fits.run_fit(store, run.id)
    failed = store.get_run(run.id)
    assert failed.status == "failed" and "radio" in failed.message
    with pytest.raises(Exception, match="only a queued or running fit can be cancelled"):
        store.request_cancel(run.id)
    again = fits.retry_fit(store, run.id)  # no executor: runs before returning
    assert (again.status, again.message, again.method) == ("failed", failed.message, "map")
    (run.run_dir / services.DATA_FILE).unlink()
    with pytest.raises(Exception, match="no stored upload"):
        fits.retry_fit(store, run.id)


def test_a_lapsed_cancelling_job_of_a_stopped_server_ends_cancelled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first, second = Store(url, tmp_path / "home"), Store(url, tmp_path / "home")
    run = first.create_run("m", status="running")
    first.request_cancel(run.id)
    assert second.fail_interrupted(grace_seconds=60) == 0  # its heartbeat is fresh
    assert second.fail_interrupted(grace_seconds=0) == 1
    got = second.get_run(run.id)
    assert got.status == "cancelled" and "retry" in got.message
    first.close()
    second.close()


@pytest.mark.slow
def test_the_run_page_cancels_and_retries_in_a_browser(
    page,  # noqa: F811
    live,  # noqa: F811
    csv_bytes,
    monkeypatch,
) -> None:
    """Headless Chromium: Cancel on a fitting run asks the job to stop; Retry on a cancelled
    one says why it cannot (no stored upload), then fits the stored upload again."""
    monkeypatch.setitem(fits.FIT_OPTIONS, "svi", {"steps": 200, "draws": 50})
    store: Store = live["store"]
    columns = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"]}
    run = store.create_run("Fitting", status="running", columns=columns, method="svi")
    page.goto(f"{live['base']}/runs/{run.id}")
    page.click("#cancel-button")
    page.wait_for_function("document.getElementById('run-status').textContent === 'cancelling'")
    assert page.locator("#cancel-button").is_disabled()
    assert store.get_run(run.id).status == "cancelling"
    store.cancelled(run.id, "cancelled at 40% (SVI); retry to fit it again")  # the job stops
    page.wait_for_selector("#retry-button")  # the page reloaded when the job ended
    assert "cancelled at 40%" in page.locator("#run-cancelled").inner_text()
    page.click("#retry-button")
    page.wait_for_selector("#retry-error:not([hidden])")
    assert "no stored upload" in page.locator("#retry-error").inner_text()
    (run.run_dir / services.DATA_FILE).write_bytes(csv_bytes)
    page.click("#retry-button")
    page.wait_for_function(
        "document.getElementById('run-status').textContent === 'done'", timeout=300_000
    )
    assert store.get_run(run.id).status == "done"
