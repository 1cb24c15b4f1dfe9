"""Reading YAML from a file or from text, with the project's clear errors (one place).

Untrusted YAML is read with the safe loader and three guards, each a `SpecError` naming the
place and the fix:

- bytes that are not UTF-8 (a Latin-1 ``# für`` comment, a spreadsheet saved as .yaml): the
  byte, its offset and line;
- a key written twice in one mapping (``form:`` twice): the key and both lines, instead of
  the last value silently winning;
- aliases that stand for more than `MAX_ALIAS_NODES` nodes in all (an "alias bomb": a few
  hundred bytes that expand to billions of values), or an alias inside its own anchor;
  refused before any value is built, so a bomb costs milliseconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediamix.errors import SpecError

_SUFFIXES = (".yaml", ".yml", ".json")

# The most nodes that aliases (``*name``) may add to a document, counted as the nodes of the
# fully expanded document minus the nodes written out. A hand-written config that reuses a
# block with ``<<: *defaults`` adds tens; an alias bomb adds billions.
MAX_ALIAS_NODES = 10_000
# The deepest nesting of flow brackets (``[`` / ``{``) read; deeper text is refused before it
# is parsed (the parser's time grows with the square of the depth).
MAX_NESTING = 100
# The largest YAML file or text read (parsing takes about ten seconds per megabyte on a busy
# machine; a hand-written config is a few kilobytes, a problem with 20,000 channels ~1.5 MB).
MAX_YAML_BYTES = 16 * 2**20

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """A guard of `read_yaml` refused the document (the message says why)."""


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
    """The file's text; a byte that is not UTF-8 is an error naming it, its offset and line."""
    size = p.stat().st_size
    if size > MAX_YAML_BYTES:
        raise SpecError(
            f"{what} file '{p}' is {size:,} bytes; the limit is {MAX_YAML_BYTES:,} bytes "
            f"({MAX_YAML_BYTES // 2**20} MiB) of YAML. Fix: check that this is the right file."
        )
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{what} file '{p}' is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}, "
            f"at offset {exc.start} ({exc.reason}). Fix: save the file as UTF-8 (in an editor: "
            "'Save with encoding: UTF-8')."
        ) from None


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):
        if value and isinstance(value[0], tuple):
            return [n for pair in value for n in pair]
        return value
    return []


def check_aliases(root: Any, limit: int = MAX_ALIAS_NODES) -> None:
    """Refuse a composed YAML node graph whose aliases add more than ``limit`` nodes, or that
    holds an alias inside its own anchor (a cycle). Linear in the nodes written out: each
    node's expanded size is counted once (memoised), never by expanding."""
    size: dict[int, int] = {}
    state: dict[int, int] = {}  # 1: children being counted, 2: done
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finish = stack.pop()
        key = id(node)
        kids = _children(node)
        if finish:
            size[key] = 1 + sum(size[id(k)] for k in kids)
            state[key] = 2
            continue
        if state.get(key) == 2:
            continue
        if state.get(key) == 1:
            line = node.start_mark.line + 1 if node.start_mark else "?"
            raise _Refused(
                f"an alias refers to the block that contains it (line {line}): the value "
                "would be infinite. Fix: write the values out, or point the alias at another "
                "block."
            )
        state[key] = 1
        stack.append((node, True))
        stack.extend((k, False) for k in kids)
    expanded, written = size[id(root)], len(size)
    if expanded - written > limit:
        raise _Refused(
            f"its aliases (*name) expand to {expanded:,} values from {written:,} written; the "
            f"limit is {limit:,} values added by aliases. Fix: write the values out instead of "
            "nesting aliases."
        )


def check_nesting(text: str, limit: int = MAX_NESTING) -> None:
    """Refuse text whose flow brackets nest deeper than ``limit`` (brackets inside quoted
    strings count too: only absurd text reaches the limit)."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    if deepest > limit:
        raise _Refused(
            f"its lists / mappings are nested {deepest} deep; the limit is {limit}. Fix: "
            "flatten the nesting."
        )


def _loader_class() -> type:
    import yaml

    # libyaml's parser when installed (about ten times faster than the pure-Python one);
    # either way the safe constructor builds the values
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        """The safe loader, refusing a key written twice in one mapping."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node)
                    line = key_node.start_mark.line + 1
                    if key in seen:
                        raise _Refused(
                            f"the key '{key}' is written twice in one mapping (lines "
                            f"{seen[key]} and {line}); YAML would silently keep the last one. "
                            "Fix: keep one of them."
                        )
                    seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return Loader


_LOADER: type | None = None


def _yaml_error(exc: Exception, text: str) -> str:
    """The parser's message on one line, its places as ``line L, column C``, and a tab
    named as such (YAML indents with spaces only)."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    msg = "; ".join(p.replace('in "<unicode string>", ', "") for p in parts)
    mark = getattr(exc, "problem_mark", None)
    if mark is not None and "cannot start any token" in msg:
        lines = text.splitlines()
        if mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
            msg += " (a tab: YAML indents with spaces only; replace the tabs by spaces)"
    return msg


def parse_yaml(text: str, where: str = "config") -> Any:
    """YAML text -> Python values with the guards above; every fault is one `SpecError`
    that starts with ``where``."""
    global _LOADER
    import yaml

    if _LOADER is None:
        _LOADER = _loader_class()
    if len(text) > MAX_YAML_BYTES:
        raise SpecError(
            f"{where} is refused: {len(text):,} characters; the limit is {MAX_YAML_BYTES:,} "
            f"({MAX_YAML_BYTES // 2**20} MiB) of YAML."
        )
    try:
        check_nesting(text)
    except _Refused as exc:
        raise SpecError(f"{where} is refused: {exc}") from None
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_aliases(node)
        return loader.construct_document(node)
    except _Refused as exc:
        raise SpecError(f"{where} is refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{where} is not valid YAML: {_yaml_error(exc, text)}") from None
    except RecursionError:
        raise SpecError(
            f"{where} is nested too deeply to read. Fix: flatten the nested lists / mappings."
        ) from None
    finally:
        loader.dispose()


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
    out = parse_yaml(text, where)
    if out is None:
        out = {}
    if not isinstance(out, Mapping):
        raise SpecError(f"{where} must hold a mapping (key: value lines), not {type(out).__name__}")
    return dict(out)
