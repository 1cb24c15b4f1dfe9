"""Prior-data conflict: how far each channel's ROAS moved from its prior.

The prior draws come from the model itself (each latent site's distribution as the NumPyro
model states it, the derived sites through the same ``forward``), so they go through the same
parametrisation, transforms and media prior as the fit (``effect``, ``beta`` or ``roas``
sites, a joint media-share prior alike). ``PRIOR_DRAWS`` draws (a few hundred) keep this
cheap. Each draw's ROAS is computed with the analysis' own
definition (:func:`mediamix.analysis.metrics.roas_draws`) on the fitted model with its draws
replaced by the prior's (``fitted.with_params``).

Prior and posterior are compared with robust summaries, because ROAS priors are skewed
(half-normal, lognormal): the centre is the median and the spread ``sd`` is half the width of
the central 68% interval (the standard deviation for a normal distribution).

Per channel:

- ``sd_ratio`` = posterior sd / prior sd, ``shift`` = (posterior median - prior median) /
  prior sd, ``quantile`` = the share of prior draws below the posterior median;
- **in the prior's tail** (review): ``quantile < TAIL`` or ``> 1 - TAIL`` (the posterior
  median lies outside the prior's central 90%): the data pull against the prior, which may be
  holding the estimate back; widen or re-centre that prior, or add an experiment;
- **mostly the prior** (review): ``sd_ratio > SD_RATIO`` and ``|shift| < SHIFT``: the data
  barely narrowed or moved the prior, so the channel's ROAS is mostly what the prior said.
  (A point estimate, MAP, has no spread: only the tail test applies.)
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

PRIOR_DRAWS = 300
TAIL = 0.05
SD_RATIO = 0.8
SHIFT = 0.25


@dataclass(frozen=True)
class PriorShift:
    """One channel's ROAS under its prior and its posterior (robust summaries)."""

    channel: str
    prior_median: float
    prior_sd: float
    prior_lower: float
    prior_upper: float
    posterior_median: float
    posterior_sd: float
    posterior_lower: float
    posterior_upper: float
    sd_ratio: float | None
    shift: float
    quantile: float
    verdict: str
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v):
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def prior_params(fitted, n: int = PRIOR_DRAWS, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` draws of the model's sites from their priors, in the form the maths reads.

    One trace of the model gives every latent site's prior distribution (the model builds
    each from the static structure alone, never from another site's value, so the priors are
    independent); each is sampled ``n`` times, and the sites the model derives (``beta``,
    ``intercept``) come from the same ``forward`` the fit uses. The trace, the draws and the
    maths are one compiled program (`prior_draws`), with every gamma variate (Gamma, Beta,
    Dirichlet, Student-t and share priors) from one sampler
    (`mediamix.model.prior_sampling`): drawn one site at a time, every prior would compile
    its own rejection sampler, about a second each. Cheaper than running the model ``n``
    times (NumPyro's ``Predictive``), which compiles it anew on every call.
    """
    import jax

    from mediamix.model import geo
    from mediamix.model.maths import posterior_params

    key = jax.random.PRNGKey(seed)
    if isinstance(fitted.structure, geo.GeoStructure):  # the geo model: its own prior draws
        raw = geo.prior_draws(fitted.structure, fitted.design, int(n), key)
        return geo.posterior_params({k: np.asarray(v) for k, v in raw.items()},
                                    fitted.structure)  # fmt: skip
    raw = prior_draws(fitted.structure, fitted.design, int(n), key)
    return posterior_params({k: np.asarray(v) for k, v in raw.items()}, fitted.structure)


def prior_draws(structure, design: dict, n: int, key) -> dict[str, Any]:
    """The raw prior draws of `prior_params` (model sites, ``beta``, ``intercept``), each with
    a leading axis of ``n``: one jitted program per model structure (`_prior_program`; the
    design and the priors' numbers are its arguments, so fits of one structure share it)."""
    from mediamix.model.numpyro_model import model
    from mediamix.model.reuse import shared_program

    shared, args = shared_program(model, structure, design)
    return _prior_program(shared, int(n))(key, *args)


@functools.lru_cache(maxsize=8)
def _prior_program(shared, n: int):
    import jax
    import jax.numpy as jnp
    from numpyro import handlers

    from mediamix.model.maths import batched, forward
    from mediamix.model.prior_sampling import sample_sites

    def placeholder(site):  # the sites' distributions are wanted, not their values: nothing
        if site["type"] == "sample":  # is drawn while the model is traced
            return jnp.zeros(site["fn"].shape())
        return None

    def draw(key, design, priors):
        model = handlers.substitute(shared.model, substitute_fn=placeholder)
        trace = handlers.trace(model).get_trace(design, priors)
        latent = {k: v["fn"] for k, v in trace.items()
                  if v["type"] == "sample" and not v["is_observed"]}  # fmt: skip
        raw = sample_sites(latent, n, key)
        beta, _, intercept = batched(forward, shared.model.template)(raw, design)
        return {**raw, "beta": beta, "intercept": intercept}

    return jax.jit(draw)


def prior_roas_draws(fitted, n: int = PRIOR_DRAWS, seed: int = 0) -> np.ndarray:
    """Draws of each channel's ROAS under the prior, (n, C): the fitted model's own ROAS
    (national for a geo model) with its draws replaced by the prior's."""
    return fitted.with_params(prior_params(fitted, n, seed)).roas_draws()


def _summary(x: np.ndarray) -> tuple[float, float, float, float]:
    """median, robust sd (half the central 68% width), 5% and 95% quantiles."""
    q16, q50, q84, q05, q95 = np.quantile(x, [0.16, 0.5, 0.84, 0.05, 0.95])
    return float(q50), float((q84 - q16) / 2), float(q05), float(q95)


def compare(channel: str, prior: np.ndarray, posterior: np.ndarray) -> PriorShift:
    """The prior-to-posterior shift of one channel's ROAS draws, with its verdict."""
    prior = np.asarray(prior, float)
    post = np.asarray(posterior, float)
    prior = prior[np.isfinite(prior)]
    post = post[np.isfinite(post)]
    pm, ps, plo, phi = _summary(prior)
    qm, qs, qlo, qhi = _summary(post)
    point = post.size < 2 or qs == 0
    ratio = None if point or ps <= 0 else qs / ps
    shift = (qm - pm) / ps if ps > 0 else float("inf") * np.sign(qm - pm)
    quantile = float(np.mean(prior < qm))
    verdict, advice = "pass", "the data moved this channel's ROAS away from its prior."
    if quantile < TAIL or quantile > 1 - TAIL:
        side, held = ("lower", "up") if quantile < TAIL else ("upper", "down")
        verdict = "review"
        advice = (
            f"{channel}'s ROAS ({qm:.3g}) sits in the {side} tail of its prior (median "
            f"{pm:.3g}, 90% [{plo:.3g}, {phi:.3g}]): the data pull against the prior, which may "
            f"be holding it {held}; widen or re-centre that prior, or calibrate it with an "
            "experiment."
        )
    elif ratio is not None and ratio > SD_RATIO and abs(shift) < SHIFT:
        verdict = "review"
        advice = (
            f"this channel's ROAS is mostly your prior (the data narrowed it only to "
            f"{ratio:.0%} of the prior's spread and moved it {abs(shift):.2f} prior sd): vary "
            f"{channel}'s spend, run an experiment, or set a prior you can defend."
        )
    elif ratio is None:
        advice = "a point estimate: only its position in the prior was checked."
    return PriorShift(channel, pm, ps, plo, phi, qm, qs, qlo, qhi, ratio, float(shift),
                      quantile, verdict, advice)  # fmt: skip


def prior_shift(fitted, roas: np.ndarray | None = None, n: int = PRIOR_DRAWS, seed: int = 0):
    """One `PriorShift` per channel with spend (``roas``: posterior draws (S, C), computed
    when not given; a geo model's national ROAS, paid then reach-and-frequency channels)."""
    post = fitted.roas_draws() if roas is None else np.asarray(roas)
    prior = prior_roas_draws(fitted, n, seed)
    out = []
    for c, name in enumerate(getattr(fitted, "media_names", fitted.channel_names)):
        if not (np.isfinite(prior[:, c]).any() and np.isfinite(post[:, c]).any()):
            continue  # no spend in the window: no ROAS to compare
        out.append(compare(name, prior[:, c], post[:, c]))
    return out
