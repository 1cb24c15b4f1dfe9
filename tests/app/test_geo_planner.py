"""The planner's Plan by geo in headless Chromium, over a real tiny geo fit (MAP) whose run
folder is registered as the planner registers one: a plan with a geo cap and a minimum share
shows solve_geo's numbers cell by cell, is saved as a scenario that holds that plan, and
opens again from the saved scenario; the form's mistakes are named by their field. The
server runs in this process (uvicorn on a free loopback port, in a thread)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from mediamix.app.server import create_app
from mediamix.app.store import Store
from tests.app.test_browser import browser, free_port  # noqa: F401

pytestmark = pytest.mark.slow

NATIONAL = [{"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0}]


@pytest.fixture(scope="module")
def geo_fit():
    """A real geo fit: 3 simulated geos x 60 weeks x 2 channels, MAP with few steps."""
    from mediamix.data.simulate_geo import simulate_geo_panel
    from mediamix.estimator.geo import GeoMMM
    from mediamix.inference import MAP

    panel, _ = simulate_geo_panel(n_geos=3, n_periods=60, n_channels=2, seed=3)
    return GeoMMM().fit(panel, method=MAP(steps=600), seed=0, warn=False)


@pytest.fixture(scope="module")
def live(tmp_path_factory, geo_fit):
    import uvicorn

    from mediamix.app.services import import_run_dir
    from mediamix.runs import RunDir

    folder = tmp_path_factory.mktemp("runs") / "geo-run"
    RunDir(folder).write_geo(geo_fit, level=0.9)
    home = tmp_path_factory.mktemp("home")
    store = Store.open(home)
    run = import_run_dir(store, folder, name="Geo model")
    national = store.create_run("National model", status="done", responses=NATIONAL)
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
    yield {"base": f"http://127.0.0.1:{port}", "run_id": run.id, "national_id": national.id}
    server.should_exit = True
    thread.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)
    store.close()


def call(url: str, body=None) -> tuple[int, dict]:
    req = urllib.request.Request(url, method="POST" if body is not None else "GET")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def on_screen(page) -> dict:
    """The breakdown as the page holds it: spend per (geo, channel), each geo's total and
    share, the national row, from the cells' exact values."""
    out: dict = {"spend": {}, "total": {}, "share": {}}
    rows = page.locator("#geo-table tbody tr")
    for i in range(rows.count()):
        tr = rows.nth(i)
        g = tr.get_attribute("data-geo")
        cells = tr.locator("td.spend")
        for j in range(cells.count()):
            c = cells.nth(j)
            out["spend"][(g, c.get_attribute("data-channel"))] = float(
                c.get_attribute("data-value")
            )
        out["total"][g] = float(tr.locator("td.total").get_attribute("data-value"))
        out["share"][g] = float(tr.locator("td.share").get_attribute("data-value"))
        out.setdefault("held", {})[g] = tr.locator("td.binding").inner_text()
    out["national"] = float(page.locator("#geo-table tfoot td.total").get_attribute("data-value"))
    return out


def expected_from(plan: dict) -> dict:
    """The same view of a `GeoPlan.to_dict()`."""
    spend = {(g, c): plan["table"]["spend"][i][j] for i, g in enumerate(plan["geos"])
             for j, c in enumerate(plan["channels"]) if plan["table"]["spend"][i][j] is not None}  # fmt: skip
    return {
        "spend": spend,
        "total": {g: b["spend"] for g, b in plan["by_geo"].items()},
        "share": {g: b["share"] for g, b in plan["by_geo"].items()},
        "national": plan["spend_total"],
    }


def same(shown: dict, want: dict) -> None:
    assert shown["spend"].keys() == want["spend"].keys()
    for k in ("spend", "total", "share"):
        for key, v in want[k].items():
            assert shown[k][key] == pytest.approx(v, rel=1e-9, abs=1e-9), (k, key)
    assert shown["national"] == pytest.approx(want["national"], rel=1e-9)


