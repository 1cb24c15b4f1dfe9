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


def plan_options(f):
    """--plan, --channel, --period-days, --profile, --min-roas (shared by serve and targets)."""
    opts = [
        click.option(
            "--plan",
            "plan_path",
            type=click.Path(),
            default=None,
            help="Plan JSON (`mediamix optimize --format json -o plan.json`, or a run folder "
            "/ its plan.json): pace to the channel's daily target and cap bids at its break-even.",
        ),
        click.option("--channel", default=None, help="The plan's channel this bidder buys."),
        click.option(
            "--period-days",
            type=float,
            default=7.0,
            show_default=True,
            help="Days one plan period covers (7 for a weekly model, 1 for daily).",
        ),
        click.option(
            "--profile",
            "profile_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Traffic profile JSON/YAML: {hourly: [24 weights], weekday: [7, Monday "
            "first]} (default: a built-in diurnal and weekday shape).",
        ),
        click.option(
            "--min-roas",
            type=float,
            default=0.0,
            show_default=True,
            help="Break-even return per unit of spend; the hurdle is max(shadow price, this).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _read_targets(plan_path, channel, period_days, profile_path, min_roas):
    if plan_path is None:
        for name, given in (("--channel", channel), ("--profile", profile_path)):
            if given is not None:
                raise SpecError(f"{name} needs --plan PLAN.json")
        return None
    from mediamix.rtb.pacing import TrafficProfile
    from mediamix.rtb.plan_targets import read_plan_targets

    profile = TrafficProfile.read(profile_path) if profile_path else None
    return read_plan_targets(
        plan_path, channel=channel, period_days=period_days, profile=profile, min_roas=min_roas
    )


@rtb.command("targets")
@plan_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def targets(plan_path, channel, period_days, profile_path, min_roas, fmt) -> None:
    """A plan's pacing targets and bid cap for one channel: budget per weekday and hour, and
    the hurdle (break-even return per unit of spend) that caps bids at value / hurdle."""
    if plan_path is None:
        raise SpecError("give --plan PLAN.json (a plan file or a run folder)")
    plan = _read_targets(plan_path, channel, period_days, profile_path, min_roas)
    out = plan.to_dict()
    out["hourly"] = {day: plan.hourly(i).tolist() for i, day in enumerate(out["daily"])}
    if fmt == "json":
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"{plan.channel}: {plan.budget_per_period:,.2f} per {plan.period_days:g}-day period; "
        f"bids capped at value / {plan.hurdle:.4g} ({plan.hurdle_source})"
    )
    click.echo("daily  " + "  ".join(f"{d} {v:,.2f}" for d, v in out["daily"].items()))
    peak = int(plan.profile.hour_share.argmax())
    click.echo(
        f"hourly (Monday): {plan.hourly(0).min():,.2f} .. {plan.hourly(0).max():,.2f} "
        f"(peak {peak}:00 UTC)"
    )


TOKEN_ENV = "MEDIAMIX_RTB_TOKEN"


def _is_loopback(host: str) -> bool:
    """The planner's rule (127.0.0.0/8, ::1, localhost), without loading the planner for the
    default address."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return True
    from mediamix.app.server import is_loopback

    return is_loopback(host)


@rtb.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="CTR model file from `rtb train-ctr`.",
)
@click.option("--ctr", type=float, default=None, help="Constant CTR when there is no model.")
@click.option("--cpc", type=float, required=True, help="Value of a click (currency).")
@click.option(
    "--budget",
    type=float,
    default=None,
    help="Budget (currency) per period; with --plan an extra cap on the plan's daily target.",
)
@plan_options
@click.option(
    "--pacer",
    type=click.Choice(["dual", "pi"]),
    default="dual",
    show_default=True,
    help="With --plan: the pacing controller (dual: bid value / (1 + mu); pi: a PI controller "
    "on the bid multiplier).",
)
@click.option(
    "--pace-seconds",
    type=click.FloatRange(min=0.001, max=86400),
    default=60.0,
    show_default=True,
    help="With --plan: seconds between pacing updates.",
)
@click.option(
    "--budget-period",
    type=click.Choice(["day", "total"]),
    default="day",
    show_default=True,
    help="day: the budget is per UTC day; total: for the whole life of the store.",
)
@click.option(
    "--win-prices",
    type=click.Path(dir_okay=False),
    default=None,
    help="Text file of logged winning prices (CPM, one a line) for first-price shading.",
)
@click.option("--ad-id", default="ad-1", show_default=True)
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file of the bid ledger and spend (default: $MEDIAMIX_HOME/rtb.sqlite or "
    "~/.mediamix/rtb.sqlite). One bidder process per store.",
)
@click.option(
    "--bid-ttl",
    type=click.FloatRange(min=0.001, max=86400),
    default=60.0,
    show_default=True,
    help="Seconds a bid holds its reservation when no win or loss notice comes (its 'exp').",
)
@click.option(
    "--tmax-margin-ms",
    type=click.FloatRange(min=0, max=10_000),
    default=10.0,
    show_default=True,
    help="No bid (nbr 15) when time since arrival + this margin exceeds the request's tmax.",
)
@click.option(
    "--max-body-kb",
    type=click.IntRange(min=1, max=64 * 1024),
    default=1024,
    show_default=True,
    help="Largest bid request body (413 above it).",
)
@click.option(
    "--notice-url",
    default="",
    help="Public base URL of this bidder for the win/loss URLs of its bids, e.g. "
    "https://bidder.example.com (default: paths only).",
)
def serve(
    host,
    port,
    model_path,
    ctr,
    cpc,
    budget,
    budget_period,
    win_prices,
    ad_id,
    store_path,
    bid_ttl,
    tmax_margin_ms,
    max_body_kb,
    notice_url,
    plan_path,
    channel,
    period_days,
    profile_path,
    min_roas,
    pacer,
    pace_seconds,
) -> None:
    """Run the OpenRTB 2.6 bidder: POST /openrtb2/bid, the win/loss notice URLs of its bids
    (/win, /loss), GET /status.

    Every bid reserves its cost until its win, loss or expiry is known, so spend never goes
    past the budget; spend and the bid ledger are kept in the --store file. Listens on
    127.0.0.1 unless --host says otherwise; any other address needs an access token in
    $MEDIAMIX_RTB_TOKEN, which bid requests and /status must then send as
    'Authorization: Bearer <token>' (win and loss URLs are signed instead).

    With --plan PLAN.json [--channel NAME] (the JSON `mediamix optimize --format json -o`
    writes, or a run folder's plan.json; a file is all it needs, no planner server), each UTC day's budget is
    the plan's daily target for the channel, paced through the day by the traffic profile,
    and no bid goes above the break-even value / max(shadow price, --min-roas); --cpc is
    then the KPI a click is worth, in the plan's KPI units.
    """
    import os

    import numpy as np
    import uvicorn

    from mediamix.cli.report_cmds import MIN_TOKEN_LENGTH
    from mediamix.errors import DataError
    from mediamix.rtb.bidding import WinRateModel
    from mediamix.rtb.ledger import default_store_path
    from mediamix.rtb.server import Bidder, create_app, stamped_http_protocol

    token = os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token.strip()) < MIN_TOKEN_LENGTH:
        raise SpecError(
            f"{TOKEN_ENV} has {len(token.strip())} characters; use at least {MIN_TOKEN_LENGTH}"
            " random ones, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    if not _is_loopback(host) and token is None:
        raise SpecError(
            f"refusing to listen on {host}: anyone who can reach it could send bid requests "
            f"and read the spend. Set {TOKEN_ENV} to a long random string (bid requests and "
            "/status must then send 'Authorization: Bearer <token>'), or keep the default "
            "--host 127.0.0.1"
        )
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
    if budget is None and plan_path is None:
        raise SpecError("give --budget (currency per period) or --plan PLAN.json")
    plan = _read_targets(plan_path, channel, period_days, profile_path, min_roas)
    store = store_path or default_store_path()
    bidder = Bidder(
        cpc=cpc,
        budget=budget,
        model=model,
        ctr=ctr,
        win_rate=win_rate,
        ad_id=ad_id,
        store=store,
        bid_ttl=bid_ttl,
        tmax_margin_ms=tmax_margin_ms,
        budget_period=budget_period,
        notice_url=notice_url,
        plan=plan,
        pacer=pacer,
        pace_seconds=pace_seconds,
    )
    status = bidder.status()
    click.echo(
        f"mediamix bidder on http://{host if ':' not in host else f'[{host}]'}:{port}/  "
        f"store: {status['store']}  spent {status['spent']:g} of {status['budget']:g} "
        f"({status['period']}), {status['open_bids']} bids in flight"
    )
    if plan is not None:
        click.echo(
            f"pacing {plan.channel!r} to {status['budget']:g} today ({pacer} pacer), bids "
            f"capped at value / {plan.hurdle:.4g} ({plan.hurdle_source})"
        )
    app = create_app(bidder, token=token, max_body_bytes=max_body_kb * 1024)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            http=stamped_http_protocol(),
            log_level="warning",
            access_log=False,
        )
    finally:
        bidder.close()


COMMANDS: list = [rtb]
