"""Figures from plain data: pandas DataFrames, mappings and arrays in, Plotly figures out.

Every function here is pure (no model, no files): the HTML report, the web planner and the
Python API draw the same figures from the same tables. Intervals are drawn as filled bands
(``lower`` .. ``upper``) or error bars around the ``mean``; the interval level is whatever the
caller computed (90% by default in mediamix).

Inputs follow the tables of `mediamix.analysis` and `mediamix.optimize.Plan.to_dict()`:

- contributions: tidy ``date, component, mean[, lower, upper]`` rows (``baseline``,
  ``expected_kpi`` and one component per channel);
- response curves: ``channel, spend, mean, lower, upper`` rows;
- adstock curves: ``channel, lag, mean, lower, upper`` rows;
- channel metrics: ``{channel: {"roas": {mean, lower, upper}, "mroas": {...}}}`` (the
  ``channels`` mapping of summary.json);
- a plan: the mapping of ``Plan.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mediamix.errors import SpecError
from mediamix.optimize.plan import MARGINAL_KEYS, decimals, fmt_amount

PALETTE = (
    "#636EFA",
    "#EF553B",
    "#00CC96",
    "#AB63FA",
    "#FFA15A",
    "#19D3F3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
)
BASELINE_COLOR = "#B0B0B0"
ACTUAL_COLOR = "#222222"
TEMPLATE = "plotly_white"

__all__ = [
    "adstock_curves",
    "allocation",
    "channel_color",
    "contributions_over_time",
    "correlation_heatmap",
    "data_checks_table",
    "explanation_table",
    "fit_vs_actual",
    "fmt_number",
    "explanation_rows",
    "frontier",
    "plan_allocation",
    "roas",
    "response_curves",
    "sampler_rows",
    "sampler_table",
]


def channel_color(i: int) -> str:
    """The colour of the i-th channel (the same in every figure)."""
    return PALETTE[i % len(PALETTE)]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SpecError(f"{what} must be a pandas DataFrame (got {type(df).__name__})")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SpecError(
            f"{what} needs column(s) {missing}; it has {list(df.columns)}. Fix: pass the "
            f"table from mediamix.analysis (or rename the columns)."
        )


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _band(x, lower, upper, color: str, name: str, group: str, show: bool = False) -> list:
    """Two traces: the upper edge, then the lower edge filled up to it."""
    return [
        go.Scatter(
            x=list(x),
            y=list(upper),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=group,
            name=f"{name} upper",
        ),
        go.Scatter(
            x=list(x),
            y=list(lower),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(color, 0.2),
            hoverinfo="skip",
            showlegend=show,
            legendgroup=group,
            name=name,
        ),
    ]


def _layout(fig: go.Figure, title: str, xaxis: str, yaxis: str) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=xaxis,
        yaxis_title=yaxis,
        template=TEMPLATE,
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
    )
    return fig


# ------------------------------------------------------------------------------ model fit
def fit_vs_actual(
    dates: Sequence,
    actual: Sequence[float],
    mean: Sequence[float],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    n_train: int | None = None,
    level: float = 0.9,
    title: str = "Model fit vs actual",
    kpi_name: str = "KPI",
) -> go.Figure:
    """Observed KPI, the model's mean prediction and its predictive band per period.

    When ``n_train`` is less than the number of periods, the hold-out (periods ``n_train``..)
    starts at a dashed vertical line, the layout shape named ``holdout``.
    """
    x = list(pd.to_datetime(pd.Series(list(dates))))
    n = len(x)
    for what, arr in (("actual", actual), ("mean", mean), ("lower", lower), ("upper", upper)):
        if arr is not None and len(arr) != n:
            raise SpecError(f"fit_vs_actual: '{what}' has {len(arr)} values for {n} dates")
    fig = go.Figure()
    if lower is not None and upper is not None:
        fig.add_traces(
            _band(x, lower, upper, PALETTE[0], f"{level:.0%} predictive interval", "pred", True)
        )
    fig.add_trace(
        go.Scatter(
            x=x, y=list(mean), mode="lines", name="predicted (mean)", line={"color": PALETTE[0]}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=list(actual),
            mode="markers+lines",
            name="actual",
            marker={"color": ACTUAL_COLOR, "size": 4},
            line={"color": ACTUAL_COLOR, "width": 1},
        )
    )
    if n_train is not None and 0 < n_train < n:
        start = x[n_train]
        fig.add_shape(
            type="line",
            name="holdout",
            x0=start,
            x1=start,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"dash": "dash", "color": "#555555"},
        )
        fig.add_annotation(
            x=start, y=1, xref="x", yref="paper", text="hold-out", showarrow=False, xanchor="left"
        )
    return _layout(fig, title, "date", kpi_name)


def contributions_over_time(
    contributions: pd.DataFrame,
    channels: Sequence[str] | None = None,
    title: str = "Decomposition over time",
    kpi_name: str = "KPI",
) -> go.Figure:
    """Stacked areas per period: the baseline first, then each channel's contribution.

    ``contributions``: tidy rows ``date, component, mean`` (as `mediamix.analysis.contributions`);
    components other than ``baseline`` and the channels (e.g. ``expected_kpi``) are not stacked.
    When an ``expected_kpi`` component is present its mean is drawn as a line on top, and a
    ``kpi`` column (observed) as markers.
    """
    _require(contributions, ["date", "component", "mean"], "contributions")
    df = contributions.copy()
    df["date"] = pd.to_datetime(df["date"])
    comps = list(dict.fromkeys(df["component"]))
    if channels is None:
        channels = [c for c in comps if c not in ("baseline", "expected_kpi")]
    unknown = [c for c in channels if c not in comps]
    if unknown:
        raise SpecError(f"contributions has no component(s) {unknown}; it has {comps}")
    fig = go.Figure()
    order = (["baseline"] if "baseline" in comps else []) + list(channels)
    for i, name in enumerate(order):
        part = df[df["component"] == name].sort_values("date")
        color = BASELINE_COLOR if name == "baseline" else channel_color(i - ("baseline" in order))
        fig.add_trace(
            go.Scatter(
                x=list(part["date"]),
                y=list(part["mean"].astype(float)),
                mode="lines",
                name=name,
                stackgroup="one",
                line={"width": 0.5, "color": color},
                fillcolor=_rgba(color, 0.6),
            )
        )
    if "expected_kpi" in comps:
        part = df[df["component"] == "expected_kpi"].sort_values("date")
        fig.add_trace(
            go.Scatter(
                x=list(part["date"]),
                y=list(part["mean"].astype(float)),
                mode="lines",
                name="expected KPI",
                line={"color": PALETTE[0], "dash": "dot"},
            )
        )
        if "kpi" in part.columns:
            fig.add_trace(
                go.Scatter(
                    x=list(part["date"]),
                    y=list(part["kpi"].astype(float)),
                    mode="markers",
                    name="actual",
                    marker={"color": ACTUAL_COLOR, "size": 3},
                )
            )
    return _layout(fig, title, "date", kpi_name)


# ------------------------------------------------------------------------ return on spend
def _metric_frame(metrics: Mapping[str, Mapping[str, Any]] | pd.DataFrame, key: str):
    """(names, mean, lower, upper) of ``key`` from summary.json's channels or a summary()."""
    if isinstance(metrics, pd.DataFrame):
        need = [f"{key}_mean", f"{key}_lower", f"{key}_upper"]
        _require(metrics, need, "channel summary")
        names = [str(n) for n in metrics.index]
        vals = [metrics[c].astype(float).tolist() for c in need]
        return names, vals[0], vals[1], vals[2]
    names, m, lo, hi = [], [], [], []
    for name, row in metrics.items():
        t = row.get(key) or {}
        names.append(str(name))
        m.append(_finite(t.get("mean")))
        lo.append(_finite(t.get("lower")))
        hi.append(_finite(t.get("upper")))
    return names, m, lo, hi


