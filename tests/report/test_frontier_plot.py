"""`mediamix optimize --sweep .. --plot f.html`: one offline HTML file with the frontier."""

import json
import re

import pytest
from click.testing import CliRunner
from plotly.offline import get_plotlyjs

from mediamix.cli import cli
from mediamix.report.frontier import plot_frontier

PROBLEM = """
objective: kpi
budget: 300
channels:
  - name: search
    response: {type: log1p, a: 20}
  - name: tv
    response: {type: michaelis_menten, beta: 60, k: 50}
"""

REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)


def _traces(html: str) -> list[dict]:
    """The trace list passed to Plotly.newPlot(div_id, traces, layout, config)."""
    start = html.index("Plotly.newPlot(")
    start = html.index("[", start)
    traces, _ = json.JSONDecoder().raw_decode(html, start)
    return traces


def _assert_offline(html: str) -> None:
    assert REMOTE_SCRIPT.search(html) is None
    # the installed plotly.js bundle is inlined, whole
    assert get_plotlyjs() in html


def test_cli_plot_is_self_contained_and_holds_the_frontier(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM)
    out = tmp_path / "frontier.html"
    r = CliRunner().invoke(
        cli,
        [
            "optimize",
            str(problem),
            "--format",
            "json",
            "--sweep",
            "100:300:100",
            "--plot",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    html = out.read_text(encoding="utf-8")
    _assert_offline(html)
    line, star = _traces(html)
    assert line["x"] == [p["budget"] for p in plan["frontier"]] == [100.0, 200.0, 300.0]
    assert line["y"] == pytest.approx([p["kpi"] for p in plan["frontier"]], rel=1e-12)
    # the recommended plan is marked on the curve: same budget, same optimal KPI
    assert star["name"] == "this plan"
    assert star["x"] == [300.0]
    assert star["y"] == pytest.approx([plan["kpi"]], rel=1e-12)
    assert star["y"][0] == pytest.approx(line["y"][-1], rel=1e-6)


def test_plot_frontier_sorts_points_and_works_without_a_plan(tmp_path):
    out = tmp_path / "f.html"
    points = [{"budget": 20.0, "kpi": 3.5}, {"budget": 10.0, "kpi": 2.25}]
    plot_frontier(points, out)
    html = out.read_text(encoding="utf-8")
    _assert_offline(html)
    traces = _traces(html)
    assert len(traces) == 1
    assert traces[0]["x"] == [10.0, 20.0] and traces[0]["y"] == [2.25, 3.5]
