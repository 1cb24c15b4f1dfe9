"""An OpenRTB 2.6 HTTP bidder (FastAPI): bid response or 204 no-bid, 400 with a reason.

For each impression of a bid request the bidder predicts P(click) with its CTR model from the
request (site domain or app bundle, device type, OS, placement, hour, and the campaign's own
ad id), values the impression at ``CPC * P(click)`` and bids, as OpenRTB prices are, in CPM
(currency per thousand impressions):

- ``at = 2`` (second price): the value (truthful, the dominant strategy);
- ``at = 1`` (first price): the value shaded against logged winning prices,
  ``argmax_b (v - b) P(win | b)``, when a :class:`WinRateModel` is given, else the value.

It never bids below an impression's ``bidfloor`` (no bid instead) nor above the remaining
budget (the bid is capped, several impressions of one request share it). The budget is
debited by win notices: ``/win?price=${AUCTION_PRICE}`` with the clearing price in CPM.

The request schema is :mod:`mediamix.rtb.schemas`; a malformed request is answered 400 with
``{"error": "<key path>: <reason>"}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI, Response

from mediamix.errors import SpecError
from mediamix.rtb.bidding import WinRateModel
from mediamix.rtb.schemas import DEVICE_TYPES, BidRequest, Imp, parse_bid_request
from mediamix.schemas import number

__all__ = ["Bid", "BidRequest", "Bidder", "Imp", "create_app"]


def _error(reason: str) -> bytes:
    return json.dumps({"error": reason}).encode()


# ----------------------------------------------------------------------------- the bidder
@dataclass(frozen=True)
class Bid:
    impid: str
    price: float  # CPM
    pctr: float


class Bidder:
    """Bid decisions for one campaign (CTR model, CPC, daily budget), thread-safe budget."""

    def __init__(
        self,
        cpc: float,
        budget: float,
        model=None,
        ctr: float | None = None,
        win_rate: WinRateModel | None = None,
        ad_id: str = "ad-1",
        creative_id: str = "creative-1",
        seat: str = "mediamix",
        currency: str = "USD",
        clock: Callable[[], float] = time.time,
    ):
        if not cpc > 0:
            raise SpecError(f"cpc must be > 0, got {cpc}")
        if not budget >= 0:
            raise SpecError(f"budget must be >= 0, got {budget}")
        if model is None and ctr is None:
            raise SpecError("give a CTR model (--model) or a constant CTR (--ctr)")
        if ctr is not None and not 0 <= ctr <= 1:
            raise SpecError(f"ctr must be in [0, 1], got {ctr}")
        if model is not None and getattr(model, "hasher", None) is None:
            raise SpecError("the CTR model has no feature hasher; train it on named fields")
        self.cpc = float(cpc)
        self.budget = float(budget)
        self.model = model
        self.ctr = ctr
        self.win_rate = win_rate
        self.ad_id = ad_id
        self.creative_id = creative_id
        self.seat = seat
        self.currency = currency
        self.clock = clock
        self._lock = threading.Lock()
        self.spent = 0.0
        self.n_requests = 0
        self.n_bids = 0
        self.n_wins = 0

    @property
    def remaining(self) -> float:
        left = self.budget - self.spent
        return left if left > 1e-9 * max(self.budget, 1.0) else 0.0  # no float dust

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

    def decide(self, req: BidRequest) -> list[Bid]:
        """Bids for the request's impressions (empty = no bid)."""
        bids = []
        with self._lock:
            self.n_requests += 1
            if req.cur and self.currency not in req.cur:
                return []
            left_cpm = 1000.0 * self.remaining
            for imp in req.imp:
                if imp.bidfloorcur != self.currency:
                    continue
                p = self.predict_ctr(req, imp)
                value = 1000.0 * self.cpc * p  # CPM
                floor = imp.bidfloor
                if value < floor or value <= 0:
                    continue
                if req.at == 1 and self.win_rate is not None:
                    price = self.win_rate.shade_one(value, floor)
                    if price is None:
                        continue
                else:
                    price = value
                price = min(price, left_cpm)
                if price < floor or price <= 0:
                    continue
                left_cpm -= price
                bids.append(Bid(impid=imp.id, price=float(price), pctr=p))
            self.n_bids += len(bids)
        return bids

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """One bid request body -> (HTTP status, response body): 200 bid, 204 no-bid, 400."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, _error(f"body is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return 400, _error("a bid request must be a JSON object")
        try:
            req = parse_bid_request(data)
        except SpecError as exc:
            return 400, _error(str(exc))
        bids = self.decide(req)
        if not bids:
            return 204, b""
        return 200, json.dumps(self.response(req, bids)).encode()

    def win(self, price_cpm: float) -> None:
        """A win notice: debit the clearing price (CPM) / 1000 from the budget."""
        if not np.isfinite(price_cpm) or price_cpm < 0:
            raise SpecError(f"price: the win price must be a finite CPM >= 0, got {price_cpm}")
        with self._lock:
            self.spent += price_cpm / 1000.0
            self.n_wins += 1

    def response(self, req: BidRequest, bids: list[Bid]) -> dict:
        return {
            "id": req.id,
            "bidid": f"{req.id}-{self.n_requests}",
            "cur": self.currency,
            "seatbid": [
                {
                    "seat": self.seat,
                    "bid": [
                        {
                            "id": f"{req.id}-{b.impid}",
                            "impid": b.impid,
                            "price": b.price,
                            "adid": self.ad_id,
                            "crid": self.creative_id,
                            "nurl": f"/win?imp={b.impid}&price=${{AUCTION_PRICE}}",
                            "ext": {"pctr": b.pctr},
                        }
                        for b in bids
                    ],
                }
            ],
        }

    def status(self) -> dict:
        return {
            "budget": self.budget,
            "spent": self.spent,
            "remaining": self.remaining,
            "requests": self.n_requests,
            "bids": self.n_bids,
            "wins": self.n_wins,
            "cpc": self.cpc,
        }


_BID_PATHS = ("/openrtb2/bid", "/bid")
_JSON_HEADERS = [(b"content-type", b"application/json"), (b"x-openrtb-version", b"2.6")]
_EMPTY_HEADERS = [(b"x-openrtb-version", b"2.6")]


class _BidFastPath:
    """Pure ASGI middleware answering POST /openrtb2/bid without the framework's routing and
    request/response objects (about half the per-request CPU on the hot path); every other
    route goes on to the FastAPI app."""

    def __init__(self, app, bidder: Bidder):
        self.app = app
        self.bidder = bidder

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in _BID_PATHS:
            return await self.app(scope, receive, send)
        if scope["method"] != "POST":
            status, payload = 405, _error("use POST for bid requests")
        else:
            chunks, more = [], True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            status, payload = self.bidder.handle(b"".join(chunks))
        headers = _EMPTY_HEADERS if status == 204 else _JSON_HEADERS
        headers = [*headers, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def create_app(bidder: Bidder) -> FastAPI:
    """The FastAPI app: POST /openrtb2/bid (also /bid), GET|POST /win, GET /status, /healthz.

    The bid route is served by a pure ASGI fast path (:class:`_BidFastPath` calling
    :meth:`Bidder.handle`) in front of the FastAPI routes.
    """
    app = FastAPI(title="mediamix OpenRTB bidder", docs_url=None, redoc_url=None)

    def reply(status: int, payload: bytes) -> Response:
        if status == 204:
            return Response(status_code=204, headers={"x-openrtb-version": "2.6"})
        return Response(
            payload,
            status_code=status,
            media_type="application/json",
            headers={"x-openrtb-version": "2.6"},
        )

    @app.api_route("/win", methods=["GET", "POST"])
    async def win(price: str, imp: str | None = None) -> Response:
        try:
            bidder.win(number(price, "price"))
        except SpecError as exc:
            return reply(400, _error(str(exc)))
        return Response(status_code=204)

    @app.get("/status")
    async def status() -> dict:
        return bidder.status()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    app.add_middleware(_BidFastPath, bidder=bidder)
    return app
