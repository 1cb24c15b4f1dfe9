"""The HTML report: self-contained, every section with data, none without."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mediamix.errors import SpecError
from mediamix.report.html import SECTIONS, render, write_report
from mediamix.report.run import load_run

PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")


def _figure_divs(html: str) -> int:
    return len(re.findall(r'<div id="figure-[a-z_]+" class="plotly-graph-div"', html))


def test_report_is_self_contained_with_every_section(run_dir: Path, tmp_path: Path):
    out = write_report(run_dir, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for key, title in SECTIONS.items():  # experiments and validation: only with their data
        assert (f"<h2>{title}</h2>" in html) == (key not in ("experiments", "validation")), title
    # plotly.js inlined exactly once, nothing fetched from elsewhere
    assert len(PLOTLY_BANNER.findall(html)) == 1
    assert not re.search(r"<script[^>]*\ssrc=", html)
    assert not re.search(r"<link[^>]*\shref=[\"']?(https?:)?//", html)
    assert not re.search(r"<img[^>]*\ssrc=[\"']?(https?:)?//", html)
    assert "@import" not in html
    # data checks (heatmap), fit, decomposition, ROAS, curves, adstock, allocation, frontier
    assert _figure_divs(html) == 8
    assert "a test note" in html  # plan messages
    assert "hold-out of 8 periods" in html


def test_plan_section_only_with_plan_json(run_dir_no_plan: Path):
    html = render(load_run(run_dir_no_plan))
    assert f"<h2>{SECTIONS['plan']}</h2>" not in html
    assert f"<h2>{SECTIONS['curves']}</h2>" in html
    assert _figure_divs(html) == 6


def test_sections_follow_the_files(run_dir: Path):
    for name in ("response_curves.csv", "adstock_curves.csv", "data_checks.json"):
        (run_dir / name).unlink()
    html = render(load_run(run_dir))
    for key in ("curves", "adstock", "data"):
        assert f"<h2>{SECTIONS[key]}</h2>" not in html
    for key in ("fit", "sampler", "decomposition", "roas", "plan"):
        assert f"<h2>{SECTIONS[key]}</h2>" in html


def test_fit_band_falls_back_to_the_expected_kpi_with_a_note(run_dir: Path):
    run = load_run(run_dir)
    assert run.fit is not None and len(run.fit) == 52
    assert int(run.fit["train"].sum()) == 44
    assert any("expected KPI" in n for n in run.notes)
    assert run.current_spend == {"tv": 1600.0, "search": 350.0, "social": 220.0}


def test_names_are_escaped(run_dir: Path):
    import json

    plan = json.loads((run_dir / "plan.json").read_text())
    plan["messages"] = ["<script>alert(1)</script>"]
    (run_dir / "plan.json").write_text(json.dumps(plan))
    html = render(load_run(run_dir))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_missing_empty_and_broken_run_dirs(tmp_path: Path):
    with pytest.raises(SpecError, match="does not exist.*mediamix fit"):
        write_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="holds no run results"):
        write_report(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("{not json")
    with pytest.raises(SpecError, match=r"summary.json' is .*not valid JSON"):
        write_report(tmp_path / "bad")


def test_default_output_and_bad_output_paths(run_dir: Path, tmp_path: Path):
    assert write_report(run_dir) == run_dir / "report.html"
    assert (run_dir / "report.html").stat().st_size > 1_000_000  # plotly.js is inside
    with pytest.raises(SpecError, match="is a folder"):
        write_report(run_dir, tmp_path)
    with pytest.raises(SpecError, match="does not exist; create it"):
        write_report(run_dir, tmp_path / "no" / "such" / "r.html")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_figures_render_offline_in_chromium(run_dir: Path, tmp_path: Path):
    """plotly.js from the file itself draws every figure (network disabled in the browser)."""
    out = write_report(run_dir, tmp_path / "r.html")
    cmd = [
        "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=10000", "--dump-dom",
        out.as_uri(),
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom = res.stdout
    assert "<h2>Budget plan</h2>" in dom, res.stderr[-2000:]
    # plotly.js replaces each figure div's content with its SVG
    drawn = re.findall(r'<div id="figure-[a-z_]+" class="plotly-graph-div[^"]*js-plotly-plot', dom)
    assert len(drawn) == 8, res.stderr[-2000:]
    assert dom.count('class="main-svg"') >= 8


def test_damaged_model_folder_becomes_a_note_and_data_checks_come_from_its_data(run_dir: Path):
    import json

    import numpy as np

    (run_dir / "data_checks.json").unlink()
    model = run_dir / "model"
    model.mkdir()
    rng = np.random.default_rng(1)
    spend = rng.gamma(2.0, 100.0, size=(30, 3))
    dates = np.datetime64("2024-01-01", "ns") + np.arange(30) * np.timedelta64(7, "D")
    np.savez(model / "data.npz", dates=dates.astype(np.int64), kpi=spend.sum(1), spend=spend,
             media=spend, controls=np.zeros((30, 0)), cost_per_unit=np.ones(3))  # fmt: skip
    meta = {"n_train": 25, "data": {"channel_names": ["tv", "search", "social"],
                                    "control_names": [], "freq": "W"}}  # fmt: skip
    (model / "meta.json").write_text(json.dumps(meta))
    for name in ("posterior.nc", "spec.yaml", "scalers.json"):
        (model / name).write_text("damaged")
    run = load_run(run_dir)
    assert any("could not be loaded" in n for n in run.notes)
    corr = np.array(run.data_checks["correlation"]["matrix"], dtype=float)
    np.testing.assert_allclose(corr, np.corrcoef(spend.T), atol=1e-12)
    # today's spend = mean spend per period over the 25 fitted periods
    assert run.current_spend["tv"] == pytest.approx(spend[:25, 0].mean())
    html = render(run)
    assert "could not be loaded" in html
    assert f"<h2>{SECTIONS['data']}</h2>" in html
