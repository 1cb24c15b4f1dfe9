"""mediamix.report: figures (Plotly) from plain data, the offline HTML report, PNG export.

- `mediamix.report.figures`: pure functions, tables in, ``plotly.graph_objects.Figure`` out.
- `ModelPlots(fitted)`: the same figures from a fitted model; `plan_figures(plan)`;
  `response_figure(responses)` from response curves (e.g. a run's responses.json).
- `write_report(run_dir, out)`: one self-contained HTML file (``mediamix report``).
- `run_figures(run_dir)`: the report's figures by name (for the web page).
- `export_png(figures, out)`: static PNGs (needs the optional ``kaleido`` and a Chromium).
"""

from mediamix.report.html import render, run_figures, write_report
from mediamix.report.plot import ModelPlots, plan_figures, response_figure, response_table
from mediamix.report.png import ExportUnavailableError, export_png, png_support
from mediamix.report.run import RunData, load_run

__all__ = [
    "ExportUnavailableError",
    "ModelPlots",
    "RunData",
    "export_png",
    "load_run",
    "plan_figures",
    "png_support",
    "render",
    "response_figure",
    "response_table",
    "run_figures",
    "write_report",
]
