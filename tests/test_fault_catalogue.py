"""The fault catalogue (docs/faults/*.md): every row names a test that exists.

Each row of the catalogue is a bad input or a fault and the answer the user gets; the `test`
column names the test functions that pin that answer. This test keeps the two in step: a row
whose test was renamed or deleted fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAULTS = ROOT / "docs" / "faults"
MIN_ROWS = 150


def catalogue_rows() -> list[tuple[str, str, list[str]]]:
    """(file name, row id, [test ids]) for every table row of docs/faults/*.md."""
    rows = []
    for path in sorted(FAULTS.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 4 or not re.fullmatch(r"[A-Z]\d+", cells[0]):
                continue
            tests = [t.strip().strip("`") for t in cells[-1].split(",") if t.strip()]
            rows.append((path.name, cells[0], tests))
    return rows


def named_test_exists(test_id: str) -> bool:
    file, _, name = test_id.partition("::")
    name = name.split("::")[-1].split("[")[0]
    path = ROOT / file
    if not name or not path.is_file():
        return False
    return re.search(rf"^\s*(async\s+)?def {re.escape(name)}\b", path.read_text(), re.M) is not None


def test_every_row_names_an_existing_test():
    rows = catalogue_rows()
    missing = [
        f"{file} {row}: {t}"
        for file, row, tests in rows
        for t in tests or ["(none)"]
        if not named_test_exists(t)
    ]
    assert not missing, "catalogue rows whose test does not exist:\n" + "\n".join(missing)


def test_row_ids_are_unique_and_enough():
    rows = catalogue_rows()
    ids = [row for _, row, _ in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate catalogue ids: {dupes}"
    assert len(rows) >= MIN_ROWS, (
        f"the catalogue has {len(rows)} rows; it should keep >= {MIN_ROWS}"
    )
