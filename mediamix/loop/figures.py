"""Figures of the loop: cumulative regret per policy (Plotly, the report's house style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from mediamix.errors import SpecError
from mediamix.report.figures import PALETTE, TEMPLATE


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def cumulative_regret(
    regrets: Mapping[str, Sequence[Sequence[float]]],
    title: str = "Cumulative regret against the oracle plan",
    level: float = 0.8,
) -> go.Figure:
    """``{policy: [regret_by_period of each seed, ...]}`` -> the mean cumulative regret per
    policy over the decision periods, with the ``level`` band over the seeds (one seed: the
    line alone)."""
    if not regrets:
        raise SpecError("cumulative_regret: give the regret per period of at least one policy")
    fig = go.Figure()
    q = (1 - level) / 2
    for i, (name, runs) in enumerate(regrets.items()):
        arr = np.atleast_2d(np.asarray(runs, dtype=float))
        if arr.size == 0:
            raise SpecError(f"cumulative_regret: policy '{name}' has no periods")
        cum = np.cumsum(arr, axis=1)
        periods = np.arange(1, cum.shape[1] + 1)
        color = PALETTE[i % len(PALETTE)]
        if cum.shape[0] > 1:
            lo, hi = np.quantile(cum, [q, 1 - q], axis=0)
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([periods, periods[::-1]]),
                    y=np.concatenate([hi, lo[::-1]]),
                    fill="toself",
                    fillcolor=_rgba(color, 0.15),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=cum.mean(0),
                mode="lines",
                name=f"{name} ({cum.shape[0]} seed{'s' if cum.shape[0] != 1 else ''})",
                line={"color": color, "width": 2},
                legendgroup=name,
                hovertemplate=f"{name}<br>period %{{x}}: %{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        xaxis_title="decision period",
        yaxis_title="cumulative regret (expected KPI)",
        hovermode="x unified",
    )
    return fig


def write_figure(fig: go.Figure, path: str | Path) -> Path:
    """One self-contained HTML file (plotly.js inlined: opens offline)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise SpecError(f"cannot write '{path}': the folder '{path.parent}' does not exist")
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path
