"""`mediamix fit` prints the model review after the ROAS table, every mROAS with its
interval, and says on its last line when the review failed (the exit code stays 0: the fit
ran)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from mediamix.analysis.review import Review, ReviewCheck
from mediamix.cli import cli
from mediamix.cli.model_cmds import review_lines, review_verdict_line, roas_lines


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    from mediamix.data.simulate import simulate

    frame, truth = simulate(n_periods=104, n_channels=3, seed=5)
    path = tmp_path_factory.mktemp("sim") / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_fit_prints_the_review_and_mroas_intervals(sim_csv, tmp_path):
    out = tmp_path / "run"
    args = ["fit", str(sim_csv), "--out", str(out), "--method", "map", "--steps", "100",
            "--quiet", "--date", "date", "--kpi", "sales", "--channels",
            "tv_spend,search_spend,social_spend", "--controls", "price_index,promo"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    rows = [ln for ln in lines if ln.split() and ln.split()[0].endswith("_spend")]
    assert len(rows) == 3
    for row in rows:  # ROAS and mROAS, each with its interval
        assert len(re.findall(r"\[[^\]]+, [^\]]+\]", row)) == 2, row
    head = next(i for i, ln in enumerate(lines) if ln.startswith("model review:"))
    assert head > lines.index(next(ln for ln in lines if ln.startswith("channel")))
    assert "loss_trace" in res.output and "intervals" in res.output  # MAP at its step limit
    summary = json.loads((out / "summary.json").read_text())
    assert summary["review"]["converged"] is False
    assert lines[-1].startswith("NOT CONVERGED")


def test_the_last_line_is_plain_about_a_failed_review():
    checks = [ReviewCheck("baseline", "share of KPI", -0.3, 0.0, "fail", "negative baseline."),
              ReviewCheck("roas", "tv", 2.0, 90.0, "review", "fine.")]  # fmt: skip
    rev = Review.from_checks(checks, "nuts").to_dict()
    assert review_verdict_line(rev).startswith("REVIEW FAILED (1 failing: baseline)")
    lines = review_lines(rev, "    ")
    assert lines[0] == "    model review: REVIEW FAILED (1 fail, 1 to review, 0 pass)"
    assert lines[1].strip().startswith("fail   baseline share of KPI: negative baseline.")
    ok = Review.from_checks([ReviewCheck("r2", "", 0.9, 0.5, "pass", "")], "nuts").to_dict()
    assert review_verdict_line(ok) == "review passed" and review_lines(ok)[1:] == []
    assert review_verdict_line(None) == "model review: not available"


def test_the_demo_table_has_the_truth_and_both_intervals():
    summary = {"channels": {"tv": {"roas": {"mean": 2.0, "lower": 1.5, "upper": 2.5},
                                   "mroas": {"mean": 1.0, "lower": 0.5, "upper": None}}}}  # fmt: skip
    head, row = roas_lines(summary, 0.9, "    ", truth={"tv": 2.2})
    assert "90% interval" in head and head.rstrip().endswith("true ROAS")
    assert "[1.50, 2.50]" in row and "[0.50, nan]" in row and row.endswith("2.20")
