"""`mediamix simulate` and `mediamix check` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
ARGS = ["--date", "date", "--kpi", "sales", "--channels", "tv_spend,search_spend,social_spend"]


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    res = CliRunner().invoke(cli, ["simulate", "--out", str(out), "--seed", "4", "--snr", "3"])
    assert res.exit_code == 0, res.output
    assert "true ROAS: tv" in res.output and "data.csv" in res.output
    return out


def test_simulate_writes_data_and_truth(sim_dir):
    f = pd.read_csv(sim_dir / "data.csv")
    t = json.loads((sim_dir / "truth.json").read_text())
    assert len(f) == 156 and t["seed"] == 4 and t["snr"] == 3.0
    assert set(t["channels"]) == {"tv", "search", "social"}


def test_check_table(sim_dir):
    res = CliRunner().invoke(
        cli, ["check", str(sim_dir / "data.csv"), *ARGS, "--controls", "price_index,promo"]
    )
    assert res.exit_code == 0, res.output
    assert "156 W rows" in res.output and "Diagnostics" in res.output and "vif" in res.output


def test_check_json_matches_python(sim_dir):
    from mediamix.data import Dataset
    from mediamix.data.diagnostics import diagnostics

    res = CliRunner().invoke(cli, ["check", str(sim_dir / "data.csv"), *ARGS, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ds = Dataset.from_csv(
        sim_dir / "data.csv",
        date="date",
        kpi="sales",
        channels=["tv_spend", "search_spend", "social_spend"],
    )
    expected = diagnostics(ds).to_dict()
    assert out["checks"] == expected["checks"]
    assert out["dataset"]["rows"] == 156


def test_check_invalid_data_exits_non_zero_with_message(sim_dir, tmp_path):
    f = pd.read_csv(sim_dir / "data.csv")
    f.loc[5, "search_spend"] = -1
    bad = tmp_path / "bad.csv"
    f.to_csv(bad, index=False)
    res = CliRunner().invoke(cli, ["check", str(bad), *ARGS])
    assert res.exit_code == 2
    assert "error: column 'search_spend'" in res.output and "row 6" in res.output
    assert "Traceback" not in res.output


def test_check_misspelt_column(sim_dir):
    res = CliRunner().invoke(
        cli,
        [
            "check",
            str(sim_dir / "data.csv"),
            "--date",
            "date",
            "--kpi",
            "sale",
            "--channels",
            "tv_spend",
        ],
    )
    assert res.exit_code == 2 and "Did you mean 'sales'?" in res.output


def test_check_with_config_and_strict():
    cfg = REPO / "examples" / "weekly_demo.yaml"
    res = CliRunner().invoke(cli, ["check", "--config", str(cfg), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [c["name"] for c in out["dataset"]["channels"]] == ["tv", "search", "social"]
    strict = CliRunner().invoke(cli, ["check", "--config", str(cfg), "--controls", "", "--strict"])
    assert strict.exit_code == (1 if out["n_warnings"] else 0)


def test_check_sql(sim_dir, tmp_path):
    import sqlite3

    db = tmp_path / "w.db"
    with sqlite3.connect(db) as con:
        pd.read_csv(sim_dir / "data.csv").to_sql("weekly", con, index=False)
    res = CliRunner().invoke(
        cli, ["check", f"sqlite:///{db}", "--query", "select * from weekly", *ARGS]
    )
    assert res.exit_code == 0, res.output


def test_check_robyn_reference_data():
    path = SHARED / "robyn_dt_simulated_weekly.csv"
    if not path.exists():
        pytest.skip("shared reference data not available")
    res = CliRunner().invoke(
        cli,
        [
            "check",
            str(path),
            "--date",
            "DATE",
            "--kpi",
            "revenue",
            "--channels",
            "tv_S,ooh_S,print_S,search_S:search_clicks_P,facebook_S:facebook_I",
            "--controls",
            "competitor_sales_B,newsletter",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["dataset"]["rows"] == 208 and out["dataset"]["freq"] == "W"
    names = {c["subject"] for c in out["checks"] if c["name"] == "vif"}
    assert names == {"tv_S", "ooh_S", "print_S", "search_S", "facebook_S"}
    # the text column 'events' ("na" strings) is not used, so it does not fail validation
    bad = CliRunner().invoke(
        cli,
        [
            "check",
            str(path),
            "--date",
            "DATE",
            "--kpi",
            "revenue",
            "--channels",
            "tv_S",
            "--controls",
            "events",
        ],
    )
    assert bad.exit_code == 2 and "'events' (control) has a non-numeric value 'na'" in bad.output
