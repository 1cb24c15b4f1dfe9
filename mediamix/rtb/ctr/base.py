"""What every CTR model shares: the hasher, prediction from raw field values, saving to .npz.

A model subclass provides ``predict(X)`` on (n, F) feature indices, ``_score_one(idx)`` for
one impression (plain NumPy: the bidder's path), ``_arrays()`` and its own ``_meta()``
entries; :func:`mediamix.rtb.ctr.persist.load_ctr_model` reads the file back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mediamix.errors import SpecError
from mediamix.rtb.ctr.features import HashedOneHot


def sigmoid(z):
    """``1 / (1 + exp(-z))`` with ``z`` clipped to [-35, 35] (no overflow)."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))


class CTRModel:
    """Base of the CTR models: a weight table of ``n_features`` rows and an optional hasher."""

    kind = "base"

    def __init__(self, hasher: HashedOneHot | None = None, n_features: int | None = None):
        if n_features is None:
            if hasher is None:
                raise SpecError("give a HashedOneHot hasher or n_features")
            n_features = hasher.n_features
        self.hasher = hasher
        self.n_features = int(n_features)
        self.validation_: list[dict] = []

    def predict(self, X) -> np.ndarray:
        raise NotImplementedError

    def _score_one(self, idx) -> float:
        raise NotImplementedError

    def _arrays(self) -> dict:
        raise NotImplementedError

    def predict_rows(self, rows) -> np.ndarray:
        """P(click) for a DataFrame (or mapping of columns) of raw field values."""
        if self.hasher is None:
            raise SpecError("this model has no hasher; call predict() with feature indices")
        return self.predict(self.hasher.transform(rows))

    def predict_one(self, row: Mapping[str, object]) -> float:
        """P(click) of one impression given as a mapping field -> value (the bidder's path)."""
        if self.hasher is None:
            raise SpecError("this model has no hasher; call predict() with feature indices")
        return float(self._score_one(self.hasher.transform_one(row)))

    def _meta(self) -> dict:
        return {
            "kind": self.kind,
            "n_features": self.n_features,
            "fields": list(self.hasher.fields) if self.hasher else None,
            "n_bits": self.hasher.n_bits if self.hasher else None,
            "validation": self.validation_,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays plus JSON metadata)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = (
                path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
            )
        arrays = self._arrays()
        np.savez(path, meta=np.array(json.dumps(self._meta())), **arrays)
        return path
