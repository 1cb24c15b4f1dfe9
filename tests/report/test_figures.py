"""Figures draw exactly the given data: values, bands, markers and error bars."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mediamix.errors import SpecError
from mediamix.report import figures as F
from tests.report.conftest import (
    CHANNELS,
    CURRENT,
    adstock_table,
    data_checks_json,
    plan_json,
    response_table,
    summary_json,
)


def _trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def test_response_curve_marks_the_given_current_spend_on_the_mean_curve():
    curves = response_table()
    today = {"tv": 1234.5, "search": 100.0, "social": 439.0}
    fig = F.response_curves(curves, today)
    for name, spend in today.items():
        part = curves[curves["channel"] == name]
        mark = _trace(fig, f"{name}: today")
        assert mark.x == (spend,)
        # the curve is a*log1p(x/c): the marker sits on the interpolated mean curve
        expected = np.interp(spend, part["spend"], part["mean"])
        assert mark.y[0] == pytest.approx(expected)
        line = _trace(fig, name)
        np.testing.assert_allclose(line.y, part["mean"])
        assert line.line.color == mark.marker.color
        np.testing.assert_allclose(_trace(fig, f"{name} band").y, part["lower"])
        np.testing.assert_allclose(_trace(fig, f"{name} band upper").y, part["upper"])


def test_response_curve_uses_the_current_flag_when_no_spend_is_given():
    fig = F.response_curves(response_table())
    for name in CHANNELS:
        assert _trace(fig, f"{name}: today").x[0] == pytest.approx(CURRENT[name])


def test_response_curve_without_bands_and_missing_columns():
    curves = response_table()[["channel", "spend", "mean"]]
    fig = F.response_curves(curves, {"tv": 10.0})
    assert [t.name for t in fig.data] == ["tv", "tv: today", "search", "social"]
    with pytest.raises(SpecError, match=r"\['mean'\]"):
        F.response_curves(curves.drop(columns="mean"))


def test_fit_vs_actual_band_and_holdout_marker():
    dates = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    actual = np.arange(10.0) + 100
    mean = actual + 1
    fig = F.fit_vs_actual(dates, actual, mean, mean - 5, mean + 5, n_train=7, level=0.8)
    np.testing.assert_allclose(_trace(fig, "actual").y, actual)
    np.testing.assert_allclose(_trace(fig, "predicted (mean)").y, mean)
    band = _trace(fig, "80% predictive interval")
    np.testing.assert_allclose(band.y, mean - 5)
    assert band.fill == "tonexty"
    np.testing.assert_allclose(_trace(fig, "80% predictive interval upper").y, mean + 5)
    (shape,) = [s for s in fig.layout.shapes if s.name == "holdout"]
    assert pd.Timestamp(shape.x0) == dates[7]
    # no hold-out: no marker
    fig = F.fit_vs_actual(dates, actual, mean, n_train=10)
    assert not fig.layout.shapes
    with pytest.raises(SpecError, match="'mean' has 9 values for 10 dates"):
        F.fit_vs_actual(dates, actual, mean[:9])


def test_decomposition_stacks_baseline_then_channels():
    from tests.report.conftest import _contributions

    df = _contributions(20, 16)
    fig = F.contributions_over_time(df)
    stacked = [t for t in fig.data if t.stackgroup == "one"]
    assert [t.name for t in stacked] == ["baseline", *CHANNELS]
    total = np.sum([t.y for t in stacked], axis=0)
    ekpi = df[df["component"] == "expected_kpi"].sort_values("date")["mean"].to_numpy()
    np.testing.assert_allclose(total, ekpi)
    assert _trace(fig, "expected KPI").stackgroup is None
    fig = F.contributions_over_time(df, channels=["search"])
    assert [t.name for t in fig.data if t.stackgroup] == ["baseline", "search"]
    with pytest.raises(SpecError, match="no component"):
        F.contributions_over_time(df, channels=["radio"])


def test_roas_error_bars_span_the_interval():
    channels = summary_json(52, 44)["channels"]
    fig = F.roas(channels)
    for key, label in (("roas", "ROAS"), ("mroas", "marginal ROAS")):
        bar = _trace(fig, label)
        assert list(bar.x) == list(CHANNELS)
        for i, c in enumerate(CHANNELS):
            t = channels[c][key]
            assert bar.y[i] == pytest.approx(t["mean"])
            assert bar.y[i] + bar.error_y.array[i] == pytest.approx(t["upper"])
            assert bar.y[i] - bar.error_y.arrayminus[i] == pytest.approx(t["lower"])


def test_roas_from_a_summary_dataframe_and_missing_values():
    df = pd.DataFrame(
        {"roas_mean": [2.0, np.nan], "roas_lower": [1.0, np.nan], "roas_upper": [4.0, np.nan],
         "mroas_mean": [1.0, 0.5], "mroas_lower": [0.5, 0.1], "mroas_upper": [1.5, 0.9]},
        index=pd.Index(["tv", "radio"], name="channel"),
    )  # fmt: skip
    fig = F.roas(df)
    bar = _trace(fig, "ROAS")
    assert bar.error_y.array[0] == pytest.approx(2.0)
    assert _trace(fig, "marginal ROAS").error_y.arrayminus[1] == pytest.approx(0.4)
    json.loads(fig.to_json())  # NaN-free, serialisable for the web page


def test_adstock_curves_one_line_per_channel():
    table = adstock_table()
    fig = F.adstock_curves(table)
    for c in CHANNELS:
        part = table[table["channel"] == c]
        line = _trace(fig, c)
        assert list(line.x) == list(range(6))
        np.testing.assert_allclose(line.y, part["mean"])
        assert sum(line.y) == pytest.approx(1.0)


def test_allocation_and_explanation_from_a_plan():
    plan = plan_json()
    fig = F.plan_allocation(plan)
    assert list(_trace(fig, "recommended").y) == [plan["allocation"][c] for c in CHANNELS]
    assert list(_trace(fig, "current").y) == [CURRENT[c] for c in CHANNELS]
    rows = F.explanation_rows(plan)
    assert [r[0] for r in rows] == list(CHANNELS)
    search = rows[1]
    assert search[3] == "+50.0%"  # 350 -> 525
    assert search[6] == "upper"
    assert rows[0][1] == "1,600"
    table = F.explanation_table(plan).data[0]
    assert list(table.header.values) == list(F.EXPLANATION_COLUMNS)
    assert list(table.cells.values[0]) == list(CHANNELS)
    # a plan with only an allocation still draws
    fig = F.plan_allocation({"allocation": {"a": 1.0, "b": 2.0}})
    assert [t.name for t in fig.data] == ["recommended"]


def test_frontier_is_sorted_and_marks_the_plan():
    plan = plan_json()
    fig = F.frontier(plan["frontier"], {"budget": 2170.0, "kpi": 3000.0})
    line = _trace(fig, "optimal KPI")
    assert list(line.x) == [1000.0, 2000.0, 3000.0]
    assert list(line.y) == [2000.0, 2900.0, 3500.0]
    assert _trace(fig, "this plan").x == (2170.0,)


def test_correlation_heatmap_and_checks_table():
    d = data_checks_json()
    fig = F.correlation_heatmap(d["correlation"]["channels"], d["correlation"]["matrix"])
    hm = fig.data[0]
    assert hm.zmin == -1 and hm.zmax == 1
    assert hm.z[0][1] == pytest.approx(0.85)
    assert hm.text[1][2] == ""  # a missing correlation stays blank
    with pytest.raises(SpecError, match="shape"):
        F.correlation_heatmap(["a", "b"], [[1.0]])
    table = F.data_checks_table(d["checks"]).data[0]
    assert list(table.cells.values[4]) == ["warn", "ok"]
    assert table.cells.fill.color[0][0] != table.cells.fill.color[0][1]


def test_sampler_rows_show_present_values_in_their_units():
    rows = dict(F.sampler_rows(summary_json(52, 44)["diagnostics"]))
    assert rows["in-sample MAPE"] == "3.20%"
    assert rows["predictive interval coverage (nominal 90%)"] == "91.0%"
    assert rows["max R-hat (want <= 1.01)"] == "1.004"
    assert "min ESS per second" not in rows
    assert F.sampler_rows({}) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234567.0, "1,234,567"), (3.14159, "3.142"), (None, ""), (float("nan"), ""),
     (2e-5, "0.00002"), (1e-10, "1.000e-10"), (0, "0")],
)  # fmt: skip
def test_fmt_number(value, text):
    assert F.fmt_number(value) == text


def test_faceted_response_curves_one_panel_per_channel():
    fig = F.response_curves(response_table(), CURRENT, facet=True, cols=2)
    axes = {}
    for name in CHANNELS:
        line, mark = _trace(fig, name), _trace(fig, f"{name}: today")
        assert mark.xaxis == line.xaxis and mark.yaxis == line.yaxis
        assert _trace(fig, f"{name} band").xaxis == line.xaxis
        assert mark.x == (CURRENT[name],)
        axes[name] = line.xaxis or "x"
    assert len(set(axes.values())) == 3
    assert [a.text for a in fig.layout.annotations] == list(CHANNELS)
