"""What the bidder reads from a media plan: a channel's budget, its pacing targets, its bid cap.

The plan is the JSON that ``Plan.to_json`` writes (``mediamix optimize --format json -o plan.json``,
or a run folder's ``plan.json``); the bidder reads it as a file and never imports the optimizer.
Of its keys it reads (others are ignored):

| key | meaning |
| --- | --- |
| ``allocation.<channel>`` | the channel's planned spend per period (currency) |
| ``marginal_return.<channel>`` | the channel's marginal ROAS at the plan: KPI per extra unit of spend |
| ``threshold.value`` | the budget's shadow price: the KPI the plan's last unit of budget earns (``null`` when no budget binds) |
| ``periods`` | how many periods were planned (the allocation is per period either way) |

**Pacing targets.** The period's budget ``B`` is split over days and hours by a
:class:`~mediamix.rtb.pacing.TrafficProfile` (``daily = B / period_days * weekday / mean``;
``period_days`` = 7 for a weekly model).

**The bid cap.** Buying an impression of value ``v`` (in the plan's KPI units: CPC x pCTR with
the CPC in KPI per click) at price ``b`` returns ``v / b`` per unit of spend. The plan spends
a unit on this channel only while it returns at least the hurdle

    hurdle = max(shadow price, min_roas)

(the shadow price; the channel's own marginal ROAS when no budget binds; ``min_roas`` a
break-even the business adds, e.g. 1 for a revenue KPI). So the break-even bid is
``cap = v / hurdle``: an impression bought at or below it returns at least the hurdle.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ConfigDict

from mediamix.errors import SpecError, did_you_mean
from mediamix.rtb.pacing import TrafficProfile, daily_budgets, hourly_targets
from mediamix.schemas import Schema, validate

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOW_TO_WRITE = (
    "write the plan with `mediamix optimize PROBLEM.yaml --format json -o plan.json` (or "
    "`--run RUN_DIR`), or use a run folder's plan.json"
)


class _ThresholdIn(Schema):
    model_config = ConfigDict(extra="allow", frozen=True)
    value: float
    source: str = ""


class PlanIn(Schema):
    """The keys of a plan file that the bidder reads; every other key passes through."""

    model_config = ConfigDict(extra="allow", frozen=True)
    allocation: dict[str, float]
    marginal_return: dict[str, float]
    threshold: _ThresholdIn | None = None
    periods: int = 1
    status: str | None = None


@dataclass(frozen=True)
class PlanTargets:
    """One channel's budget, pacing targets and bid hurdle from a plan."""

    channel: str
    budget_per_period: float  # currency per plan period
    period_days: float
    marginal_roas: float  # KPI per extra unit of spend at the plan
    shadow_price: float | None  # the budget's shadow price (None: no budget binds)
    hurdle_source: str
    min_roas: float
    profile: TrafficProfile

    @property
    def hurdle(self) -> float:
        """The least return per unit of spend worth buying: ``max(shadow price, min_roas)``
        (the channel's marginal ROAS in place of the shadow price when none binds)."""
        base = self.shadow_price if self.shadow_price is not None else self.marginal_roas
        return max(float(base), self.min_roas)

    @property
    def daily(self) -> np.ndarray:
        """Budget per weekday (7,), Monday first."""
        return daily_budgets(self.budget_per_period, self.period_days, self.profile)

    def daily_budget(self, weekday: int) -> float:
        """The day's budget (``weekday`` 0 = Monday)."""
        return float(self.daily[int(weekday) % 7])

    def hourly(self, weekday: int) -> np.ndarray:
        """Spend target per hour (24,) of that weekday."""
        return hourly_targets(self.daily_budget(weekday), self.profile)

    def bid_cap(self, value):
        """Break-even bid(s) ``value / hurdle`` (same units as ``value``)."""
        return np.asarray(value, dtype=float) / self.hurdle

    def to_dict(self) -> dict:
        return {
            "channel": self.channel,
            "budget_per_period": self.budget_per_period,
            "period_days": self.period_days,
            "daily": dict(zip(DAY_NAMES, self.daily.tolist(), strict=True)),
            "marginal_roas": self.marginal_roas,
            "shadow_price": self.shadow_price,
            "hurdle": self.hurdle,
            "hurdle_source": self.hurdle_source,
            "min_roas": self.min_roas,
        }


