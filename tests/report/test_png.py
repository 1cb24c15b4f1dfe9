"""Static PNG export: real images when kaleido and Chromium are there, a clear error if not."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.report import ExportUnavailableError, export_png, run_figures

HAVE_KALEIDO = importlib.util.find_spec("kaleido") is not None
HAVE_BROWSER = any(shutil.which(b) for b in ("chromium", "google-chrome", "chrome"))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_export_without_kaleido_says_what_to_install(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "kaleido", None)  # `import kaleido` fails, as uninstalled
    with pytest.raises(ExportUnavailableError, match=r"pip install 'mediamix\[png\]'"):
        export_png(run_figures(run_dir), tmp_path / "png")
    res = CliRunner().invoke(
        cli, ["report", str(run_dir), "--out", str(tmp_path / "r.html"), "--png", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "error: PNG export needs the optional package 'kaleido'" in res.output
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (HAVE_KALEIDO and HAVE_BROWSER), reason="needs kaleido and Chromium")
def test_png_export_writes_every_figure(run_dir: Path, tmp_path: Path):
    figs = run_figures(run_dir)
    paths = export_png(figs, tmp_path / "png", width=500, height=300, scale=1.0)
    assert [p.name for p in paths] == [f"{name}.png" for name in figs]
    assert _png_size(paths[0]) == (500, 300)
    one = export_png(figs["roas"], tmp_path / "roas.png", width=640, height=400, scale=2.0)
    assert _png_size(one[0]) == (1280, 800)
    res = CliRunner().invoke(
        cli, ["report", str(run_dir), "--out", str(tmp_path / "r.html"), "--png",
              str(tmp_path / "cli")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(p.name for p in paths)
