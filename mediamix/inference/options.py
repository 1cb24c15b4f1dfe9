"""Validation of sampler options at the boundary (one message style for every sampler)."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from mediamix.errors import SpecError


def check_int(owner: str, key: str, value, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise SpecError(f"{owner}: {key} must be an integer >= {lo} (got {value!r})")


def check_positive(owner: str, key: str, value) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise SpecError(f"{owner}: {key} must be a number > 0 (got {value!r})")


def option_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
