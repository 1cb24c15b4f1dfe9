"""Hashed one-hot features: one active index per categorical field.

A field value becomes the feature ``murmurhash3("field=value") mod 2^bits``, so a row of
``F`` fields is a vector of ``F`` indices into a weight table of size ``D = 2^bits``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mediamix.errors import DataError, SpecError


@dataclass(frozen=True)
class HashedOneHot:
    """Hash ``field=value`` pairs into ``2^n_bits`` indices, one active index per field."""

    fields: tuple[str, ...]
    n_bits: int = 18

    def __post_init__(self) -> None:
        if not self.fields:
            raise SpecError("HashedOneHot needs at least one field name")
        if not 4 <= int(self.n_bits) <= 28:
            raise SpecError(f"n_bits must be between 4 and 28, got {self.n_bits}")

    @property
    def n_features(self) -> int:
        return 1 << int(self.n_bits)

    def _hash(self, keys: Sequence[str]) -> np.ndarray:
        from sklearn.utils import murmurhash3_32

        h = np.array([murmurhash3_32(k, seed=0, positive=True) for k in keys], dtype=np.int64)
        return h & (self.n_features - 1)

    def transform(self, rows) -> np.ndarray:
        """Rows (a DataFrame or a mapping field -> column) to an (n, F) int64 index matrix."""
        import pandas as pd

        missing = [f for f in self.fields if f not in rows]
        if missing:
            have = list(rows.columns) if hasattr(rows, "columns") else list(rows)
            raise DataError(
                f"feature field(s) {missing} are missing from the impressions; columns present: "
                f"{have}. Add them or train with fields={tuple(have)}"
            )
        cols = []
        for f in self.fields:
            codes, uniques = pd.factorize(pd.Series(rows[f]).astype(str), use_na_sentinel=False)
            hashed = self._hash([f"{f}={u}" for u in uniques])
            cols.append(hashed[codes])
        return np.stack(cols, axis=1) if cols else np.zeros((0, 0), dtype=np.int64)

    def transform_one(self, row: Mapping[str, object]) -> np.ndarray:
        """One impression (mapping field -> value; missing fields hash as empty) to (F,)."""
        return self._hash([f"{f}={row.get(f, '')}" for f in self.fields])

    def index(self, field_name: str, value: object) -> int:
        """The feature index of one ``field=value`` pair."""
        return int(self._hash([f"{field_name}={value}"])[0])


def check_xy(X, y=None, n_features: int | None = None):
    """``X`` as an (n, F) integer index array within ``[0, n_features)`` and ``y`` as 0/1
    floats with both classes present (``y`` may be None); a `DataError` names the fault."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"feature indices must be a non-empty (rows, fields) array, got {X.shape}")
    if not np.issubdtype(X.dtype, np.integer):
        raise DataError("feature indices must be integers (use HashedOneHot.transform)")
    if n_features is not None and (X.min() < 0 or X.max() >= n_features):
        raise DataError(
            f"feature index out of range [0, {n_features}): min {X.min()}, max {X.max()}; "
            "use the same hashing (n_bits) for training and prediction"
        )
    if y is None:
        return X, None
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != X.shape[0]:
        raise DataError(f"{X.shape[0]} rows of features but {y.shape[0]} labels")
    if not np.all((y == 0) | (y == 1)):
        bad = int(np.flatnonzero((y != 0) & (y != 1))[0])
        raise DataError(f"click labels must be 0 or 1; row {bad} has {y[bad]!r}")
    if y.min() == y.max():
        raise DataError(
            "the training labels are all the same (no clicks or only clicks); need both classes"
        )
    return X, y
