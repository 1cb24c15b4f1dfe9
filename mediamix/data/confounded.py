"""Simulated data where one channel's spend follows an unobserved demand factor.

The case observational media mix models cannot get right on their own: the KPI rises with
demand, and so does the spend of one channel (search, by default: people who want the product
search for it, and the bids follow), so a model that does not see demand credits the channel
with what demand did. An experiment on that channel (a lift test) is the cure; the generator
runs one inside the data and returns its measured lift with the truth.

Weekly periods ``t = 0, ..., T-1``:

    y_t = base * (1 + trend t / T + season_t) + demand_effect * base * d_t
          + sum_c Sat_c(Adstock_c(spend_c))_t + eps_t,       eps_t ~ N(0, (noise * base)^2)

``d_t`` is a standardised AR(1) process (``rho``) that the data do not contain; the confounded
channel's spend is ``level * exp(follow * d_t) * lognormal(0, 0.08)``, the others are
independent of it (a flighted ``tv``, an always-on ``social``). Adstock is geometric and
normalised, starting from zero spend before the first period; saturation is Hill on spend
(``k`` relative to the channel's mean adstocked spend, so ``k_rel < 1`` runs it saturated);
each channel's amplitude is set so its ROAS over the whole series equals ``roas``.

The test (``test``): from period ``start`` for ``weeks`` periods the channel's spend changes
by ``change`` times its mean spend over those periods, the same amount in each (``change =
1``: doubled, to a saturated level; ``-0.5``: cut by half; ``-1``: paused, spend zero);
the lift is the true KPI difference between the data (with the test) and the same world
without it, summed over the test and ``tail`` periods after it, measured with standard error
``se`` (a fraction of the true lift) and a draw of that noise. The returned
`mediamix.data.experiments.Experiment` says ``in_data: true``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mediamix.data.experiments import Experiment

CHANNELS = ("tv", "search", "social")
DEFAULTS: dict[str, dict[str, float]] = {
    # spend level per week, geometric decay, Hill k relative to mean adstocked spend, Hill s,
    # ROAS over the whole series
    "tv": {"level": 20000.0, "lam": 0.6, "k_rel": 1.0, "s": 1.0, "roas": 1.5},
    "search": {"level": 15000.0, "lam": 0.3, "k_rel": 0.5, "s": 1.2, "roas": 1.0},
    "social": {"level": 8000.0, "lam": 0.4, "k_rel": 0.8, "s": 1.0, "roas": 0.8},
}
MAX_LAG = 8
DEFAULT_TEST = {"start": 110, "weeks": 6, "change": 1.0, "tail": 4, "se": 0.1}


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    d = np.zeros(n)
    e = rng.standard_normal(n)
    d[0] = e[0]
    for t in range(1, n):
        d[t] = rho * d[t - 1] + np.sqrt(1 - rho**2) * e[t]
    return (d - d.mean()) / d.std()


def _spend(rng: np.random.Generator, n: int, demand: np.ndarray, follow: float,
           confounded: str, conf: dict) -> np.ndarray:  # fmt: skip
    out = np.zeros((n, len(CHANNELS)))
    t = np.arange(n)
    for c, name in enumerate(CHANNELS):
        level = conf[name]["level"]
        if name == confounded:
            x = level * np.exp(follow * demand - follow**2 / 2) * rng.lognormal(0, 0.08, n)
        elif name == "tv":
            on = np.zeros(n, dtype=bool)
            i, flag = 0, True
            while i < n:
                length = int(rng.integers(3, 8) if flag else rng.integers(2, 6))
                on[i : i + length] = flag
                i, flag = i + length, not flag
            x = level * 1.8 * on * rng.lognormal(0, 0.25, n)
        else:
            phase = rng.uniform(0, 2 * np.pi)
            x = (
                level
                * (1 + 0.3 * np.sin(2 * np.pi * t / 52.18 + phase))
                * rng.lognormal(0, 0.25, n)
            )
        out[:, c] = np.round(x, 2)
    return out


def _response(spend: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Each channel's contribution per period (T, C) for spend (T, C)."""
    from mediamix.transforms.adstock import apply_weights, geometric_weights
    from mediamix.transforms.saturation import hill

    w = geometric_weights(params["lam"], MAX_LAG, True)
    a = apply_weights(np.asarray(spend, dtype=float), w)
    return hill(a, params["beta"], params["k"], params["s"])


