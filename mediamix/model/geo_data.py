"""The geo model's data in original units, and its scalers to model units.

`GeoData` holds a geo panel's arrays with geo on axis 0 and time on axis 1: ``kpi (G, T)``,
paid ``spend`` and ``media (G, T, C)``, ``controls (G, T, K)``, ``population (G,)`` (ones
when the panel has none), ``organic (G, T, O)`` (activity without spend), ``non_media
(G, T, N)`` (treatments that are not media: promotions, price), and the reach-and-frequency
channels' ``reach``, ``frequency`` and ``rf_spend (G, T, R)``. National data is the one-geo
case. `GeoScalers` (fitted on the training periods of every geo) are exactly invertible:

- KPI: per capita (divided by the geo's population), then by its mean per capita over every
  geo and training period;
- paid and organic media, and reach: per capita, then per channel by its mean non-zero value
  per capita over every geo and training period; frequency is used as it is;
- controls: standardised per control over every geo and training period (events: 0/1 as
  they are);
- non-media treatments: divided by their standard deviation, not centred, so a treatment's
  contribution is measured against the treatment at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediamix.data.scaling import Scaler
from mediamix.errors import DataError

#: the role arrays of a panel beside the paid media: (attribute, names attribute)
ROLE_ARRAYS = (
    ("organic", "organic_names"),
    ("non_media", "non_media_names"),
    ("reach", "rf_names"),
    ("frequency", "rf_names"),
    ("rf_spend", "rf_names"),
)
ARRAY_NAMES = ("kpi", "spend", "media", "controls", "population", "organic", "non_media",
               "reach", "frequency", "rf_spend")  # fmt: skip


def _cube(name: str, value: Any, G: int, T: int, n: int | None) -> np.ndarray:
    """A (G, T, n) float array (``n`` None: any last axis), or a clear error."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 2 and G == 1:
        a = a[None]
    if a.ndim != 3 or a.shape[:2] != (G, T) or (n is not None and a.shape[2] != n):
        want = f"({G}, {T}, {'n' if n is None else n})"
        raise DataError(
            f"{name}: expected an array of shape {want} (geos x periods x columns), got shape "
            f"{a.shape}"
        )
    if not np.all(np.isfinite(a)):
        g, t, c = (int(i[0]) for i in np.nonzero(~np.isfinite(a)))
        raise DataError(
            f"{name}: value {a[g, t, c]} in geo {g}, period {t}, column {c} is not a finite "
            "number; fill or drop it"
        )
    return a


def _names(given: Sequence[str] | None, n: int, prefix: str, what: str) -> tuple[str, ...]:
    names = tuple(str(x) for x in given) if given is not None else tuple(
        f"{prefix}_{i}" for i in range(n))  # fmt: skip
    if len(names) != n:
        raise DataError(f"{what}: {len(names)} names for {n} columns; give one name per column")
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise DataError(f"{what}: the name '{dup}' is used twice; give every column its own name")
    return names


