"""An OpenRTB 2.6 HTTP bidder (FastAPI) that never commits more than its budget.

For each impression of a bid request the bidder predicts P(click) with its CTR model from the
request (site domain or app bundle, device type, OS, placement, hour, and the campaign's own
ad id), values the impression at ``CPC * P(click)`` and bids, as OpenRTB prices are, in CPM
(currency per thousand impressions):

- ``at = 2`` (second price): the value (truthful, the dominant strategy);
- ``at = 1`` (first price): the value shaded against logged winning prices,
  ``argmax_b (v - b) P(win | b)``, when a :class:`WinRateModel` is given, else the value.

It never bids below an impression's ``bidfloor`` (no bid instead).

**The budget.** Every bid *reserves* its maximum cost (price / 1000 for a CPM price) until
its outcome is known: a win notice (the clearing price replaces the reservation), a loss
notice, or its expiry ``bid_ttl`` seconds after it was made (sent to the exchange as the
bid's ``exp``). A bid is capped at ``budget - committed spend - open reservations``, so that
sum never exceeds the budget however many requests are in flight. The budget is per UTC day
(``budget_period="day"``) or for the bidder's whole life (``"total"``).

**The ledger.** Every bid is recorded in a :class:`~mediamix.rtb.ledger.Ledger` (SQLite; in
memory unless a store path is given) before the response leaves. A win notice is accepted
only for a known open bid, once, at a clearing price <= our bid (second-price clearing
included). Unknown (404), replayed or after-loss (409), expired (410), above-bid (400),
malformed (400) and unsigned or forged (403) notices are refused with
``{"error": <reason>, "reason": <key>}`` and counted in ``/status``.

**Notice authentication.** The win and loss URLs of our bids carry
``sig = HMAC-SHA256(store secret, "win:<bid id>")`` (``"loss:<bid id>"``), truncated to 32
hex digits; the secret lives in the store, so notices for bids made before a restart still
verify. The exchange substitutes only ``${AUCTION_PRICE}`` / ``${AUCTION_LOSS}``, so nobody
without the URL of one of our bids can send a notice for it, and the ledger bounds what a
leaked URL can do (one win, at most at our bid). With an access ``token``, every other route
except ``/healthz`` needs ``Authorization: Bearer <token>`` (bid requests included).

**Refusals and no-bids.** 400 names the fault's key path (``{"error": ...}``), 413 a
body over ``max_body_bytes``, 415 a declared non-JSON content type (a missing one is read as
JSON), 401 a missing or wrong token. JSON nested deeper than :data:`MAX_DEPTH` is a 400 (no
recursion on it). A request whose deadline cannot be met (time since it arrived +
``tmax_margin_ms`` > ``tmax``) is answered at once with ``{"id": ..., "nbr": 15}``
(insufficient auction time), a store failure with ``nbr`` 1 (technical error, and no bid
without its reservation on disk); other no-bids (floor above value, budget spent, currency)
have no OpenRTB reason code and are a plain 204, counted by reason in ``/status``.

**A plan's pacing and bid cap.** Given ``plan`` (:class:`~mediamix.rtb.plan_targets.PlanTargets`,
read from a plan JSON file), the day's budget is the plan's target for that UTC weekday
(``min`` with ``budget`` when one is given too), spread over the rest of the day by the
traffic profile (:class:`~mediamix.rtb.pacing.DayPacing`: every ``pace_seconds`` the spend of
the interval is compared with what it wanted, and the bid multiplier follows), and every bid
is capped at the break-even ``value / hurdle``:
``price = min(shade(factor * min(value, value / hurdle)), value / hurdle)`` (no shading at
second price; ``factor`` 1 at the start). No bid where that falls below the floor (``cap``
or ``pacing`` in the no-bid counts).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import math
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request, Response

from mediamix.errors import SpecError
from mediamix.rtb.bidding import WinRateModel
from mediamix.rtb.ledger import NANOS_PER_CPM, NANOS_PER_UNIT, BidRow, Ledger
from mediamix.rtb.pacing import PACERS, DayPacing
from mediamix.rtb.plan_targets import PlanTargets
from mediamix.rtb.schemas import DEVICE_TYPES, BidRequest, Imp, parse_bid_request
from mediamix.schemas import number

__all__ = [
    "ARRIVED_KEY",
    "MAX_BUDGET",
    "MAX_DEPTH",
    "NBR",
    "Bid",
    "BidRequest",
    "Bidder",
    "Imp",
    "NoticeRefused",
    "create_app",
    "nesting_depth",
    "stamped_http_protocol",
]

log = logging.getLogger(__name__)

MAX_BUDGET = 1e12  # currency units; money is counted in integer nano units below that
MAX_CPC = 1e6
MAX_DEPTH = 32  # JSON nesting of a bid request (OpenRTB objects nest about 6 deep)
MAX_BODY_BYTES = 2**20
NBR = {"technical": 1, "invalid": 2, "deadline": 15}  # OpenRTB no-bid reason codes
ARRIVED_KEY = "mediamix.arrived"  # scope key: time.monotonic() when the request's bytes came in
PERIODS = ("day", "total")
SIG_HEX = 32


def _error(message: str, **extra) -> bytes:
    return json.dumps({"error": message, **extra}).encode()


# ----------------------------------------------------------------------------- JSON nesting
_JSON_STRING = re.compile(rb'"(?:[^"\\]+|\\.)*"')
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_STEP = np.zeros(256, dtype=np.int64)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def nesting_depth(body: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not counted
    (linear time, no recursion)."""
    brackets = _JSON_STRING.sub(b'""', body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)]).max())


