"""Priors: a small, serialisable description of a distribution, and the defaults.

A :class:`Prior` is a distribution name plus its parameters, e.g.
``Prior("half_normal", {"scale": 0.5})``. It is written in YAML as
``{dist: half_normal, scale: 0.5}``. All defaults are stated on the *scaled* data: the KPI
divided by its mean and each channel's media divided by its mean, so one set of defaults works
for sales in units, revenue in millions or sign-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import SpecError, did_you_mean

# name -> (parameter names in order, parameters that must be > 0)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("loc", "scale"), ("scale",)),
    "half_normal": (("scale",), ("scale",)),
    "lognormal": (("loc", "scale"), ("scale",)),
    "gamma": (("concentration", "rate"), ("concentration", "rate")),
    "beta": (("concentration1", "concentration0"), ("concentration1", "concentration0")),
    "student_t": (("df", "loc", "scale"), ("df", "scale")),
    "half_cauchy": (("scale",), ("scale",)),
    "laplace": (("loc", "scale"), ("scale",)),
    "exponential": (("rate",), ("rate",)),
    "uniform": (("low", "high"), ()),
    "truncated_normal": (("loc", "scale", "low"), ("scale",)),
}

# support of each distribution: "real", "positive" or "unit" (0, 1)
SUPPORT = {
    "normal": "real",
    "student_t": "real",
    "laplace": "real",
    "uniform": "interval",
    "half_normal": "positive",
    "lognormal": "positive",
    "gamma": "positive",
    "half_cauchy": "positive",
    "exponential": "positive",
    "truncated_normal": "positive",
    "beta": "unit",
}


@dataclass(frozen=True)
class Prior:
    """A named distribution with its parameters (scalars, or one value per channel)."""

    dist: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            hint = did_you_mean(self.dist, DISTRIBUTIONS)
            raise SpecError(
                f"unknown prior distribution '{self.dist}'; known: "
                f"{', '.join(DISTRIBUTIONS)}.{hint}"
            )
        names, positive = DISTRIBUTIONS[self.dist]
        params = dict(self.params)
        missing = [n for n in names if n not in params]
        extra = [n for n in params if n not in names]
        if missing or extra:
            raise SpecError(
                f"prior '{self.dist}' takes parameters {list(names)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else "")
            )
        clean = {}
        for n in names:
            try:
                v = float(params[n])
            except (TypeError, ValueError):
                raise SpecError(
                    f"prior '{self.dist}': parameter '{n}' must be a number (got {params[n]!r})"
                ) from None
            if not np.isfinite(v):
                raise SpecError(f"prior '{self.dist}': parameter '{n}' must be finite")
            if n in positive and v <= 0:
                raise SpecError(
                    f"prior '{self.dist}': parameter '{n}' must be > 0 (got {v}); "
                    "a scale or rate is positive"
                )
            clean[n] = v
        if self.dist == "uniform" and clean["high"] <= clean["low"]:
            raise SpecError("prior 'uniform': 'high' must be greater than 'low'")
        object.__setattr__(self, "params", clean)

    @classmethod
    def from_value(cls, value: Any, where: str = "prior") -> Prior:
        """Build from ``Prior``, ``{dist: ..., **params}`` or ``[dist, {params}]``."""
        if isinstance(value, Prior):
            return value
        if isinstance(value, Mapping):
            d = dict(value)
            if "dist" not in d:
                raise SpecError(
                    f"{where}: a prior needs 'dist' (one of {', '.join(DISTRIBUTIONS)}), "
                    f"e.g. {{dist: half_normal, scale: 0.5}} (got {value!r})"
                )
            dist = d.pop("dist")
            if "params" in d and isinstance(d["params"], Mapping):
                d = dict(d["params"])
            try:
                return cls(str(dist), d)
            except SpecError as exc:
                raise SpecError(f"{where}: {exc}") from None
        raise SpecError(
            f"{where}: a prior must be a mapping like {{dist: normal, loc: 0, scale: 1}}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.params}


# The default media prior of the additive form (``media_prior: default``): a prior on the
# total media share of the KPI, split over the channels by spend share (see
# `mediamix.model.share_prior`). Internal distribution name of that joint prior on ``effect``:
SHARE_SPLIT = "share_split"
# Dirichlet concentration of the split per channel: SPLIT_CONCENTRATION x C x spend share (1
# for every channel when spends are equal: all splits equally likely), at least SPLIT_FLOOR:
# below 1 the density is infinite at a zero effect, which draws a MAP fit (and a weakly
# informed channel) to exactly zero; channels with less than an average spend share all get
# the floor, so their expected share of the effect is somewhat above their spend share.
SPLIT_CONCENTRATION = 1.0
SPLIT_FLOOR = 1.0
# The default ROI prior (``media_prior: roi``) is centred on the data's own scale: a median
# ROAS of ROI_SHARE x (kpi_value x KPI total / spend total), i.e. media worth about a quarter
# of the KPI (the media_share prior's median), with the log-scale spread ROI_SCALE.
ROI_SHARE = 0.27
ROI_SCALE = 0.9


def split_concentration(spend: np.ndarray) -> np.ndarray:
    """Dirichlet concentrations (C,) of the media split from the channels' spend (C,)."""
    spend = np.maximum(np.asarray(spend, dtype=float), 0.0)
    total = spend.sum()
    n = len(spend)
    share = spend / total if total > 0 else np.full(n, 1.0 / max(n, 1))
    return np.maximum(SPLIT_CONCENTRATION * n * share, SPLIT_FLOOR).astype(np.float32)


