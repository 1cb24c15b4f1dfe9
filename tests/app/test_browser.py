"""The planner end to end in headless Chromium (Debian's package, driven by Playwright).

The server is the real `mediamix serve` in a subprocess on a free loopback port, over a
SQLite store in a temporary directory. Every request the page makes to anything other than
that server is aborted and counted, so the pages are checked to work offline. Screenshots
go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mediamix.app.store import Store

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
RESPONSES = [
    {"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]

pytestmark = pytest.mark.slow

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError("chromium is missing in CI; scripts/test.sh installs it with apt-get")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mediamix serve` on a free port, with one run of two log1p channels in its store."""
    home = tmp_path_factory.mktemp("home")
    store = Store.open(home)
    run = store.create_run("Demo model", status="done", responses=RESPONSES, message="imported")
    store.close()
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("MEDIAMIX_DATABASE_URL", "MEDIAMIX_TOKEN")
    }
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mediamix.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--home",
            str(home),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError((home / "server.log").read_text())
        time.sleep(0.2)
    yield {"base": base, "run_id": run.id, "home": home}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(server["base"]):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    p = context.new_page()
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert outside == [], f"the pages tried to reach the network: {outside}"
    assert errors == [], f"JavaScript errors: {errors}"


def test_runs_upload_error_and_curves(page, server) -> None:
    base = server["base"]
    page.goto(base + "/runs")
    row = page.locator(f"tr[data-run='{server['run_id']}']")
    assert row.locator("td").first.inner_text() == "Demo model"
    assert row.locator(".status").inner_text() == "done"

    page.set_input_files(
        "#upload-form input[name=file]",
        files=[
            {
                "name": "weeks.csv",
                "mimeType": "text/csv",
                "buffer": b"week,sales,tv\n2024-01-07,100,10\n",
            }
        ],
    )
    page.fill("#upload-form input[name=date]", "week")
    page.fill("#upload-form input[name=kpi]", "sales")
    page.fill("#upload-form input[name=channels]", "tv,radio")
    page.click("#upload-button")
    error = page.locator("#upload-error")
    error.wait_for(state="visible", timeout=10_000)
    assert "column 'radio'" in error.inner_text()
    page.screenshot(path=str(ARTIFACTS / "runs-upload-error.png"), full_page=True)
    assert page.locator("tr[data-run]").count() == 1  # nothing was created

    page.goto(f"{base}/runs/{server['run_id']}")
    page.wait_for_selector("#curves-chart .main-svg", timeout=15_000)  # Plotly drew, offline
    assert page.evaluate("typeof Plotly") == "object"
    assert page.locator("#curves-chart .scatterlayer .trace").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "run-curves.png"), full_page=True)


def test_planner_budget_slider_and_box_agree(page, server) -> None:
    started = time.perf_counter()
    page.goto(server["base"] + "/planner")
    page.wait_for_load_state("load")
    load_seconds = time.perf_counter() - started
    channels = page.locator("#bounds-table tr[data-channel]")
    assert [channels.nth(i).get_attribute("data-channel") for i in range(2)] == ["tv", "search"]
    assert float(page.input_value("#budget-input")) == 100.0  # today's total spend
    page.fill("#budget-range", "180")
    assert float(page.input_value("#budget-input")) == 180.0
    page.fill("#budget-input", "120")
    assert float(page.input_value("#budget-range")) == 120.0
    page.screenshot(path=str(ARTIFACTS / "planner.png"), full_page=True)
    (ARTIFACTS / "planner-load.json").write_text(json.dumps({"page_load_s": load_seconds}))


