"""Validation of raw tables before they become a `Dataset`.

Every check raises `mediamix.errors.DataError` with one message that names the column, the
row(s), the bad value and the fix. Rows are numbered as the user sees them: data row 1 is the
first row under the header (in a CSV file that is line 2), counted in the order of the input.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mediamix.errors import DataError

FREQ_NAMES = {"D": "daily", "W": "weekly", "M": "monthly"}
# The largest magnitude accepted in a numeric column. Real KPIs, spends and controls stay far
# below it (1e15 is a thousand trillion per period); below it float64 keeps whole amounts
# exact (up to 2**53 ~ 9e15) and sums, squares and products of a long series stay finite, so
# no check or fit overflows. Larger values are typos or unit mix-ups.
MAX_ABS_VALUE = 1e15
# cells that mean "no value" (pandas' list of missing-value markers, compared in lower case)
NA_TOKENS = frozenset(
    ["#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>",
     "n/a", "na", "null", "nan", "none", "nat"]
)  # fmt: skip
# day/month/year with one separator: 04/01/2021, 4.1.21, 04-01-2021
_DMY = r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$"
_YMD = r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})$"
_TZ = r"(?:Z|[+-]\d{2}:?\d{2})$"
_FREQ_UNIT = {"D": "day", "W": "week", "M": "month"}
_MAX_LISTED = 5


def estimate_n_params(n_channels: int, n_controls: int, n_seasonal_terms: int = 4) -> int:
    """Number of parameters a typical additive MMM fits.

    ``3`` (intercept, trend, noise) + ``n_seasonal_terms`` (yearly Fourier terms) +
    ``4 * n_channels`` (one adstock, three saturation parameters) + ``n_controls``.
    """
    return 3 + n_seasonal_terms + 4 * n_channels + n_controls


def min_rows_required(n_params: int) -> int:
    """The rule for "too few rows": at least ``max(20, 3 * n_params)`` periods."""
    return max(20, 3 * n_params)


def _cells_text(idx: np.ndarray, dates: pd.Series | None, geos: pd.Series | None = None) -> str:
    """`_rows_text` of 0-based positions ``idx`` with their dates (when the data have them)
    and, for a geo panel, their geos."""
    shown = None if dates is None else [dates.iloc[i] for i in idx[:_MAX_LISTED]]
    where = None if geos is None else [geos.iloc[i] for i in idx[:_MAX_LISTED]]
    return _rows_text(list(idx + 1), shown, where)


def _rows_text(
    rows: Sequence[int], dates: Sequence | None = None, geos: Sequence | None = None
) -> str:
    """'rows 3, 7 (2020-01-05, ...)' for 1-based row numbers, at most a few listed; with
    ``geos``, 'row 3 (geo 'north', 2020-01-05)'."""
    rows = list(rows)
    shown = []
    for i, r in enumerate(rows[:_MAX_LISTED]):
        parts = [] if geos is None else [f"geo '{geos[i]}'"]
        if dates is not None and dates[i] is not None and not pd.isna(dates[i]):
            parts.append(_fmt_date(dates[i]))
        shown.append(f"{r} ({', '.join(parts)})" if parts else str(r))
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    word = "row" if len(rows) == 1 else "rows"
    return f"{word} {', '.join(shown)}{more}"


def _fmt_date(d) -> str:
    try:
        return pd.Timestamp(d).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        return str(d)


def closest_column(name: str, columns: Sequence[str]) -> str | None:
    """The column whose name is closest to ``name`` (case-insensitive), or None."""
    cols = [str(c) for c in columns]
    lower = {c.lower(): c for c in cols}
    if name.lower() in lower:
        return lower[name.lower()]
    hit = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.5)
    return lower[hit[0]] if hit else None


def check_columns(frame: pd.DataFrame, required: dict[str, str]) -> None:
    """Every column in ``required`` (column -> role, e.g. "spend of channel 'tv'") exists,
    once."""
    names = [str(c) for c in frame.columns]
    for col, role in required.items():
        if names.count(col) > 1:
            raise DataError(
                f"column '{col}' ({role}) appears {names.count(col)} times in the data's header; "
                "mediamix cannot tell which one is meant. Fix: rename or delete the repeated "
                "column."
            )
        if col not in frame.columns:
            close = closest_column(col, list(frame.columns))
            hint = f" Did you mean '{close}'?" if close else ""
            available = ", ".join(str(c) for c in frame.columns)
            raise DataError(
                f"column '{col}' ({role}) is not in the data.{hint} "
                f"Available columns: {available}. "
                "Fix: rename the column in the file or correct the name in the arguments/config."
            )


def parse_dates(frame: pd.DataFrame, date_col: str, date_format: str | None = None) -> pd.Series:
    """Parse the date column (see `parse_dates_with_format`)."""
    return parse_dates_with_format(frame, date_col, date_format)[0]


def parse_dates_with_format(
    frame: pd.DataFrame, date_col: str, date_format: str | None = None
) -> tuple[pd.Series, str | None]:
    """Parse the date column with ONE format for the whole column; returns ``(dates, name)``,
    ``name`` the format read when it is not ISO (``"DD/MM/YYYY"``), else None.

    ``date_format`` (strftime codes, ``"%d/%m/%Y"``) is used as given. Otherwise: ISO dates
    (``2021-01-04``, with a time or a UTC offset, which is dropped); or day/month/year
    numbers with one separator, read day-first when some first field is above 12, month-first
    when some second field is, and refused as ambiguous when none is; or the one format
    pandas infers from the first cell. Empty or unreadable cells are errors naming the rows.
    """
    raw = frame[date_col]
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    if empty.any():
        rows = list(np.flatnonzero(empty.to_numpy()) + 1)
        raise DataError(
            f"column '{date_col}' (date) has empty cells at {_rows_text(rows)}. "
            "Fix: fill in the date of each period or delete those rows."
        )
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw).reset_index(drop=True)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return parsed, None
    text = raw.astype(str).str.strip().reset_index(drop=True)
    name: str | None = None
    if date_format:
        parsed = _to_datetime(text, date_format)
        name = date_format
        expected = f"the format {date_format!r} given by date_format"
    else:
        iso = _to_datetime(text.str.replace(_TZ, "", regex=True), "ISO8601")
        dmy = text.str.extract(_DMY)
        ymd = text.str.extract(_YMD)
        n_iso, n_dmy, n_ymd = (
            int(iso.notna().sum()),
            int(dmy[0].notna().sum()),
            int(ymd[0].notna().sum()),
        )
        if n_iso and n_iso >= max(n_dmy, n_ymd):
            parsed, expected = iso, "ISO dates (YYYY-MM-DD)"
        elif n_dmy and n_dmy >= n_ymd:
            fmt, name = _day_month_format(text, dmy, date_col)
            parsed, expected = _to_datetime(text, fmt), f"dates as {name}"
        elif n_ymd:
            seps = ymd[1].dropna().unique()
            sep = seps[0] if len(seps) == 1 else "/"
            name = f"YYYY{sep}MM{sep}DD"
            parsed = _to_datetime(text, f"%Y{sep}%m{sep}%d")
            expected = f"dates as {name}"
        else:
            parsed = _to_datetime(text, None)
            expected = f"dates in the format of row 1 ({text.iloc[0]!r})"
    bad = parsed.isna().to_numpy()
    serial = pd.to_numeric(text, errors="coerce")
    if bad.all() and serial.between(20_000, 80_000).all():
        raise DataError(
            f"column '{date_col}' (date) holds numbers such as {text.iloc[0]!r}, which look like "
            "spreadsheet serial day numbers, not dates. Fix: format the column as dates "
            "(YYYY-MM-DD) in the spreadsheet before saving the CSV."
        )
    if bad.any():
        rows = list(np.flatnonzero(bad) + 1)
        value = text.iloc[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"column '{date_col}' (date) has a value that is not a date at {_rows_text(rows)}: "
            f"{value!r} (the column holds {expected}). Fix: write every date in one format, "
            "preferably YYYY-MM-DD."
        )
    return parsed.reset_index(drop=True), name


def _to_datetime(text: pd.Series, fmt: str | None) -> pd.Series:
    """``text`` parsed with one format (None: the one pandas infers from the first cell);
    unreadable cells NaT."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            return pd.Series(pd.NaT, index=text.index)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def _day_month_format(text: pd.Series, parts: pd.DataFrame, date_col: str) -> tuple[str, str]:
    """The strftime format and its name for a column of ``a/b/year`` dates: day-first when
    some ``a`` is above 12, month-first when some ``b`` is; ambiguous or both: an error."""
    ok = parts[0].notna()
    a = parts.loc[ok, 0].astype(int)
    b = parts.loc[ok, 2].astype(int)
    seps = parts.loc[ok, 1].unique()
    years = parts.loc[ok, 3].str.len().unique()
    if len(seps) > 1 or len(years) > 1:
        raise DataError(
            f"column '{date_col}' (date) mixes date styles ({', '.join(map(repr, seps))} "
            f"separators or 2- and 4-digit years). Fix: write every date in one format, "
            "preferably YYYY-MM-DD."
        )
    sep, ycode = seps[0], "%Y" if years[0] == 4 else "%y"
    yname = "YYYY" if years[0] == 4 else "YY"
    day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    dmy = (f"%d{sep}%m{sep}{ycode}", f"DD{sep}MM{sep}{yname}")
    mdy = (f"%m{sep}%d{sep}{ycode}", f"MM{sep}DD{sep}{yname}")
    if day_first and month_first:
        i, j = (
            int(np.flatnonzero((a > 12).to_numpy())[0]),
            int(np.flatnonzero((b > 12).to_numpy())[0]),
        )
        raise DataError(
            f"column '{date_col}' (date) has day-first dates ({text[ok].iloc[i]!r}, row "
            f"{a.index[i] + 1}) and month-first dates ({text[ok].iloc[j]!r}, row {b.index[j] + 1}) "
            "in one column. Fix: write every date in one format, preferably YYYY-MM-DD."
        )
    if day_first:
        return dmy
    if month_first:
        return mdy
    example = text[ok].iloc[0]
    raise DataError(
        f"column '{date_col}' (date): the dates (e.g. {example!r}) can be read as "
        f"{dmy[1]} (day first) or as {mdy[1]} (month first); no day above 12 tells which. "
        f"Fix: set date_format: '{dmy[0]}' (or '{mdy[0]}') in the data section, or pass "
        f"--date-format '{dmy[0]}' to mediamix check; or write the dates as YYYY-MM-DD."
    )


