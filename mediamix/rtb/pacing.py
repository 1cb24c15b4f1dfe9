"""Budget pacing: traffic profiles, daily and hourly spend targets, and the pacing controllers.

A plan gives a channel's spend per planning period (a week for weekly data). The bidder
spends it day by day and hour by hour in proportion to the traffic it expects:

    daily[w]  = B / period_days * weekday[w] / mean(weekday)      (w = 0 Monday .. 6 Sunday)
    hourly[h] = daily[w] * hour_share[h]                           (sum_h hour_share = 1)

so a 7-day period sums to exactly ``B``. The pacing target at time ``t`` hours into the day is
``daily * P(t)``, with ``P`` the cumulative hour share (linear inside an hour).

The controllers steer one bid multiplier per control interval. Each interval wants its share
of the target plus a catch-up of the gap so far spread over ``horizon`` intervals
(:func:`wanted_spend`); after the interval the controller compares what it spent with what it
wanted:

- ``dual`` (:class:`DualPacer`): the Lagrange multiplier ``mu`` of the budget constraint,
  ``bid = value / (1 + mu)``, updated by a projected subgradient step
  ``mu <- clip(mu + eta * (spent - wanted) / ref, mu_min, mu_max)`` (``ref`` the mean
  interval target): the value-maximising bid under a budget in a second-price auction;
- ``pi`` (:class:`PIPacer`): a PI controller on the log multiplier,
  ``log m = kp * e + ki * sum(e)``, ``e = (wanted - spent) / ref``, ``m`` in [m_min, m_max].

The multiplier starts at 1 and may rise above it (up to 2 by default) when the day falls
behind: a first-price bidder shaded for surplus may have to bid more to spend its budget.
Whoever uses it applies the bid cap *after* it, so pacing never bids above the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import field_validator

from mediamix.errors import SpecError
from mediamix.schemas import Schema, validate

PACERS = ("dual", "pi")

# A typical diurnal shape of web traffic (low at night, an evening peak) and a slightly
# quieter weekend: a default to start from, not measured from data. Give your own profile
# (:meth:`TrafficProfile.from_mapping`) from your bid-request logs.
DEFAULT_HOURLY = (
    0.55, 0.38, 0.28, 0.24, 0.25, 0.32, 0.50, 0.75, 0.95, 1.05, 1.10, 1.12,
    1.15, 1.12, 1.10, 1.10, 1.12, 1.18, 1.28, 1.38, 1.42, 1.35, 1.10, 0.80,
)  # fmt: skip
DEFAULT_WEEKDAY = (1.02, 1.03, 1.03, 1.02, 0.98, 0.95, 0.97)  # Monday .. Sunday
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ProfileIn(Schema):
    """A traffic profile file: 24 hourly and (optionally) 7 weekday weights, any scale."""

    hourly: list[float]
    weekday: list[float] | None = None

    @field_validator("hourly")
    @classmethod
    def _hours(cls, v: list[float]) -> list[float]:
        return _weights(v, 24, "hour 0 .. 23")

    @field_validator("weekday")
    @classmethod
    def _days(cls, v: list[float] | None) -> list[float] | None:
        return None if v is None else _weights(v, 7, "Monday .. Sunday")


def _weights(v: list[float], n: int, what: str) -> list[float]:
    if len(v) != n:
        raise ValueError(f"give {n} weights ({what}), got {len(v)}")
    bad = [i for i, x in enumerate(v) if not (math.isfinite(x) and x >= 0)]
    if bad:
        raise ValueError(f"weight [{bad[0]}] must be a finite number >= 0, got {v[bad[0]]}")
    if sum(v) <= 0:
        raise ValueError("at least one weight must be > 0")
    return v


@dataclass(frozen=True)
class TrafficProfile:
    """Expected traffic by hour of day (shares summing to 1) and by weekday (mean 1)."""

    hour_share: np.ndarray  # (24,), sums to 1
    weekday: np.ndarray = field(default_factory=lambda: np.asarray(DEFAULT_WEEKDAY))  # (7,)

    def __post_init__(self) -> None:
        h = np.asarray(self.hour_share, dtype=float)
        w = np.asarray(self.weekday, dtype=float)
        if h.shape != (24,) or not np.all(np.isfinite(h)) or np.any(h < 0) or h.sum() <= 0:
            raise SpecError("a traffic profile needs 24 finite hourly weights >= 0, not all 0")
        if w.shape != (7,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise SpecError("a traffic profile needs 7 finite weekday weights >= 0, not all 0")
        object.__setattr__(self, "hour_share", h / h.sum())
        object.__setattr__(self, "weekday", w / w.mean())

    @classmethod
    def default(cls) -> TrafficProfile:
        """The built-in diurnal and weekday shape (:data:`DEFAULT_HOURLY`, :data:`DEFAULT_WEEKDAY`)."""
        return cls(np.asarray(DEFAULT_HOURLY), np.asarray(DEFAULT_WEEKDAY))

    @classmethod
    def flat(cls) -> TrafficProfile:
        """Even traffic through every hour and day."""
        return cls(np.ones(24), np.ones(7))

    @classmethod
    def from_mapping(cls, data: Any, where: str = "profile") -> TrafficProfile:
        """``{"hourly": [24 weights], "weekday": [7 weights, Monday first]}`` (any scale)."""
        p = validate(ProfileIn, data, where)
        return cls(np.asarray(p.hourly), np.asarray(p.weekday or DEFAULT_WEEKDAY))

    @classmethod
    def read(cls, path: str | Path) -> TrafficProfile:
        """A profile from a JSON or YAML file (see :meth:`from_mapping`)."""
        from mediamix.yamlio import read_yaml

        return cls.from_mapping(read_yaml(Path(path), "traffic profile"), f"profile file {path}")

    def cumulative(self, hours) -> np.ndarray:
        """``P(t)``: share of a day's traffic before ``t`` hours (0 .. 24; linear in an hour)."""
        t = np.clip(np.asarray(hours, dtype=float), 0.0, 24.0)
        edges = np.concatenate([[0.0], np.cumsum(self.hour_share)])
        return np.interp(t, np.arange(25.0), edges)

    def sample_hours(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` sorted arrival times (hours) of one day's opportunities under the profile."""
        counts = rng.multinomial(int(n), self.hour_share)
        hours = np.repeat(np.arange(24.0), counts) + rng.uniform(0.0, 1.0, int(n))
        return np.sort(hours)

    def to_dict(self) -> dict:
        return {"hourly": self.hour_share.tolist(), "weekday": self.weekday.tolist()}


def daily_budgets(budget: float, period_days: float, profile: TrafficProfile) -> np.ndarray:
    """Budget per weekday (7,), Monday first: ``B / period_days * weekday / mean(weekday)``."""
    if not (math.isfinite(budget) and budget >= 0):
        raise SpecError(f"budget per period must be a finite number >= 0, got {budget}")
    if not (math.isfinite(period_days) and period_days > 0):
        raise SpecError(
            f"period_days must be > 0 (the days one plan period covers: 7 for weekly data, "
            f"1 for daily), got {period_days}"
        )
    return budget / period_days * profile.weekday


def hourly_targets(daily: float, profile: TrafficProfile) -> np.ndarray:
    """Spend target per hour of one day (24,): ``daily * hour_share``."""
    return float(daily) * profile.hour_share


def wanted_spend(target_next: float, gap: float, horizon: float, span: float = 1.0) -> float:
    """What the next ``span`` intervals should spend: their target share plus ``gap * span /
    horizon`` (the gap being target so far - spend so far; all of it once ``span`` reaches
    ``horizon``), never below 5% of their share."""
    return max(target_next + gap * min(span / horizon, 1.0), 0.05 * target_next)


@dataclass
class DualPacer:
    """Lagrangian (dual) pacing: ``bid = value / (1 + mu)``; ``mu`` rises when an interval
    spends more than it wanted and falls when it spends less (projected onto [0, mu_max])."""

    ref: float  # mean spend target of one interval (currency)
    eta: float = 0.5
    mu: float = 0.0
    mu_min: float = -0.5  # factor up to 1 / (1 + mu_min) = 2
    mu_max: float = 50.0

    def __post_init__(self) -> None:
        _check_pacer(self.ref, self.eta, "eta")

    @property
    def factor(self) -> float:
        return 1.0 / (1.0 + self.mu)

    def update(self, spent: float, wanted: float, span: float = 1.0) -> None:
        """One control step: ``spent`` and ``wanted`` over ``span`` intervals."""
        step = self.eta * (spent - wanted) / (self.ref * span)
        self.mu = float(np.clip(self.mu + step, self.mu_min, self.mu_max))


@dataclass
class PIPacer:
    """A PI controller on the log bid multiplier: ``log m = kp e + ki sum(e)``,
    ``e = (wanted - spent) / ref``, ``m`` clipped to [m_min, m_max] (the integral is held
    when the multiplier is clipped, so it does not wind up)."""

    ref: float
    kp: float = 0.3
    ki: float = 0.15
    m_min: float = 0.02
    m_max: float = 2.0
    integral: float = 0.0
    log_m: float = 0.0

    def __post_init__(self) -> None:
        _check_pacer(self.ref, self.kp, "kp")

    @property
    def factor(self) -> float:
        return float(math.exp(self.log_m))

    def update(self, spent: float, wanted: float, span: float = 1.0) -> None:
        """One control step: ``spent`` and ``wanted`` over ``span`` intervals."""
        e = float(np.clip((wanted - spent) / (self.ref * span), -5.0, 5.0))
        integral = self.integral + e
        raw = self.kp * e + self.ki * integral
        lo, hi = math.log(self.m_min), math.log(self.m_max)
        saturated = (raw > hi and e > 0.0) or (raw < lo and e < 0.0)
        if not saturated:  # anti-windup: integrate only while the multiplier can follow
            self.integral = integral
        self.log_m = float(np.clip(self.kp * e + self.ki * self.integral, lo, hi))


def _check_pacer(ref: float, gain: float, name: str) -> None:
    if not (math.isfinite(ref) and ref > 0):
        raise SpecError(f"pacer ref (mean interval target) must be > 0, got {ref}")
    if not (math.isfinite(gain) and gain > 0):
        raise SpecError(f"pacer {name} must be > 0, got {gain}")


def make_pacer(kind: str, ref: float) -> DualPacer | PIPacer:
    """A fresh controller by name: ``dual`` or ``pi``."""
    if kind == "dual":
        return DualPacer(ref=ref)
    if kind == "pi":
        return PIPacer(ref=ref)
    raise SpecError(f"pacer {kind!r} is unknown; use one of {', '.join(PACERS)}")


class DayPacing:
    """One bidder's pacing over one day, driven by its clock (hours since midnight).

    The remaining budget is spread over the rest of the day by the profile from the moment
    pacing starts (a bidder started at noon does not try to spend the morning's share at
    once): ``target(t) = s0 + (D - s0) * (P(t) - P(t0)) / (1 - P(t0))``. :meth:`observe` is
    called with the spend so far; every ``interval_hours`` it closes an interval and updates
    the controller.
    """

    def __init__(
        self,
        daily: float,
        profile: TrafficProfile,
        kind: str = "dual",
        interval_hours: float = 0.25,
        horizon: float = 4.0,
        start_hour: float = 0.0,
        spent: float = 0.0,
    ):
        if not (math.isfinite(interval_hours) and 0 < interval_hours <= 24):
            raise SpecError(f"pacing interval must be in (0, 24] hours, got {interval_hours}")
        if not horizon >= 1:
            raise SpecError(f"pacing horizon must be >= 1 interval, got {horizon}")
        self.daily = float(daily)
        self.profile = profile
        self.interval_hours = float(interval_hours)
        self.horizon = float(horizon)
        self.t0 = float(np.clip(start_hour, 0.0, 24.0))
        self.s0 = float(spent)
        self._p0 = float(profile.cumulative(self.t0))
        ref = max(self.daily, 1e-12) * self.interval_hours / 24.0
        self.pacer = make_pacer(kind, ref)
        self.kind = kind
        self._last_t = self.t0
        self._last_spent = self.s0

    def target(self, hour: float) -> float:
        """Cumulative spend target at ``hour`` (currency)."""
        p0 = self._p0
        if p0 >= 1.0:
            return self.daily
        share = (float(self.profile.cumulative(hour)) - p0) / (1.0 - p0)
        return self.s0 + max(self.daily - self.s0, 0.0) * float(np.clip(share, 0.0, 1.0))

    @property
    def factor(self) -> float:
        """The bid multiplier now (1 at the start)."""
        return self.pacer.factor

    def observe(self, hour: float, spent: float) -> bool:
        """Spend so far at ``hour``; once an interval or more has passed since the last
        update, compare the spend since then with what it wanted and update the controller
        (True when it did). A bidder that saw no traffic for a while updates once, over the
        whole span."""
        hour = min(float(hour), 24.0)
        t, s = self._last_t, self._last_spent
        if hour < t + self.interval_hours * (1 - 1e-9):
            return False
        span = (hour - t) / self.interval_hours
        wanted = wanted_spend(
            self.target(hour) - self.target(t), self.target(t) - s, self.horizon, span
        )
        self.pacer.update(spent - s, wanted, span)
        self._last_t, self._last_spent = hour, float(spent)
        return True

    def state(self, hour: float, spent: float) -> dict:
        return {
            "pacer": self.kind,
            "daily_target": self.daily,
            "target_so_far": self.target(hour),
            "spent": spent,
            "factor": self.factor,
        }
