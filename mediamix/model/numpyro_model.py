"""The NumPyro model: priors on every site, the maths of :mod:`mediamix.model.maths`, the
likelihood of the KPI in model units (masked to the training periods)."""

from __future__ import annotations

from typing import Any

import numpyro
import numpyro.distributions as dist

from mediamix.model import time_varying as tv
from mediamix.model.experiments import lift_likelihood
from mediamix.model.maths import forward_jit
from mediamix.model.priors import to_numpyro
from mediamix.model.structure import Structure


def _sample(name: str, structure: Structure, n: int | None = None, site: str | None = None):
    d, p = structure.priors[name]
    fn = to_numpyro(d, p)
    if n is not None and fn.event_shape == ():  # a joint prior (the media share) is one event
        if fn.batch_shape == ():
            fn = fn.expand((n,))
        fn = fn.to_event(1)
    return numpyro.sample(site or name, fn)


def model(design: dict, structure: Structure, observe: bool = True) -> None:
    """The NumPyro model (all arrays in model units; see :func:`components`)."""
    # the 'intercept' prior applies to the level: the mean of the KPI's location (model units)
    params: dict[str, Any] = {"level": _sample("intercept", structure, site="level")}
    if structure.spec.trend != "none":
        params["trend"] = _sample("trend", structure)
    if structure.n_changepoints:
        params["trend_delta"] = _sample("trend_delta", structure, structure.n_changepoints)
    if structure.n_fourier:
        params["season"] = _sample("season", structure, structure.n_fourier)
    if structure.n_dow:
        params["dow"] = _sample("dow", structure, structure.n_dow)
    if structure.event_idx:
        params["event"] = _sample("event", structure, len(structure.event_idx))
    if structure.free_idx:
        params["control"] = _sample("control", structure, len(structure.free_idx))
    if structure.signed_idx:
        params["control_signed"] = _sample("control_signed", structure, len(structure.signed_idx))
    for g in structure.ad_groups + structure.sat_groups:
        for p in g.params:
            params[g.site(p)] = _sample(g.site(p), structure, len(g.idx))
    K = structure.n_tv_terms
    if structure.tv_idx:  # non-centred weights of each channel's walk (fixed unit scale)
        n = len(structure.tv_idx)
        params[tv.CHANNEL_SITE] = numpyro.sample(
            tv.CHANNEL_SITE, dist.Normal(0.0, 1.0).expand((n, K)).to_event(2)
        )
    if structure.baseline_drift:
        params[tv.BASELINE_SITE] = numpyro.sample(
            tv.BASELINE_SITE, dist.Normal(0.0, 1.0).expand((K,)).to_event(1)
        )
    C = structure.n_channels
    if structure.spec.media_prior == "roi":
        params["roas"] = _sample("roas", structure, C)
    else:
        site = "effect" if structure.additive else "beta"
        params[site] = _sample(site, structure, C)
    # one jitted call for the maths: fast first (eager) trace, inlined under MCMC's jit
    beta, mu, intercept = forward_jit(structure)(params, design)
    numpyro.deterministic("intercept", intercept)
    if structure.additive:
        numpyro.deterministic("beta", beta)
    sigma = _sample("sigma", structure)
    lik = structure.spec.likelihood
    if lik == "student_t":
        nu = _sample("nu", structure)
        obs_dist = dist.StudentT(nu, mu, sigma)
    elif lik == "lognormal":
        obs_dist = dist.LogNormal(mu, sigma)
    else:
        obs_dist = dist.Normal(mu, sigma)
    # experiments (lift tests): the model's counterfactual lift against the measured one
    lift_likelihood(params, beta, mu, sigma, design, structure, observe)
    with numpyro.handlers.mask(mask=design["mask"]):
        numpyro.sample("y", obs_dist, obs=design["y"] if observe else None)
