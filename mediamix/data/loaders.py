"""Reading raw tables: CSV, Parquet, SQL (any SQLAlchemy URL).

One CSV reader, `read_csv_bytes`, serves every way a CSV comes in (a file named on the command
line, a YAML ``data:`` path, a web upload), so a file is read, accepted or refused the same
way everywhere:

- text must be UTF-8 (a byte-order mark is fine); Excel workbooks, UTF-16 and Latin-1 files
  are refused with "save it as CSV UTF-8" (guessing a legacy encoding could silently change
  column names and text);
- the separator is the one of ``,`` ``;`` tab ``|`` that splits the header (outside quotes)
  most often;
- the number format (decimal mark) is decided once for the whole file from the cells that
  can only be read one way (`number_format`, over the first `VOTE_ROWS` rows, or all rows
  when those hold no such cell): ``158815,78`` and ``0,9969`` say decimal comma,
  ``12004.29`` and ``158,815.78`` say decimal point; a cell that contradicts the file's
  format (a lone ``"1,5"`` among ``.`` decimals) is left as text and refused by
  `mediamix.data.validation.to_numeric`, naming its column, row and value;
- a repeated header is refused, naming it; so is a row with more or fewer fields than the
  header (pandas would make extra fields an index or pad short rows).

Columns whose every non-blank cell is a number become float columns (blank cells NaN);
``TRUE``/``FALSE`` columns become booleans; everything else stays text for the checks to
name. ``frame.attrs["decimal"]`` records the decimal mark used.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mediamix.errors import DataError

DECIMALS = (".", ",")
SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
SAVE_AS_UTF8 = (
    "Fix: save it as 'CSV UTF-8' (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; "
    "LibreOffice: Save As > Text CSV, character set 'Unicode (UTF-8)'), or export Parquet."
)

_EXP = r"(?:[eE][+-]?\d+)?"
_SPACE = "[ \u00a0\u202f']"  # spaces and apostrophes as thousands groups (1 234,5 / 1'234.5)
# a number with '.' as the decimal mark: 1234.5, 1,234.5, 1 234.5, .5, 1e3
_POINT = re.compile(
    rf"^[+-]?(?:\d+|[1-9]\d{{0,2}}(?:,\d{{3}})+|[1-9]\d{{0,2}}(?:{_SPACE}\d{{3}})+)?(?:\.\d*)?{_EXP}$"
)
# a number with ',' as the decimal mark: 1234,5, 1.234,5, 1 234,5, ,5
_COMMA = re.compile(
    rf"^[+-]?(?:\d+|[1-9]\d{{0,2}}(?:\.\d{{3}})+|[1-9]\d{{0,2}}(?:{_SPACE}\d{{3}})+)?(?:,\d*)?{_EXP}$"
)
_INF = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_TRUE, _FALSE = {"true"}, {"false"}


def _matches(text: pd.Series, decimal: str) -> pd.Series:
    """Which cells have the shape of a number written with ``decimal`` as the decimal mark
    (a shape without digits, such as ``.`` or ``e5``, then fails the conversion)."""
    pattern = _POINT if decimal == "." else _COMMA
    return text.str.fullmatch(pattern).fillna(False).astype(bool)


def _to_float(text: pd.Series, decimal: str) -> pd.Series:
    """Cells that are numbers written with ``decimal`` as the decimal mark, as floats (others
    NaN); ``inf`` reads as infinity."""
    ok = _matches(text, decimal)
    other = "," if decimal == "." else "."
    t = text.where(ok, "").str.replace(_SPACE, "", regex=True).str.replace(other, "", regex=False)
    if decimal == ",":
        t = t.str.replace(",", ".", regex=False)
    out = pd.to_numeric(t.where(ok), errors="coerce").astype(float)
    inf = text.str.lower().isin(_INF)
    if inf.any():
        out[inf] = np.where(text[inf].str.startswith("-"), -np.inf, np.inf)
    return out


def parse_number(text: str, decimal: str) -> float | None:
    """``text`` as a float when it is a number written with ``decimal`` as the decimal mark
    (thousands groups of the other mark or of spaces allowed), else None. ``inf`` reads as
    infinity (refused later with its own message)."""
    value = float(_to_float(pd.Series([str(text).strip()], dtype=object), decimal).iloc[0])
    return None if np.isnan(value) else value


def cell_formats(text: pd.Series) -> pd.Series:
    """Per cell, the decimal mark it must be written with: ``"."`` or ``","`` when it reads
    as a number only that way (``12004.29``, ``158,815.78`` / ``158815,78``, ``0,500``),
    else None: the same either way, either way with different values (``1,234``), or not a
    number."""
    text = text.astype(str).str.strip()
    digit = text.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    point, comma = _matches(text, ".") & digit, _matches(text, ",") & digit
    out = pd.Series(None, index=text.index, dtype=object)
    out[point & ~comma] = "."
    out[comma & ~point] = ","
    return out


def _votes(cells: pd.Series) -> tuple[int, int]:
    fmts = cell_formats(cells)
    return int((fmts == ".").sum()), int((fmts == ",").sum())


# the decimal-mark vote reads this many rows first; all of them only when those say nothing
VOTE_ROWS = 1000


def number_format(cells: pd.Series, separator: str = ",") -> tuple[str, str | None]:
    """The decimal mark of a set of text cells and, when it had to be guessed, a cell that
    reads differently under the two marks.

    The mark most cells can only be read with wins (a tie goes to ``.``); with no such cell,
    ``.`` (a comma then groups thousands, as in ``"1,234"``), except in a ``;``-separated file
    where ``1,234`` could as well be 1.234: then ``(".", that cell)`` is returned so the
    caller can refuse it.
    """
    cells = pd.Series(cells, dtype=object).astype(str).str.strip()
    n_point, n_comma = _votes(cells)
    if n_comma > n_point:
        return ",", None
    if n_point > 0 or separator != ";":
        return ".", None
    a, b = _to_float(cells, "."), _to_float(cells, ",")
    differ = a.notna() & b.notna() & (a != b)
    return ".", (str(cells[differ].iloc[0]) if differ.any() else None)


def _detect_separator(header: str) -> str:
    """The candidate separator that splits the header line most often, outside quotes."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _decode(data: bytes, label: str) -> str:
    """UTF-8 text (BOM dropped), or a DataError that says what the bytes are and to save as
    CSV UTF-8."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(
            f"{label} is a spreadsheet workbook (Excel .xlsx/.xls or OpenDocument), not a CSV "
            f"file. {SAVE_AS_UTF8}"
        )
    if data.startswith(b"PAR1"):
        raise DataError(
            f"{label} is a Parquet file, not a CSV file. Fix: give it a .parquet name (the "
            "command line reads Parquet), or export it as 'CSV UTF-8'."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 10:
        raise DataError(f"{label} is UTF-16 text; mediamix reads CSV in UTF-8. {SAVE_AS_UTF8}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        guess = (
            " It looks like Latin-1 / Windows-1252 text."
            if _looks_latin1(data)
            else " It may not be a text file."
        )
        raise DataError(
            f"{label} is not UTF-8 text: byte 0x{byte} at line {line} cannot be read.{guess} "
            f"{SAVE_AS_UTF8}"
        ) from None
    if "\x00" in text:
        raise DataError(f"{label} contains NUL bytes, so it is not a CSV text file. {SAVE_AS_UTF8}")
    return text


def _looks_latin1(data: bytes) -> bool:
    high = sum(b >= 0x80 for b in data)
    ctrl = sum(b < 0x20 and b not in (9, 10, 13) for b in data)
    return high > 0 and ctrl == 0 and high < 0.3 * len(data)


def _column_values(raw: pd.Series, decimal: str) -> pd.Series:
    """A text column as float (blank -> NaN) or bool when every non-blank cell is one; else
    the text with blanks as NaN, for `validation.to_numeric` to name the bad cells."""
    text = raw.str.strip()
    blank = text == ""
    cells = text[~blank]
    if len(cells) and not blank.any() and cells.str.lower().isin(_TRUE | _FALSE).all():
        return cells.str.lower().isin(_TRUE)
    if len(cells):
        nums = None
        if decimal == ".":  # fast path: plain numbers parse as they are
            fast = pd.to_numeric(cells, errors="coerce")
            if fast.notna().all():  # ("nan" reads as NaN, so markers take the slow path)
                nums = fast.astype(float)
        if nums is None:
            nums = _to_float(cells, decimal)
        if nums.notna().all():
            return nums.reindex(raw.index).rename(raw.name)
    return raw.where(~blank, np.nan)


def read_csv_bytes(
    data: bytes,
    label: str = "the file",
    *,
    separator: str | None = None,
    decimal: str | None = None,
) -> pd.DataFrame:
    """Read CSV bytes the one way mediamix reads every CSV (see the module docstring).

    ``label`` names the source in messages (``"'data.csv'"``, ``"the upload"``).
    ``separator`` and ``decimal`` (``"."`` or ``","``) override the detection.
    """
    if decimal is not None and decimal not in DECIMALS:
        raise DataError(f"decimal must be '.' or ',' (got {decimal!r}).")
    if not data.strip():
        raise DataError(f"{label} is empty. Fix: give a CSV file with a header row and data rows.")
    text = _decode(data, label)
    if not text.strip():
        raise DataError(f"{label} is empty. Fix: give a CSV file with a header row and data rows.")
    first = text.lstrip("\r\n").splitlines()[0]
    sep = separator or _detect_separator(first)
    try:
        header = next(csv.reader([first], delimiter=sep))
    except csv.Error as exc:
        raise DataError(f"could not read the header of {label} as CSV: {exc}.") from None
    names = [h.strip() for h in header]
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        cols = ", ".join(str(i + 1) for i, h in enumerate(names) if h == dup[0])
        raise DataError(
            f"{label} has the header '{dup[0]}' more than once (columns {cols}); mediamix "
            "cannot tell which one is meant. Fix: rename or delete the repeated column."
        )
    _check_field_counts(text, sep, len(header), label)

    def parse(**kw) -> pd.DataFrame:
        try:
            return pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=False, **kw)
        except (ValueError, pd.errors.ParserError) as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"could not read {label} as CSV ({_SEP_NAMES.get(sep, repr(sep))}-separated): "
                f"{msg}. Fix: check that every row has as many fields as the header (quote "
                "values that contain the separator)."
            ) from None

    mark = decimal
    if mark is None:
        # the vote reads text cells: the first VOTE_ROWS rows, all rows when those say nothing
        raw = parse(dtype=str, na_filter=False, nrows=VOTE_ROWS).fillna("")
        if len(raw) == VOTE_ROWS and sum(_votes(_cells(raw))) == 0:
            raw = parse(dtype=str, na_filter=False).fillna("")
        mark, ambiguous = number_format(_cells(raw), sep)
        if ambiguous is not None:
            col, row = _find_cell(raw, ambiguous)
            raise DataError(
                f"{label}: cannot tell the decimal mark of this ';'-separated file: column "
                f"'{col}' row {row} has {ambiguous!r}, which is {parse_number(ambiguous, '.'):g} "
                f"with '.' as the decimal mark and {parse_number(ambiguous, ','):g} with ','. "
                "Fix: set decimal: ',' or decimal: '.' in the data section (mediamix check "
                "--decimal), or write the numbers without thousands separators."
            )
    # pandas' parser reads the plain numbers with that mark (no thousands separator, so a
    # number written any other way stays text); the text columns get the careful reading
    frame = parse(decimal=mark, na_values=[""])
    out = pd.DataFrame(
        {
            c: frame[c]
            if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
            else _column_values(
                frame[c].astype(object).where(frame[c].notna(), "").astype(str), mark
            )
            for c in frame.columns
        }
    )
    out.attrs["decimal"] = mark
    return out


def _cells(frame: pd.DataFrame) -> pd.Series:
    """Every cell of a text frame, column after column."""
    if not len(frame):
        return pd.Series([], dtype=object)
    return pd.concat([frame[c] for c in frame.columns], ignore_index=True)


def _check_field_counts(text: str, sep: str, n_fields: int, label: str) -> None:
    """Every non-blank line has as many fields as the header (pandas would otherwise turn
    extra leading fields into an index, or pad short rows with empty cells)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        for row in reader:
            if not row or (len(row) == n_fields):
                continue
            break
        else:
            return
    except csv.Error as exc:
        raise DataError(
            f"could not read {label} as CSV: line {reader.line_num}: {exc}. Fix: check the "
            "file format (an unclosed quote makes the rest of the file one field)."
        ) from None
    raise DataError(
        f"could not read {label} as CSV ({_SEP_NAMES.get(sep, repr(sep))}-separated): "
        f"Expected {n_fields} fields in line {reader.line_num}, saw {len(row)}. Fix: check that "
        "every row has as many fields as the header (quote values that contain the separator)."
    )


