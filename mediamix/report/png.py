"""Static PNG export of the figures (for slides).

Plotly renders static images with the optional ``kaleido`` package (the ``png`` extra:
``pip install 'mediamix[png]'``), which drives a Chrome or Chromium already on the machine (Debian's
``chromium`` works; kaleido finds it on the PATH, or set ``BROWSER_PATH``). Without them
the export stops with a clear message; the HTML report never needs them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

from mediamix.errors import ExportUnavailableError

__all__ = ["ExportUnavailableError", "export_png", "png_support"]

WIDTH = 1100
HEIGHT = 600
SCALE = 2.0


def png_support() -> str | None:
    """None when PNG export can run here, else the reason and the fix."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return (
            "PNG export needs the optional package 'kaleido', the 'png' extra "
            "(pip install 'mediamix[png]', or pip install kaleido), and a Chrome/Chromium "
            "browser (e.g. apt-get install chromium); the HTML report works without them"
        )
    return None


def _safe_name(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return s or "figure"


def export_png(
    figures: Mapping[str, go.Figure] | go.Figure,
    out: str | Path,
    width: int = WIDTH,
    height: int = HEIGHT,
    scale: float = SCALE,
) -> list[Path]:
    """Write PNG files: one figure to the file ``out``, or a ``{name: figure}`` mapping to
    ``out/<name>.png`` (the folder is created). Returns the paths written."""
    reason = png_support()
    if reason is not None:
        raise ExportUnavailableError(reason)
    import plotly.io as pio

    out = Path(out)
    if isinstance(figures, go.Figure):
        if out.is_dir():
            raise ExportUnavailableError(f"'{out}' is a folder; give a file name such as fit.png")
        paths, figs = [out], [figures]
    else:
        if out.exists() and not out.is_dir():
            raise ExportUnavailableError(f"'{out}' is a file; PNG export of several figures "
                                         "needs a folder")  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        figs = list(figures.values())
        paths = [out / f"{_safe_name(n)}.png" for n in figures]
    if not figs:
        return []
    try:
        pio.write_images(
            figs, paths, format="png", width=[width] * len(figs),
            height=[fig.layout.height or height for fig in figs], scale=scale,
        )  # fmt: skip
    except Exception as exc:  # kaleido reports a missing or broken browser in many ways
        raise ExportUnavailableError(
            f"PNG export failed ({type(exc).__name__}: {exc}). kaleido needs a Chrome or "
            "Chromium browser: install one (apt-get install chromium) or point BROWSER_PATH "
            "at it"
        ) from None
    return paths
