"""The report's first screen in headless Chromium: the verdict, the summary and the uplift are
what a reader sees before scrolling. The screenshot is a test artefact
(test-artifacts/report-first-screen.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mediamix.report.html import write_report

from .conftest import write_run_dir
from .test_summary import new_plan, with_plan

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def test_first_screen_leads_with_the_answer(tmp_path: Path):
    run = with_plan(write_run_dir(tmp_path / "run"), new_plan())
    report = write_report(run, tmp_path / "report.html", title="mediamix report")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
            )
            page.goto(report.as_uri())
            page.wait_for_selector("#figure-roas .main-svg")  # plotly.js drew the figures
            page.screenshot(path=str(ARTIFACTS / "report-first-screen.png"))
            height = page.viewport_size["height"]

            def top(selector: str) -> float:
                return page.locator(selector).first.bounding_box()["y"]

            # the verdict, then the summary's answers, all above the fold
            assert top("#review-verdict") < top("#summary") < height
            for head in ("Model review", "What media brought", "What the plan recommends",
                         "Expected uplift"):  # fmt: skip
                box = page.locator("#summary dl.lead dt", has_text=head).bounding_box()
                assert box is not None and box["y"] + box["height"] < height, head
            uplift = page.locator("#summary dl.lead dd").nth(3).inner_text()
            assert uplift.startswith("+100 [+40, +170] (+3.4%)")
            # the detail comes later: the data checks below the review, the plan, the curves
            assert top("#data") > top("#review") > top("#summary")
            assert top("#data") > height
            assert outside == []  # the report fetches nothing
        finally:
            browser.close()
