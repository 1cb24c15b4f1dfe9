"""The data the model needs, in original units, and the scalers to model units.

``ModelData`` holds a dataset's arrays (time on axis 0: ``kpi (T,)``, ``spend (T, C)``,
``media (T, C)``, ``controls (T, K)``); ``ModelScalers`` (KPI, media, controls) are fitted on the
training periods and are exactly invertible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mediamix.data.scaling import Scaler
from mediamix.errors import DataError
from mediamix.model.spec import ModelSpec


@dataclass(frozen=True, eq=False)
class ModelData:
    """What the model needs from a dataset, in original units (time on axis 0)."""

    dates: np.ndarray  # datetime64[ns], (T,)
    kpi: np.ndarray  # (T,)
    spend: np.ndarray  # (T, C)
    media: np.ndarray  # (T, C) activity, or spend
    controls: np.ndarray  # (T, K)
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    cost_per_unit: np.ndarray  # (C,) spend per unit of media
    freq: str = "W"

    @classmethod
    def from_dataset(cls, ds: Any) -> ModelData:
        """From a `mediamix.data.Dataset` (or anything with the same attributes)."""
        if isinstance(ds, ModelData):
            return ds
        if getattr(ds, "geos", None):
            raise DataError(
                "the national model takes one row per period, and this dataset has a geo "
                "column: fit the geo model (`mediamix.estimator.GeoMMM().fit(panel)`, or "
                "`mediamix fit DATA --geo COL`), or the national roll-up "
                "(`dataset.national()`, `mediamix check DATA --geo COL --write national.csv`)"
            )
        spend = np.asarray(ds.spend, dtype=float)
        media = np.asarray(ds.media, dtype=float)
        cpu = np.asarray(ds.cost_per_unit, dtype=float)
        cpu = np.where(np.isfinite(cpu) & (cpu > 0), cpu, 1.0)
        return cls(
            dates=np.asarray(ds.dates, dtype="datetime64[ns]"),
            kpi=np.asarray(ds.kpi_values, dtype=float),
            spend=spend,
            media=media,
            controls=np.asarray(ds.control_values, dtype=float).reshape(len(spend), -1),
            channel_names=tuple(ds.channel_names),
            control_names=tuple(ds.control_names),
            cost_per_unit=cpu,
            freq=str(ds.freq)[:1].upper(),
        )

    @classmethod
    def from_arrays(
        cls,
        kpi,
        spend,
        media=None,
        controls=None,
        dates=None,
        channel_names=None,
        control_names=None,
        freq: str = "W",
    ) -> ModelData:
        """From plain arrays (weekly dates starting 2020-01-06 unless given)."""
        spend = np.asarray(spend, dtype=float)
        T, C = spend.shape
        media = spend if media is None else np.asarray(media, dtype=float)
        controls = np.zeros((T, 0)) if controls is None else np.asarray(controls, float)
        controls = controls.reshape(T, -1)
        if dates is None:
            step = {"W": 7, "D": 1}.get(freq, 30)
            dates = np.datetime64("2020-01-06") + np.arange(T) * np.timedelta64(step, "D")
        names = tuple(channel_names or [f"channel_{i}" for i in range(C)])
        cnames = tuple(control_names or [f"control_{i}" for i in range(controls.shape[1])])
        msum = media.sum(0)
        cpu = np.where(msum > 0, spend.sum(0) / np.where(msum > 0, msum, 1.0), 1.0)
        return cls(
            np.asarray(dates, dtype="datetime64[ns]"),
            np.asarray(kpi, dtype=float),
            spend,
            media,
            controls,
            names,
            cnames,
            cpu,
            freq,
        )

    @property
    def n_periods(self) -> int:
        return int(self.kpi.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "dates": self.dates.astype("datetime64[ns]").astype(np.int64),
            "kpi": self.kpi,
            "spend": self.spend,
            "media": self.media,
            "controls": self.controls,
            "cost_per_unit": self.cost_per_unit,
        }

    def meta(self) -> dict[str, Any]:
        return {
            "channel_names": list(self.channel_names),
            "control_names": list(self.control_names),
            "freq": self.freq,
        }

    @classmethod
    def from_saved(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ModelData:
        return cls(
            np.asarray(arrays["dates"]).astype("datetime64[ns]"),
            np.asarray(arrays["kpi"]),
            np.asarray(arrays["spend"]),
            np.asarray(arrays["media"]),
            np.asarray(arrays["controls"]).reshape(len(arrays["kpi"]), -1),
            tuple(meta["channel_names"]),
            tuple(meta["control_names"]),
            np.asarray(arrays["cost_per_unit"]),
            meta["freq"],
        )


@dataclass(frozen=True, eq=False)
class ModelScalers:
    """KPI, media and control scalers, fitted on the training periods."""

    kpi: Scaler
    media: Scaler
    controls: Scaler

    @classmethod
    def fit(cls, data: ModelData, spec: ModelSpec, n_train: int) -> ModelScalers:
        kpi = Scaler.fit(data.kpi[:n_train], "mean")
        media = Scaler.fit(data.media[:n_train], "mean_nonzero")
        ctrl = Scaler.fit(data.controls[:n_train], "standard")
        if data.controls.shape[1]:
            ev = np.isin(np.asarray(data.control_names), list(spec.events))
            loc = np.where(ev, 0.0, ctrl.loc)
            scale = np.where(ev, 1.0, ctrl.scale)
            ctrl = Scaler("standard", loc, scale)
        return cls(kpi, media, ctrl)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).to_dict() for k in ("kpi", "media", "controls")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelScalers:
        return cls(*(Scaler.from_dict(d[k]) for k in ("kpi", "media", "controls")))

    @property
    def kpi_scale(self) -> float:
        return float(np.asarray(self.kpi.scale).reshape(-1)[0])

    @property
    def media_scale(self) -> np.ndarray:
        return np.asarray(self.media.scale, dtype=float).reshape(-1)
