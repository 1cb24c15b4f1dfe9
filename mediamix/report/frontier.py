"""The efficient frontier (budget -> optimal KPI) as one offline HTML file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mediamix.report.figures import frontier as frontier_figure
from mediamix.report.html import FIGURE_CONFIG


def plot_frontier(
    frontier: Sequence[Mapping[str, Any]],
    path: str | Path,
    chosen: Mapping[str, float] | None = None,
) -> None:
    """Write the frontier (budget -> optimal KPI) as one self-contained HTML file.

    ``frontier`` is what :func:`mediamix.optimize.sweep` returns (``{budget, kpi, ...}`` per
    point). The figure is `mediamix.report.figures.frontier` (the same as in the report and
    the web planner); plotly.js is inlined so the file opens offline. ``chosen``
    (``{"budget": .., "kpi": ..}``) marks the recommended plan.
    """
    fig = frontier_figure(frontier, chosen=chosen)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True, config=FIGURE_CONFIG)