def roas(
    metrics: Mapping[str, Mapping[str, Any]] | pd.DataFrame,
    level: float = 0.9,
    title: str = "ROAS and marginal ROAS per channel",
) -> go.Figure:
    """Grouped bars of ROAS and marginal ROAS per channel with interval error bars.

    ``metrics``: summary.json's ``channels`` mapping (``{name: {"roas": {mean, lower, upper},
    "mroas": {...}}}``) or the DataFrame of ``FittedModel.summary()``. The error bar of a
    bar with mean m runs from ``lower`` to ``upper`` (``array = upper - m``,
    ``arrayminus = m - lower``). A dotted line marks ROAS = 1 (break-even).
    """
    fig = go.Figure()
    for j, (key, label) in enumerate((("roas", "ROAS"), ("mroas", "marginal ROAS"))):
        names, m, lo, hi = _metric_frame(metrics, key)
        if all(v is None for v in m):
            continue
        plus = [None if v is None or u is None else u - v for v, u in zip(m, hi)]
        minus = [None if v is None or low is None else v - low for v, low in zip(m, lo)]
        fig.add_trace(
            go.Bar(
                x=names,
                y=m,
                name=label,
                marker_color=PALETTE[j],
                error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
                customdata=np.column_stack([lo, hi]).tolist(),
                hovertemplate=f"%{{x}}: %{{y:.3g}} ({level:.0%} interval %{{customdata[0]:.3g}}"
                " to %{customdata[1]:.3g})<extra>" + label + "</extra>",
            )
        )
    fig.add_hline(y=1.0, line={"dash": "dot", "color": "#777777"})
    fig.update_layout(barmode="group", hovermode="closest")
    return _layout(fig, title, "channel", "KPI value per unit of spend")


