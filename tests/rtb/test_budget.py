"""The bidder's budget: reservations for bids in flight, the ledger of our bids, win and loss
notices, expiry, the SQLite store across a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from mediamix.errors import ConflictError, DataError, SpecError
from mediamix.rtb.server import Bidder, create_app


def request(i: int = 0, imps: int = 1, floor: float = 0.0, **over) -> dict:
    req = {
        "id": f"req-{i}",
        "at": 2,
        "imp": [{"id": str(k + 1), "bidfloor": floor} for k in range(imps)],
        "site": {"id": "s1", "domain": "news.example"},
        "device": {"devicetype": 2, "os": "Linux"},
        "tmax": 1000,
        "cur": ["USD"],
    }
    req.update(over)
    return req


class Clock:
    """A settable wall clock (seconds since the epoch)."""

    def __init__(self, t: float = 1_767_268_800.0):  # 2026-01-01T12:00Z
        self.t = t

    def __call__(self) -> float:
        return self.t


def bidder(**kw) -> Bidder:
    kw.setdefault("cpc", 1.5)
    kw.setdefault("ctr", 0.01)  # value 15 CPM
    kw.setdefault("budget", 0.05)  # 50 CPM of room
    return Bidder(**kw)


def bids_of(response) -> list[dict]:
    if response.status_code != 200 or "seatbid" not in response.json():
        return []
    return [b for seat in response.json()["seatbid"] for b in seat["bid"]]


def win_url(bid: dict, price: float) -> str:
    return bid["nurl"].replace("${AUCTION_PRICE}", repr(float(price)))


def loss_url(bid: dict) -> str:
    return bid["lurl"].replace("${AUCTION_LOSS}", "102")


# ----------------------------------------------------------------------------- reservations
def test_concurrent_bid_requests_never_reserve_more_than_the_budget():
    """100 simultaneous requests (in-process ASGI, asyncio.gather) against 0.05: the bids
    made could cost at most the budget, and once every win arrives spend <= budget."""
    b = bidder()
    app = create_app(b)

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bidder") as c:
            answers = await asyncio.gather(
                *(c.post("/openrtb2/bid", json=request(i)) for i in range(100))
            )
            made = [bid for r in answers for bid in bids_of(r)]
            assert {r.status_code for r in answers} <= {200, 204}
            wins = await asyncio.gather(*(c.get(win_url(x, x["price"])) for x in made))
            return made, wins, (await c.get("/status")).json()

    made, wins, status = asyncio.run(run())
    exposure = sum(x["price"] for x in made) / 1000
    assert exposure <= 0.05 + 1e-12
    assert [x["price"] for x in made] == [15.0, 15.0, 15.0, 5.0]  # the budget, to the cent
    assert all(w.status_code == 204 for w in wins)
    assert status["spent"] == pytest.approx(exposure) and status["spent"] <= 0.05
    assert status["remaining"] == 0.0 and status["reserved"] == 0.0
    assert status["no_bids"] == {"budget": 96} and status["wins"] == 4


def test_bid_requests_from_a_thread_pool_never_reserve_more_than_the_budget():
    b = bidder(budget=0.1, ctr=0.007)  # value 10.5 CPM, 100 CPM of room
    client = TestClient(create_app(b))
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(
            pool.map(lambda i: client.post("/openrtb2/bid", json=request(i)), range(100))
        )
    made = [bid for r in answers for bid in bids_of(r)]
    assert sum(x["price"] for x in made) / 1000 <= 0.1 + 1e-12
    assert len(made) == 10 and len({x["id"] for x in made}) == 10  # 9 x 10.5 + 5.5
    with ThreadPoolExecutor(max_workers=16) as pool:
        wins = list(pool.map(lambda x: client.get(win_url(x, x["price"])), made))
    assert all(w.status_code == 204 for w in wins)
    assert b.spent == pytest.approx(0.1) and b.spent <= 0.1 and b.remaining == 0.0


def test_a_second_price_win_commits_the_clearing_price_and_frees_the_rest():
    b = bidder(budget=1.0)
    c = TestClient(create_app(b))
    (bid,) = bids_of(c.post("/openrtb2/bid", json=request()))
    assert bid["price"] == 15.0 and bid["exp"] == 60
    assert b.reserved == pytest.approx(0.015) and b.remaining == pytest.approx(0.985)
    assert c.get(win_url(bid, 7.25)).status_code == 204
    assert b.spent == pytest.approx(0.00725) and b.reserved == 0.0
    assert b.remaining == pytest.approx(1 - 0.00725)


def test_loss_and_expiry_release_the_reservation():
    clock = Clock()
    b = bidder(clock=clock, bid_ttl=30)
    c = TestClient(create_app(b))
    first = bids_of(c.post("/openrtb2/bid", json=request(0, imps=4)))
    assert [x["price"] for x in first] == [15.0, 15.0, 15.0, 5.0] and b.remaining == 0.0
    assert c.post("/openrtb2/bid", json=request(1)).status_code == 204  # all reserved
    assert c.get(loss_url(first[0])).status_code == 204  # a loss frees its 15 CPM
    assert b.remaining == pytest.approx(0.015)
    (second,) = bids_of(c.post("/openrtb2/bid", json=request(2)))
    clock.t += 31  # no notice for 31 s: every open bid expires
    assert b.remaining == pytest.approx(0.05) and b.status()["open_bids"] == 0
    late = c.get(win_url(second, 15))
    assert late.status_code == 410 and "expired" in late.json()["error"]
    assert late.json()["reason"] == "expired" and b.spent == 0.0
    states = b.ledger.counts("ad-1", b.status()["period"])
    assert states == {"open": 0, "won": 0, "lost": 1, "expired": 4}


# ----------------------------------------------------------------------------- the ledger
def test_forged_replayed_unknown_and_above_bid_win_notices_are_refused():
    b = bidder(budget=1.0)
    c = TestClient(create_app(b))
    (bid,) = bids_of(c.post("/openrtb2/bid", json=request()))
    bid_id = bid["id"]
    cases = [
        # a forged notice: any impression, any price, no signature (the old hole)
        ("/win?imp=nonexistent&price=1000000", 400, "no_bid_id", "must name our bid id"),
        (f"/win?bid={bid_id}&price=1", 403, "signature", "missing or wrong signature"),
        (f"/win?bid={bid_id}&price=1&sig={'0' * 32}", 403, "signature", "signature"),
        (f"/win?bid=nope&price=1&sig={b._sign('win', 'nope')}", 404, "unknown", "not one of"),
        (win_url(bid, 15.01), 400, "above_bid", "above our bid of 15 CPM"),
        (win_url(bid, -5), 400, "bad_price", "finite CPM >= 0"),
        (bid["nurl"], 400, "bad_price", "expected a number"),  # ${AUCTION_PRICE} left in
        (win_url(bid, 5000).replace("/win", "/loss").replace("&price=5000.0", ""), 403,
         "signature", "signature"),  # a win signature does not sign a loss
    ]  # fmt: skip
    for url, code, reason, text in cases:
        r = c.get(url)
        assert (r.status_code, r.json()["reason"]) == (code, reason), url
        assert text in r.json()["error"], url
    assert b.spent == 0.0 and b.status()["open_bids"] == 1
    assert c.get(win_url(bid, 15)).status_code == 204
    for _ in range(10):  # the same win replayed
        r = c.get(win_url(bid, 15))
        assert r.status_code == 409 and "already won at 15 CPM" in r.json()["error"]
    r = c.get(loss_url(bid))
    assert r.status_code == 409 and r.json()["reason"] == "after_win"
    status = b.status()
    assert status["spent"] == pytest.approx(0.015) and status["wins"] == 1
    assert status["refused"] == {
        "no_bid_id": 1,
        "signature": 3,
        "unknown": 1,
        "above_bid": 1,
        "bad_price": 2,
        "replayed": 10,
        "after_win": 1,
    }


def test_a_win_after_a_loss_notice_is_refused():
    b = bidder()
    c = TestClient(create_app(b))
    (bid,) = bids_of(c.post("/openrtb2/bid", json=request()))
    assert c.get(loss_url(bid)).status_code == 204
    r = c.get(win_url(bid, 10))
    assert r.status_code == 409 and "reported lost" in r.json()["error"]
    assert c.get(loss_url(bid)).json()["reason"] == "replayed"
    assert b.spent == 0.0 and b.remaining == pytest.approx(0.05)


def test_spend_and_open_bids_survive_a_restart(tmp_path):
    store = tmp_path / "rtb.sqlite"
    clock = Clock()
    first = bidder(budget=1.0, store=store, clock=clock)
    c = TestClient(create_app(first))
    won, in_flight = bids_of(c.post("/openrtb2/bid", json=request(imps=2)))
    assert c.get(win_url(won, 12)).status_code == 204
    assert first.spent == pytest.approx(0.012) and first.reserved == pytest.approx(0.015)
    first.close()  # the process stops

    again = bidder(budget=1.0, store=store, clock=clock)
    c = TestClient(create_app(again))
    status = c.get("/status").json()
    assert status["spent"] == pytest.approx(0.012) and status["reserved"] == pytest.approx(0.015)
    assert status["open_bids"] == 1 and status["store"] == str(store)
    assert c.get(win_url(won, 12)).status_code == 409  # a replay across the restart
    assert c.get(win_url(in_flight, 15)).status_code == 204  # signed before, verified after
    assert again.spent == pytest.approx(0.027) and again.reserved == 0.0
    again.close()


def test_a_second_bidder_on_the_same_store_is_refused(tmp_path):
    store = tmp_path / "rtb.sqlite"
    first = bidder(store=store)
    with pytest.raises(ConflictError, match="in use by another bidder"):
        bidder(store=store)
    first.close()
    bidder(store=store).close()  # free again once the first one stops


def test_a_store_that_is_not_a_bidder_store_is_refused(tmp_path):
    garbage = tmp_path / "notes.sqlite"
    garbage.write_bytes(b"not sqlite at all " * 100)
    with pytest.raises(DataError, match="not a bidder store"):
        bidder(store=garbage)
    other = tmp_path / "planner.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE scenarios (id INTEGER)")
    with pytest.raises(DataError, match=r"of something else \(tables: scenarios\)"):
        bidder(store=other)
    with pytest.raises(DataError, match="is a folder"):
        bidder(store=tmp_path)


def test_the_daily_budget_starts_again_on_the_next_utc_day(tmp_path):
    clock = Clock()
    b = bidder(clock=clock, store=tmp_path / "s.sqlite", bid_ttl=3600)
    c = TestClient(create_app(b))
    made = bids_of(c.post("/openrtb2/bid", json=request(imps=4)))
    for x in made:
        c.get(win_url(x, x["price"]))
    assert (
        b.spent == pytest.approx(0.05)
        and c.post("/openrtb2/bid", json=request()).status_code == 204
    )
    clock.t += 12 * 3600  # past midnight UTC
    assert b.status()["period"] == "2026-01-02" and b.spent == 0.0
    assert bids_of(c.post("/openrtb2/bid", json=request()))[0]["price"] == 15.0
    total = bidder(budget=0.05, budget_period="total", clock=clock)
    assert total.status()["period"] == "total"


def test_a_ledger_that_cannot_be_written_means_no_bid_with_nbr_1(monkeypatch):
    b = bidder()
    c = TestClient(create_app(b))

    def broken(rows):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(b.ledger, "add_bids", broken)
    r = c.post("/openrtb2/bid", json=request())
    assert r.status_code == 200 and r.json() == {"id": "req-0", "nbr": 1}
    assert b.reserved == 0.0 and b.status()["no_bids"] == {"technical": 1}


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"budget": float("inf")}, "budget must be a finite number"),
        ({"budget": float("nan")}, "budget must be >= 0"),
        ({"budget": 1e13}, "<= 1e\\+12"),
        ({"cpc": float("inf")}, "cpc must be a finite number"),
        ({"bid_ttl": 0}, "bid_ttl"),
        ({"budget_period": "week"}, "budget_period must be one of"),
        ({"tmax_margin_ms": -1}, "tmax_margin_ms"),
    ],
)
def test_bidder_settings_out_of_range_are_refused(kw, match):
    with pytest.raises(SpecError, match=match):
        bidder(**kw)


def test_a_bid_of_another_campaign_in_the_same_store_is_unknown(tmp_path):
    store = tmp_path / "rtb.sqlite"
    first = bidder(store=store, ad_id="ad-a")
    (bid,) = bids_of(TestClient(create_app(first)).post("/openrtb2/bid", json=request()))
    first.close()
    other = bidder(store=store, ad_id="ad-b")  # same store (same signing secret)
    c = TestClient(create_app(other))
    r = c.get(win_url(bid, 15))
    assert r.status_code == 404 and "not one of our bids" in r.json()["error"]
    assert other.spent == 0.0 and other.remaining == pytest.approx(0.05)
    other.close()
