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


def test_readme_starts_with_what_mmm_is_and_how_to_read_the_outputs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = text.split("\n\n")[1]  # the paragraph under the title
    assert first.startswith("**Media mix modelling (MMM)**") and "is for" in first
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    assert heads[:3] == ["Two commands", "How to read the outputs", "Quickstart"]
    for words in ("incremental KPI from media, per period", "shadow price", "not\n  saturation"):
        assert words in text, words


def test_readme_says_how_to_open_the_planner_and_make_serve_runs_it():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = text[text.index("## Two commands") : text.index("## How to read the outputs")]
    assert "make serve" in demo and ".venv/bin/mediamix serve" in demo
    assert "http://127.0.0.1:8000/" in demo
    assert re.search(r"about \d+(\.\d+)? GB", demo), "the size of .venv"
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^serve: .*\n\t\$\(BIN\)/mediamix serve$", make, flags=re.M)
    assert re.search(r"^demo: \$\(BASE\)$", make, flags=re.M)  # the demo needs no extras


def test_readme_names_no_file_outside_the_repository():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "DESIGN.md" not in text
    assert not re.search(r"(^|[\s`(])\.\./", text), "a path outside the checkout"
    for path in re.findall(r"`((?:docs|examples|bench|scripts|tests)/[\w./-]+\.\w+)`", text):
        assert (ROOT / path).exists(), path


def test_gitignore_covers_what_the_quickstart_writes():
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for path in ("/runs/", "/sim/", "/slides/", "/report.html", "demo_output/", "/data.csv",
                 "/frontier.html", "/curves.html", "/plan.html", "/r.html", "test-artifacts/"):  # fmt: skip
        assert path in ignore, path


def test_heavy_parts_are_extras_that_dev_pulls():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = " ".join(meta["dependencies"]).lower()
    for name in ("kaleido", "psycopg", "playwright", "ray"):
        assert not re.search(rf"\b{name}\b", base), name
    extras = meta["optional-dependencies"]
    assert any("kaleido" in d for d in extras["png"])
    assert any("psycopg" in d for d in extras["postgres"])
    assert any("playwright" in d for d in extras["browser"])
    assert any(re.match(r"ray\b", d) for d in extras["fleet"])
    assert extras["all"] == ["mediamix[png,postgres,browser,fleet]"]
    assert "mediamix[all]" in extras["dev"]
    assert isinstance(meta["license"], str)  # an SPDX expression, not a table
