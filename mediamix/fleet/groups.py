"""The groups of a fleet: one long table split by columns, a folder of files, or a mapping.

Each `Group` carries its key (the ``--by`` values, or the file name), a folder name that is
safe on every file system and unique in the fleet, and its data: the group's rows with the
``--by`` columns dropped and rows renumbered from 0 (so a data error names the same row as a
fit of that group's own file), or the path of its own file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediamix.errors import DataError, SpecError, did_you_mean

# names the fleet itself writes in its folder; a group may not take them
RESERVED = frozenset({"fleet.csv", "fleet_roas.csv", "fleet.html", "fleet.log", ".fleet"})
DATA_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_NAME = 80


@dataclass(frozen=True)
class Group:
    """One fit of the fleet. ``key``: the group's ``--by`` values (or ``{"file": name}``);
    ``name``: its folder under the fleet's folder; ``data``: a DataFrame or a file path."""

    name: str
    key: tuple[tuple[str, Any], ...]
    data: Any

    @property
    def key_dict(self) -> dict[str, Any]:
        return dict(self.key)

    def data_digest(self) -> str:
        """A digest of the group's data (its rows, or its file's bytes), for resuming."""
        import pandas as pd

        h = hashlib.sha256()
        if isinstance(self.data, pd.DataFrame):
            h.update(repr(list(self.data.columns)).encode())
            h.update(pd.util.hash_pandas_object(self.data, index=False).to_numpy().tobytes())
        else:
            h.update(Path(self.data).read_bytes())
        return h.hexdigest()


def safe_name(text: str) -> str:
    """A folder name from a group's values: letters, digits, ``.``, ``_`` and ``-`` only
    (accents dropped, other runs of characters become one ``-``), no leading dot or dash,
    at most 80 characters; ``group`` when nothing is left."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-_")
    text = re.sub(r"\.{2,}", ".", text)[:MAX_NAME].rstrip(".-_")
    return text or "group"


def unique_names(labels: Sequence[str]) -> list[str]:
    """`safe_name` of each label, made unique without regard to case (a second ``North`` and
    ``north`` get ``-2``), never a name the fleet writes itself."""
    seen: set[str] = {n.lower() for n in RESERVED}
    out = []
    for label in labels:
        base = safe_name(label)
        name, i = base, 2
        while name.lower() in seen:
            name, i = f"{base}-{i}", i + 1
        seen.add(name.lower())
        out.append(name)
    return out


def _label(values: Sequence[Any]) -> str:
    return "_".join(str(v) for v in values)


def split_table(frame, by: Sequence[str]) -> list[Group]:
    """One group per distinct combination of the ``by`` columns, in sorted order (so names
    stay the same from one run to the next). Missing ``by`` cells are an error naming the
    column and the rows."""
    by = [str(b) for b in by]
    if not by:
        raise SpecError("--by needs at least one column, e.g. --by market or --by market,brand")
    cols = [str(c) for c in frame.columns]
    for b in by:
        if b not in cols:
            raise DataError(
                f"--by column '{b}' is not in the data.{did_you_mean(b, cols)} Available "
                f"columns: {', '.join(cols)}. Fix: name the column that holds the groups."
            )
    if len(set(by)) != len(by):
        raise SpecError(f"--by names a column twice: {', '.join(by)}")
    empty = frame[by].isna()
    if empty.any().any():
        col = next(b for b in by if empty[b].any())
        rows = (empty[col].to_numpy().nonzero()[0] + 1)[:5]
        raise DataError(
            f"--by column '{col}' is empty at row(s) {', '.join(map(str, rows))}; every row "
            "needs its group. Fix: fill the column, or drop those rows."
        )
    parts = []
    for values, rows in frame.groupby(by, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        data = rows.drop(columns=by).reset_index(drop=True)
        parts.append((tuple(zip(by, (_plain(v) for v in values), strict=True)), data))
    names = unique_names([_label([v for _, v in key]) for key, _ in parts])
    return [Group(n, key, data) for n, (key, data) in zip(names, parts, strict=True)]


def _plain(v: Any) -> Any:
    """A numpy scalar as a plain Python value (so keys write to CSV and JSON alike)."""
    return v.item() if hasattr(v, "item") else v


def split_folder(folder: Path) -> list[Group]:
    """One group per data file (CSV / Parquet) of ``folder``, named after the file."""
    files = sorted(p for p in Path(folder).iterdir()
                   if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)  # fmt: skip
    if not files:
        raise DataError(
            f"folder '{folder}' holds no data files (.csv, .parquet). Fix: give a folder of "
            "one file per group, or one long table with --by"
        )
    names = unique_names([p.stem for p in files])
    return [Group(n, (("file", p.name),), p) for n, p in zip(names, files, strict=True)]


def split_mapping(groups: Mapping[str, Any]) -> list[Group]:
    """One group per entry of ``{name: DataFrame or file}``."""
    items = list(groups.items())
    names = unique_names([str(k) for k, _ in items])
    return [Group(n, (("name", str(k)),), v) for n, (k, v) in zip(names, items, strict=True)]


def make_groups(data: Any, by: Sequence[str] | str | None = None) -> list[Group]:
    """The fleet's groups from a long table (a file or a DataFrame, with ``by``), a folder of
    files, or a mapping of names to tables (module docstring)."""
    import pandas as pd

    if isinstance(by, str):
        by = [b.strip() for b in by.split(",") if b.strip()]
    if isinstance(data, Mapping):
        groups = split_mapping(data)
    elif isinstance(data, pd.DataFrame):
        if not by:
            raise SpecError("a table needs --by (the columns that name the groups)")
        groups = split_table(data, by)
    else:
        path = Path(data)
        if path.is_dir():
            if by:
                raise SpecError(
                    f"'{path}' is a folder: each file is one group, so --by does not apply. "
                    "Fix: drop --by, or give one long table"
                )
            groups = split_folder(path)
        elif path.is_file():
            if not by:
                raise SpecError(
                    f"'{path}' is one table: give --by (the columns that name the groups, e.g. "
                    "--by market), or a folder with one file per group"
                )
            from mediamix.data.loaders import read_table

            groups = split_table(read_table(path), by)
        else:
            raise DataError(f"'{path}' does not exist; give a data file or a folder of files")
    if not groups:
        raise DataError("the data hold no groups (no rows); give a table with rows")
    return groups
