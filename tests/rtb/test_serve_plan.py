"""The bidder with a plan: it paces each day to the plan's daily target and never bids above
the break-even cap (in process over a simulated day, and `rtb serve --plan` over real HTTP)."""

from __future__ import annotations

import calendar
import json
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.rtb.pacing import TrafficProfile
from mediamix.rtb.plan_targets import plan_targets
from mediamix.rtb.server import Bidder

PLAN = {
    "status": "optimal",
    "allocation": {"display": 56.0, "search": 300.0},
    "marginal_return": {"display": 1.4, "search": 1.4},
    "threshold": {"value": 1.4, "source": "the total budget's shadow price"},
}
CPC, CTR = 2.0, 0.01
VALUE = 1000 * CPC * CTR  # 20 CPM
CAP = VALUE / 1.4  # the break-even bid, CPM
MONDAY = calendar.timegm((2026, 11, 30, 0, 0, 0))


def request(i: int, at: int = 2) -> bytes:
    return json.dumps(
        {
            "id": f"r{i}",
            "at": at,
            "imp": [{"id": "1", "bidfloor": 0.0, "bidfloorcur": "USD"}],
            "site": {"id": "s1", "domain": "news.example"},
            "cur": ["USD"],
        }
    ).encode()


def notice_args(bid: dict, kind: str = "nurl") -> tuple[str, str]:
    q = parse_qs(urlsplit(bid[kind]).query)
    return q["bid"][0], q["sig"][0]


def run_day(bidder: Bidder, clock: list[float], n: int = 1500, seed: int = 0) -> dict:
    """One Monday of ``n`` requests arriving by the default profile against rivals whose
    highest bid is lognormal (median 10 CPM); second price, so a win clears at the rival's
    bid. Returns every bid price, the hour the budget ran out and the day's spend."""
    rng = np.random.default_rng(seed)
    hours = TrafficProfile.default().sample_hours(n, rng)
    rival = rng.lognormal(np.log(10.0), 0.5, n)
    prices, ran_out = [], None
    budget = bidder.status()["budget"]
    for i, (h, r) in enumerate(zip(hours, rival, strict=True)):
        clock[0] = MONDAY + 3600.0 * h
        if ran_out is None and bidder.remaining < 0.01 * budget:
            ran_out = h  # 99% of the day's budget spent
        status, body = bidder.handle(request(i))
        if status == 204:
            continue
        bid = json.loads(body)["seatbid"][0]["bid"][0]
        prices.append(bid["price"])
        bid_id, sig = notice_args(bid)
        if bid["price"] >= r:
            bidder.win(bid_id, f"{r:.6f}", sig)
        else:
            bidder.loss(bid_id, *notice_args(bid, "lurl")[1:])
    return {"prices": np.array(prices), "ran_out": ran_out, "spent": bidder.spent}


@pytest.fixture(scope="module")
def days():
    targets = plan_targets(PLAN, channel="display")
    daily = targets.daily_budget(0)
    out = {"daily": daily}
    for name, kw in (
        ("paced", {"budget": None, "plan": targets, "pace_seconds": 900.0}),
        ("unpaced", {"budget": daily}),
    ):
        clock = [float(MONDAY)]
        b = Bidder(cpc=CPC, ctr=CTR, clock=lambda c=clock: c[0], bid_ttl=5.0, **kw)
        out[name] = run_day(b, clock)
        out[name]["status"] = b.status()
        b.close()
    return out


def test_with_a_plan_the_bidder_spends_the_days_target_within_5_percent(days):
    paced = days["paced"]
    assert paced["status"]["budget"] == pytest.approx(days["daily"], abs=1e-9)
    assert abs(paced["spent"] / days["daily"] - 1) < 0.05, paced["spent"]
    assert paced["spent"] <= days["daily"] + 1e-9
    assert paced["ran_out"] is None or paced["ran_out"] > 23.0
    assert paced["status"]["pacing"]["pacer"] == "dual"
    # without pacing the same budget is gone long before the evening peak
    assert days["unpaced"]["ran_out"] is not None and days["unpaced"]["ran_out"] < 20.0


