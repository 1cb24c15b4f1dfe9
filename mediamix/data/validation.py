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


def _rows_text(rows: Sequence[int], dates: Sequence | None = None) -> str:
    """'rows 3, 7 (2020-01-05, ...)' for 1-based row numbers, at most a few listed."""
    rows = list(rows)
    shown = []
    for i, r in enumerate(rows[:_MAX_LISTED]):
        if dates is not None and dates[i] is not None and not pd.isna(dates[i]):
            shown.append(f"{r} ({_fmt_date(dates[i])})")
        else:
            shown.append(str(r))
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
    """Every column in ``required`` (column -> role, e.g. "spend of channel 'tv'") exists."""
    for col, role in required.items():
        if col not in frame.columns:
            close = closest_column(col, list(frame.columns))
            hint = f" Did you mean '{close}'?" if close else ""
            available = ", ".join(str(c) for c in frame.columns)
            raise DataError(
                f"column '{col}' ({role}) is not in the data.{hint} "
                f"Available columns: {available}. "
                "Fix: rename the column in the file or correct the name in the arguments/config."
            )


def parse_dates(frame: pd.DataFrame, date_col: str) -> pd.Series:
    """Parse the date column; empty or unparseable values are errors naming the rows."""
    raw = frame[date_col]
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    if empty.any():
        rows = list(np.flatnonzero(empty.to_numpy()) + 1)
        raise DataError(
            f"column '{date_col}' (date) has empty cells at {_rows_text(rows)}. "
            "Fix: fill in the date of each period or delete those rows."
        )
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).reset_index(drop=True)
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        rows = list(np.flatnonzero(bad) + 1)
        value = raw.iloc[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"column '{date_col}' (date) has a value that is not a date at {_rows_text(rows)}: "
            f"{value!r}. Fix: write dates as YYYY-MM-DD."
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.reset_index(drop=True)


def to_numeric(
    frame: pd.DataFrame, col: str, role: str, dates: pd.Series | None = None
) -> np.ndarray:
    """The column as float64; non-numeric values and empty cells are errors naming the rows."""
    raw = frame[col].reset_index(drop=True)
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        nonnum = np.zeros(len(raw), dtype=bool)
    else:
        text = raw.astype("string").str.strip().str.replace(",", "", regex=False)
        blank = raw.isna().to_numpy() | (text.fillna("") == "").to_numpy()
        conv = pd.to_numeric(text.where(~blank), errors="coerce")
        values = conv.to_numpy(dtype=float, na_value=np.nan)
        nonnum = np.isnan(values) & ~blank
    if nonnum.any():
        idx = np.flatnonzero(nonnum)
        d = None if dates is None else [dates.iloc[i] for i in idx[:_MAX_LISTED]]
        raise DataError(
            f"column '{col}' ({role}) has a non-numeric value {raw.iloc[int(idx[0])]!r} at "
            f"{_rows_text(list(idx + 1), d)}. Fix: write plain numbers (no currency signs or "
            "text); use 0 for periods without activity."
        )
    nan = np.isnan(values) | np.isinf(values)
    if nan.any():
        idx = np.flatnonzero(nan)
        d = None if dates is None else [dates.iloc[i] for i in idx[:_MAX_LISTED]]
        what = "an infinite value" if np.isinf(values[idx[0]]) else "empty (NaN) cells"
        raise DataError(
            f"column '{col}' ({role}) has {what} at {_rows_text(list(idx + 1), d)}. "
            "Fix: fill in the value (use 0 when nothing was spent), or drop those periods."
        )
    return values


def check_nonnegative(values: np.ndarray, col: str, role: str, dates: pd.Series) -> None:
    """Spend and activity cannot be negative."""
    neg = values < 0
    if neg.any():
        idx = np.flatnonzero(neg)
        d = [dates.iloc[i] for i in idx[:_MAX_LISTED]]
        raise DataError(
            f"column '{col}' ({role}) has a negative value {values[idx[0]]:g} at "
            f"{_rows_text(list(idx + 1), d)}. Fix: spend and activity must be >= 0; "
            "correct the value or, for refunds, net them into the period they belong to."
        )


def check_duplicate_dates(dates: pd.Series, date_col: str, geo: pd.Series | None = None) -> None:
    """Each date appears once (once per geo when a geo column is given)."""
    key = dates if geo is None else pd.Series(list(zip(geo, dates)))
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        first = dates.iloc[int(idx[0])]
        same = np.flatnonzero((key == key.iloc[int(idx[0])]).to_numpy()) + 1
        where = "" if geo is None else f" for geo '{geo.iloc[int(idx[0])]}'"
        raise DataError(
            f"column '{date_col}' (date) has the date {_fmt_date(first)}{where} more than once, "
            f"at rows {', '.join(str(r) for r in same)} ({int(dup.sum())} rows with repeated "
            "dates in all). Fix: keep one row per period (sum or remove the duplicates)."
        )


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


def check_regular(dates: pd.Series, date_col: str, freq: str, rows: np.ndarray) -> None:
    """Consecutive sorted dates are exactly one period apart: no gaps, no irregular steps.

    ``rows`` gives the 1-based input row of each sorted date, for the message.
    """
    unit = _FREQ_UNIT[freq]
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
                f"column '{date_col}' (date): irregular spacing {where}; the data look "
                f"{FREQ_NAMES[freq]}, so every date should be one {unit} after the previous one. "
                f"Fix: align all dates to the same weekday/day of month (e.g. week start)."
            )
        raise DataError(
            f"column '{date_col}' (date): gap {where}: {gap - 1} {unit}(s) missing in "
            f"{FREQ_NAMES[freq]} data. Fix: add rows for the missing {unit}s "
            "(with 0 spend where nothing ran)."
        )


def check_enough_rows(n_rows: int, n_params: int, freq: str) -> None:
    """At least ``max(20, 3 * n_params)`` periods (see `min_rows_required`)."""
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


def check_kpi_varies(values: np.ndarray, col: str) -> None:
    """A constant KPI carries no information about any effect."""
    if np.ptp(values) == 0:
        raise DataError(
            f"column '{col}' (KPI) is constant ({values[0]:g} in all {len(values)} rows), so "
            "there is nothing to explain. Fix: check that the right KPI column is used."
        )
