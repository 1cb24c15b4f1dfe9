"""`Dataset`: a validated, date-sorted table of KPI, media spend/activity and controls.

Build one from a DataFrame, a CSV or Parquet file, a SQL query, or the ``data:`` section of a
YAML config (its schema: `mediamix.data.config.DataConfig`) with `load_dataset`, the one
function the command line uses for ``mediamix check`` and ``mediamix fit``.

Arrays follow the package convention: time on axis 0, channel on axis 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mediamix.data import validation as v
from mediamix.data.config import DataConfig, data_section
from mediamix.data.loaders import read_sql, read_table
from mediamix.errors import DataError, SpecError


@dataclass(frozen=True)
class ChannelSpec:
    """One media channel: its name, spend column and optional activity column.

    Activity (impressions, GRP, clicks) is the model input when given; spend is always what
    ROI is measured against.
    """

    name: str
    spend: str
    activity: str | None = None

    @classmethod
    def parse(cls, item: Any) -> ChannelSpec:
        """From a ChannelSpec, a column name, ``"spend:activity"`` or a mapping."""
        if isinstance(item, ChannelSpec):
            return item
        if isinstance(item, str):
            spend, _, activity = item.partition(":")
            spend = spend.strip()
            return cls(name=spend, spend=spend, activity=activity.strip() or None)
        if isinstance(item, Mapping):
            spend = item.get("spend") or item.get("name")
            if not spend:
                raise SpecError(
                    f"channel entry {dict(item)!r} has no 'spend' column. "
                    "Fix: write {name: tv, spend: tv_spend} (activity optional)."
                )
            unknown = set(item) - {"name", "spend", "activity"}
            if unknown:
                raise SpecError(
                    f"channel entry {dict(item)!r} has unknown keys {sorted(unknown)}; "
                    "allowed: name, spend, activity."
                )
            return cls(
                name=str(item.get("name") or spend),
                spend=str(spend),
                activity=item.get("activity") or None,
            )
        raise SpecError(f"cannot read channel entry {item!r}; give a column name or a mapping.")


@dataclass(frozen=True)
class DataSpec:
    """Which columns play which role."""

    date: str
    kpi: str
    channels: tuple[ChannelSpec, ...]
    controls: tuple[str, ...] = ()
    geo: str | None = None
    #: the column that valued the KPI row by row (``kpi x kpi_value``), recorded so that a
    #: refit of the run (``mediamix refresh``) values the new rows the same way
    kpi_value: str | None = None

    @classmethod
    def build(
        cls,
        date: str,
        kpi: str,
        channels: Iterable[Any],
        controls: Iterable[str] | None = None,
        geo: str | None = None,
    ) -> DataSpec:
        """Normalise user input (strings or mappings) into a spec and check it is coherent."""
        chans = tuple(ChannelSpec.parse(c) for c in channels)
        if not chans:
            raise SpecError("no media channels given. Fix: list at least one spend column.")
        names = [c.name for c in chans]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"channel names must be unique; repeated: {dup}.")
        ctrls = tuple(str(c) for c in (controls or ()))
        used = [date, kpi, *[c.spend for c in chans], *ctrls]
        used += [c.activity for c in chans if c.activity]
        rep = sorted({c for c in used if used.count(c) > 1})
        if rep:
            raise SpecError(
                f"column(s) {rep} are given more than one role (date, KPI, spend, activity, "
                "control). Fix: use each column once."
            )
        return cls(date=str(date), kpi=str(kpi), channels=chans, controls=ctrls, geo=geo)

    def roles(self) -> dict[str, str]:
        """Column -> human-readable role, used in error messages."""
        out = {self.date: "date", self.kpi: "KPI"}
        for c in self.channels:
            out[c.spend] = f"spend of channel '{c.name}'"
            if c.activity:
                out[c.activity] = f"activity of channel '{c.name}'"
        for k in self.controls:
            out[k] = "control"
        if self.geo:
            out[self.geo] = "geo"
        return out


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table: sorted by date, regular frequency, numeric and complete.

    ``frame`` holds the used columns only, with parsed dates, sorted. Use the constructors
    (`from_frame`, `from_csv`, `from_parquet`, `from_sql`, `from_config`) rather than
    building it by hand; they run every check.
    """

    frame: pd.DataFrame
    spec: DataSpec
    freq: str
    notes: tuple[str, ...] = field(default=())

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        date: str,
        kpi: str,
        channels: Sequence[Any],
        controls: Sequence[str] | None = None,
        geo: str | None = None,
        n_params: int | None = None,
        date_format: str | None = None,
        decimal: str | None = None,
        kpi_value: str | None = None,
    ) -> Dataset:
        """Validate a DataFrame and build a Dataset.

        ``channels``: spend column names, ``"spend:activity"`` strings, mappings
        ``{name, spend, activity}`` or `ChannelSpec`. ``n_params`` sets the row rule
        ``rows >= max(20, 3 * n_params)``; by default `validation.estimate_n_params`.
        ``date_format`` (strftime codes, e.g. ``"%d/%m/%Y"``) reads the date column with that
        format instead of detecting one; ``decimal`` (``"."`` or ``","``) is the decimal mark
        of text cells (default: the reader's ``frame.attrs["decimal"]``, else detected).
        ``kpi_value`` names a column of the value of one KPI unit per row: the Dataset's KPI
        is then ``kpi x kpi_value`` row by row (`value_kpi`; the column is no other role).
        """
        spec = replace(DataSpec.build(date, kpi, channels, controls, geo), kpi_value=kpi_value)
        return _validate(frame, spec, n_params, date_format=date_format, decimal=decimal)

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> Dataset:
        """Read a CSV file (`mediamix.data.loaders.read_table`), then as `from_frame`."""
        return cls.from_frame(read_table(path, decimal=kwargs.get("decimal")), **kwargs)

    @classmethod
    def from_parquet(cls, path: str | Path, **kwargs: Any) -> Dataset:
        """Read a Parquet file, then as `from_frame`."""
        return cls.from_frame(read_table(path), **kwargs)

    @classmethod
    def from_sql(cls, url: str, query: str, **kwargs: Any) -> Dataset:
        """Run a SQL query on any SQLAlchemy URL, then as `from_frame`."""
        return cls.from_frame(read_sql(url, query), **kwargs)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | str | Path, base_dir: str | Path | None = None
    ) -> Dataset:
        """From a config mapping or a YAML file with a ``data:`` section (or the section itself).

        A relative ``path`` is resolved against ``base_dir``, which defaults to the YAML
        file's folder (or the working directory for a mapping). An ``events_column`` becomes
        0/1 control columns (see `load_dataset`, which also returns their names).
        """
        if isinstance(config, str | Path):
            cfg_path = Path(config)
            config = load_yaml(cfg_path)
            base_dir = base_dir if base_dir is not None else cfg_path.parent
        if isinstance(config, Mapping):  # experiments: beside data: is read on its own
            config = {k: v for k, v in config.items() if k != "experiments"}
        section, where = data_section(config)
        return load_dataset(None, section, base_dir=base_dir, where=where or "data")[0]

    # ---- views --------------------------------------------------------------------------
    @property
    def n_periods(self) -> int:
        """Number of rows (periods; periods x geos when a geo column is given)."""
        return len(self.frame)

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Period dates, sorted."""
        return pd.DatetimeIndex(self.frame[self.spec.date])

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.spec.channels]

    @property
    def control_names(self) -> list[str]:
        return list(self.spec.controls)

    @property
    def kpi_name(self) -> str:
        return self.spec.kpi

    @property
    def kpi_values(self) -> np.ndarray:
        """KPI, shape (T,)."""
        return self.frame[self.spec.kpi].to_numpy(dtype=float)

    @property
    def kpi(self) -> np.ndarray:
        """Alias of `kpi_values`."""
        return self.kpi_values

    @property
    def spend(self) -> np.ndarray:
        """Spend per period and channel, shape (T, C)."""
        cols = [c.spend for c in self.spec.channels]
        return self.frame[cols].to_numpy(dtype=float).reshape(len(self.frame), len(cols))

    @property
    def activity(self) -> np.ndarray:
        """Activity where given, else spend, shape (T, C)."""
        cols = [c.activity or c.spend for c in self.spec.channels]
        return self.frame[cols].to_numpy(dtype=float).reshape(len(self.frame), len(cols))

    @property
    def media(self) -> np.ndarray:
        """The model input per channel, shape (T, C): activity when given, else spend."""
        return self.activity

    @property
    def control_values(self) -> np.ndarray:
        """Controls, shape (T, K) (K may be 0)."""
        cols = list(self.spec.controls)
        return self.frame[cols].to_numpy(dtype=float).reshape(len(self.frame), len(cols))

    @property
    def controls(self) -> np.ndarray:
        """Alias of `control_values`."""
        return self.control_values

    @property
    def cost_per_unit(self) -> np.ndarray:
        """Spend per unit of media, shape (C,): ``spend.sum() / activity.sum()`` (1 without
        an activity column)."""
        return self.spend.sum(axis=0) / self.media.sum(axis=0)

    @property
    def geos(self) -> list[str] | None:
        """Geo names in order of appearance, or None for national data."""
        if not self.spec.geo:
            return None
        return list(pd.unique(self.frame[self.spec.geo].astype(str)))

    def national(self) -> Dataset:
        """Aggregate a geo panel to one row per date: KPI, spend and activity are summed over
        geos, controls averaged. Returns ``self`` for national data."""
        if not self.spec.geo:
            return self
        sums = [self.spec.kpi]
        for c in self.spec.channels:
            sums += [c.spend] + ([c.activity] if c.activity else [])
        g = self.frame.groupby(self.spec.date, sort=True)
        out = g[sums].sum()
        for k in self.spec.controls:
            out[k] = g[k].mean()
        spec = DataSpec(
            date=self.spec.date,
            kpi=self.spec.kpi,
            channels=self.spec.channels,
            controls=self.spec.controls,
            kpi_value=self.spec.kpi_value,
        )
        note = f"aggregated {len(self.geos or [])} geos of '{self.spec.geo}' to national totals."
        frame = out.reset_index()[[self.spec.date, *sums, *self.spec.controls]]
        return Dataset(frame=frame, spec=spec, freq=self.freq, notes=(*self.notes, note))

    def summary(self) -> dict[str, Any]:
        """Plain-data description (used by `mediamix check`)."""
        d = self.dates
        return {
            "rows": self.n_periods,
            "start": d.min().strftime("%Y-%m-%d"),
            "end": d.max().strftime("%Y-%m-%d"),
            "freq": self.freq,
            "kpi": self.spec.kpi,
            "channels": [
                {"name": c.name, "spend": c.spend, "activity": c.activity}
                for c in self.spec.channels
            ],
            "controls": self.control_names,
            "geo": self.spec.geo,
            "kpi_value": self.spec.kpi_value,
        }

    def __repr__(self) -> str:
        d = self.dates
        return (
            f"Dataset({self.n_periods} {v.FREQ_NAMES[self.freq]} rows "
            f"{d.min():%Y-%m-%d}..{d.max():%Y-%m-%d}, kpi={self.spec.kpi!r}, "
            f"channels={self.channel_names}, controls={self.control_names})"
        )


def load_yaml(path: str | Path) -> dict:
    """Read a YAML file into a dict with clear errors."""
    from mediamix.yamlio import read_yaml

    return read_yaml(Path(path), "config")


def load_dataset(
    source: str | Path | None,
    section: Mapping[str, Any] | DataConfig | None = None,
    *,
    base_dir: str | Path | None = None,
    date: str | None = None,
    kpi: str | None = None,
    channels: Sequence[Any] | None = None,
    controls: Sequence[str] | None = None,
    geo: str | None = None,
    query: str | None = None,
    date_format: str | None = None,
    decimal: str | None = None,
    where: str = "data",
) -> tuple[Dataset, list[str]]:
    """The one way from a config's ``data:`` section (plus command-line values) to a Dataset.

    ``source``: a data file (CSV/Parquet; replaces the section's ``path``/``sql``) or, with
    ``query``, a SQLAlchemy URL; ``None`` uses the section's. ``date``, ``kpi``,
    ``channels``, ``controls`` and ``geo`` override the section's roles (``controls=[]``
    clears them); ``date_format`` and ``decimal`` override the section's (see
    `Dataset.from_frame`). The section's ``kpi_value`` column values the KPI per row
    (`value_kpi`). A relative ``path`` is relative to ``base_dir`` (the config's folder).
    Returns ``(dataset, event_columns)``: the 0/1 columns made from ``events_column``, which
    are among the dataset's controls and are the model's events.
    """
    cfg = DataConfig.parse(section, where).override(
        source,
        query=query,
        date=date,
        kpi=kpi,
        channels=channels,
        controls=controls,
        geo=geo,
        date_format=date_format,
        decimal=decimal,
    )
    cfg.require(where)
    frame, ctrls, events = cfg.read_with_events(base_dir, where)
    ds = Dataset.from_frame(
        frame,
        date=cfg.date,
        kpi=cfg.kpi,
        channels=list(cfg.channels),
        controls=ctrls,
        geo=cfg.geo,
        n_params=cfg.n_params,
        date_format=cfg.date_format,
        decimal=cfg.decimal or frame.attrs.get("decimal"),
        kpi_value=cfg.kpi_value,
    )
    return ds, events


#: the messages of `validation.to_numeric` whose fix is replaced for a KPI value column
_MISSING_VALUE = ("non-numeric value", "missing value", "empty (NaN) cells", "infinite value")


def kpi_value_role(kpi: str, where: str = "data.kpi_value") -> str:
    """The role of a KPI value column in messages ("value of one unit of KPI 'conversions',
    data.kpi_value")."""
    return f"value of one unit of KPI '{kpi}', {where}"


def value_kpi(
    kpi_values: np.ndarray,
    frame: pd.DataFrame,
    kpi: str,
    column: str,
    dates: pd.Series,
    geos: pd.Series | None = None,
    decimal: str | None = None,
    where: str = "data.kpi_value",
) -> tuple[np.ndarray, str]:
    """The KPI the model sees when the data section names a KPI value column: ``kpi_values
    (N,) x value (N,)``, row by row in the frame's order, and the note that says so.

    ``frame`` holds ``column`` (checked to exist by the caller); ``dates (N,)`` and, for a
    geo panel, ``geos (N,)`` name the rows of a bad cell. Every value must be a number > 0:
    a non-numeric, missing, NaN or infinite cell, or a value <= 0, is one `DataError` naming
    the column, the row (its date, and its geo given ``geos``), the value and the fix.
    """
    role = kpi_value_role(kpi, where)
    fix = (
        f"Fix: write the value of one unit of '{kpi}' (e.g. the revenue per unit, a number "
        f"> 0) in every row of '{column}', or leave {where} out to model '{kpi}' as it is."
    )
    try:
        value = v.to_numeric(frame, column, role, dates, decimal=decimal, geos=geos)
    except DataError as exc:
        text = str(exc)
        if " Fix: " not in text or not any(m in text for m in _MISSING_VALUE):
            raise
        raise DataError(f"{text.split(' Fix: ')[0]} {fix}") from None
    bad = np.flatnonzero(value <= 0)
    if bad.size:
        raise DataError(
            f"column '{column}' ({role}) is {value[bad[0]]:g} at "
            f"{v._cells_text(bad, dates, geos)}; the KPI the model sees is {kpi} x {column}, "
            f"so every value must be > 0 (a value of 0 would erase the row's KPI, a negative "
            f"one flip it). {fix}"
        )
    note = (
        f"KPI = {kpi} x {column} (the KPI's value per row, e.g. revenue); contributions and "
        "ROAS are in its units."
    )
    return np.asarray(kpi_values, dtype=float) * value, note


def _validate(
    frame: pd.DataFrame,
    spec: DataSpec,
    n_params: int | None,
    date_format: str | None = None,
    decimal: str | None = None,
) -> Dataset:
    """Run every check in order; return the sorted, typed Dataset (its KPI valued by the
    spec's ``kpi_value`` column when given, `value_kpi`)."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}.")
    decimal = decimal or frame.attrs.get("decimal")
    roles = spec.roles()
    kpi_value = spec.kpi_value
    if kpi_value:
        if kpi_value in roles:
            raise SpecError(
                f"column '{kpi_value}' is given as {kpi_value_role(spec.kpi)} and as "
                f"{roles[kpi_value]}. Fix: use each column once."
            )
        roles[kpi_value] = kpi_value_role(spec.kpi)
    v.check_columns(frame, roles)
    if len(frame) == 0:
        raise DataError("the data have no rows. Fix: check the file or the SQL query.")
    frame = frame.reset_index(drop=True)
    notes: list[str] = []
    dates, date_style = v.parse_dates_with_format(frame, spec.date, date_format)
    if date_style and not date_format:
        notes.append(f"dates in '{spec.date}' read as {date_style}.")
    out = pd.DataFrame({spec.date: dates})
    if spec.geo:
        geo = frame[spec.geo]
        if geo.isna().any():
            rows = list(np.flatnonzero(geo.isna().to_numpy()) + 1)
            raise DataError(
                f"column '{spec.geo}' (geo) has empty cells at {v._rows_text(rows)}. "
                "Fix: fill in the geo of every row."
            )
        out[spec.geo] = geo.astype(str).to_numpy()
    numeric: list[tuple[str, str]] = [(spec.kpi, "KPI")]
    for c in spec.channels:
        numeric.append((c.spend, f"spend of channel '{c.name}'"))
        if c.activity:
            numeric.append((c.activity, f"activity of channel '{c.name}'"))
    numeric += [(k, "control") for k in spec.controls]
    for col, role in numeric:
        out[col] = v.to_numeric(frame, col, role, dates, decimal=decimal)
    if kpi_value:
        geo_rows = out[spec.geo] if spec.geo else None
        valued, note = value_kpi(
            out[spec.kpi].to_numpy(), frame, spec.kpi, kpi_value, dates, geo_rows, decimal
        )
        out[spec.kpi] = valued
        notes.append(note)
    for c in spec.channels:
        v.check_nonnegative(out[c.spend].to_numpy(), c.spend, f"spend of '{c.name}'", dates)
        if c.activity:
            v.check_nonnegative(
                out[c.activity].to_numpy(), c.activity, f"activity of '{c.name}'", dates
            )
    geo_col = out[spec.geo] if spec.geo else None
    v.check_duplicate_dates(dates, spec.date, geo_col, frame=frame, used=list(spec.roles()))

    out["__row__"] = np.arange(1, len(out) + 1)
    sort_keys = [spec.geo, spec.date] if spec.geo else [spec.date]
    sorted_out = out.sort_values(sort_keys, kind="stable").reset_index(drop=True)
    if not sorted_out["__row__"].equals(out["__row__"]):
        notes.append(
            f"dates in '{spec.date}' were not in order; sorted them "
            f"({dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d})."
        )
    out = sorted_out

    groups = [out] if not spec.geo else [g for _, g in out.groupby(spec.geo, sort=False)]
    freq = v.infer_freq(groups[0][spec.date].drop_duplicates(), spec.date)
    for g in groups:
        v.check_regular(g[spec.date].reset_index(drop=True), spec.date, freq, g["__row__"].values)
    if spec.geo:
        lengths = {len(g) for g in groups}
        if len(lengths) > 1:
            raise DataError(
                f"geos in '{spec.geo}' cover different numbers of periods ({sorted(lengths)}). "
                "Fix: give every geo the same dates."
            )
        notes.append(f"{len(groups)} geos in '{spec.geo}'.")
    out = out.drop(columns="__row__")

    n_t = len(groups[0])
    if n_params is None:
        n_params = v.estimate_n_params(len(spec.channels), len(spec.controls))
    v.check_enough_rows(n_t, int(n_params), freq)
    for c in spec.channels:
        v.check_channel_spends(out[c.spend].to_numpy(), c.spend, c.name, "spend")
        if c.activity:
            v.check_channel_spends(out[c.activity].to_numpy(), c.activity, c.name, "activity")
    v.check_kpi_varies(out[spec.kpi].to_numpy(), spec.kpi)
    v.check_kpi_positive(out[spec.kpi].to_numpy(), spec.kpi)
    for k in spec.controls:
        if np.ptp(out[k].to_numpy()) == 0:
            notes.append(
                f"control '{k}' is constant; it cannot be told apart from the intercept. "
                "Fix: drop it from the controls."
            )
    return Dataset(frame=out, spec=spec, freq=freq, notes=tuple(notes))
