"""The planner's weeks-ahead view in headless Chromium: a run folder with its fitted model,
a 6-week plan with a dark week and a week-to-week limit, the weekly table and figure."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mediamix.app.server import create_app
from mediamix.app.store import Store
from tests.analysis.test_forecast import tiny_fitted
from tests.app.test_browser import ARTIFACTS, browser, free_port  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    import uvicorn

    from mediamix.runs import RunDir

    fitted, frame = tiny_fitted()
    home = tmp_path_factory.mktemp("home")
    store = Store.open(home)
    run = store.create_run("Weekly model", status="done", message="fitted")
    folder = RunDir(run.run_dir)
    summary = folder.write(fitted)
    store.update_run(run.id, responses=folder.read().responses, summary=summary)
    pool = ThreadPoolExecutor(max_workers=1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, executor=pool), host="127.0.0.1",
                                           port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.1)
    yield {"base": f"http://127.0.0.1:{port}", "run_id": run.id, "frame": frame}
    server.should_exit = True
    thread.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)
    store.close()


def test_weeks_ahead_view(browser, live) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live['base']}/planner?run={live['run_id']}")
        assert page.input_value("#horizon") == "13"
        # a malformed dark week is named on the page, nothing is sent
        page.fill("#horizon-dark", "tv-2022-03-07")
        page.click("#horizon-button")
        assert "channel:date" in page.locator("#horizon-error").inner_text()
        dark_day = str(live["frame"]["date"].iloc[62])[:10]  # the third planned week
        page.fill("#horizon", "6")
        page.fill("#horizon-max-change", "50")
        page.fill("#horizon-discount", "0.1")
        page.fill("#horizon-dark", f"tv:{dark_day}")
        with page.expect_response(lambda r: r.url.endswith("/horizon"), timeout=120_000) as got:
            page.click("#horizon-button")
        assert got.value.status == 200
        page.wait_for_selector("#horizon-table tbody tr", timeout=30_000)
        assert page.locator("#horizon-error").is_hidden()
        header = page.locator("#horizon-table thead th").all_inner_texts()
        assert header[:3] == ["week", "tv spend", "search spend"]
        rows = page.locator("#horizon-table tbody tr")
        assert rows.count() == 6
        third = rows.nth(2).locator("td").all_inner_texts()
        assert third[0] == dark_day and third[1] == "0"
        assert float(rows.nth(0).locator("td").nth(1).inner_text().replace(",", "")) > 0
        first = [v.replace(",", "") for v in rows.nth(0).locator("td").all_inner_texts()]
        low, high = (float(v) for v in first[4].split(" .. "))
        assert low < float(first[3]) < high  # the KPI inside its predictive band
        summary = page.locator("#horizon-summary").inner_text()
        assert summary.startswith("6 weeks, optimal, gap") and "constant weekly split" in summary
        assert page.locator("#horizon-chart .main-svg").count() > 0
        page.screenshot(path=str(ARTIFACTS / "planner-horizon.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"