# ----------------------------------------------------------------------------- curves
def response_curves(
    curves: pd.DataFrame,
    current_spend: Mapping[str, float] | None = None,
    level: float = 0.9,
    title: str = "Response curves",
    kpi_name: str = "incremental KPI per period",
    facet: bool = False,
    cols: int = 3,
) -> go.Figure:
    """Spend per period -> incremental KPI per period per channel, with bands.

    ``curves``: rows ``channel, spend, mean[, lower, upper]`` (as
    `mediamix.analysis.response_curves`). Today's spend of each channel (``current_spend``,
    else the row flagged ``current`` when that column exists) is a marker named
    ``"<channel>: today"`` at ``(spend, mean curve interpolated at spend)``. ``facet=True``
    draws one panel per channel (``cols`` per row), each on its own scale.
    """
    _require(curves, ["channel", "spend", "mean"], "response curves")
    names = list(dict.fromkeys(curves["channel"]))
    has_band = {"lower", "upper"} <= set(curves.columns)
    ncol = max(1, min(int(cols), len(names)))
    nrow = -(-len(names) // ncol) if facet else 1
    if facet:
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=nrow, cols=ncol, subplot_titles=names, horizontal_spacing=0.08,
            vertical_spacing=0.25 / max(nrow, 1),
        )  # fmt: skip
    else:
        fig = go.Figure()
    for i, name in enumerate(names):
        where = {"row": i // ncol + 1, "col": i % ncol + 1} if facet else {}
        part = curves[curves["channel"] == name].sort_values("spend")
        x = part["spend"].astype(float).to_numpy()
        y = part["mean"].astype(float).to_numpy()
        color = channel_color(i)
        if has_band:
            for tr in _band(x, part["lower"], part["upper"], color, f"{name} band", name):
                fig.add_trace(tr, **where)
        fig.add_trace(
            go.Scatter(
                x=list(x), y=list(y), mode="lines", name=name, legendgroup=name,
                line={"color": color},
            ),
            **where,
        )  # fmt: skip
        today = None
        if current_spend is not None and name in current_spend:
            today = _finite(current_spend[name])
        elif current_spend is None and "current" in part.columns:
            flagged = part[part["current"].astype(bool)]
            if len(flagged):
                today = float(flagged["spend"].iloc[0])
        if today is not None:
            fig.add_trace(
                go.Scatter(
                    x=[today],
                    y=[float(np.interp(today, x, y))],
                    mode="markers",
                    name=f"{name}: today",
                    legendgroup=name,
                    showlegend=False,
                    marker={
                        "color": color,
                        "size": 11,
                        "symbol": "diamond",
                        "line": {"color": ACTUAL_COLOR, "width": 1},
                    },
                    hovertemplate="today: spend %{x:.4g}, KPI %{y:.4g}<extra>" + name + "</extra>",
                ),
                **where,
            )
    fig.update_layout(hovermode="closest")
    sub = f" ({level:.0%} bands; diamonds: today's spend)" if has_band else ""
    if not facet:
        return _layout(fig, title + sub, "spend per period", kpi_name)
    _layout(fig, title + sub, "", "")
    fig.update_layout(height=140 + 300 * nrow, showlegend=False)
    fig.update_xaxes(title_text="spend per period", row=nrow)
    fig.update_yaxes(title_text=kpi_name, col=1)
    return fig


def adstock_curves(
    curves: pd.DataFrame,
    level: float = 0.9,
    title: str = "Adstock decay",
    facet: bool | None = None,
    cols: int = 3,
) -> go.Figure:
    """Share of a period's media effect felt at each lag, per channel, with bands.

    ``curves``: rows ``channel, lag, mean[, lower, upper]`` (as
    `mediamix.analysis.adstock_curves`). ``facet`` (default: when there are two channels or
    more) draws small multiples, one panel per channel (``cols`` per row) on shared axes, so
    that bands do not hide each other and the decays compare at a glance.
    """
    _require(curves, ["channel", "lag", "mean"], "adstock curves")
    names = list(dict.fromkeys(curves["channel"]))
    if facet is None:
        facet = len(names) > 1
    ncol = max(1, min(int(cols), len(names)))
    nrow = -(-len(names) // ncol) if facet else 1
    if facet:
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=nrow, cols=ncol, subplot_titles=names, shared_xaxes="all", shared_yaxes="all",
            horizontal_spacing=0.05, vertical_spacing=0.3 / max(nrow, 1),
        )  # fmt: skip
    else:
        fig = go.Figure()
    has_band = {"lower", "upper"} <= set(curves.columns)
    for i, name in enumerate(names):
        where = {"row": i // ncol + 1, "col": i % ncol + 1} if facet else {}
        part = curves[curves["channel"] == name].sort_values("lag")
        color = channel_color(i)
        x = part["lag"].astype(int).tolist()
        if has_band:
            for tr in _band(x, part["lower"], part["upper"], color, f"{name} band", name):
                fig.add_trace(tr, **where)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=part["mean"].astype(float).tolist(),
                mode="lines+markers",
                name=name,
                legendgroup=name,
                line={"color": color},
            ),
            **where,
        )  # fmt: skip
    sub = f" ({level:.0%} bands)" if has_band else ""
    fig.update_layout(hovermode="closest")
    if not facet:
        return _layout(fig, title + sub, "lag (periods after the spend)", "share of the effect")
    _layout(fig, title + sub, "", "")
    fig.update_layout(height=120 + 240 * nrow, showlegend=False)
    fig.update_xaxes(title_text="lag (periods after the spend)", row=nrow)
    fig.update_yaxes(title_text="share of the effect", col=1)
    return fig