def to_numeric(
    frame: pd.DataFrame,
    col: str,
    role: str,
    dates: pd.Series | None = None,
    decimal: str | None = None,
    geos: pd.Series | None = None,
) -> np.ndarray:
    """The column as float64; every cell that is not a usable number is an error naming the
    column, the row(s) (with their date and, given ``geos``, their geo), the value and the fix.

    Text cells are read with ``decimal`` as the decimal mark (None: the mark the column's own
    cells show, see `mediamix.data.loaders.number_format`); a cell written with the other
    mark is refused rather than guessed. Missing-value markers (``n/a``, ``NaN``), empty and
    infinite cells, and values beyond ``MAX_ABS_VALUE`` are refused too.
    """
    from mediamix.data.loaders import _to_float, number_format

    raw = frame[col].reset_index(drop=True)
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(float)
    marker = np.zeros(len(raw), dtype=bool)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        nonnum = np.zeros(len(raw), dtype=bool)
        other_mark = nonnum
    else:
        is_text = raw.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
        text = raw.map(lambda x: x.strip() if isinstance(x, str) else "").astype(object)
        direct = pd.to_numeric(raw.where(~is_text), errors="coerce").to_numpy(dtype=float)
        blank = (~is_text & np.isnan(direct)) | (is_text & (text == "").to_numpy())
        marker = is_text & text.str.lower().isin(NA_TOKENS).to_numpy()
        cells = text[is_text & ~blank & ~marker]
        mark = decimal or number_format(cells)[0]
        parsed = _to_float(text, mark).to_numpy(dtype=float)
        values = np.where(is_text, parsed, direct)
        nonnum = is_text & ~blank & ~marker & np.isnan(values)
        other = "," if mark == "." else "."
        other_mark = nonnum & _to_float(text, other).notna().to_numpy()
        values = np.where(blank | marker, np.nan, values)
    if nonnum.any():
        idx = np.flatnonzero(nonnum)
        where = _cells_text(idx, dates, geos)
        value = raw.iloc[int(idx[0])]
        if other_mark[idx[0]]:
            mark_name = "a decimal comma" if other == "," else "a decimal point"
            other_value = _to_float(pd.Series([str(value).strip()], dtype=object), other).iloc[0]
            raise DataError(
                f"column '{col}' ({role}) has the value {value!r} at "
                f"{where}, written with {mark_name}, but the other "
                f"numbers use {mark!r} as the decimal mark; it is refused rather than guessed "
                f"({other_value:g}? a typo?). Fix: write it with {mark!r} as the decimal mark "
                f"(e.g. {other_value:g}); "
                f"if the whole file uses {other!r} decimals, set decimal: {other!r} in the data "
                f"section (mediamix check --decimal {other!r})."
            )
        # a text column: name its first cell that is not a number (markers included)
        idx = np.flatnonzero(nonnum | marker)
        where = _cells_text(idx, dates, geos)
        raise DataError(
            f"column '{col}' ({role}) has a non-numeric value {raw.iloc[int(idx[0])]!r} at "
            f"{where}. Fix: write plain numbers (no currency signs or "
            "text); use 0 for periods without activity."
        )
    if marker.any():
        idx = np.flatnonzero(marker)
        where = _cells_text(idx, dates, geos)
        raise DataError(
            f"column '{col}' ({role}) has a missing value at {where}: "
            f"the cell says {str(raw.iloc[int(idx[0])]).strip()!r}, a missing-value marker, not "
            "a number. Fix: fill in the value (use 0 when nothing was spent), or drop those "
            "periods."
        )
    nan = np.isnan(values) | np.isinf(values)
    if nan.any():
        idx = np.flatnonzero(nan)
        where = _cells_text(idx, dates, geos)
        what = "an infinite value" if np.isinf(values[idx[0]]) else "empty (NaN) cells"
        raise DataError(
            f"column '{col}' ({role}) has {what} at {where}. "
            "Fix: fill in the value (use 0 when nothing was spent), or drop those periods."
        )
    huge = np.abs(values) > MAX_ABS_VALUE
    if huge.any():
        idx = np.flatnonzero(huge)
        where = _cells_text(idx, dates, geos)
        raise DataError(
            f"column '{col}' ({role}) has the value {values[idx[0]]:g} at "
            f"{where}, beyond the limit |value| <= {MAX_ABS_VALUE:g} "
            "(larger numbers overflow the computations). Fix: correct the value (a typo or a "
            "unit mix-up?), or rescale the column, e.g. to thousands."
        )
    return values


