"""A one-day campaign simulator: a stream of bid requests, competitors, a budget, pacing.

Requests arrive over 24 hours with a daily rhythm (intensity ``1 + diurnal * sin(2 pi (t -
9) / 24)``, peaking mid-afternoon). Each request carries an impression from
:func:`mediamix.rtb.ctr.simulate_impressions` (so it has a true CTR) and the highest competing
bid ``H`` drawn from a value distribution spec (price per impression). Our value is
``v = CPC * pCTR`` (the predicted CTR: the truth, or a fitted model's prediction).

Bidding strategies (``base`` + optional ``pacing``):

- ``truthful``: bid ``v`` (the dominant strategy in a second-price auction);
- ``shaded``: bid ``argmax_b (v - b) P(win | b)`` with ``P(win | b)`` the empirical CDF of
  yesterday's winning prices (first-price practice);
- pacing ``multiplier``: bid ``m * b`` with ``m`` in (0, 1] steered after every control
  interval toward the target spend curve: the next interval should spend its share of the
  target plus ``gap / horizon``, so ``m <- m * clip((wanted / spent_last) ** gain, 1/2, 2)``;
- pacing ``throttle``: take part in each auction with probability ``q`` steered the same way.

The target curve is ``B * t / 24`` ("time": even through the day) or ``B`` times the expected
share of the day's traffic up to ``t`` ("traffic"). A win whose price would take the spend past
the budget ends the campaign: that moment is the budget exhaustion time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mediamix.errors import SpecError
from mediamix.rtb.auctions import _check_mechanism
from mediamix.rtb.bidding import WinRateModel
from mediamix.rtb.distributions import parse_distribution

BASES = ("truthful", "shaded")
PACINGS = (None, "multiplier", "throttle")


@dataclass(frozen=True)
class CampaignSpec:
    """The day to simulate: budget, value per click, traffic, auction type and competition."""

    budget: float
    cpc: float = 1.0
    n_requests: int = 100_000
    mechanism: str = "second"
    competitor: str = "lognormal:-3.9:0.5"  # highest competing bid, price per impression
    floor: float = 0.0
    diurnal: float = 0.5
    control_minutes: float = 15.0

    def __post_init__(self) -> None:
        if not self.budget > 0:
            raise SpecError(f"budget must be > 0, got {self.budget}")
        if not self.cpc > 0:
            raise SpecError(f"cpc must be > 0, got {self.cpc}")
        if self.n_requests < 100:
            raise SpecError(f"n_requests must be >= 100, got {self.n_requests}")
        if not 0 <= self.diurnal < 1:
            raise SpecError(f"diurnal amplitude must be in [0, 1), got {self.diurnal}")
        if not 0 < self.control_minutes <= 240:
            raise SpecError(f"control_minutes must be in (0, 240], got {self.control_minutes}")
        if self.floor < 0:
            raise SpecError(f"floor must be >= 0, got {self.floor}")
        _check_mechanism(self.mechanism)
        parse_distribution(self.competitor)


@dataclass(frozen=True)
class Strategy:
    """How to bid: ``base`` in {truthful, shaded}, ``pacing`` in {None, multiplier, throttle}."""

    base: str = "truthful"
    pacing: str | None = None
    target: str = "time"  # "time" (even through the day) or "traffic"
    gain: float = 0.3
    horizon: float = 4.0
    interval_cap: float = 2.0  # a control interval stops bidding at cap x its wanted spend

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise SpecError(f"strategy base {self.base!r} is unknown; use one of {BASES}")
        if self.pacing not in PACINGS:
            raise SpecError(
                f"pacing {self.pacing!r} is unknown; use none, 'multiplier' or 'throttle'"
            )
        if self.target not in ("time", "traffic"):
            raise SpecError(f"pacing target {self.target!r} is unknown; use 'time' or 'traffic'")

    @property
    def name(self) -> str:
        return self.base if self.pacing is None else f"{self.base}+{self.pacing}"

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """``truthful``, ``shaded``, ``truthful+multiplier``, ``shaded+throttle``, ..."""
        base, _, pacing = text.partition("+")
        return cls(base=base.strip(), pacing=pacing.strip() or None)


@dataclass(frozen=True)
class CampaignResult:
    """What a strategy did over the day."""

    strategy: str
    requests: int
    bids: int
    impressions: int
    clicks: int
    spend: float
    value: float  # CPC x clicks
    exhausted_at: float | None  # hour the budget ran out, None if it lasted the day
    curve_hours: np.ndarray = field(repr=False)  # control-interval ends, 0 .. 24
    curve_spend: np.ndarray = field(repr=False)  # cumulative spend at those hours
    target_spend: np.ndarray = field(repr=False)  # the pacing target at those hours

    @property
    def cpc(self) -> float:
        return self.spend / self.clicks if self.clicks else float("nan")

    @property
    def win_rate(self) -> float:
        """Impressions won per request seen."""
        return self.impressions / self.requests if self.requests else 0.0

    def max_pacing_error(self, budget: float) -> float:
        """max_t |spend(t) - target(t)| / budget over the control points."""
        return float(np.max(np.abs(self.curve_spend - self.target_spend)) / budget)

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "requests": self.requests,
            "bids": self.bids,
            "impressions": self.impressions,
            "clicks": self.clicks,
            "spend": self.spend,
            "cpc": self.cpc,
            "win_rate": self.win_rate,
            "value": self.value,
            "exhausted_at": self.exhausted_at,
        }


@dataclass(frozen=True)
class RequestStream:
    """One day of bid requests (time-sorted)."""

    hours: np.ndarray
    true_ctr: np.ndarray
    pctr: np.ndarray
    competitor: np.ndarray  # highest competing bid per request
    frame: object  # the impressions (pandas DataFrame)


def _intensity(hours, diurnal):
    return 1.0 + diurnal * np.sin(2 * np.pi * (np.asarray(hours) - 9.0) / 24.0)


def _traffic_share(hours, diurnal):
    """Expected share of the day's traffic before ``hours`` (closed-form integral)."""
    h = np.asarray(hours, dtype=float)
    w = 2 * np.pi / 24.0
    cum = h - diurnal / w * (np.cos(w * (h - 9.0)) - np.cos(w * -9.0))
    total = 24.0  # the sine integrates to 0 over a whole day
    return cum / total


