"""The main job end to end: `mediamix demo` (what `make demo` runs), with a quick MAP fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli

pytestmark = pytest.mark.slow


def test_demo_writes_run_plan_report_and_registers_the_run(tmp_path: Path):
    out, home = tmp_path / "demo", tmp_path / "home"
    res = CliRunner().invoke(
        cli, ["demo", "--out", str(out), "--method", "map", "--home", str(home)]
    )
    assert res.exit_code == 0, res.output
    run = out / "run"
    summary = json.loads((run / "summary.json").read_text())
    truth = json.loads((out / "data" / "truth.json").read_text())
    assert set(summary["channels"]) == set(truth["channels"])
    plan = json.loads((run / "plan.json").read_text())
    assert plan["status"] == "optimal" and plan["gap"] <= 1e-4
    # Same total budget as today's spend, and the plan is never worse than today's split.
    current = sum(c["current"] for c in plan["channels"])
    assert plan["spend_total"] == pytest.approx(current, rel=1e-6)
    assert plan["objective_value"] >= plan["reference"]["objective"] * (1 - 1e-9)
    assert len(plan["frontier"]) == 5
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Budget plan" in html and "Data checks" in html
    assert "planner run" in res.output and "mediamix serve" in res.output

    from mediamix.app.store import Store

    store = Store.open(home)
    try:
        runs = store.list_runs()
        assert [r.name for r in runs] == ["Demo (seed 0)"]
    finally:
        store.close()