def check_nonnegative(
    values: np.ndarray, col: str, role: str, dates: pd.Series, geos: pd.Series | None = None
) -> None:
    """Spend and activity cannot be negative."""
    neg = values < 0
    if neg.any():
        idx = np.flatnonzero(neg)
        where = _cells_text(idx, dates, geos)
        raise DataError(
            f"column '{col}' ({role}) has a negative value {values[idx[0]]:g} at "
            f"{where}. Fix: spend and activity must be >= 0; "
            "correct the value or, for refunds, net them into the period they belong to."
        )


def check_duplicate_dates(
    dates: pd.Series,
    date_col: str,
    geo: pd.Series | None = None,
    frame: pd.DataFrame | None = None,
    used: Sequence[str] = (),
) -> None:
    """Each date appears once (once per geo when a geo column is given).

    Without a geo column, a table whose rows repeat for each date is usually a geo panel: the
    message says so, naming the column that tells the rows of one date apart (a text column
    of ``frame`` outside ``used``, the columns with a role) and how to check or roll it up.
    """
    key = dates if geo is None else pd.Series(list(zip(geo, dates)))
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        first = dates.iloc[int(idx[0])]
        same = list(np.flatnonzero((key == key.iloc[int(idx[0])]).to_numpy()) + 1)
        shown = ", ".join(str(r) for r in same[:10]) + (
            f" and {len(same) - 10} more" if len(same) > 10 else ""
        )
        head = (
            f"column '{date_col}' (date) has the date {_fmt_date(first)}"
            + ("" if geo is None else f" for geo '{geo.iloc[int(idx[0])]}'")
            + f" more than once, at rows {shown} ({int(dup.sum())} rows with repeated dates "
            "in all)."
        )
        if geo is not None:
            raise DataError(
                f"{head} Fix: keep one row per geo and period (sum or remove the duplicates)."
            )
        hint = panel_hint(dates, date_col, frame, used)
        raise DataError(
            f"{head} {hint}"
            if hint
            else f"{head} Fix: keep one row per period (sum or remove the duplicates)."
        )


