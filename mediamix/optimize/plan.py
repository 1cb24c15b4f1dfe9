"""The result of a solve: the recommended allocation, its certificate and its explanation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mediamix.jsonable import jsonable


@dataclass(frozen=True)
class ChannelResult:
    """One channel's line in the explanation table.

    ``current`` and ``recommended`` are spend per period; ``change`` is relative,
    ``(recommended - current) / current`` (a fraction: 0.25 is +25%; ``inf`` for a channel
    that starts from zero), and ``change_abs`` the same in money, ``recommended - current``;
    both are ``None`` without a current spend.
    """

    name: str
    current: float | None
    recommended: float
    change: float | None
    units: float
    kpi: float
    marginal_return: float
    binding: str | None  # "lower" | "upper" | None
    change_abs: float | None = None


@dataclass(frozen=True)
class DepartmentResult:
    """Spend, budget, overrun and shadow price (KPI per extra unit of budget) of a department."""

    name: str
    spend: float
    budget: float
    overrun: float
    shadow_price: float
    kpi: float


@dataclass(frozen=True)
class ConstraintResult:
    name: str
    value: float
    rhs: float
    binding: bool
    shadow_price: float


@dataclass(frozen=True)
class Plan:
    """The recommended spend with its certificate (``gap``) and explanation.

    ``objective_value`` is the value of the objective at the plan: the KPI's risk measure
    (``kpi``, ``kpi_at_min_roas``), ``kpi_value * KPI - spend`` (``profit``), the total spend
    that reaches the target (``min_spend``: a cost, minimised, so a positive number), or the
    mean log-KPI for ``combine: multiplicative``; an elastic overrun's penalty is subtracted
    (added to the spend for ``min_spend``). ``kpi`` is the expected KPI (mean over draws) and
    ``outcome`` its spread over draws. ``gap`` bounds the relative distance to the global
    optimum: the true optimum lies within ``objective_value * (1 + gap)`` (within
    ``objective_value * (1 - gap)`` for ``min_spend``).

    Per channel (``channels``), ``change`` is relative to the current spend (a fraction) and
    ``change_abs`` absolute (money per period), see :class:`ChannelResult`.
    """

    status: str
    method: str
    objective: str
    objective_value: float
    kpi: float
    spend_total: float
    gap: float | None
    seconds: float
    allocation: dict[str, float]
    units: dict[str, float]
    marginal_return: dict[str, float]
    channels: tuple[ChannelResult, ...]
    departments: dict[str, DepartmentResult]
    constraints: tuple[ConstraintResult, ...]
    outcome: dict[str, float]
    upper_bound: float | None = None
    by_period: dict[str, list[float]] | None = None
    reference: dict[str, float] | None = None
    frontier: list[dict[str, Any]] | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping with the keys documented in the README."""
        out = {
            "status": self.status,
            "method": self.method,
            "objective": self.objective,
            "objective_value": self.objective_value,
            "kpi": self.kpi,
            "spend_total": self.spend_total,
            "gap": self.gap,
            "upper_bound": self.upper_bound,
            "seconds": self.seconds,
            "allocation": dict(self.allocation),
            "units": dict(self.units),
            "marginal_return": dict(self.marginal_return),
            "departments": {
                k: {
                    "spend": v.spend,
                    "budget": v.budget,
                    "overrun": v.overrun,
                    "shadow_price": v.shadow_price,
                    "kpi": v.kpi,
                }
                for k, v in self.departments.items()
            },
            "channels": [asdict(c) for c in self.channels],
            "constraints": [asdict(c) for c in self.constraints],
            "outcome": dict(self.outcome),
            "messages": list(self.messages),
        }
        if self.by_period is not None:
            out["by_period"] = self.by_period
        if self.reference is not None:
            out["reference"] = self.reference
        if self.frontier is not None:
            out["frontier"] = self.frontier
        return jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> str:
        """A plain-text explanation for the terminal."""
        lines = [
            f"status {self.status} | method {self.method} | objective {self.objective} = "
            f"{self.objective_value:.6g} | gap {_fmt(self.gap)} | {self.seconds:.2f} s",
            f"expected KPI {self.kpi:.6g} (5% {self.outcome['p5']:.6g}, "
            f"95% {self.outcome['p95']:.6g}) | spend {self.spend_total:.6g}",
            "",
            f"{'channel':<24}{'current':>12}{'recommended':>13}{'change':>10}"
            f"{'kpi':>12}{'marginal':>11}  binds",
        ]
        for c in self.channels:
            ch = "" if c.change is None else f"{c.change:+.1%}" if np.isfinite(c.change) else "new"
            lines.append(
                f"{c.name[:23]:<24}{_fmt(c.current):>12}{c.recommended:>13.6g}{ch:>10}"
                f"{c.kpi:>12.6g}{c.marginal_return:>11.4g}  {c.binding or ''}"
            )
        if self.departments:
            lines += [
                "",
                f"{'department':<24}{'spend':>12}{'budget':>12}{'overrun':>10}{'shadow':>10}",
            ]
            for d in self.departments.values():
                lines.append(
                    f"{d.name[:23]:<24}{d.spend:>12.6g}{d.budget:>12.6g}{d.overrun:>10.4g}"
                    f"{d.shadow_price:>10.4g}"
                )
        bind = [c for c in self.constraints if c.binding]
        if bind:
            lines += ["", "binding constraints (shadow price = objective per extra unit):"]
            lines += [f"  {c.name}: {c.shadow_price:.4g}" for c in bind]
        if self.frontier:
            lines += ["", f"{'budget':>12}{'kpi':>14}"]
            lines += [f"{f['budget']:>12.6g}{f['kpi']:>14.6g}" for f in self.frontier]
        lines += [f"note: {m}" for m in self.messages]
        return "\n".join(lines)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3g}"