def plan_targets(
    data: Any,
    channel: str | None = None,
    period_days: float = 7.0,
    profile: TrafficProfile | None = None,
    min_roas: float = 0.0,
    where: str = "plan",
) -> PlanTargets:
    """One channel's :class:`PlanTargets` from a plan mapping (``Plan.to_dict()`` / its JSON).

    Errors name the key path and the fix (``plan: allocation.serch: ... did you mean
    'search'?``).
    """
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a plan must be a JSON object; {HOW_TO_WRITE}")
    missing = [k for k in ("allocation", "marginal_return") if k not in data]
    if missing:
        raise SpecError(
            f"{where}.{missing[0]}: required key is missing (the bidder reads the channel's "
            f"spend from 'allocation' and its marginal ROAS from 'marginal_return'); {HOW_TO_WRITE}"
        )
    try:
        plan = validate(PlanIn, data, where)
    except SpecError as exc:
        raise SpecError(f"{exc}; {HOW_TO_WRITE}") from None
    names = sorted(plan.allocation)
    if not names:
        raise SpecError(f"{where}.allocation: the plan has no channels; {HOW_TO_WRITE}")
    if channel is None:
        if len(names) > 1:
            raise SpecError(
                f"{where}: the plan has {len(names)} channels ({', '.join(names)}); choose the "
                "one this bidder buys with --channel (Python: channel=)"
            )
        channel = names[0]
    if channel not in plan.allocation:
        raise SpecError(
            f"{where}.allocation: no channel {channel!r}; the plan's channels are "
            f"{', '.join(names)}.{did_you_mean(channel, names)}"
        )
    spend = plan.allocation[channel]
    if not (math.isfinite(spend) and spend >= 0):
        raise SpecError(
            f"{where}.allocation.{channel}: the planned spend must be a finite number >= 0, "
            f"got {spend}; {HOW_TO_WRITE}"
        )
    if channel not in plan.marginal_return:
        raise SpecError(
            f"{where}.marginal_return.{channel}: required key is missing (the channel's "
            f"marginal ROAS at the plan); {HOW_TO_WRITE}"
        )
    mroas = plan.marginal_return[channel]
    if not (math.isfinite(mroas) and mroas >= 0):
        raise SpecError(
            f"{where}.marginal_return.{channel}: must be a finite number >= 0, got {mroas}"
        )
    shadow, source = None, f"the channel's marginal ROAS at the plan ({mroas:.4g})"
    if plan.threshold is not None:
        shadow = plan.threshold.value
        if not (math.isfinite(shadow) and shadow >= 0):
            raise SpecError(
                f"{where}.threshold.value: the budget's shadow price must be a finite number "
                f">= 0, got {shadow}; write null when no budget binds"
            )
        source = plan.threshold.source or "the budget's shadow price"
    if not (math.isfinite(min_roas) and min_roas >= 0):
        raise SpecError(f"min_roas must be a finite number >= 0, got {min_roas}")
    if min_roas > (shadow if shadow is not None else mroas):
        source = f"the break-even min_roas ({min_roas:g})"
    out = PlanTargets(
        channel=channel,
        budget_per_period=float(spend),
        period_days=float(period_days),
        marginal_roas=float(mroas),
        shadow_price=None if shadow is None else float(shadow),
        hurdle_source=source,
        min_roas=float(min_roas),
        profile=profile or TrafficProfile.default(),
    )
    out.daily  # noqa: B018 -- checks period_days now, with its fix
    if not out.hurdle > 0:
        raise SpecError(
            f"{where}: the hurdle for {channel!r} is 0 ({source}), so no bid would ever be "
            "capped; give a break-even return per unit of spend with --min-roas (Python: "
            "min_roas=), e.g. 1 for a revenue KPI"
        )
    return out


def read_plan_targets(path: str | Path, channel: str | None = None, **kw) -> PlanTargets:
    """:func:`plan_targets` from a plan JSON file (or a run folder holding ``plan.json``)."""
    p = Path(path)
    if p.is_dir():
        p = p / "plan.json"
    where = f"plan file '{p}'"
    if not p.is_file():
        raise SpecError(f"{where} does not exist; {HOW_TO_WRITE}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            f"{HOW_TO_WRITE}"
        ) from None
    try:
        return plan_targets(data, channel=channel, **kw)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