def _find_cell(frame: pd.DataFrame, value: str) -> tuple[str, int]:
    for c in frame.columns:
        hit = np.flatnonzero(frame[c].str.strip().to_numpy() == value)
        if len(hit):
            return str(c), int(hit[0]) + 1
    return "?", 0  # pragma: no cover


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def read_table(
    path: str | Path, *, separator: str | None = None, decimal: str | None = None
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``, ``.tsv``; see `read_csv_bytes`) or Parquet (``.parquet``,
    ``.pq``) file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file '{p}' does not exist. Fix: check the path.")
    suffix = p.suffix.lower()
    label = f"'{p}'"
    if suffix in EXCEL_SUFFIXES:
        raise DataError(f"{label} is a spreadsheet workbook, not a CSV file. {SAVE_AS_UTF8}")
    if p.is_dir():
        raise DataError(f"{label} is a directory, not a data file. Fix: name the file itself.")
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(p)
        except (ValueError, OSError) as exc:
            raise DataError(
                f"could not read {label} as Parquet: {exc}. Fix: check the file format."
            ) from exc
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"could not read {label}: {exc}. Fix: check the path.") from exc
    if suffix == ".tsv" and separator is None:
        separator = "\t"
    return read_csv_bytes(data, label, separator=separator, decimal=decimal)


