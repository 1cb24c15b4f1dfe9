"""The fleet page: every group of a `mediamix fit-many` folder side by side (``fleet.html``).

Read from the fleet's ``fleet.csv`` and ``fleet_roas.csv`` (`mediamix.fleet.runner`): the
groups' status, review and convergence in one table, then each channel's ROAS with its
interval across the groups (one figure per channel, the groups on one axis) and the same
numbers as a table. One self-contained HTML file in the run report's style (plotly.js
inlined, works offline).
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mediamix.errors import SpecError
from mediamix.report import figures as F
from mediamix.report.html import TEMPLATE_NAME, _env, _table, figure_html

STATUS_ROW = {"failed": "fail", "not_converged": "review", "ok": "pass"}
META_COLUMNS = ("group", "status", "message", "fit_seconds", "wall_seconds", "attempts",
                "method", "max_rhat", "min_ess", "divergences", "r2", "holdout_mape", "review",
                "review_fail", "review_to_read", "peak_rss_mb", "resumed")  # fmt: skip


def _num(v: Any, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "" if math.isnan(f) else f"{f:,.{digits}f}"


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def read_fleet(folder: str | Path):
    """``(fleet table, ROAS table, the by columns)`` of a fleet folder."""
    import pandas as pd

    root = Path(folder)
    path = root / "fleet.csv"
    if not path.is_file():
        raise SpecError(
            f"'{root}' is not a fleet folder (no fleet.csv). Fix: give the --out folder of "
            "`mediamix fit-many`"
        )
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    roas_path = root / "fleet_roas.csv"
    roas = pd.read_csv(roas_path) if roas_path.is_file() else pd.DataFrame()
    by = [c for c in table.columns if c not in META_COLUMNS]
    return table, roas, by


def roas_figure(roas, channel: str, level: float) -> go.Figure:
    """One channel's ROAS in every group: the mean and its interval, a group per row."""
    d = roas[roas["channel"] == channel].sort_values("roas")
    fig = go.Figure(
        go.Scatter(
            x=d["roas"], y=d["group"].astype(str), mode="markers", name=channel,
            marker={"color": F.channel_color(0), "size": 8},
            error_x={"type": "data", "symmetric": False,
                     "array": (d["roas_upper"] - d["roas"]).clip(lower=0),
                     "arrayminus": (d["roas"] - d["roas_lower"]).clip(lower=0)},
            hovertemplate="%{y}: ROAS %{x:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title=f"{channel}: ROAS by group ({level:.0%} interval)", xaxis_title="ROAS",
        yaxis_title="group", height=max(260, 60 + 22 * len(d)), template="plotly_white",
        margin={"l": 120, "r": 20, "t": 50, "b": 40}, showlegend=False,
    )  # fmt: skip
    return fig


def render_fleet(folder: str | Path, title: str | None = None) -> str:
    """The fleet page of ``folder`` as one HTML string."""
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    from mediamix import __version__

    root = Path(folder)
    table, roas, by = read_fleet(root)
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    level = float(roas["level"].iloc[0]) if len(roas) and "level" in roas else 0.9
    rows = [
        [*(_text(r[b]) for b in by), _text(r["group"]), _text(r["status"]),
         _text(r.get("review")), _num(r.get("fit_seconds"), 1), _num(r.get("max_rhat"), 3),
         _num(r.get("min_ess"), 0), _num(r.get("r2")), _text(r.get("attempts")),
         _text(r.get("message")), STATUS_ROW.get(str(r["status"]), "")]
        for r in table.to_dict("records")
    ]  # fmt: skip
    head = [*by, "group", "status", "review", "fit s", "max R-hat", "min ESS", "R2",
            "attempts", "message", "verdict"]  # fmt: skip
    groups = {
        "key": "groups", "title": "Groups",
        "items": [("fitted", f"{counts.get('ok', 0)} ok, {counts.get('not_converged', 0)} not "
                   f"converged, {counts.get('failed', 0)} failed of {len(table)} groups")],
        "text": ["A failed group's message is the one `mediamix fit` gives for its data; a "
                 "group that did not converge has numbers not fit to report."],
        "blocks": [("table", _table(head, rows, warn_col=len(head) - 1))],
    }  # fmt: skip
    sections = [groups]
    if len(roas):
        channels = list(dict.fromkeys(roas["channel"]))
        blocks = [("figure", Markup(figure_html(roas_figure(roas, c, level),
                                                div_id=f"figure-roas-{i}")))
                  for i, c in enumerate(channels)]  # fmt: skip
        wide = []
        for g, d in roas.groupby("group", sort=False):
            cells = {r["channel"]: f"{_num(r['roas'])} [{_num(r['roas_lower'])}, "
                     f"{_num(r['roas_upper'])}]" for r in d.to_dict("records")}  # fmt: skip
            wide.append([str(g), *(cells.get(c, "") for c in channels)])
        blocks.append(("table", _table(["group", *channels], wide,
                                       caption=f"ROAS [{level:.0%} interval] per group")))  # fmt: skip
        sections.append({"key": "roas", "title": "ROAS by group", "items": [],
                         "text": ["Each channel's return on ad spend in every group that was "
                                  "fitted, with its interval; intervals that do not overlap "
                                  "are differences the data support."],
                         "blocks": blocks})  # fmt: skip
    meta = [("fleet", str(root)), ("groups", len(table)),
            ("method", ", ".join(sorted({str(m) for m in table.get("method", []) if m == m})))]  # fmt: skip
    return _env().get_template(TEMPLATE_NAME).render(
        title=title or f"mediamix fleet: {root.resolve().name}",
        plotly_js=Markup(get_plotlyjs()), sections=sections, banner=None,
        meta=[(k, v) for k, v in meta if v not in (None, "")], notes=[],
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
    )  # fmt: skip


def write_fleet_report(folder: str | Path, out: str | Path | None = None,
                       title: str | None = None) -> Path:  # fmt: skip
    """Write the fleet page of ``folder`` to ``out`` (default FOLDER/fleet.html)."""
    path = Path(out) if out is not None else Path(folder) / "fleet.html"
    path.write_text(render_fleet(folder, title), encoding="utf-8")
    return path
