"""Reading YAML from a file or from text, with the project's clear errors (one place)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediamix.errors import SpecError

_SUFFIXES = (".yaml", ".yml", ".json")


def _looks_like_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    s = str(value)
    if "\n" in s:
        return False
    p = Path(s)
    try:
        return p.suffix.lower() in _SUFFIXES or p.exists() or ":" not in s
    except OSError:
        return False


def _read_utf8(p: Path, what: str) -> str:
    """The file's text; a byte that is not UTF-8 is an error naming its line and the fix."""
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{what} file '{p}' is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} "
            f"cannot be decoded ({exc.reason}). Fix: save the file as UTF-8."
        ) from None


def read_yaml(path_or_text: str | Path, what: str = "config") -> dict[str, Any]:
    """Parse a YAML mapping from a file path or from YAML text.

    A ``Path``, or a one-line string that ends in .yaml/.yml/.json, exists, or has no ``:``,
    is a file; anything else is YAML text. Errors name the file and the fix.
    """
    if _looks_like_path(path_or_text):
        p = Path(path_or_text)
        if not p.is_file():
            raise SpecError(f"{what} file '{p}' does not exist. Fix: check the path.")
        text, where = _read_utf8(p, what), f"{what} file '{p}'"
    else:
        text, where = str(path_or_text), what
    import yaml

    try:
        out = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{where} is not valid YAML: {exc}") from None
    if out is None:
        out = {}
    if not isinstance(out, Mapping):
        raise SpecError(f"{where} must hold a mapping (key: value lines), not {type(out).__name__}")
    return dict(out)