# column names that usually hold a geo (region, market, DMA, ...)
GEO_WORDS = ("geo", "region", "dma", "market", "state", "country", "city", "store", "area",
             "territory", "location", "zone", "province", "county", "zip", "postcode")  # fmt: skip


def geo_like_columns(frame: pd.DataFrame, dates: pd.Series, used: Sequence[str] = ()) -> list[str]:
    """Columns of ``frame`` (outside ``used``) that tell apart the rows of one date: text
    columns, or columns named like a geo, with several values, each value on several rows and
    at most once per date. Named-like-a-geo first."""
    d = pd.Series(pd.to_datetime(dates).to_numpy())
    n = len(frame)
    out: list[tuple[int, str]] = []
    for c in frame.columns:
        name = str(c)
        if name in used:
            continue
        col = frame[c].reset_index(drop=True)
        named = any(w in name.lower() for w in GEO_WORDS)
        if not named and pd.api.types.is_numeric_dtype(col):
            continue
        nunique = int(col.nunique(dropna=True))
        if nunique < 2 or nunique > n / 2 or col.isna().any():
            continue
        if pd.DataFrame({"g": col.astype(str), "d": d}).duplicated().any():
            continue
        out.append((0 if named else 1, name))
    return [name for _, name in sorted(out, key=lambda t: t[0])]


