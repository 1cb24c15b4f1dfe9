"""The web planner shows the model review: a badge on the runs list and the run page, and the
review table; a fit that failed its review or did not converge never reads as plainly done."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mediamix.analysis.review import Review, ReviewCheck
from mediamix.app.pages import review_badge
from mediamix.app.server import create_app
from mediamix.app.services.fits import done_message
from mediamix.app.store import Store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSES = [{"name": "tv", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0}]


def summary(*verdicts: str, rhat: str = "pass") -> dict:
    checks = [ReviewCheck("rhat", "max", 1.0, 1.01, rhat, "chains")] + [
        ReviewCheck(f"check{i}", "tv", 1.0, 1.0, v, f"advice {i}") for i, v in enumerate(verdicts)
    ]
    rev = Review.from_checks(checks, "nuts").to_dict()
    return {"method": "nuts", "channels": {"tv": {"roas": {"mean": 2.0, "lower": 1.0,
            "upper": 3.0}}}, "review": rev}  # fmt: skip


@pytest.fixture
def app(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "home")
    runs = {
        "failed": store.create_run("Bad fit", status="done", responses=RESPONSES,
                                   summary=summary("fail", "review")),
        "unconverged": store.create_run("Short", status="done", responses=RESPONSES,
                                        summary=summary("pass", rhat="review")),
        "good": store.create_run("Good", status="done", responses=RESPONSES,
                                 summary=summary("pass")),
        "old": store.create_run("Old", status="done", responses=RESPONSES,
                                summary={"method": "nuts"}),
    }  # fmt: skip
    with TestClient(create_app(store)) as client:
        yield client, {k: r.id for k, r in runs.items()}
    store.close()


def test_badges(app) -> None:
    assert review_badge(None) is None
    assert review_badge(summary("fail"))["key"] == "fail"
    assert review_badge(summary(rhat="review"))["key"] == "not-converged"
    assert review_badge({"diagnostics": {"converged": False}})["label"] == "not converged"
    assert review_badge({"method": "map"})["key"] == "none"
    assert done_message(summary("fail")) == "done; model review: review failed"
    assert done_message(None) == "done"


def test_runs_list_and_run_page_show_the_review(app) -> None:
    client, ids = app
    page = client.get("/runs").text
    for key, badge in (("failed", "badge-fail"), ("unconverged", "badge-not-converged"),
                       ("good", "badge-pass"), ("old", "badge-none")):  # fmt: skip
        row = page[page.index(f'data-run="{ids[key]}"') :]
        row = row[: row.index("</tr>")]
        assert badge in row, (key, row)
    bad = client.get(f"/runs/{ids['failed']}").text
    assert 'id="review-badge"' in bad and "review failed" in bad
    assert "not fit to report" in bad
    table = bad[bad.index('id="review-table"') : bad.index("</table>", bad.index("review-table"))]
    assert table.index("check0") < table.index("check1")  # the failure first
    assert "advice 0" in table and "chains" not in table  # passes are folded away
    assert "1 check passed" in bad
    good = client.get(f"/runs/{ids['good']}").text
    assert "review passed" in good and 'id="review-table"' not in good