# ------------------------------------------------------------------------------- plan
def _plan_channels(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = plan.get("channels")
    if rows:
        return [dict(r) for r in rows]
    alloc = plan.get("allocation") or {}
    marg = plan.get("marginal_return") or {}
    return [
        {"name": n, "current": None, "recommended": v, "change": None, "kpi": None,
         "marginal_return": marg.get(n), "binding": None}
        for n, v in alloc.items()
    ]  # fmt: skip


def allocation(
    recommended: Mapping[str, float],
    current: Mapping[str, float] | None = None,
    title: str = "Current vs recommended spend per period",
) -> go.Figure:
    """Grouped bars per channel: the current spend (when known) and the recommended spend."""
    names = list(recommended)
    fig = go.Figure()
    if current:
        fig.add_trace(
            go.Bar(
                x=names,
                y=[_finite(current.get(n)) for n in names],
                name="current",
                marker_color=BASELINE_COLOR,
            )  # fmt: skip
        )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[_finite(recommended[n]) for n in names],
            name="recommended",
            marker_color=PALETTE[0],
        )  # fmt: skip
    )
    fig.update_layout(barmode="group", hovermode="closest")
    return _layout(fig, title, "channel", "spend per period")


def plan_allocation(plan: Mapping[str, Any]) -> go.Figure:
    """`allocation` from a ``Plan.to_dict()`` mapping (current = each channel's reference)."""
    rows = _plan_channels(plan)
    rec = {r["name"]: r["recommended"] for r in rows}
    cur = {r["name"]: r["current"] for r in rows if r.get("current") is not None}
    return allocation(rec, cur or None)


EXPLANATION_COLUMNS = (
    "channel",
    "current",
    "recommended",
    "change",
    "incremental KPI",
    "marginal return",
    "binding bound",
    "why",
)


