"""Invertible scalers: the model works on scaled numbers, users read original units.

A `Scaler` is the affine map ``z = (x - loc) / scale`` per column, with inverse
``x = z * scale + loc``. ``loc`` and ``scale`` are stored, so the inverse is exact up to
floating-point rounding (relative error of a few ulp) and persists through `to_dict` /
`from_dict`. Methods:

- ``mean_nonzero`` (media default): ``scale`` = mean over periods where the column is > 0;
- ``mean`` (KPI default): ``scale`` = mean;
- ``max``: ``scale`` = max |x| (MaxAbs);
- ``standard`` (controls default): ``loc`` = mean, ``scale`` = standard deviation;
- ``identity``: no change.

A zero scale (column all zero, or constant for ``standard``) falls back to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mediamix.errors import SpecError

METHODS = ("mean_nonzero", "mean", "max", "standard", "identity")


@dataclass(frozen=True, eq=False)
class Scaler:
    """``z = (x - loc) / scale``; ``loc`` and ``scale`` broadcast over the last axis."""

    method: str
    loc: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, method: str = "mean_nonzero") -> Scaler:
        """Fit on ``x`` of shape (T,) or (T, C) (statistics over axis 0)."""
        if method not in METHODS:
            raise SpecError(f"unknown scaling method '{method}'; known: {', '.join(METHODS)}.")
        x = np.asarray(x, dtype=float)
        shape = x.shape[1:]
        loc = np.zeros(shape)
        if method == "identity":
            scale = np.ones(shape)
        elif method == "mean":
            scale = x.mean(axis=0)
        elif method == "max":
            scale = np.abs(x).max(axis=0)
        elif method == "standard":
            loc = x.mean(axis=0)
            scale = x.std(axis=0)
        else:
            nz = x > 0
            cnt = nz.sum(axis=0)
            scale = np.where(cnt > 0, np.where(nz, x, 0.0).sum(axis=0) / np.maximum(cnt, 1), 1.0)
        scale = np.where(np.isfinite(scale) & (scale != 0), scale, 1.0)
        return cls(method, np.asarray(loc, dtype=float), np.asarray(scale, dtype=float))

    def transform(self, x: Any) -> np.ndarray:
        """Original units -> model units."""
        return (np.asarray(x, dtype=float) - self.loc) / self.scale

    def inverse(self, z: Any) -> np.ndarray:
        """Model units -> original units."""
        return np.asarray(z, dtype=float) * self.scale + self.loc

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "loc": self.loc.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scaler:
        return cls(d["method"], np.asarray(d["loc"], dtype=float), np.asarray(d["scale"], float))
