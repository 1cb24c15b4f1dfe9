"""The model review of a geo fit: the national review's checks on the geo model's national
roll-up, plus one fit check per geo.

``review(fitted) -> Review`` (duck-typed: a `mediamix.estimator.geo.GeoFitted`). The checks
and thresholds are those of :mod:`mediamix.analysis.review`, read on the sum over geos:

- ``finite``, fit (``r2``, ``mape``, ``coverage`` in-sample and on the hold-out),
  ``residual_autocorrelation``, the decomposition (``baseline``, ``media_share``), the
  sampler's convergence (NUTS: ``rhat``, ``ess``, ``divergences``, ``bfmi``; SVI / MAP:
  ``loss_trace``, ``intervals``) and one ``spend_variation`` / ``zero_spend`` / ``roas``
  check per paid and reach-and-frequency channel, all on national totals per period. The
  national predictive draw is the sum of the geos' draws (their noise is independent).
- The baseline of the decomposition checks is everything but paid and reach-and-frequency
  media: organic media and non-media treatments count with the baseline, since the
  ``media_share`` check asks how much of the KPI the spend is credited with.
- ``geo_fit`` (one check): the worst geo's in-sample R^2 of the posterior-mean expected KPI
  per period, review below ``GEO_R2_REVIEW`` (0), naming the geo: a geo the model fits
  worse than its own mean has a structure the shared seasonality and trend miss.
- ``always_on`` (one per channel with spend): the share of geo x period cells of the window
  whose spend is below ``LOW_SPEND`` (10%) of that geo's mean spend on the channel; below
  ``LOW_SHARE`` (2%, about one week a year) the channel is always on, and its ROAS (its
  contribution against no spend at all) extrapolates the response curve below any spend the
  data show: review, read its mROAS (what the data measure) or run a dark period or a lift
  test. (On simulated panels the one national ROAS outside its 90% interval in 15 was such
  a channel whose true curve is still convex at the spend observed.)
- ``prior_shift`` (one per channel with spend): the prior-data conflict of the national ROAS
  (:mod:`mediamix.analysis.prior_check`, the geo model's own prior draws): a channel whose
  ROAS is mostly the prior (e.g. an always-on channel whose spend moves with the season) or
  sits in the prior's tail is a review.
"""

from __future__ import annotations

import numpy as np

from mediamix.analysis.prior_check import PRIOR_DRAWS, prior_shift
from mediamix.analysis.review import (
    REVIEW,
    ROAS_HIGH,
    Review,
    ReviewCheck,
    _check,
    _r2,
    channel_checks,
    decomposition_checks,
    finite_check,
    fit_checks,
    intervals_check,
    loss_check,
    nuts_checks,
    optimiser_check,
    prior_checks,
    residual_check,
)
from mediamix.inference.diagnostics import with_settings

#: a geo whose in-sample R^2 is below this is a review (worse than the geo's own mean)
GEO_R2_REVIEW = 0.0
#: a cell's spend below this share of its geo's mean spend counts as (nearly) off
LOW_SPEND = 0.1
#: a channel with fewer (nearly) off cells than this share is always on: a review
LOW_SHARE = 0.02


