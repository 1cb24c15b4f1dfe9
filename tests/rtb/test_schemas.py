"""The OpenRTB bid request schema: key paths in the errors, extensions passed through."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mediamix.errors import SpecError
from mediamix.rtb.schemas import BidRequest, parse_bid_request
from mediamix.rtb.server import Bidder, create_app


def minimal(**over) -> dict:
    req = {"id": "r", "imp": [{"id": "1"}], "site": {"domain": "news.example"}}
    req.update(over)
    return req


@pytest.mark.parametrize(
    "over,message",
    [
        ({"imp": [{"id": "1", "bidfloor": "cheap"}]}, "imp[0].bidfloor: expected a number, got 'cheap'"),
        ({"imp": [{"id": "1"}, {"id": "2", "bidfloor": -1}]}, "imp[1].bidfloor: Input should be greater"),
        ({"device": {"devicetype": "phone"}}, "device.devicetype: expected an integer, got 'phone'"),
        ({"at": 3}, "at: at must be 1 (first price) or 2 (second price), got 3"),
        ({"imp": [{"id": "1"}, {"id": "1"}]}, "imp: imp ids must be unique ('1' repeated)"),
        ({"app": {"bundle": "com.example"}}, "app: a bid request needs exactly one of 'site' or 'app' (both are given)"),
        ({"site": None}, "app: a bid request needs exactly one of 'site' or 'app' (neither is given)"),
        ({"tmax": -5}, "tmax: Input should be greater than or equal to 0, got -5"),
    ],
)  # fmt: skip
def test_conversion_errors_name_the_key_path(over, message):
    with pytest.raises(SpecError) as info:
        parse_bid_request(minimal(**over))
    assert message in str(info.value)


def test_every_fault_is_named_on_one_line():
    with pytest.raises(SpecError) as info:
        parse_bid_request({"site": {}})
    text = str(info.value)
    assert "\n" not in text
    assert "id: required key is missing" in text and "imp: required key is missing" in text


def test_openrtb_extensions_and_unknown_fields_pass_through():
    req = parse_bid_request(
        minimal(ext={"prebid": {"x": 1}}, regs={"coppa": 0}, imp=[{"id": "1", "pmp": {}}])
    )
    assert isinstance(req, BidRequest)
    assert req.model_extra == {"ext": {"prebid": {"x": 1}}, "regs": {"coppa": 0}}
    assert req.imp[0].bidfloor == 0.0 and req.at == 2


def test_the_bidder_answers_400_with_the_key_path():
    bidder = Bidder(cpc=1.0, budget=10.0, ctr=0.01)
    c = TestClient(create_app(bidder))
    r = c.post("/openrtb2/bid", json=minimal(imp=[{"id": "1", "bidfloor": "cheap"}]))
    assert r.status_code == 400
    assert r.json() == {"error": "imp[0].bidfloor: expected a number, got 'cheap'"}
    r = c.get("/win", params={"price": "abc"})
    assert r.status_code == 400 and r.json()["error"] == "price: expected a number, got 'abc'"
    r = c.get("/win", params={"price": "-1"})
    assert r.status_code == 400 and r.json()["error"].startswith("price: ")
    assert bidder.spent == 0.0
