"""Every shipped example config passes `mediamix check DATA --config` with its data, or fails
with one `error:` line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "data"
# the data set of each config (None: the config names its own); others get the weekly demo
DATA = {
    "robyn.yaml": SHARED / "robyn_dt_simulated_weekly.csv",
    "meridian.yaml": SHARED / "meridian_national_media.csv",
    "meridian_geo.yaml": SHARED / "meridian_geo_all_channels.csv",
    "weekly_demo.yaml": None,
}
# model and data configs pass; problem files (no data section) fail cleanly
PASSES = {"robyn.yaml", "meridian.yaml", "meridian_geo.yaml", "weekly_demo.yaml"}
# the title of the checks table: national data, or a geo panel and its national roll-up
CHECKS_TITLE = {"meridian_geo.yaml": "Panel checks and checks of the national roll-up"}
CONFIGS = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def test_every_model_config_is_covered():
    assert PASSES <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_check_example_config(name):
    data = DATA.get(name, EXAMPLES / "weekly_demo.csv")
    if data is not None and not data.exists():
        pytest.skip(f"{data} not available")
    args = ["check", *([str(data)] if data else []), "--config", str(EXAMPLES / name)]
    res = CliRunner().invoke(cli, args)
    assert "Traceback" not in res.output
    if name in PASSES:
        assert res.exit_code == 0, res.output
        assert CHECKS_TITLE.get(name, "Diagnostics") in res.output
    else:
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), res.output


def test_robyn_config_expands_the_events_column():
    data = DATA["robyn.yaml"]
    if not data.exists():
        pytest.skip(f"{data} not available")
    import json

    res = CliRunner().invoke(
        cli, ["check", str(data), "--config", str(EXAMPLES / "robyn.yaml"), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["dataset"]["controls"] == [
        "competitor_sales_B", "newsletter", "event_event1", "event_event2"
    ]  # fmt: skip


def test_meridian_geo_config_values_the_kpi_per_row():
    data = DATA["meridian_geo.yaml"]
    if not data.exists():
        pytest.skip(f"{data} not available")
    res = CliRunner().invoke(
        cli, ["check", str(data), "--config", str(EXAMPLES / "meridian_geo.yaml")]
    )
    assert res.exit_code == 0, res.output
    assert "KPI = conversions x revenue_per_conversion" in " ".join(res.output.split())


def test_check_config_errors_are_one_line_with_the_key_path(tmp_path):
    csv = EXAMPLES / "weekly_demo.csv"
    base = (
        "data:\n  date: date\n  kpi: sales\n  channels: [tv_spend, search_spend]\n"
        "  controls: [price_index]\n"
    )
    cases = {
        "data:\n  chanels: [tv_spend]\n": "error: data.chanels: unknown keys in the data "
        "section: 'chanels'",
        base + "model:\n  seasonality_order: many\n": "error: model.seasonality_order: "
        "expected an integer, got 'many'",
        base + "model:\n  sesonality_order: 2\n": "Did you mean 'seasonality_order'?",
        base + "model:\n  priors: {beta.tv_spend: {dist: half_normal, scale: 1}}\n": (
            "Did you mean 'effect.tv_spend'?"
        ),
        base + "model:\n  priors: {hill_k.tv: {dist: gamma, concentration: 2, rate: 2}}\n": (
            "priors.hill_k.tv names channel 'tv', which is not in the data"
        ),
        base + "model:\n  priors: {dow: {dist: normal, loc: 0, scale: 1}}\n": (
            "this model does not sample 'dow'"
        ),
        base + "modle:\n  form: additive\n": "Did you mean 'model'?",
    }
    for i, (text, fragment) in enumerate(cases.items()):
        cfg = tmp_path / f"c{i}.yaml"
        cfg.write_text(text)
        res = CliRunner().invoke(cli, ["check", str(csv), "--config", str(cfg)])
        lines = res.output.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1, (text, res.output)
        assert lines[0].startswith("error: ") and fragment in lines[0], (text, res.output)
    ok = tmp_path / "ok.yaml"
    ok.write_text(base + "model:\n  priors: {effect.tv_spend: {dist: half_normal, scale: 1}}\n")
    res = CliRunner().invoke(cli, ["check", str(csv), "--config", str(ok)])
    assert res.exit_code == 0, res.output
