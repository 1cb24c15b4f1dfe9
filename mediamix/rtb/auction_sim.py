"""A budget-aware auction simulator: one day of impression opportunities against the plan.

A day has ``opportunities`` impression opportunities arriving by a traffic profile
(:meth:`TrafficProfile.sample_hours`). At each one we and ``k`` competitors hold values (CPM,
drawn from value distributions by name, :mod:`mediamix.rtb.distributions`) and bid in a
first- or second-price auction with a floor (:func:`mediamix.rtb.auctions.run_auctions`). An
opportunity is a lot of ``impressions_per_opportunity`` impressions, so a win costs
``price * impressions_per_opportunity / 1000``.

Competitors bid their value at second price and the symmetric equilibrium bid
(:func:`mediamix.rtb.bidding.equilibrium_bid_function`) at first price; some have a daily
budget (a share of what they would spend unconstrained that day) and pace it with the same
dual controller, or run until it is gone.

Our strategies start from the capped value ``u = min(v, v / hurdle)`` (the plan's break-even
bid ``v / hurdle``; never above the value itself):

- ``truthful``: bid ``u``, unpaced;
- ``shaded``: first-price shading against yesterday's winning prices,
  ``argmax_b (u - b) P(win | b)`` (:class:`mediamix.rtb.bidding.WinRateModel`), unpaced;
- ``paced``: dual (Lagrangian) pacing to the plan's hourly targets, ``u / (1 + mu)``, then
  shaded at first price; ``paced_pi`` the same with the PI controller.

A win that would take a bidder past its budget ends its day (that hour is when the budget
ran out). Measured against the plan's daily budget ``D``: the delivery error
``spend / D - 1``, the value won per unit of spend, the hour the budget ran out, and the
largest ``bid - cap`` over every bid made (never above 0).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from mediamix.errors import SpecError
from mediamix.rtb.auctions import _check_mechanism, run_auctions
from mediamix.rtb.bidding import WinRateModel, equilibrium_bid_function
from mediamix.rtb.distributions import parse_distribution
from mediamix.rtb.pacing import PACERS, DayPacing, TrafficProfile
from mediamix.rtb.plan_targets import PlanTargets

STRATEGIES = ("truthful", "shaded", "paced", "paced_pi")


@dataclass(frozen=True)
class Competitor:
    """A rival bidder: its value distribution (CPM) and, optionally, a paced daily budget."""

    value: str = "lognormal:0.6:0.5"
    budget_share: float | None = None  # daily budget as a share of its unconstrained spend
    pacing: str | None = "dual"  # with a budget: "dual", "pi" or None (spend until gone)

    def __post_init__(self) -> None:
        parse_distribution(self.value)
        if self.budget_share is not None and not 0 < self.budget_share <= 10:
            raise SpecError(f"competitor budget_share must be in (0, 10], got {self.budget_share}")
        if self.pacing is not None and self.pacing not in PACERS:
            raise SpecError(f"competitor pacing {self.pacing!r} is unknown; use one of {PACERS}")


DEFAULT_COMPETITORS = (
    Competitor("lognormal:0.6:0.5"),
    Competitor("lognormal:0.4:0.6"),
    Competitor("lognormal:0.9:0.4", budget_share=0.5, pacing="dual"),
    Competitor("lognormal:0.8:0.5", budget_share=0.6, pacing=None),
)


@dataclass(frozen=True)
class MarketSpec:
    """One day's market: opportunities, values, competitors, auction type, floor."""

    opportunities: int = 20_000
    value: str = "lognormal:1.0:0.6"  # our value per impression, CPM in the plan's KPI units
    competitors: tuple[Competitor, ...] = DEFAULT_COMPETITORS
    mechanism: str = "second"
    floor: float = 0.0  # CPM
    impressions_per_opportunity: float = 1000.0
    interval_minutes: float = 15.0
    profile: TrafficProfile = field(default_factory=TrafficProfile.default)  # real traffic

    def __post_init__(self) -> None:
        if int(self.opportunities) < 100:
            raise SpecError(f"opportunities must be >= 100, got {self.opportunities}")
        parse_distribution(self.value)
        object.__setattr__(self, "mechanism", _check_mechanism(self.mechanism))
        if not (math.isfinite(self.floor) and self.floor >= 0):
            raise SpecError(f"floor must be a finite CPM >= 0, got {self.floor}")
        if not self.impressions_per_opportunity > 0:
            raise SpecError(
                f"impressions_per_opportunity must be > 0, got {self.impressions_per_opportunity}"
            )
        if not 0 < self.interval_minutes <= 240:
            raise SpecError(f"interval_minutes must be in (0, 240], got {self.interval_minutes}")
        if not self.competitors:
            raise SpecError("give at least one competitor")


