"""`mediamix plan`: a certified forward plan from a run folder, and exit status 2 with one
message for every user mistake (checked before any solve where it can be)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from tests.analysis.test_forecast import tiny_fitted


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from mediamix.runs import RunDir

    fitted, frame = tiny_fitted()
    folder = tmp_path_factory.mktemp("plan") / "run"
    RunDir(folder).write(fitted)
    future = folder.parent / "future.csv"
    frame.iloc[60:66][["date", "price_index"]].to_csv(future, index=False)
    return folder, future, frame


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plan_json_out_and_figure(run, tmp_path):
    folder, future, frame = run
    day = str(frame["date"].iloc[62])[:10]
    out, fig = tmp_path / "plan.json", tmp_path / "plan.html"
    res = invoke("plan", "--run", str(folder), "--horizon", "6", "--future", str(future),
                 "--max-change", "0.5", "--discount", "0.001", "--no-carry-out",
                 "--dark", f"tv:{day}", "--format", "json", "--out", str(out),
                 "--figure", str(fig))  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["gap"] <= 1e-4 and data["periods"] == 6 and data["carry_out"] is False
    assert data["spend"]["tv"][2] == 0.0
    assert data["dates"][0] == str(frame["date"].iloc[60])[:10]
    assert "Spend per week" in fig.read_text()
    table = invoke("plan", "--run", str(folder), "--horizon", "4", "--future", str(future))
    assert table.exit_code == 0 and "best constant weekly split" in table.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--dark", "tv-2022-03-07"], "--dark must look like CHANNEL:DATE"),
        (["--dark", "radio:2022-03-07"], "unknown channel 'radio'"),
        (["--dark", "tv:2031-01-06"], "outside the planned periods"),
        (["--future", "/nonexistent/controls.csv"], "no such file"),
        (["--max-change", "-1"], "--max-change is the largest relative change"),
        (["--discount", "2"], "--discount is a rate per period in [0, 1)"),
        (["--horizon", "0"], "--horizon must be"),
        (["--min-flight", "9"], "--min-flight must be in 1..6"),
        (["--out", "/nonexistent/dir/plan.json"], "does not exist"),
    ],
)
def test_mistakes_exit_2_with_one_message(run, args, words):
    folder, future, _ = run
    res = CliRunner().invoke(cli, ["plan", "--run", str(folder), "--horizon", "6", *args])
    assert res.exit_code == 2, res.output
    assert words in res.output


def test_missing_run_and_bad_future_table(run, tmp_path):
    folder, future, _ = run
    res = CliRunner().invoke(cli, ["plan", "--run", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "error:" in res.output
    bad = tmp_path / "future.csv"
    bad.write_text("date,weather\n2022-02-28,1\n")
    res = CliRunner().invoke(cli, ["plan", "--run", str(folder), "--horizon", "6",
                                   "--future", str(bad)])  # fmt: skip
    assert res.exit_code == 2 and "['weather'] are not controls" in res.output
