"""The report's "Refresh drift" section: for a run written by ``mediamix refresh``, each
channel's ROAS before and after with intervals, the move in old interval widths and the share
of the move the new periods explain. It reads the run's ``drift.json`` and nothing else.

`mediamix.report.html` calls `refresh_section(run, Section)` with its own section class (this
module does not import it back).
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

from mediamix.report import figures as F

KEY = "refresh"
TITLE = "Refresh drift"
DRIFT = "drift.json"


def read_drift(run_dir) -> dict[str, Any] | None:
    """The run's drift.json as a mapping, or None (no refresh, or a file that is not one)."""
    p = run_dir / DRIFT
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return d if isinstance(d, dict) and d.get("kind") == "mediamix-drift" else None


def _span(t: Any) -> str:
    if not isinstance(t, dict) or t.get("mean") is None:
        return ""
    s = F.fmt_number(t["mean"])
    if t.get("lower") is not None and t.get("upper") is not None:
        s += f" [{F.fmt_number(t['lower'])}, {F.fmt_number(t['upper'])}]"
    return s


def _signed(v: Any) -> str:
    return "" if v is None else f"{float(v):+.2f}"


def drift_figure(drift: dict[str, Any]) -> go.Figure:
    """Old and new ROAS per channel with their intervals, side by side (a cold refit's too
    when the table has one)."""
    rows = drift.get("channels") or []
    names = [r["channel"] for r in rows]
    fig = go.Figure()
    kinds = [("old", "old run"), ("new", "refresh")]
    if any(r.get("cold") for r in rows):
        kinds.append(("cold", "cold refit"))
    for i, (k, label) in enumerate(kinds):
        pts = [r.get(k) or {} for r in rows]
        mean = [p.get("mean") for p in pts]
        fig.add_trace(go.Scatter(
            x=names, y=mean, mode="markers", name=label, offsetgroup=str(i),
            marker={"color": F.PALETTE[i % len(F.PALETTE)], "size": 9},
            error_y={"type": "data", "symmetric": False,
                     "array": [(p.get("upper") or m) - m if m is not None else None
                               for p, m in zip(pts, mean)],
                     "arrayminus": [m - (p.get("lower") or m) if m is not None else None
                                    for p, m in zip(pts, mean)]},
        ))  # fmt: skip
    fig.update_layout(scattermode="group", hovermode="closest")
    lvl = float(drift.get("level") or 0.9)
    return F._layout(fig, f"ROAS before and after the refresh ({lvl:.0%} intervals)", "channel",
                     "KPI value per unit of spend")  # fmt: skip


def refresh_section(run, section_cls) -> Any | None:
    """The section for a run with a drift.json, else None; ``section_cls``: the report's
    section class (key, title; ``.text``, ``.figure``, ``.table``)."""
    drift = read_drift(run.run_dir)
    if not drift or not drift.get("channels"):
        return None
    lvl = float(drift.get("level") or 0.9)
    s = section_cls(KEY, TITLE)
    new = drift.get("new_window") or {}
    old = drift.get("old_window") or {}
    s.text.append(
        f"This run refreshes {drift.get('old_run') or 'an earlier run'} with "
        f"{drift.get('new_periods', 0)} new period(s): its prior is the earlier posterior, "
        f"moment-matched per parameter and widened {float(drift.get('widen', 1)):g}x, with the "
        "earlier run's scalers and spec. Old ROAS over "
        f"{old.get('start')}..{old.get('end')}, new over {new.get('start')}..{new.get('end')}."
    )
    moved = [r["channel"] for r in drift["channels"] if not r.get("stable")]
    s.text.append(
        "Every channel's ROAS moved by at most its old interval width."
        if not moved
        else f"Moved by more than the old interval width: {', '.join(moved)}; read why before "
        "reporting the new numbers."
    )
    cold = any(r.get("cold") for r in drift["channels"])
    header = ["channel", "old ROAS", "new ROAS", "move", "move / old width", "new weeks' share",
              "verdict"] + (["cold refit ROAS", "cold move / width"] if cold else [])  # fmt: skip
    rows = []
    for r in drift["channels"]:
        share = r.get("new_weeks_share")
        row = [r["channel"], _span(r.get("old")), _span(r.get("new")), _signed(r.get("move")),
               _signed(r.get("move_rel")), "" if share is None else f"{share:.0%}",
               "stable" if r.get("stable") else "review"]  # fmt: skip
        if cold:
            row += [_span(r.get("cold")), _signed(r.get("cold_move_rel"))]
        rows.append(row)
    s.table({"header": header, "rows": rows, "warn_col": 6,
             "caption": f"mean [{lvl:.0%} interval]; move / old width = (new - old) / (old "
             "upper - old lower); new weeks' share = the part of the move the new periods "
             "explain, against the old rows refitted with the same priors"})  # fmt: skip
    s.figure("refresh_drift", drift_figure(drift))
    defs = drift.get("definitions") or {}
    s.text += [f"{k}: {v}." for k, v in defs.items() if k in ("anchor", "new_weeks_share")]
    return s
