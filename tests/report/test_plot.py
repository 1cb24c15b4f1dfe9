"""Figures from `Response` curves and plans (the web planner's inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.report import plan_figures, response_figure, response_table
from tests.report.conftest import plan_json


def _responses():
    return [
        {"name": "tv", "family": "log1p", "params": {"a": [1.0, 2.0, 3.0], "scale": 100.0},
         "reference_spend": 100.0},
        {"name": "search", "family": "exponential", "params": {"beta": 50.0, "k": 0.01},
         "unit_price": 2.0, "reference_spend": 30.0},
    ]  # fmt: skip


def test_response_table_is_the_curve_over_draws():
    table = response_table(_responses(), n_points=11, max_multiple=2.0, level=0.5)
    tv = table[table["channel"] == "tv"]
    x = np.linspace(0, 200, 11)
    np.testing.assert_allclose(tv["spend"], x)
    # a * log1p(x / 100) with a in {1, 2, 3}: mean 2, central 50% interval 1.5 .. 2.5
    np.testing.assert_allclose(tv["mean"], 2 * np.log1p(x / 100), rtol=1e-5)
    np.testing.assert_allclose(tv["lower"], 1.5 * np.log1p(x / 100), rtol=1e-5)
    np.testing.assert_allclose(tv["upper"], 2.5 * np.log1p(x / 100), rtol=1e-5)
    assert tv.loc[tv["current"], "spend"].tolist() == [100.0]
    search = table[table["channel"] == "search"]
    # units = spend / price: 50 * (1 - exp(-0.01 * x / 2))
    xs = np.linspace(0, 60, 11)
    np.testing.assert_allclose(search["mean"], 50 * (1 - np.exp(-0.005 * xs)), rtol=1e-5)
    with pytest.raises(SpecError, match="no response curves"):
        response_table([])


def test_response_figure_marks_each_reference_spend():
    fig = response_figure(_responses())
    for name, spend in (("tv", 100.0), ("search", 30.0)):
        (mark,) = [t for t in fig.data if t.name == f"{name}: today"]
        assert mark.x == (spend,)
    (mark,) = [t for t in fig.data if t.name == "tv: today"]
    assert mark.y[0] == pytest.approx(2 * np.log1p(1.0), rel=1e-5)


def test_plan_figures_from_a_mapping():
    figs = plan_figures(plan_json())
    assert set(figs) == {"allocation", "explanation", "frontier"}
    plan = plan_json()
    del plan["frontier"]
    assert set(plan_figures(plan)) == {"allocation", "explanation"}


def test_plan_figures_from_a_solved_plan():
    from mediamix.optimize import Problem, solve

    problem = Problem.from_dict(
        {"budget": 300, "channels": [
            {"name": "a", "response": {"type": "log1p", "a": 20}, "reference_spend": 100},
            {"name": "b", "response": {"type": "log1p", "a": 10}, "reference_spend": 200}]}
    )  # fmt: skip
    plan = solve(problem)
    figs = plan_figures(plan)
    (rec,) = [t for t in figs["allocation"].data if t.name == "recommended"]
    assert list(rec.x) == ["a", "b"]
    np.testing.assert_allclose(rec.y, [plan.allocation["a"], plan.allocation["b"]])
    # log responses, one budget: the closed form x_a + 1 = 2 (x_b + 1), x_a + x_b = 300
    np.testing.assert_allclose(rec.y, [300 - 299 / 3, 299 / 3], rtol=1e-6)
