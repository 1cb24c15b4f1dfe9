"""The planner never lies, and fits show real progress (headless Chromium, Playwright).

The server runs in this process (uvicorn on a free loopback port, in a thread), so the web
fit's NUTS can be made small (`services.fits.FIT_OPTIONS`). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from mediamix.app.server import create_app
from mediamix.app.services import fits
from mediamix.app.store import Store
from tests.app.test_browser import ARTIFACTS, browser, free_port  # noqa: F401

pytestmark = pytest.mark.slow

RESPONSES = [
    {"name": "tv_spend", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search_spend", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]
SEEN = {"tv_spend": {"min": 30.0, "mean": 50.0, "max": 60.0},
        "search_spend": {"min": 20.0, "mean": 50.0, "max": 90.0}}  # fmt: skip


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    import uvicorn

    home = tmp_path_factory.mktemp("home")
    store = Store.open(home)
    run = store.create_run("Demo model", status="done", responses=RESPONSES, message="imported",
                           summary={"spend_range": SEEN})  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, executor=pool), host="127.0.0.1",
                                           port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.1)
    yield {"base": base, "run_id": run.id, "store": store}
    server.should_exit = True
    thread.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)
    store.close()


@pytest.fixture
def page(browser, live):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    p = context.new_page()
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def on_screen(page) -> dict:
    """The plan as the page shows it: budget box and the recommended spend per channel."""
    rows = page.locator("#plan-table tbody tr")
    return {
        "budget": float(page.input_value("#budget-input")),
        "allocation": {
            rows.nth(i).get_attribute("data-channel"): float(
                rows.nth(i).locator("td.recommended").inner_text().replace(",", "")
            )
            for i in range(rows.count())
        },
    }


def test_the_saved_scenario_is_the_plan_on_screen(page, live) -> None:
    base, run_id = live["base"], live["run_id"]
    page.goto(f"{base}/planner?run={run_id}")
    # channel names as people write them, the budget rounded and per period, CVaR hidden
    labels = page.locator("#bounds-table tbody td:first-child").all_inner_texts()
    assert labels == ["TV", "Search"]
    assert page.input_value("#budget-input") == "100"
    assert "Total budget per period" in page.locator("#planner-form").inner_text()
    assert page.locator("#alpha-label").is_hidden()
    page.select_option("#risk", "cvar")
    assert page.locator("#alpha-label").is_visible()
    assert "CVaR level" in page.locator("#alpha-label").inner_text()
    page.select_option("#risk", "mean")
    assert page.is_disabled("#save-button")  # nothing solved yet
    assert [
        v for v in page.locator("#bounds-table .pct").evaluate_all("e => e.map(x => x.value)")
    ] == ["50", "50"]

    # 1. budget 100: a plan, within the default +-50% guard-rail, warned where it extrapolates
    with page.expect_response(lambda r: r.url.endswith("/optimise")):
        page.click("#optimise-button")
    page.wait_for_function("!document.getElementById('save-button').disabled")
    first = on_screen(page)
    assert first["allocation"] == pytest.approx({"tv_spend": 67.0, "search_spend": 33.0}, rel=1e-3)
    warnings = page.locator("#plan-warnings li").all_inner_texts()
    assert len(warnings) == 1 and warnings[0].startswith("TV: 67 per period is above any spend")
    head = page.locator("#plan-headline").inner_text()
    assert (
        "Today's plan: 118 KPI per period" in head
        and "Expected gain: +1.7 KPI per period (+1.4%)" in head
    )
    change = page.locator("#plan-table tbody tr[data-channel=tv_spend] td.change").inner_text()
    assert change == "+34% (+17)"
    page.screenshot(path=str(ARTIFACTS / "planner-plan.png"), full_page=True)

    # 2. budget 80, Optimise, Save at once: the answer is held back, so the old plan is on
    #    screen while the new one solves; Save must not save it
    held = []
    page.route("**/optimise", lambda route: held.append(route))
    page.fill("#budget-input", "80")
    assert page.is_disabled("#save-button") and page.locator("#plan-stale").is_visible()
    page.click("#optimise-button")
    page.wait_for_function(
        "document.getElementById('solve-status').textContent.includes('Solving')"
    )
    assert page.is_disabled("#save-button")
    page.fill("#scenario-name", "Plan B - 80")
    page.locator("#save-button").dispatch_event("click")  # even a forced click saves nothing
    page.wait_for_timeout(300)
    assert get_json(f"{base}/api/scenarios") == []
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_function("!document.getElementById('save-button').disabled")
    shown = on_screen(page)
    assert shown["budget"] == 80
    # a_i log(1 + x_i): x_i = a_i (B + 2) / 30 - 1; the page shows 3 significant digits
    want = {"tv_spend": 20 * 82 / 30 - 1, "search_spend": 10 * 82 / 30 - 1}
    assert shown["allocation"] == pytest.approx(want, rel=2e-3)
    page.click("#save-button")
    page.wait_for_function("document.getElementById('save-status').textContent.includes('Saved')")
    (saved,) = get_json(f"{base}/api/scenarios")
    assert saved["name"] == "Plan B - 80"
    assert saved["problem"]["budget"] == shown["budget"]
    assert saved["plan"]["allocation"] == pytest.approx(want, rel=1e-6)
    assert saved["plan"]["allocation"] == pytest.approx(shown["allocation"], rel=2e-3)
    assert [c["bounds"] for c in saved["problem"]["channels"]] == [[25, 75], [25, 75]]
    page.unroute("**/optimise")

    # 3. an infeasible solve clears the plan: nothing to save
    page.fill("#bounds-table tr[data-channel=tv_spend] .lo", "70")
    page.fill("#bounds-table tr[data-channel=search_spend] .lo", "70")  # 140 > the budget of 80
    with page.expect_response(lambda r: r.url.endswith("/optimise")) as resp:
        page.click("#optimise-button")
    assert resp.value.status == 422
    page.wait_for_selector("#plan-error:not([hidden])")
    assert "infeasible" in page.locator("#plan-error").inner_text()
    assert page.locator("#plan-section").is_hidden() and page.is_disabled("#save-button")
    page.locator("#save-button").dispatch_event("click")
    page.wait_for_timeout(300)
    assert len(get_json(f"{base}/api/scenarios")) == 1

    # 4. back to the saved inputs: a new solve is needed before Save (the plan was cleared)
    page.fill("#bounds-table tr[data-channel=tv_spend] .lo", "")
    page.fill("#bounds-table tr[data-channel=search_spend] .lo", "")
    assert page.is_disabled("#save-button")
    page.screenshot(path=str(ARTIFACTS / "planner.png"), full_page=True)


def test_a_kpi_value_turns_cost_per_kpi_into_roas(page, live) -> None:
    page.goto(f"{live['base']}/planner?run={live['run_id']}")
    with page.expect_response(lambda r: r.url.endswith("/optimise")):
        page.click("#optimise-button")
    page.wait_for_function("!document.getElementById('save-button').disabled")
    head = page.locator("#plan-headline").inner_text()
    assert "cost per KPI 0.848" in head and "ROAS" not in head  # 100 / 117.95
    page.fill("#kpi-value", "2")
    with page.expect_response(lambda r: r.url.endswith("/optimise")):
        page.click("#optimise-button")
    page.wait_for_function("document.getElementById('plan-headline').textContent.includes('ROAS')")
    assert "ROAS 2.36" in page.locator("#plan-headline").inner_text()  # 2 x 117.95 / 100


def test_the_progress_bar_moves_during_a_nuts_fit(page, live, monkeypatch) -> None:
    from mediamix.data.simulate import simulate

    monkeypatch.setitem(fits.FIT_OPTIONS, "nuts", {"chains": 2, "draws": 200, "warmup": 200})
    # a warm compile cache makes this small fit's chunks take milliseconds: hold each report
    # for longer than the page's polling interval, so the test sees every value the sampler
    # reports however fast the machine is (the values themselves are the sampler's)
    reporter = fits.sampler_progress

    def held(progress, method="nuts"):
        report = reporter(progress, method)

        def slow(p) -> None:
            report(p)
            time.sleep(1.2)

        return slow

    monkeypatch.setattr(fits, "sampler_progress", held)
    frame, _ = simulate(n_periods=60, n_channels=2, n_controls=0, seed=3)
    base = live["base"]
    page.goto(base + "/runs")
    page.set_input_files("#upload-form input[name=file]", files=[
        {"name": "weeks.csv", "mimeType": "text/csv", "buffer": frame.to_csv(index=False).encode()}
    ])  # fmt: skip
    page.fill("#upload-form input[name=name]", "Small NUTS")
    page.fill("#upload-form input[name=date]", "date")
    page.fill("#upload-form input[name=kpi]", "sales")
    page.fill("#upload-form input[name=channels]", "tv_spend,search_spend")
    page.select_option("#upload-form select[name=method]", "nuts")
    with page.expect_response(lambda r: r.url.endswith("/api/runs")) as resp:
        page.click("#upload-button")
    assert resp.value.status == 202
    (run_id,) = [r["id"] for r in get_json(base + "/api/runs") if r["name"] == "Small NUTS"]
    page.wait_for_selector(f"tr[data-run='{run_id}']")  # the runs page reloaded with it
    page.wait_for_load_state("load")
    page.goto(f"{base}/runs/{run_id}")
    values, messages = [], []
    shot = False
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            got = page.evaluate("""() => { const b = document.getElementById('job-progress');
                return b ? [b.value, document.getElementById('job-message').textContent] : null; }""")
        except Exception:  # the page reloads when the fit is done
            got = None
            page.wait_for_load_state("load")
        if (
            got is None
            and page.locator("#run-status").count()
            and page.locator("#run-status").inner_text() in ("done", "failed")
        ):
            break
        if got is not None:
            if not values or values[-1] != got[0]:
                values.append(got[0])
            messages.append(got[1])
            if not shot and "sampling" in got[1] and "left" in got[1]:
                page.screenshot(path=str(ARTIFACTS / "run-progress.png"), full_page=True)
                shot = True
        time.sleep(0.2)
    assert page.locator("#run-status").inner_text() == "done", messages[-3:]
    distinct = sorted(set(values))
    assert len(distinct) >= 5, values
    assert values == sorted(values)  # it only moves forward
    assert any(m.startswith("fitting (NUTS): warmup") for m in messages), messages
    assert any("sampling" in m and "about" in m and "left" in m for m in messages), messages
    page.wait_for_selector("#curves-chart .main-svg", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "run-page.png"), full_page=True)
    assert page.locator("#summary-table tbody td:first-child").all_inner_texts() == ["TV", "Search"]
