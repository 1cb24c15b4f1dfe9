"""The OpenRTB 2.6 bidder over HTTP (FastAPI TestClient): bids, no-bids, floors, budget, 400s."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.rtb.bidding import WinRateModel
from mediamix.rtb.ctr import FactorizationMachineCTR, HashedOneHot, simulate_impressions
from mediamix.rtb.server import Bidder, create_app


def request(**over):
    req = {
        "id": "req-1",
        "at": 2,
        "imp": [{"id": "1", "bidfloor": 0.5, "bidfloorcur": "USD", "banner": {"w": 300, "h": 250}}],
        "site": {"id": "s1", "domain": "news.example", "publisher": {"id": "p1"}},
        "device": {"devicetype": 4, "os": "iOS", "ua": "Mozilla/5.0"},
        "user": {"id": "u1"},
        "tmax": 100,
        "cur": ["USD"],
    }
    req.update(over)
    return req


def client(**kw) -> tuple[TestClient, Bidder]:
    kw.setdefault("cpc", 2.0)
    kw.setdefault("budget", 100.0)
    kw.setdefault("ctr", 0.01)
    bidder = Bidder(**kw)
    return TestClient(create_app(bidder)), bidder


def test_second_price_bids_the_value_in_cpm():
    c, bidder = client()
    r = c.post("/openrtb2/bid", json=request())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "req-1" and body["cur"] == "USD"
    (bid,) = body["seatbid"][0]["bid"]
    assert bid["impid"] == "1"
    assert bid["price"] == pytest.approx(1000 * 2.0 * 0.01)  # CPM = 1000 x CPC x CTR
    assert "${AUCTION_PRICE}" in bid["nurl"]
    assert bidder.status()["bids"] == 1


def test_floor_above_value_is_a_no_bid():
    c, _ = client()
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloor": 20.01}]))
    assert r.status_code == 204 and r.content == b""
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloor": 19.99}]))
    assert r.json()["seatbid"][0]["bid"][0]["price"] >= 19.99


def test_first_price_shades_but_never_below_the_floor():
    rng = np.random.default_rng(0)
    win_rate = WinRateModel.from_prices(rng.uniform(0, 40, 10_000))  # CPM
    c, _ = client(win_rate=win_rate)
    r = c.post("/openrtb2/bid", json=request(at=1, imp=[{"id": "1", "bidfloor": 1.0}]))
    price = r.json()["seatbid"][0]["bid"][0]["price"]
    # value 20 CPM against uniform(0, 40) winning prices: argmax (20 - b) b / 40 = 10
    assert price == pytest.approx(10.0, abs=0.5)
    r = c.post("/openrtb2/bid", json=request(at=1, imp=[{"id": "1", "bidfloor": 15.0}]))
    assert r.json()["seatbid"][0]["bid"][0]["price"] >= 15.0
    # second price in the same bidder stays truthful
    r = c.post("/openrtb2/bid", json=request(at=2))
    assert r.json()["seatbid"][0]["bid"][0]["price"] == pytest.approx(20.0)


def notice(bid: dict, price: float | None = None, kind: str = "nurl") -> str:
    """The notice URL of one of our bids as an exchange calls it (macros replaced)."""
    url = bid[kind].replace("${AUCTION_LOSS}", "102")
    return url if price is None else url.replace("${AUCTION_PRICE}", f"{price:g}")


def test_never_bids_above_the_remaining_budget():
    c, bidder = client(budget=0.05)  # 0.05 currency = 50 CPM of room
    imps = [{"id": str(i), "bidfloor": 0.0} for i in range(4)]
    r = c.post("/openrtb2/bid", json=request(imp=imps))
    bids = r.json()["seatbid"][0]["bid"]
    prices = [b["price"] for b in bids]
    assert sum(prices) <= 50.0 + 1e-9
    assert prices[:2] == [pytest.approx(20.0)] * 2 and prices[2] == pytest.approx(10.0)
    # the three bids hold the whole budget until their outcome is known
    assert bidder.remaining == 0.0 and c.post("/openrtb2/bid", json=request()).status_code == 204
    # wins at 20, 20 and 5 CPM (second price below our 10) leave 5 CPM: the next bid is capped
    for bid, price in zip(bids, (20, 20, 5)):
        assert c.get(notice(bid, price)).status_code == 204
    assert bidder.remaining == pytest.approx(0.005)
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloor": 1.0}]))
    last = r.json()["seatbid"][0]["bid"][0]
    assert last["price"] == pytest.approx(5.0)
    # ... and a floor above the remaining budget means no bid
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloor": 6.0}]))
    assert r.status_code == 204
    c.get(notice(last, 5))
    assert c.post("/openrtb2/bid", json=request()).status_code == 204
    assert c.get("/status").json()["remaining"] == 0.0
    assert c.get("/status").json()["spent"] == pytest.approx(0.05)


def test_currency_mismatch_is_a_no_bid():
    c, _ = client()
    assert c.post("/openrtb2/bid", json=request(cur=["EUR"])).status_code == 204
    r = c.post("/openrtb2/bid", json=request(imp=[{"id": "1", "bidfloorcur": "EUR"}]))
    assert r.status_code == 204


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": "x", "site": {}}', "imp"),
        (b'{"id": "x", "imp": [], "site": {}}', "imp"),
        (b'{"id": "x", "imp": [{"id": "1", "bidfloor": -1}], "site": {}}', "bidfloor"),
        (b'{"id": "x", "imp": [{"id": "1", "bidfloor": "cheap"}], "site": {}}', "bidfloor"),
        (b'{"id": "x", "imp": [{"id": "1"}], "site": {}, "at": 3}', "at must be 1"),
        (b'{"id": "x", "imp": [{"id": "1"}], "site": {}, "app": {}}', "exactly one of"),
        (b'{"id": "x", "imp": [{"id": "1"}]}', "exactly one of"),
        (b'{"id": "x", "imp": [{"id": "1"}, {"id": "1"}], "site": {}}', "unique"),
        (b'{"imp": [{"id": "1"}], "site": {}}', "id"),
        (
            b'{"id": "x", "imp": [{"id": "1"}], "site": {}, "device": {"devicetype": 9}}',
            "devicetype",
        ),
    ],
)
def test_malformed_requests_get_400_with_a_reason(body, reason):
    c, bidder = client()
    r = c.post("/openrtb2/bid", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert reason in r.json()["error"]
    assert bidder.spent == 0.0


def test_bad_win_notice_and_bidder_config():
    c, _ = client()
    assert c.get("/win", params={"price": "abc"}).status_code == 400
    assert c.get("/win", params={"price": "-1"}).status_code == 400
    with pytest.raises(SpecError, match="--model"):
        Bidder(cpc=1.0, budget=1.0)
    with pytest.raises(SpecError, match="cpc"):
        Bidder(cpc=0.0, budget=1.0, ctr=0.1)
    res = CliRunner().invoke(cli, ["rtb", "serve", "--cpc", "1", "--budget", "10"])
    assert res.exit_code == 2 and "--ctr" in res.output


def test_bids_follow_the_ctr_model_interactions():
    log = simulate_impressions(60_000, seed=5)
    df = log.frame
    hasher = HashedOneHot(log.fields, n_bits=12)
    X, y = hasher.transform(df), df["click"].to_numpy()
    fm = FactorizationMachineCTR(hasher, rank=4, seed=1).fit(X, y, l2s=(1.0,))
    womens = df.loc[df.site_category == "womens", "site"].iloc[0]
    sports = df.loc[df.site_category == "sports", "site"].iloc[0]
    cosmetics = df.loc[df.ad_category == "cosmetics", "ad"].iloc[0]
    c, _ = client(model=fm, ctr=None, ad_id=cosmetics, clock=lambda: 12 * 3600.0)
    prices = {}
    for name in (womens, sports):
        req = request(site={"domain": name}, imp=[{"id": "1", "bidfloor": 0.0}])
        bid = c.post("/openrtb2/bid", json=req).json()["seatbid"][0]["bid"][0]
        feats = {"site": name, "ad": cosmetics, "device": "mobile", "hour": 12}
        assert bid["ext"]["pctr"] == pytest.approx(fm.predict_one(feats))
        prices[name] = bid["price"]
    # the cosmetics ad is worth more on the women's-media site than on the sports site
    assert prices[womens] > 1.5 * prices[sports]


def test_get_on_the_bid_path_is_405():
    c, _ = client()
    r = c.get("/openrtb2/bid")
    assert r.status_code == 405 and "POST" in r.json()["error"]
    assert c.get("/healthz").json() == {"ok": True}


def test_cli_serve_answers_over_real_http(tmp_path):
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from mediamix.cli import main; main()", "rtb", "serve",
           "--port", str(port), "--ctr", "0.02", "--cpc", "0.5", "--budget", "10"]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.time() < deadline, "server did not start"
                time.sleep(0.1)
        r = httpx.post(url + "/openrtb2/bid", json=request())
        assert r.status_code == 200
        assert r.json()["seatbid"][0]["bid"][0]["price"] == pytest.approx(10.0)
        r = httpx.post(url + "/openrtb2/bid", content=b"{}")
        assert r.status_code == 400 and "imp" in r.json()["error"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def start_server(*args: str):
    """`mediamix rtb serve ARGS` on a free loopback port: (process, base URL)."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from mediamix.cli import main; main()", "rtb", "serve",
           "--port", str(port), *args]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            return server, url
        except httpx.HTTPError:
            if server.poll() is not None:
                raise AssertionError(server.stderr.read().decode()) from None
            assert time.time() < deadline, "server did not start"
            time.sleep(0.1)


