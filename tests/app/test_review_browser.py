"""The model review in headless Chromium: the runs list's badges, the run page's review and
the report's verdict banner (screenshots in test-artifacts/)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from mediamix.app.store import Store
from mediamix.report.html import write_report
from tests.app.test_browser import ARTIFACTS, RESPONSES, browser, free_port  # noqa: F401
from tests.report.conftest import write_run_dir
from tests.report.test_review_report import failing_review, with_review

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def review_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    store = Store.open(home)
    bad = store.create_run("Failing fit", status="done", responses=RESPONSES,
                           message="done; model review: review failed",
                           summary={"method": "nuts", "review": failing_review(False)})  # fmt: skip
    good = failing_review()
    good = {**good, "verdict": "pass", "badge": "pass", "label": "review passed",
            "checks": [c for c in good["checks"] if c["verdict"] == "pass"]}  # fmt: skip
    store.create_run("Good fit", status="done", responses=RESPONSES,
                     summary={"method": "nuts", "review": good})  # fmt: skip
    src = with_review(write_run_dir(home / "src"), failing_review(False))
    write_report(src, bad.run_dir / "report.html")
    store.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MEDIAMIX_DATABASE_URL",
                                                            "MEDIAMIX_TOKEN")}  # fmt: skip
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mediamix.cli import main; main()", "serve", "--port",
         str(port), "--home", str(home)], stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError((home / "server.log").read_text()) from None
            time.sleep(0.2)
    yield {"base": base, "bad": bad.id}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_a_failing_fit_looks_failing(browser, review_server):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    base, bad = review_server["base"], review_server["bad"]
    try:
        page.goto(base + "/runs")
        row = page.locator(f"tr[data-run='{bad}']")
        badge = row.locator(".badge")
        assert badge.inner_text() == "review failed, not converged"
        assert "rgb(248, 215, 218)" in badge.evaluate("e => getComputedStyle(e).backgroundColor")
        page.screenshot(path=str(ARTIFACTS / "review-runs.png"), full_page=True)

        page.goto(f"{base}/runs/{bad}")
        assert page.locator("#review-badge").inner_text() == "review failed, not converged"
        first = page.locator("#review-table tbody tr").first
        assert first.locator("td").first.inner_text() in ("baseline", "rhat")
        page.screenshot(path=str(ARTIFACTS / "review-run.png"), full_page=True)

        page.goto(f"{base}/runs/{bad}/report")
        verdict = page.locator("#review-verdict")
        assert verdict.inner_text().startswith("REVIEW FAILED, NOT CONVERGED")
        assert verdict.bounding_box()["y"] < 250  # at the top, above every section
        page.screenshot(path=str(ARTIFACTS / "review-report.png"))
    finally:
        page.close()