def to_numpyro(dist: str, params: Mapping[str, Any]):
    """A numpyro distribution from a name and (possibly per-channel array) parameters."""
    import jax.numpy as jnp
    import numpyro.distributions as nd

    if dist == SHARE_SPLIT:
        from mediamix.model.share_prior import ShareSplit

        total_dist, total_params = params["total"]
        return ShareSplit(
            to_numpyro(total_dist, total_params), params["concentration"], params["kpi_mean"]
        )
    p = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in params.items()}
    if dist == "normal":
        return nd.Normal(p["loc"], p["scale"])
    if dist == "half_normal":
        return nd.HalfNormal(p["scale"])
    if dist == "lognormal":
        return nd.LogNormal(p["loc"], p["scale"])
    if dist == "gamma":
        return nd.Gamma(p["concentration"], p["rate"])
    if dist == "beta":
        return nd.Beta(p["concentration1"], p["concentration0"])
    if dist == "student_t":
        return nd.StudentT(p["df"], p["loc"], p["scale"])
    if dist == "half_cauchy":
        return nd.HalfCauchy(p["scale"])
    if dist == "laplace":
        return nd.Laplace(p["loc"], p["scale"])
    if dist == "exponential":
        return nd.Exponential(p["rate"])
    if dist == "uniform":
        return nd.Uniform(p["low"], p["high"])
    if dist == "truncated_normal":
        return nd.TruncatedNormal(p["loc"], p["scale"], low=p["low"])
    raise SpecError(f"unknown prior distribution '{dist}'")  # pragma: no cover


# Defaults of the parameters of the transforms, on scaled media (mean 1 per channel): read
# from the family objects in mediamix.transforms (each family carries its own priors).
def _family_priors(kind: str) -> dict[str, dict[str, Prior]]:
    from mediamix.transforms import ADSTOCKS, SATURATIONS

    families = SATURATIONS if kind == "saturation" else ADSTOCKS
    return {
        name: {p: Prior.from_value(spec, f"{name}.{p}") for p, spec in fam.priors.items()}
        for name, fam in families.items()
        if fam.priors
    }


SATURATION_PRIORS: dict[str, dict[str, Prior]] = _family_priors("saturation")
ADSTOCK_PRIORS: dict[str, dict[str, Prior]] = _family_priors("adstock")


def coefficient_name(family: str) -> str:
    """The parameter the response scales with linearly (``beta``, or ``a``)."""
    from mediamix.transforms.saturation import get_saturation

    return get_saturation(family).amplitude


def default_priors(form: str) -> dict[str, Prior]:
    """Defaults of the non-transform sites, for the additive or multiplicative form."""
    additive = form == "additive"
    return {
        # on the level: the KPI's mean location over the fitted window (1 on the scaled KPI)
        "intercept": Prior("normal", {"loc": 1.0 if additive else 0.0, "scale": 1.0}),
        "trend": Prior("normal", {"loc": 0.0, "scale": 0.5}),
        "trend_delta": Prior("laplace", {"loc": 0.0, "scale": 0.1}),
        "season": Prior("normal", {"loc": 0.0, "scale": 0.3}),
        "dow": Prior("normal", {"loc": 0.0, "scale": 0.3}),
        "event": Prior("normal", {"loc": 0.0, "scale": 0.3}),
        "control": Prior("normal", {"loc": 0.0, "scale": 0.3}),
        "control_signed": Prior("half_normal", {"scale": 0.3}),
        "beta": Prior("half_normal", {"scale": 0.3}),
        # additive, media_prior default: the total media share of the KPI (median 0.27, 90%
        # of the mass between 0.07 and 0.69), split over the channels by spend share
        "media_share": Prior("gamma", {"concentration": 2.5, "rate": 8.0}),
        # per-channel effect priors (cost_proportional; or once any effect prior is given)
        "effect": Prior("half_normal", {"scale": 0.3}),
        # ROI units; with media_prior roi the default loc is log(ROI_SHARE x the data's
        # revenue per spend) -- this entry only gives its form and spread
        "roas": Prior("lognormal", {"loc": 0.0, "scale": ROI_SCALE}),
        "sigma": Prior("half_normal", {"scale": 0.3}),
        "nu": Prior("gamma", {"concentration": 2.0, "rate": 0.1}),
    }
