"""The forward plan as figures and a table: spend per week and channel, the forecast KPI
with its band, and the marginal return of one more unit in each week.

Input is the mapping of ``ForwardPlan.to_dict()`` (:mod:`mediamix.analysis.forecast`):
``dates``, ``channels``, ``spend`` {channel: [per week]}, ``marginal`` {channel: [...]},
``forecast`` {kpi, lower, upper, baseline, level}; pure functions, Plotly figures out, the same
in the CLI's HTML file and the web planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mediamix.report.figures import TEMPLATE, _band, _table, channel_color, fmt_number

HORIZON_COLUMNS_TAIL = ("KPI", "band", "media KPI")


def horizon_rows(plan: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The weekly table: header and one row per period (date, spend per channel, forecast
    KPI with its band, media KPI, marginal return per channel)."""
    names = list(plan.get("channels") or [])
    dates = list(plan.get("dates") or range(len(plan.get("media_kpi") or [])))
    fc = plan.get("forecast") or {}
    level = int(round(100 * float(fc.get("level", 0.9))))
    header = (["week"] + [f"{n} spend" for n in names] + ["KPI", f"{level}% band", "media KPI"]
              + [f"{n} marginal" for n in names])  # fmt: skip
    rows = []
    for t, d in enumerate(dates):
        band = ""
        if fc.get("lower") is not None:
            band = f"{fmt_number(fc['lower'][t])} .. {fmt_number(fc['upper'][t])}"
        rows.append(
            [str(d)]
            + [fmt_number(plan["spend"][n][t]) for n in names]
            + [fmt_number(fc["kpi"][t]) if fc.get("kpi") is not None else "", band,
               fmt_number(plan["media_kpi"][t])]
            + [f"{float(plan['marginal'][n][t]):.4g}" for n in names]
        )  # fmt: skip
    return header, rows


def horizon_table(plan: Mapping[str, Any], title: str = "The plan, week by week") -> go.Figure:
    """The weekly table as a table figure."""
    header, rows = horizon_rows(plan)
    return _table(header, rows, title)


def horizon_figure(plan: Mapping[str, Any]) -> go.Figure:
    """Three panels over the weeks: spend per channel (stacked bars), the forecast KPI with
    its band (and the baseline), the marginal return of one more unit per channel."""
    names = list(plan.get("channels") or [])
    dates = list(plan.get("dates") or range(len(plan.get("media_kpi") or [])))
    fc = plan.get("forecast") or {}
    level = int(round(100 * float(fc.get("level", 0.9))))
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
        subplot_titles=("Spend per week", f"Forecast KPI with its {level}% band",
                        "Marginal return of one more unit (carry-over and discount included)"),
    )  # fmt: skip
    for i, n in enumerate(names):
        fig.add_trace(
            go.Bar(x=dates, y=plan["spend"][n], name=n, marker_color=channel_color(i),
                   legendgroup=n),
            row=1, col=1,
        )  # fmt: skip
    if fc.get("kpi") is not None:
        for tr in _band(dates, fc["lower"], fc["upper"], "#222222", f"{level}% band", "kpi", True):
            fig.add_trace(tr, row=2, col=1)
        fig.add_trace(go.Scatter(x=dates, y=fc["kpi"], name="forecast KPI", mode="lines+markers",
                                 line={"color": "#222222"}), row=2, col=1)  # fmt: skip
        if fc.get("baseline") is not None:
            fig.add_trace(go.Scatter(x=dates, y=fc["baseline"], name="baseline", mode="lines",
                                     line={"color": "#B0B0B0", "dash": "dot"}), row=2, col=1)  # fmt: skip
    for i, n in enumerate(names):
        fig.add_trace(
            go.Scatter(x=dates, y=plan["marginal"][n], name=f"{n} marginal", mode="lines+markers",
                       line={"color": channel_color(i)}, legendgroup=n, showlegend=False),
            row=3, col=1,
        )  # fmt: skip
    fig.update_layout(barmode="stack", template=TEMPLATE, height=820,
                      title=_title(plan), margin={"l": 60, "r": 20, "t": 90, "b": 40},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 0})  # fmt: skip
    return fig


def _title(plan: Mapping[str, Any]) -> str:
    gap = plan.get("gap")
    c = plan.get("constant") or {}
    rel = c.get("margin_rel")
    parts = [f"{len(plan.get('dates') or [])}-week plan"]
    if gap is not None:
        parts.append(f"gap {float(gap):.1e}")
    if rel is not None:
        parts.append(f"{100 * float(rel):+.2f}% vs the best constant weekly split")
    return " | ".join(parts)


def write_horizon_html(plan: Mapping[str, Any], path: str | Path) -> Path:
    """The figure and the table in one self-contained HTML file (plotly.js inlined)."""
    from mediamix.report.html import FIGURE_CONFIG

    fig = horizon_figure(plan)
    table = horizon_table(plan)
    html = (
        "<html><head><meta charset='utf-8'><title>Forward plan</title></head><body>"
        + fig.to_html(full_html=False, include_plotlyjs=True, config=FIGURE_CONFIG)
        + table.to_html(full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG)
        + "</body></html>"
    )
    out = Path(path)
    out.write_text(html, encoding="utf-8")
    return out
