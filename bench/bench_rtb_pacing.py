"""From a plan to bids: the budget-aware auction simulator over several seeds.

For each auction type and strategy (truthful, shaded, paced with the dual controller, paced
with the PI controller) it prints the mean and range over seeds of the delivery error
against the plan's daily budget, the largest gap to the plan's hourly curve, the value won
per unit of spend, the hour the budget ran out, and the largest bid minus break-even cap
(never above 0), with the least return per unit of spend of any impression won.

    .venv/bin/python bench/bench_rtb_pacing.py [--plan PLAN.json --channel NAME] [--seeds 8]
        [--opportunities 20000] [--share 0.6] [--traffic default|flat|late] [--json]

Without --plan it uses a two-channel plan whose shadow price is 1.4. The market is sized so
that an unpaced truthful bidder would spend the Monday budget after about --share of the
day's traffic. ``--traffic`` is how the market's requests really arrive (the bidder always
paces to the plan's default profile): ``flat`` (even through the day) or ``late`` (the
default shifted six hours later) test pacing against the wrong profile. About a second per
simulated day.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mediamix.rtb.auction_sim import STRATEGIES, MarketSpec, simulate_day, size_market
from mediamix.rtb.pacing import TrafficProfile
from mediamix.rtb.plan_targets import plan_targets, read_plan_targets

DEFAULT_PLAN = {
    "allocation": {"search": 6300.0, "tv": 9000.0},
    "marginal_return": {"search": 1.4, "tv": 1.4},
    "threshold": {"value": 1.4, "source": "the total budget's shadow price"},
}


def summarise(values) -> str:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return "-"
    return f"{v.mean():+.3f} [{v.min():+.3f}, {v.max():+.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default=None, help="plan JSON (or run folder); default: built in")
    ap.add_argument("--channel", default=None)
    ap.add_argument("--min-roas", type=float, default=0.0)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--opportunities", type=int, default=20_000)
    ap.add_argument("--share", type=float, default=0.6)
    ap.add_argument("--traffic", choices=("default", "flat", "late"), default="default")
    ap.add_argument("--json", action="store_true", help="print every day's numbers as JSON")
    args = ap.parse_args()
    if args.plan:
        plan = read_plan_targets(args.plan, channel=args.channel, min_roas=args.min_roas)
    else:
        plan = plan_targets(DEFAULT_PLAN, channel=args.channel or "search", min_roas=args.min_roas)
    budget = plan.daily_budget(0)
    print(
        f"plan: {plan.channel} {plan.budget_per_period:,.2f} per {plan.period_days:g} days -> "
        f"Monday {budget:,.2f}; hurdle {plan.hurdle:.4g} ({plan.hurdle_source}); "
        f"{args.seeds} seeds x {args.opportunities:,} opportunities"
    )
    default = TrafficProfile.default()
    traffic = {
        "default": default,
        "flat": TrafficProfile.flat(),
        "late": TrafficProfile(np.roll(default.hour_share, 6), default.weekday),
    }[args.traffic]
    print(f"market traffic: {args.traffic}; the bidder paces to the default profile")
    rows = []
    t0 = time.perf_counter()
    for mechanism in ("second", "first"):
        market = size_market(
            MarketSpec(opportunities=args.opportunities, mechanism=mechanism, profile=traffic),
            budget,
            plan.hurdle,
            share=args.share,
        )
        print(
            f"\n{mechanism} price (an opportunity = {market.impressions_per_opportunity:,.0f} impressions)"
        )
        print(
            f"{'strategy':<10}{'delivery error':>28}{'max hourly gap':>28}{'value / spend':>28}"
            f"{'ran out (h)':>14}{'cap excess':>12}{'min ROAS':>10}"
        )
        for strategy in STRATEGIES:
            days = [simulate_day(market, plan, strategy, seed) for seed in range(args.seeds)]
            rows += [d.to_dict() for d in days]
            out = [
                d.exhausted_at for d in days if d.exhausted_at is not None and d.exhausted_at < 23.5
            ]
            ran = f"{np.mean(out):.1f} ({len(out)}/{len(days)})" if out else f"- (0/{len(days)})"
            print(
                f"{strategy:<10}{summarise(d.delivery_error for d in days):>28}"
                f"{summarise(d.max_pacing_error for d in days):>28}"
                f"{summarise(d.value_per_spend for d in days):>28}{ran:>14}"
                f"{max(d.max_cap_excess for d in days):>12.2g}"
                f"{min(d.min_win_roas for d in days):>10.4f}"
            )
    print(f"\n{time.perf_counter() - t0:.1f} s; 'ran out' counts days that ended before 23:30")
    print(f"every bid <= break-even cap: {all(r['max_cap_excess'] <= 1e-9 for r in rows)}; "
          f"every win returns >= hurdle {plan.hurdle:.4g}: "
          f"{all(r['min_win_roas'] >= plan.hurdle * (1 - 1e-9) for r in rows)}")  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