def simulate_requests(spec: CampaignSpec, seed: int = 0, ctr_model=None) -> RequestStream:
    """Draw the day's requests; ``ctr_model`` (with ``predict_rows``) gives pCTR, else truth."""
    from mediamix.rtb.ctr.impressions import simulate_impressions

    rng = np.random.default_rng(seed)
    n = spec.n_requests
    # arrival times by thinning a uniform stream against the daily intensity
    hours = np.empty(0)
    while hours.size < n:
        cand = rng.uniform(0, 24, 2 * n)
        keep = rng.uniform(0, 1 + spec.diurnal, cand.size) < _intensity(cand, spec.diurnal)
        hours = np.concatenate([hours, cand[keep]])
    hours = np.sort(hours[:n])
    log = simulate_impressions(n, seed=seed + 1, days=1.0)
    frame = log.frame.copy()
    frame["time"] = hours
    frame["hour"] = np.floor(hours).astype(int)
    true_ctr = frame["ctr"].to_numpy()
    pctr = true_ctr if ctr_model is None else np.asarray(ctr_model.predict_rows(frame))
    competitor = parse_distribution(spec.competitor).sample(n, rng)
    return RequestStream(hours, true_ctr, pctr, np.asarray(competitor, float), frame)


def simulate_campaign(
    spec: CampaignSpec,
    strategy: Strategy | str = "truthful",
    seed: int = 0,
    stream: RequestStream | None = None,
    history: np.ndarray | None = None,
) -> CampaignResult:
    """Run one strategy over one simulated day (the same ``seed`` gives the same day).

    ``history`` are logged winning prices for shading (default: a fresh day of competitor bids,
    floored at the reserve, i.e. "yesterday's" log).
    """
    if isinstance(strategy, str):
        strategy = Strategy.parse(strategy)
    mechanism = _check_mechanism(spec.mechanism)
    stream = stream if stream is not None else simulate_requests(spec, seed)
    rng = np.random.default_rng(seed + 7919)
    n = stream.hours.size
    value = spec.cpc * stream.pctr
    if strategy.base == "truthful":
        base_bid = value.copy()
    else:
        if history is None:
            hist_rng = np.random.default_rng(seed + 104729)
            history = parse_distribution(spec.competitor).sample(20_000, hist_rng)
        model = WinRateModel.from_prices(np.maximum(np.asarray(history, float), spec.floor))
        base_bid = model.shade(value, floor=spec.floor)
    base_bid = np.where(np.isnan(base_bid) | (value < spec.floor), 0.0, base_bid)
    clicks_draw = rng.uniform(size=n) < stream.true_ctr
    participate_draw = rng.uniform(size=n)

    n_int = int(round(24 * 60 / spec.control_minutes))
    edges = np.linspace(0.0, 24.0, n_int + 1)
    bounds = np.searchsorted(stream.hours, edges)
    if strategy.target == "time":
        target = spec.budget * edges / 24.0
    else:
        target = spec.budget * _traffic_share(edges, spec.diurnal)

    control = 1.0  # multiplier m or participation probability q
    wanted = target[1] - target[0]
    spent, bids_made, wins, clicks = 0.0, 0, 0, 0
    exhausted_at = None
    curve = np.zeros(n_int + 1)
    for k in range(n_int):
        lo, hi = bounds[k], bounds[k + 1]
        if exhausted_at is None and hi > lo:
            bid = base_bid[lo:hi]
            active = bid > 0
            if strategy.pacing == "multiplier":
                bid = bid * control
            elif strategy.pacing == "throttle":
                active &= participate_draw[lo:hi] < control
            bid = np.minimum(bid, spec.budget - spent)  # never bid above the remaining budget
            hurdle = np.maximum(stream.competitor[lo:hi], spec.floor)
            won = active & (bid >= hurdle) & (bid > 0)
            price = np.where(won, bid if mechanism == "first" else hurdle, 0.0)
            cum = np.cumsum(price)
            over = np.flatnonzero(cum > spec.budget - spent + 1e-12)
            if over.size:
                stop = over[0]
                exhausted_at = float(stream.hours[lo + stop])
                won[stop:] = False
                active[stop:] = False
                price = np.where(won, price, 0.0)
            elif strategy.pacing is not None:
                # interval cap: stop bidding for the rest of the interval at cap x wanted
                capped = np.flatnonzero(cum > strategy.interval_cap * wanted)
                if capped.size:
                    won[capped[0] :] = False
                    active[capped[0] :] = False
                    price = np.where(won, price, 0.0)
            bids_made += int(active.sum())
            wins += int(won.sum())
            clicks += int((won & clicks_draw[lo:hi]).sum())
            spent += float(price.sum())
        interval_spend = spent - curve[k]
        curve[k + 1] = spent
        if strategy.pacing is not None and k + 1 < n_int:
            # spend wanted in the next interval: its share of the target plus a catch-up of
            # the current gap spread over `horizon` intervals
            nxt = target[k + 2] - target[k + 1]
            last_wanted = wanted
            wanted = max(nxt + (target[k + 1] - spent) / strategy.horizon, 0.05 * nxt)
            if interval_spend >= strategy.interval_cap * last_wanted * (1 - 1e-9):
                # the cap hid how much the interval would have spent: assume twice the cap
                interval_spend = max(interval_spend, 2.0 * strategy.interval_cap * last_wanted)
            ratio = wanted / max(interval_spend, 1e-9 * spec.budget)
            factor = float(np.clip(ratio**strategy.gain, 0.5, 2.0))
            control = float(np.clip(control * factor, 1e-3, 1.0))
    return CampaignResult(
        strategy=strategy.name,
        requests=n,
        bids=bids_made,
        impressions=wins,
        clicks=clicks,
        spend=spent,
        value=spec.cpc * clicks,
        exhausted_at=exhausted_at,
        curve_hours=edges,
        curve_spend=curve,
        target_spend=target,
    )


def compare_strategies(
    spec: CampaignSpec, strategies=("truthful", "shaded", "truthful+multiplier"), seed: int = 0
) -> list[CampaignResult]:
    """Run several strategies on the same simulated day."""
    stream = simulate_requests(spec, seed)
    return [simulate_campaign(spec, s, seed=seed, stream=stream) for s in strategies]
