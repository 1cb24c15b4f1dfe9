"""What users read off a geo fit, nationally and per geo, always with intervals.

Pure functions of a geo fit (duck-typed: anything with `GeoFitted`'s attributes and methods:
``data``, ``window``, ``geos``, ``channel_names``, ``rf_names``, ``organic_names``,
``non_media_names``, ``media_names``, ``contribution_draws``, ``expected_kpi``,
``media_spend``, ``responses``, ``optimal_frequency``). Shapes: draws lead, then geo, time,
channel: ``(S, G, T, M)``; ``M`` counts the media channels (the paid channels, then the
reach-and-frequency ones: every channel with spend). Everything is in original KPI units
(never per capita) and over the fitted window ``fitted.window`` (the training periods after
the adstock warm-up), as for a national fit (`mediamix.analysis.metrics`):

- ROAS = kpi_value * window contribution / window spend, per geo and nationally (the sum of the
  geos' contributions over the sum of their spend, per draw).
- mROAS = kpi_value * (extra KPI within the window when the channel's spend rises by ``step``
  (1%) in every period of the window) / (the extra spend). Nationally the spend rises in every
  geo; per geo, in that geo. A geo's KPI depends on its own media only, so one raise in all
  geos gives both: each geo's change is what the raise in that geo alone gives. The model is
  additive and a channel's contribution depends on its own spend only, so one evaluation with
  every channel raised gives every channel's extra KPI: the change of its own contribution
  (free of the baseline's round-off in float32).
- A reach-and-frequency channel's spend change scales its reach at the observed frequency.
- Organic channels and non-media treatments get contributions, no ROAS.
- The national figures are sums over the geos of the same draws, so a national contribution is
  exactly the sum of the geos' contributions (draw by draw).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mediamix.analysis._util import interval as _interval
from mediamix.analysis._util import triple as _triple
from mediamix.analysis.metrics import (
    COST_PER_KPI_DEFINITION,
    MROAS_DEFINITION,
    ROAS_DEFINITION,
)
from mediamix.analysis.metrics import ratio_triple as _ratio_triple
from mediamix.analysis.whatif import WhatIf
from mediamix.errors import SpecError, did_you_mean
from mediamix.optimize.response import Response

NATIONAL = "national"
BY = ("national", "geo")
ROLES = ("paid", "rf", "organic", "non_media", "baseline")
GEO_MROAS_DEFINITION = (
    "per geo: extra KPI value within the fitted window from +1% spend in every period of the "
    "channel in that geo, divided by the extra spend; nationally: +1% in every geo"
)


def interval(draws, level: float = 0.9, axis: int = 0):
    """`mediamix.analysis._util.interval`, quiet for a channel without spend (all NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _interval(draws, level, axis)


def triple(draws, level: float = 0.9) -> dict[str, float | None]:
    """`mediamix.analysis._util.triple`, quiet for all-NaN draws (a geo without spend)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _triple(draws, level)


def ratio_triple(draws, level: float = 0.9) -> dict[str, Any]:
    """`mediamix.analysis.metrics.ratio_triple`, quiet for all-NaN draws."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _ratio_triple(draws, level)


# ---- small accessors ----------------------------------------------------------------------
def _names(fitted, attr: str) -> list[str]:
    return [str(n) for n in (getattr(fitted, attr, None) or ())]


def _media_names(fitted) -> list[str]:
    names = getattr(fitted, "media_names", None)
    if names is None:
        names = list(fitted.channel_names) + list(getattr(fitted, "rf_names", ()) or ())
    return [str(n) for n in names]


def _geos(fitted) -> list[str]:
    geos = getattr(fitted, "geos", None)
    if geos is None:
        geos = fitted.data.geos
    return [str(g) for g in geos]


def _kpi_value(fitted) -> float:
    return float(getattr(fitted.spec, "kpi_value", 1.0) or 1.0)


def _window(fitted) -> slice:
    return fitted.window


def _n_periods(fitted) -> int:
    w = _window(fitted)
    return int(w.stop - w.start)


def _role(fitted, i: int) -> str:
    return "paid" if i < len(fitted.channel_names) else "rf"


def _check_by(by: str) -> None:
    if by not in BY:
        raise SpecError(f"by must be one of {list(BY)} (got {by!r}).{did_you_mean(by, BY)}")


def window_spend(fitted) -> np.ndarray:
    """Spend of each media channel over the fitted window per geo, ``(G, M)``."""
    return np.asarray(fitted.media_spend(), dtype=float)[:, _window(fitted)].sum(1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / np.where(den > 0, den, np.nan)


def _window_totals(draws: dict[str, np.ndarray], w: slice) -> dict[str, np.ndarray]:
    """Each component's draws summed over the window's periods: ``(S, G, n)`` / ``(S, G)``."""
    return {k: np.asarray(v, dtype=float)[:, :, w].sum(2) for k, v in draws.items()}


# ---- ROAS and mROAS -------------------------------------------------------------------------
def roas_draws(fitted, by: str = "national") -> np.ndarray:
    """Draws of ROAS per media channel: ``(S, M)`` nationally, ``(S, G, M)`` by geo (NaN where a
    channel has no spend)."""
    _check_by(by)
    contrib = _window_totals({"m": fitted.contribution_draws()["media"]}, _window(fitted))["m"]
    return _roas(fitted, contrib, window_spend(fitted), by)


def _roas(fitted, contrib: np.ndarray, spend: np.ndarray, by: str) -> np.ndarray:
    kv = _kpi_value(fitted)
    if by == "geo":
        return kv * _ratio(contrib, spend[None])
    return kv * _ratio(contrib.sum(1), spend.sum(0)[None])


def _raised(fitted, step: float) -> dict[str, np.ndarray]:
    """The keyword arguments of `contribution_draws` that raise every media channel's spend
    by ``step`` in every period of the window in every geo (paid activity and rf spend)."""
    w = _window(fitted)
    media = np.array(fitted.data.media, dtype=float)
    media[:, w] *= 1 + step
    out = {"media": media}
    if _names(fitted, "rf_names"):
        rf = np.array(fitted.data.rf_spend, dtype=float)
        rf[:, w] *= 1 + step
        out["rf_spend"] = rf
    return out


def _mroas_geo_draws(fitted, step: float, base: np.ndarray | None = None) -> np.ndarray:
    """Extra KPI (not yet divided by spend) per draw, geo and media channel, ``(S, G, M)``.

    The model is additive and a channel's contribution depends on its own spend only, so one
    evaluation with every channel raised gives each channel's extra KPI as the change of its
    own contribution (``base``: the window totals ``(S, G, M)`` at the observed spend); this
    is the change of the expected KPI, without the round-off of the baseline's far larger
    numbers in float32."""
    w = _window(fitted)
    if base is None:
        base = _window_totals({"m": fitted.contribution_draws()["media"]}, w)["m"]
    up = _window_totals({"m": fitted.contribution_draws(**_raised(fitted, step))["media"]}, w)
    out = up["m"] - base
    out[:, :, window_spend(fitted).sum(0) <= 0] = np.nan
    return out


def mroas_draws(fitted, step: float = 0.01, by: str = "national") -> np.ndarray:
    """Draws of marginal ROAS per media channel at current spend: ``(S, M)`` nationally (spend
    x (1 + step) in every geo), ``(S, G, M)`` by geo (in that geo); see the module doc."""
    _check_by(by)
    if not step > 0:
        raise SpecError(f"step must be > 0 (got {step}); e.g. 0.01 for +1% spend")
    extra = _mroas_geo_draws(fitted, step)
    return _mroas(fitted, extra, window_spend(fitted), step, by)


def _mroas(fitted, extra: np.ndarray, spend: np.ndarray, step: float, by: str) -> np.ndarray:
    kv = _kpi_value(fitted)
    if by == "geo":
        return kv * _ratio(extra, step * spend[None])
    return kv * _ratio(extra.sum(1), step * spend.sum(0)[None])


# ---- one pass over the draws ------------------------------------------------------------------
@dataclass(frozen=True)
class _Draws:
    """Window totals of one fit, computed once: spend ``(G, M)``; draws ``(S, G, n)``."""

    spend: np.ndarray
    media: np.ndarray
    organic: np.ndarray
    non_media: np.ndarray
    baseline: np.ndarray  # (S, G)
    expected: np.ndarray  # (S, G)
    extra: np.ndarray | None  # (S, G, M): extra KPI from +step spend, None when not asked
    step: float


def _draws(fitted, mroas: bool = True, step: float = 0.01) -> _Draws:
    w = _window(fitted)
    # one evaluation of the model's components serves both (when the fit offers it)
    kw = {"comps": fitted.components()} if hasattr(fitted, "components") else {}
    tot = _window_totals(fitted.contribution_draws(**kw), w)
    expected = np.asarray(fitted.expected_kpi(**kw), dtype=float)[:, :, w].sum(2)
    S, G = expected.shape
    empty = np.zeros((S, G, 0))
    return _Draws(
        spend=window_spend(fitted),
        media=tot.get("media", empty),
        organic=tot.get("organic", empty),
        non_media=tot.get("non_media", empty),
        baseline=tot["baseline"],
        expected=expected,
        extra=_mroas_geo_draws(fitted, step, tot["media"]) if mroas else None,
        step=step,
    )


def _components(fitted, d: _Draws) -> list[tuple[str, str, np.ndarray]]:
    """(name, role, draws (S, G)) of every component of the decomposition."""
    out = [(n, _role(fitted, i), d.media[:, :, i]) for i, n in enumerate(_media_names(fitted))]
    out += [
        (n, "organic", d.organic[:, :, i]) for i, n in enumerate(_names(fitted, "organic_names"))
    ]
    out += [
        (n, "non_media", d.non_media[:, :, i])
        for i, n in enumerate(_names(fitted, "non_media_names"))
    ]
    out.append(("baseline", "baseline", d.baseline))
    return out


def _geo_columns(fitted) -> list[tuple[str, int | None]]:
    """(label, geo index or None for the national sum): national first, then each geo; a
    one-geo fit whose geo is itself named 'national' has the national rows only."""
    geos = _geos(fitted)
    if geos == [NATIONAL]:
        return [(NATIONAL, None)]
    return [(NATIONAL, None)] + [(g, j) for j, g in enumerate(geos)]


def _at(draws: np.ndarray, j: int | None) -> np.ndarray:
    """A geo's draws ``(S, ...)`` from ``(S, G, ...)``, or their sum over geos for None."""
    return draws.sum(1) if j is None else draws[:, j]


# ---- tables ---------------------------------------------------------------------------------
def contributions(fitted, level: float = 0.9) -> pd.DataFrame:
    """Window totals of every component, nationally (geo ``national``: the sum over the geos,
    draw by draw) and per geo.

    Columns: geo, channel, role (paid | rf | organic | non_media | baseline), mean, lower,
    upper (KPI units), share (the posterior mean of the component over the expected KPI of
    that geo's window).
    """
    d = _draws(fitted, mroas=False)
    rows = []
    for label, j in _geo_columns(fitted):
        total = _at(d.expected, j)
        for name, role, draws in _components(fitted, d):
            x = _at(draws, j)
            m, lo, hi = interval(x, level)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = float(np.nanmean(x / total))
            rows.append({"geo": label, "channel": name, "role": role, "mean": float(m),
                         "lower": float(lo), "upper": float(hi), "share": share})  # fmt: skip
    df = pd.DataFrame(rows, columns=["geo", "channel", "role", "mean", "lower", "upper", "share"])
    df.attrs["level"] = level
    return df


def summary(fitted, level: float = 0.9, step: float = 0.01) -> pd.DataFrame:
    """One row per geo (``national`` first) and media channel: spend over the window, spend
    share, contribution, ROAS, mROAS and cost per KPI with their intervals
    (``<metric>_mean``, ``_lower``, ``_upper``); organic and non-media channels with their
    contribution only (ROAS columns NaN). The table of ``geo_summary.csv``."""
    d = _draws(fitted, step=step)
    names = _media_names(fitted)
    n = _n_periods(fitted)
    roas = {"geo": _roas(fitted, d.media, d.spend, "geo"),
            "national": _roas(fitted, d.media, d.spend, "national")}  # fmt: skip
    mroas = {"geo": _mroas(fitted, d.extra, d.spend, step, "geo"),
             "national": _mroas(fitted, d.extra, d.spend, step, "national")}  # fmt: skip
    rows = []
    for label, j in _geo_columns(fitted):
        spend = d.spend.sum(0) if j is None else d.spend[j]
        key = "national" if j is None else "geo"
        for name, role, draws in _components(fitted, d):
            if role == "baseline":
                continue
            x = _at(draws, j)
            row: dict[str, Any] = {"geo": label, "channel": name, "role": role}
            metrics: dict[str, np.ndarray | None] = {"contribution": x}
            if role in ("paid", "rf"):
                i = names.index(name)
                key_i = (slice(None), i) if j is None else (slice(None), j, i)
                row["spend"] = float(spend[i])
                row["spend_per_period"] = float(spend[i] / n)
                row["spend_share"] = float(spend[i] / spend.sum()) if spend.sum() > 0 else np.nan
                metrics["roas"] = roas[key][key_i]
                metrics["mroas"] = mroas[key][key_i]
                metrics["cost_per_kpi"] = _ratio(np.full_like(x, spend[i]), x)
            for k in ("contribution", "roas", "mroas", "cost_per_kpi"):
                v = metrics.get(k)
                m, lo, hi = interval(v, level) if v is not None else (np.nan,) * 3
                row[f"{k}_mean"], row[f"{k}_lower"], row[f"{k}_upper"] = m, lo, hi
            rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["level"] = level
    df.attrs["method"] = getattr(fitted, "method", None)
    return df


# ---- summary.json ---------------------------------------------------------------------------
def to_json(fitted, level: float = 0.9, step: float = 0.01) -> dict[str, Any]:
    """The content of summary.json for a geo fit (plain JSON types; NaN -> null).

    Today's national keys (``channels.<name>.{spend, current_spend_per_period, contribution,
    roas, mroas, cost_per_kpi}``, ``kpi``, ``window``, ``diagnostics``, ...) for the sum over
    the geos, plus ``geos.<geo>.channels.<name>`` with the same keys per geo,
    ``organic.<name>.contribution`` and ``non_media.<name>.contribution`` (nationally and in
    ``geos.<geo>``; no ROAS), ``optimal_frequency.<rf name>.{mean, lower, upper}`` and
    ``model: {kind: geo, geos, ...}``.
    """
    d = _draws(fitted, step=step)
    names = _media_names(fitted)
    n = _n_periods(fitted)
    w = _window(fitted)
    data = fitted.data
    kpi = np.asarray(data.kpi, dtype=float)[:, w]
    roas_g = _roas(fitted, d.media, d.spend, "geo")
    mroas_g = _mroas(fitted, d.extra, d.spend, step, "geo")
    roas_n = _roas(fitted, d.media, d.spend, "national")
    mroas_n = _mroas(fitted, d.extra, d.spend, step, "national")

    def block(j: int | None) -> dict[str, Any]:
        spend = d.spend.sum(0) if j is None else d.spend[j]
        media = _at(d.media, j)
        channels = {}
        for i, name in enumerate(names):
            r = roas_n[:, i] if j is None else roas_g[:, j, i]
            mr = mroas_n[:, i] if j is None else mroas_g[:, j, i]
            channels[name] = {
                "role": _role(fitted, i),
                "spend": float(spend[i]),
                "current_spend_per_period": float(spend[i] / n),
                "contribution": triple(media[:, i], level),
                "roas": triple(r, level),
                "mroas": triple(mr, level),
                "cost_per_kpi": ratio_triple(
                    _ratio(np.full_like(media[:, i], spend[i]), media[:, i]), level
                ),  # fmt: skip
            }
        total_media = media.sum(1)
        out = {
            "kpi": {
                "total": float(kpi.sum() if j is None else kpi[j].sum()),
                "expected": triple(_at(d.expected, j), level),
                "baseline": triple(_at(d.baseline, j), level),
                "media": triple(total_media, level),
                "organic": triple(_at(d.organic, j).sum(1), level),
                "non_media": triple(_at(d.non_media, j).sum(1), level),
                "cost_per_kpi": ratio_triple(
                    _ratio(np.full_like(total_media, spend.sum()), total_media), level
                ),
            },
            "channels": channels,
            "organic": {
                nm: {"contribution": triple(_at(d.organic, j)[:, i], level)}
                for i, nm in enumerate(_names(fitted, "organic_names"))
            },
            "non_media": {
                nm: {"contribution": triple(_at(d.non_media, j)[:, i], level)}
                for i, nm in enumerate(_names(fitted, "non_media_names"))
            },
        }
        return out

    national = block(None)
    geos = {}
    pop = getattr(data, "population", None)
    for j, g in enumerate(_geos(fitted)):
        geos[g] = block(j)
        if pop is not None:
            geos[g]["population"] = float(np.asarray(pop, dtype=float)[j])
    method = getattr(fitted, "method", None)
    note = None
    if method == "svi":
        note = "SVI intervals are approximate and usually too narrow; use NUTS for reporting"
    elif method == "map":
        note = "MAP is a point estimate: lower = mean = upper"
    dates = np.asarray(data.dates)
    review = getattr(fitted, "review", None)
    return {
        "method": method,
        "form": getattr(fitted.spec, "form", None),
        "fit_seconds": getattr(fitted, "fit_seconds", None),
        "level": level,
        "n_draws": int(d.expected.shape[0]),
        "intervals_note": note,
        "definitions": {
            "roas": ROAS_DEFINITION + " (nationally: summed over the geos)",
            "mroas": MROAS_DEFINITION + "; " + GEO_MROAS_DEFINITION,
            "cost_per_kpi": COST_PER_KPI_DEFINITION,
            "contribution": "the KPI the channel adds over the window against zero activity; "
            "nationally the sum over the geos (original KPI units, never per capita)",
        },
        "contribution_reference": "zero spend",
        "window": {
            "start": str(dates[w.start].astype("datetime64[D]")),
            "end": str(dates[w.stop - 1].astype("datetime64[D]")),
            "periods": n,
            "first_period": int(w.start),
            "warmup": int(w.start),
            "adstock_warmup": getattr(fitted.spec, "adstock_warmup", None),
            "holdout": int(len(dates) - int(getattr(fitted, "n_train", len(dates)))),
        },
        **national,
        "geos": geos,
        "optimal_frequency": _optimal_frequency(fitted, level),
        "diagnostics": _diagnostics(fitted),
        "experiments": None,
        "review": review.to_dict() if hasattr(review, "to_dict") else review,
        "model": _model_block(fitted),
    }


def _optimal_frequency(fitted, level: float) -> dict[str, dict[str, float | None]]:
    if not _names(fitted, "rf_names") or not hasattr(fitted, "optimal_frequency"):
        return {}
    df = fitted.optimal_frequency(level=level)
    return {
        str(r["channel"]): {k: _num(r[k]) for k in ("mean", "lower", "upper")}
        for _, r in df.iterrows()
    }


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _diagnostics(fitted) -> dict[str, Any]:
    diag = getattr(fitted, "diagnostics", None)
    if diag is None:
        return {}
    if hasattr(diag, "to_dict"):
        return diag.to_dict()
    return dict(diag)


def _model_block(fitted) -> dict[str, Any]:
    spec = fitted.spec
    pop = getattr(fitted.data, "population", None)
    has_pop = pop is not None and not np.allclose(np.asarray(pop, dtype=float), 1.0)
    return {
        "kind": "geo",
        "geos": _geos(fitted),
        "n_geos": len(_geos(fitted)),
        "channels": _names(fitted, "channel_names"),
        "rf_channels": _names(fitted, "rf_names"),
        "organic": _names(fitted, "organic_names"),
        "non_media": _names(fitted, "non_media_names"),
        "controls": _names(fitted.data, "control_names"),
        "geo_pooling": getattr(spec, "geo_pooling", None),
        "geo_transforms": getattr(spec, "geo_transforms", None),
        "geo_controls": getattr(spec, "geo_controls", None),
        "population_scaled": bool(has_pop),
        "freq": getattr(fitted.data, "freq", None),
    }


# ---- response curves ------------------------------------------------------------------------
def _geo_shares(fitted) -> np.ndarray:
    """Each geo's share of each media channel's window spend, ``(G, M)``; a channel no geo
    spends on is split by population (ones when none: evenly)."""
    spend = window_spend(fitted)
    tot = spend.sum(0)
    pop = getattr(fitted.data, "population", None)
    pop = np.ones(spend.shape[0]) if pop is None else np.asarray(pop, dtype=float)
    even = pop / pop.sum()
    return np.where(tot[None] > 0, spend / np.where(tot > 0, tot, 1.0)[None], even[:, None])


def _geo_responses(fitted) -> tuple[list[str], dict[str, dict[str, Response]]]:
    resp = fitted.responses()
    geos = _geos(fitted)
    by_geo = {str(g): {r.name: r for r in resp[g]} for g in resp}
    missing = [g for g in geos if g not in by_geo]
    if missing:  # pragma: no cover - a fit's responses cover its geos
        raise SpecError(f"responses() misses geo(s) {missing}")
    return geos, by_geo


def _national_draws(by_geo, geos, shares, i: int, name: str, spend: np.ndarray) -> np.ndarray:
    """Draws of the national response at national spend ``spend`` (per period) split over the
    geos at ``shares[:, i]``: ``(S, len(spend))``."""
    return sum(
        by_geo[g][name](shares[j, i] * spend) for j, g in enumerate(geos) if shares[j, i] > 0
    )


def national_responses(fitted, n_grid: int = 25, max_multiple: float = 3.0) -> list[Response]:
    """One ``table`` `Response` per media channel: national spend per period -> national
    incremental KPI per period (the posterior mean), the spend split over the geos at their
    current (window) shares; the curves today's national optimizer and planner read.

    Built from the geo curves (`GeoFitted.responses`): ``y(x) = sum_g R_g(share_g x)`` on a
    grid from 0 to ``max_multiple`` x the current national spend per period.
    """
    geos, by_geo = _geo_responses(fitted)
    shares = _geo_shares(fitted)
    cur = window_spend(fitted).sum(0) / _n_periods(fitted)
    out = []
    for i, name in enumerate(_media_names(fitted)):
        top = max(float(cur[i]), 1e-9) * max_multiple
        grid = np.linspace(0.0, top, n_grid)
        ys = _national_draws(by_geo, geos, shares, i, name, grid).mean(0)
        ys = np.maximum.accumulate(np.maximum(ys - ys[0], 0.0))
        kv = by_geo[geos[0]][name].kpi_value
        out.append(Response(name, "table", {"xs": grid.tolist(), "ys": ys.tolist()}, 1.0,
                            float(cur[i]), None, kv))  # fmt: skip
    return out


def response_curves(
    fitted, n_points: int = 41, max_multiple: float = 2.0, level: float = 0.9
) -> pd.DataFrame:
    """Spend per period -> incremental KPI per period, per geo and media channel, with bands;
    the ``national`` rows are the sum over the geos at the current geo split (draw by draw).

    Columns: geo, channel, spend, mean, lower, upper, marginal_mean (d KPI / d spend, the
    posterior mean), current (True at the grid point nearest the current spend). The grid runs
    from 0 to ``max_multiple`` x the current spend per period (a geo that never spent on the
    channel: x the national spend per geo).
    """
    geos, by_geo = _geo_responses(fitted)
    shares = _geo_shares(fitted)
    n = _n_periods(fitted)
    spend = window_spend(fitted) / n  # (G, M) per period
    rows = []

    def add(label, name, grid, y, marginal, ref) -> None:
        m, lo, hi = interval(y, level)
        near = int(np.argmin(np.abs(grid - ref)))
        for k, x in enumerate(grid):
            rows.append({"geo": label, "channel": name, "spend": float(x), "mean": float(m[k]),
                         "lower": float(lo[k]), "upper": float(hi[k]),
                         "marginal_mean": float(marginal[k]), "current": k == near})  # fmt: skip

    for i, name in enumerate(_media_names(fitted)):
        ref = float(spend[:, i].sum())
        grid = np.linspace(0.0, max_multiple * (ref or 1.0), n_points)
        y = _national_draws(by_geo, geos, shares, i, name, grid)
        marg = sum(shares[j, i] * by_geo[g][name].marginal(shares[j, i] * grid)
                   for j, g in enumerate(geos) if shares[j, i] > 0)  # fmt: skip
        add(NATIONAL, name, grid, y, marg.mean(0), ref)
        if geos == [NATIONAL]:
            continue
        for j, g in enumerate(geos):
            r = by_geo[g][name]
            ref_g = float(spend[j, i])
            grid = np.linspace(0.0, max_multiple * (ref_g or ref / len(geos) or 1.0), n_points)
            add(g, name, grid, r(grid), r.marginal(grid).mean(0), ref_g)
    cols = ["geo", "channel", "spend", "mean", "lower", "upper", "marginal_mean", "current"]
    return pd.DataFrame(rows, columns=cols)


# ---- what-if --------------------------------------------------------------------------------
@dataclass(frozen=True)
class GeoWhatIf(WhatIf):
    """Totals over the what-if periods' window under the current and the changed plan (KPI
    units): national figures with intervals, ``by_geo`` one row per geo (geo, extra_spend,
    current_mean, plan_mean, delta_mean, delta_lower, delta_upper), ``per_period`` the national
    KPI per period (date, current_mean, plan_mean, plan_lower, plan_upper)."""

    by_geo: pd.DataFrame = field(kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "geos": {
                str(r["geo"]): {k: _num(r[k]) for k in r.index if k != "geo"}
                for _, r in self.by_geo.iterrows()
            },
        }


def _unknown(kind: str, name: object, choices: list[str], extra: str = "") -> SpecError:
    return SpecError(
        f"what-if: unknown {kind} '{name}'{extra}; {kind}s: {', '.join(choices)}."
        + did_you_mean(name, choices)
    )


def _what_if_periods(fitted, periods) -> np.ndarray:
    w = _window(fitted)
    idx = np.arange(w.start, w.stop)
    if periods is None:
        return idx
    if isinstance(periods, int | np.integer) and not isinstance(periods, bool):
        if not 0 < periods <= len(idx):
            raise SpecError(
                f"what-if periods must be between 1 and {len(idx)} (the window's periods; got "
                f"{periods})"
            )
        return idx[-int(periods) :]
    if isinstance(periods, slice):
        return idx[periods]
    raise SpecError(
        f"what-if periods: expected None (the whole window), an int (its last n periods) or a "
        f"slice of the window (got {periods!r})"
    )


def _split_targets(
    plan: Mapping[str, Any] | None, names: list[str], geos: list[str], what: str, kind: str
) -> dict[tuple[int | None, int], float]:
    """``{channel: v}`` (every geo) or ``{geo: {channel: v}}`` -> {(geo index | None, i): v}."""
    out: dict[tuple[int | None, int], float] = {}
    if plan is None:
        return out
    if not isinstance(plan, Mapping):
        raise SpecError(
            f"what-if {what}: expected a mapping {{{kind}: value}} or {{geo: {{{kind}: value}}}} "
            f"(got {plan!r})"
        )

    def value(v, where: str) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise SpecError(f"what-if {what} {where}: expected a number (got {v!r})") from None
        if not np.isfinite(x):
            raise SpecError(f"what-if {what} {where}: expected a finite number (got {v!r})")
        return x

    for key, v in plan.items():
        if isinstance(v, Mapping):
            if str(key) not in geos:
                raise _unknown("geo", key, geos)
            j = geos.index(str(key))
            for ch, x in v.items():
                if str(ch) not in names:
                    raise _unknown(kind, ch, names, f" in geo '{key}'")
                out[(j, names.index(str(ch)))] = value(x, f"{key}.{ch}")
        else:
            if str(key) not in names:
                hint = ""
                if str(key) in geos:
                    hint = f" ('{key}' is a geo: give {{{key}: {{{kind}: value}}}})"
                raise _unknown(kind, key, names, hint)
            out[(None, names.index(str(key)))] = value(v, str(key))
    return out


def _spend_plan(fitted, spend, rows: np.ndarray):
    """The changed media ``(G, T, C)``, rf spend ``(G, T, R)`` and spend ``(G, T, M)`` arrays
    (original units) of a spend plan over the periods ``rows``."""
    names = _media_names(fitted)
    geos = _geos(fitted)
    no_spend = _names(fitted, "organic_names") + _names(fitted, "non_media_names")
    for k, v in (spend or {}).items():
        if not isinstance(v, Mapping) and str(k) in no_spend and str(k) not in names:
            raise SpecError(
                f"what-if spend: '{k}' has no spend (an organic channel or a non-media "
                f"treatment); channels with spend: {', '.join(names)}; set a non-media "
                "treatment with non_media={name: value}"
            )
    targets = _split_targets(spend, names, geos, "spend", "channel")
    C = len(fitted.channel_names)
    media = np.array(fitted.data.media, dtype=float)
    rf = np.array(fitted.data.rf_spend, dtype=float)
    new = np.array(fitted.media_spend(), dtype=float)  # (G, T, M)
    shares = _geo_shares(fitted)
    k = len(rows)
    for (j, i), x in targets.items():
        if x < 0:
            where = names[i] if j is None else f"{geos[j]}.{names[i]}"
            raise SpecError(f"what-if spend {where}: spend per period must be >= 0 (got {x})")
        gs = np.arange(len(geos)) if j is None else np.array([j])
        cells = np.ix_(gs, rows)
        obs = new[..., i][cells]  # (g, k)
        if obs.sum() > 0:  # the observed split over geos and periods, scaled to the level
            factor = x * k / obs.sum()
            new[..., i][cells] = obs * factor
            if i < C:
                media[..., i][cells] = media[..., i][cells] * factor
        else:  # nothing spent there: flat per period, split by the geos' shares
            share = np.ones(1) if j is not None else shares[:, i] / shares[:, i].sum()
            new[..., i][cells] = np.repeat((x * share)[:, None], k, axis=1)
            if i < C:
                units = _units_per_spend(fitted, i)[gs]
                media[..., i][cells] = new[..., i][cells] * units[:, None]
        if i >= C:
            rf[..., i - C][cells] = new[..., i][cells]
    return media, rf, new, targets


def _units_per_spend(fitted, i: int) -> np.ndarray:
    """Media units one unit of spend buys on paid channel ``i`` per geo, ``(G,)``: each geo's
    ``1 / cost_per_unit`` where the data have it, else the observed ratio over all geos and
    periods (1 when the channel never spent)."""
    cpu = getattr(fitted.data, "cost_per_unit", None)
    if cpu is not None:
        return 1.0 / np.asarray(cpu, dtype=float)[:, i]
    spend = np.asarray(fitted.data.spend, dtype=float)[..., i]
    media = np.asarray(fitted.data.media, dtype=float)[..., i]
    ratio = float(media.sum() / spend.sum()) if spend.sum() > 0 else 1.0
    return np.full(spend.shape[0], ratio)


def what_if(
    fitted,
    spend: Mapping[str, Any] | None = None,
    non_media: Mapping[str, Any] | None = None,
    periods=None,
    level: float = 0.9,
) -> GeoWhatIf:
    """Predict the KPI under a changed plan, nationally and per geo, with intervals.

    ``spend``: ``{channel: spend per period}`` -- the national spend per period of a media
    channel, split over the geos and periods as observed (the channel's observed spend scaled
    to that level; a channel never spent on is spread evenly over the periods and by the
    geos' population) -- or ``{geo: {channel: spend per period}}`` for one geo's spend.
    Activity follows spend at each geo's observed units per spend (a reach-and-frequency
    channel's reach at its observed frequency). ``non_media``: ``{name: value}`` sets a
    non-media treatment (a promotion, a price) to ``value`` in every period and geo, or
    ``{geo: {name: value}}`` in one geo. ``periods``: None (the whole window), an int n (its last
    n periods) or a slice of the window's periods. Totals are over the window; the observed
    plan gives a change of exactly zero.
    """
    rows = _what_if_periods(fitted, periods)
    geos = _geos(fitted)
    media, rf, new_spend, _ = _spend_plan(fitted, spend or {}, rows)
    kwargs: dict[str, Any] = {}
    if spend:
        kwargs["media"] = media
        if rf.shape[-1]:
            kwargs["rf_spend"] = rf
    nm_names = _names(fitted, "non_media_names")
    if non_media:
        if not nm_names:
            raise SpecError(
                f"what-if non_media: this model has no non-media treatments (got "
                f"{sorted(map(str, non_media))}); name them in the data section's non_media"
            )
        levers = _split_targets(non_media, nm_names, geos, "non_media", "non-media treatment")
        nm = np.array(fitted.data.non_media, dtype=float)
        for (j, i), x in levers.items():
            sel = slice(None) if j is None else slice(j, j + 1)
            nm[sel, rows, i] = x
        kwargs["non_media"] = nm
    w = _window(fitted)
    cur = np.asarray(fitted.expected_kpi(), dtype=float)[:, :, w]
    plan = np.asarray(fitted.expected_kpi(**kwargs), dtype=float)[:, :, w] if kwargs else cur
    obs_spend = np.asarray(fitted.media_spend(), dtype=float)[:, w].sum((1, 2))
    extra_g = new_spend[:, w].sum((1, 2)) - obs_spend  # (G,)
    extra = float(extra_g.sum())
    cur_t, plan_t = cur.sum((1, 2)), plan.sum((1, 2))
    delta = plan_t - cur_t
    kv = _kpi_value(fitted)
    none = {"mean": None, "lower": None, "upper": None}
    vps = triple(kv * delta / extra, level) if extra != 0 else none
    by_geo = []
    for j, g in enumerate(geos):
        dg = plan[:, j].sum(1) - cur[:, j].sum(1)
        m, lo, hi = interval(dg, level)
        by_geo.append({"geo": g, "extra_spend": float(extra_g[j]),
                       "current_mean": float(cur[:, j].sum(1).mean()),
                       "plan_mean": float(plan[:, j].sum(1).mean()),
                       "delta_mean": float(m), "delta_lower": float(lo),
                       "delta_upper": float(hi)})  # fmt: skip
    nat, nat_cur = plan.sum(1), cur.sum(1)  # (S, T_w)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    per = pd.DataFrame({
        "date": pd.DatetimeIndex(np.asarray(fitted.data.dates)[w]),
        "current_mean": nat_cur.mean(0),
        "plan_mean": nat.mean(0),
        "plan_lower": np.quantile(nat, lo_q, axis=0),
        "plan_upper": np.quantile(nat, hi_q, axis=0),
    })  # fmt: skip
    return GeoWhatIf(triple(cur_t, level), triple(plan_t, level), triple(delta, level), extra,
                     vps, per, by_geo=pd.DataFrame(by_geo))  # fmt: skip
