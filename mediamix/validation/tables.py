"""Plain-text tables for the command line (fixed-width columns, numbers rounded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def cell(v: Any, digits: int = 3) -> str:
    """A value as table text: numbers to ``digits`` significant figures, None as '-'."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "-"
        a = abs(v)
        if a >= 10 ** (digits + 2) or (0 < a < 10**-(digits)):
            return f"{v:.{digits - 1}e}"
        return f"{v:,.{max(0, digits - len(str(int(a))))}f}" if a >= 1 else f"{v:.{digits}f}"
    return str(v)


def text_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
               headers: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """Rows of mappings as a fixed-width table (columns: the keys of the first row)."""
    if not rows:
        return "(none)"
    cols = list(columns or rows[0].keys())
    heads = [(headers or {}).get(c, c) for c in cols]
    body = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(out)
