"""Pointwise log-likelihood of a fit and its PSIS-LOO expected log predictive density.

The log-likelihood of each period's KPI is computed from the posterior draws with the model's
pure functions (``fitted.components()``: the location ``mu`` in model units, the draws of
``sigma`` and ``nu``), the same likelihood the NumPyro model uses, and expressed as a density
of the KPI in original units (minus ``log kpi_scale``), so fits of different specs on the same
periods compare. ArviZ's ``loo`` does the Pareto-smoothed importance sampling.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: Pareto k above this: that period's importance weights are unreliable (ArviZ's threshold)
PARETO_K_BAD = 0.7


def pointwise_loglik(fitted) -> np.ndarray:
    """Log density of each period's observed KPI under each draw, (S, T), original units."""
    from scipy import stats

    mu = fitted.components()["mu"].astype(np.float64)
    y = np.asarray(fitted.design["y"], dtype=np.float64)[None, :]
    sigma = np.asarray(fitted.params["sigma"], dtype=np.float64)[:, None]
    lik = fitted.spec.likelihood
    if lik == "student_t":
        nu = np.asarray(fitted.params["nu"], dtype=np.float64)[:, None]
        ll = stats.t.logpdf(y, nu, loc=mu, scale=sigma)
    elif lik == "lognormal":
        with np.errstate(divide="ignore"):
            ly = np.log(y)
        ll = stats.norm.logpdf(ly, loc=mu, scale=sigma) - ly
    else:
        ll = stats.norm.logpdf(y, loc=mu, scale=sigma)
    return ll - np.log(fitted.scalers.kpi_scale)


def likelihood_periods(fitted) -> np.ndarray:
    """The periods the fit's likelihood counts (its training mask), boolean (T,)."""
    return np.asarray(fitted.design["mask"], dtype=bool)


def loo(fitted, periods: np.ndarray | None = None) -> dict[str, Any]:
    """PSIS-LOO over ``periods`` (default: the fit's likelihood periods):
    ``{elpd, se, p_loo, n, bad_k, pointwise}`` (``pointwise``: the per-period elpd)."""
    import arviz as az

    mask = likelihood_periods(fitted) if periods is None else np.asarray(periods, bool)
    ll = pointwise_loglik(fitted)[:, mask]
    idata = az.from_dict(
        posterior={"sigma": np.asarray(fitted.params["sigma"], dtype=np.float64)[None]},
        log_likelihood={"y": ll[None]},
    )
    with warnings.catch_warnings():  # a high Pareto k is reported in the result, not warned
        warnings.simplefilter("ignore")
        res = az.loo(idata, pointwise=True)
    k = np.asarray(res.pareto_k)
    return {
        "elpd": float(res.elpd_loo),
        "se": float(res.se),
        "p_loo": float(res.p_loo),
        "n": int(mask.sum()),
        "bad_k": int(np.sum(k > PARETO_K_BAD)),
        "pointwise": np.asarray(res.loo_i, dtype=float),
    }