def _too_deep(body: bytes) -> int | None:
    """The nesting depth when it is over :data:`MAX_DEPTH`, else None (cheap when the body
    has fewer brackets than the limit, as almost every bid request has)."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return None
    depth = nesting_depth(body)
    return depth if depth > MAX_DEPTH else None


# ----------------------------------------------------------------------------- the bidder
def _hour_of_day(now: float) -> float:
    """Hours since UTC midnight (0 .. 24)."""
    return (now % 86400.0) / 3600.0


@dataclass(frozen=True)
class Bid:
    impid: str
    price: float  # CPM
    pctr: float
    bid_id: str = ""


class NoticeRefused(Exception):
    """A win or loss notice the ledger does not accept: HTTP status, reason key, message."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def _finite(value, name: str, lo: float, hi: float, lo_open: bool = False) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(out) and (out > lo if lo_open else out >= lo) and out <= hi
    if not ok:
        low = f"> {lo:g}" if lo_open else f">= {lo:g}"
        raise SpecError(f"{name} must be a finite number {low} and <= {hi:g}, got {value}")
    return out


class Bidder:
    """Bid decisions for one campaign (CTR model, CPC, budget) with reservations and a ledger.

    ``store``: a :class:`Ledger`, or a path of an SQLite file (created when missing), or None
    for an in-memory ledger. The bidder is thread-safe (one lock around the money).
    ``plan``: pace each day to the plan's daily target and cap bids at its break-even
    (``budget`` may then be None: the plan's target alone); ``pacer`` ``dual`` or ``pi``,
    updated every ``pace_seconds``.
    """

    def __init__(
        self,
        cpc: float,
        budget: float | None,
        model=None,
        ctr: float | None = None,
        win_rate: WinRateModel | None = None,
        ad_id: str = "ad-1",
        creative_id: str = "creative-1",
        seat: str = "mediamix",
        currency: str = "USD",
        clock: Callable[[], float] = time.time,
        store: Ledger | str | Path | None = None,
        bid_ttl: float = 60.0,
        tmax_margin_ms: float = 10.0,
        budget_period: str = "day",
        notice_url: str = "",
        max_open_bids: int = 200_000,
        plan: PlanTargets | None = None,
        pacer: str = "dual",
        pace_seconds: float = 60.0,
    ):
        if not cpc > 0:
            raise SpecError(f"cpc must be > 0, got {cpc}")
        cpc = _finite(cpc, "cpc", 0.0, MAX_CPC, lo_open=True)
        if budget is None and plan is None:
            raise SpecError("give a budget (--budget) or a plan with pacing targets (--plan)")
        if budget is None:
            budget = MAX_BUDGET
        if not budget >= 0:
            raise SpecError(f"budget must be >= 0, got {budget}")
        budget = _finite(budget, "budget", 0.0, MAX_BUDGET)
        if model is None and ctr is None:
            raise SpecError("give a CTR model (--model) or a constant CTR (--ctr)")
        if ctr is not None and not 0 <= ctr <= 1:
            raise SpecError(f"ctr must be in [0, 1], got {ctr}")
        if model is not None and getattr(model, "hasher", None) is None:
            raise SpecError("the CTR model has no feature hasher; train it on named fields")
        self.bid_ttl = _finite(bid_ttl, "bid_ttl (seconds)", 0.0, 86400.0, lo_open=True)
        self.tmax_margin_ms = _finite(tmax_margin_ms, "tmax_margin_ms", 0.0, 10_000.0)
        if budget_period not in PERIODS:
            raise SpecError(f"budget_period must be one of {PERIODS}, got {budget_period!r}")
        if plan is not None and budget_period != "day":
            raise SpecError(
                "a plan's pacing targets are daily; use budget_period 'day' (--budget-period day)"
            )
        if pacer not in PACERS:
            raise SpecError(f"pacer {pacer!r} is unknown; use one of {', '.join(PACERS)}")
        self.pace_seconds = _finite(pace_seconds, "pace_seconds", 0.0, 86400.0, lo_open=True)
        self.plan = plan
        self.pacer = pacer
        self._pacing: dict[str, DayPacing] = {}
        self._day_budget: tuple[str, int] = ("", 0)  # (period, its budget) of the last day
        if int(max_open_bids) < 1:
            raise SpecError(f"max_open_bids must be >= 1, got {max_open_bids}")
        self.cpc = cpc
        self.budget = budget
        self.model = model
        self.ctr = ctr
        self.win_rate = win_rate
        self.ad_id = ad_id
        self.creative_id = creative_id
        self.seat = seat
        self.currency = currency
        self.clock = clock
        self.budget_period = budget_period
        self.notice_url = notice_url.rstrip("/")
        self.max_open_bids = int(max_open_bids)
        if model is not None:  # the first prediction imports the hasher's code: not on a bid
            model.predict_one(dict.fromkeys(model.hasher.fields, ""))
        self._budget = round(budget * NANOS_PER_UNIT)
        self._lock = threading.Lock()
        self.ledger = store if isinstance(store, Ledger) else Ledger(store)
        self._secret = self.ledger.secret
        self.n_requests = 0
        self.n_bids = 0
        self.n_wins = 0
        self.no_bids: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._spent: dict[str, int] = {}  # committed spend per period (nano units)
        self._reserved: Counter[str] = Counter()  # open reservations per period
        self._open: dict[str, BidRow] = {}
        self._expiry: list[tuple[float, str]] = []
        for row in self.ledger.open_bids(self.ad_id):  # bids in flight before a restart
            self._track(row)
        with self._lock:
            self._expire(self.clock())

    # ---- money ------------------------------------------------------------------------
    def _period(self, now: float) -> str:
        if self.budget_period == "total":
            return "total"
        return time.strftime("%Y-%m-%d", time.gmtime(now))

    def _budget_in(self, period: str) -> int:
        """The period's budget (nano units): the plan's target for the day, at most ``budget``."""
        if self.plan is None or period == "total":
            return self._budget
        cached = self._day_budget
        if cached[0] != period:
            weekday = time.strptime(period, "%Y-%m-%d").tm_wday
            day = round(self.plan.daily_budget(weekday) * NANOS_PER_UNIT)
            cached = self._day_budget = (period, min(self._budget, day))
        return cached[1]

    def _day_pacing(self, period: str, now: float, spent: int) -> DayPacing | None:
        """The period's pacing, started at its first decision (lock held)."""
        if self.plan is None:
            return None
        pacing = self._pacing.get(period)
        if pacing is None:
            self._pacing = {}  # one day at a time
            pacing = self._pacing[period] = DayPacing(
                self._budget_in(period) / NANOS_PER_UNIT,
                self.plan.profile,
                kind=self.pacer,
                interval_hours=self.pace_seconds / 3600.0,
                start_hour=_hour_of_day(now),
                spent=spent / NANOS_PER_UNIT,
            )
        return pacing

    def _spent_in(self, period: str) -> int:
        if period not in self._spent:
            self._spent[period] = self.ledger.spent(self.ad_id, period)
        return self._spent[period]

    def _track(self, row: BidRow) -> None:
        self._open[row.bid_id] = row
        self._reserved[row.period] += row.reserve
        heapq.heappush(self._expiry, (row.expires_at, row.bid_id))

    def _release(self, row: BidRow) -> None:
        del self._open[row.bid_id]
        self._reserved[row.period] -= row.reserve

    def _expire(self, now: float) -> None:
        """Release the reservations of open bids whose expiry has passed (lock held)."""
        expired = []
        while self._expiry and self._expiry[0][0] <= now:
            _, bid_id = heapq.heappop(self._expiry)
            row = self._open.get(bid_id)
            if row is not None:
                self._release(row)
                expired.append(bid_id)
        if expired:
            try:
                self.ledger.settle(expired, "expired", now)
            except sqlite3.Error:  # still 'open' on disk: held again after a restart
                log.exception("could not record %d expired bids", len(expired))

    def _current(self) -> tuple[str, int, int]:
        """(period, committed, reserved) now, after expiring old bids (lock held)."""
        now = self.clock()
        self._expire(now)
        period = self._period(now)
        return period, self._spent_in(period), self._reserved[period]

    @property
    def spent(self) -> float:
        """Committed spend of the current period (currency)."""
        with self._lock:
            return self._current()[1] / NANOS_PER_UNIT

    @property
    def reserved(self) -> float:
        """Open reservations of the current period (currency)."""
        with self._lock:
            return self._current()[2] / NANOS_PER_UNIT

    @property
    def remaining(self) -> float:
        """What is left to bid: budget - committed spend - open reservations (currency)."""
        with self._lock:
            period, spent, reserved = self._current()
            budget = self._budget_in(period)
        return max(budget - spent - reserved, 0) / NANOS_PER_UNIT

    # ---- decisions -------------------------------------------------------------------
    def features(self, req: BidRequest, imp: Imp) -> dict:
        """The model's fields from a request: site, ad, device, os, placement, hour."""
        src = req.site if req.site is not None else req.app
        name = getattr(src, "domain", None) or getattr(src, "bundle", None) or src.id or ""
        dev = req.device
        hour = int(self.clock() // 3600 % 24)
        return {
            "site": name,
            "ad": self.ad_id,
            "device": DEVICE_TYPES.get(dev.devicetype, "unknown") if dev else "unknown",
            "os": (dev.os or "") if dev else "",
            "placement": imp.tagid or "",
            "hour": hour,
        }

    def predict_ctr(self, req: BidRequest, imp: Imp) -> float:
        if self.model is None:
            return float(self.ctr)
        return float(self.model.predict_one(self.features(req, imp)))

    def _sign(self, action: str, bid_id: str) -> str:
        msg = f"{action}:{bid_id}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:SIG_HEX]

    def notice_urls(self, bid_id: str) -> tuple[str, str]:
        """The win (``nurl``) and loss (``lurl``) notice URLs of one of our bids."""
        base = self.notice_url
        win = f"{base}/win?bid={bid_id}&price=${{AUCTION_PRICE}}&sig={self._sign('win', bid_id)}"
        loss = f"{base}/loss?bid={bid_id}&reason=${{AUCTION_LOSS}}&sig={self._sign('loss', bid_id)}"
        return win, loss

    def _decide(self, req: BidRequest) -> tuple[list[Bid], str | None]:
        """Bids (each reserved and in the ledger) and, when there are none, why."""
        bids: list[Bid] = []
        rows: list[BidRow] = []
        with self._lock:
            self.n_requests += 1
            if req.cur and self.currency not in req.cur:
                self.no_bids["currency"] += 1
                return [], "currency"
            if len(self._open) >= self.max_open_bids:
                self.no_bids["capacity"] += 1
                return [], "capacity"
            now = self.clock()
            period, spent, reserved = self._current()
            avail = self._budget_in(period) - spent - reserved
            pacing = self._day_pacing(period, now, spent)
            factor = 1.0
            if pacing is not None:
                pacing.observe(_hour_of_day(now), spent / NANOS_PER_UNIT)
                factor = pacing.factor
            reason = "floor"
            for imp in req.imp:
                if imp.bidfloorcur != self.currency:
                    reason = "currency"
                    continue
                p = self.predict_ctr(req, imp)
                value = 1000.0 * self.cpc * p  # CPM
                floor = imp.bidfloor
                if value < floor or value <= 0:
                    continue
                cap = value if self.plan is None else value / self.plan.hurdle
                if cap < floor:
                    reason = "cap"
                    continue
                paced = min(value, cap) * factor
                if req.at == 1 and self.win_rate is not None:
                    price = self.win_rate.shade_one(paced, floor)
                else:
                    price = paced if paced >= floor else None
                if price is None:
                    reason = "pacing"
                    continue
                price = min(price, cap)
                # the reservation in nano units, rounded up, capped at what is left (and,
                # with a plan, rounded down to the break-even cap: never a nano above it)
                reserve = min(math.ceil(price * NANOS_PER_CPM - 1e-6), avail)
                if self.plan is not None:
                    reserve = min(reserve, math.floor(cap * NANOS_PER_CPM))
                price = reserve / NANOS_PER_CPM
                if reserve <= 0 or price < floor:
                    reason = "budget"
                    continue
                avail -= reserve
                bid_id = secrets.token_hex(12)
                rows.append(
                    BidRow(
                        bid_id=bid_id,
                        campaign=self.ad_id,
                        period=period,
                        request_id=req.id,
                        imp_id=imp.id,
                        price_cpm=price,
                        reserve=reserve,
                        made_at=now,
                        expires_at=now + self.bid_ttl,
                    )
                )
                bids.append(Bid(impid=imp.id, price=float(price), pctr=p, bid_id=bid_id))
            if not rows:
                self.no_bids[reason] += 1
                return [], reason
            try:
                self.ledger.add_bids(rows)  # on disk before anyone hears of the bid
            except sqlite3.Error:
                log.exception("could not record bids in the ledger; answering no-bid")
                self.no_bids["technical"] += 1
                return [], "technical"
            for row in rows:
                self._track(row)
            self.n_bids += len(bids)
        return bids, None

    def decide(self, req: BidRequest) -> list[Bid]:
        """Bids for the request's impressions (empty = no bid); each one is reserved."""
        return self._decide(req)[0]

    def handle(self, body: bytes, arrived: float | None = None) -> tuple[int, bytes]:
        """One bid request body -> (HTTP status, response body): 200 bid or no-bid with a
        reason code, 204 no-bid, 400. ``arrived``: ``time.monotonic()`` when the request came
        in (default: now), for the ``tmax`` deadline."""
        t0 = time.monotonic() if arrived is None else arrived
        depth = _too_deep(body)
        if depth is not None:
            return 400, _error(
                f"the request nests arrays/objects {depth} deep; the limit is {MAX_DEPTH}"
            )
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, _error(f"body is not valid JSON: {exc}")
        except RecursionError:  # unreachable behind the depth check; kept as a backstop
            return 400, _error(f"the request nests too deep; the limit is {MAX_DEPTH}")
        if not isinstance(data, dict):
            return 400, _error("a bid request must be a JSON object")
        try:
            req = parse_bid_request(data)
        except SpecError as exc:
            return 400, _error(str(exc))
        if req.tmax is not None:
            late = (time.monotonic() - t0) * 1000.0 + self.tmax_margin_ms > req.tmax
            if late:
                with self._lock:
                    self.n_requests += 1
                    self.no_bids["deadline"] += 1
                return 200, json.dumps({"id": req.id, "nbr": NBR["deadline"]}).encode()
        bids, reason = self._decide(req)
        if reason == "technical":
            return 200, json.dumps({"id": req.id, "nbr": NBR["technical"]}).encode()
        if not bids:
            return 204, b""
        return 200, json.dumps(self.response(req, bids)).encode()

    def response(self, req: BidRequest, bids: list[Bid]) -> dict:
        out = []
        for b in bids:
            nurl, lurl = self.notice_urls(b.bid_id) if b.bid_id else ("", "")
            out.append(
                {
                    "id": b.bid_id or f"{req.id}-{b.impid}",
                    "impid": b.impid,
                    "price": b.price,
                    "adid": self.ad_id,
                    "crid": self.creative_id,
                    "nurl": nurl,
                    "lurl": lurl,
                    "exp": int(math.ceil(self.bid_ttl)),
                    "ext": {"pctr": b.pctr},
                }
            )
        return {
            "id": req.id,
            "bidid": bids[0].bid_id or f"{req.id}-{self.n_requests}",
            "cur": self.currency,
            "seatbid": [{"seat": self.seat, "bid": out}],
        }

    # ---- notices ---------------------------------------------------------------------
    def _refuse(self, status: int, reason: str, message: str) -> NoticeRefused:
        self.refused[reason] += 1
        return NoticeRefused(status, reason, message)

    def _known_open(self, action: str, bid_id, sig) -> BidRow:
        """The open bid a notice names, after its signature; else a refusal (lock held)."""
        if not bid_id:
            raise self._refuse(
                400,
                "no_bid_id",
                f"bid: the {action} notice must name our bid id; use the {action} URL of our "
                "bid response as it is (only its ${...} macro is to be replaced)",
            )
        if not sig or not hmac.compare_digest(str(sig), self._sign(action, str(bid_id))):
            raise self._refuse(
                403,
                "signature",
                f"sig: missing or wrong signature for bid {str(bid_id)[:40]!r}; a {action} "
                "notice is accepted only through the URL of our bid response",
            )
        self._expire(self.clock())
        row = self._open.get(bid_id)
        if row is not None:
            return row
        stored = self.ledger.get(bid_id)
        if stored is None or stored.campaign != self.ad_id or stored.state == "open":
            raise self._refuse(404, "unknown", f"bid {bid_id!r} is not one of our bids")
        at = stored.expires_at if stored.state == "expired" else stored.settled_at
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at or 0))
        if stored.state == "won":
            price = (stored.clear or 0) / NANOS_PER_CPM
            raise self._refuse(
                409,
                "replayed" if action == "win" else "after_win",
                f"bid {bid_id!r} was already won at {price:g} CPM ({when}); a win counts once",
            )
        if stored.state == "lost":
            raise self._refuse(
                409,
                "after_loss" if action == "win" else "replayed",
                f"bid {bid_id!r} was reported lost ({when}); its reservation is released",
            )
        raise self._refuse(
            410,
            "expired",
            f"bid {bid_id!r} expired at {when} ({self.bid_ttl:g} s after it was made, as its "
            "'exp' said); its reservation is released and a later notice is not accepted",
        )

    def _win_price(self, price) -> float:
        """The clearing price of a win notice (CPM), checked first: it needs no ledger."""
        if price is None:
            raise self._refuse(
                400,
                "bad_price",
                "price: missing; the win URL of our bids carries price=${AUCTION_PRICE}",
            )
        try:
            cpm = number(price, "price")
        except SpecError as exc:
            raise self._refuse(400, "bad_price", str(exc)) from None
        if cpm < 0:
            raise self._refuse(
                400,
                "bad_price",
                f"price: the win price must be a finite CPM >= 0, got {cpm:g} (the exchange "
                "replaces ${AUCTION_PRICE} with the clearing price)",
            )
        return cpm

    def win(self, bid_id: str | None, price, sig: str | None = None) -> float:
        """A win notice: the clearing price (CPM) replaces the bid's reservation.

        Accepted once, for a known open bid, at a price <= our bid; returns the committed
        cost (currency). Raises :class:`NoticeRefused` otherwise (and counts it).
        """
        with self._lock:
            cpm = self._win_price(price)
            row = self._known_open("win", bid_id, sig)
            clear = round(cpm * NANOS_PER_CPM)
            if clear > row.reserve:
                raise self._refuse(
                    400,
                    "above_bid",
                    f"price: {cpm:g} CPM is above our bid of {row.price_cpm:g} CPM for bid "
                    f"{bid_id!r}; an auction clears at most at our bid",
                )
            now = self.clock()
            spent_before = self._spent_in(row.period)
            try:
                self.ledger.settle([row.bid_id], "won", now, clear=clear)
            except sqlite3.Error:
                log.exception("could not record the win of bid %s", row.bid_id)
                raise NoticeRefused(
                    503, "technical", "the ledger could not be written; send the notice again"
                ) from None
            self._release(row)
            self._spent[row.period] = spent_before + clear
            self.n_wins += 1
            return clear / NANOS_PER_UNIT

    def loss(self, bid_id: str | None, sig: str | None = None, reason=None) -> None:
        """A loss notice: the bid's reservation is released."""
        with self._lock:
            row = self._known_open("loss", bid_id, sig)
            note = None if reason is None else str(reason)[:64]
            try:
                self.ledger.settle([row.bid_id], "lost", self.clock(), note=note)
            except sqlite3.Error:
                log.exception("could not record the loss of bid %s", row.bid_id)
                raise NoticeRefused(
                    503, "technical", "the ledger could not be written; send the notice again"
                ) from None
            self._release(row)

    def status(self) -> dict:
        with self._lock:
            period, spent, reserved = self._current()
            open_bids = len(self._open)
            budget = self._budget_in(period)
            pacing = None
            if self.plan is not None:
                now = self.clock()
                day = self._day_pacing(period, now, spent)
                pacing = {
                    **day.state(_hour_of_day(now), spent / NANOS_PER_UNIT),
                    "pace_seconds": self.pace_seconds,
                    "plan": self.plan.to_dict(),
                }
        out = {
            "budget": budget / NANOS_PER_UNIT,
            "period": period,
            "spent": spent / NANOS_PER_UNIT,
            "reserved": reserved / NANOS_PER_UNIT,
            "remaining": max(budget - spent - reserved, 0) / NANOS_PER_UNIT,
            "open_bids": open_bids,
            "requests": self.n_requests,
            "bids": self.n_bids,
            "wins": self.n_wins,
            "no_bids": dict(self.no_bids),
            "refused": dict(self.refused),
            "cpc": self.cpc,
            "bid_ttl": self.bid_ttl,
            "store": None if self.ledger.path is None else str(self.ledger.path),
        }
        if pacing is not None:
            out["pacing"] = pacing
        return out

    def close(self) -> None:
        self.ledger.close()