def read_sql(url: str, query: str) -> pd.DataFrame:
    """Run ``query`` against the database at SQLAlchemy ``url`` and return the result."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DataError(
            f"cannot open database URL '{url}': {exc}. "
            "Fix: use a SQLAlchemy URL such as sqlite:///file.db or postgresql+psycopg://..."
        ) from exc
    db = parsed.database
    if (
        parsed.drivername.startswith("sqlite")
        and db
        and db != ":memory:"
        and not db.startswith("file:")
    ):
        if not Path(db).is_file():  # sqlite would create an empty database file
            raise DataError(
                f"SQLite database file '{db}' (from '{url}') does not exist. Fix: check the path "
                "(sqlite:///relative.db, sqlite:////absolute/path.db)."
            )
    try:
        engine = sa.create_engine(url)
    except ImportError as exc:
        extra = (
            " Fix: for PostgreSQL, pip install 'mediamix[postgres]' and write the URL as "
            "postgresql+psycopg://..."
            if parsed.drivername.startswith("postgres")
            else ""
        )
        raise DataError(
            f"cannot open database URL '{url}': its driver is not installed ({exc}).{extra}"
        ) from exc
    except sa.exc.ArgumentError as exc:
        raise DataError(
            f"cannot open database URL '{url}': {exc}. "
            "Fix: use a SQLAlchemy URL such as sqlite:///file.db or postgresql+psycopg://..."
        ) from exc
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        msg = str(exc).splitlines()[0]
        raise DataError(f"SQL query failed on '{url}': {msg}. Fix: check the query.") from exc
    finally:
        engine.dispose()
