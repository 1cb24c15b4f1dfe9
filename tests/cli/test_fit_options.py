"""The options `fit` and `fit-many` share (one definition), `fit-many --time-varying` down to
each group's saved spec, and `mediamix check` with the geo model's roles (--organic,
--non-media, --reach-frequency) as `mediamix fit` takes them."""

from __future__ import annotations

import json

import click
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.cli.fleet_cmds import fit_many_cmd
from mediamix.cli.model_cmds import data_options, fit_cmd

SHARED = ["--holdout", "--level", "--date", "--kpi", "--channels", "--controls",
          "--experiments", "--time-varying", "--quiet"]  # fmt: skip
ROLES = ["--date", "date", "--kpi", "sales", "--channels", "tv_spend,search_spend",
         "--controls", "price_index", "--organic", "organic_social", "--non-media", "promotion",
         "--reach-frequency", "youtube:youtube_reach:youtube_frequency:youtube_spend",
         "--geo", "geo", "--population", "population"]  # fmt: skip


def _options(command: click.Command) -> dict[str, click.Option]:
    return {p.opts[0]: p for p in command.params if isinstance(p, click.Option)}


def _flat(text: str) -> str:
    """The output with its line wrapping undone (rich wraps long lines)."""
    return " ".join(text.split())


def test_fit_and_fit_many_share_one_definition_of_the_data_options():
    @click.command()
    @data_options
    def probe(**kwargs):  # the decorator's own options, in their order
        pass

    declared = [p.opts[0] for p in probe.params]
    assert declared == SHARED
    fit, many = _options(fit_cmd), _options(fit_many_cmd)
    for name in SHARED:
        a, b = fit[name], many[name]
        assert (a.name, a.help, a.default, a.is_flag) == (b.name, b.help, b.default, b.is_flag)
    assert fit["--experiments"].name == "experiments_path"
    assert "the same table for every group" in fit["--experiments"].help
    assert "--geo" in fit and "--geo" not in many  # the geo roles are fit's only


def test_help_of_both_commands_lists_the_shared_options():
    runner = CliRunner()
    for command in ("fit", "fit-many"):
        res = runner.invoke(cli, [command, "--help"])
        assert res.exit_code == 0, res.output
        for name in SHARED:
            assert name in res.output, (command, name)
    many = _flat(runner.invoke(cli, ["fit-many", "--help"]).output)
    assert "--time-varying TEXT channels whose effect may drift over time" in many


