"""The report's "Effects over time" section: each time-varying channel's effect per unit over
the fitted window with its band, ROAS in the last quarter against the whole window, and the
end / start ratio. It reads summary.json's ``time_varying`` block
(`mediamix.analysis.time_varying.time_varying_summary`) and nothing else, so a run folder
without the model still shows it.

`mediamix.report.html` calls `time_varying_section(run, Section)` with its own section class
(this module does not import it back).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from mediamix.report import figures as F

KEY = "time_varying"
TITLE = "Effects over time"


def _label(name: str) -> str:
    return name.removesuffix("_spend")


def effect_figure(name: str, block: dict[str, Any], dates: list[str], level: float) -> go.Figure:
    """``<channel>'s effect per unit, <start>-<end>``: the multiplier per period (1 = the
    window's average) with its ``level`` band."""
    path = block["path"]
    years = f"{dates[0][:4]}-{dates[-1][:4]}" if dates else ""
    color = F.PALETTE[0]
    fig = go.Figure(F._band(dates, path["lower"], path["upper"], color,
                            f"{level:.0%} interval", "band", True))  # fmt: skip
    fig.add_trace(go.Scatter(x=dates, y=path["mean"], mode="lines", name="mean",
                             line={"color": color}))  # fmt: skip
    fig.add_hline(y=1.0, line={"color": "#888", "dash": "dot"})
    return F._layout(
        fig,
        f"{_label(name)}'s effect per unit, {years}",
        "period",
        "effect per unit (1 = window average)",
    )


def _span(t: Any) -> str:
    if not isinstance(t, dict) or t.get("mean") is None:
        return ""
    lo, hi = t.get("lower"), t.get("upper")
    s = F.fmt_number(t["mean"])
    if lo is not None and hi is not None and not (lo == hi == t["mean"]):
        s += f" [{F.fmt_number(lo)}, {F.fmt_number(hi)}]"
    return s


def time_varying_section(run, section_cls) -> Any | None:
    """The section for a run whose summary has a ``time_varying`` block, else None;
    ``section_cls``: the report's section class (key, title; ``.text``, ``.figure``,
    ``.table``)."""
    block = (run.summary or {}).get(KEY)
    if not block or not block.get("channels"):
        return None
    lvl = float(run.level)
    s = section_cls(KEY, TITLE)
    q = block.get("last_quarter") or {}
    s.text.append(
        "Channels whose effect per unit may change over time: the line is each one's effect "
        "in every period relative to its average over the fitted window (1 = average; below 1 "
        "it returned less per unit than on average), with its "
        f"{lvl:.0%} interval. Contributions, ROAS and the response curves follow the path; the "
        "curves the planner gets use the effect at the end of the window."
    )
    rows = []
    dates = block.get("dates") or []
    for name, ch in block["channels"].items():
        s.figure(f"effect_{name}", effect_figure(name, ch, dates, lvl))
        p = ch.get("p_decline")
        rows.append([
            name, _span(ch.get("roas_last_quarter")), _span(ch.get("roas_window")),
            _span(ch.get("end_start_ratio")), "" if p is None else f"{p:.0%}",
            F.fmt_number(ch.get("drift")),
        ])  # fmt: skip
    s.table({
        "header": ["channel", f"ROAS, last {q.get('periods', '')} periods",
                   "ROAS, whole window", "end / start effect", "P(end < start)", "prior drift"],
        "rows": rows,
        "caption": f"mean [{lvl:.0%} interval]; prior drift: sd of the log effect's change per "
                   "year",
        "warn_col": None,
    })  # fmt: skip
    if block.get("baseline"):
        b = block["baseline"]
        s.text.append(
            f"The baseline level also varies over time (prior drift {F.fmt_number(b.get('drift'))}"
            f" per year, {b.get('units', '')})."
        )
    return s
