"""The ``mediamix rtb`` commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mediamix.cli import cli


def test_equilibrium_json_uniform_closed_form():
    res = CliRunner().invoke(
        cli,
        [
            "rtb",
            "equilibrium",
            "--bidders",
            "4",
            "--dist",
            "uniform",
            "--value",
            "0.8",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) == {"bid", "value", "bidders"}
    assert out["bid"] == pytest.approx(0.6)
    assert out["bidders"] == 4 and out["value"] == 0.8


def test_equilibrium_text_and_non_uniform():
    res = CliRunner().invoke(
        cli, ["rtb", "equilibrium", "-n", "2", "--dist", "exponential:1", "--value", "1"]
    )
    assert res.exit_code == 0, res.output
    # n=2, exponential(1): b(v) = v - int_0^v F / F(v) = 1 - (1 - (1 - e^-1)) / (1 - e^-1)
    import math

    expected = 1 - (1 - (1 - math.exp(-1))) / (1 - math.exp(-1))
    assert f"{expected:.6g}" in res.output


@pytest.mark.parametrize(
    "args,match",
    [
        (["--dist", "beta:2"], "beta:a:b"),
        (["--dist", "cauchy"], "unknown distribution"),
        (["--bidders", "1"], "bidders must be"),
        (["--value", "-1"], "--value must be >= 0"),
    ],
)
def test_equilibrium_errors(args, match):
    base = {"--bidders": "3", "--dist": "uniform", "--value": "0.5"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["rtb", "equilibrium"] + [x for kv in base.items() for x in kv]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2
    assert match in res.output


def test_train_ctr_then_simulate_with_the_model(tmp_path):
    out = tmp_path / "fm.npz"
    res = CliRunner().invoke(
        cli,
        [
            "rtb",
            "train-ctr",
            "--simulate",
            "30000",
            "--bits",
            "12",
            "--rank",
            "4",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert out.exists() and report["kind"] == "fm"
    assert report["test"]["log_loss"] < report["test"]["base_log_loss"]
    assert len(report["test"]["reliability"]) == 10
    res = CliRunner().invoke(
        cli,
        [
            "rtb",
            "simulate",
            "--budget",
            "100",
            "--requests",
            "20000",
            "--model",
            str(out),
            "--strategy",
            "truthful",
            "--strategy",
            "truthful+multiplier",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["strategy"] for r in rows] == ["truthful", "truthful+multiplier"]
    assert all(r["spend"] <= 100 + 1e-9 for r in rows)


def test_train_ctr_from_csv_and_errors(tmp_path):
    from mediamix.rtb.ctr import simulate_impressions

    csv = tmp_path / "log.csv"
    simulate_impressions(20000, seed=2).frame.to_csv(csv, index=False)
    out = tmp_path / "lr.npz"
    args = ["rtb", "train-ctr", "--data", str(csv), "--kind", "logistic", "--bits", "12"]
    res = CliRunner().invoke(cli, args + ["--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["kind"] == "logistic"
    res = CliRunner().invoke(cli, args + ["--label", "clicked", "--out", str(out)])
    assert res.exit_code == 2 and "label column 'clicked' is missing" in res.output
    res = CliRunner().invoke(cli, args + ["--fields", "site,colour", "--out", str(out)])
    assert res.exit_code == 2 and "['colour'] are missing" in res.output
    res = CliRunner().invoke(cli, ["rtb", "train-ctr", "--out", str(out)])
    assert res.exit_code == 2 and "exactly one of" in res.output


def test_simulate_text_table():
    res = CliRunner().invoke(
        cli, ["rtb", "simulate", "--budget", "50", "--requests", "20000", "--mechanism", "first"]
    )
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].split()[0] == "strategy" and len(lines) == 4
    assert lines[3].startswith("truthful+multiplier")


SERVE = ["rtb", "serve", "--cpc", "1", "--ctr", "0.01", "--budget", "10"]


@pytest.mark.parametrize(
    "args,env,match",
    [
        (["--port", "99999"], {}, "99999 is not in the range 0<=x<=65535"),
        (["--budget", "inf"], {}, "budget must be a finite number >= 0 and <= 1e+12, got inf"),
        (["--budget", "nan"], {}, "budget must be >= 0"),
        (["--budget", "-1"], {}, "budget must be >= 0, got -1"),
        (["--cpc", "0"], {}, "cpc must be > 0, got 0.0"),
        (["--cpc", "nan"], {}, "cpc must be > 0"),
        (["--ctr", "2"], {}, "ctr must be in [0, 1], got 2.0"),
        (["--host", "0.0.0.0"], {}, "refusing to listen on 0.0.0.0"),
        (["--host", "::"], {}, "Set MEDIAMIX_RTB_TOKEN"),
        (["--host", "0.0.0.0"], {"MEDIAMIX_RTB_TOKEN": "short"}, "use at least 16"),
        (["--host", "0.0.0.0"], {"MEDIAMIX_RTB_TOKEN": " " * 20}, "has 0 characters"),
        (["--bid-ttl", "0"], {}, "--bid-ttl"),
        (["--budget-period", "week"], {}, "'week' is not one of 'day', 'total'"),
    ],
)
def test_serve_refuses_bad_arguments_with_exit_2(tmp_path, args, env, match):
    env = {"MEDIAMIX_RTB_TOKEN": None, "MEDIAMIX_HOME": str(tmp_path), **env}
    argv = SERVE + args + ["--store", str(tmp_path / "rtb.sqlite")]
    res = CliRunner(env=env).invoke(cli, argv)
    assert res.exit_code == 2, res.output
    assert match in res.output
    assert "Traceback" not in res.output


def test_serve_refuses_files_that_are_not_models_or_prices(tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("site,click\na,1\nb,0\n")
    store = ["--store", str(tmp_path / "rtb.sqlite")]
    res = CliRunner().invoke(cli, SERVE + ["--model", str(garbage)] + store)
    assert res.exit_code == 2
    assert "garbage.csv' is not a mediamix CTR model file" in res.output
    assert "rtb train-ctr --data FILE.csv" in res.output and "allow_pickle" not in res.output
    res = CliRunner().invoke(cli, SERVE + ["--win-prices", str(garbage)] + store)
    assert res.exit_code == 2 and "cannot read winning prices" in res.output
    res = CliRunner().invoke(cli, SERVE + ["--store", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.output
