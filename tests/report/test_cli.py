"""`mediamix report RUN_DIR --out FILE`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mediamix.cli import cli


def test_report_command_writes_the_file(run_dir: Path, tmp_path: Path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(out), "--title", "Q3"])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output
    html = out.read_text(encoding="utf-8")
    assert "<title>Q3</title>" in html
    assert "<h2>Budget plan</h2>" in html


def test_report_command_default_output(run_dir_no_plan: Path):
    res = CliRunner().invoke(cli, ["report", str(run_dir_no_plan)])
    assert res.exit_code == 0, res.output
    assert (run_dir_no_plan / "report.html").is_file()


def test_missing_run_dir_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "missing"
    res = CliRunner().invoke(cli, ["report", str(missing), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2
    assert f"error: run directory '{missing}' does not exist" in res.output
    assert "mediamix fit" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "r.html").exists()


def test_serve_and_report_are_both_registered():
    assert {"report", "serve"} <= set(cli.commands)


def test_out_in_a_missing_folder_is_a_clear_error(run_dir: Path, tmp_path: Path):
    out = tmp_path / "no" / "report.html"
    res = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(out)])
    assert res.exit_code == 2
    assert f"error: the folder of --out '{out}' does not exist" in res.output
