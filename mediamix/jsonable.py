"""Plain JSON values from results: one conversion used by plans, saved models and the store."""

from __future__ import annotations

import math
from typing import Any


def jsonable(value: Any) -> Any:
    """A copy that JSON (and every database's JSON type) accepts: NaN and infinities become
    None, tuples and numpy arrays / scalars become plain lists and numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
