"""Lift tests and other experiments: one row per test, checked against the data.

A table of experiments has the columns ``channel, start, end, spend_change, lift, lift_se``
and optionally ``measure_end``, ``geo`` and ``in_data``:

- ``channel``: a media channel of the data;
- ``start``, ``end``: the first and last period of the test (dates of the data's periods);
- ``spend_change``: the test's total extra spend over ``start..end`` (negative for a pause or
  a cut), spread evenly over those periods;
- ``lift``: the measured incremental KPI summed over ``start..measure_end``, with the same sign
  convention (the KPI with the change minus the KPI without it: a pause has a negative lift);
- ``lift_se``: its standard error (KPI units, > 0);
- ``measure_end``: the last period the lift counts (default ``end``; later to count the
  carry-over after the spend stops);
- ``geo``: the test's region; only geo models can use it (national models reject a value);
- ``in_data`` (default true): the data's spend over ``start..end`` already includes the change
  (the test ran inside the data's window), so the test's counterfactual is the data's spend
  minus the change; false: the change is on top of the data's spend (a test the data do not
  show), so the counterfactual is the data's spend plus the change.

`read_experiments(source, dataset)` reads a CSV / Parquet file, a DataFrame, a list of
mappings or `Experiment` rows, and checks every row against the data: each message names the
row, the column, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import DataError, did_you_mean

REQUIRED = ("channel", "start", "end", "spend_change", "lift", "lift_se")
OPTIONAL = ("measure_end", "geo", "in_data")
COLUMNS = REQUIRED + OPTIONAL

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _date(v: Any, col: str, where: str) -> str:
    if _blank(v):
        raise DataError(f"{where}, column '{col}': empty. Fix: give a date such as 2023-03-06.")
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise DataError(
            f"{where}, column '{col}': {v!r} is not a date. Fix: write it as YYYY-MM-DD, "
            "the date of one of the data's periods."
        )
    return str(ts.date()) if ts == ts.normalize() else ts.isoformat()


def _number(v: Any, col: str, where: str, hint: str) -> float:
    if isinstance(v, bool) or _blank(v):
        raise DataError(
            f"{where}, column '{col}': {'empty' if _blank(v) else repr(v)}. Fix: {hint}."
        )
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise DataError(f"{where}, column '{col}': {v!r} is not a number. Fix: {hint}.") from None
    if not math.isfinite(f):
        raise DataError(f"{where}, column '{col}': {v!r} is not a finite number. Fix: {hint}.")
    return f


def _flag(v: Any, col: str, where: str) -> bool:
    if _blank(v):
        return True
    if isinstance(v, bool | np.bool_):
        return bool(v)
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise DataError(
        f"{where}, column '{col}': {v!r} is not true or false. Fix: true when the data's spend "
        "already includes the test, false when the change is on top of it."
    )


@dataclass(frozen=True)
class Experiment:
    """One experiment (lift test): see the module doc for the meaning of each field.

    Dates are kept as ISO strings (``"2023-03-06"``); numbers as floats. Values are checked
    when the row is made; `check_experiments` checks them against a data set.
    """

    channel: str
    start: str
    end: str
    spend_change: float
    lift: float
    lift_se: float
    measure_end: str | None = None
    geo: str | None = None
    in_data: bool = True

    def __post_init__(self) -> None:
        _check_row(self, "experiment")

    @property
    def window_end(self) -> str:
        """The last period the lift counts: ``measure_end``, or ``end``."""
        return self.measure_end or self.end

    @property
    def measured_roi(self) -> float:
        """Measured lift per unit of extra spend (KPI units; times kpi_value for money)."""
        return self.lift / self.spend_change

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any], where: str = "experiment") -> Experiment:
        return _parse_row(row, where)


def _check_row(e: Experiment, where: str) -> None:
    """The checks of one row that need no data (types, signs, date order)."""
    if not isinstance(e.channel, str) or not e.channel.strip():
        raise DataError(f"{where}, column 'channel': {e.channel!r}. Fix: name a media channel.")
    object.__setattr__(e, "channel", e.channel.strip())
    for col in ("start", "end"):
        object.__setattr__(e, col, _date(getattr(e, col), col, where))
    if not _blank(e.measure_end):
        object.__setattr__(e, "measure_end", _date(e.measure_end, "measure_end", where))
    else:
        object.__setattr__(e, "measure_end", None)
    hints = {
        "spend_change": "give the test's total extra spend over start..end (negative for a "
        "pause), in the data's currency",
        "lift": "give the measured incremental KPI over start..measure_end, in KPI units",
        "lift_se": "give the standard error of the measured lift, a positive number in KPI units",
    }
    for col, hint in hints.items():
        object.__setattr__(e, col, _number(getattr(e, col), col, where, hint))
    if e.lift_se <= 0:
        raise DataError(
            f"{where}, column 'lift_se': {e.lift_se:g} is not > 0. Fix: {hints['lift_se']}."
        )
    if e.spend_change == 0:
        raise DataError(
            f"{where}, column 'spend_change': 0 (no change in spend, so nothing was tested). "
            f"Fix: {hints['spend_change']}."
        )
    if pd.Timestamp(e.end) < pd.Timestamp(e.start):
        raise DataError(
            f"{where}, column 'end': {e.end} is before start {e.start}. Fix: end is the last "
            "period of the test, on or after start."
        )
    if e.measure_end is not None and pd.Timestamp(e.measure_end) < pd.Timestamp(e.end):
        raise DataError(
            f"{where}, column 'measure_end': {e.measure_end} is before end {e.end}. Fix: the lift "
            "is measured at least until the test ends; leave measure_end empty to use end."
        )
    geo = None if _blank(e.geo) else str(e.geo).strip()
    object.__setattr__(e, "geo", geo)
    object.__setattr__(e, "in_data", _flag(e.in_data, "in_data", where))


def _parse_row(row: Mapping[str, Any], where: str) -> Experiment:
    unknown = [k for k in row if k not in COLUMNS]
    if unknown:
        raise DataError(
            f"{where}: unknown column '{unknown[0]}'.{did_you_mean(unknown[0], COLUMNS)} "
            f"Columns: {', '.join(REQUIRED)} (required), {', '.join(OPTIONAL)} (optional)."
        )
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)}. Fix: every experiment needs "
            f"{', '.join(REQUIRED)}."
        )
    kw = {f.name: row[f.name] for f in fields(Experiment) if f.name in row}
    e = object.__new__(Experiment)
    for k in COLUMNS:
        object.__setattr__(e, k, kw.get(k, True if k == "in_data" else None))
    _check_row(e, where)
    return e


def _rows(source: Any, where: str) -> list[tuple[Any, str]]:
    """Raw rows of ``source`` with the place each is named by in messages."""
    if isinstance(source, Experiment):
        return [(source, f"{where} row 1")]
    if isinstance(source, str | Path):
        from mediamix.data.loaders import read_table

        p = Path(source)
        if not p.exists():
            raise DataError(f"experiments file '{p}' does not exist. Fix: check the path.")
        source, where = read_table(p), f"experiments file '{p}'"
    if isinstance(source, pd.DataFrame):
        frame = source.rename(columns=lambda c: str(c).strip())
        recs = frame.to_dict("records")
        # row numbers as in the file: the header is line 1
        return [(r, f"{where} row {i + 2}" if "file" in where else f"{where} row {i + 1}")
                for i, r in enumerate(recs)]  # fmt: skip
    if isinstance(source, Mapping):
        raise DataError(
            f"{where}: expected a list of experiments (one mapping per test) or a file path, "
            "got a single mapping. Fix: put the row in a list."
        )
    if isinstance(source, Iterable):
        return [(r, f"{where} row {i + 1}") for i, r in enumerate(source)]
    raise DataError(
        f"{where}: cannot read experiments from {type(source).__name__}. Fix: give a CSV or "
        "Parquet path, a DataFrame, or a list of rows."
    )


def read_experiments(
    source: Any, dataset: Any | None = None, where: str = "experiments"
) -> tuple[Experiment, ...]:
    """Experiments from a file path, a DataFrame, rows (mappings or `Experiment`), or None.

    With ``dataset`` (a `Dataset` or anything with ``dates``, ``channel_names`` and
    ``spend``) every row is also checked against the data (`check_experiments`).
    """
    if source is None:
        return ()
    out, places = [], []
    for raw, place in _rows(source, where):
        places.append(place)
        if isinstance(raw, Experiment):
            out.append(raw)
        elif isinstance(raw, Mapping):
            out.append(_parse_row({str(k).strip(): v for k, v in raw.items()}, place))
        else:
            raise DataError(
                f"{place}: expected a mapping of columns ({', '.join(REQUIRED)}), got "
                f"{type(raw).__name__}. Fix: one mapping per experiment."
            )
    if dataset is not None:
        check_experiments(out, dataset, where, places)
    return tuple(out)


def _period(dates: np.ndarray, value: str, col: str, where: str, freq: str) -> int:
    ts = np.datetime64(pd.Timestamp(value).to_datetime64(), "ns")
    i = int(np.searchsorted(dates, ts))
    if i < len(dates) and dates[i] == ts:
        return i
    first, last = (str(d.astype("datetime64[D]")) for d in (dates[0], dates[-1]))
    if ts < dates[0] or ts > dates[-1]:
        raise DataError(
            f"{where}, column '{col}': {value} is outside the data ({first} .. {last}). Fix: "
            "give a period inside the data; a test must lie within the fitted data."
        )
    near = dates[min(max(i - 1, 0), len(dates) - 1)], dates[min(i, len(dates) - 1)]
    shown = " or ".join(sorted({str(d.astype("datetime64[D]")) for d in near}))
    raise DataError(
        f"{where}, column '{col}': {value} is not one of the data's period dates "
        f"(frequency {freq}). Fix: use the date of the period it falls in, e.g. {shown}."
    )


def experiment_periods(e: Experiment, dates: Any) -> tuple[int, int, int]:
    """Row indices ``(start, end, measure_end)`` of an experiment in ``dates`` (inclusive)."""
    d = np.asarray(pd.DatetimeIndex(dates).values, dtype="datetime64[ns]")
    return (_period(d, e.start, "start", "experiment", "?"),
            _period(d, e.end, "end", "experiment", "?"),
            _period(d, e.window_end, "measure_end", "experiment", "?"))  # fmt: skip


def check_experiments(
    experiments: Iterable[Experiment],
    dataset: Any,
    where: str = "experiments",
    places: list[str] | None = None,
) -> None:
    """Check each row against the data: a known channel, dates on the data's periods, a
    spend change the data can carry, no geo for national data. Raises `DataError` naming the
    row (``places[i]``, or ``<where> row <i + 1>``), the column, the value and the fix."""
    names = list(dataset.channel_names)
    dates = np.asarray(pd.DatetimeIndex(np.asarray(dataset.dates)).values, dtype="datetime64[ns]")
    freq = str(getattr(dataset, "freq", "") or "")[:1].upper() or "?"
    spend = np.asarray(dataset.spend, dtype=float)
    national = not getattr(dataset, "geos", None)
    for i, e in enumerate(experiments):
        place = (places[i] if places else f"{where} row {i + 1}") + f" ({e.channel}, {e.start})"
        if e.channel not in names:
            raise DataError(
                f"{place}, column 'channel': '{e.channel}' is not a channel of the data."
                f"{did_you_mean(e.channel, names)} Channels: {', '.join(names)}."
            )
        if e.geo is not None and national:
            raise DataError(
                f"{place}, column 'geo': '{e.geo}', but the model is national (one row per "
                "period). Fix: leave geo empty for a test whose lift is measured nationally; "
                "the geo model (`--geo COL`) does not take lift tests yet."
            )
        s = _period(dates, e.start, "start", place, freq)
        t = _period(dates, e.end, "end", place, freq)
        _period(dates, e.window_end, "measure_end", place, freq)
        c = names.index(e.channel)
        per = e.spend_change / (t - s + 1)
        # the counterfactual spend (data -/+ change) must stay >= 0 in every test period
        cf = spend[s : t + 1, c] - per if e.in_data else spend[s : t + 1, c] + per
        if np.any(cf < -1e-9 * max(1.0, abs(per))):
            j = s + int(np.argmin(cf))
            day = str(dates[j].astype("datetime64[D]"))
            if e.in_data:
                raise DataError(
                    f"{place}, column 'spend_change': {e.spend_change:g} spread over "
                    f"{t - s + 1} period(s) is {per:g} per period, more than the data's spend "
                    f"of '{e.channel}' on {day} ({spend[j, c]:g}). Fix: the data must contain "
                    "the test's extra spend; if the change is on top of the data's spend, set "
                    "in_data to false."
                )
            raise DataError(
                f"{place}, column 'spend_change': a cut of {-per:g} per period is more than "
                f"the data's spend of '{e.channel}' on {day} ({spend[j, c]:g}). Fix: a cut can "
                "remove at most the spend there is; if the data already show the cut, set "
                "in_data to true."
            )


def experiments_frame(experiments: Iterable[Experiment]) -> pd.DataFrame:
    """The experiments as a table with the file's columns."""
    return pd.DataFrame([e.to_dict() for e in experiments], columns=list(COLUMNS))
