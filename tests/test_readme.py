"""The README's Python snippets run as written, in order, in one namespace (on the data the
first snippet simulates and the shipped examples)."""

import re
from pathlib import Path

import pytest

from mediamix.errors import ExportUnavailableError

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def snippets() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_the_python_api_snippets():
    blocks = snippets()
    assert len(blocks) >= 5
    joined = "\n".join(blocks)
    for name in ("Dataset.from_csv", "MMM(", "RunDir(", "solve(", "sweep(", "ModelPlots("):
        assert name in joined


def test_readme_snippets_run_as_written(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for i, code in enumerate(snippets(), 1):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except ExportUnavailableError:  # PNG export needs Chromium, which this machine lacks
            assert "export_png" in code
            continue
    assert (tmp_path / "runs" / "first" / "meta.json").is_file()
    assert (tmp_path / "frontier.html").is_file() and (tmp_path / "curves.html").is_file()
