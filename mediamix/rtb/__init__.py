"""mediamix.rtb: auctions, bidding rules, click-through-rate models, campaign simulation and
an OpenRTB 2.6 bidder (``mediamix.rtb.server``, imported on its own since it needs FastAPI)."""

from mediamix.rtb.auctions import AuctionResult, run_auctions
from mediamix.rtb.bidding import (
    EquilibriumBidFunction,
    WinRateModel,
    equilibrium_bid_function,
    first_price_equilibrium_bid,
    impression_value,
    truthful_bid,
    uniform_equilibrium_bid,
)
from mediamix.rtb.campaign import (
    CampaignResult,
    CampaignSpec,
    Strategy,
    compare_strategies,
    simulate_campaign,
    simulate_requests,
)
from mediamix.rtb.ctr import (
    CTRMetrics,
    FactorizationMachineCTR,
    HashedOneHot,
    LogisticCTR,
    evaluate_ctr,
    load_ctr_model,
    log_loss,
    read_libfm,
    simulate_impressions,
    time_ordered_split,
)
from mediamix.rtb.distributions import ValueDistribution, parse_distribution

__all__ = [
    "AuctionResult",
    "CTRMetrics",
    "CampaignResult",
    "CampaignSpec",
    "EquilibriumBidFunction",
    "FactorizationMachineCTR",
    "HashedOneHot",
    "LogisticCTR",
    "Strategy",
    "ValueDistribution",
    "WinRateModel",
    "compare_strategies",
    "equilibrium_bid_function",
    "evaluate_ctr",
    "first_price_equilibrium_bid",
    "impression_value",
    "load_ctr_model",
    "log_loss",
    "parse_distribution",
    "read_libfm",
    "run_auctions",
    "simulate_campaign",
    "simulate_impressions",
    "simulate_requests",
    "time_ordered_split",
    "truthful_bid",
    "uniform_equilibrium_bid",
]