def test_the_geo_breakdown_is_solve_geos_plan_and_is_saved_as_shown(
    browser,  # noqa: F811
    live,
    geo_fit,
    tmp_path,
) -> None:
    from mediamix.optimize.geo import geo_problem, solve_geo

    responses = geo_fit.responses()
    geos = [str(g) for g in geo_fit.geos]
    today = {f"{g}/{r.name}": r.reference_spend for g, rs in responses.items() for r in rs}
    # the page's default guard-rail: each geo's channel within +-50% of its spend today
    rails = {k: (0.5 * v, 1.5 * v) for k, v in today.items() if v > 0}
    free = solve_geo(geo_problem(responses, bounds=rails)).to_dict()  # no geo rules

    # cap the geo the free plan funds most halfway between its floor (the rails' lower sides)
    # and that; the least funded geo's minimum share halfway between its share and its most
    def geo_sum(g, side):
        return sum(v[side] for k, v in rails.items() if k.startswith(f"{g}/"))

    top = max(geos, key=lambda g: free["by_geo"][g]["spend"])
    low = min(geos, key=lambda g: free["by_geo"][g]["share"])
    cap = round((free["by_geo"][top]["spend"] + geo_sum(top, 0)) / 2, 2)
    most = geo_sum(low, 1) / free["spend_total"]
    floor = round(100 * (free["by_geo"][low]["share"] + min(most, 1.0)) / 2, 1)

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live['base']}/planner?run={live['run_id']}")
        assert (
            page.locator("#geo-rules-table tbody tr").evaluate_all(
                "rs => rs.map(r => r.dataset.geo)"
            )
            == geos
        )
        page.fill(f"#geo-rules-table tr[data-geo='{top}'] .cap", str(cap))
        page.fill(f"#geo-rules-table tr[data-geo='{low}'] .share-lo", str(floor))
        with page.expect_response(lambda r: r.url.endswith("/geo-plan")) as resp:
            page.click("#geo-plan-button")
        assert resp.value.status == 200
        sent = resp.value.request.post_data_json
        assert sent["geo_caps"] == {top: cap} and sent["relative_bound"] == 0.5
        assert sent["geo_share"] == {low: [pytest.approx(floor / 100), None]}
        page.wait_for_selector("#geo-result:not([hidden])")

        # the page's numbers are solve_geo's for the same inputs
        want = solve_geo(geo_problem(responses, sent["budget"], geo_caps=sent["geo_caps"],
                                     geo_share=sent["geo_share"], bounds=rails)).to_dict()  # fmt: skip
        shown = on_screen(page)
        same(shown, expected_from(want))
        for (g, c), v in shown["spend"].items():  # the guard-rail holds
            lo, hi = rails.get(f"{g}/{c}", (0.0, float("inf")))
            assert lo * (1 - 1e-7) <= v <= hi * (1 + 1e-7), (g, c, v)
        assert shown["total"][top] <= cap * (1 + 1e-7)  # the cap holds
        assert shown["share"][low] >= floor / 100 - 1e-7  # so does the share
        assert want["certified"] and want["gap"] <= 1e-4
        summary = page.locator("#geo-summary").inner_text()
        assert "certified optimal" in summary and "certificate gap" in summary
        binding = {r["geo"]: r["name"] for r in want["rules"] if r["binding"] and r["geo"]}
        for g in geos:
            assert shown["held"][g] == binding.get(g, "")
        page.screenshot(path=str(tmp_path / "geo-planner.png"), full_page=True)

        # saved: the scenario holds the plan on screen, and opens again as it was
        page.fill("#geo-scenario-name", "Geo cap plan")
        page.click("#geo-save-button")
        page.wait_for_function(
            "document.getElementById('geo-save-status').textContent.includes('Saved')"
        )
        sid = page.locator("#geo-save-status").get_attribute("data-id")
        status, saved = call(f"{live['base']}/api/scenarios/{sid}")
        assert status == 200 and saved["name"] == "Geo cap plan"
        assert saved["problem"]["kind"] == "geo"
        assert saved["problem"]["geo"]["caps"] == {top: cap}
        same(on_screen(page), expected_from(saved["plan"]["geo"]))
        assert saved["plan"]["allocation"] == pytest.approx(
            {f"{g}/{c}": v for (g, c), v in expected_from(want)["spend"].items()}, rel=1e-9
        )
        page.goto(f"{live['base']}/planner?run={live['run_id']}&scenario={sid}")
        page.wait_for_selector("#geo-loaded:not([hidden])")
        assert "Geo cap plan" in page.locator("#geo-loaded").inner_text()
        assert float(page.input_value(f"#geo-rules-table tr[data-geo='{top}'] .cap")) == cap
        same(on_screen(page), expected_from(want))
        assert not page.is_disabled("#geo-save-button")  # the inputs are the saved plan's
        page.screenshot(path=str(tmp_path / "geo-planner-reloaded.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.mark.parametrize(
    ("body", "status", "fragments"),
    [
        (
            {"geo_share": {"G": [0.6, 0.4]}},
            422,
            ("geo_share", "geo '{geo}': min share 0.6 (60%)", "swap"),
        ),
        ({"geo_share": {"G": [None, 30]}}, 422, ("geo_share", "between 0 and 1", "30")),
        ({"geo_caps": {"G": -5}}, 422, ("geo_caps.{geo}", "greater than or equal to 0")),
        ({"budgte": 5}, 422, ("budgte",)),
        ({"geo_caps": {"Nowhere": 5}}, 422, ("geo_caps", "unknown geo 'Nowhere'")),
        ({"channel_bounds": {"radio": [1, None]}}, 422, ("channel_bounds", "'radio'")),
    ],
)
def test_the_geo_forms_mistakes_name_the_field(live, geo_fit, body, status, fragments) -> None:
    first = str(geo_fit.geos[0])
    body = json.loads(json.dumps(body).replace('"G"', json.dumps(first)))
    got, answer = call(f"{live['base']}/api/runs/{live['run_id']}/geo-plan", body)
    assert got == status
    for f in fragments:
        assert f.format(geo=first) in answer["detail"], answer["detail"]


def test_a_national_run_has_no_geo_breakdown(live) -> None:
    got, answer = call(f"{live['base']}/api/runs/{live['national_id']}/geo-plan", {})
    assert got == 422 and "no per-geo response curves" in answer["detail"]
    with urllib.request.urlopen(f"{live['base']}/planner?run={live['national_id']}") as r:
        html = r.read().decode()
    assert 'id="planner-form"' in html and 'id="geo-section"' not in html
    with urllib.request.urlopen(f"{live['base']}/planner?run={live['run_id']}") as r:
        assert 'id="geo-section"' in r.read().decode()
