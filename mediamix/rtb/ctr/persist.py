"""Reading a CTR model back from the ``.npz`` file its ``save`` wrote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mediamix.errors import DataError
from mediamix.rtb.ctr.features import HashedOneHot
from mediamix.rtb.ctr.fm import FactorizationMachineCTR
from mediamix.rtb.ctr.logistic import LogisticCTR


def load_ctr_model(path: str | Path) -> LogisticCTR | FactorizationMachineCTR:
    """Read a model written by ``.save``."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"CTR model file {str(path)!r} does not exist; train one with `rtb train-ctr`"
        )
    not_a_model = (
        f"{str(path)!r} is not a mediamix CTR model file (an .npz archive written by "
        "`rtb train-ctr --out`); a CSV of impressions is training data: "
        "`rtb train-ctr --data FILE.csv --out model.npz` makes a model of it"
    )
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError, EOFError):
        raise DataError(not_a_model) from None
    try:
        model = _build(meta, arrays)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{not_a_model} ({exc.__class__.__name__}: {exc})") from None
    if model is None:
        raise DataError(f"{str(path)!r}: unknown CTR model kind {meta.get('kind')!r}")
    return model


def _build(meta: dict, arrays: dict):
    hasher = HashedOneHot(tuple(meta["fields"]), meta["n_bits"]) if meta.get("fields") else None
    if meta["kind"] == "logistic":
        model = LogisticCTR(hasher, meta["n_features"], C=meta["C"])
    elif meta["kind"] == "fm":
        model = FactorizationMachineCTR(
            hasher,
            meta["n_features"],
            rank=meta["rank"],
            l2=meta["l2"],
            learning_rate=meta["learning_rate"],
            epochs=meta["epochs"],
            batch_size=meta["batch_size"],
            seed=meta["seed"],
        )
        model.V = arrays["V"]
    else:
        return None
    model.w0 = float(arrays["w0"])
    model.w = arrays["w"]
    model.validation_ = meta.get("validation", [])
    return model