def explanation_rows(plan: Mapping[str, Any]) -> list[list[str]]:
    """The explanation table as text cells, one row per channel (see EXPLANATION_COLUMNS):
    spend per period and KPI at one precision per column, the marginal return at the plan,
    the bound it sits on and why it moves (the plan's ``reason``)."""
    out = []
    rows = _plan_channels(plan)
    ds = decimals([v for r in rows for v in (r.get("current"), r.get("recommended"))])
    dk = decimals([r.get("kpi") for r in rows], 4)
    dm = decimals([v for r in rows for k in MARGINAL_KEYS if (v := r.get(k)) is not None], 3)
    for r in rows:
        change = r.get("change")
        if change is None:
            ch = ""
        elif _finite(change) is None:
            ch = "new"
        else:
            ch = f"{float(change):+.1%}"
        out.append(
            [
                str(r["name"]),
                fmt_amount(r.get("current"), ds),
                fmt_amount(r.get("recommended"), ds),
                ch,
                fmt_amount(r.get("kpi"), dk),
                fmt_amount(r.get("marginal_return"), dm),
                r.get("binding") or "",
                r.get("reason") or "",
            ]
        )
    return out


def fmt_number(v: Any) -> str:
    """A number for a table cell in plain notation: thousands separators from 1,000 up, 4
    significant digits below (0.0001234 stays 0.0001234); scientific only beyond 1e15 or
    below 1e-9, where plain digits stop being readable; '' for None / NaN."""
    f = _finite(v)
    if f is None:
        return ""
    a = abs(f)
    if a >= 1e15 or 0 < a < 1e-9:
        return f"{f:.3e}"
    if a >= 1000:
        return f"{f:,.0f}"
    if a < 1e-3:
        return np.format_float_positional(f, precision=4, unique=True, fractional=False, trim="-")
    return f"{f:.4g}"


_num = fmt_number


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str,
           fills: Sequence[str] | None = None) -> go.Figure:  # fmt: skip
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in header]
    cells: dict[str, Any] = {"values": cols, "align": "left"}
    if fills is not None:
        cells["fill_color"] = [list(fills)] * len(header)
    fig = go.Figure(
        go.Table(
            header={"values": list(header), "align": "left", "fill_color": "#E8EAF6"},
            cells=cells,
        )
    )
    fig.update_layout(
        title=title, template=TEMPLATE, margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=90 + 28 * max(len(rows), 1),
    )  # fmt: skip
    return fig


def explanation_table(plan: Mapping[str, Any], title: str = "Why this plan") -> go.Figure:
    """Per channel: current and recommended spend, change, expected KPI, marginal return and
    which bound binds (a table figure; the same cells as `explanation_rows`)."""
    return _table(EXPLANATION_COLUMNS, explanation_rows(plan), title)


def frontier(
    points: Sequence[Mapping[str, Any]],
    chosen: Mapping[str, float] | None = None,
    title: str = "Efficient frontier",
    capped: Sequence[Sequence[str]] | None = None,
) -> go.Figure:
    """Budget -> optimal expected KPI (``points``: ``[{budget, kpi}, ...]``, as the
    ``frontier`` of a plan). ``chosen`` (``{"budget": .., "kpi": ..}``) marks the plan.

    ``capped`` (one list per point, as `mediamix.optimize.plan.frontier_caps`) names the
    channels at their upper bound at each budget: those points are drawn hollow with the
    names on hover, and from the first budget where every channel is capped a dashed line
    says that the bounds, not saturation, flatten the curve.
    """
    caps = [list(c) for c in capped] if capped is not None else [[] for _ in points]
    if len(caps) != len(points):
        raise SpecError(f"frontier: 'capped' has {len(caps)} entries for {len(points)} points")
    pts = sorted(
        (
            {
                "budget": _finite(p.get("budget")),
                "kpi": _finite(p.get("kpi")),
                "cap": c,
                "all": bool(c) and len(c) == len(p.get("allocation") or {}),
            }
            for p, c in zip(points, caps)
        ),
        key=lambda p: (p["budget"] is None, p["budget"] or 0.0),
    )
    hover = [
        "at the upper bound: " + ", ".join(p["cap"])
        if p["cap"]
        else "no channel at its upper bound"
        for p in pts
    ]
    fig = go.Figure(
        go.Scatter(
            x=[p["budget"] for p in pts],
            y=[p["kpi"] for p in pts],
            mode="lines+markers",
            name="optimal KPI",
            line={"color": PALETTE[0]},
            marker={"symbol": ["circle-open" if p["cap"] else "circle" for p in pts], "size": 9},
            customdata=hover,
            hovertemplate="budget %{x:,.0f}: KPI %{y:,.4g}<br>%{customdata}<extra></extra>",
        )  # fmt: skip
    )
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=[_finite(chosen.get("budget"))],
                y=[_finite(chosen.get("kpi"))],
                mode="markers",
                name="this plan",
                marker={"size": 12, "symbol": "star", "color": PALETTE[1]},
            )  # fmt: skip
        )
    flat = [p for p in pts if p["all"]]
    if flat and flat[0]["budget"] is not None:
        x0 = flat[0]["budget"]
        fig.add_shape(
            type="line", name="bounds", x0=x0, x1=x0, xref="x", y0=0, y1=1, yref="paper",
            line={"dash": "dash", "color": "#b7791f"},
        )  # fmt: skip
        fig.add_annotation(
            x=x0, y=0.05, xref="x", yref="paper", xanchor="right", showarrow=False,
            text="every channel at its upper bound:<br>the bounds, not saturation, flatten it",
            font={"color": "#6b4600", "size": 11},
        )  # fmt: skip
    fig.update_layout(hovermode="closest")
    return _layout(fig, title, "budget", "expected KPI")


