"""The ``data:`` section of a config: one declared schema and its one validating parser.

::

    data:
      path: weekly_demo.csv        # relative to the YAML file; or  sql: {url: ..., query: ...}
      date: date
      kpi: sales
      kpi_value: null              # column of the value of one KPI unit per row (the model's
                                   # KPI is then kpi x kpi_value, e.g. conversions x revenue
                                   # per conversion); null = the KPI as it is
      channels:
        - {name: tv, spend: tv_spend, activity: tv_impressions}   # activity optional
        - search_spend                                            # name = spend column
      controls: [price_index]
      events_column: events        # text column ("na" or an event name) -> 0/1 columns
      geo: null                    # geo column of a long table (one row per geo and period)
      population: null             # population column of a geo panel (one value per geo)
      organic: []                  # activity without spend (organic social, email, PR)
      non_media: []                # treatments that are not media (promotions, price)
      reach_frequency: {}          # {youtube: {reach: yt_reach, frequency: yt_freq, spend: yt_spend}}
      n_params: null               # parameters for the row rule; null = estimated
      date_format: null            # e.g. "%d/%m/%Y"; null = detected (one format per column)
      decimal: null                # "." or ","; null = detected from the file

A ``geo`` or ``population`` column, or any of the roles ``organic``, ``non_media`` and
``reach_frequency``, makes the data a panel for the geo model (`is_panel`; national data with
such roles is the one-geo panel). Every fault is one `SpecError` naming the key path, e.g.
``data.chanels: unknown keys in the data section: 'chanels'; allowed: ... Did you mean
'channels'?`` or ``data.n_params: expected an integer, got 'many'``. Loading the table the
section describes is `mediamix.data.load_dataset`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from mediamix.errors import SpecError, did_you_mean

DATA_KEYS = ("path", "sql", "date", "kpi", "kpi_value", "channels", "controls", "events_column",
             "geo", "population", "organic", "non_media", "reach_frequency", "n_params",
             "date_format", "decimal")  # fmt: skip
#: the keys that make the data a panel for the geo model
PANEL_KEYS = ("geo", "population", "organic", "non_media", "reach_frequency")
RF_KEYS = ("reach", "frequency", "spend")
SQL_KEYS = ("url", "query")
CHANNEL_KEYS = ("name", "spend", "activity")
REQUIRED = ("date", "kpi", "channels")
_ROLE = {"date": "the date column", "kpi": "the KPI column", "channels": "the spend columns"}
_NO_EVENT = ("na", "nan", "none", "")


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown_keys(mapping: Mapping, allowed: Sequence[str], where: str, what: str) -> None:
    """Raise for keys of ``mapping`` outside ``allowed``: the first one's key path, ``what``
    (e.g. "unknown keys in the data section") with every unknown key, the allowed ones and
    the closest match."""
    unknown = [k for k in mapping if k not in allowed]
    if not unknown:
        return
    first = unknown[0]
    path = f"{where}.{first}" if where else str(first)
    listed = ", ".join(repr(str(k)) for k in unknown)
    raise SpecError(
        f"{path}: {what}: {listed}; allowed: {', '.join(sorted(allowed))}."
        + did_you_mean(first, allowed)
    )


def _column(value: Any, where: str) -> str:
    """A column name: a string (a whole number is read as its text, as CSV headers are)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SpecError(f"{where}: expected a column name, got {_got(value)}")
    text = str(value).strip()
    if not text:
        raise SpecError(f"{where}: expected a column name, got an empty string")
    return text


def _date_format(value: Any, where: str) -> str | None:
    """A strftime format for the date column (``"%d/%m/%Y"``), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or "%" not in value:
        raise SpecError(
            f"{where}: expected a date format with strftime codes such as '%d/%m/%Y' or "
            f"'%m/%d/%Y', got {_got(value)}"
        )
    return value


def _decimal(value: Any, where: str) -> str | None:
    """The decimal mark of the file's numbers: '.' or ',', or None (detected)."""
    if value is None:
        return None
    if value not in (".", ","):
        raise SpecError(f"{where}: expected '.' or ',' (the decimal mark), got {_got(value)}")
    return value