@dataclass(frozen=True)
class DayResult:
    """What our strategy did over one simulated day, against the plan's daily budget."""

    strategy: str
    mechanism: str
    seed: int
    budget: float
    spend: float
    value: float  # value won (same currency as spend)
    wins: int  # opportunities won
    bids: int  # bids made (> 0 and >= floor)
    exhausted_at: float | None  # hour the budget ran out, None if it lasted the day
    max_cap_excess: float  # max over our bids of bid - cap (CPM); <= 0 means capped
    min_win_roas: float  # min over our wins of value / price (>= hurdle)
    hurdle: float
    hourly_spend: np.ndarray = field(repr=False)  # (24,)
    hourly_target: np.ndarray = field(repr=False)  # (24,)
    competitor_spend: tuple[float, ...] = ()

    @property
    def delivery_error(self) -> float:
        """``spend / budget - 1`` (negative: under-delivered)."""
        return self.spend / self.budget - 1.0 if self.budget > 0 else 0.0

    @property
    def max_pacing_error(self) -> float:
        """``max_h |spend by hour h - target by hour h| / budget``: how closely the day's
        spend followed the plan's hourly curve."""
        gap = np.cumsum(self.hourly_spend) - np.cumsum(self.hourly_target)
        return float(np.abs(gap).max() / self.budget) if self.budget > 0 else 0.0

    @property
    def value_per_spend(self) -> float:
        return self.value / self.spend if self.spend > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "mechanism": self.mechanism,
            "seed": self.seed,
            "budget": self.budget,
            "spend": self.spend,
            "delivery_error": self.delivery_error,
            "max_pacing_error": self.max_pacing_error,
            "value": self.value,
            "value_per_spend": self.value_per_spend,
            "wins": self.wins,
            "bids": self.bids,
            "exhausted_at": self.exhausted_at,
            "max_cap_excess": self.max_cap_excess,
            "min_win_roas": self.min_win_roas,
            "hurdle": self.hurdle,
        }


@functools.lru_cache(maxsize=32)
def _equilibrium(n_bidders: int, spec: str):
    return equilibrium_bid_function(n_bidders, spec, n_grid=21)  # ~0.3% off at 129 points


@dataclass(frozen=True)
class _Day:
    hours: np.ndarray  # (N,)
    ours: np.ndarray  # (N,) our values, CPM
    rivals: np.ndarray  # (N, k) competitor values
    rival_bids: np.ndarray  # (N, k) competitor base bids (truthful or equilibrium)
    history: np.ndarray  # yesterday's highest competing bid per opportunity (for shading)


def _draw_day(market: MarketSpec, seed: int) -> _Day:
    rng = np.random.default_rng(seed)
    n = int(market.opportunities)
    hours = market.profile.sample_hours(n, rng)
    ours = np.asarray(parse_distribution(market.value).sample(n, rng), float)
    rivals = np.column_stack(
        [parse_distribution(c.value).sample(n, rng) for c in market.competitors]
    ).astype(float)
    rival_bids = _rival_bids(market, rivals)
    hist_rng = np.random.default_rng(seed + 104_729)  # yesterday: a fresh day of rivals
    yesterday = np.column_stack(
        [parse_distribution(c.value).sample(n, hist_rng) for c in market.competitors]
    ).astype(float)
    history = np.maximum(_rival_bids(market, yesterday).max(axis=1), market.floor)
    return _Day(hours, ours, rivals, rival_bids, history)


