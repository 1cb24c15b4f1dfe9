"""The model review leads the report: a verdict banner at the top, the summary that quotes
it, then the checks (failing first), prior-data conflict, and a failing or non-converged fit that never looks done."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mediamix.analysis.review import Review, ReviewCheck
from mediamix.report.html import SECTIONS, render, review_banner
from mediamix.report.run import load_run

from .conftest import write_run_dir


def failing_review(converged: bool = True) -> dict:
    checks = [
        ReviewCheck("r2", "in-sample", 0.82, 0.5, "pass", "the model follows the KPI."),
        ReviewCheck("baseline", "share of KPI", -0.4, 0.0, "fail",
                    "the baseline is negative: media are credited with more than the KPI."),
        ReviewCheck("spend_variation", "search", 0.05, 0.2, "review",
                    "search's spend barely varies."),
        ReviewCheck("rhat", "max", 1.003 if converged else 1.3, 1.01,
                    "pass" if converged else "fail", "the chains agree."),
    ]  # fmt: skip
    shift = {"channel": "search", "prior_median": 1.6, "prior_sd": 1.7, "prior_lower": 0.1,
             "prior_upper": 6.8, "posterior_median": 1.5, "posterior_sd": 1.6,
             "posterior_lower": 0.2, "posterior_upper": 6.0, "sd_ratio": 0.94, "shift": -0.06,
             "quantile": 0.48, "verdict": "review", "advice": "mostly your prior"}  # fmt: skip
    return Review.from_checks(checks, "nuts", [shift]).to_dict()


def with_review(run_dir: Path, review: dict | None) -> Path:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary["review"] = review
    summary["kpi"]["cost_per_kpi"] = {"mean": 0.3, "median": 0.21, "lower": 0.15,
                                      "upper": 0.6, "estimate": "median"}  # fmt: skip
    path.write_text(json.dumps(summary))
    return run_dir


def test_the_review_comes_first_and_a_failure_is_plain(tmp_path: Path):
    run = with_review(write_run_dir(tmp_path / "run"), failing_review())
    html = render(load_run(run))
    banner = re.search(r'<div class="verdict verdict-([a-z-]+)" id="review-verdict"', html)
    assert banner and banner.group(1) == "fail"
    assert html.index('id="review-verdict"') < html.index("<section")
    # the summary leads (it quotes the verdict), the review's checks come right after it
    order = re.findall(r'<section id="([a-z_]+)">', html)
    assert order[:2] == ["summary", "review"] and f"<h2>{SECTIONS['review']}</h2>" in html
    summary = html[html.index('<section id="summary">') : html.index('<section id="review">')]
    assert "<dt>Model review</dt><dd>REVIEW FAILED: 1 check(s) fail" in summary
    assert "REVIEW FAILED" in html and "not fit to report" in html
    start = html.index('<section id="review">')
    body = html[start : html.index("</section>", start)]
    # failing checks first, highlighted
    assert body.index("baseline") < body.index("spend_variation") < body.index("the chains agree")
    assert '<tr class="fail">' in body and '<tr class="warn">' in body
    assert "prior ROAS" in body and "0.94" in body  # the prior-data conflict table
    assert "0.21 [0.15, 0.6] (median)" in html  # the media's cost per KPI: its median
    assert "No warnings." not in html


def test_not_converged_and_old_runs(tmp_path: Path):
    review = failing_review(converged=False)
    assert review_banner(review)["title"] == "REVIEW FAILED, NOT CONVERGED"
    nc = dict(review, verdict="review", badge="not converged")
    assert review_banner(nc) == {**review_banner(nc), "badge": "not-converged",
                                 "title": "NOT CONVERGED"}  # fmt: skip
    old = write_run_dir(tmp_path / "old")  # summary.json without a review
    html = render(load_run(old))
    assert 'class="verdict verdict-none"' in html and "NOT REVIEWED" in html
    ok = with_review(write_run_dir(tmp_path / "ok"),
                     Review.from_checks([ReviewCheck("r2", "in-sample", 0.9, 0.5, "pass",
                                                     "fine.")], "nuts").to_dict())  # fmt: skip
    html = render(load_run(ok))
    assert 'class="verdict verdict-pass"' in html and "REVIEW PASSED" in html