def _optional_column(value: Any, where: str) -> str | None:
    return None if value is None else _column(value, where)


def _kpi_value_column(value: Any, where: str) -> str | None:
    """The column of the value of one KPI unit per row, or None. A number here is the constant
    value of one unit, which is the model's ``kpi_value``: refused with that fix."""
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        raise SpecError(
            f"{where}: names the column that holds the value of one KPI unit per row (the KPI "
            f"the model sees is then kpi x that column), got the number {_got(value)}. Fix: "
            f"name a column, e.g. `kpi_value: revenue_per_conversion`; for one constant value "
            f"per KPI unit, set `kpi_value: {value}` in the model: section instead."
        )
    return _optional_column(value, where)


def _columns(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise SpecError(f"{where}: expected a list of column names, got {_got(value)}")
    return tuple(_column(v, f"{where}[{i}]") for i, v in enumerate(value))


def _channel(item: Any, where: str) -> str | dict[str, str]:
    """A channel entry: ``spend`` or ``"spend:activity"`` text, or a mapping
    ``{name, spend, activity}`` (kept as given; `ChannelSpec.parse` builds it)."""
    if isinstance(item, Mapping):
        unknown_keys(item, CHANNEL_KEYS, where, "unknown keys in a channel entry")
        out = {k: _column(item[k], f"{where}.{k}") for k in CHANNEL_KEYS if item.get(k) is not None}
        if "spend" not in out and "name" not in out:
            raise SpecError(
                f"{where}: channel entry {dict(item)!r} has no 'spend' column. "
                "Fix: write {name: tv, spend: tv_spend} (activity optional)."
            )
        return out
    if hasattr(item, "spend") and hasattr(item, "name"):  # a ChannelSpec
        return item
    return _column(item, where)


@dataclass(frozen=True)
class RFChannel:
    """A reach-and-frequency channel: per period the people reached (``reach``), the average
    number of exposures per person reached (``frequency``, >= 1 where reach > 0) and the
    ``spend`` that bought them (what ROI is measured against)."""

    name: str
    reach: str
    frequency: str
    spend: str

    def columns(self) -> dict[str, str]:
        """Column -> role, for the data checks' messages."""
        return {
            self.reach: f"reach of channel '{self.name}'",
            self.frequency: f"frequency of channel '{self.name}'",
            self.spend: f"spend of channel '{self.name}'",
        }

    def to_dict(self) -> dict[str, str]:
        return {"reach": self.reach, "frequency": self.frequency, "spend": self.spend}

    @classmethod
    def parse(cls, name: Any, entry: Any, where: str) -> RFChannel:
        """One ``name: {reach: col, frequency: col, spend: col}`` entry (or an `RFChannel`)."""
        if isinstance(entry, RFChannel):
            return entry
        label = _column(name, where)
        if not isinstance(entry, Mapping):
            raise SpecError(
                f"{where}: expected a mapping {{reach: <column>, frequency: <column>, spend: "
                f"<column>}} for the reach-and-frequency channel '{label}', got {_got(entry)}"
            )
        unknown_keys(entry, RF_KEYS, where, "unknown keys in a reach-and-frequency channel")
        missing = [k for k in RF_KEYS if entry.get(k) is None]
        if missing:
            raise SpecError(
                f"{where}.{missing[0]}: the reach-and-frequency channel '{label}' has no "
                f"{' and no '.join(repr(k) for k in missing)} column. Fix: write {label}: "
                f"{{reach: <column>, frequency: <column>, spend: <column>}} (people reached, "
                "average exposures per person reached, and the spend, per period)."
            )
        cols = {k: _column(entry[k], f"{where}.{k}") for k in RF_KEYS}
        return cls(name=label, **cols)


def _rf_channels(value: Any, where: str) -> tuple[RFChannel, ...]:
    """The ``reach_frequency`` mapping ``{name: {reach, frequency, spend}}`` (a list of
    `RFChannel` or of ``name:reach:frequency:spend`` texts is accepted too)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(RFChannel.parse(n, e, f"{where}.{n}") for n, e in value.items())
    if isinstance(value, list | tuple):
        out = []
        for i, item in enumerate(value):
            if isinstance(item, RFChannel):
                out.append(item)
                continue
            parts = str(item).split(":") if isinstance(item, str) else []
            if len(parts) != 4 or not all(p.strip() for p in parts):
                raise SpecError(
                    f"{where}[{i}]: expected NAME:REACH:FREQUENCY:SPEND (four column names "
                    f"joined by ':'), got {_got(item)}. Fix: e.g. "
                    "youtube:yt_reach:yt_frequency:yt_spend."
                )
            name, reach, freq, spend = (p.strip() for p in parts)
            out.append(RFChannel(name, reach, freq, spend))
        return tuple(out)
    raise SpecError(
        f"{where}: expected a mapping {{<channel>: {{reach: <column>, frequency: <column>, "
        f"spend: <column>}}}}, got {_got(value)}"
    )


@dataclass(frozen=True)
class SqlSource:
    """A table from a database: any SQLAlchemy URL and a query."""

    url: str
    query: str


@dataclass(frozen=True)
class DataConfig:
    """The validated ``data:`` section (column roles and where the table comes from).

    ``date``, ``kpi`` and ``channels`` may be left to command-line flags; `require` checks
    them once every source has been merged.
    """

    path: str | None = None
    sql: SqlSource | None = None
    date: str | None = None
    kpi: str | None = None
    kpi_value: str | None = None
    channels: tuple[Any, ...] = ()
    controls: tuple[str, ...] = ()
    events_column: str | None = None
    geo: str | None = None
    population: str | None = None
    organic: tuple[str, ...] = ()
    non_media: tuple[str, ...] = ()
    reach_frequency: tuple[RFChannel, ...] = ()
    n_params: int | None = None
    date_format: str | None = None
    decimal: str | None = None

    @property
    def is_panel(self) -> bool:
        """Data for the geo model: a ``geo`` (or ``population``) column is named, or a role
        only the geo model has (``organic``, ``non_media``, ``reach_frequency``; national
        data with such roles is a one-geo panel)."""
        return any(getattr(self, k) for k in PANEL_KEYS)

    @property
    def roles(self) -> tuple[str, ...]:
        """The keys among `PANEL_KEYS` that are set (e.g. ``("geo", "organic")``)."""
        return tuple(k for k in PANEL_KEYS if getattr(self, k))

    @classmethod
    def parse(
        cls, section: Mapping[str, Any] | DataConfig | None, where: str = "data"
    ) -> DataConfig:
        """Validate a ``data:`` mapping; every fault is one `SpecError` with its key path."""
        if isinstance(section, DataConfig):
            return section
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise SpecError(
                f"{where or 'data'}: expected a mapping of column roles (date: ..., kpi: ...), "
                f"got {_got(section)}"
            )
        what = (
            "unknown keys in the data section"
            if where
            else (
                "unknown keys at the top level of a config without a 'data:' section (read as the "
                "data section)"
            )
        )
        unknown_keys(section, DATA_KEYS, where, what)

        def at(key: str) -> str:
            return f"{where}.{key}" if where else key

        path = section.get("path")
        if path is not None and (not isinstance(path, str | Path) or not str(path).strip()):
            raise SpecError(f"{at('path')}: expected a file path, got {_got(path)}")
        sql = section.get("sql")
        source = None
        if sql is not None:
            if not isinstance(sql, Mapping):
                raise SpecError(
                    f"{at('sql')}: expected a mapping {{url: ..., query: ...}}, got {_got(sql)}"
                )
            unknown_keys(sql, SQL_KEYS, at("sql"), "unknown keys in data.sql")
            if not sql.get("url") or not sql.get("query"):
                raise SpecError(f"{at('sql')} needs 'url' and 'query'.")
            for k in SQL_KEYS:
                if not isinstance(sql[k], str):
                    raise SpecError(f"{at('sql')}.{k}: expected a string, got {_got(sql[k])}")
            source = SqlSource(sql["url"], sql["query"])
        channels = section.get("channels")
        if channels is None:
            chans: tuple[Any, ...] = ()
        elif isinstance(channels, list | tuple):
            chans = tuple(_channel(c, f"{at('channels')}[{i}]") for i, c in enumerate(channels))
        else:
            raise SpecError(
                f"{at('channels')}: expected a list of spend columns (or {{name, spend, "
                f"activity}} entries), got {_got(channels)}"
            )
        n_params = section.get("n_params")
        if n_params is not None and (
            isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 1
        ):
            kind = "an integer" if not isinstance(n_params, int) else "an integer >= 1"
            raise SpecError(f"{at('n_params')}: expected {kind}, got {_got(n_params)}")
        return cls(
            path=None if path is None else str(path),
            sql=source,
            date=_optional_column(section.get("date"), at("date")),
            kpi=_optional_column(section.get("kpi"), at("kpi")),
            kpi_value=_kpi_value_column(section.get("kpi_value"), at("kpi_value")),
            channels=chans,
            controls=_columns(section.get("controls"), at("controls")),
            events_column=_optional_column(section.get("events_column"), at("events_column")),
            geo=_optional_column(section.get("geo"), at("geo")),
            population=_optional_column(section.get("population"), at("population")),
            organic=_columns(section.get("organic"), at("organic")),
            non_media=_columns(section.get("non_media"), at("non_media")),
            reach_frequency=_rf_channels(section.get("reach_frequency"), at("reach_frequency")),
            n_params=n_params,
            date_format=_date_format(section.get("date_format"), at("date_format")),
            decimal=_decimal(section.get("decimal"), at("decimal")),
        )

    def override(
        self,
        source: str | Path | None = None,
        *,
        query: str | None = None,
        date: str | None = None,
        kpi: str | None = None,
        kpi_value: str | None = None,
        channels: Sequence[Any] | None = None,
        controls: Sequence[str] | None = None,
        geo: str | None = None,
        population: str | None = None,
        organic: Sequence[str] | None = None,
        non_media: Sequence[str] | None = None,
        reach_frequency: Sequence[Any] | Mapping[str, Any] | None = None,
        date_format: str | None = None,
        decimal: str | None = None,
    ) -> DataConfig:
        """The section with command-line values on top (``None`` keeps the section's).

        ``source`` is a data file (replacing ``path`` and ``sql``) or, with ``query`` or a
        ``://`` in it, a SQLAlchemy URL. ``controls=[]`` clears the controls (and so for
        ``organic``, ``non_media``, ``reach_frequency``: ``NAME:REACH:FREQUENCY:SPEND``
        texts or the section's mapping).
        """
        changes: dict[str, Any] = {}
        if source is not None:
            text = str(source)
            if query or "://" in text:
                if not query:
                    raise SpecError(f"DATA '{text}' looks like a database URL; give --query.")
                changes.update(path=None, sql=SqlSource(text, query))
            else:
                changes.update(path=str(Path(text).resolve()), sql=None)
        if date is not None:
            changes["date"] = _column(date, "--date")
        if kpi is not None:
            changes["kpi"] = _column(kpi, "--kpi")
        if kpi_value is not None:
            changes["kpi_value"] = _column(kpi_value, "kpi_value")
        if channels is not None:
            changes["channels"] = tuple(
                _channel(c, f"--channels[{i}]") for i, c in enumerate(channels)
            )
        if controls is not None:
            changes["controls"] = _columns(list(controls), "--controls")
        if geo is not None:
            changes["geo"] = _column(geo, "--geo")
        if population is not None:
            changes["population"] = _column(population, "--population")
        if organic is not None:
            changes["organic"] = _columns(list(organic), "--organic")
        if non_media is not None:
            changes["non_media"] = _columns(list(non_media), "--non-media")
        if reach_frequency is not None:
            rf = reach_frequency if isinstance(reach_frequency, Mapping) else list(reach_frequency)
            changes["reach_frequency"] = _rf_channels(rf, "--reach-frequency")
        if date_format is not None:
            changes["date_format"] = _date_format(date_format, "--date-format")
        if decimal is not None:
            changes["decimal"] = _decimal(decimal, "--decimal")
        return replace(self, **changes)

    def require(self, where: str = "data", panel: bool = False) -> None:
        """A source to read is given, and every role the model needs.

        ``panel=False`` (a reader of national data: one row per period, paid channels and
        controls) refuses the keys of the geo model (`PANEL_KEYS`) with one message saying
        how to fit them (`mediamix fit`, the geo model) or what national table to use.
        ``panel=True`` (the geo model, `mediamix check`, `mediamix.data.panel.load_panel`)
        also needs ``geo`` when ``population`` is set. Paid ``channels`` may be left out
        when ``reach_frequency`` channels are given.
        """
        if not panel and self.is_panel:
            raise SpecError(self.national_only_message(where))
        if panel and self.population and not self.geo:
            key = f"{where}.population" if where else "--population"
            raise SpecError(
                f"{key}: '{self.population}' is the population of each geo, but no geo column "
                "is given. Fix: add `geo: <column>` to the data section (or pass --geo), or "
                "drop population for national data."
            )
        if self.path is None and self.sql is None:
            raise SpecError(
                "no data given. Fix: pass DATA (a file or URL) or --config with data.path."
            )
        missing = [k for k in REQUIRED if not getattr(self, k)]
        if panel and self.reach_frequency and "channels" in missing:
            missing.remove("channels")
        if missing:
            names = ", ".join(f"'{k}'" for k in missing)
            flags = ", ".join(f"--{k}" for k in missing)
            roles = ", ".join(_ROLE[k] for k in missing)
            if not where:
                raise SpecError(f"missing {flags} ({roles}) (or set them in --config).")
            paths = ", ".join(f"{where}.{k}" for k in missing)
            raise SpecError(
                f"{paths}: the data section needs {names} ({roles}). Fix: add "
                + ", ".join(f"`{k}: ...`" for k in missing)
                + f" to it, or pass {flags}."
            )

    def national_only_message(self, where: str = "data") -> str:
        """The one message for data of the geo model where only national data (one row per
        period, paid channels and controls) can be read."""
        key = self.roles[0]
        path = f"{where}.{key}" if where else f"--{key.replace('_', '-')}"
        if key in ("geo", "population"):
            g = self.geo or "<geo column>"
            return (
                f"{path}: '{getattr(self, key)}' makes the data a geo panel (one row per geo "
                "and period), which the geo model fits (`mediamix fit DATA --geo "
                f"{g} ...`, or a config whose data section names the geo), but this step "
                "reads national data (one row per period). Fix: fit the panel with "
                f"`mediamix fit`; or use its national roll-up here: `mediamix check DATA --geo "
                f"{g} --write national.csv` (KPI and spend summed over the geos), then give "
                f"national.csv without the geo and population keys; or one geo: `mediamix "
                f"check DATA --geo {g} --only <geo> --write one_geo.csv`. In Python: "
                f"`GeoMMM().fit(Panel.from_csv(path, geo='{g}', ...))`, or `.rollup()` / "
                "`.geo(name)` of the panel for a national Dataset."
            )
        value = getattr(self, key)
        shown = [rf.name for rf in value] if key == "reach_frequency" else list(value)
        return (
            f"{path}: {shown} is a role of the geo model (organic, non_media, "
            "reach_frequency), which `mediamix fit` fits (national data with such roles is "
            "a one-geo panel), but this step reads national data with paid channels and "
            f"controls only. Fix: fit it with `mediamix fit`; or leave the '{key}' key out "
            "here (list a non-media treatment under controls if it is one)."
        )

    def resolve_path(self, base_dir: str | Path | None) -> Path | None:
        """``path`` as a file: relative paths are relative to ``base_dir`` (the YAML file's
        folder) when given, else to the working directory."""
        if self.path is None:
            return None
        p = Path(self.path)
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        return p

    def read_frame(self, base_dir: str | Path | None = None) -> pd.DataFrame:
        """The raw table from ``sql`` or ``path``."""
        from mediamix.data.loaders import read_sql, read_table

        self.require(panel=True)
        if self.sql is not None:
            return read_sql(self.sql.url, self.sql.query)
        return read_table(self.resolve_path(base_dir), decimal=self.decimal)

    def read_with_events(
        self, base_dir: str | Path | None = None, where: str = "data"
    ) -> tuple[pd.DataFrame, list[str], list[str]]:
        """The raw table with ``events_column`` expanded: ``(frame, controls, events)``, the
        controls including the 0/1 event columns, which are also returned as ``events``."""
        frame = self.read_frame(base_dir)
        ctrls = list(self.controls)
        if not self.events_column:
            return frame, ctrls, []
        at = f"{where}.events_column" if where else "events_column"
        frame, all_ctrls = expand_events(frame, self.events_column, ctrls, where=at)
        return frame, all_ctrls, all_ctrls[len(ctrls) :]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the keys set only (parses back to the same config)."""
        out: dict[str, Any] = {}
        for k in DATA_KEYS:
            v = getattr(self, k)
            if v is None or v == ():
                continue
            if k == "sql":
                v = {"url": v.url, "query": v.query}
            elif k == "reach_frequency":
                v = {rf.name: rf.to_dict() for rf in v}
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        return out


def data_section(config: Mapping[str, Any]) -> tuple[Any, str]:
    """The data section of a parsed config file and its key path.

    A file with ``data:`` (or ``model:``) sections gives its ``data:`` section (empty when
    absent; other top-level keys are an error); a file with neither is read as the data
    section itself.
    """
    if not isinstance(config, Mapping):
        raise SpecError("the config has no 'data:' section. Fix: add one (see the docs).")
    if "data" in config or "model" in config:
        extra = [k for k in config if k not in ("model", "data")]
        if extra:
            raise SpecError(
                f"{extra[0]}: unknown top-level config key(s) {extra}; use 'data:' and "
                f"'model:' sections.{did_you_mean(extra[0], ('data', 'model'))}"
            )
        section = config.get("data") or {}
        if not isinstance(section, Mapping):
            raise SpecError(
                f"data: the 'data:' section must be a mapping of column roles, got {_got(section)}"
            )
        return section, "data"
    return config, ""


def event_column_name(value: str) -> str:
    """``event_<name>``: the 0/1 column of one event (``"Black Friday"`` -> ``event_black_friday``)."""
    return "event_" + re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").lower()


def expand_events(
    frame: pd.DataFrame, column: str, controls: Sequence[str], where: str = "data.events_column"
) -> tuple[pd.DataFrame, list[str]]:
    """Turn a text events column ("na" or an event name per period) into 0/1 columns
    ``event_<name>``, appended to ``controls``. Returns ``(frame, controls + new)``."""
    if column not in frame.columns:
        hint = did_you_mean(column, [str(c) for c in frame.columns])
        raise SpecError(f"{where}: events_column '{column}' is not a column of the data.{hint}")
    values = frame[column].astype(str).str.strip()
    names = sorted(v for v in values.unique() if v.lower() not in _NO_EVENT)
    attrs = dict(frame.attrs)
    frame = frame.drop(columns=[column]).copy()
    frame.attrs.update(attrs)
    new = []
    for v in names:
        col = event_column_name(v)
        frame[col] = (values == v).astype(float).to_numpy()
        new.append(col)
    return frame, list(controls) + new