def one_connection(url: str, bodies: list[bytes]) -> list[int]:
    """POST each body to /openrtb2/bid over ONE keep-alive connection; the status codes."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    codes = []
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        reader = sock.makefile("rb")
        for body in bodies:
            head = (
                f"POST /openrtb2/bid HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body)
            status = reader.readline()
            assert status, "the server closed the connection"
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            codes.append(int(status.split()[1]))
    return codes


def stop(server) -> None:
    server.terminate()
    server.wait(timeout=10)


def test_cli_serve_keeps_spend_across_a_restart_and_survives_deep_json(tmp_path):
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    store = str(tmp_path / "rtb.sqlite")
    args = ("--store", store, "--ctr", "0.01", "--cpc", "1.5", "--budget", "0.05")
    server, url = start_server(*args)
    try:
        with httpx.Client(base_url=url) as c, ThreadPoolExecutor(20) as pool:
            # 20 concurrent requests over real HTTP (no deadline): bids for at most the budget
            no_tmax = request(tmax=None)
            answers = list(pool.map(lambda _: c.post("/openrtb2/bid", json=no_tmax), range(20)))
            made = [r.json()["seatbid"][0]["bid"][0] for r in answers if r.status_code == 200]
            assert sum(b["price"] for b in made) <= 50.0 + 1e-9 and len(made) == 4
            assert sorted(b["price"] for b in made) == [5.0, 15.0, 15.0, 15.0]
            won = (made[0]["price"] + made[1]["price"]) / 1000
            for b in made[:2]:
                assert c.get(notice(b, b["price"])).status_code == 204
            # 100 000 nested arrays: 400 naming the limit, and the connection still answers
            deep = b'{"id":"x","imp":[{"id":"1"}],"site":{},"ext":' + b"[" * 100_000
            r = c.post("/openrtb2/bid", content=deep + b"]" * 100_000 + b"}")
            assert r.status_code == 400 and "the limit is 32" in r.json()["error"]
            deep += b"]" * 100_000 + b"}"
            ok = json.dumps(request(tmax=None, cur=["EUR"])).encode()  # a no-bid: 204
            assert one_connection(url, [deep, ok, deep, ok]) == [400, 204, 400, 204]
            r = c.post("/openrtb2/bid", json=request(tmax=1))
            assert r.status_code == 200 and r.json() == {"id": "req-1", "nbr": 15}
            r = c.post("/openrtb2/bid", content=b"x" * (2**20 + 1))
            assert r.status_code == 413
            assert c.get("/status").json()["spent"] == pytest.approx(won)
        # a second bidder on the same store is refused
        other = subprocess.run(
            [sys.executable, "-c", "from mediamix.cli import main; main()", "rtb", "serve",
             "--port", "0", *args], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert other.returncode == 2 and "in use by another bidder" in other.stderr
    finally:
        stop(server)
    server, url = start_server(*args)
    try:
        with httpx.Client(base_url=url) as c:
            status = c.get("/status").json()
            assert status["spent"] == pytest.approx(won)  # the two wins survived
            assert status["reserved"] == pytest.approx(0.05 - won)  # the two bids in flight
            assert c.get(notice(made[0], made[0]["price"])).status_code == 409  # replay
            assert c.get(notice(made[2], made[2]["price"])).status_code == 204
            third = made[2]["price"] / 1000
            assert c.get("/status").json()["spent"] == pytest.approx(won + third)
    finally:
        stop(server)
