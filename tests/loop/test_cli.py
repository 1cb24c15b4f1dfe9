"""`mediamix loop simulate`: the JSON contract, the figure, and a bad file's one-line error."""

import json

import pytest
import yaml
from click.testing import CliRunner

from mediamix.cli import cli

from .test_env import env_dict


@pytest.fixture(scope="module")
def env_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("loopcli") / "env.yaml"
    path.write_text(yaml.safe_dump(env_dict(periods=6, initial={"a": 900.0, "b": 100.0})))
    return path


def test_simulate_prints_the_contract_and_writes_the_figure(env_file, tmp_path):
    fig = tmp_path / "regret.html"
    res = CliRunner().invoke(cli, ["loop", "simulate", str(env_file), "--policy", "fixed",
                                   "--seed", "3", "--format", "json", "--quiet",
                                   "--figure", str(fig)])  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["policy"] == "fixed" and d["seed"] == 3
    assert len(d["regret_by_period"]) == 6 and len(d["allocations"]) == 6
    assert d["allocations"][0] == {"a": 900.0, "b": 100.0}
    assert d["regret"] == pytest.approx(sum(d["regret_by_period"]))
    assert d["regret"] == pytest.approx(d["oracle_kpi"] - d["total_kpi"])
    assert d["regret"] > 0
    html = fig.read_text()
    assert "Cumulative regret" in html and "plotly" in html.lower()


def test_a_bad_environment_is_one_error_line_with_its_key_path(tmp_path):
    d = env_dict()
    d["channels"][0]["adstock"]["lam"] = "slow"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(d))
    res = CliRunner().invoke(cli, ["loop", "simulate", str(bad), "--policy", "fixed"])
    assert res.exit_code == 2
    assert "error: env.channels[0].adstock.lam: expected a number, got 'slow'" in res.output