def panel_hint(
    dates: pd.Series, date_col: str, frame: pd.DataFrame | None, used: Sequence[str] = ()
) -> str:
    """For repeated dates in national data: the sentence that says the table looks like a geo
    panel and names the fix; '' when the rows do not repeat per date."""
    counts = pd.Series(pd.to_datetime(dates).to_numpy()).value_counts()
    cols = geo_like_columns(frame, dates, used) if frame is not None else []
    if cols:
        g = cols[0]
        values = list(pd.unique(frame[g].astype(str)))
        ex = ", ".join(repr(x) for x in values[:2])
        rep = (
            f"Every date appears {int(counts.iloc[0])} times"
            if counts.nunique() == 1
            else f"Dates appear up to {int(counts.max())} times"
        )
        return (
            f"{rep}, at most once for each value of column '{g}' ({len(values)} values such as "
            f"{ex}): the table looks like a geo panel (one row per geo and period). Fix: check "
            f"it as a panel with `mediamix check DATA --geo {g}` (or `geo: {g}` in the data "
            f"section); for a national model, roll it up: `mediamix check DATA --geo {g} "
            f"--write national.csv` sums KPI and spend over the geos (in Python: "
            f"`Panel.from_csv(path, geo='{g}', ...).rollup()`), then use that file."
        )
    if len(counts) > 1 and counts.nunique() == 1 and int(counts.iloc[0]) > 1:
        return (
            f"Every date appears {int(counts.iloc[0])} times, as in a geo panel (one row per geo "
            f"and period) without a column that names the geo. Fix: add a geo column and check "
            f"it with `mediamix check DATA --geo <column>`, or sum the rows of each date into "
            "one national row."
        )
    return ""


def infer_freq(dates: pd.Series, date_col: str) -> str:
    """'D', 'W' or 'M' from the typical spacing of sorted, unique dates."""
    if len(dates) < 2:
        raise DataError(
            f"column '{date_col}' (date) has only {len(dates)} row(s); cannot tell the frequency. "
            "Fix: provide the full history."
        )
    step = np.median(np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(float))
    if step == 1:
        return "D"
    if step == 7:
        return "W"
    if 28 <= step <= 31:
        return "M"
    raise DataError(
        f"column '{date_col}' (date): the typical spacing between dates is {step:g} days, "
        "which is not daily (1), weekly (7) or monthly (28-31). "
        "Fix: aggregate the data to days, weeks or months."
    )