@dataclass(frozen=True, eq=False)
class GeoData:
    """A geo panel's arrays in original units (module docstring for the shapes)."""

    geos: tuple[str, ...]
    dates: np.ndarray  # datetime64[ns], (T,)
    kpi: np.ndarray  # (G, T)
    spend: np.ndarray  # (G, T, C)
    media: np.ndarray  # (G, T, C)
    controls: np.ndarray  # (G, T, K)
    population: np.ndarray  # (G,)
    organic: np.ndarray  # (G, T, O)
    non_media: np.ndarray  # (G, T, N)
    reach: np.ndarray  # (G, T, R)
    frequency: np.ndarray  # (G, T, R)
    rf_spend: np.ndarray  # (G, T, R)
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    organic_names: tuple[str, ...]
    non_media_names: tuple[str, ...]
    rf_names: tuple[str, ...]
    freq: str = "W"
    #: whether the panel gave populations (else ``population`` is ones)
    has_population: bool = False

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        kpi,
        spend=None,
        media=None,
        controls=None,
        population=None,
        organic=None,
        non_media=None,
        reach=None,
        frequency=None,
        rf_spend=None,
        *,
        geos: Sequence[str] | None = None,
        dates=None,
        channel_names: Sequence[str] | None = None,
        control_names: Sequence[str] | None = None,
        organic_names: Sequence[str] | None = None,
        non_media_names: Sequence[str] | None = None,
        rf_names: Sequence[str] | None = None,
        freq: str = "W",
    ) -> GeoData:
        """From plain arrays (a ``(T,)`` KPI with ``(T, C)`` arrays is one geo); weekly dates
        from 2020-01-06 unless given. Every role is optional but the KPI."""
        y = np.asarray(kpi, dtype=float)
        if y.ndim == 1:
            y = y[None]
        if y.ndim != 2:
            raise DataError(f"kpi: expected shape (geos, periods), got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            g, t = (int(i[0]) for i in np.nonzero(~np.isfinite(y)))
            raise DataError(f"kpi: value {y[g, t]} in geo {g}, period {t} is not a finite number")
        G, T = y.shape

        def cube(name, value, n=None):
            if value is None:
                return np.zeros((G, T, 0 if n is None else n))
            return _cube(name, value, G, T, n)

        spend_a = cube("spend", spend)
        C = spend_a.shape[2]
        media_a = spend_a if media is None else cube("media", media, C)
        reach_a = cube("reach", reach)
        R = reach_a.shape[2]
        freq_a = cube("frequency", frequency, R)
        rfs_a = cube("rf_spend", rf_spend, R)
        for name, a in (("spend", spend_a), ("media", media_a), ("reach", reach_a),
                        ("frequency", freq_a), ("rf_spend", rfs_a)):  # fmt: skip
            if np.any(a < 0):
                g, t, c = (int(i[0]) for i in np.nonzero(a < 0))
                raise DataError(
                    f"{name}: value {a[g, t, c]} in geo {g}, period {t}, column {c} is "
                    "negative; spend, activity, reach and frequency are >= 0"
                )
        organic_a = cube("organic", organic)
        if np.any(organic_a < 0):
            raise DataError("organic: activity must be >= 0 (a negative value was found)")
        has_pop = population is not None
        pop = np.ones(G) if population is None else np.asarray(population, dtype=float)
        if pop.shape != (G,):
            raise DataError(f"population: expected one value per geo ({G},), got {pop.shape}")
        if not np.all(np.isfinite(pop) & (pop > 0)):
            g = int(np.nonzero(~(np.isfinite(pop) & (pop > 0)))[0][0])
            raise DataError(
                f"population: geo {g} has population {pop[g]}; every population must be a "
                "positive number"
            )
        if dates is None:
            step = {"W": 7, "D": 1}.get(freq, 30)
            dates = np.datetime64("2020-01-06") + np.arange(T) * np.timedelta64(step, "D")
        dates = np.asarray(dates, dtype="datetime64[ns]")
        if dates.shape != (T,):
            raise DataError(f"dates: expected {T} dates, got shape {dates.shape}")
        ctrl = cube("controls", controls)
        nm = cube("non_media", non_media)
        return cls(
            geos=_names(geos, G, "geo", "geos"),
            dates=dates,
            kpi=y,
            spend=spend_a,
            media=media_a,
            controls=ctrl,
            population=pop,
            organic=organic_a,
            non_media=nm,
            reach=reach_a,
            frequency=freq_a,
            rf_spend=rfs_a,
            channel_names=_names(channel_names, C, "channel", "channel_names"),
            control_names=_names(control_names, ctrl.shape[2], "control", "control_names"),
            organic_names=_names(organic_names, organic_a.shape[2], "organic", "organic_names"),
            non_media_names=_names(non_media_names, nm.shape[2], "non_media", "non_media_names"),
            rf_names=_names(rf_names, R, "rf", "rf_names"),
            freq=str(freq)[:1].upper(),
            has_population=has_pop,
        )

    @classmethod
    def from_panel(cls, panel: Any) -> GeoData:
        """From a `mediamix.data.panel.Panel` (role arrays read with ``getattr``, empty when
        the panel has none), or anything with the same attributes."""
        if isinstance(panel, GeoData):
            return panel
        G, T = np.shape(panel.kpi)
        kw: dict[str, Any] = {}
        for attr, names in ROLE_ARRAYS:
            arr = getattr(panel, attr, None)
            kw[attr] = None if arr is None or np.size(arr) == 0 else arr
            kw[names] = tuple(getattr(panel, names, None) or ())
        n_rf = len(kw["rf_names"])
        if n_rf == 0:
            kw["reach"] = kw["frequency"] = kw["rf_spend"] = None
        return cls.from_arrays(
            panel.kpi,
            panel.spend,
            panel.media,
            panel.controls,
            getattr(panel, "population", None),
            kw["organic"],
            kw["non_media"],
            kw["reach"],
            kw["frequency"],
            kw["rf_spend"],
            geos=list(panel.geos),
            dates=np.asarray(panel.dates, dtype="datetime64[ns]"),
            channel_names=list(panel.channel_names),
            control_names=list(panel.control_names),
            organic_names=kw["organic_names"] if kw["organic"] is not None else (),
            non_media_names=kw["non_media_names"] if kw["non_media"] is not None else (),
            rf_names=kw["rf_names"] if n_rf else (),
            freq=str(panel.freq),
        )

    # ---- sizes and derived arrays -------------------------------------------------------
    @property
    def n_geos(self) -> int:
        return int(self.kpi.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.kpi.shape[1])

    @property
    def media_names(self) -> tuple[str, ...]:
        """The channels with spend: paid, then reach-and-frequency."""
        return self.channel_names + self.rf_names

    @property
    def media_spend(self) -> np.ndarray:
        """Spend of `media_names`, (G, T, C + R)."""
        return np.concatenate([self.spend, self.rf_spend], axis=2)

    @property
    def cost_per_unit(self) -> np.ndarray:
        """Spend per unit of paid activity per geo and channel, (G, C): the geo's own ratio
        over all periods, else the channel's national one, else 1."""
        return _ratio(self.spend.sum(1), self.media.sum(1))

    @property
    def cost_per_impression(self) -> np.ndarray:
        """Spend per impression (reach x frequency) per geo and rf channel, (G, R)."""
        return _ratio(self.rf_spend.sum(1), (self.reach * self.frequency).sum(1))

    @property
    def mean_frequency(self) -> np.ndarray:
        """Mean frequency over the periods with reach, per geo and rf channel, (G, R)
        (the channel's mean over every geo where a geo has none; 1 when there is none)."""
        on = self.reach > 0
        tot = np.where(on, self.frequency, 0.0).sum(1)
        n = on.sum(1)
        nat = np.where(n.sum(0) > 0, tot.sum(0) / np.maximum(n.sum(0), 1), 1.0)
        return np.where(n > 0, tot / np.maximum(n, 1), nat[None, :])

    # ---- persistence ----------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the saved model's ``data.npz``: the geo arrays under ``geo_<name>``,
        and national totals under the keys every saved model has (``kpi (T,)``, ``spend
        (T, C + R)``, ``dates``), so readers of the national layout see the totals."""
        out = {f"geo_{k}": np.asarray(getattr(self, k)) for k in ARRAY_NAMES}
        out["dates"] = self.dates.astype("datetime64[ns]").astype(np.int64)
        out["kpi"] = self.kpi.sum(0)
        out["spend"] = self.media_spend.sum(0)
        return out

    def meta(self) -> dict[str, Any]:
        return {
            "geos": list(self.geos),
            "channel_names": list(self.channel_names),
            "control_names": list(self.control_names),
            "organic_names": list(self.organic_names),
            "non_media_names": list(self.non_media_names),
            "rf_names": list(self.rf_names),
            "freq": self.freq,
            "has_population": self.has_population,
        }

    @classmethod
    def from_saved(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> GeoData:
        a = {k: np.asarray(arrays[f"geo_{k}"], dtype=float) for k in ARRAY_NAMES}
        return cls(
            geos=tuple(meta["geos"]),
            dates=np.asarray(arrays["dates"]).astype("datetime64[ns]"),
            channel_names=tuple(meta["channel_names"]),
            control_names=tuple(meta["control_names"]),
            organic_names=tuple(meta["organic_names"]),
            non_media_names=tuple(meta["non_media_names"]),
            rf_names=tuple(meta["rf_names"]),
            freq=meta["freq"],
            has_population=bool(meta.get("has_population", False)),
            **a,
        )

    def __repr__(self) -> str:
        return (
            f"GeoData({self.n_geos} geos x {self.n_periods} periods, paid "
            f"{list(self.channel_names)}, rf {list(self.rf_names)}, organic "
            f"{list(self.organic_names)}, non-media {list(self.non_media_names)})"
        )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` per (geo, channel), the national ratio where a geo has none, else 1."""
    nat = np.where(den.sum(0) > 0, num.sum(0) / np.where(den.sum(0) > 0, den.sum(0), 1.0), 1.0)
    own = num / np.where(den > 0, den, 1.0)
    out = np.where((den > 0) & (num > 0), own, nat[None, :])
    return np.where(np.isfinite(out) & (out > 0), out, 1.0)


@dataclass(frozen=True, eq=False)
class GeoScalers:
    """KPI, media (paid then organic), reach, control and non-media scalers (module doc)."""

    kpi: Scaler  # per-capita KPI
    media: Scaler  # per-capita activity of paid then organic channels, (C + O,)
    reach: Scaler  # per-capita reach, (R,)
    controls: Scaler  # (K,)
    non_media: Scaler  # (N,), loc 0

    @classmethod
    def fit(cls, data: GeoData, n_train: int, events: Sequence[str] = ()) -> GeoScalers:
        n = int(n_train)
        pop = data.population[:, None]

        def flat(a):  # (G, T, n) training periods -> (G * n_train, n)
            return a[:, :n].reshape(a.shape[0] * min(n, a.shape[1]), a.shape[2])

        kpi = Scaler.fit((data.kpi / pop)[:, :n].reshape(-1), "mean")
        act = np.concatenate([data.media, data.organic], axis=2) / pop[..., None]
        media = Scaler.fit(flat(act), "mean_nonzero")
        reach = Scaler.fit(flat(data.reach / pop[..., None]), "mean_nonzero")
        ctrl = Scaler.fit(flat(data.controls), "standard")
        if data.controls.shape[2]:
            ev = np.isin(np.asarray(data.control_names), list(events))
            ctrl = Scaler("standard", np.where(ev, 0.0, ctrl.loc), np.where(ev, 1.0, ctrl.scale))
        sd = flat(data.non_media).std(axis=0) if data.non_media.shape[2] else np.zeros(0)
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        non_media = Scaler("standard", np.zeros_like(sd), sd)
        return cls(kpi, media, reach, ctrl, non_media)

    @property
    def kpi_scale(self) -> float:
        return float(np.asarray(self.kpi.scale).reshape(-1)[0])

    @property
    def media_scale(self) -> np.ndarray:
        """Per-capita activity per unit of scaled media, paid then organic, (C + O,)."""
        return np.asarray(self.media.scale, dtype=float).reshape(-1)

    @property
    def reach_scale(self) -> np.ndarray:
        return np.asarray(self.reach.scale, dtype=float).reshape(-1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "geo",
            **{
                k: getattr(self, k).to_dict()
                for k in ("kpi", "media", "reach", "controls", "non_media")
            },  # fmt: skip
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GeoScalers:
        return cls(*(Scaler.from_dict(d[k]) for k in ("kpi", "media", "reach", "controls",
                                                      "non_media")))  # fmt: skip
