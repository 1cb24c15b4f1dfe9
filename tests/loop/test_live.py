"""`mediamix loop next` on a fitted run folder: splits within the guard-rails, recorded,
and repeated posterior-sampling calls explore."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.loop.live import LOG_FILE, read_log
from mediamix.runs import RunDir


@pytest.fixture(scope="module")
def run_dir(svi_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("loop") / "run"
    RunDir(path).write(svi_fit)
    return path


def _next(run_dir, *args):
    res = CliRunner().invoke(cli, ["loop", "next", str(run_dir), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_repeated_thompson_calls_explore_within_the_guard_rails(run_dir):
    current = RunDir(run_dir).read().current_spend()
    names = list(current)
    budget = float(sum(current.values()))
    rows = [_next(run_dir, "--budget", str(budget), "--max-move", "0.2") for _ in range(3)]
    for i, row in enumerate(rows):
        assert row["period"] == i + 1 and row["policy"] == "thompson"
        x = np.array([row["split"][n] for n in names])
        assert x.sum() == pytest.approx(budget, rel=1e-6)
        ref = np.array([row["reference"][n] for n in names])
        assert np.all(x >= np.array([row["lower"][n] for n in names]) - 1e-6 * budget)
        assert np.all(x <= np.array([row["upper"][n] for n in names]) + 1e-6 * budget)
        # the maximum move: 20% of the last split (or of 5% of the budget)
        assert np.all(np.abs(x - ref) <= 0.2 * np.maximum(ref, 0.05 * budget) + 1e-6 * budget)
    # the first call moves from the run's current spend, each later one from the last split
    np.testing.assert_allclose([rows[0]["reference"][n] for n in names],
                               [current[n] for n in names], rtol=1e-9)  # fmt: skip
    for a, b in zip(rows[:-1], rows[1:]):
        np.testing.assert_allclose([b["reference"][n] for n in names],
                                   [a["split"][n] for n in names], rtol=1e-9)  # fmt: skip
    splits = [tuple(round(r["split"][n], 6) for n in names) for r in rows]
    assert len(set(splits)) > 1  # posterior sampling: the calls differ
    log = read_log(run_dir)
    assert [r["split"] for r in log] == [r["split"] for r in rows]
    assert all("draw" in r for r in log)


def test_bounds_a_dry_run_and_the_errors(run_dir):
    names = list(RunDir(run_dir).read().current_spend())
    before = len(read_log(run_dir))
    row = _next(run_dir, "--budget", "1000", "--bound", f"{names[0]}=100:400", "--dry-run",
                "--policy", "greedy", "--seed", "3", "--max-move", "3")  # fmt: skip
    assert 100 - 1e-6 <= row["split"][names[0]] <= 400 + 1e-6
    assert sum(row["split"].values()) == pytest.approx(1000.0, rel=1e-6)
    assert len(read_log(run_dir)) == before  # a dry run records nothing
    res = CliRunner().invoke(cli, ["loop", "next", str(run_dir), "--budget", "1000",
                                   "--bound", "radio=1:2"])  # fmt: skip
    assert res.exit_code == 2 and "unknown channel 'radio'" in res.output
    (run_dir / LOG_FILE).write_text((run_dir / LOG_FILE).read_text() + "{oops\n")
    res = CliRunner().invoke(cli, ["loop", "next", str(run_dir), "--budget", "1000"])
    assert res.exit_code == 2 and f"line {before + 1} is not JSON" in res.output