# ----------------------------------------------------------------------------- HTTP
_BID_PATHS = ("/openrtb2/bid", "/bid")
_OPEN_PATHS = ("/healthz", "/win", "/loss")  # notices carry their own signature
_JSON_HEADERS = [(b"content-type", b"application/json"), (b"x-openrtb-version", b"2.6")]
_EMPTY_HEADERS = [(b"x-openrtb-version", b"2.6")]


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True  # not declared: read as JSON (and refused if it is not)
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (
        kind.startswith(b"application/") and kind.endswith(b"+json")
    )


class _BidFastPath:
    """Pure ASGI middleware answering POST /openrtb2/bid without the framework's routing and
    request/response objects (about half the per-request CPU on the hot path), with the token,
    content-type and body-size checks; every other route goes on to the FastAPI app (behind
    the token when one is set)."""

    def __init__(self, app, bidder: Bidder, token: str | None, max_body_bytes: int):
        self.app = app
        self.bidder = bidder
        self.auth = None if token is None else b"bearer " + token.encode()
        self.max_body_bytes = max_body_bytes

    def _authorised(self, headers: dict) -> bool:
        if self.auth is None:
            return True
        given = headers.get(b"authorization", b"")
        return hmac.compare_digest(given[:7].lower() + given[7:], self.auth)

    async def _send(self, send, status: int, payload: bytes) -> None:
        headers = _EMPTY_HEADERS if status == 204 else _JSON_HEADERS
        headers = [*headers, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        arrived = scope.get(ARRIVED_KEY) or time.monotonic()
        path = scope["path"]
        headers = dict(scope.get("headers") or ())
        if path not in _OPEN_PATHS and not self._authorised(headers):
            reason = "missing or wrong access token; send 'Authorization: Bearer <token>'"
            return await self._send(send, 401, _error(reason))
        if path not in _BID_PATHS:
            return await self.app(scope, receive, send)
        if scope["method"] != "POST":
            return await self._send(send, 405, _error("use POST for bid requests"))
        if not _is_json(headers.get(b"content-type")):
            shown = headers[b"content-type"].decode("latin-1")[:60]
            reason = f"content type {shown!r} is not JSON; send 'Content-Type: application/json'"
            return await self._send(send, 415, _error(reason))
        limit = self.max_body_bytes
        too_big = _error(f"the request is larger than the bidder's limit of {limit} bytes")
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            return await self._send(send, 413, too_big)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._send(send, 413, too_big)
            chunks.append(chunk)
            more = message.get("more_body", False)
        try:
            status, payload = self.bidder.handle(b"".join(chunks), arrived=arrived)
        except Exception:  # a bug: keep its traceback in the log, answer, keep the connection
            log.exception("bid request failed")
            status, payload = 500, _error("internal error (see the bidder's log)")
        await self._send(send, status, payload)


def create_app(
    bidder: Bidder, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    """The FastAPI app: POST /openrtb2/bid (also /bid), GET|POST /win and /loss (signed
    notice URLs), GET /status, /healthz.

    The bid route is served by a pure ASGI fast path (:class:`_BidFastPath` calling
    :meth:`Bidder.handle`) in front of the FastAPI routes. With a ``token`` every route but
    ``/healthz`` and the notices needs ``Authorization: Bearer <token>``.
    """
    app = FastAPI(title="mediamix OpenRTB bidder", docs_url=None, redoc_url=None)

    def refused(exc: NoticeRefused) -> Response:
        return Response(
            _error(exc.message, reason=exc.reason),
            status_code=exc.status,
            media_type="application/json",
        )

    @app.api_route("/win", methods=["GET", "POST"])
    async def win(request: Request) -> Response:
        q = request.query_params
        try:
            bidder.win(q.get("bid"), q.get("price"), q.get("sig"))
        except NoticeRefused as exc:
            return refused(exc)
        return Response(status_code=204)

    @app.api_route("/loss", methods=["GET", "POST"])
    async def loss(request: Request) -> Response:
        q = request.query_params
        try:
            bidder.loss(q.get("bid"), q.get("sig"), q.get("reason"))
        except NoticeRefused as exc:
            return refused(exc)
        return Response(status_code=204)

    @app.get("/status")
    async def status() -> dict:
        return bidder.status()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    app.add_middleware(_BidFastPath, bidder=bidder, token=token, max_body_bytes=int(max_body_bytes))
    return app


def stamped_http_protocol():
    """uvicorn's HTTP protocol class, stamping each request's scope with the
    ``time.monotonic()`` at which its first bytes were read (:data:`ARRIVED_KEY`), so the
    ``tmax`` check counts the time a request waited in the event loop before it ran."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class ArrivalStampedProtocol(AutoHTTPProtocol):
        def data_received(self, data: bytes) -> None:
            t = time.monotonic()
            before = getattr(self, "scope", None)
            super().data_received(data)
            scope = getattr(self, "scope", None)
            if isinstance(scope, dict) and scope is not before:
                scope.setdefault(ARRIVED_KEY, t)

    return ArrivalStampedProtocol
