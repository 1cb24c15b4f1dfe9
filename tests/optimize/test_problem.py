"""The problem as data: YAML, from a fitted model, JSON output keys, the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.optimize import Problem, Response, solve

ISSUE_YAML = """
objective: kpi
combine: additive
budget: 300
kpi_value: 1.0
channels:
  - name: search_brand
    response: {type: log1p, a: 20}
    unit_price: 1.0
    bounds: [0, null]
    shares: {rent: 0.2, sales: 0.8}
  - name: tv
    response: {type: michaelis_menten, beta: 60, k: 50}
    shares: {rent: 0.5, sales: 0.5}
departments:
  rent: {budget: 100}
  sales: {budget: 200}
elastic: {penalty: 1000}
"""

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_issue_yaml_parses_and_solves():
    p = Problem.from_yaml(ISSUE_YAML)
    assert p.channels[0].response.family == "log1p"
    assert p.channels[0].response.params["a"] == pytest.approx(20.0)
    assert p.departments == {"rent": 100.0, "sales": 200.0}
    assert p.elastic_penalty == 1000.0
    plan = solve(p)
    d = plan.to_dict()
    for key in (
        "status",
        "method",
        "objective_value",
        "kpi",
        "spend_total",
        "gap",
        "seconds",
        "allocation",
        "units",
        "marginal_return",
        "departments",
    ):
        assert key in d
    assert set(d["departments"]["rent"]) >= {"spend", "budget", "overrun", "shadow_price"}
    # 20/(1+x) = 60*50/(50+y)^2 on x + y = 300 (both departments slack or binding together)
    x, y = d["allocation"]["search_brand"], d["allocation"]["tv"]
    assert x + y == pytest.approx(300, rel=1e-9)
    if d["departments"]["rent"]["shadow_price"] < 1e-9:
        assert 20 / (1 + x) == pytest.approx(3000 / (50 + y) ** 2, rel=1e-6)


def test_relative_bounds_and_table_points():
    text = """
budget: 100
channels:
  - name: a
    response: {type: table, points: [[0, 0], [50, 30], [100, 40]]}
    reference_spend: 40
    relative_bounds: [-0.25, 0.25]
  - name: b
    response: {type: log1p, a: 5}
"""
    p = Problem.from_yaml(text)
    assert p.channels[0].lower == pytest.approx(30.0) and p.channels[0].upper == pytest.approx(50.0)
    plan = solve(p)
    assert 30 - 1e-6 <= plan.allocation["a"] <= 50 + 1e-6


class _Fitted:
    """A duck-typed fitted model: the contract Problem.from_fitted relies on."""

    def responses(self):
        k = np.array([10.0, 20.0, 30.0])
        return [
            Response("tv", "hill", {"beta": 5.0, "k": k, "s": 1.0}),
            Response("search", "log1p", {"a": np.array([2.0, 3.0, 4.0]), "scale": 2.0}),
        ]

    def current_spend(self):
        return {"tv": 30.0, "search": 10.0}


def test_from_fitted_uses_current_spend_and_draws():
    p = Problem.from_fitted(_Fitted(), relative_bounds=0.5)
    assert p.budget == pytest.approx(40.0)
    assert p.channels[0].response.reference_spend == 30.0
    assert p.channels[0].lower == pytest.approx(15.0) and p.channels[0].upper == pytest.approx(45.0)
    plan = solve(p)
    assert plan.outcome["draws"] == 3
    assert plan.objective_value >= plan.reference["objective"] - 1e-12
    p2 = Problem.from_fitted(_Fitted(), budget=100.0, objective="profit")
    assert p2.budget == 100.0 and p2.objective == "profit"


def test_yaml_errors_name_the_place():
    with pytest.raises(SpecError, match="channel 'a': unknown key"):
        Problem.from_yaml(
            "budget: 1\nchannels:\n  - {name: a, response: {type: log1p, a: 1}, cost: 3}"
        )
    with pytest.raises(SpecError, match="takes parameters"):
        Problem.from_yaml("budget: 1\nchannels:\n  - {name: a, response: {type: hill, beta: 1}}")
    with pytest.raises(SpecError, match="does not exist"):
        Problem.from_yaml("/nonexistent/problem.yaml")


def test_cli_json_table_and_sweep(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(ISSUE_YAML)
    r = CliRunner().invoke(cli, ["optimize", str(f), "--format", "json", "--sweep", "100:300:100"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [row["budget"] for row in d["frontier"]] == [100.0, 200.0, 300.0]
    kpis = [row["kpi"] for row in d["frontier"]]
    assert kpis == sorted(kpis)
    r = CliRunner().invoke(cli, ["optimize", str(EXAMPLES / "optimize_sshaped.yaml")])
    assert r.exit_code == 0, r.output
    assert "method global" in r.output
    r = CliRunner().invoke(cli, ["optimize", "--run", str(tmp_path / "missing"), "--budget", "10"])
    assert r.exit_code == 2 and "error:" in r.output


def test_examples_solve():
    for path in sorted(EXAMPLES.glob("optimize_*.yaml")):
        plan = solve(Problem.from_yaml(path))
        assert plan.status == "optimal" and plan.gap <= 1e-4, path.name


def test_sweep_skips_infeasible_budgets_only_when_asked():
    from mediamix.errors import InfeasibleError
    from mediamix.optimize import Problem, sweep

    problem = Problem.from_dict(
        {
            "budget": 100,
            "channels": [
                {"name": "a", "response": {"type": "log1p", "a": 2.0}, "bounds": [40, None]},
                {"name": "b", "response": {"type": "log1p", "a": 1.0}, "bounds": [40, None]},
            ],
        }
    )
    points = sweep(problem, [50, 100, 120], skip_infeasible=True)
    assert [p["budget"] for p in points] == [100.0, 120.0]
    assert sum(points[0]["allocation"].values()) == pytest.approx(100.0, rel=1e-6)
    with pytest.raises(InfeasibleError, match="lower bound"):
        sweep(problem, [50, 100])
