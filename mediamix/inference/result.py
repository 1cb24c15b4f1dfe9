"""`FitResult`: the raw output of any sampler, before it becomes a `FittedModel`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FitResult:
    """Draws as ``(chain, draw, ...)`` arrays per site, sampler statistics, and run info."""

    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
