import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    from mediamix.data.simulate import simulate

    frame, truth = simulate(n_periods=104, n_channels=3, seed=5)
    path = tmp_path_factory.mktemp("sim") / "data.csv"
    frame.to_csv(path, index=False)
    return path, truth


def test_fit_map_with_flags_writes_summary(sim_csv, tmp_path):
    path, truth = sim_csv
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        [
            "fit",
            str(path),
            "--out",
            str(out),
            "--method",
            "map",
            "--steps",
            "500",
            "--quiet",
            "--date",
            "date",
            "--kpi",
            "sales",
            "--channels",
            "tv_spend,search_spend,social_spend",
            "--controls",
            "price_index,promo",
        ],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    assert "ROAS" in res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["method"] == "map" and s["fit_seconds"] > 0
    for name in ("tv_spend", "search_spend", "social_spend"):
        for key in ("roas", "mroas", "contribution"):
            assert set(s["channels"][name][key]) == {"mean", "lower", "upper"}
    assert {"max_rhat", "min_ess_bulk", "divergences"} <= set(s["diagnostics"])
    for f in ("contributions.csv", "response_curves.csv", "adstock_curves.csv",
              "model/posterior.nc"):  # fmt: skip
        assert (out / f).exists(), f


def test_init_config_and_bad_config(tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "model.yaml"
    res = runner.invoke(cli, ["init-config", str(cfg)])
    assert res.exit_code == 0 and cfg.exists()
    res = runner.invoke(cli, ["init-config", str(cfg)])
    assert res.exit_code == 2 and "--force" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  saturation: hil\n")
    data = tmp_path / "d.csv"
    data.write_text("date,y,x\n2024-01-01,1,1\n")
    res = runner.invoke(cli, ["fit", str(data), "--config", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown value 'hil'" in res.output and "Traceback" not in res.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, data, channels, min_r2",
    [
        ("robyn.yaml", "robyn_dt_simulated_weekly.csv", 5, 0.5),
        ("meridian.yaml", "meridian_national_media.csv", 4, 0.3),
    ],
)
def test_example_configs_fit_shared_data(config, data, channels, min_r2, tmp_path):
    if not (SHARED / data).exists():
        pytest.skip(f"{SHARED / data} not available")
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        [
            "fit",
            str(SHARED / data),
            "--config",
            str(EXAMPLES / config),
            "--out",
            str(out),
            "--method",
            "map",
            "--steps",
            "800",
            "--quiet",
        ],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert len(s["channels"]) == channels
    assert s["diagnostics"]["in_sample_r2"] > min_r2
    for ch in s["channels"].values():
        assert ch["roas"]["mean"] is not None and ch["roas"]["mean"] >= 0