def test_plan_save_reload_find(page, server) -> None:
    base = server["base"]
    timings = {}
    started = time.perf_counter()
    page.goto(base + "/planner")
    page.wait_for_load_state("load")
    timings["planner_load_s"] = time.perf_counter() - started
    for box in page.locator("#bounds-table .pct").all():  # no +-% guard-rail: the exact optimum
        box.fill("")

    def optimise(budget: float) -> dict[str, float]:
        page.fill("#budget-input", str(budget))
        t0 = time.perf_counter()
        with page.expect_response(lambda r: r.url.endswith("/optimise")) as resp:
            page.click("#optimise-button")
        assert resp.value.status == 200, resp.value.text()
        page.wait_for_function("document.querySelectorAll('#plan-table tbody tr').length === 2")
        timings.setdefault("optimise_roundtrip_s", []).append(time.perf_counter() - t0)
        cells = page.locator("#plan-table tbody tr td.recommended")
        return {
            page.locator("#plan-table tbody tr").nth(i).get_attribute("data-channel"): float(
                cells.nth(i).inner_text().replace(",", "")
            )
            for i in range(2)
        }

    # a_i log(1 + x_i): x_i = a_i (B + 2) / 30 - 1
    first = optimise(100)
    assert first["tv"] == pytest.approx(67.0, rel=1e-3)
    assert first["search"] == pytest.approx(33.0, rel=1e-3)
    second = optimise(160)
    assert second["tv"] == pytest.approx(20 * 162 / 30 - 1, rel=1e-3)
    page.screenshot(path=str(ARTIFACTS / "planner-plan.png"), full_page=True)

    page.fill("#scenario-name", "Budget 160")
    page.click("#save-button")
    page.wait_for_function("document.getElementById('save-status').textContent.includes('Saved')")
    assert page.request.get(base + "/favicon.ico").status == 200

    page.goto(base + "/scenarios")
    page.reload()
    names = page.locator("#scenarios-table td.name").all_inner_texts()
    assert "Budget 160" in names
    page.locator("#scenarios-table input.pick").first.check()
    page.click("#compare-button")
    page.wait_for_selector("#compare-table:not([hidden])")
    page.screenshot(path=str(ARTIFACTS / "scenarios.png"), full_page=True)
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))


def test_scenarios_compare_export_delete(page, server) -> None:
    base, run_id = server["base"], server["run_id"]
    problem = {"budget": 100.0, "channels": [{"name": "tv"}, {"name": "search"}]}
    for name, alloc in (
        ("Low TV", {"tv": 30.0, "search": 70.0}),
        ("High TV", {"tv": 80.0, "search": 20.0}),
    ):
        req = urllib.request.Request(
            base + "/api/scenarios",
            data=json.dumps(
                {
                    "run_id": run_id,
                    "name": name,
                    "problem": problem,
                    "plan": {"kpi": 1.0, "spend_total": 100.0, "allocation": alloc},
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 201
    page.goto(base + "/scenarios")
    rows = page.locator("#scenarios-table tr[data-scenario]")
    names = rows.locator("td.name").all_inner_texts()
    assert "Low TV" in names and "High TV" in names
    page.click("#compare-button")  # nothing ticked: a message, no table
    assert "Tick the scenarios" in page.locator("#compare-error").inner_text()
    for name in ("Low TV", "High TV"):
        rows.filter(has_text=name).locator("input.pick").check()
    page.click("#compare-button")
    page.wait_for_selector("#compare-table:not([hidden])")
    header = page.locator("#compare-table thead td").all_inner_texts()
    assert header[1:] == ["Low TV", "High TV"]
    tv = page.locator("#compare-table tbody tr").filter(has_text="tv").first
    assert tv.locator("td").all_inner_texts()[1:] == ["30", "80"]
    page.screenshot(path=str(ARTIFACTS / "scenarios-compare.png"), full_page=True)

    with page.expect_download() as download:
        rows.filter(has_text="High TV").get_by_text("YAML").click()
    assert "budget: 100.0" in Path(download.value.path()).read_text()

    before = rows.count()
    rows.filter(has_text="Low TV").locator("button.delete").click()
    page.wait_for_function(
        f"document.querySelectorAll('#scenarios-table tr[data-scenario]').length === {before - 1}",
        timeout=10_000,
    )
    page.reload()
    assert "Low TV" not in page.locator("#scenarios-table").inner_text()
    assert "High TV" in page.locator("#scenarios-table").inner_text()
