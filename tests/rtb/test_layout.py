"""rtb's place in the layers: it imports only the base modules; the old import paths hold."""

from __future__ import annotations

import ast
from pathlib import Path

import mediamix.rtb

RTB = Path(mediamix.rtb.__file__).parent
BASE = {"mediamix", "mediamix.errors", "mediamix.schemas", "mediamix.jsonable", "mediamix.yamlio"}


def _mediamix_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):  # lazy imports inside functions too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "mediamix" or n.startswith("mediamix.")}


def test_rtb_imports_only_base_modules_and_itself():
    bad = {}
    for path in sorted(RTB.rglob("*.py")):
        outside = {
            n for n in _mediamix_imports(path) if n not in BASE and not n.startswith("mediamix.rtb")
        }
        if outside:
            bad[str(path.relative_to(RTB))] = sorted(outside)
    assert bad == {}


def test_the_ctr_facade_keeps_the_public_names():
    from mediamix.rtb import ctr
    from mediamix.rtb.ctr.fm import FactorizationMachineCTR
    from mediamix.rtb.ctr.persist import load_ctr_model

    assert ctr.FactorizationMachineCTR is FactorizationMachineCTR
    assert ctr.load_ctr_model is load_ctr_model
    for name in ctr.__all__:
        assert getattr(mediamix.rtb, name, getattr(ctr, name)) is getattr(ctr, name)


def test_export_error_lives_in_errors_and_keeps_its_old_homes():
    from mediamix import errors
    from mediamix.report import ExportUnavailableError
    from mediamix.report.png import ExportUnavailableError as from_png

    assert ExportUnavailableError is errors.ExportUnavailableError is from_png
    assert issubclass(ExportUnavailableError, errors.MediamixError)