def _rival_bids(market: MarketSpec, values: np.ndarray) -> np.ndarray:
    if market.mechanism == "second":
        return values.copy()
    n_bidders = len(market.competitors) + 1
    return np.column_stack(
        [_equilibrium(n_bidders, c.value)(values[:, j]) for j, c in enumerate(market.competitors)]
    )


def _check_strategy(strategy: str) -> str:
    s = str(strategy).lower().replace("-", "_").replace("+", "_")
    if s not in STRATEGIES:
        raise SpecError(f"strategy {strategy!r} is unknown; use one of {', '.join(STRATEGIES)}")
    return s


def _unconstrained_spend(market: MarketSpec, day: _Day, our_bid: np.ndarray) -> np.ndarray:
    """Each bidder's (us first) spend over the whole day with nobody budgeted (currency)."""
    bids = np.column_stack([our_bid, day.rival_bids])
    values = np.column_stack([day.ours, day.rivals])
    res = run_auctions(values, bids, market.mechanism, reserve=market.floor)
    lot = market.impressions_per_opportunity / 1000.0
    sold = res.winner >= 0
    return np.bincount(res.winner[sold], weights=res.price[sold] * lot, minlength=bids.shape[1])


def size_market(
    market: MarketSpec, daily_budget: float, hurdle: float, share: float = 0.6, seed: int = 0
) -> MarketSpec:
    """The market with ``impressions_per_opportunity`` set so that an unpaced truthful bidder
    capped at ``value / hurdle`` would spend ``daily_budget`` after about ``share`` of the
    day's traffic (the plan's budget is then reachable, and unpaced bidding runs out early)."""
    if not 0 < share <= 1:
        raise SpecError(f"share must be in (0, 1], got {share}")
    if not daily_budget > 0:
        raise SpecError(f"daily_budget must be > 0, got {daily_budget}")
    probe = replace(market, impressions_per_opportunity=1000.0)
    day = _draw_day(probe, seed)
    full = float(_unconstrained_spend(probe, day, np.minimum(day.ours, day.ours / hurdle))[0])
    if full <= 0:
        raise SpecError("our bidder wins nothing in this market at its cap; raise the values")
    return replace(market, impressions_per_opportunity=1000.0 * daily_budget / (share * full))


