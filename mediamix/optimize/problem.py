"""The allocation problem as data: channels, constraints, objective, risk and time.

A :class:`Problem` can be written by hand (Python or YAML, see :meth:`Problem.from_yaml`)
or built from a fitted model (:meth:`Problem.from_fitted`). It is inspected before it is
solved: :meth:`Problem.linear_rows` lists every linear constraint by name, which is how
infeasibility is explained.

Spend ``x_i`` is money per period on channel ``i``. With ``periods = T > 1`` (flighting) the
spend is ``x_{t,i}`` and each channel's curve is applied to its geometric adstock
``A_t = lam A_{t-1} + (1 - lam) x_t`` (carry-in from ``history``; the tail after the horizon,
with no new spend, is counted until the carry-over has decayed below 1e-4).

Forward planning (see :mod:`mediamix.optimize.horizon`) adds per-period rules: ``caps``
(an upper bound per period and channel), ``dark`` periods (forced zero), ``max_change``
(``(1 - r) x_{t-1} <= x_t <= (1 + r) x_{t-1}``, the first period against the last week of
``history`` when it had spend; pairs that touch a dark period are exempt), ``min_flight`` (a channel that is on
-- spending at least ``min_flight_spend`` -- stays on for at least that many periods; a
combinatorial rule, solved with on/off binaries), ``discount`` (KPI of effective period p
weighted ``(1 + r)^-p``), ``carry_out`` (count the carry-over tail after the horizon or not)
and ``lag_weights`` (each channel's own adstock kernel, oldest lag last, so the carry-in of
the history and the plan's own carry-over follow the model's adstock exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize.response import Response
from mediamix.optimize.schema import ProblemSpec, check_channel_keys, numbers, response_params
from mediamix.schemas import COMBINES, OBJECTIVES, RISKS, SOLVE_METHODS, choice, validate

__all__ = [
    "COMBINES",
    "MAX_AMOUNT",
    "MAX_PERIODS",
    "OBJECTIVES",
    "RISKS",
    "SOLVE_METHODS",
    "Channel",
    "Group",
    "Problem",
]

# Size limits, checked when a problem is built (before any array is allocated):
# money (budgets, bounds, targets) beyond 1e15 per period is a typing mistake or a unit
# mistake (the solvers lose precision far below it: write money in thousands or millions);
# a flighting plan of more than 520 periods (ten years of weeks) is refused, and so is one
# whose adstock map (periods x (periods + carry-over tail) x channels x carry-over draws)
# would exceed MAX_ADSTOCK_TERMS entries.
MAX_AMOUNT = 1e15
MAX_PERIODS = 520
MAX_ADSTOCK_TERMS = 50_000_000
_TAIL = 520  # the longest carry-over tail the adstock map adds (`linear.MAX_TAIL`)


def _amount(value: Any, what: str, *, positive: bool = False) -> None:
    """``value`` is a finite amount in [0, MAX_AMOUNT] (``> 0`` when ``positive``)."""
    v = float(value)
    if not math.isfinite(v):
        raise SpecError(f"{what} must be a finite number (got {value})")
    if v < 0 or (positive and v == 0):
        raise SpecError(f"{what} must be {'> 0' if positive else '>= 0'} (got {value:g})")
    if v > MAX_AMOUNT:
        raise SpecError(
            f"{what} is {v:g}, above the limit of {MAX_AMOUNT:g}; write money in larger units "
            "(thousands or millions) so that budgets, bounds and curves stay below it"
        )


@dataclass(frozen=True)
class Channel:
    """One channel (or ad): its response curve, spend bounds per period and department shares."""

    response: Response
    lower: float = 0.0
    upper: float | None = None
    shares: Mapping[str, float] | None = None

    @property
    def name(self) -> str:
        return self.response.name


@dataclass(frozen=True)
class Group:
    """A cap (and/or floor) on the total spend of a set of channels."""

    name: str
    channels: tuple[str, ...]
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class Row:
    """One named linear constraint ``coef @ total_spend_per_channel <= rhs``."""

    name: str
    coef: np.ndarray
    rhs: float
    elastic: bool = False
    kind: str = "budget"  # budget | department | group | pacing (coef over vec(x), (T n,))


@dataclass(frozen=True)
class Problem:
    """A budget allocation problem (see the module docstring and the README's YAML format).

    ``objective``: ``kpi`` (maximise KPI), ``profit`` (``kpi_value * KPI - spend``),
    ``min_spend`` (reach ``kpi_target`` at minimum spend) or ``kpi_at_min_roas`` (maximise
    KPI with ``kpi_value * KPI >= min_roas * spend``; ``max_cpa`` gives
    ``KPI >= spend / max_cpa``). ``risk``: ``mean`` (average over posterior draws) or
    ``cvar`` (average of the worst ``alpha`` share of draws). ``method``: ``auto``,
    ``convex`` or ``global``; ``gap_tol`` is the certified relative gap to reach;
    ``max_nodes`` and ``time_limit`` (seconds) stop the global branch and bound early (the
    plan then has status ``gap_limit`` and the gap it reached).
    """

    channels: tuple[Channel, ...]
    budget: float | None = None
    objective: str = "kpi"
    combine: str = "additive"
    kpi_value: float = 1.0
    departments: Mapping[str, float] = field(default_factory=dict)
    groups: tuple[Group, ...] = ()
    elastic_penalty: float | None = None
    risk: str = "mean"
    alpha: float = 0.1
    kpi_target: float | None = None
    min_roas: float | None = None
    max_cpa: float | None = None
    base: float = 1.0
    periods: int = 1
    history: Mapping[str, Sequence[float]] = field(default_factory=dict)
    method: str = "auto"
    gap_tol: float = 1e-4
    max_nodes: int = 20000
    time_limit: float = 120.0
    caps: Mapping[str, Sequence[float | None]] = field(default_factory=dict)
    dark: Mapping[str, Sequence[int]] = field(default_factory=dict)
    max_change: float | None = None
    min_flight: int | None = None
    min_flight_spend: float | None = None
    discount: float = 0.0
    carry_out: bool = True
    lag_weights: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "departments", dict(self.departments))
        if not self.channels:
            raise SpecError("a problem needs at least one channel under 'channels'")
        names = [c.name for c in self.channels]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"channel names must be unique; repeated: {dup}")
        for key, allowed in (
            ("objective", OBJECTIVES),
            ("combine", COMBINES),
            ("risk", RISKS),
            ("method", SOLVE_METHODS),
        ):
            choice(getattr(self, key), allowed, f"'{key}'")
        if not 0 < self.alpha <= 1:
            raise SpecError(f"'alpha' (CVaR level) must be in (0, 1] (got {self.alpha})")
        if not self.gap_tol > 0:
            raise SpecError(f"'gap_tol' must be > 0 (got {self.gap_tol})")
        if isinstance(self.max_nodes, bool) or int(self.max_nodes) != self.max_nodes:
            raise SpecError(f"'max_nodes' must be a positive integer (got {self.max_nodes!r})")
        if self.max_nodes < 1:
            raise SpecError(f"'max_nodes' must be a positive integer (got {self.max_nodes})")
        if not (self.time_limit > 0 and math.isfinite(self.time_limit)):
            raise SpecError(
                f"'time_limit' must be a positive number of seconds (got {self.time_limit})"
            )
        if int(self.periods) != self.periods or self.periods < 1:
            raise SpecError(f"'periods' must be a positive integer (got {self.periods})")
        if self.periods > MAX_PERIODS:
            raise SpecError(
                f"'periods' is {self.periods}, above the limit of {MAX_PERIODS} planned periods "
                "(ten years of weeks); plan a shorter horizon, or plan in longer periods"
            )
        if self.elastic_penalty is not None and not (
            self.elastic_penalty > 0 and math.isfinite(self.elastic_penalty)
        ):
            raise SpecError(
                f"elastic penalty must be a finite number > 0 (got {self.elastic_penalty})"
            )
        if not math.isfinite(self.kpi_value):
            raise SpecError(
                f"'kpi_value' must be a finite number (got {self.kpi_value}): it is the value "
                "of one KPI unit, e.g. 1.0 or the margin per sale"
            )
        if self.kpi_value <= 0:
            raise SpecError(f"'kpi_value' must be > 0 (got {self.kpi_value})")
        if self.budget is not None and not math.isfinite(self.budget):
            raise SpecError(f"'budget' must be a finite number (got {self.budget})")
        if self.budget is not None and self.budget < 0:
            raise SpecError(
                f"'budget' must be >= 0 (got {self.budget:g}): it is the money there is to "
                "spend per period"
                + (
                    "; `elastic` lets a plan overrun a budget, it does not make a negative "
                    "budget meaningful"
                    if self.elastic_penalty is not None
                    else ""
                )
            )
        if self.budget is not None:
            _amount(self.budget, "'budget'")
        for d, b in self.departments.items():
            # a department's budget is what it has left: below zero when it has overspent
            # already (hard: infeasible, naming it; with `elastic`: the overrun is reported)
            _amount(abs(float(b)) if math.isfinite(float(b)) else b, f"department '{d}' budget")
        for key in ("kpi_target", "min_roas"):
            if getattr(self, key) is not None:
                v = float(getattr(self, key))
                if not (math.isfinite(v) and v >= 0):
                    raise SpecError(f"'{key}' must be a finite number >= 0 (got {v})")
        if self.kpi_target is not None:
            _amount(self.kpi_target, "'kpi_target'")
        if self.max_cpa is not None:
            _amount(self.max_cpa, "'max_cpa'", positive=True)
        if not (math.isfinite(self.base) and self.base > 0):
            raise SpecError(f"'base' must be a finite number > 0 (got {self.base})")
        if self.objective == "min_spend" and self.kpi_target is None:
            raise SpecError("objective 'min_spend' needs 'kpi_target' (the KPI to reach)")
        if self.objective == "kpi_at_min_roas" and (self.min_roas is None) == (
            self.max_cpa is None
        ):
            raise SpecError(
                "objective 'kpi_at_min_roas' needs exactly one of 'min_roas', 'max_cpa'"
            )
        if self.objective in ("kpi", "kpi_at_min_roas") and self.budget is None:
            if not self.departments and not all(c.upper is not None for c in self.channels):
                raise SpecError(
                    f"objective '{self.objective}' needs a 'budget' (or department budgets, "
                    "or an upper bound on every channel)"
                )
        for c in self.channels:
            if not math.isfinite(c.lower) or (c.upper is not None and not math.isfinite(c.upper)):
                raise SpecError(
                    f"channel '{c.name}': bounds must be finite numbers (got [{c.lower}, "
                    f"{c.upper}]); write null for no upper bound"
                )
            if c.lower < 0 or (c.upper is not None and c.upper < c.lower):
                raise SpecError(
                    f"channel '{c.name}': bounds must satisfy 0 <= lower <= upper "
                    f"(got [{c.lower}, {c.upper}])"
                )
            _amount(c.lower, f"channel '{c.name}': lower bound")
            if c.upper is not None:
                _amount(c.upper, f"channel '{c.name}': upper bound")
            ref = c.response.reference_spend
            if ref is not None:
                _amount(ref, f"channel '{c.name}': reference_spend")
            if c.shares:
                unknown = sorted(set(c.shares) - set(self.departments))
                if unknown:
                    raise SpecError(
                        f"channel '{c.name}': shares name unknown department(s) {unknown}; "
                        f"departments: {sorted(self.departments)}"
                    )
                total = sum(float(v) for v in c.shares.values())
                if not all(float(v) >= 0 for v in c.shares.values()) or not abs(total - 1) <= 1e-6:
                    raise SpecError(
                        f"channel '{c.name}': shares must be >= 0 and sum to 1 (sum is {total})"
                    )
        known = set(names)
        for g in self.groups:
            missing = sorted(set(g.channels) - known)
            if missing:
                raise SpecError(f"group '{g.name}' names unknown channel(s) {missing}")
            for side in ("min", "max"):
                if getattr(g, side) is not None:
                    _amount(getattr(g, side), f"group '{g.name}' {side}")
        for h, values in self.history.items():
            if h not in known:
                raise SpecError(f"history names unknown channel '{h}'")
            for j, v in enumerate(values):
                _amount(v, f"history of channel '{h}', value {j}")
            if len(values) > MAX_PERIODS:
                raise SpecError(
                    f"history of channel '{h}' has {len(values)} values, above the limit of "
                    f"{MAX_PERIODS}; the carry-in needs only the last few periods"
                )
        if self.periods > 1:
            draws = max((np.size(c.response.carryover) for c in self.channels), default=1)
            terms = self.periods * (self.periods + _TAIL) * self.n * max(draws, 1)
            if terms > MAX_ADSTOCK_TERMS:
                raise SpecError(
                    f"the flighting plan is too large: {self.periods} periods x "
                    f"{self.periods + _TAIL} periods with the carry-over tail x {self.n} "
                    f"channels x {draws} carry-over draw(s) = {terms:,} adstock terms, above "
                    f"the limit of {MAX_ADSTOCK_TERMS:,}; plan fewer periods or channels, or "
                    "use fewer posterior draws"
                )
        self._check_pacing(known)
        if self.combine == "multiplicative" and (self.periods > 1 or self.risk != "mean"):
            raise SpecError(
                "combine 'multiplicative' supports one period and risk 'mean' (it maximises the "
                "average log-KPI); use combine 'additive' for flighting or CVaR"
            )
        if self.objective == "min_spend":
            top = self.reachable_kpi()
            if top is not None and top < float(self.kpi_target):
                raise InfeasibleError(
                    f"the KPI target {self.kpi_target:g} is out of reach: the response curves "
                    f"give at most {top:.4g} in all, even with every channel at the most it "
                    "may spend ("
                    + (
                        "its upper bound or the whole budget"
                        if self._budget_binds()
                        else "its upper bound, or without one any amount"
                    )
                    + f"). Fix: lower 'kpi_target' to {top:.4g} or less, or raise the bounds"
                    + (" or the budget" if self._budget_binds() else "")
                )

    def _check_pacing(self, known: set[str]) -> None:
        """The forward-planning fields, each error naming its key path and the fix."""
        T = int(self.periods)
        for key in ("caps", "dark", "lag_weights"):
            object.__setattr__(self, key, dict(getattr(self, key)))
            for name in getattr(self, key):
                if name not in known:
                    raise SpecError(
                        f"problem.{key}.{name}: unknown channel '{name}'; channels: {sorted(known)}"
                    )
        lower = dict(zip(self.names, self.lower(), strict=True))
        for name, caps in self.caps.items():
            caps = list(caps)
            if len(caps) != T:
                raise SpecError(
                    f"problem.caps.{name}: needs one cap per period ({T}), got {len(caps)}; "
                    "write null for a period without a cap"
                )
            for t, v in enumerate(caps):
                if v is None:
                    continue
                _amount(v, f"problem.caps.{name}[{t}]")
                if float(v) < lower[name] and t not in set(self.dark.get(name, ())):
                    raise SpecError(
                        f"problem.caps.{name}[{t}]: the cap {float(v):g} is below the channel's "
                        f"lower bound {lower[name]:g}; lower the bound or raise the cap"
                    )
        for name, weeks in self.dark.items():
            for j, t in enumerate(weeks):
                if isinstance(t, bool) or int(t) != t or not 0 <= int(t) < T:
                    raise SpecError(
                        f"problem.dark.{name}[{j}]: a dark period is a period index in "
                        f"0..{T - 1} (got {t!r})"
                    )
        if self.max_change is not None:
            r = float(self.max_change)
            if not (math.isfinite(r) and r >= 0):
                raise SpecError(
                    f"problem.max_change: the largest relative change from one period to the "
                    f"next must be a finite number >= 0, e.g. 0.2 for +-20% (got {self.max_change})"
                )
        if self.min_flight is not None:
            m = self.min_flight
            if isinstance(m, bool) or int(m) != m or not 1 <= int(m) <= T:
                raise SpecError(
                    f"problem.min_flight: the minimum flight length is a number of periods in "
                    f"1..{T} (got {m!r})"
                )
            if not all(c.response.is_concave for c in self.channels):
                raise SpecError(
                    "problem.min_flight: flights are planned with concave curves only (an "
                    "S-shaped curve has no certified flight plan); use concave curves"
                )
            simple = self.objective in ("kpi", "profit")
            if self.combine != "additive" or self.risk != "mean" or not simple:
                raise SpecError(
                    "problem.min_flight: needs combine 'additive', risk 'mean' and objective "
                    "'kpi' or 'profit'"
                )
        if self.min_flight_spend is not None:
            _amount(self.min_flight_spend, "problem.min_flight_spend", positive=True)
        r = float(self.discount)
        if not (math.isfinite(r) and 0 <= r < 1):
            raise SpecError(
                f"problem.discount: the discount rate per period must be in [0, 1), e.g. "
                f"0.001 per week (got {self.discount})"
            )
        if not isinstance(self.carry_out, bool):
            raise SpecError(f"problem.carry_out: expected true or false, got {self.carry_out!r}")
        for name, w in self.lag_weights.items():
            arr = np.asarray(w, dtype=float)
            if arr.ndim not in (1, 2) or arr.shape[-1] < 1 or not np.all(np.isfinite(arr)):
                raise SpecError(
                    f"problem.lag_weights.{name}: expected finite lag weights (L,) or per "
                    f"draw (R, L), got shape {arr.shape}"
                )
            if np.any(arr < 0) or np.any(arr.sum(-1) <= 0):
                raise SpecError(
                    f"problem.lag_weights.{name}: weights must be >= 0 with a positive sum"
                )
        if self.lag_weights and set(self.lag_weights) != known:
            missing = sorted(known - set(self.lag_weights))
            raise SpecError(
                f"problem.lag_weights: give every channel's weights or none (missing {missing})"
            )

    def _budget_binds(self) -> bool:
        return self.budget is not None and self.elastic_penalty is None

    def reachable_kpi(self) -> float | None:
        """An upper bound on the KPI any plan can reach: every channel's (posterior-mean)
        curve at its upper bound, at the total budget (when it is hard), or at `MAX_AMOUNT`,
        summed -- ``None`` where it is not a simple sum (several periods, the multiplicative
        combination). The curves increase with spend, so no plan reaches more."""
        if self.periods != 1 or self.combine != "additive":
            return None
        total = 0.0
        for c in self.channels:
            top = MAX_AMOUNT if c.upper is None else c.upper
            if self._budget_binds():
                top = min(top, float(self.budget))
            with np.errstate(all="ignore"):
                total += float(c.response.mean(np.array([top]))[0])
        return total if math.isfinite(total) else None

    # -- views -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def responses(self) -> list[Response]:
        return [c.response for c in self.channels]

    @property
    def n(self) -> int:
        return len(self.channels)

    def lower(self) -> np.ndarray:
        return np.array([c.lower for c in self.channels], dtype=float)

    def upper(self) -> np.ndarray:
        return np.array([np.inf if c.upper is None else c.upper for c in self.channels])

    def reference(self) -> np.ndarray | None:
        """Current spend per period (``None`` unless every channel has one)."""
        refs = [c.response.reference_spend for c in self.channels]
        if any(r is None for r in refs):
            return None
        return np.array(refs, dtype=float)

    def carryover(self) -> np.ndarray:
        """Geometric carry-over ``(R, n)``: ``R`` posterior draws (1 when no channel has draws)."""
        arrs = []
        for c in self.channels:
            v = c.response.carryover
            arrs.append(np.zeros(1) if v is None else np.atleast_1d(np.asarray(v, dtype=float)))
        sizes = {a.size for a in arrs} - {1}
        if len(sizes) > 1:
            raise SpecError(
                f"carry-over draws must have one length across channels (got {sorted(sizes)})"
            )
        R = sizes.pop() if sizes else 1
        return np.stack([np.broadcast_to(a, (R,)) for a in arrs], axis=1)

    def lower_tn(self) -> np.ndarray:
        """Lower bounds per period and channel ``(T, n)``: 0 in dark periods."""
        lo = np.tile(self.lower(), (self.periods, 1))
        for i, name in enumerate(self.names):
            for t in self.dark.get(name, ()):
                lo[int(t), i] = 0.0
        return lo

    def upper_tn(self) -> np.ndarray:
        """Upper bounds per period and channel ``(T, n)``: the channel's bound, its per-period
        caps, 0 in dark periods."""
        up = np.tile(self.upper(), (self.periods, 1))
        for i, name in enumerate(self.names):
            for t, v in enumerate(self.caps.get(name, ())):
                if v is not None:
                    up[t, i] = min(up[t, i], float(v))
            for t in self.dark.get(name, ()):
                up[int(t), i] = 0.0
        return up

    def is_dark(self) -> np.ndarray:
        """``(T, n)`` booleans: the dark periods."""
        d = np.zeros((self.periods, self.n), bool)
        for i, name in enumerate(self.names):
            for t in self.dark.get(name, ()):
                d[int(t), i] = True
        return d

    def pacing_rows(self) -> list[Row]:
        """The max-change rows over spend per (period, channel) (coef of length ``T n``):
        ``x_t - (1 + r) x_{t-1} <= 0`` and ``(1 - r) x_{t-1} - x_t <= 0``; the first period
        against the last value of ``history`` (a constant; none when that week had no spend,
        so a channel that is off may start); pairs touching a dark period are exempt."""
        if self.max_change is None:
            return []
        r = float(self.max_change)
        T, n = self.periods, self.n
        dark = self.is_dark()
        rows: list[Row] = []
        for i, name in enumerate(self.names):
            hist = list(self.history.get(name, ()))
            for t in range(T):
                if dark[t, i] or (t > 0 and dark[t - 1, i]):
                    continue
                if t == 0 and (not hist or float(hist[-1]) <= 0):
                    continue  # off in the last week of history: the first week starts a flight
                up = np.zeros(T * n)
                down = np.zeros(T * n)
                up[t * n + i], down[t * n + i] = 1.0, -1.0
                if t == 0:
                    h = float(hist[-1])
                    rhs_up, rhs_down = (1 + r) * h, -(1 - r) * h
                else:
                    up[(t - 1) * n + i], down[(t - 1) * n + i] = -(1 + r), 1 - r
                    rhs_up = rhs_down = 0.0
                what = f"'{name}' period {t} vs {'history' if t == 0 else t - 1}"
                rows.append(Row(f"max change +{r:g} of {what}", up, rhs_up, False, "pacing"))
                if r < 1:
                    rows.append(
                        Row(f"max change -{r:g} of {what}", down, rhs_down, False, "pacing")
                    )
        return rows

    def discount_weights(self, n_periods: int) -> np.ndarray:
        """``(1 + r)^-p`` for effective periods ``p = 0 .. n_periods - 1``."""
        return (1.0 + float(self.discount)) ** -np.arange(n_periods, dtype=float)

    def flight_floor(self) -> float:
        """The spend per period that counts as on for ``min_flight``: ``min_flight_spend``, or
        5% of the mean spend per period and channel the budget allows (else of today's)."""
        if self.min_flight_spend is not None:
            return float(self.min_flight_spend)
        if self.budget is not None and self.budget > 0:
            return 0.05 * float(self.budget) / (self.n * self.periods)
        ref = self.reference()
        if ref is not None and ref.sum() > 0:
            return 0.05 * float(ref.mean())
        raise SpecError(
            "problem.min_flight_spend: give the spend per period that counts as on (there is "
            "no budget or current spend to take 5% of)"
        )

    def flight_ok(self, x: np.ndarray, tol: float = 1e-9) -> bool:
        """Whether spend ``x`` (T, n) keeps the flight rules: each period is off (0) or on (at
        least `flight_floor`), and every run of on periods lasts ``min_flight`` periods (a run
        that reaches the end of the horizon may be cut there; a run that continues the last
        weeks of ``history`` counts them)."""
        if self.min_flight is None:
            return True
        x = np.asarray(x, dtype=float).reshape(self.periods, self.n)
        floor = self.flight_floor()
        scale = max(floor, 1.0)
        on = x > tol * scale
        if np.any(on & (x < floor * (1 - 1e-7) - tol * scale)):
            return False
        m = int(self.min_flight)
        for i, name in enumerate(self.names):
            run = _history_run(self.history.get(name, ()))
            for t in range(self.periods):
                if on[t, i]:
                    run += 1
                elif run:
                    if run < m:
                        return False
                    run = 0
        return True

    def dept_matrix(self) -> np.ndarray:
        """Shares ``(n_departments, n_channels)``."""
        depts = list(self.departments)
        m = np.zeros((len(depts), self.n))
        for i, c in enumerate(self.channels):
            for d, s in (c.shares or {}).items():
                m[depts.index(d), i] = float(s)
        return m

    def linear_rows(self) -> list[Row]:
        """Every linear constraint on total spend per channel (over all periods), by name."""
        rows: list[Row] = []
        el = self.elastic_penalty is not None
        if self.budget is not None:
            rows.append(Row(f"total budget ({self.budget:g})", np.ones(self.n), self.budget, el))
        shares = self.dept_matrix()
        for j, (d, b) in enumerate(self.departments.items()):
            rows.append(
                Row(
                    f"department '{d}' budget ({float(b):g})", shares[j], float(b), el, "department"
                )
            )
        names = self.names
        for g in self.groups:
            coef = np.array([1.0 if n in g.channels else 0.0 for n in names])
            if g.max is not None:
                rows.append(Row(f"group '{g.name}' max ({g.max:g})", coef, g.max, False, "group"))
            if g.min is not None:
                rows.append(Row(f"group '{g.name}' min ({g.min:g})", -coef, -g.min, False, "group"))
        return rows

    def with_budget(self, budget: float) -> Problem:
        """The same problem with another total budget (used by the frontier sweep)."""
        return replace(self, budget=float(budget))

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        """Build from the YAML / JSON mapping documented in the README.

        The mapping is validated against :class:`mediamix.optimize.schema.ProblemSpec`;
        every error is one :class:`SpecError` naming the key path
        (``problem.channels[2].response.beta: expected a number, got 'lots'``).
        """
        if not isinstance(d, Mapping):
            raise SpecError(
                "problem: a problem file must be a mapping with a 'channels' list "
                f"(got {type(d).__name__})"
            )
        check_channel_keys(d.get("channels"))
        spec = validate(ProblemSpec, d, "problem")
        channels = [_channel(c, i, spec.kpi_value) for i, c in enumerate(spec.channels)]
        risk = spec.risk.type
        alpha = spec.alpha if spec.risk.alpha is None else spec.risk.alpha
        for key, value, allowed in (
            ("objective", spec.objective, OBJECTIVES),
            ("combine", spec.combine, COMBINES),
            ("risk", risk, RISKS),
            ("method", spec.method, SOLVE_METHODS),
        ):
            choice(value, allowed, f"problem.{key}")
        return cls(
            channels=tuple(channels),
            budget=spec.budget,
            objective=spec.objective,
            combine=spec.combine,
            kpi_value=spec.kpi_value,
            departments={k: v.budget for k, v in spec.departments.items()},
            groups=tuple(
                Group(name, tuple(g.channels), g.max, g.min) for name, g in spec.groups.items()
            ),
            elastic_penalty=None if spec.elastic is None else spec.elastic.penalty,
            risk=risk,
            alpha=alpha,
            kpi_target=spec.kpi_target,
            min_roas=spec.min_roas,
            max_cpa=spec.max_cpa,
            base=spec.base,
            periods=spec.periods,
            history={k: list(v) for k, v in spec.history.items()},
            method=spec.method,
            gap_tol=spec.gap,
            max_nodes=spec.max_nodes,
            time_limit=spec.time_limit,
            caps={k: list(v) for k, v in spec.caps.items()},
            dark={k: list(v) for k, v in spec.dark.items()},
            max_change=spec.max_change,
            min_flight=spec.min_flight,
            min_flight_spend=spec.min_flight_spend,
            discount=spec.discount,
            carry_out=spec.carry_out,
        )

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> Problem:
        """Read a problem from a YAML file (or YAML text)."""
        from mediamix.yamlio import read_yaml

        return cls.from_dict(read_yaml(path_or_text, "problem"))

    @classmethod
    def from_fitted(
        cls,
        fitted: Any,
        budget: float | None = None,
        *,
        bounds: Mapping[str, Sequence[float | None]] | None = None,
        relative_bounds: float | None = None,
        **options: Any,
    ) -> Problem:
        """Build a problem from a fitted model.

        Contract with the model side: ``fitted.responses()`` returns a list of
        :class:`Response` (one per channel, posterior draws in the parameters) and
        ``fitted.current_spend()`` returns ``{channel: spend per period}``, used as each
        channel's reference spend. ``budget`` defaults to the current total spend.
        ``relative_bounds=0.3`` keeps every channel within +-30% of its current spend;
        ``bounds`` gives absolute ``[lower, upper]`` per channel name. Other keyword
        arguments are :class:`Problem` fields (``objective``, ``risk``, ...).
        """
        responses = list(fitted.responses())
        current = dict(fitted.current_spend())
        channels = []
        for r in responses:
            if not isinstance(r, Response):
                raise SpecError("fitted.responses() must return mediamix.optimize.Response objects")
            ref = current.get(r.name, r.reference_spend)
            if ref is not None:
                r = replace(r, reference_spend=float(ref))
            lo, hi = 0.0, None
            if relative_bounds is not None and ref is not None:
                lo, hi = (1 - relative_bounds) * float(ref), (1 + relative_bounds) * float(ref)
                lo = max(lo, 0.0)
            if bounds and r.name in bounds:
                b = list(bounds[r.name])
                lo = 0.0 if b[0] is None else float(b[0])
                hi = None if b[1] is None else float(b[1])
            channels.append(Channel(r, lo, hi))
        if budget is None:
            budget = float(sum(float(current.get(r.name, 0.0)) for r in responses))
        return cls(channels=tuple(channels), budget=float(budget), **options)


def _history_run(values: Sequence[float]) -> int:
    """How many periods at the end of ``values`` have spend (> 0)."""
    run = 0
    for v in reversed(list(values)):
        if float(v) > 0:
            run += 1
        else:
            break
    return run


def _channel(c, i: int, kpi_value: float) -> Channel:
    """A :class:`Channel` from a validated :class:`~mediamix.optimize.schema.ChannelSpec`."""
    where = f"problem.channels[{i}]"
    name = c.name
    family, params = response_params(c.response, f"{where}.response")
    ref = c.reference_spend if c.reference_spend is not None else c.current
    price = numbers(c.unit_price, f"{where}.unit_price")
    carry = None if c.carryover is None else numbers(c.carryover, f"{where}.carryover")
    try:
        resp = Response(name, family, params, price, ref, carry, kpi_value)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    lo, hi = 0.0, None
    if c.relative_bounds is not None:
        if ref is None:
            raise SpecError(
                f"{where}.relative_bounds: channel '{name}': 'relative_bounds' needs "
                "'reference_spend'"
            )
        down, up = c.relative_bounds
        lo = max(0.0, ref * (1 + down))
        hi = ref * (1 + up)
    if c.bounds is not None:
        lo = 0.0 if c.bounds[0] is None else c.bounds[0]
        hi = c.bounds[1]
    if hi is not None and math.isinf(hi) and hi > 0:
        hi = None  # `.inf` as the upper bound: no upper bound
    return Channel(resp, lo, hi, c.shares)
