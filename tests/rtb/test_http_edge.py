"""The bidder's HTTP edge: body limit, content type, JSON depth, imps per request, the tmax
deadline, the access token."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from mediamix.rtb.schemas import MAX_IMPS
from mediamix.rtb.server import MAX_DEPTH, Bidder, create_app, nesting_depth


def request(**over) -> dict:
    req = {
        "id": "req-1",
        "imp": [{"id": "1", "bidfloor": 0.5}],
        "site": {"id": "s1", "domain": "news.example"},
        "tmax": 100,
    }
    req.update(over)
    return req


def client(token: str | None = None, max_body_bytes=4096, **kw) -> tuple[TestClient, Bidder]:
    kw.setdefault("cpc", 2.0)
    kw.setdefault("budget", 100.0)
    kw.setdefault("ctr", 0.01)
    b = Bidder(**kw)
    return TestClient(create_app(b, token=token, max_body_bytes=max_body_bytes)), b


def test_a_body_over_the_limit_is_413_declared_or_streamed():
    c, b = client()
    padded = json.dumps(request(ext={"pad": "x" * 5000})).encode()
    r = c.post("/openrtb2/bid", content=padded, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit of 4096 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: read until the limit, then refused
        for _ in range(10):
            yield b" " * 1000

    r = c.post("/openrtb2/bid", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert b.status()["requests"] == 0  # refused before any work
    assert c.post("/openrtb2/bid", json=request()).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_declared_non_json_content_type_is_415(content_type):
    c, _ = client()
    body = json.dumps(request()).encode()
    r = c.post("/openrtb2/bid", content=body, headers={"content-type": content_type})
    assert r.status_code == 415
    assert content_type in r.json()["error"] and "application/json" in r.json()["error"]


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8"])
def test_json_or_an_undeclared_content_type_is_read_as_json(content_type):
    c, _ = client()
    headers = {} if content_type is None else {"content-type": content_type}
    r = c.post("/openrtb2/bid", content=json.dumps(request()).encode(), headers=headers)
    assert r.status_code == 200


def test_deeply_nested_json_is_400_naming_the_limit():
    c, _ = client(max_body_bytes=2**20)
    body = b'{"id": "x", "imp": [{"id": "1"}], "site": {}, "ext": ' + b"[" * 100_000
    body += b"]" * 100_000 + b"}"
    r = c.post("/openrtb2/bid", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert (
        r.json()["error"]
        == f"the request nests arrays/objects 100001 deep; the limit is {MAX_DEPTH}"
    )
    ok = json.dumps(request(ext={"a": [[[{"b": [1, 2, 3] * 20}]]]})).encode()
    assert c.post("/openrtb2/bid", content=ok).status_code == 200


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth(b'{"a": "[[[[{{{{", "b": [[1]]}') == 3
    assert nesting_depth(b'{"a": "\\"[[["}') == 1
    assert nesting_depth(b"123") == 0


def test_more_imps_than_the_limit_is_400_naming_it():
    c, _ = client(max_body_bytes=2**20)
    imps = [{"id": str(i)} for i in range(MAX_IMPS + 1)]
    r = c.post("/openrtb2/bid", json=request(imp=imps))
    assert r.status_code == 400
    assert (
        "imp" in r.json()["error"]
        and f"at most {MAX_IMPS} impressions per request (this one has {MAX_IMPS + 1})"
        in r.json()["error"]
    )
    r = c.post("/openrtb2/bid", json=request(imp=imps[:MAX_IMPS]))
    assert r.status_code == 200 and len(r.json()["seatbid"][0]["bid"]) == MAX_IMPS


def test_a_deadline_that_cannot_be_met_is_a_no_bid_with_nbr_15():
    c, b = client(tmax_margin_ms=10)
    r = c.post("/openrtb2/bid", json=request(tmax=5))  # 5 ms < the 10 ms margin
    assert r.status_code == 200 and r.json() == {"id": "req-1", "nbr": 15}
    assert b.status()["no_bids"] == {"deadline": 1} and b.reserved == 0.0
    # a request that waited 200 ms before it ran, with tmax 100: no bid
    body = json.dumps(request(tmax=100)).encode()
    status, payload = b.handle(body, arrived=time.monotonic() - 0.2)
    assert status == 200 and json.loads(payload)["nbr"] == 15
    # ... the same request fresh: a bid; no tmax: no deadline
    assert b.handle(body, arrived=time.monotonic())[0] == 200
    assert "seatbid" in json.loads(b.handle(body)[1])
    assert c.post("/openrtb2/bid", json=request(tmax=None)).status_code == 200


def test_no_bids_without_an_openrtb_reason_are_204_and_counted():
    c, b = client(budget=0.0)
    assert c.post("/openrtb2/bid", json=request()).status_code == 204
    assert c.post("/openrtb2/bid", json=request(cur=["EUR"])).status_code == 204
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloor": 50}]))
    assert r.status_code == 204
    assert b.status()["no_bids"] == {"budget": 1, "currency": 1, "floor": 1}


def test_with_a_token_bids_and_status_need_it_and_notices_their_signature():
    token = "s3cret-token-0123456789"
    c, b = client(token=token)
    auth = {"authorization": f"Bearer {token}"}
    assert c.post("/openrtb2/bid", json=request()).status_code == 401
    wrong = {"authorization": "Bearer " + "a" * 23}
    r = c.post("/openrtb2/bid", json=request(), headers=wrong)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]
    r = c.post("/openrtb2/bid", json=request(), headers=auth)
    assert r.status_code == 200
    (bid,) = r.json()["seatbid"][0]["bid"]
    assert c.get("/status").status_code == 401 and c.get("/openapi.json").status_code == 401
    assert c.get("/status", headers=auth).json()["open_bids"] == 1
    assert c.get("/healthz").status_code == 200
    # the exchange calls the signed win URL without our token
    assert c.get(bid["nurl"].replace("${AUCTION_PRICE}", "12.5")).status_code == 204
    assert c.get("/win?price=5000").status_code == 400  # an anonymous notice moves nothing
    assert b.spent == pytest.approx(0.0125)


def test_an_internal_error_is_500_with_a_body_and_the_next_request_is_answered(monkeypatch):
    c, b = client()

    def bug(body, arrived=None):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(b, "handle", bug)
    r = c.post("/openrtb2/bid", json=request())
    assert r.status_code == 500 and "internal error" in r.json()["error"]
    monkeypatch.undo()
    assert c.post("/openrtb2/bid", json=request()).status_code == 200


@pytest.mark.parametrize(
    "body,code,text",
    [
        (b'{"id":"r","imp":[{"id":"1","bidfloor":NaN}],"site":{}}', 400, "a finite number"),
        (b'{"id":"r","imp":[{"id":"1","bidfloor":Infinity}],"site":{}}', 400, "a finite number"),
        (b'{"id":"r","imp":[{"id":"1","bidfloor":-1}],"site":{}}', 400, "greater than or equal"),
        (b'{"id":123,"imp":[{"id":"1"}],"site":{}}', 400, "id: expected a string, got 123"),
        (b'{"id":"r","imp":[{"id":"1","bidfloor":20.0}],"site":{}}', 200, None),  # = value
        (b'{"id":"r","imp":[{"id":"1","bidfloor":20.000001}],"site":{}}', 204, None),
    ],
)
def test_floors_at_above_and_outside_the_value(body, code, text):
    c, _ = client()  # value 1000 x 2.0 x 0.01 = 20 CPM
    r = c.post("/openrtb2/bid", content=body, headers={"content-type": "application/json"})
    assert r.status_code == code
    if text is not None:
        assert text in r.json()["error"]
    if code == 200:
        assert r.json()["seatbid"][0]["bid"][0]["price"] == 20.0


@pytest.mark.parametrize(
    "price,text",
    [
        ("-5", "finite CPM >= 0, got -5"),
        ("abc", "price: expected a number, got 'abc'"),
        ("inf", "price: expected a finite number, got 'inf'"),
        ("nan", "price: expected a finite number, got 'nan'"),
        ("${AUCTION_PRICE}", "price: expected a number, got '${AUCTION_PRICE}'"),
        (None, "price: missing; the win URL of our bids carries price=${AUCTION_PRICE}"),
    ],
)
def test_win_prices_that_are_not_finite_cpms_are_400(price, text):
    c, b = client()
    bid = c.post("/openrtb2/bid", json=request()).json()["seatbid"][0]["bid"][0]
    url = bid["nurl"].replace("price=${AUCTION_PRICE}&", "" if price is None else f"price={price}&")
    r = c.get(url)
    assert r.status_code == 400 and r.json()["reason"] == "bad_price"
    assert text in r.json()["error"]
    assert b.spent == 0.0 and b.status()["open_bids"] == 1


def test_the_server_protocol_stamps_each_request_with_its_arrival():
    """Under uvicorn the deadline counts from when the request's bytes were read, not from
    when its turn in the event loop came."""
    import asyncio
    import socket
    import threading

    import httpx
    import uvicorn

    from mediamix.rtb.server import ARRIVED_KEY, stamped_http_protocol

    seen = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        seen.append(scope.get(ARRIVED_KEY))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=stamped_http_protocol(), lifespan="off",
        log_level="warning",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        before = time.monotonic()
        with httpx.Client() as c:
            for _ in range(3):  # keep-alive: every request on the connection is stamped
                assert c.get(f"http://127.0.0.1:{port}/").status_code == 204
        assert len(seen) == 3 and all(before <= t <= time.monotonic() for t in seen)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
