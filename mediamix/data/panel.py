"""`Panel`: a validated geo panel (one row per geo and period) as arrays with named axes.

A long table with a geo column (and optionally a population column) is read with the same
CSV reader (`mediamix.data.loaders.read_table`) and the same per-column checks
(`mediamix.data.validation`: numbers, dates, negative spend, ...) as a national table, so its
messages read the same and name the geo. National data is the one-geo case: `Panel.from_dataset`
and `Panel.national` go between a `Dataset` and a one-geo panel.

Arrays: geo on axis 0, time on axis 1, channel (or control) on axis 2:
``kpi (G, T)``, ``spend`` and ``media (G, T, C)``, ``controls (G, T, K)``,
``population (G,)`` or None, and the roles of the geo model, each ``(G, T, n)`` with n = 0
when absent: ``organic (G, T, O)`` (activity without spend), ``non_media (G, T, N)``
(treatments that are not media), ``reach``, ``frequency`` and ``rf_spend (G, T, R)``
(reach-and-frequency channels).

Checks beyond the national ones, each one message naming the geo, the column, the value and
the fix: a geo with too few rows, a geo that misses periods the others have (or has a gap),
a repeated (geo, date) row, population missing for a geo, changing over time within a geo, or
not positive; a KPI value column (``kpi_value``: the KPI is ``kpi x kpi_value`` per row)
that is not a number > 0 in some row; for the roles: negative organic activity, reach or
spend, a frequency below 1 where reach is above 0, a role that never varies. A geo that never
spends on a channel is a warning (`Panel.warnings`): the channel's effect there can only be
learnt by pooling with the other geos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mediamix.data import validation as v
from mediamix.data.config import DataConfig, RFChannel, expand_events
from mediamix.data.dataset import ChannelSpec, Dataset, DataSpec, kpi_value_role, value_kpi
from mediamix.data.loaders import read_table
from mediamix.errors import DataError, SpecError, did_you_mean

NATIONAL = "national"
_NATIONAL_COL = "__geo__"  # the one geo's column of national data read as a panel


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


#: the role arrays of a panel (each (G, T, n), n = 0 when absent)
ROLE_ARRAYS = ("organic", "non_media", "reach", "frequency", "rf_spend")


@dataclass(frozen=True, eq=False)
class Panel:
    """A geo panel: every geo has the same regular dates; numbers checked and complete.

    ``geos (G,)`` in order of first appearance, ``dates (T,)`` sorted, ``kpi (G, T)``,
    ``spend (G, T, C)``, ``media (G, T, C)`` (activity where given, else spend),
    ``controls (G, T, K)``, ``population (G,)`` or None. ``date_name``, ``kpi_name``,
    ``geo_name`` and ``population_name`` are the source columns, ``channels`` the channel
    specs (names, spend and activity columns), ``freq`` ``"D"``, ``"W"`` or ``"M"``.
    The roles of the geo model (each ``(G, T, n)``, n = 0 when absent, zeros filled in):
    ``organic (G, T, O)`` named ``organic_names`` (the columns), ``non_media (G, T, N)``
    named ``non_media_names``, and the reach-and-frequency channels ``rf_channels``
    (`mediamix.data.config.RFChannel`, names in ``rf_names``) with ``reach``, ``frequency``
    and ``rf_spend (G, T, R)``.
    ``notes`` say what was done to the data, ``warnings`` what to look at (a geo that never
    spends on a channel). Build one with `from_frame`, `from_csv`, `from_dataset` or
    `load_panel`, which run every check.
    """

    geos: tuple[str, ...]
    dates: pd.DatetimeIndex
    kpi: np.ndarray
    spend: np.ndarray
    media: np.ndarray
    controls: np.ndarray
    population: np.ndarray | None
    channels: tuple[ChannelSpec, ...]
    control_names: tuple[str, ...]
    freq: str
    date_name: str = "date"
    kpi_name: str = "kpi"
    geo_name: str = "geo"
    population_name: str | None = None
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    organic_names: tuple[str, ...] = ()
    organic: np.ndarray | None = None
    non_media_names: tuple[str, ...] = ()
    non_media: np.ndarray | None = None
    rf_channels: tuple[RFChannel, ...] = ()
    reach: np.ndarray | None = None
    frequency: np.ndarray | None = None
    rf_spend: np.ndarray | None = None

    def __post_init__(self) -> None:
        G, T = np.shape(self.kpi)
        sizes = {"organic": len(self.organic_names), "non_media": len(self.non_media_names)}
        sizes.update(dict.fromkeys(("reach", "frequency", "rf_spend"), len(self.rf_channels)))
        for name in ROLE_ARRAYS:
            a = getattr(self, name)
            a = np.zeros((G, T, sizes[name])) if a is None else np.asarray(a, dtype=float)
            if a.shape != (G, T, sizes[name]):
                raise DataError(
                    f"Panel.{name} has shape {a.shape}, expected (G, T, n) = "
                    f"{(G, T, sizes[name])} (geos, periods, its names)."
                )
            object.__setattr__(self, name, _frozen(a))

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        geo: str,
        date: str,
        kpi: str,
        channels: Sequence[Any],
        controls: Sequence[str] | None = None,
        population: str | None = None,
        n_params: int | None = None,
        date_format: str | None = None,
        decimal: str | None = None,
        organic: Sequence[str] | None = None,
        non_media: Sequence[str] | None = None,
        reach_frequency: Mapping[str, Any] | Sequence[Any] | None = None,
        kpi_value: str | None = None,
    ) -> Panel:
        """Validate a long DataFrame (one row per geo and period) and build a Panel.

        ``channels`` as in `Dataset.from_frame` (spend columns, ``"spend:activity"``,
        mappings, `ChannelSpec`); ``population`` names a column with one value per geo.
        ``organic`` and ``non_media``: columns of those roles; ``reach_frequency``:
        ``{name: {reach: col, frequency: col, spend: col}}`` (or `RFChannel`s, or
        ``"name:reach:frequency:spend"`` texts), as in the config's data section.
        ``n_params`` sets the rows rule ``periods >= max(20, 3 * n_params)``, which every
        geo must meet (its baseline, trend and seasonality are its own); by default
        `validation.estimate_n_params`. ``date_format``, ``decimal`` and ``kpi_value`` (a
        column of the value of one KPI unit per row: the panel's KPI is ``kpi x kpi_value``)
        as in `Dataset.from_frame`.
        """
        roles = DataConfig.parse(
            {"organic": _listed(organic), "non_media": _listed(non_media),
             "reach_frequency": reach_frequency, "kpi_value": kpi_value},
            "",
        )  # fmt: skip
        return _validate_panel(
            frame, geo, date, kpi, channels, controls, population, n_params, date_format,
            decimal, roles=roles,
        )  # fmt: skip

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> Panel:
        """Read a CSV or Parquet file (`mediamix.data.loaders.read_table`), then as
        `from_frame`."""
        return cls.from_frame(read_table(path, decimal=kwargs.get("decimal")), **kwargs)

    @classmethod
    def from_dataset(cls, ds: Dataset, geo_name: str = NATIONAL) -> Panel:
        """A `Dataset` as a panel: its geos when it has a geo column, else one geo named
        ``geo_name`` (national data is the one-geo case)."""
        spec = ds.spec
        frame = ds.frame
        if not spec.geo:
            frame = frame.assign(**{_NATIONAL_COL: geo_name})
        return _validate_panel(
            frame,
            spec.geo or _NATIONAL_COL,
            spec.date,
            spec.kpi,
            list(spec.channels),
            list(spec.controls),
            None,
            1,  # the dataset's own rows rule has run
            None,
            ".",
            geo_label=spec.geo or "geo",
            notes=ds.notes,
        )

    # ---- views --------------------------------------------------------------------------
    @property
    def n_geos(self) -> int:
        return len(self.geos)

    @property
    def n_periods(self) -> int:
        """T, the periods of every geo."""
        return len(self.dates)

    @property
    def channel_names(self) -> list[str]:
        """The paid channels (spend and activity columns)."""
        return [c.name for c in self.channels]

    @property
    def rf_names(self) -> tuple[str, ...]:
        """The reach-and-frequency channels."""
        return tuple(rf.name for rf in self.rf_channels)

    @property
    def media_names(self) -> list[str]:
        """Every channel with spend: the paid channels, then the reach-and-frequency ones."""
        return [*self.channel_names, *self.rf_names]

    @property
    def has_roles(self) -> bool:
        """Organic, non-media or reach-and-frequency columns are given."""
        return bool(self.organic_names or self.non_media_names or self.rf_channels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(G, T, C)``."""
        return (self.n_geos, self.n_periods, len(self.channels))

    def index_of(self, name: str) -> int:
        """Position of geo ``name`` on axis 0; an unknown name is a DataError with the
        closest one."""
        names = list(self.geos)
        if str(name) in names:
            return names.index(str(name))
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise DataError(
            f"geo '{name}' is not in column '{self.geo_name}'.{did_you_mean(name, names)} "
            f"Geos: {shown}. Fix: use one of these names."
        )

    def geo(self, name: str) -> Dataset:
        """The rows of one geo as a national `Dataset` (T rows), ready to fit on its own."""
        g = self.index_of(name)
        note = f"geo '{self.geos[g]}' of '{self.geo_name}' ({self.n_geos} geos)."
        return self._dataset(self._roles_at(g), (*self.notes, note))

    def select(self, names: Sequence[str]) -> Panel:
        """The panel of the geos ``names`` (in that order)."""
        if isinstance(names, str):
            names = [names]
        idx = [self.index_of(n) for n in names]
        if not idx:
            raise DataError("select() needs at least one geo name. Fix: pass a list of geos.")
        dup = sorted({self.geos[i] for i in idx if idx.count(i) > 1})
        if dup:
            raise DataError(f"select() names geo '{dup[0]}' more than once. Fix: name it once.")
        kept = {self.geos[i] for i in idx}
        arrays = {k: _frozen(getattr(self, k)[idx]) for k in ("kpi", "spend", "media",
                  "controls", *ROLE_ARRAYS)}  # fmt: skip
        return replace(
            self,
            geos=tuple(self.geos[i] for i in idx),
            population=None if self.population is None else _frozen(self.population[idx]),
            notes=(*self.notes, f"selected {len(idx)} of {self.n_geos} geos."),
            warnings=tuple(w for w in self.warnings if _warned_geo(w) in kept),
            **arrays,
        )

    def national(self) -> Dataset:
        """National data as a `Dataset`: the one geo of a one-geo panel, as it is (the
        inverse of `from_dataset`); with several geos, `rollup`."""
        if self.n_geos == 1:
            return self._dataset(self._roles_at(0), self.notes)
        return self.rollup()

    def rollup(self, sum_controls: Sequence[str] = ()) -> Dataset:
        """The national table (T rows) as a `Dataset`.

        KPI, spend and activity are summed over the geos (they are totals: national sales
        are the sum of regional sales). Controls are averaged over the geos, weighted by
        population when the panel has one: a control such as price, temperature or a
        sentiment score is a level, and the national level is the population's average
        (a plain mean would let a small geo count as much as a large one). Controls named in
        ``sum_controls`` are totals (e.g. competitor sales) and are summed instead.

        The roles: organic activity, reach and reach-and-frequency spend are summed,
        non-media treatments averaged as the controls are, and a channel's national frequency
        is its impressions over its reach (``sum(reach x frequency) / sum(reach)``). The
        `Dataset` lists each reach-and-frequency channel as a paid channel whose activity is
        its impressions (column ``<name>_impressions``, reach x frequency), and keeps the
        organic, non-media, reach and frequency columns in its frame (they are not roles of
        the national model); `rollup_panel` is the same as a one-geo `Panel` with its roles.
        """
        arrays, note = self._rolled(sum_controls)
        return self._dataset(arrays, (*self.notes, note))

    def rollup_panel(self, sum_controls: Sequence[str] = ()) -> Panel:
        """The national totals as a one-geo `Panel` named ``"national"`` with every role
        (summed and averaged as `rollup` says); population is dropped (one geo)."""
        if self.n_geos == 1:
            return replace(self, population=None, population_name=None)
        arrays, note = self._rolled(sum_controls)
        return replace(
            self,
            geos=(NATIONAL,),
            population=None,
            population_name=None,
            notes=(*self.notes, note),
            warnings=(),
            **{k: _frozen(a[None]) for k, a in arrays.items()},
        )

    def _rolled(self, sum_controls: Sequence[str]) -> tuple[dict[str, np.ndarray], str]:
        """The national arrays (each (T, n), KPI (T,)) and the note that says how."""
        unknown = [k for k in sum_controls if k not in self.control_names]
        if unknown:
            raise DataError(
                f"sum_controls names '{unknown[0]}', which is not a control of the panel."
                f"{did_you_mean(unknown[0], self.control_names)} Controls: "
                f"{', '.join(self.control_names) or 'none'}. Fix: name controls of the panel."
            )
        if self.population is not None:
            w = self.population / self.population.sum()
            how = "population-weighted"
        else:
            w = np.full(self.n_geos, 1.0 / self.n_geos)
            how = "equal-weight"
        ctrl = np.einsum("g,gtk->tk", w, self.controls)
        for k, name in enumerate(self.control_names):
            if name in sum_controls:
                ctrl[:, k] = self.controls[:, :, k].sum(axis=0)
        reach = self.reach.sum(axis=0)
        impressions = (self.reach * self.frequency).sum(axis=0)
        freq = np.divide(impressions, reach, out=np.zeros_like(reach), where=reach > 0)
        arrays = {
            "kpi": self.kpi.sum(axis=0),
            "spend": self.spend.sum(axis=0),
            "media": self.media.sum(axis=0),
            "controls": ctrl,
            "organic": self.organic.sum(axis=0),
            "non_media": np.einsum("g,gtk->tk", w, self.non_media),
            "reach": reach,
            "frequency": freq,
            "rf_spend": self.rf_spend.sum(axis=0),
        }
        avg = [k for k in self.control_names if k not in sum_controls]
        what = f"; controls {how} averages" if avg else ""
        what += f", {', '.join(sum_controls)} summed" if sum_controls else ""
        if self.organic_names:
            what += "; organic activity summed"
        if self.non_media_names:
            what += f"; non-media treatments {how} averages"
        if self.rf_channels:
            what += "; reach summed, frequency = impressions / reach"
        note = (
            f"rolled up {self.n_geos} geos of '{self.geo_name}' to national totals "
            f"(KPI, spend and activity summed{what})."
        )
        return arrays, note

    def _roles_at(self, g: int) -> dict[str, np.ndarray]:
        """The arrays of geo ``g`` (each (T, n), KPI (T,))."""
        return {k: getattr(self, k)[g] for k in ("kpi", "spend", "media", "controls",
                *ROLE_ARRAYS)}  # fmt: skip

    def _dataset(self, a: Mapping[str, np.ndarray], notes: tuple[str, ...]) -> Dataset:
        """A national `Dataset` with this panel's columns from the arrays ``a``: ``kpi (T,)``,
        ``spend`` and ``media (T, C)``, ``controls (T, K)`` and the roles (T, n). A
        reach-and-frequency channel is a paid channel whose activity is its impressions
        (``<name>_impressions``); the other role columns ride along in the frame."""
        cols: dict[str, Any] = {self.date_name: self.dates, self.kpi_name: a["kpi"]}
        for c, ch in enumerate(self.channels):
            cols[ch.spend] = a["spend"][:, c]
            if ch.activity:
                cols[ch.activity] = a["media"][:, c]
        for k, name in enumerate(self.control_names):
            cols[name] = a["controls"][:, k]
        channels = list(self.channels)
        for r, rf in enumerate(self.rf_channels):
            imp = _free_name(f"{rf.name}_impressions", self._columns())
            cols[rf.spend] = a["rf_spend"][:, r]
            cols[imp] = a["reach"][:, r] * a["frequency"][:, r]
            channels.append(ChannelSpec(name=rf.name, spend=rf.spend, activity=imp))
        for o, name in enumerate(self.organic_names):
            cols[name] = a["organic"][:, o]
        for n, name in enumerate(self.non_media_names):
            cols[name] = a["non_media"][:, n]
        for r, rf in enumerate(self.rf_channels):
            cols[rf.reach] = a["reach"][:, r]
            cols[rf.frequency] = a["frequency"][:, r]
        spec = DataSpec(
            date=self.date_name,
            kpi=self.kpi_name,
            channels=tuple(channels),
            controls=self.control_names,
        )
        frame = pd.DataFrame(cols).reset_index(drop=True)
        return Dataset(frame=frame, spec=spec, freq=self.freq, notes=tuple(notes))

    def _columns(self) -> set[str]:
        """Every source column of the panel."""
        cols = {self.date_name, self.kpi_name, self.geo_name, *self.control_names,
                *self.organic_names, *self.non_media_names}  # fmt: skip
        for ch in self.channels:
            cols |= {ch.spend, ch.activity} - {None}
        for rf in self.rf_channels:
            cols |= {rf.reach, rf.frequency, rf.spend}
        return cols

    def to_frame(self) -> pd.DataFrame:
        """The long table back (G x T rows, geo then date): geo, date, KPI, spend, activity,
        controls, the roles' columns and population."""
        G, T = self.n_geos, self.n_periods
        cols: dict[str, Any] = {
            self.geo_name: np.repeat(np.asarray(self.geos, dtype=object), T),
            self.date_name: np.tile(self.dates.to_numpy(), G),
            self.kpi_name: self.kpi.reshape(-1),
        }
        for c, ch in enumerate(self.channels):
            cols[ch.spend] = self.spend[:, :, c].reshape(-1)
            if ch.activity:
                cols[ch.activity] = self.media[:, :, c].reshape(-1)
        for k, name in enumerate(self.control_names):
            cols[name] = self.controls[:, :, k].reshape(-1)
        for o, name in enumerate(self.organic_names):
            cols[name] = self.organic[:, :, o].reshape(-1)
        for n, name in enumerate(self.non_media_names):
            cols[name] = self.non_media[:, :, n].reshape(-1)
        for r, rf in enumerate(self.rf_channels):
            cols[rf.reach] = self.reach[:, :, r].reshape(-1)
            cols[rf.frequency] = self.frequency[:, :, r].reshape(-1)
            cols[rf.spend] = self.rf_spend[:, :, r].reshape(-1)
        if self.population is not None:
            cols[self.population_name or "population"] = np.repeat(self.population, T)
        return pd.DataFrame(cols)

    def per_geo(self) -> list[dict[str, Any]]:
        """One plain-data row per geo: rows, KPI total, spend per channel (paid, then
        reach-and-frequency), population and the number of warnings (used by
        `mediamix check`)."""
        out = []
        for g, name in enumerate(self.geos):
            out.append(
                {
                    "geo": name,
                    "rows": self.n_periods,
                    "kpi": float(self.kpi[g].sum()),
                    "spend": {
                        **{
                            ch.name: float(self.spend[g, :, c].sum())
                            for c, ch in enumerate(self.channels)
                        },
                        **{
                            rf.name: float(self.rf_spend[g, :, r].sum())
                            for r, rf in enumerate(self.rf_channels)
                        },
                    },  # fmt: skip
                    "population": None if self.population is None else float(self.population[g]),
                    "warnings": sum(_warned_geo(w) == name for w in self.warnings),
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-data description of the panel (used by `mediamix check --format json`)."""
        return {
            "geos": self.n_geos,
            "geo": self.geo_name,
            "population": self.population_name,
            "periods": self.n_periods,
            "rows": self.n_geos * self.n_periods,
            "start": self.dates.min().strftime("%Y-%m-%d"),
            "end": self.dates.max().strftime("%Y-%m-%d"),
            "freq": self.freq,
            "kpi": self.kpi_name,
            "channels": [
                {"name": c.name, "spend": c.spend, "activity": c.activity} for c in self.channels
            ],
            "controls": list(self.control_names),
            "organic": list(self.organic_names),
            "non_media": list(self.non_media_names),
            "reach_frequency": {rf.name: rf.to_dict() for rf in self.rf_channels},
            "per_geo": self.per_geo(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        roles = "".join(
            f", {k}={list(names)}"
            for k, names in (("organic", self.organic_names),
                             ("non_media", self.non_media_names),
                             ("reach_frequency", self.rf_names))
            if names
        )  # fmt: skip
        return (
            f"Panel({self.n_geos} geos x {self.n_periods} {v.FREQ_NAMES[self.freq]} periods "
            f"{self.dates.min():%Y-%m-%d}..{self.dates.max():%Y-%m-%d}, kpi={self.kpi_name!r}, "
            f"channels={self.channel_names}, controls={list(self.control_names)}{roles}, "
            f"population={self.population_name!r})"
        )


def _listed(value: Any) -> list[str] | None:
    """Column names from one name or a sequence (None stays None)."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, ... when a column of that name exists."""
    out, i = name, 1
    while out in taken:
        i += 1
        out = f"{name}_{i}"
    return out


def _warned_geo(warning: str) -> str | None:
    """The geo a warning of `Panel.warnings` is about (they start with ``geo '<name>'``)."""
    if warning.startswith("geo '"):
        return warning[5:].split("'", 1)[0]
    return None


def load_panel(
    source: str | Path | None,
    section: Mapping[str, Any] | DataConfig | None = None,
    *,
    base_dir: str | Path | None = None,
    where: str = "data",
    frame: pd.DataFrame | None = None,
    **overrides: Any,
) -> tuple[Panel, list[str]]:
    """The panel a config's ``data:`` section (with ``geo:`` or the roles ``organic``,
    ``non_media``, ``reach_frequency``) and command-line values describe, as
    `mediamix.data.load_dataset` does for national data (a ``kpi_value`` column values the
    KPI per row, as there: `mediamix.data.dataset.value_kpi`). ``overrides``: ``date``,
    ``kpi``, ``kpi_value``, ``channels``, ``controls``, ``geo``, ``population``, ``organic``,
    ``non_media``, ``reach_frequency``, ``query``, ``date_format``, ``decimal``. Without
    ``geo`` the table is national (one row per period) and the panel has one geo,
    ``"national"``: the same checks, the same arrays. ``frame``: the table itself (instead
    of the section's path or SQL, or ``source``). Returns ``(panel, event_columns)``."""
    cfg = DataConfig.parse(section, where).override(source, **overrides)
    if frame is None:
        cfg.require(where, panel=True)
        frame, ctrls, events = cfg.read_with_events(base_dir, where)
    else:
        replace(cfg, path="<table>", sql=None).require(where, panel=True)
        ctrls, events = list(cfg.controls), []
        if cfg.events_column:
            at = f"{where}.events_column" if where else "events_column"
            frame, ctrls = expand_events(frame, cfg.events_column, ctrls, where=at)
            events = ctrls[len(cfg.controls) :]
    national = not cfg.geo
    if national:
        frame = frame.assign(**{_NATIONAL_COL: NATIONAL})
    panel = _validate_panel(
        frame,
        cfg.geo or _NATIONAL_COL,
        cfg.date,
        cfg.kpi,
        list(cfg.channels),
        ctrls,
        cfg.population,
        cfg.n_params,
        cfg.date_format,
        cfg.decimal or frame.attrs.get("decimal"),
        geo_label="geo" if national else None,
        roles=cfg,
        national=national,
    )
    return panel, events


# ---- validation ---------------------------------------------------------------------------
def _validate_panel(
    frame: pd.DataFrame,
    geo: str,
    date: str,
    kpi: str,
    channels: Sequence[Any],
    controls: Sequence[str] | None,
    population: str | None,
    n_params: int | None,
    date_format: str | None,
    decimal: str | None,
    geo_label: str | None = None,
    notes: Sequence[str] = (),
    roles: DataConfig | None = None,
    national: bool = False,
) -> Panel:
    """Every check in order; the sorted panel. Rows in messages are the input's rows.
    ``roles``: the organic, non-media and reach-and-frequency columns and the KPI value
    column (a `DataConfig`);
    ``national``: the table has no geo column (one geo; messages name no geo, and repeated
    dates get the national advice)."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}.")
    extra = roles or DataConfig()
    organic, non_media, rfs = extra.organic, extra.non_media, extra.reach_frequency
    if not list(channels) and rfs:  # reach-and-frequency channels only
        spec = DataSpec(date=str(date), kpi=str(kpi), channels=(),
                        controls=tuple(str(c) for c in controls or ()), geo=geo)  # fmt: skip
    else:
        spec = DataSpec.build(date, kpi, channels, controls, geo)
    if national:
        spec = replace(spec, geo=None)
    roles = spec.roles()

    def take(col: str, role: str) -> None:
        if col in roles:
            raise SpecError(
                f"column '{col}' is given as {role} and as {roles[col]}. Fix: use each column once."
            )
        roles[col] = role

    if national:
        roles[geo] = "geo"
    if population:
        take(population, "population")
    for col in organic:
        take(col, f"organic activity '{col}'")
    for col in non_media:
        take(col, f"non-media treatment '{col}'")
    for rf in rfs:
        for col, role in rf.columns().items():
            take(col, role)
    if extra.kpi_value:
        take(extra.kpi_value, kpi_value_role(spec.kpi))
    _check_names(spec, organic, non_media, rfs)
    geo_label = geo_label or geo
    decimal = decimal or frame.attrs.get("decimal")
    v.check_columns(frame, roles)
    if len(frame) == 0:
        raise DataError("the data have no rows. Fix: check the file or the SQL query.")
    frame = frame.reset_index(drop=True)
    notes = list(notes)

    raw_geo = frame[geo]
    blank = raw_geo.isna() | (raw_geo.astype(str).str.strip() == "")
    if blank.any():
        rows = list(np.flatnonzero(blank.to_numpy()) + 1)
        raise DataError(
            f"column '{geo_label}' (geo) has empty cells at {v._rows_text(rows)}. "
            "Fix: fill in the geo of every row."
        )
    if pd.api.types.is_numeric_dtype(raw_geo) and np.all(np.mod(raw_geo.to_numpy(float), 1) == 0):
        raw_geo = raw_geo.astype("int64")  # geo codes (DMA 501) read as numbers stay codes
    geos = raw_geo.astype(str).str.strip().reset_index(drop=True)
    at_geo = None if national else geos  # messages name the geo of a cell
    dates, style = v.parse_dates_with_format(frame, date, date_format)
    if style and not date_format:
        notes.append(f"dates in '{date}' read as {style}.")

    numeric: list[tuple[str, str]] = [(kpi, "KPI")]
    for c in spec.channels:
        numeric.append((c.spend, f"spend of channel '{c.name}'"))
        if c.activity:
            numeric.append((c.activity, f"activity of channel '{c.name}'"))
    numeric += [(k, "control") for k in spec.controls]
    numeric += [(col, roles[col]) for col in (*organic, *non_media)]
    for rf in rfs:
        numeric += list(rf.columns().items())
    values = {
        col: v.to_numeric(frame, col, role, dates, decimal=decimal, geos=at_geo)
        for col, role in numeric
    }
    if extra.kpi_value:
        values[kpi], note = value_kpi(
            values[kpi], frame, kpi, extra.kpi_value, dates, at_geo, decimal
        )
        notes.append(note)
    for c in spec.channels:
        v.check_nonnegative(values[c.spend], c.spend, f"spend of '{c.name}'", dates, at_geo)
        if c.activity:
            v.check_nonnegative(
                values[c.activity], c.activity, f"activity of '{c.name}'", dates, at_geo
            )
    for col in organic:
        v.check_nonnegative(values[col], col, roles[col], dates, at_geo)
    for rf in rfs:
        v.check_nonnegative(values[rf.spend], rf.spend, roles[rf.spend], dates, at_geo)
        _check_reach_frequency(rf, values[rf.reach], values[rf.frequency], dates, at_geo)
    pop_values = None
    if population:
        pop_values = _population(frame, population, geos, geo_label, dates, decimal)
    if national:
        v.check_duplicate_dates(dates, date, None, frame=frame, used=list(roles))
    else:
        v.check_duplicate_dates(dates, date, geos)

    # sort: geos in order of first appearance, dates within each geo
    order_geo = list(pd.unique(geos))
    rank = geos.map({g: i for i, g in enumerate(order_geo)}).to_numpy()
    order = np.lexsort((dates.to_numpy(), rank))
    if not np.array_equal(order, np.arange(len(order))):
        notes.append(
            f"rows sorted by '{date}'."
            if national
            else f"rows sorted by '{geo_label}' (in order of first appearance) and '{date}'."
        )
    rows = order + 1  # 1-based input rows in sorted order
    s_geo = geos.to_numpy()[order]
    s_dates = pd.Series(dates.to_numpy()[order])
    all_dates = pd.Series(np.sort(pd.unique(s_dates.to_numpy())))
    bounds = np.flatnonzero(np.r_[True, s_geo[1:] != s_geo[:-1], True])
    spans = {s_geo[a]: (a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)}
    longest = max(order_geo, key=lambda g: spans[g][1] - spans[g][0])
    freq = v.infer_freq(s_dates.iloc[slice(*spans[longest])].reset_index(drop=True), date)
    for g in order_geo:
        a, b = spans[g]
        v.check_regular(
            s_dates.iloc[a:b].reset_index(drop=True),
            date,
            freq,
            rows[a:b],
            geo=None if national else f"geo '{g}' (column '{geo_label}')",
        )
    if n_params is None:
        n_params = v.estimate_n_params(
            len(spec.channels) + len(rfs) + len(organic), len(spec.controls) + len(non_media)
        )
    need = v.min_rows_required(int(n_params))
    T = len(all_dates)
    if len(order_geo) > 2:  # periods most geos lack: blame the geo that has them
        having = pd.Series(s_dates.to_numpy()).value_counts()
        extra = having[having < len(order_geo) / 2]
        if len(extra):
            first_extra = extra.index.min()
            i = int(np.flatnonzero(s_dates.to_numpy() == first_extra.to_datetime64())[0])
            g, n_extra = s_geo[i], int(extra.count())
            shown = ", ".join(f"{d:%Y-%m-%d}" for d in sorted(extra.index)[:5])
            raise DataError(
                f"geo '{g}' (column '{geo_label}') has period(s) that most geos lack: "
                f"{shown}{' and more' if n_extra > 5 else ''} ({n_extra} period(s), first at "
                f"row {rows[i]}; each is in at most {int(extra.max())} of {len(order_geo)} "
                f"geos). Fix: give every geo the same dates: remove those rows, or add them to "
                "the other geos (with 0 spend where nothing ran); check that the geo's dates "
                "fall on the same weekday as the others'."
            )
    for g in order_geo:
        a, b = spans[g]
        n = b - a
        if n == T:
            continue
        first, last = s_dates.iloc[a], s_dates.iloc[b - 1]
        if n < need:
            raise DataError(
                f"geo '{g}' (column '{geo_label}') has only {n} row(s) ({first:%Y-%m-%d} .. "
                f"{last:%Y-%m-%d}, first at row {rows[a]}), but every geo needs the {T} "
                f"periods the panel covers ({all_dates.iloc[0]:%Y-%m-%d} .. "
                f"{all_dates.iloc[-1]:%Y-%m-%d}), and at least max(20, 3 x parameters) = "
                f"{need} periods, because each geo's baseline (intercept, trend, seasonality) "
                f"is estimated from its own rows. Fix: add the missing rows of '{g}' (with 0 "
                f"spend where nothing ran), or leave the geo out (remove its rows, or "
                f"Panel.select)."
            )
        have = set(s_dates.iloc[a:b])
        missing = [d for d in all_dates if d not in have]
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(
            f"geo '{g}' (column '{geo_label}') is missing {len(missing)} period(s) that other "
            f"geos have: {shown}{more} (it covers {first:%Y-%m-%d} .. {last:%Y-%m-%d}; the "
            f"panel {all_dates.iloc[0]:%Y-%m-%d} .. {all_dates.iloc[-1]:%Y-%m-%d}). Fix: add "
            f"rows for those periods of '{g}' (with 0 spend where nothing ran), or give every "
            f"geo the same dates."
        )
    v.check_enough_rows(T, int(n_params), freq)

    G = len(order_geo)

    def cube(col: str) -> np.ndarray:
        return values[col][order].reshape(G, T)

    def role_cube(cols: Sequence[str]) -> np.ndarray:
        """(G, T, len(cols)) of the columns ``cols``."""
        if not cols:
            return np.zeros((G, T, 0), dtype=float)
        return np.stack([cube(c) for c in cols], axis=-1).reshape(G, T, len(cols))

    kpi_arr = cube(kpi)
    spend = role_cube([c.spend for c in spec.channels])
    media = role_cube([c.activity or c.spend for c in spec.channels])
    ctrl = role_cube(list(spec.controls))
    for c, ch in enumerate(spec.channels):
        v.check_channel_spends(spend[:, :, c].reshape(-1), ch.spend, ch.name, "spend")
        if ch.activity:
            v.check_channel_spends(media[:, :, c].reshape(-1), ch.activity, ch.name, "activity")
    v.check_kpi_varies(kpi_arr.reshape(-1), kpi)
    v.check_kpi_positive(kpi_arr.reshape(-1), kpi)

    org = role_cube(organic)
    nonm = role_cube(non_media)
    reach = role_cube([rf.reach for rf in rfs])
    freq_arr = role_cube([rf.frequency for rf in rfs])
    rf_spend = role_cube([rf.spend for rf in rfs])
    for o, col in enumerate(organic):
        v.check_channel_spends(org[:, :, o].reshape(-1), col, col, "organic activity")
    for n, col in enumerate(non_media):
        x = nonm[:, :, n]
        if np.ptp(x) == 0:
            raise DataError(
                f"non-media treatment '{col}': column '{col}' is {x.flat[0]:g} in all {x.size} "
                "rows, so its effect cannot be told apart from the baseline. Fix: remove it "
                "from non_media or check that the right column is used."
            )
    for r, rf in enumerate(rfs):
        v.check_channel_spends(rf_spend[:, :, r].reshape(-1), rf.spend, rf.name, "spend")
        v.check_channel_spends(reach[:, :, r].reshape(-1), rf.reach, rf.name, "reach")

    warnings: list[str] = []
    for g, name in enumerate(order_geo):
        for c, ch in enumerate(spec.channels):
            if not np.any(spend[g, :, c] > 0):
                warnings.append(
                    f"geo '{name}' never spends on channel '{ch.name}': column '{ch.spend}' "
                    f"(spend) is 0 in all {T} of its periods, so the channel's effect in "
                    f"'{name}' rests on the other geos (pooling). Fix, if the zeros are not "
                    f"real: check the geo's rows; else nothing to do."
                )
        for r, rf in enumerate(rfs):
            if not np.any(rf_spend[g, :, r] > 0):
                warnings.append(
                    f"geo '{name}' never spends on channel '{rf.name}': column '{rf.spend}' "
                    f"(spend) is 0 in all {T} of its periods, so the channel's effect in "
                    f"'{name}' rests on the other geos (pooling). Fix, if the zeros are not "
                    f"real: check the geo's rows; else nothing to do."
                )
    for k, name in enumerate(spec.controls):
        if np.ptp(ctrl[:, :, k]) == 0:
            notes.append(
                f"control '{name}' is constant; it cannot be told apart from the intercept. "
                "Fix: drop it from the controls."
            )
    if G > 1:
        notes.append(f"{G} geos in '{geo_label}', {T} {v.FREQ_NAMES[freq]} periods each.")
    pop = None
    if pop_values is not None:
        first_row = {g: int(np.flatnonzero((geos == g).to_numpy())[0]) for g in order_geo}
        pop = np.array([pop_values[first_row[g]] for g in order_geo], dtype=float)
    return Panel(
        geos=tuple(order_geo),
        dates=pd.DatetimeIndex(all_dates),
        kpi=_frozen(kpi_arr),
        spend=_frozen(spend),
        media=_frozen(media),
        controls=_frozen(ctrl),
        population=None if pop is None else _frozen(pop),
        channels=spec.channels,
        control_names=tuple(spec.controls),
        freq=freq,
        date_name=date,
        kpi_name=kpi,
        geo_name=geo_label,
        population_name=population,
        notes=tuple(notes),
        warnings=tuple(warnings),
        organic_names=tuple(organic),
        organic=_frozen(org),
        non_media_names=tuple(non_media),
        non_media=_frozen(nonm),
        rf_channels=tuple(rfs),
        reach=_frozen(reach),
        frequency=_frozen(freq_arr),
        rf_spend=_frozen(rf_spend),
    )


def _check_names(
    spec: DataSpec,
    organic: Sequence[str],
    non_media: Sequence[str],
    rfs: Sequence[RFChannel],
) -> None:
    """Every effect the model reports has its own name: paid, reach-and-frequency, organic
    and non-media names are distinct (they key the contributions)."""
    seen: dict[str, str] = {}
    named = [(c.name, "a paid channel") for c in spec.channels]
    named += [(rf.name, "a reach-and-frequency channel") for rf in rfs]
    named += [(c, "an organic channel") for c in organic]
    named += [(c, "a non-media treatment") for c in non_media]
    for name, what in named:
        if name in seen:
            raise SpecError(
                f"the name '{name}' is given to {seen[name]} and to {what}; every channel and "
                "treatment needs its own name (they key the contributions and ROAS). Fix: "
                "rename one of them (or list the column once)."
            )
        seen[name] = what


def _check_reach_frequency(
    rf: RFChannel,
    reach: np.ndarray,
    frequency: np.ndarray,
    dates: pd.Series,
    geos: pd.Series | None,
) -> None:
    """Reach (people reached, (N,)) is >= 0; frequency (exposures per person reached, (N,))
    is >= 1 where reach > 0 and >= 0 everywhere."""
    bad = np.flatnonzero(reach < 0)
    if bad.size:
        raise DataError(
            f"column '{rf.reach}' (reach of channel '{rf.name}') has a negative value "
            f"{reach[bad[0]]:g} at {v._cells_text(bad, dates, geos)}. Fix: reach is the number "
            "of people reached in the period (>= 0); correct the value, or write 0 for periods "
            "without delivery."
        )
    bad = np.flatnonzero(frequency < 0)
    if bad.size:
        raise DataError(
            f"column '{rf.frequency}' (frequency of channel '{rf.name}') has a negative value "
            f"{frequency[bad[0]]:g} at {v._cells_text(bad, dates, geos)}. Fix: frequency is the "
            "average number of exposures per person reached: >= 1 where reach > 0, and 0 where "
            "nobody was reached; correct the value."
        )
    bad = np.flatnonzero((reach > 0) & (frequency < 1))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"column '{rf.frequency}' (frequency of channel '{rf.name}') is {frequency[i]:g} at "
            f"{v._cells_text(bad, dates, geos)}, where its reach (column '{rf.reach}') is "
            f"{reach[i]:g} > 0: an average frequency is the exposures per person reached, so it "
            "is at least 1 whenever someone was reached. Fix: check the column (impressions / "
            "reach, not impressions / population), or write reach 0 for periods without "
            "delivery."
        )


def _population(
    frame: pd.DataFrame,
    col: str,
    geos: pd.Series,
    geo_label: str,
    dates: pd.Series,
    decimal: str | None,
) -> np.ndarray:
    """The population column, per row (N,): given for every row of every geo, positive,
    and one value per geo."""
    raw = frame[col].reset_index(drop=True)
    text = raw.astype(str).str.strip().str.lower()
    empty = (raw.isna() | (text == "") | text.isin(v.NA_TOKENS)).to_numpy()
    if empty.any():
        for g in pd.unique(geos):
            mine = (geos == g).to_numpy()
            gone = mine & empty
            if not gone.any():
                continue
            rows = np.flatnonzero(gone)
            if gone.sum() == mine.sum():
                raise DataError(
                    f"column '{col}' (population) is empty for geo '{g}' (column "
                    f"'{geo_label}'), in all {int(mine.sum())} of its rows (first at row "
                    f"{rows[0] + 1}). Fix: write the geo's population in every row of '{g}' "
                    f"(one number per geo), or leave population out for all geos."
                )
            ok = np.flatnonzero(mine & ~empty)
            raise DataError(
                f"column '{col}' (population) is missing for geo '{g}' (column "
                f"'{geo_label}') at {v._cells_text(rows, dates)}, while its other rows give "
                f"{raw.iloc[int(ok[0])]!r}. Fix: write the geo's population in every row of "
                f"'{g}' (the same number in each)."
            )
    values = v.to_numeric(frame, col, "population", dates, decimal=decimal, geos=geos)
    bad = values <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column '{col}' (population) is {values[i]:g} for geo '{geos.iloc[i]}' (column "
            f"'{geo_label}') at {v._cells_text(np.array([i]), dates)}; a population must be "
            "> 0 (KPI and media are scaled per person). Fix: write the geo's population (people "
            "or households), or leave population out."
        )
    for g in pd.unique(geos):
        idx = np.flatnonzero((geos == g).to_numpy())
        vals = values[idx]
        if np.ptp(vals) > 1e-9 * max(abs(vals).max(), 1.0):
            j = int(idx[np.flatnonzero(vals != vals[0])[0]])
            i = int(idx[0])
            raise DataError(
                f"column '{col}' (population) changes over time within geo '{g}' (column "
                f"'{geo_label}'): {values[i]:g} at row {i + 1} ({dates.iloc[i]:%Y-%m-%d}) but "
                f"{values[j]:g} at row {j + 1} ({dates.iloc[j]:%Y-%m-%d}); mediamix scales "
                "each geo by one population. Fix: write one population per geo in all of its "
                "rows (e.g. the latest census figure or the average)."
            )
    return values
