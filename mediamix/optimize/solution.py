"""What a solver path hands on before the solution is certified and explained."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawSolution:
    """A solver path's answer: spend ``x`` of shape ``(T, n)`` (original units) with its
    status, the path that found it, the relative optimality gap (``None`` until certified),
    the linear rows' multipliers (d objective / d rhs, original units), a valid upper bound
    on the objective when the path has one, solver facts (``info``) and notes for the user
    (``messages``)."""

    x: np.ndarray
    status: str
    method: str
    gap: float | None
    row_duals: np.ndarray
    upper_bound: float | None = None
    info: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