def test_with_a_plan_no_bid_is_above_the_break_even_and_pacing_lowers_bids(days):
    prices = days["paced"]["prices"]
    assert prices.max() <= CAP + 1e-9
    assert prices.min() < 0.8 * CAP  # the pacer shaded bids below the cap on the way
    assert days["unpaced"]["prices"].max() == pytest.approx(VALUE)  # no plan: no cap


def test_bidder_plan_arguments_are_checked():
    targets = plan_targets(PLAN, channel="display")
    with pytest.raises(SpecError, match="give a budget .* or a plan"):
        Bidder(cpc=1.0, budget=None, ctr=0.01)
    with pytest.raises(SpecError, match="daily; use budget_period 'day'"):
        Bidder(cpc=1.0, budget=None, ctr=0.01, plan=targets, budget_period="total")
    with pytest.raises(SpecError, match="pacer 'fast' is unknown"):
        Bidder(cpc=1.0, budget=None, ctr=0.01, plan=targets, pacer="fast")


def test_cli_refuses_a_bad_plan_with_the_key_path_and_exit_2(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({**PLAN, "marginal_return": {"search": 1.0}}))
    run = CliRunner().invoke
    res = run(
        cli,
        ["rtb", "serve", "--cpc", "2", "--ctr", "0.01", "--plan", str(bad), "--channel", "display"],
    )
    assert res.exit_code == 2
    assert "plan.marginal_return.display: required key is missing" in res.output
    res = run(cli, ["rtb", "serve", "--cpc", "2", "--ctr", "0.01"])
    assert res.exit_code == 2 and "--budget" in res.output and "--plan" in res.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps(PLAN))
    res = run(
        cli, ["rtb", "targets", "--plan", str(good), "--channel", "display", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert sum(out["daily"].values()) == pytest.approx(56.0) and out["hurdle"] == 1.4
    assert sum(out["hourly"]["mon"]) == pytest.approx(out["daily"]["mon"])


def test_rtb_serve_with_a_plan_paces_and_caps_over_real_http(tmp_path):
    import socket
    import subprocess
    import sys

    import httpx

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from mediamix.cli import main; main()", "rtb", "serve",
           "--port", str(port), "--ctr", str(CTR), "--cpc", str(CPC), "--plan", str(plan),
           "--channel", "display", "--pace-seconds", "0.3",
           "--store", str(tmp_path / "rtb.sqlite")]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.time() < deadline, "server did not start"
                time.sleep(0.1)
        status = httpx.get(url + "/status").json()
        weekday = time.strptime(status["period"], "%Y-%m-%d").tm_wday
        daily = plan_targets(PLAN, channel="display").daily_budget(weekday)
        assert status["budget"] == pytest.approx(daily, abs=1e-9)
        assert status["pacing"]["plan"]["hurdle"] == 1.4 and status["pacing"]["factor"] == 1.0
        prices = []
        with httpx.Client(base_url=url, timeout=10) as c:
            for i in range(3):  # win every bid at once: far ahead of the day's curve
                r = c.post("/openrtb2/bid", content=request(i))
                bid = r.json()["seatbid"][0]["bid"][0]
                prices.append(bid["price"])
                win = bid["nurl"].replace("${AUCTION_PRICE}", str(bid["price"]))
                assert c.get(win).status_code == 204
            time.sleep(0.4)  # one pacing interval later
            for i in range(3, 5):
                r = c.post("/openrtb2/bid", content=request(i, at=i % 2 + 1))
                prices.append(r.json()["seatbid"][0]["bid"][0]["price"])
            status = c.get("/status").json()
        assert prices[0] == pytest.approx(CAP)  # unpaced at first: the break-even bid
        assert max(prices) <= CAP + 1e-9  # never above it
        assert prices[-1] < 0.9 * CAP and status["pacing"]["factor"] < 0.9  # paced down
        assert status["spent"] == pytest.approx(3 * CAP / 1000, rel=1e-6)
    finally:
        server.terminate()
        server.wait(timeout=10)