def _month_index(d: pd.Timestamp) -> int:
    return d.year * 12 + d.month - 1


def check_regular(
    dates: pd.Series, date_col: str, freq: str, rows: np.ndarray, geo: str | None = None
) -> None:
    """Consecutive sorted dates are exactly one period apart: no gaps, no irregular steps.

    ``rows`` gives the 1-based input row of each sorted date, for the message; ``geo``
    (``"geo 'north' (column 'region')"``) names the geo whose dates these are.
    """
    unit = _FREQ_UNIT[freq]
    of = f" of {geo}" if geo else ""
    d = list(dates)
    for i in range(1, len(d)):
        a, b = d[i - 1], d[i]
        if freq == "M":
            steps = _month_index(b) - _month_index(a)
            ok_shape = a.day == b.day or (a.is_month_end and b.is_month_end)
            gap = steps if ok_shape else None
        else:
            days = (b - a).days
            size = 1 if freq == "D" else 7
            gap = days // size if days % size == 0 else None
        if gap == 1:
            continue
        where = f"between {_fmt_date(a)} (row {rows[i - 1]}) and {_fmt_date(b)} (row {rows[i]})"
        if gap is None:
            raise DataError(
                f"column '{date_col}' (date){of}: irregular spacing {where}; the data look "
                f"{FREQ_NAMES[freq]}, so every date should be one {unit} after the previous one. "
                f"Fix: align all dates to the same weekday/day of month (e.g. week start)."
            )
        raise DataError(
            f"column '{date_col}' (date){of}: gap {where}: {gap - 1} {unit}(s) missing in "
            f"{FREQ_NAMES[freq]} data. Fix: add rows for the missing {unit}s"
            + (f" of {geo.split(' (')[0]}" if geo else "")
            + " (with 0 spend where nothing ran)."
        )


def check_enough_rows(n_rows: int, n_params: int, freq: str) -> None:
    """At least ``max(20, 3 * n_params)`` periods (see `min_rows_required`). A model's own
    count is `mediamix.model.spec.check_rows`."""
    need = min_rows_required(n_params)
    if n_rows < need:
        raise DataError(
            f"the data have {n_rows} {FREQ_NAMES.get(freq, '')} rows but the model has about "
            f"{n_params} parameters; the rule is at least max(20, 3 x parameters) = {need} rows. "
            "Fix: provide a longer history, use fewer channels/controls, or aggregate channels."
        )


def check_channel_spends(values: np.ndarray, col: str, channel: str, kind: str = "spend") -> None:
    """A channel whose spend (or activity) is zero in every period cannot be learnt."""
    if not np.any(values > 0):
        raise DataError(
            f"channel '{channel}': column '{col}' ({kind}) is 0 in all {len(values)} rows, so its "
            f"effect cannot be estimated. Fix: remove '{channel}' from the channels "
            "or check that the right column is used."
        )


def check_kpi_positive(values: np.ndarray, col: str) -> None:
    """The KPI's mean is positive: the model measures effects relative to it (it scales the
    KPI by its mean), so a KPI centred on zero or negative cannot be modelled. A few negative
    cells are a warning (`mediamix.data.diagnostics`), not an error."""
    mean = float(np.mean(values))
    if mean <= 0:
        n_neg = int(np.sum(values < 0))
        raise DataError(
            f"column '{col}' (KPI) has mean {mean:g} <= 0 ({n_neg} of {len(values)} values are "
            "negative); the model measures media effects relative to the KPI's mean and needs "
            "a positive KPI such as sales, revenue or conversions. Fix: use the KPI's level, not "
            "a change, a margin that can be negative or a centred/standardised version."
        )


def check_kpi_varies(values: np.ndarray, col: str) -> None:
    """A constant KPI carries no information about any effect."""
    if np.ptp(values) == 0:
        raise DataError(
            f"column '{col}' (KPI) is constant ({values[0]:g} in all {len(values)} rows), so "
            "there is nothing to explain. Fix: check that the right KPI column is used."
        )