def simulate_day(
    market: MarketSpec,
    plan: PlanTargets,
    strategy: str = "paced",
    seed: int = 0,
    weekday: int = 0,
) -> DayResult:
    """Run our ``strategy`` for one day (same ``seed``: the same opportunities and rivals).

    The day's budget and hourly targets are the plan's for ``weekday`` (0 = Monday), the cap
    is ``value / plan.hurdle``.
    """
    strategy = _check_strategy(strategy)
    mech = market.mechanism
    day = _draw_day(market, seed)
    n, k = day.rivals.shape
    lot = market.impressions_per_opportunity / 1000.0
    budget = plan.daily_budget(weekday)
    hurdle = plan.hurdle
    cap = day.ours / hurdle
    shade = None
    if strategy == "shaded" or (strategy.startswith("paced") and mech == "first"):
        shade = WinRateModel.from_prices(day.history)

    # budgets: ours, then each budgeted competitor's share of its unconstrained spend
    full = _unconstrained_spend(market, day, np.minimum(day.ours, cap))
    budgets = np.full(k + 1, np.inf)
    budgets[0] = budget
    pacers: list[DayPacing | None] = [None] * (k + 1)
    step_h = market.interval_minutes / 60.0
    if strategy.startswith("paced"):
        kind = "pi" if strategy == "paced_pi" else "dual"
        pacers[0] = DayPacing(budget, plan.profile, kind=kind, interval_hours=step_h)
    for j, c in enumerate(market.competitors, start=1):
        if c.budget_share is not None:
            budgets[j] = max(c.budget_share * full[j], 1e-9)
            if c.pacing is not None:
                pacers[j] = DayPacing(
                    budgets[j], market.profile, kind=c.pacing, interval_hours=step_h
                )

    values = np.column_stack([day.ours, day.rivals])
    spent = np.zeros(k + 1)
    out = np.zeros(k + 1, dtype=bool)
    exhausted_at = None
    value_won, wins, n_bids = 0.0, 0, 0
    max_excess, min_roas = -np.inf, np.inf
    hourly = np.zeros(24)
    n_int = int(round(24 * 60 / market.interval_minutes))
    edges = np.linspace(0.0, 24.0, n_int + 1)
    bounds = np.searchsorted(day.hours, edges)
    for i in range(n_int):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        while lo < hi:
            factor = np.array([1.0 if p is None else p.factor for p in pacers])
            v = day.ours[lo:hi]
            paced = np.minimum(v, cap[lo:hi]) * factor[0]
            ours = shade.shade(paced, floor=market.floor) if shade is not None else paced
            ours = np.where(np.isnan(ours), 0.0, np.minimum(ours, cap[lo:hi]))
            bids = np.column_stack([ours, day.rival_bids[lo:hi] * factor[1:]])
            bids[:, out] = 0.0
            res = run_auctions(values[lo:hi], bids, mech, reserve=market.floor)
            cost = np.zeros_like(bids)
            sold = res.winner >= 0
            rows = np.flatnonzero(sold)
            cost[rows, res.winner[rows]] = res.price[rows] * lot
            over = np.cumsum(cost, axis=0) > (budgets - spent)[None, :] + 1e-12
            first = np.where(over.any(axis=0), over.argmax(axis=0), hi - lo)
            stop = int(first.min())  # opportunities before the first budget to run out
            took = slice(0, stop)
            made = bids[took, 0] > 0
            n_bids += int(made.sum())
            if made.any():
                max_excess = max(max_excess, float((bids[took, 0] - cap[lo : lo + stop]).max()))
            mine = res.winner[took] == 0
            wins += int(mine.sum())
            value_won += float(v[:stop][mine].sum() * lot)
            if mine.any():
                min_roas = min(min_roas, float((v[:stop][mine] / res.price[took][mine]).min()))
            hourly += np.bincount(
                day.hours[lo : lo + stop].astype(int).clip(0, 23),
                weights=cost[took, 0],
                minlength=24,
            )
            spent += cost[took].sum(axis=0)
            if stop < hi - lo:
                gone = np.flatnonzero(first == stop)
                out[gone] = True
                if 0 in gone and exhausted_at is None:
                    exhausted_at = float(day.hours[lo + stop])
            lo += stop if stop < hi - lo else hi - lo
        for j, p in enumerate(pacers):
            if p is not None and not out[j]:
                p.observe(edges[i + 1], float(spent[j]))
    return DayResult(
        strategy=strategy,
        mechanism=mech,
        seed=seed,
        budget=budget,
        spend=float(spent[0]),
        value=value_won,
        wins=wins,
        bids=n_bids,
        exhausted_at=exhausted_at,
        max_cap_excess=float(max_excess) if n_bids else 0.0,
        min_win_roas=float(min_roas) if wins else float("nan"),
        hurdle=hurdle,
        hourly_spend=hourly,
        hourly_target=plan.hourly(weekday),
        competitor_spend=tuple(float(s) for s in spent[1:]),
    )


def compare(
    market: MarketSpec,
    plan: PlanTargets,
    strategies=STRATEGIES,
    seeds=(0,),
    weekday: int = 0,
) -> list[DayResult]:
    """Every strategy on the same days (one per seed)."""
    return [simulate_day(market, plan, s, seed, weekday) for seed in seeds for s in strategies]