def _mask(fitted, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The likelihood window and the hold-out as boolean masks over the T periods."""
    train = np.zeros(T, dtype=bool)
    train[fitted.window] = True
    hold = np.arange(T) >= fitted.n_train
    return train, hold


def geo_fit_check(geos, kpi: np.ndarray, ey: np.ndarray, train: np.ndarray) -> ReviewCheck:
    """The worst geo's in-sample R^2; ``kpi`` and ``ey`` are ``(G, T)``."""
    r2 = np.array([_r2(kpi[g, train], ey[g, train]) for g in range(len(geos))])
    r2 = np.where(np.isfinite(r2), r2, np.inf)  # a constant KPI has no R^2 to judge
    worst = int(np.argmin(r2))
    value = float(r2[worst]) if np.isfinite(r2[worst]) else None
    if value is None or value >= GEO_R2_REVIEW:
        return _check("geo_fit", "every geo", value, GEO_R2_REVIEW, "pass",
                      "every geo's KPI is followed better than by its own mean.")  # fmt: skip
    bad = int(np.sum(r2 < GEO_R2_REVIEW))
    return _check(
        "geo_fit", f"geo '{geos[worst]}'", value, GEO_R2_REVIEW, REVIEW,
        f"{bad} geo(s) fit worse than their own mean (worst: '{geos[worst]}', R^2 "
        f"{value:.2f}): check that geo's rows, or give it controls or events of its own.",
    )  # fmt: skip


def always_on_checks(names, spend: np.ndarray) -> list[ReviewCheck]:
    """One ``always_on`` check per channel with spend; ``spend`` is ``(G, T_w, M)`` over the
    window."""
    out = []
    mean = spend.mean(1, keepdims=True)  # (G, 1, M)
    for c, name in enumerate(names):
        live = mean[:, 0, c] > 0  # geos that spend on the channel at all
        if not live.any():
            continue
        low = float(np.mean(spend[live, :, c] < LOW_SPEND * mean[live, :, c]))
        if low >= LOW_SHARE:
            out.append(_check("always_on", name, low, LOW_SHARE, "pass",
                              f"{low:.0%} of geo-weeks spend little or nothing on {name}: its "
                              "ROAS rests on spend levels the data show."))  # fmt: skip
            continue
        out.append(_check(
            "always_on", name, low, LOW_SHARE, REVIEW,
            f"{name} is always on ({low:.1%} of geo-weeks below {LOW_SPEND:.0%} of the geo's "
            f"mean spend): its ROAS, against no {name} at all, extrapolates the response "
            "curve below any spend in the data; read its mROAS (what the data measure), or "
            "run a dark period or a lift test in some geos.",
        ))  # fmt: skip
    return out


def review(fitted, level: float = 0.9, prior_draws: int | None = None) -> Review:
    """Review a geo fit (see the module doc)."""
    method = fitted.method
    kpi = np.asarray(fitted.data.kpi, float)  # (G, T)
    T = kpi.shape[1]
    train, hold = _mask(fitted, T)
    comps = fitted.components()
    ekpi = np.asarray(fitted.expected_kpi(comps=comps), float)  # (S, G, T)
    contrib = np.asarray(fitted.contribution_draws(comps=comps)["media"], float)  # (S,G,T,M)
    pred = fitted.predictive(seed=0).sum(1) if fitted.n_draws > 1 else None  # (S, T)
    y = kpi.sum(0)
    e_nat = ekpi.sum(1)  # (S, T)
    c_nat = contrib.sum(1)  # (S, T, M)
    ey = e_nat.mean(0)
    spend = np.asarray(fitted.media_spend(), float).sum(0)[train]  # (T_w, M)
    tot_spend = spend.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        roas = (fitted.spec.kpi_value * c_nat[:, train].sum(1)
                / np.where(tot_spend > 0, tot_spend, np.nan))  # fmt: skip
    has = tot_spend > 0
    checks: list[ReviewCheck] = [
        finite_check(
            {
                "expected KPI": ekpi,
                "contributions": contrib,
                "ROAS": roas[:, has],
                "predictive draws": pred,
            }
        )  # fmt: skip
    ]
    checks += fit_checks(y, ey, pred, train, hold, level)
    checks.append(residual_check(y[train], ey[train]))
    base = e_nat - c_nat.sum(-1)
    kpi_total = float(y[train].sum())
    checks += decomposition_checks(
        kpi_total, base[:, train].sum(1), base[:, train].mean(0), c_nat[:, train].sum((1, 2))
    )
    diag = fitted.diagnostics.to_dict() if fitted.diagnostics else {}
    if method == "nuts":
        checks += nuts_checks(
            with_settings(diag, fitted.info), fitted.n_draws, fitted.info.get("chains")
        )
    else:
        check = loss_check(method, fitted.info, int(train.sum()) * kpi.shape[0])
        checks.append(optimiser_check(check, method, diag))
        checks.append(intervals_check(method))
    all_spend = float(tot_spend.sum())
    high = ROAS_HIGH * fitted.spec.kpi_value * kpi_total / all_spend if all_spend > 0 else np.inf
    checks += channel_checks(list(fitted.media_names), spend, roas, high)
    geo_spend = np.asarray(fitted.media_spend(), float)[:, train]  # (G, T_w, M)
    checks += always_on_checks(list(fitted.media_names), geo_spend)
    checks.append(geo_fit_check(list(fitted.geos), kpi, ekpi.mean(0), train))
    shifts = prior_shift(fitted, roas, n=prior_draws or PRIOR_DRAWS)
    checks += prior_checks(shifts)
    return Review.from_checks(checks, method, [p.to_dict() for p in shifts])
