"""One schema for problem files: a wrong type is one SpecError naming the key path; the CLI
prints it as one `error:` line and exits 2."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix import schemas
from mediamix.cli import cli
from mediamix.cli.optimize_cmds import parse_sweep
from mediamix.errors import SpecError
from mediamix.optimize import Problem, solve
from mediamix.optimize import problem as problem_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CHANNELS = """
channels:
  - name: search
    response: {type: log1p, a: 20}
  - name: tv
    response: {type: michaelis_menten, beta: 60, k: 50}
  - name: radio
    response: {type: hill, beta: 40, k: 15, s: 1.0}
"""


def _error(text: str) -> str:
    with pytest.raises(SpecError) as err:
        Problem.from_yaml(text)
    return str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("budget: lots" + CHANNELS, "problem.budget: expected a number, got 'lots'"),
        ("budget: 100\nperiods: many" + CHANNELS, "problem.periods: expected an integer, got 'many'"),
        (
            "budget: 100" + CHANNELS.replace("beta: 40", "beta: lots"),
            "problem.channels[2].response.beta: expected a number, got 'lots'",
        ),
        (
            "budget: 100" + CHANNELS.replace("{type: log1p, a: 20}", "{type: log1p, a: 20}\n"
                                              "    bounds: [ten, 80]"),
            "problem.channels[0].bounds[0]: expected a number, got 'ten'",
        ),
        (
            "budget: 100" + CHANNELS.replace("beta: 60", "beta: [50, 60, x]"),
            "problem.channels[1].response.beta[2]: expected a number, got 'x'",
        ),
        (
            "budget: 100" + CHANNELS + "departments: {rent: lots}",
            "problem.departments.rent.budget: expected a number, got 'lots'",
        ),
        (
            "budget: 100" + CHANNELS + "history: {tv: [1, two]}",
            "problem.history.tv[1]: expected a number, got 'two'",
        ),
        (
            "budget: 100" + CHANNELS.replace("{type: log1p, a: 20}", "{type: log1p, a: 20}\n"
                                              "    unit_price: [1, cheap]"),
            "problem.channels[0].unit_price[1]: expected a number, got 'cheap'",
        ),
        ("budget: true" + CHANNELS, "problem.budget: expected a number, got True"),
    ],
)  # fmt: skip
def test_a_wrong_type_names_its_key_path(text, message):
    assert _error(text) == message


def test_unknown_keys_and_names_suggest_the_closest():
    msg = _error("budgett: 100" + CHANNELS)
    assert msg.startswith("problem: unknown key 'budgett'") and "Did you mean 'budget'?" in msg
    msg = _error("budget: 100\nobjective: profitt" + CHANNELS)
    assert msg.startswith("problem.objective must be one of kpi, profit") and "'profit'" in msg
    msg = _error("budget: 100" + CHANNELS.replace("type: log1p", "type: logp1"))
    assert msg.startswith("problem.channels[0].response.type: unknown saturation family 'logp1'")
    msg = _error("budget: 100" + CHANNELS.replace("k: 50", "kk: 50"))
    assert msg.startswith("problem.channels[1].response: response family 'michaelis_menten'")
    msg = _error("budget: 100" + CHANNELS.replace("k: 50", "k: -50"))
    assert msg.startswith("problem.channels[1]: channel 'tv': parameter 'k' must be > 0")
    msg = _error("budget: 100\nchannels: []")
    assert msg.startswith("problem.channels: ")


def test_table_points_and_numeric_names():
    p = Problem.from_yaml(
        "budget: 10\nchannels:\n  - name: 2024\n"
        "    response: {type: table, points: [[0, 0], [5, 3], [10, 4]]}\n"
    )
    assert p.names == ["2024"] and p.channels[0].response.params["ys"].tolist() == [0, 3, 4]
    msg = _error(
        "budget: 10\nchannels:\n  - name: a\n    response: {type: table, points: [[0, 0], [5, x]]}"
    )
    assert msg == "problem.channels[0].response.points[1][1]: expected a number, got 'x'"


def test_the_vocabularies_are_the_shared_ones():
    assert problem_module.OBJECTIVES is schemas.OBJECTIVES
    assert problem_module.SOLVE_METHODS is schemas.SOLVE_METHODS
    assert problem_module.RISKS is schemas.RISKS and problem_module.COMBINES is schemas.COMBINES


def test_branch_and_bound_limits_live_on_the_problem():
    p = Problem.from_yaml("budget: 100" + CHANNELS)
    assert (p.max_nodes, p.time_limit) == (20000, 120.0)
    sshaped = (EXAMPLES / "optimize_sshaped.yaml").read_text() + "\nmax_nodes: 1\ntime_limit: 30\n"
    p = Problem.from_yaml(sshaped)
    assert (p.max_nodes, p.time_limit) == (1, 30.0)
    plan = solve(p)
    assert plan.method == "global" and plan.status == "gap_limit" and plan.gap > p.gap_tol
    assert solve(Problem.from_yaml(sshaped.replace("max_nodes: 1", ""))).status == "optimal"
    for bad, where in (("max_nodes: 0", "max_nodes"), ("time_limit: -1", "time_limit")):
        with pytest.raises(SpecError, match=where):
            Problem.from_yaml(f"budget: 100\n{bad}" + CHANNELS)
    assert "problem.max_nodes: expected an integer" in _error("max_nodes: 2.5" + CHANNELS)


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(("# Budget f\xfcr M\xe4rz\nbudget: 100" + CHANNELS).encode("latin-1"))
    with pytest.raises(SpecError, match=r"is not UTF-8 text: byte 0xfc on line 1.*save the file"):
        Problem.from_yaml(f)


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            b"budget: lots" + CHANNELS.encode(),
            "error: problem.budget: expected a number, got 'lots'",
        ),
        (b"# caf\xe9\nbudget: 1" + CHANNELS.encode(), "error: problem file"),
    ],
)
def test_cli_prints_one_error_line_and_exits_2(tmp_path, content, expected):
    f = tmp_path / "bad.yaml"
    f.write_bytes(content)
    r = CliRunner().invoke(cli, ["optimize", str(f)])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), r.output


def test_sweep_strings_are_parsed_by_the_cli(tmp_path):
    assert parse_sweep("100:300:100") == [100.0, 200.0, 300.0]
    assert parse_sweep("0.1:0.3:0.1") == pytest.approx([0.1, 0.2, 0.3])
    for bad in ("100:300", "a:b:c", "300:100:50", "1:2:0", "1:inf:1"):
        with pytest.raises(SpecError, match="--sweep"):
            parse_sweep(bad)
    f = tmp_path / "p.yaml"
    f.write_text("budget: 100" + CHANNELS)
    r = CliRunner().invoke(cli, ["optimize", str(f), "--sweep", "1:2"])
    assert r.exit_code == 2 and re.match(r"error: --sweep must look like", r.output)
