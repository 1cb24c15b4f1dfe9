"""Uploaded data: which columns mean what, and the CSV read and checked by the data layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediamix.errors import DataError, SpecError

DATA_FILE = "data.csv"  # the upload, kept in the run's server-named folder


@dataclass(frozen=True)
class Columns:
    """Which columns of the upload are the date, the KPI, the channels and the controls."""

    date: str
    kpi: str
    channels: tuple[str, ...]
    controls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Columns:
        def names(value: Any, what: str) -> tuple[str, ...]:
            if value is None:
                return ()
            if isinstance(value, str):
                value = value.split(",")
            out = tuple(str(v).strip() for v in value if str(v).strip())
            if len(set(out)) != len(out):
                raise SpecError(f"{what} lists a column twice: {list(out)}")
            return out

        date = str(d.get("date") or "").strip()
        kpi = str(d.get("kpi") or "").strip()
        if not date:
            raise SpecError("name the date column ('date'), e.g. date=week")
        if not kpi:
            raise SpecError("name the KPI column ('kpi'), e.g. kpi=sales")
        channels = names(d.get("channels"), "channels")
        if not channels:
            raise SpecError("name at least one channel column ('channels'), e.g. tv,search")
        return cls(date, kpi, channels, names(d.get("controls"), "controls"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "kpi": self.kpi,
            "channels": list(self.channels),
            "controls": list(self.controls),
        }


def read_csv(csv_bytes: bytes):
    """The upload as a DataFrame, read by the data layer's one CSV reader
    (`mediamix.data.loaders.read_csv_bytes`), so an upload is read, accepted or refused
    exactly as the same file given to ``mediamix check`` or ``fit``."""
    from mediamix.data.loaders import read_csv_bytes

    if not csv_bytes.strip():
        raise DataError("the uploaded file is empty; upload a CSV with a header row")
    return read_csv_bytes(csv_bytes, "the upload")


def validate_upload(csv_bytes: bytes, columns: Columns):
    """Read and validate the upload with the data layer; returns the `Dataset`."""
    from mediamix.data import Dataset

    return Dataset.from_frame(
        read_csv(csv_bytes),
        date=columns.date,
        kpi=columns.kpi,
        channels=list(columns.channels),
        controls=list(columns.controls),
    )