def test_fit_many_passes_time_varying_to_every_group(tmp_path):
    """Two simulated markets fitted with MAP (30 steps) one after another: each group's run
    folder saves the spec with tv_spend time-varying, and its summary has the effect path."""
    from mediamix.data.simulate import simulate

    parts = []
    for i, name in enumerate(("north", "west")):
        frame, _ = simulate(n_periods=52, n_channels=2, seed=20 + i, n_controls=0)
        parts.append(frame.assign(market=name))
    table = tmp_path / "markets.csv"
    pd.concat(parts, ignore_index=True).to_csv(table, index=False)
    out = tmp_path / "fleet"
    res = CliRunner().invoke(cli, [
        "fit-many", str(table), "--by", "market", "--out", str(out), "--engine", "sequential",
        "--method", "map", "--steps", "30", "--date", "date", "--kpi", "sales",
        "--channels", "tv_spend,search_spend", "--controls", "", "--time-varying", "tv_spend",
        "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "fitted 2 of 2 groups with map on sequential" in res.output
    for name in ("north", "west"):
        spec = yaml.safe_load((out / name / "model" / "spec.yaml").read_text(encoding="utf-8"))
        assert spec["model"]["time_varying"] == ["tv_spend"], name
        summary = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert list(summary["time_varying"]["channels"]) == ["tv_spend"]


@pytest.fixture(scope="module")
def geo_csv(tmp_path_factory):
    """A simulated 2-geo panel (80 weeks) with every role, as a CSV."""
    from mediamix.data.simulate_geo import simulate_geo_panel

    panel, _ = simulate_geo_panel(n_geos=2, n_periods=80, n_channels=2, seed=4, rf_channels=1,
                                  organic=1, non_media=1)  # fmt: skip
    frame = panel.to_frame()
    frame["date"] = pd.DatetimeIndex(frame["date"]).strftime("%Y-%m-%d")
    path = tmp_path_factory.mktemp("check") / "panel.csv"
    frame.to_csv(path, index=False)
    return path


def test_check_takes_the_geo_roles_and_names_them(geo_csv):
    res = CliRunner().invoke(cli, ["check", str(geo_csv), *ROLES])
    assert res.exit_code == 0, res.output
    out = _flat(res.output)
    assert "geo panel: 2 geos in 'geo' x 80 W periods (160 rows)" in out
    assert "organic: organic_social; non-media: promotion;" in out
    assert "reach and frequency: youtube (youtube_reach, youtube_frequency, youtube_spend)" in out
    res = CliRunner().invoke(cli, ["check", str(geo_csv), *ROLES, "--format", "json"])
    got = json.loads(res.output)["panel"]
    assert (got["organic"], got["non_media"]) == (["organic_social"], ["promotion"])
    assert got["reach_frequency"] == {"youtube": {"reach": "youtube_reach",
                                                  "frequency": "youtube_frequency",
                                                  "spend": "youtube_spend"}}  # fmt: skip


def test_check_stops_at_a_negative_reach_with_the_loaders_message(geo_csv, tmp_path):
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(geo_csv)
    frame.loc[3, "youtube_reach"] = -5.0
    frame.to_csv(bad, index=False)
    res = CliRunner().invoke(cli, ["check", str(bad), *ROLES])
    assert res.exit_code == 2
    assert _flat(res.output) == (
        "error: column 'youtube_reach' (reach of channel 'youtube') has a negative value -5 at "
        "row 4 (geo 'geo_01', 2022-01-24). Fix: reach is the number of people reached in the "
        "period (>= 0); correct the value, or write 0 for periods without delivery."
    )


def test_check_of_national_data_with_an_organic_column_is_a_one_geo_panel(geo_csv, tmp_path):
    national = tmp_path / "national.csv"
    frame = pd.read_csv(geo_csv)
    frame[frame["geo"] == "geo_01"].drop(columns=["geo", "population"]).to_csv(national,
                                                                              index=False)  # fmt: skip
    base = ["check", str(national), *ROLES[:8]]
    res = CliRunner().invoke(cli, [*base, "--organic", "organic_social"])
    assert res.exit_code == 0, res.output
    assert _flat(res.output).startswith("geo panel: 1 geo in ")
    assert "organic: organic_social" in _flat(res.output)
    # an empty role clears it: the national checks, as without it
    res = CliRunner().invoke(cli, [*base, "--organic", ""])
    assert res.exit_code == 0, res.output
    assert _flat(res.output).startswith("80 W rows 2022-01-03 .. 2023-07-10; KPI 'sales'")


@pytest.mark.parametrize("name", ["fit", "fit-many", "refresh"])
def test_every_fitting_command_takes_target_accept(name):
    # the divergence warning's advice ("raise target_accept") can be followed from the CLI
    option = _options(cli.commands[name])["--target-accept"]
    assert option.type == click.FLOAT and option.default is None


def test_target_accept_reaches_the_sampler():
    from mediamix.cli.model_cmds import fit_options
    from mediamix.inference import sampler

    opts = fit_options(None, "nuts", 2, 100, 100, None, 0, 0, 0.9, None, None, None, None,
                       None, target_accept=0.95)  # fmt: skip
    assert opts.sampler_options() == {"chains": 2, "draws": 100, "warmup": 100,
                                      "target_accept": 0.95}  # fmt: skip
    assert sampler("nuts", **opts.sampler_options()).target_accept == 0.95
    # not given: the sampler's default
    assert (
        "target_accept"
        not in fit_options(
            None, "nuts", None, None, None, None, 0, 0, 0.9, None, None, None, None, None
        ).sampler_options()
    )


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "map", "--target-accept", "0.9"],
     "option(s) target_accept do not apply to method 'map'"),
    (["--target-accept", "1.2"], "target_accept must be in (0, 1) (got 1.2)"),
])  # fmt: skip
def test_a_target_accept_that_does_not_apply_is_one_clear_error(tmp_path, args, message):
    from mediamix.data.simulate import simulate

    frame, _ = simulate(n_periods=60, n_channels=2, seed=0)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    res = CliRunner().invoke(cli, ["fit", str(path), "--out", str(tmp_path / "run"), *args])
    assert res.exit_code == 2, res.output
    assert message in _flat(res.output)
    assert not (tmp_path / "run").exists()
