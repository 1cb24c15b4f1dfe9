"""Bid decisions per second in-process: the bidder's path (hash, FM predict, shade, cap) and
the vectorised path used by the campaign simulator. Bounded: a few seconds."""

from __future__ import annotations

import json
import time

import numpy as np

from mediamix.rtb.bidding import WinRateModel
from mediamix.rtb.ctr import FactorizationMachineCTR, HashedOneHot, simulate_impressions
from mediamix.rtb.schemas import parse_bid_request
from mediamix.rtb.server import Bidder


def trained_model(n: int = 60_000, seed: int = 0) -> FactorizationMachineCTR:
    log = simulate_impressions(n, seed=seed)
    hasher = HashedOneHot(log.fields, n_bits=18)
    X, y = hasher.transform(log.frame), log.frame["click"].to_numpy()
    return FactorizationMachineCTR(hasher, rank=8, seed=seed).fit(X, y, l2s=(1.0,))


def bid_requests(n: int, seed: int = 0) -> list[dict]:
    """OpenRTB 2.6 requests over simulated sites, devices, floors and auction types."""
    rng = np.random.default_rng(seed)
    cats = ["womens", "sports", "news", "tech"]
    out = []
    for i in range(n):
        s = int(rng.integers(0, 24))
        req = {
            "id": f"r{i}",
            "at": int(rng.choice([1, 2])),
            "tmax": 100,
            "cur": ["USD"],
            "imp": [
                {
                    "id": "1",
                    "bidfloor": float(np.round(rng.uniform(0, 40), 2)),
                    "bidfloorcur": "USD",
                    "tagid": f"slot-{int(rng.integers(0, 5))}",
                    "banner": {"w": 300, "h": 250},
                }
            ],
            "device": {"devicetype": int(rng.choice([2, 4, 5])), "os": "iOS", "ua": "Mozilla"},
            "user": {"id": f"u{int(rng.integers(0, 10_000))}"},
        }
        if rng.uniform() < 0.8:
            req["site"] = {"id": f"s{s}", "domain": f"{cats[s % 4]}_site_{s}"}
        else:
            req["app"] = {"id": f"a{s}", "bundle": f"{cats[s % 4]}_site_{s}"}
        out.append(req)
    return out


def rate(fn, items, min_seconds=1.0):
    n, t0 = 0, time.perf_counter()
    while True:
        for it in items:
            fn(it)
        n += len(items)
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return n / dt, dt / n * 1e6


def main() -> None:
    t0 = time.perf_counter()
    model = trained_model()
    print(f"trained FM (rank 8, 2^18 hashed features) in {time.perf_counter() - t0:.1f} s")
    rng = np.random.default_rng(1)
    win_rate = WinRateModel.from_prices(rng.lognormal(np.log(20), 0.5, 20_000))
    bidder = Bidder(cpc=1.0, budget=1e12, model=model, win_rate=win_rate, ad_id="cosmetics_ad_0")
    raw = bid_requests(2000)
    bodies = [json.dumps(r).encode() for r in raw]
    parsed = [parse_bid_request(r) for r in raw]
    feats = [bidder.features(r, r.imp[0]) for r in parsed]

    per_s, us = rate(model.predict_one, feats)
    print(f"FM predict_one (hash + score)        : {per_s:>10,.0f} /s  ({us:.1f} us each)")
    per_s, us = rate(bidder.decide, parsed)
    print(f"decide (validated request -> bids)   : {per_s:>10,.0f} /s  ({us:.1f} us each)")

    def full(body):
        bids = bidder.decide(parse_bid_request(json.loads(body)))
        return json.dumps(bidder.response(parsed[0], bids)) if bids else None

    per_s, us = rate(full, bodies)
    print(f"parse + validate + decide + respond  : {per_s:>10,.0f} /s  ({us:.1f} us each)")

    X = model.hasher.transform(
        {k: [f[k] for f in feats] * 50 for k in model.hasher.fields}
    )  # 100k rows
    t0 = time.perf_counter()
    p = model.predict(X)
    bids = win_rate.shade(1000 * p, floor=0.0)
    dt = time.perf_counter() - t0
    print(f"vectorised FM predict + shade (100k) : {X.shape[0] / dt:>10,.0f} /s")
    assert np.all(np.isfinite(bids) | (1000 * p < 0))


if __name__ == "__main__":
    main()
