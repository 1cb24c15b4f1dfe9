"""CLI commands: ``mediamix rtb ...`` (auction theory, CTR training, campaign simulation,
and the OpenRTB HTTP bidder)."""

from __future__ import annotations

import json

import click

from mediamix.errors import SpecError


@click.group("rtb")
def rtb() -> None:
    """Real-time bidding: equilibrium bids, CTR models, campaign simulation, the bidder."""


@rtb.command("equilibrium")
@click.option("--bidders", "-n", type=int, required=True, help="Number of symmetric bidders.")
@click.option(
    "--dist",
    "spec",
    default="uniform",
    show_default=True,
    help="Value distribution: uniform, uniform:0:2, beta:2:5, lognormal:0:0.5, exponential:1, "
    "gamma:2:1.",
)
@click.option("--value", "-v", type=float, required=True, help="The bidder's own value.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def equilibrium(bidders: int, spec: str, value: float, fmt: str) -> None:
    """First-price equilibrium bid b(v) = v - int_0^v F^(n-1) / F(v)^(n-1)."""
    from mediamix.rtb.bidding import first_price_equilibrium_bid
    from mediamix.rtb.distributions import parse_distribution

    dist = parse_distribution(spec)
    if value < 0:
        raise SpecError(f"--value must be >= 0, got {value:g}")
    bid = float(first_price_equilibrium_bid(value, bidders, dist))
    if fmt == "json":
        click.echo(json.dumps({"bid": bid, "value": value, "bidders": bidders}))
    else:
        click.echo(
            f"first-price equilibrium bid for value {value:g} with {bidders} bidders, "
            f"values ~ {dist.spec}: {bid:.6g} (shading {100 * (1 - bid / value) if value else 0:.2f}%)"
        )


@rtb.command("train-ctr")
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of impressions (one row each) with the fields and a 0/1 label column.",
)
@click.option(
    "--simulate",
    "n_sim",
    type=int,
    default=None,
    help="Train on N simulated impressions instead (known CTR with interactions).",
)
@click.option(
    "--fields",
    default="site,ad,device,hour",
    show_default=True,
    help="Comma-separated categorical fields.",
)
@click.option("--label", default="click", show_default=True, help="The 0/1 click column.")
@click.option(
    "--time",
    "time_col",
    default="time",
    show_default=True,
    help="Column giving the time order (row order when absent).",
)
@click.option("--kind", type=click.Choice(["fm", "logistic"]), default="fm", show_default=True)
@click.option("--bits", type=int, default=18, show_default=True, help="Hash space 2^bits.")
@click.option("--rank", type=int, default=8, show_default=True, help="FM factor rank.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Model file (.npz).")
def train_ctr(data_path, n_sim, fields, label, time_col, kind, bits, rank, seed, out) -> None:
    """Fit a CTR model on a time-ordered split (60/20/20), print test metrics as JSON."""
    import numpy as np
    import pandas as pd

    from mediamix.errors import DataError
    from mediamix.rtb.ctr import (
        FactorizationMachineCTR,
        HashedOneHot,
        LogisticCTR,
        evaluate_ctr,
        simulate_impressions,
        time_ordered_split,
    )

    if (data_path is None) == (n_sim is None):
        raise SpecError("give exactly one of --data CSV or --simulate N")
    if data_path is not None:
        try:
            df = pd.read_csv(data_path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {data_path!r}: {exc}") from None
    else:
        df = simulate_impressions(n_sim, seed=seed).frame
    names = tuple(f.strip() for f in fields.split(",") if f.strip())
    if label not in df:
        raise DataError(f"label column {label!r} is missing; columns are {list(df.columns)}")
    hasher = HashedOneHot(names, n_bits=bits)
    X = hasher.transform(df)
    y = df[label].to_numpy()
    times = df[time_col].to_numpy() if time_col in df else np.arange(len(df))
    tr, va, te = time_ordered_split(times)
    if kind == "fm":
        model = FactorizationMachineCTR(hasher, rank=rank, seed=seed)
        model.fit(X[tr], y[tr], X[va], y[va], l2s=(0.1, 1.0, 10.0))
    else:
        model = LogisticCTR(hasher).fit(X[tr], y[tr], X[va], y[va])
    metrics = evaluate_ctr(y[te], model.predict(X[te]), base_rate=float(np.mean(y[tr])))
    path = model.save(out)
    report = {"model": str(path), "kind": kind, "validation": model.validation_}
    report["test"] = {k: v for k, v in metrics.to_dict().items() if k != "reliability"}
    report["test"]["reliability"] = list(metrics.reliability)
    click.echo(json.dumps(report, indent=2))


@rtb.command("simulate")
@click.option("--budget", type=float, required=True, help="Daily budget.")
@click.option("--cpc", type=float, default=1.0, show_default=True, help="Value of a click.")
@click.option(
    "--mechanism", type=click.Choice(["first", "second"]), default="second", show_default=True
)
@click.option("--requests", "n_requests", type=int, default=100_000, show_default=True)
@click.option(
    "--competitor",
    default="lognormal:-3.9:0.5",
    show_default=True,
    help="Highest competing bid per impression (distribution spec).",
)
@click.option("--floor", type=float, default=0.0, show_default=True)
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    help="truthful, shaded, and either with +multiplier or +throttle pacing "
    "(repeatable; default: truthful, shaded, truthful+multiplier).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="CTR model for pCTR (default: the simulator's true CTR).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def simulate(
    budget, cpc, mechanism, n_requests, competitor, floor, strategies, model_path, seed, fmt
) -> None:
    """Simulate one day of bid requests and compare bidding strategies."""
    from mediamix.rtb.campaign import CampaignSpec, simulate_campaign, simulate_requests

    spec = CampaignSpec(
        budget=budget,
        cpc=cpc,
        n_requests=n_requests,
        mechanism=mechanism,
        competitor=competitor,
        floor=floor,
    )
    model = None
    if model_path:
        from mediamix.rtb.ctr import load_ctr_model

        model = load_ctr_model(model_path)
    stream = simulate_requests(spec, seed, ctr_model=model)
    names = strategies or ("truthful", "shaded", "truthful+multiplier")
    results = [simulate_campaign(spec, s, seed=seed, stream=stream) for s in names]
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    click.echo(
        f"{'strategy':<22}{'spend':>10}{'impr':>8}{'clicks':>8}{'CPC':>8}"
        f"{'win%':>7}{'exhausted':>11}"
    )
    for r in results:
        ex = f"{r.exhausted_at:.2f}h" if r.exhausted_at is not None else "-"
        click.echo(
            f"{r.strategy:<22}{r.spend:>10.2f}{r.impressions:>8}{r.clicks:>8}"
            f"{r.cpc:>8.3f}{100 * r.win_rate:>7.2f}{ex:>11}"
        )


@rtb.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="CTR model file from `rtb train-ctr`.",
)
@click.option("--ctr", type=float, default=None, help="Constant CTR when there is no model.")
@click.option("--cpc", type=float, required=True, help="Value of a click (currency).")
@click.option("--budget", type=float, required=True, help="Daily budget (currency).")
@click.option(
    "--win-prices",
    type=click.Path(dir_okay=False),
    default=None,
    help="Text file of logged winning prices (CPM, one a line) for first-price shading.",
)
@click.option("--ad-id", default="ad-1", show_default=True)
def serve(host, port, model_path, ctr, cpc, budget, win_prices, ad_id) -> None:
    """Run the OpenRTB 2.6 bidder: POST /openrtb2/bid, GET /win?price=, GET /status."""
    import numpy as np
    import uvicorn

    from mediamix.errors import DataError
    from mediamix.rtb.bidding import WinRateModel
    from mediamix.rtb.server import Bidder, create_app

    model = None
    if model_path:
        from mediamix.rtb.ctr import load_ctr_model

        model = load_ctr_model(model_path)
    win_rate = None
    if win_prices:
        try:
            prices = np.loadtxt(win_prices, ndmin=1)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read winning prices from {win_prices!r}: {exc}") from None
        win_rate = WinRateModel.from_prices(prices)
    bidder = Bidder(cpc=cpc, budget=budget, model=model, ctr=ctr, win_rate=win_rate, ad_id=ad_id)
    uvicorn.run(create_app(bidder), host=host, port=port, log_level="warning", access_log=False)


COMMANDS: list = [rtb]