def confounded(
    n_periods: int = 156,
    seed: int = 0,
    *,
    channel: str = "search",
    follow: float = 0.35,
    rho: float = 0.85,
    demand_effect: float = 0.1,
    noise: float = 0.03,
    base: float = 100000.0,
    test: dict[str, Any] | None = None,
    channels: dict[str, dict[str, float]] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``(frame, truth)``: weekly data (``date, sales, <channel>_spend``) and the truth.

    ``truth``: ``channels`` (per channel: the parameters, ``roas`` over the whole series),
    ``contribution`` (T, C), ``spend`` (T, C), ``demand`` (T,), ``experiment`` (the lift test
    as an `Experiment`, or None with ``test=False``), ``true_lift``, and the column names.
    Use `true_roas` for the ROAS over a part of the series. ``channels`` overrides the
    settings of `DEFAULTS` per channel (e.g. ``{"search": {"s": 1.0}}``).
    """
    conf = {k: {**v, **((channels or {}).get(k) or {})} for k, v in DEFAULTS.items()}
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    rng = np.random.default_rng(seed)
    n = int(n_periods)
    demand = _ar1(rng, n, rho)
    natural = _spend(rng, n, demand, follow, channel, conf)
    spec = None if test is False else {**DEFAULT_TEST, **(test or {})}
    spend = natural.copy()
    c = CHANNELS.index(channel)
    if spec is not None:
        s0, wk = int(spec["start"]), int(spec["weeks"])
        if s0 < 0 or s0 + wk + int(spec["tail"]) > n:
            raise ValueError("the test and its tail must lie inside the series")
        # the change spread evenly over the test (as the experiments table reads it): the
        # channel's mean spend over the test times ``change`` added to each test period (a
        # pause sets the spend to zero)
        nat = natural[s0 : s0 + wk, c]
        moved = (
            np.maximum(nat + spec["change"] * nat.mean(), 0.0) if spec["change"] > -1 else 0 * nat
        )
        spend[s0 : s0 + wk, c] = np.round(moved, 2)
    # transform parameters: Hill k relative to the mean adstocked spend of the natural spend
    from mediamix.transforms.adstock import apply_weights, geometric_weights

    lam = np.array([conf[k]["lam"] for k in CHANNELS])
    mean_ad = apply_weights(natural, geometric_weights(lam, MAX_LAG, True)).mean(0)
    params = {
        "lam": lam,
        "k": np.array([conf[k]["k_rel"] for k in CHANNELS]) * mean_ad,
        "s": np.array([conf[k]["s"] for k in CHANNELS]),
        "beta": np.ones(len(CHANNELS)),
    }
    unit = _response(spend, params)
    roas = np.array([conf[k]["roas"] for k in CHANNELS])
    params["beta"] = roas * spend.sum(0) / unit.sum(0)
    contrib = unit * params["beta"]
    t = np.arange(n)
    season = 0.06 * np.sin(2 * np.pi * t / 52.18) + 0.03 * np.cos(4 * np.pi * t / 52.18)
    baseline = base * (1 + 0.05 * t / n + season) + demand_effect * base * demand
    kpi = baseline + contrib.sum(1) + rng.normal(0, noise * base, n)
    dates = pd.date_range("2021-01-04", periods=n, freq="W-MON")
    frame = pd.DataFrame({"date": dates, "sales": np.round(kpi, 2)})
    for i, name in enumerate(CHANNELS):
        frame[f"{name}_spend"] = spend[:, i]
    experiment, lift = None, None
    if spec is not None:
        s0, wk, tail = int(spec["start"]), int(spec["weeks"]), int(spec["tail"])
        without = _response(natural, params)
        lift = float((contrib[:, c] - without[:, c])[s0 : s0 + wk + tail].sum())
        se = abs(lift) * float(spec["se"])
        experiment = Experiment(
            channel=channel,
            start=str(dates[s0].date()),
            end=str(dates[s0 + wk - 1].date()),
            spend_change=float(spend[s0 : s0 + wk, c].sum() - natural[s0 : s0 + wk, c].sum()),
            lift=float(lift + rng.normal(0, se)),
            lift_se=float(se),
            measure_end=str(dates[s0 + wk + tail - 1].date()),
        )
    truth = {
        "channels": {
            name: {
                "spend_column": f"{name}_spend",
                "lam": float(params["lam"][i]),
                "k": float(params["k"][i]),
                "s": float(params["s"][i]),
                "beta": float(params["beta"][i]),
                "roas": float(contrib[:, i].sum() / spend[:, i].sum()),
            }
            for i, name in enumerate(CHANNELS)
        },
        "confounded": channel,
        "contribution": contrib,
        "spend": spend,
        "demand": demand,
        "experiment": experiment,
        "true_lift": lift,
        "date_column": "date",
        "kpi_column": "sales",
    }
    return frame, truth


def true_roas(truth: dict[str, Any], periods: Any = slice(None)) -> dict[str, float]:
    """True ROAS per channel over ``periods`` (a slice, indices or a boolean mask)."""
    contrib = np.asarray(truth["contribution"])[periods]
    spend = np.asarray(truth["spend"])[periods]
    return {n: float(contrib[:, i].sum() / spend[:, i].sum()) for i, n in enumerate(CHANNELS)}


def confounded_dataset(frame: pd.DataFrame, truth: dict[str, Any] | None = None):
    """The `Dataset` of a confounded simulation (demand is not in it)."""
    from mediamix.data.dataset import Dataset

    channels = [{"name": n, "spend": f"{n}_spend"} for n in CHANNELS]
    return Dataset.from_frame(frame, date="date", kpi="sales", channels=channels)