# ------------------------------------------------------------------------ diagnostics
def data_checks_table(checks: Sequence[Mapping[str, Any]], title: str = "Data checks") -> go.Figure:
    """The data layer's checks (``Diagnostics.to_dict()["checks"]``): name, subject, value,
    threshold, verdict and advice; warnings are highlighted."""
    header = ("check", "subject", "value", "threshold", "verdict", "advice")
    rows, fills = [], []
    for c in checks:
        rows.append([str(c.get("name", "")), str(c.get("subject", "")), _num(c.get("value")),
                     _num(c.get("threshold")), str(c.get("verdict", "")), str(c.get("advice", ""))])  # fmt: skip
        fills.append("#FFF3CD" if c.get("verdict") == "warn" else "white")
    return _table(header, rows, title, fills)


def correlation_heatmap(
    channels: Sequence[str],
    matrix: Sequence[Sequence[float | None]] | np.ndarray,
    title: str = "Correlation between channels",
) -> go.Figure:
    """Pearson correlation of the channel inputs, on a fixed -1..1 colour scale."""
    z = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])
    names = list(channels)
    if z.shape != (len(names), len(names)):
        raise SpecError(f"correlation matrix has shape {z.shape} for {len(names)} channels")
    text = [["" if not np.isfinite(v) else f"{v:.2f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z.tolist(),
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=text,
            texttemplate="%{text}",
            colorbar={"title": "r"},
        )  # fmt: skip
    )
    fig.update_layout(title=title, template=TEMPLATE, yaxis={"autorange": "reversed"})
    return fig


SAMPLER_KEYS = (
    ("method", "method"),
    ("max_rhat", "max R-hat (want <= 1.01)"),
    ("min_ess_bulk", "min bulk ESS (want >= 400)"),
    ("min_ess_tail", "min tail ESS"),
    ("divergences", "divergent transitions (want 0)"),
    ("min_bfmi", "min BFMI (want >= 0.3)"),
    ("ess_per_second", "min ESS per second"),
    ("ppc_coverage", "predictive interval coverage"),
    ("in_sample_mape", "in-sample MAPE"),
    ("in_sample_r2", "in-sample R²"),
    ("holdout_periods", "hold-out periods"),
    ("holdout_mape", "hold-out MAPE"),
    ("holdout_r2", "hold-out R²"),
)


def sampler_rows(diagnostics: Mapping[str, Any]) -> list[list[str]]:
    """(label, value) rows of the fit diagnostics in summary.json (present keys only)."""
    rows = []
    for key, label in SAMPLER_KEYS:
        v = diagnostics.get(key)
        if v is None:
            continue
        if key == "ppc_coverage":
            lvl = _finite(diagnostics.get("ppc_level")) or 0.9
            label = f"{label} (nominal {lvl:.0%})"
            text = f"{float(v):.1%}"
        elif key.endswith("mape"):
            text = f"{float(v):.2f}%"  # mediamix.inference reports MAPE in percent
        else:
            text = _num(v) if not isinstance(v, str) else v
        rows.append([label, text])
    return rows


def sampler_table(diagnostics: Mapping[str, Any], title: str = "Fit diagnostics") -> go.Figure:
    """R-hat, ESS, divergences, BFMI, predictive coverage and hold-out error as a table."""
    return _table(("diagnostic", "value"), sampler_rows(diagnostics), title)
