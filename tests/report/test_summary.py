"""The report leads with the answer: a summary (what each channel returned with its interval,
what the plan recommends and gains with its interval, the review's verdict) before the detail,
the data checks last; the adstock chart as small multiples; a frontier flattened by bounds
says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mediamix.report import figures as F
from mediamix.report.html import ORDER, SECTIONS, plan_summary, render, sections
from mediamix.report.run import load_run

from .conftest import CHANNELS, adstock_table, plan_json, write_run_dir


def new_plan() -> dict:
    """plan_json as the optimizer now writes it: the gain over draws, reasons and bounds."""
    plan = plan_json()
    plan["reference"] = {"kpi": 2900.0, "objective": 2900.0, "p5": 2400.0, "p95": 3350.0}
    plan["gain"] = {"mean": 100.0, "p5": 40.0, "p95": 170.0, "relative": 100 / 2900,
                    "share_positive": 0.97, "draws": 400}  # fmt: skip
    plan["periods"] = 1
    for c in plan["channels"]:
        c["upper"] = c["recommended"] if c["name"] == "search" else 5000.0
        c["reason"] = f"because of {c['name']}"
    plan["spend_total"] = sum(c["current"] for c in plan["channels"])
    plan["frontier"] = [
        {"budget": 2000.0, "kpi": 2900.0, "allocation": {"tv": 1400.0, "search": 400.0, "social": 200.0}},
        {"budget": 4000.0, "kpi": 3100.0, "allocation": {"tv": 5000.0, "search": 525.0, "social": 5000.0}},
    ]  # fmt: skip
    return plan


def with_plan(run: Path, plan: dict) -> Path:
    (run / "plan.json").write_text(json.dumps(plan))
    return run


def section_html(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start : html.index("</section>", start)]


def test_summary_first_then_review_data_checks_last(run_dir: Path):
    html = render(load_run(run_dir))
    order = re.findall(r'<section id="([a-z_]+)">', html)
    assert order[0] == "summary" and order[1] == "review" and order[-1] == "data"
    assert order == [k for k in ORDER if k in order]
    assert order.index("roas") < order.index("plan") < order.index("fit")
    nav = html[html.index("<nav>") : html.index("</nav>")]
    assert re.findall(r'<a href="#([a-z_]+)">', nav) == order
    assert f"<h2>{SECTIONS['summary']}</h2>" in html


def test_summary_states_returns_plan_gain_with_intervals(tmp_path: Path):
    run = with_plan(write_run_dir(tmp_path / "run"), new_plan())
    html = render(load_run(run))
    s = section_html(html, "summary")
    assert "<dt>Model review</dt><dd>NOT REVIEWED" in s
    # media over the window, with its interval and its share of the KPI
    assert (
        "<dt>What media brought</dt><dd>10,000 [8,000, 12,000] of the KPI from 2023-01-02 to 2023-10-30 (44 periods): 20% of the total 50,000"
        in s
    )
    # the plan: what moves where, at the same total
    assert (
        "<dt>What the plan recommends</dt><dd>move spend from tv (-12%) to search (+50%) and social (+11%), the same 2,170 per period in all"
        in s
    )
    # the gain, draw by draw, with its interval and how often the plan does better
    assert (
        "<dt>Expected uplift</dt><dd>+100 [+40, +170] (+3.4%) in incremental KPI from media, per period, against today&#39;s plan; 90% interval over the posterior draws, better in 97% of them."
        in s
    )
    assert "<dt>Why tv is cut</dt><dd>because of tv.</dd>" in s
    # today's plan vs the recommendation, with intervals
    assert "<td>today&#39;s plan</td><td>2,900 [2,400, 3,350]</td><td>2,170</td>" in s
    assert "<td>recommended</td><td>3,000 [2,500, 3,500]</td>" in s
    assert "<td>gain</td><td>+100 [+40, +170]</td>" in s
    # each channel: its return with the interval, at one precision per column, and the plan
    assert (
        "<td>tv</td><td>70,400</td><td>1,000 [800, 1,300]</td><td>1.50 [1.00, 2.20]</td><td>0.75 [0.55, 1.05]</td><td>1,600 → 1,400</td><td>-12%</td>"
        in s
    )
    assert not re.search(r"\d[eE][+-]?\d", s)


def test_an_old_plan_without_draws_still_states_the_gain(run_dir: Path):
    items = dict(plan_summary(plan_json()))
    assert items["Expected uplift"].startswith("+100 in incremental KPI from media, per period")
    assert "no interval" in items["Expected uplift"]
    html = render(load_run(run_dir))
    assert "Expected uplift" in section_html(html, "summary")


def test_plan_section_labels_the_kpi_and_says_why(tmp_path: Path):
    run = with_plan(write_run_dir(tmp_path / "run"), new_plan())
    body = section_html(render(load_run(run)), "plan")
    assert "the incremental KPI from media, per period: what the response curves give" in body
    assert "<th>why</th>" in body and "<td>because of search</td>" in body
    assert "<th>incremental KPI</th>" in body and "<th>expected KPI</th>" not in body
    # search sits at its upper bound at 4,000: the bounds, not saturation, flatten the frontier
    assert "from a budget of 4,000 tv, search and social" not in body
    assert "every channel is at its upper bound" in body
    assert "the bounds, not saturation" in body


def test_frontier_figure_marks_points_at_the_bounds():
    plan = new_plan()
    from mediamix.optimize.plan import frontier_caps

    caps = frontier_caps(plan)
    assert caps == [[], ["tv", "search", "social"]]
    fig = F.frontier(plan["frontier"], {"budget": 2170.0, "kpi": 3000.0}, capped=caps)
    line = next(t for t in fig.data if t.name == "optimal KPI")
    assert list(line.marker.symbol) == ["circle", "circle-open"]
    assert line.customdata[1] == "at the upper bound: tv, search, social"
    shape = next(s for s in fig.layout.shapes if s.name == "bounds")
    assert shape.x0 == 4000.0
    assert "the bounds, not saturation" in fig.layout.annotations[0].text
    # without caps: no line, no note
    fig = F.frontier(plan["frontier"], None)
    assert not [s for s in fig.layout.shapes if s.name == "bounds"]
    with pytest.raises(Exception, match="capped"):
        F.frontier(plan["frontier"], None, capped=[[]])


def test_adstock_small_multiples_one_panel_per_channel():
    names = [f"ch{i}" for i in range(6)]
    table = adstock_table()
    import pandas as pd

    six = pd.concat([table.assign(channel=table["channel"] + str(k)) for k in range(2)])
    fig = F.adstock_curves(six)
    assert [a.text for a in fig.layout.annotations] == [
        f"{c}{k}" for k in range(2) for c in CHANNELS
    ]
    axes = {
        t.xaxis for t in fig.data if not t.name.endswith("band") and not t.name.endswith("upper")
    }
    assert len(axes) == 6  # one panel each
    assert fig.layout.height >= 120 + 240 * 2  # two rows of three
    # one shared scale, so that the decays compare
    lay = fig.layout
    matched = {getattr(lay, f"yaxis{k}").matches for k in range(2, 7)} | {lay.yaxis.matches}
    assert len(matched - {None}) == 1
    # a single channel stays one panel
    one = F.adstock_curves(table[table["channel"] == "tv"])
    assert not one.layout.annotations
    assert len(names) == 6


def test_sections_of_a_plan_only_run(tmp_path: Path):
    run = tmp_path / "plan_only"
    run.mkdir()
    with_plan(run, new_plan())
    keys = [s.key for s in sections(load_run(run))]
    assert keys == ["summary", "plan"]


def test_plan_figures_mark_the_frontier_points_at_the_bounds():
    from mediamix.report import plan_figures

    fig = plan_figures(new_plan())["frontier"]
    line = next(t for t in fig.data if t.name == "optimal KPI")
    assert list(line.marker.symbol) == ["circle", "circle-open"]
    assert [s.x0 for s in fig.layout.shapes if s.name == "bounds"] == [4000.0]
