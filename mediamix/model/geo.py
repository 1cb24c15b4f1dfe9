"""The geo model: a hierarchical media mix model on a geo panel, as data and pure functions.

Units. With populations, the KPI and every activity (paid media, organic media, reach) are
divided by the geo's population; then the KPI by its mean per capita over every geo and
training period, each channel's activity by its mean non-zero value per capita
(`mediamix.model.geo_data.GeoScalers`). The model works in these units; every number it
reports is in original KPI units (``x kpi_scale x population_g``).

Location of the KPI of geo g at period t (model units)::

    mu_gt = intercept_g + trend_g t + season_g . fourier_t + dow_t + controls_gt . gamma
            + sum_c beta_gc Sat_c(Adstock_c(x_gtc))                     paid (C)
            + sum_r beta_gr Adstock_r(reach_gtr Hill(freq_gtr; K_r, S_r))  reach and frequency (R)
            + sum_o beta_go Sat_o(Adstock_o(organic_gto))                organic (O)
            + sum_n delta_n z_gtn                                         non-media treatments (N)

- **Baselines** per geo, partially pooled: ``level_g ~ N(level, level_sd)`` centred (the
  mean location of geo g over the likelihood window; the intercept is what is left of it, as
  in the national model), ``trend_g = trend + trend_sd z_g`` and ``season_g = season +
  season_sd z_g`` non-centred (``z ~ N(0, 1)``; the sd's half-normal: `LEVEL_SD`,
  `TREND_SD`, `SEASON_SD`). Every period of a geo informs its level, so the data pin
  ``level_g`` down and the centred form samples best there (non-centred, ``level_z`` and
  ``level`` form a narrow ridge: on Meridian's 40-geo sample, 484 leapfrog steps per draw
  against 122 centred, `bench/bench_geo_meridian.py`); a per-geo trend or season
  deviation is weakly identified, and its sd may be near 0, where the non-centred form
  avoids the funnel (centred, the trend's sd mixed with an ESS of 2 on 12 geos). Weekday
  terms (daily data) are national. The controls' data are per geo; their coefficients are
  national (``geo_controls: shared``) or per geo (``per_geo``): ``gamma_gk = gamma_k +
  control_sd_k z_gk`` (free sign) and ``gamma_gk = gamma_k exp(control_sd_k z_gk)`` (a
  sign-constrained control keeps its sign), non-centred, the sd's half-normal
  (`CONTROL_SD`, `CONTROL_LOG_SD`); events stay national. Without pooling (``geo_pooling:
  none``) a per-geo coefficient is each geo's own, with the national prior.
- **Media effects**: the national ``effect_c`` (the channel's average contribution per geo
  and period at the national coefficient) has the national model's media prior (by default
  the total media share of the KPI split by spend share over paid and rf channels,
  `mediamix.model.share_prior`); ``beta_c = effect_c / mean_gt(unit_gtc)`` over the
  likelihood window, and ``beta_gc = beta_c exp(tau_c z_gc)``, ``tau_c`` half-normal
  (`EFFECT_TAU`), non-centred, so the sampler stays healthy with many geos. Organic
  channels are alike with independent half-normal effects (`ORGANIC_EFFECT` x the KPI's
  mean). ``geo_pooling: none``: every geo its own baseline and effects, with the same priors
  and no pooling (the separate-fits comparison). One geo: the pooling terms are dropped.
- **Transforms**: adstock and saturation families from the registries
  (`mediamix.transforms`), their priors from the families as in the national model, shared
  by every geo. ``geo_transforms: per_geo``: the saturation's parameters in units of x (the
  half-saturation ``k`` of hill, ...; those in 1 / x too) per geo on the log scale, and the
  geometric decay per geo on the logit scale, pooled around the national values
  (``p_g = p exp(sd z_g)``, `TRANSFORM_SD`); other adstock parameters stay shared.
- **Reach and frequency**: ``Hill`` on the (unscaled) frequency with unit amplitude times
  the scaled reach, then the channel's adstock over time (geometric by default), times
  ``beta_gr`` pooled like a paid channel; ``rf_hill_k``, ``rf_hill_s`` are national
  (`RF_HILL_K`, `RF_HILL_S`).
- **Non-media treatments**: one national coefficient per treatment (normal,
  `NON_MEDIA_PRIOR`, sign free) on the treatment divided by its sd, not centred: the
  contribution is measured against the treatment at 0.
- **Likelihood**: normal (or student_t) with one sigma, masked to the likelihood window
  (after the adstock warm-up, before the hold-out) of every geo.

Not supported (each a `SpecError` naming the setting and the fix, `check_geo_spec`): the
multiplicative form, ``media_prior: roi``, time-varying effects and a piecewise trend.

Speed: `GeoStructure` is hashable by value and holds no data; the data and the numbers of
the data-scaled priors are arrays of the design, so `forward_jit` compiles once per structure
and refits of data of the same shapes reuse it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from mediamix.data.scaling import Scaler
from mediamix.errors import SpecError
from mediamix.model.design import MIN_WINDOW, YEAR_DAYS
from mediamix.model.geo_data import GeoData, GeoScalers
from mediamix.model.priors import (
    ADSTOCK_PRIORS,
    SATURATION_PRIORS,
    SHARE_SPLIT,
    Prior,
    coefficient_name,
    default_priors,
    to_numpyro,
)
from mediamix.model.share_prior import ShareSplit
from mediamix.model.spec import ModelSpec
from mediamix.model.structure import _channel_prior, _media_priors, warmup_periods
from mediamix.transforms.adstock import apply_weights, get_adstock
from mediamix.transforms.saturation import get_saturation

# pooling scales (half-normal) in model units (the per-capita KPI over its mean)
LEVEL_SD = 0.5
TREND_SD = 0.2
SEASON_SD = 0.1
EFFECT_TAU = 0.3  # sd of log beta_gc around log beta_c
TRANSFORM_SD = 0.2  # sd of a per-geo transform parameter on the log / logit scale
CONTROL_SD = 0.1  # sd of a per-geo free control coefficient around the national (per control sd)
CONTROL_LOG_SD = 0.3  # sd of log |coefficient| of a sign-constrained control around the national
ORGANIC_EFFECT = 0.1  # half-normal scale of an organic channel's effect, x the KPI's mean
NON_MEDIA_PRIOR = Prior("normal", {"loc": 0.0, "scale": 0.3})
# the frequency's half-saturation: median 2 exposures, 90% of the mass between 0.7 and 5.4
# (the optimal frequency k (s - 1)^(1/s) may lie well above the median)
RF_HILL_K = Prior("lognormal", {"loc": 0.7, "scale": 0.6})
RF_HILL_S = Prior("lognormal", {"loc": 0.7, "scale": 0.4})
RF_FAMILY = "hill"


def check_geo_spec(spec: ModelSpec) -> None:
    """A `SpecError` naming each setting the geo model does not support, with the fix."""
    if spec.form != "additive":
        raise SpecError(
            f"form: the geo model is additive; got '{spec.form}'. Fix: form: additive, or fit "
            "the national roll-up (`Panel.rollup()`) with the multiplicative form"
        )
    if spec.media_prior == "roi":
        raise SpecError(
            "media_prior: 'roi' is not available in the geo model. Fix: media_prior: default "
            "(the media share prior) or cost_proportional"
        )
    if spec.time_varying:
        raise SpecError(
            f"time_varying: the geo model has no time-varying effects (got "
            f"{list(spec.time_varying)}). Fix: remove time_varying, or fit the national "
            "roll-up with them"
        )
    if spec.trend == "piecewise":
        raise SpecError(
            "trend: 'piecewise' is not available in the geo model. Fix: trend: linear or none"
        )


# ---- the structure --------------------------------------------------------------------------
@dataclass(frozen=True)
class GeoGroup:
    """Channels sharing one transform family: family, indices into the transform channels
    (paid, rf, organic), the ArviZ dim, the parameters and those that vary per geo."""

    family: str
    idx: tuple[int, ...]
    dim: str
    params: tuple[str, ...]
    geo_params: tuple[str, ...] = ()

    def site(self, p: str) -> str:
        return f"{self.family}_{p}"


@dataclass(frozen=True)
class GeoStructure:
    """Static configuration of a geo model (hashable by value, never traced, holds no data).

    Transform channels are ordered paid (C), rf (R), organic (O); ``media`` (with spend) is
    paid then rf."""

    spec_yaml: str
    geos: tuple[str, ...]
    channel_names: tuple[str, ...]
    rf_names: tuple[str, ...]
    organic_names: tuple[str, ...]
    non_media_names: tuple[str, ...]
    control_names: tuple[str, ...]
    pooled: bool
    sat_groups: tuple[GeoGroup, ...]
    ad_groups: tuple[GeoGroup, ...]
    lags: tuple[int, ...]
    max_lag: int
    warmup: int
    adstock_normalize: bool
    trend: bool
    n_fourier: int
    n_dow: int
    free_idx: tuple[int, ...]
    signed_idx: tuple[int, ...]
    signs: tuple[float, ...]
    event_idx: tuple[int, ...]
    likelihood: str
    #: per-geo control coefficients (``geo_controls: per_geo``)
    geo_controls: bool
    #: (site, distribution name, the total's distribution for the media share prior or "")
    prior_dists: tuple[tuple[str, str, str], ...]
    spec: ModelSpec = field(compare=False, hash=False, repr=False)

    # sizes
    @property
    def n_geos(self) -> int:
        return len(self.geos)

    @property
    def n_paid(self) -> int:
        return len(self.channel_names)

    @property
    def n_rf(self) -> int:
        return len(self.rf_names)

    @property
    def n_organic(self) -> int:
        return len(self.organic_names)

    @property
    def media_names(self) -> tuple[str, ...]:
        return self.channel_names + self.rf_names

    @property
    def transform_names(self) -> tuple[str, ...]:
        return self.channel_names + self.rf_names + self.organic_names

    @property
    def n_media(self) -> int:
        return self.n_paid + self.n_rf

    def dist(self, site: str) -> tuple[str, str]:
        for s, d, total in self.prior_dists:
            if s == site:
                return d, total
        raise KeyError(site)  # pragma: no cover

    def dims(self) -> tuple[dict[str, list[str]], dict[str, list]]:
        """ArviZ dims per site and coords."""
        G = ["geo"]
        coords: dict[str, list] = {"geo": list(self.geos)}
        dims: dict[str, list[str]] = {"intercept": G}
        p = self.pooled
        dims["level"] = [] if p else G
        if p:
            dims["level_sd"], dims["level_geo"] = [], G
        if self.trend:
            dims["trend"] = [] if p else G
            dims["geo_trend"] = G
            if p:
                dims["trend_sd"], dims["trend_z"] = [], G
        if self.n_fourier:
            coords["fourier"] = [
                f"{f}{k}" for k in range(1, self.n_fourier // 2 + 1) for f in ("sin", "cos")
            ]
            dims["season"] = ["fourier"] if p else G + ["fourier"]
            dims["geo_season"] = G + ["fourier"]
            if p:
                dims["season_sd"], dims["season_z"] = [], G + ["fourier"]
        if self.n_dow:
            coords["weekday"] = ["tue", "wed", "thu", "fri", "sat", "sun"]
            dims["dow"] = ["weekday"]
        ctrl = np.asarray(self.control_names)
        for site, idx, dim in (("control", self.free_idx, "control_free"),
                               ("control_signed", self.signed_idx, "signed_control"),
                               ("event", self.event_idx, "event_name")):  # fmt: skip
            if idx:
                coords[dim] = list(ctrl[list(idx)])
                per_geo = self.geo_controls and site != "event"
                dims[site] = ([] if p or not per_geo else G) + [dim]
                if per_geo:
                    dims["geo_" + site] = G + [dim]
                    if p:
                        dims[site + "_sd"], dims[site + "_z"] = [dim], G + [dim]
        if self.non_media_names:
            coords["non_media_channel"] = list(self.non_media_names)
            dims["non_media"] = ["non_media_channel"]
        names = self.transform_names
        for g in self.sat_groups + self.ad_groups:
            coords[g.dim] = [names[i] for i in g.idx]
            for q in g.params:
                dims[g.site(q)] = [g.dim]
            for q in g.geo_params:
                dims[g.site(q) + "_geo_sd"] = [g.dim]
                dims[g.site(q) + "_geo_z"] = G + [g.dim]
                dims[g.site(q) + "_geo"] = G + [g.dim]
        if self.n_media:
            coords["channel"] = list(self.media_names)
            dims["effect"] = ["channel"] if p else G + ["channel"]
            dims["beta"] = G + ["channel"]
            if p:
                dims["effect_tau"], dims["effect_z"] = ["channel"], G + ["channel"]
        if self.n_organic:
            coords["organic_channel"] = list(self.organic_names)
            dims["organic_effect"] = ["organic_channel"] if p else G + ["organic_channel"]
            dims["beta_organic"] = G + ["organic_channel"]
            if p:
                dims["organic_tau"] = ["organic_channel"]
                dims["organic_z"] = G + ["organic_channel"]
        if self.n_rf:
            coords["rf_channel"] = list(self.rf_names)
            dims["rf_hill_k"] = ["rf_channel"]
            dims["rf_hill_s"] = ["rf_channel"]
        dims["sigma"] = []
        if self.likelihood == "student_t":
            dims["nu"] = []
        return dims, coords


def _pooled(spec: ModelSpec, data: GeoData) -> bool:
    return spec.geo_pooling == "partial" and data.n_geos > 1


def _transform_channels(spec: ModelSpec, data: GeoData) -> list[str]:
    return list(data.channel_names + data.rf_names + data.organic_names)


def _window(warmup: int, n_train: int) -> slice:
    return slice(min(warmup, max(n_train - 1, 0)), n_train)


def geo_priors(
    spec: ModelSpec, data: GeoData, scalers: GeoScalers, n_train: int
) -> dict[str, tuple[str, Any]]:
    """Every site's prior ``{site: (dist, {param: array})}``; the media share prior's params
    are ``{"total": (dist, params), "concentration": (..., P), "kpi_mean": (...)}``, per geo
    (leading ``G``) without pooling."""
    names = _transform_channels(spec, data)
    warm = warmup_periods(spec, names, data.freq)
    window = _window(warm, n_train)
    f32 = np.float32
    out: dict[str, tuple[str, Any]] = {}
    fd = default_priors("additive")
    for site in ("intercept", "trend", "sigma", "nu"):
        p = spec.prior(site, fd)
        out[site] = (p.dist, {k: f32(v) for k, v in p.params.items()})
    n_fourier = 2 * spec.seasonality(data.freq)
    if n_fourier:
        out["season"] = _channel_prior(spec, "season", [str(i) for i in range(n_fourier)])
    if spec.use_day_of_week(data.freq):
        out["dow"] = _channel_prior(spec, "dow", [str(i) for i in range(6)])
    free, signed, ev, _ = _control_sets(spec, data)
    cn = list(data.control_names)
    for site, idx in (("control", free), ("control_signed", signed), ("event", ev)):
        if idx:
            out[site] = _channel_prior(spec, site, [cn[i] for i in idx])
    for site, ps in _transform_sites(spec, data).items():
        out[site] = _channel_prior(spec, site, ps)
    if data.rf_names:
        for site, prior in (("rf_hill_k", RF_HILL_K), ("rf_hill_s", RF_HILL_S)):
            out[site] = (prior.dist, {k: np.full(len(data.rf_names), v, f32)
                                      for k, v in prior.params.items()})  # fmt: skip
    if data.non_media_names:
        n = len(data.non_media_names)
        out["non_media"] = (NON_MEDIA_PRIOR.dist, {k: np.full(n, v, f32)
                                                   for k, v in NON_MEDIA_PRIOR.params.items()})  # fmt: skip
    # the media prior of the channels with spend, from the national model's logic
    y = (data.kpi / data.population[:, None]) / scalers.kpi_scale  # (G, T) model units
    ident = SimpleNamespace(kpi=Scaler("identity", np.zeros(()), np.ones(())))
    spend = data.media_spend
    media_names = list(data.media_names)
    pooled = _pooled(spec, data)
    if media_names:
        if pooled:
            d = SimpleNamespace(spend=spend.sum(0), kpi=y.mean(0))
            out.update(_media_priors(spec, d, ident, window, media_names))
        else:
            per = [
                _media_priors(spec, SimpleNamespace(spend=spend[g], kpi=y[g]), ident, window,
                              media_names)["effect"]
                for g in range(data.n_geos)
            ]  # fmt: skip
            out["effect"] = (per[0][0], _stack([p[1] for p in per]))
    if data.organic_names:
        kpi_mean = float(np.mean(y[:, window]))
        scales = []
        for o in data.organic_names:
            own = spec.priors.get(f"effect.{o}")
            if own is not None and own.dist != "half_normal":
                raise SpecError(
                    f"priors.effect.{o}: an organic channel's effect takes a half_normal prior "
                    f"in the geo model; got '{own.dist}'"
                )
            scales.append(own.params["scale"] if own is not None else ORGANIC_EFFECT * kpi_mean)
        out["organic_effect"] = ("half_normal", {"scale": np.asarray(scales, f32)})
    return out


def _stack(parts: list) -> Any:
    """Per-geo prior params stacked on a leading geo axis (nested like the parts)."""
    first = parts[0]
    if isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], str):
        return (first[0], _stack([p[1] for p in parts]))
    if isinstance(first, dict):
        return {k: _stack([p[k] for p in parts]) for k in first}
    return np.stack([np.asarray(p, np.float32) for p in parts])


def _control_sets(spec: ModelSpec, data: GeoData):
    cn = list(data.control_names)
    ev = [i for i, c in enumerate(cn) if c in spec.events]
    signed = [
        i for i, c in enumerate(cn) if i not in ev and spec.control_signs.get(c, "free") != "free"
    ]
    free = [i for i, c in enumerate(cn) if i not in ev and i not in signed]
    signs = tuple(1.0 if spec.control_signs[cn[i]] == "positive" else -1.0 for i in signed)
    return free, signed, ev, signs


def _groups(spec: ModelSpec, data: GeoData) -> tuple[list[GeoGroup], list[GeoGroup]]:
    """Saturation groups (paid and organic channels) and adstock groups (every channel)."""
    names = _transform_channels(spec, data)
    C, R = len(data.channel_names), len(data.rf_names)
    sat_idx = [i for i in range(len(names)) if not C <= i < C + R]
    per_geo = spec.geo_transforms == "per_geo" and data.n_geos > 1
    fams: dict[str, list[int]] = {}
    for i in sat_idx:
        fams.setdefault(spec.channel_saturation(names[i]), []).append(i)
    sat = []
    for f, idx in fams.items():
        fam = get_saturation(f)
        params = tuple(SATURATION_PRIORS[f])
        gp = tuple(q for q in params if q in fam.x_params + fam.inv_x_params) if per_geo else ()
        dim = "sat_channel" if len(fams) == 1 else f"sat_{f}"
        sat.append(GeoGroup(f, tuple(idx), dim, params, gp))
    afams: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        a = spec.channel_adstock(n)
        if a != "none":
            afams.setdefault(a, []).append(i)
    ad = []
    for f, idx in afams.items():
        gp = ("lam",) if per_geo and f == "geometric" else ()
        dim = "adstock_channel" if len(afams) == 1 else f"adstock_{f}"
        ad.append(GeoGroup(f, tuple(idx), dim, tuple(ADSTOCK_PRIORS[f]), gp))
    return sat, ad


def _transform_sites(spec: ModelSpec, data: GeoData) -> dict[str, list[str]]:
    names = _transform_channels(spec, data)
    sat, ad = _groups(spec, data)
    return {g.site(p): [names[i] for i in g.idx] for g in sat + ad for p in g.params}


def build_geo_structure(
    spec: ModelSpec, data: GeoData, scalers: GeoScalers, n_train: int | None = None
) -> GeoStructure:
    """The static structure of ``spec`` on ``data`` (checks the spec against the data)."""
    check_geo_spec(spec)
    names = _transform_channels(spec, data)
    if not names and not data.non_media_names:
        raise SpecError(
            "the geo model needs at least one channel (paid, reach and frequency, organic) or "
            "non-media treatment; the data have none"
        )
    spec.validate_for(names, data.control_names, data.freq, n_periods=data.n_periods,
                      rows_rule=False)  # fmt: skip
    clash = set(data.channel_names) & set(data.rf_names + data.organic_names)
    if clash or set(data.rf_names) & set(data.organic_names):
        dup = sorted(clash or set(data.rf_names) & set(data.organic_names))[0]
        raise SpecError(
            f"channel '{dup}' is named in two roles (paid, reach_frequency, organic); give "
            "each channel one role"
        )
    n_train = data.n_periods if n_train is None else int(n_train)
    warm = warmup_periods(spec, names, data.freq)
    if n_train - warm < MIN_WINDOW:
        raise SpecError(
            f"too few periods to fit: {n_train} training periods, the first {warm} only "
            f"condition the adstock, which leaves {max(n_train - warm, 0)} for the likelihood; "
            f"it needs at least {MIN_WINDOW}. Use a longer series, a shorter adstock_max_lag "
            "or a smaller holdout"
        )
    sat, ad = _groups(spec, data)
    lags = tuple(spec.max_lag(data.freq, n) for n in names)
    free, signed, ev, signs = _control_sets(spec, data)
    priors = geo_priors(spec, data, scalers, n_train)
    dists = []
    for site, (d, p) in priors.items():
        total = p["total"][0] if d == SHARE_SPLIT else ""
        dists.append((site, d, total))
    return GeoStructure(
        spec_yaml=spec.to_yaml(),
        geos=tuple(data.geos),
        channel_names=tuple(data.channel_names),
        rf_names=tuple(data.rf_names),
        organic_names=tuple(data.organic_names),
        non_media_names=tuple(data.non_media_names),
        control_names=tuple(data.control_names),
        pooled=_pooled(spec, data),
        sat_groups=tuple(sat),
        ad_groups=tuple(ad),
        lags=lags,
        max_lag=max(lags, default=1),
        warmup=warm,
        adstock_normalize=bool(spec.adstock_normalize),
        trend=spec.trend != "none",
        n_fourier=2 * spec.seasonality(data.freq),
        n_dow=6 if spec.use_day_of_week(data.freq) else 0,
        free_idx=tuple(free),
        signed_idx=tuple(signed),
        signs=signs,
        event_idx=tuple(ev),
        likelihood=spec.likelihood,
        geo_controls=spec.geo_controls == "per_geo" and data.n_geos > 1,
        prior_dists=tuple(dists),
        spec=spec,
    )


def likelihood_window(structure: GeoStructure, n_train: int) -> slice:
    """The periods the likelihood and the window metrics use (every geo alike)."""
    return _window(structure.warmup, n_train)


# ---- the design -----------------------------------------------------------------------------
def rf_inputs(data: GeoData, rf_spend: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Reach and frequency for other rf spend (G, T, R): reach scales with spend at the
    observed frequency; where the data have no reach, the geo's mean frequency and its cost
    per impression."""
    if rf_spend is None:
        return data.reach, data.frequency
    new = np.asarray(rf_spend, dtype=float)
    old = data.rf_spend
    f_ref = data.mean_frequency[:, None, :]
    cpi = data.cost_per_impression[:, None, :]
    has = (old > 0) & (data.reach > 0)
    freq = np.where(has, data.frequency, f_ref)
    ratio = new / np.where(has, old, 1.0)
    reach = np.where(has, data.reach * ratio, new / (cpi * freq))
    return reach, freq


def build_geo_design(
    data: GeoData,
    scalers: GeoScalers,
    structure: GeoStructure,
    n_train: int,
    media: np.ndarray | None = None,
    rf_spend: np.ndarray | None = None,
    non_media: np.ndarray | None = None,
) -> dict[str, Any]:
    """Float32 arrays in model units and the numbers of the priors (``design["priors"]``).

    ``media`` (paid activity, G x T x C), ``rf_spend`` and ``non_media`` replace the data's
    (original units; what-if)."""
    T = data.n_periods
    f32 = np.float32
    window = likelihood_window(structure, n_train)
    w0 = window.start
    pop = data.population[:, None, None]
    paid = data.media if media is None else np.asarray(media, dtype=float)
    act = np.concatenate([paid, data.organic], axis=2) / pop
    reach, freq = rf_inputs(data, rf_spend)
    nm = data.non_media if non_media is None else np.asarray(non_media, dtype=float)
    days = (data.dates - data.dates[0]).astype("timedelta64[D]").astype(float)
    t = (np.arange(T, dtype=float) - w0) / max(n_train - 1 - w0, 1)
    rows = np.arange(T)
    k = np.arange(1, structure.n_fourier // 2 + 1)
    ang = 2 * np.pi * days[:, None] * k[None, :] / YEAR_DAYS
    four = np.stack([np.sin(ang), np.cos(ang)], axis=-1).reshape(T, -1)
    wd = (data.dates.astype("datetime64[D]").astype(np.int64) + 3) % 7
    dow = np.stack([(wd == j) for j in range(1, 7)], axis=-1).astype(f32)[:, : structure.n_dow]
    ctrl = scalers.controls.transform(data.controls) if data.controls.shape[2] else data.controls
    d: dict[str, Any] = {
        "media": scalers.media.transform(act).astype(f32),  # (G, T, C + O)
        "reach": scalers.reach.transform(reach / pop).astype(f32),  # (G, T, R)
        "frequency": np.asarray(freq, f32),
        "non_media": scalers.non_media.transform(nm).astype(f32),  # (G, T, N)
        "controls_free": ctrl[..., list(structure.free_idx)].astype(f32),
        "controls_signed": ctrl[..., list(structure.signed_idx)].astype(f32),
        "events": ctrl[..., list(structure.event_idx)].astype(f32),
        "t": (t - 0.5).astype(f32),
        "fourier": four.astype(f32),
        "dow": dow,
        "y": ((data.kpi / data.population[:, None]) / scalers.kpi_scale).astype(f32),
        "mask": (rows >= w0) & (rows < n_train),
    }
    priors = geo_priors(structure.spec, data, scalers, n_train)
    out = {k: jnp.asarray(v) for k, v in d.items()}
    out["priors"] = jax.tree.map(lambda v: jnp.asarray(v, jnp.float32), _numbers(priors))
    return out


def _numbers(priors: dict) -> dict:
    def numbers(p):
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            return numbers(p[1])
        if isinstance(p, dict):
            return {k: numbers(v) for k, v in p.items()}
        return np.asarray(p, np.float32)

    return {site: numbers(p) for site, p in priors.items()}


# ---- the maths (pure jax.numpy) -----------------------------------------------------------
def transform_value(params: dict, g: GeoGroup, q: str) -> jnp.ndarray:
    """A transform parameter: (n,) shared, or (G, n) per geo."""
    return params[g.site(q) + "_geo"] if q in g.geo_params else params[g.site(q)]


def adstock_weights(params: dict, structure: GeoStructure) -> jnp.ndarray:
    """Lag weights of every transform channel: (A, L), or (G, A, L) with per-geo decay."""
    L = structure.max_lag
    A = len(structure.transform_names)
    per_geo = any(g.geo_params for g in structure.ad_groups)
    lead = (structure.n_geos,) if per_geo else ()
    w = jnp.zeros(lead + (A, L), dtype=jnp.float32).at[..., 0].set(1.0)
    for g in structure.ad_groups:
        fam = get_adstock(g.family)
        kw = {q: transform_value(params, g, q) for q in g.params}
        if g.family == "geometric":
            kw["normalize"] = structure.adstock_normalize
        wg = fam.weights(L=L, **kw).astype(jnp.float32)
        lagmask = np.array(
            [[lag < structure.lags[i] for lag in range(L)] for i in g.idx], np.float32
        )
        if not lagmask.all():
            wg = wg * lagmask
            if g.family == "geometric" and structure.adstock_normalize:
                wg = wg / wg.sum(-1, keepdims=True)
        wg = jnp.broadcast_to(wg, lead + wg.shape[-2:])
        if g.idx == tuple(range(A)):
            return wg
        w = w.at[..., list(g.idx), :].set(wg)
    return w


def transform_inputs(params: dict, design: dict, structure: GeoStructure) -> jnp.ndarray:
    """Unit-coefficient response of every transform channel (G, T, A): paid and organic
    ``Sat(Adstock(x))``, rf ``Adstock(reach x Hill(frequency))``."""
    C, R = structure.n_paid, structure.n_rf
    m = design["media"]
    parts = [m[..., :C]]
    if R:
        hill = get_saturation(RF_FAMILY)
        kw = {"k": params["rf_hill_k"], "s": params["rf_hill_s"]}
        kw[coefficient_name(RF_FAMILY)] = 1.0
        parts.append(design["reach"] * hill.fn(design["frequency"], **kw))
    parts.append(m[..., C:])
    x = jnp.concatenate(parts, axis=-1)
    if structure.ad_groups:
        x = apply_weights(x, adstock_weights(params, structure))
    A = x.shape[-1]
    pieces: list[tuple[tuple[int, ...], jnp.ndarray]] = []
    done: set[int] = set()
    for g in structure.sat_groups:
        fam = get_saturation(g.family)
        kw = {}
        for q in g.params:
            v = transform_value(params, g, q)
            kw[q] = v[:, None, :] if q in g.geo_params else v
        kw[coefficient_name(g.family)] = 1.0
        if g.idx == tuple(range(A)):
            return fam.fn(x, **kw)
        pieces.append((g.idx, fam.fn(_take(x, g.idx), **kw)))
        done |= set(g.idx)
    rest = tuple(i for i in range(A) if i not in done)
    if rest:
        pieces.append((rest, _take(x, rest)))
    # the pieces back in channel order: one concatenation and one static gather
    order = [i for idx, _ in pieces for i in idx]
    joined = jnp.concatenate([v for _, v in pieces], axis=-1)
    if order == list(range(A)):
        return joined
    return joined[..., list(np.argsort(order))]


def _take(x: jnp.ndarray, idx: tuple[int, ...]) -> jnp.ndarray:
    """Channels ``idx`` of ``x (..., A)``: a slice when they are contiguous."""
    if idx == tuple(range(idx[0], idx[-1] + 1)):
        return x[..., idx[0] : idx[-1] + 1]
    return x[..., list(idx)]


def baseline(params: dict, design: dict, structure: GeoStructure) -> jnp.ndarray:
    """Everything but media and non-media treatments, (G, T)."""
    G = structure.n_geos
    T = design["t"].shape[0]
    b = jnp.broadcast_to(params["intercept"][:, None], (G, T))
    if structure.trend:
        b = b + params["geo_trend"][:, None] * design["t"][None, :]
    if structure.n_fourier:
        b = b + params["geo_season"] @ design["fourier"].T
    if structure.n_dow:
        b = b + (design["dow"] @ params["dow"])[None, :]
    if structure.free_idx:
        b = b + _control_term(design["controls_free"], params, "control", structure)
    if structure.signed_idx:
        b = b + _control_term(design["controls_signed"], params, "control_signed", structure)
    if structure.event_idx:
        b = b + design["events"] @ params["event"]
    return b


def _control_term(x: jnp.ndarray, params: dict, site: str, structure: GeoStructure):
    """``x (G, T, n)`` times the coefficients (national ``(n,)`` or per geo ``(G, n)``), with
    the signs of sign-constrained controls."""
    coef = params["geo_" + site] if structure.geo_controls else params[site]
    if site == "control_signed":
        coef = coef * jnp.asarray(structure.signs)
    if coef.ndim == 2:
        return jnp.einsum("gtn,gn->gt", x, coef)
    return x @ coef


def components_from_units(
    params: dict, unit: jnp.ndarray, design: dict, structure: GeoStructure
) -> dict[str, jnp.ndarray]:
    P = structure.n_media
    base = baseline(params, design, structure)
    media = params["beta"][:, None, :] * unit[..., :P] if P else unit[..., :0]
    organic = (
        params["beta_organic"][:, None, :] * unit[..., P:] if structure.n_organic else unit[..., P:]
    )
    if structure.non_media_names:
        nm = design["non_media"] * params["non_media"]
    else:
        nm = design["non_media"]
    mu = base + media.sum(-1) + organic.sum(-1) + nm.sum(-1)
    return {"baseline": base, "media": media, "organic": organic, "non_media": nm, "mu": mu}


def components(params: dict, design: dict, structure: GeoStructure) -> dict[str, jnp.ndarray]:
    """Model-unit components: ``baseline (G, T)``, ``media (G, T, C + R)``, ``organic (G, T,
    O)``, ``non_media (G, T, N)``, ``mu = their sum (G, T)``."""
    return components_from_units(params, transform_inputs(params, design, structure), design,
                                 structure)  # fmt: skip


def _masked_mean(x: jnp.ndarray, mask: jnp.ndarray, axes: tuple[int, ...]) -> jnp.ndarray:
    """Mean of ``x (G, T, n)`` over the masked periods (and geos when ``axes`` has 0)."""
    m = mask[None, :, None].astype(x.dtype)
    n = jnp.sum(jnp.broadcast_to(m, x.shape), axis=axes)
    return jnp.sum(x * m, axis=axes) / n


def _per_geo(nat, sd, z, log: bool):
    """National value(s) moved per geo, non-centred: ``nat exp(sd z)`` or on the logit."""
    if log:
        return nat * jnp.exp(sd * z)
    lo = jnp.log(nat) - jnp.log1p(-nat)
    return jax.nn.sigmoid(lo + sd * z)


def forward(raw: dict, design: dict, structure: GeoStructure) -> dict[str, jnp.ndarray]:
    """From sampled sites to the per-geo parameters the maths reads and ``mu (G, T)``:
    ``beta (G, C + R)``, ``beta_organic (G, O)``, ``intercept (G,)``, ``geo_trend (G,)``,
    ``geo_season (G, F)``, ``<transform>_geo (G, n)`` (module docstring)."""
    p = dict(raw)
    G = structure.n_geos
    pooled = structure.pooled
    for g in structure.sat_groups + structure.ad_groups:
        for q in g.geo_params:
            s = g.site(q)
            log = not (g.family == "geometric" and q == "lam")
            p[s + "_geo"] = _per_geo(raw[s][None, :], raw[s + "_geo_sd"][None, :],
                                     raw[s + "_geo_z"], log)  # fmt: skip
    unit = transform_inputs(p, design, structure)  # (G, T, A)
    mask = design["mask"]
    P = structure.n_media
    out: dict[str, jnp.ndarray] = {}
    if P:
        u = unit[..., :P]
        nat = _masked_mean(u, mask, (0, 1))  # (P,)
        if pooled:
            beta = raw["effect"] / (nat + 1e-6)
            beta = beta[None, :] * jnp.exp(raw["effect_tau"][None, :] * raw["effect_z"])
        else:
            own = _masked_mean(u, mask, (1,))  # (G, P)
            den = jnp.where(own > 1e-3 * nat[None, :], own, nat[None, :])
            beta = raw["effect"] / (den + 1e-6)
        out["beta"] = beta
    if structure.n_organic:
        u = unit[..., P:]
        nat = _masked_mean(u, mask, (0, 1))
        if pooled:
            b = raw["organic_effect"] / (nat + 1e-6)
            b = b[None, :] * jnp.exp(raw["organic_tau"][None, :] * raw["organic_z"])
        else:
            own = _masked_mean(u, mask, (1,))
            den = jnp.where(own > 1e-3 * nat[None, :], own, nat[None, :])
            b = raw["organic_effect"] / (den + 1e-6)
        out["beta_organic"] = b
    if structure.trend:
        tr = raw["trend"] + raw["trend_sd"] * raw["trend_z"] if pooled else raw["trend"]
        out["geo_trend"] = jnp.broadcast_to(tr, (G,))
    if structure.n_fourier:
        if pooled:
            out["geo_season"] = raw["season"][None, :] + raw["season_sd"] * raw["season_z"]
        else:
            out["geo_season"] = raw["season"]
    if structure.geo_controls:
        for site, idx in (("control", structure.free_idx),
                          ("control_signed", structure.signed_idx)):  # fmt: skip
            if not idx:
                continue
            nat = raw[site]
            if not pooled:
                out["geo_" + site] = nat
            elif site == "control":
                out["geo_" + site] = nat[None, :] + raw[site + "_sd"] * raw[site + "_z"]
            else:
                out["geo_" + site] = nat[None, :] * jnp.exp(raw[site + "_sd"] * raw[site + "_z"])
    level = raw["level_geo"] if pooled else raw["level"]
    p.update(out)
    p["intercept"] = jnp.zeros((G,), jnp.float32)
    mu0 = components_from_units(p, unit, design, structure)["mu"]
    m = mask.astype(mu0.dtype)[None, :]
    intercept = jnp.broadcast_to(level, (G,)) - jnp.sum(mu0 * m, axis=1) / jnp.sum(m)
    out["intercept"] = intercept
    for g in structure.sat_groups + structure.ad_groups:
        for q in g.geo_params:
            out[g.site(q) + "_geo"] = p[g.site(q) + "_geo"]
    out["mu"] = mu0 + intercept[:, None]
    return out


@functools.lru_cache(maxsize=16)
def forward_jit(structure: GeoStructure):
    """`forward` compiled once per structure (the data and prior numbers are arguments)."""
    return jax.jit(lambda raw, design: forward(raw, design, structure))


@functools.lru_cache(maxsize=16)
def components_jit(structure: GeoStructure):
    """`components` of one parameter set, compiled once per structure."""
    return jax.jit(lambda params, design: components(params, design, structure))


# ---- the NumPyro model ------------------------------------------------------------------------
def _sample(name: str, structure: GeoStructure, design: dict, shape: tuple[int, ...],
            site: str | None = None):  # fmt: skip
    """Sample the site (``site``, default ``name``) from prior ``name``, of ``shape``."""
    import numpyro

    d, total = structure.dist(name)
    nums = design["priors"][name]
    if d == SHARE_SPLIT:
        fn = GeoShareSplit(
            to_numpyro(total, nums["total"]), nums["concentration"], nums["kpi_mean"]
        )
        batch = len(fn.batch_shape)
        return numpyro.sample(site or name, fn.to_event(batch) if batch else fn)
    fn = to_numpyro(d, nums)
    if fn.batch_shape != shape:
        fn = fn.expand(shape)
    return numpyro.sample(site or name, fn.to_event(len(shape)) if shape else fn)


def _std(site: str, shape: tuple[int, ...]):
    import numpyro

    return numpyro.sample(site, dist.Normal(0.0, 1.0).expand(shape).to_event(len(shape)))


def _half(site: str, scale: float, shape: tuple[int, ...] = ()):
    import numpyro

    fn = dist.HalfNormal(scale)
    if shape:
        fn = fn.expand(shape).to_event(len(shape))
    return numpyro.sample(site, fn)


def model(design: dict, structure: GeoStructure, observe: bool = True) -> None:
    """The NumPyro model of the geo panel (model units; see the module docstring)."""
    import numpyro

    G = structure.n_geos
    pooled = structure.pooled
    lead = () if pooled else (G,)
    # the 'intercept' prior applies to the level: a geo's mean location over the window
    raw: dict[str, Any] = {"level": _sample("intercept", structure, design, lead, "level")}
    if pooled:
        raw["level_sd"] = _half("level_sd", LEVEL_SD)
        # centred: the data pin every geo's level down (module docstring)
        level_g = dist.Normal(raw["level"], raw["level_sd"]).expand((G,)).to_event(1)
        raw["level_geo"] = numpyro.sample("level_geo", level_g)
    if structure.trend:
        raw["trend"] = _sample("trend", structure, design, lead)
        if pooled:
            raw["trend_sd"] = _half("trend_sd", TREND_SD)
            raw["trend_z"] = _std("trend_z", (G,))
    F = structure.n_fourier
    if F:
        raw["season"] = _sample("season", structure, design, lead + (F,))
        if pooled:
            raw["season_sd"] = _half("season_sd", SEASON_SD)
            raw["season_z"] = _std("season_z", (G, F))
    if structure.n_dow:
        raw["dow"] = _sample("dow", structure, design, (structure.n_dow,))
    for site, idx in (("control", structure.free_idx), ("control_signed", structure.signed_idx),
                      ("event", structure.event_idx)):  # fmt: skip
        if not idx:
            continue
        per_geo = structure.geo_controls and site != "event"
        raw[site] = _sample(site, structure, design, (lead if per_geo else ()) + (len(idx),))
        if per_geo and pooled:
            sd = CONTROL_SD if site == "control" else CONTROL_LOG_SD
            raw[site + "_sd"] = _half(site + "_sd", sd, (len(idx),))
            raw[site + "_z"] = _std(site + "_z", (G, len(idx)))
    if structure.non_media_names:
        raw["non_media"] = _sample("non_media", structure, design,
                                   (len(structure.non_media_names),))  # fmt: skip
    for g in structure.sat_groups + structure.ad_groups:
        n = len(g.idx)
        for q in g.params:
            raw[g.site(q)] = _sample(g.site(q), structure, design, (n,))
        for q in g.geo_params:
            raw[g.site(q) + "_geo_sd"] = _half(g.site(q) + "_geo_sd", TRANSFORM_SD, (n,))
            raw[g.site(q) + "_geo_z"] = _std(g.site(q) + "_geo_z", (G, n))
    if structure.n_rf:
        for site in ("rf_hill_k", "rf_hill_s"):
            raw[site] = _sample(site, structure, design, (structure.n_rf,))
    P, n_org = structure.n_media, structure.n_organic
    if P:
        raw["effect"] = _sample("effect", structure, design, lead + (P,))
        if pooled:
            raw["effect_tau"] = _half("effect_tau", EFFECT_TAU, (P,))
            raw["effect_z"] = _std("effect_z", (G, P))
    if n_org:
        raw["organic_effect"] = _sample("organic_effect", structure, design, lead + (n_org,))
        if pooled:
            raw["organic_tau"] = _half("organic_tau", EFFECT_TAU, (n_org,))
            raw["organic_z"] = _std("organic_z", (G, n_org))
    out = forward_jit(structure)(raw, design)
    for k, v in out.items():
        if k != "mu":
            numpyro.deterministic(k, v)
    mu = out["mu"]
    sigma = _sample("sigma", structure, design, ())
    if structure.likelihood == "student_t":
        nu = _sample("nu", structure, design, ())
        obs = dist.StudentT(nu, mu, sigma)
    else:
        obs = dist.Normal(mu, sigma)
    mask = jnp.broadcast_to(design["mask"][None, :], mu.shape)
    with numpyro.handlers.mask(mask=mask):
        numpyro.sample("y", obs, obs=design["y"] if observe else None)


class GeoShareSplit(ShareSplit):
    """`ShareSplit` with a batch of geos: concentration (..., P), KPI mean (...) and the
    total's parameters (...) may carry a leading geo axis (one independent prior per geo)."""

    def __init__(self, total, concentration, kpi_mean=1.0, *, validate_args=None):
        self.total = total
        self.concentration = jnp.asarray(concentration, dtype=jnp.float32)
        self.kpi_mean = jnp.asarray(kpi_mean, dtype=jnp.float32)
        dist.Distribution.__init__(
            self,
            batch_shape=jnp.shape(self.concentration)[:-1],
            event_shape=jnp.shape(self.concentration)[-1:],
            validate_args=validate_args,
        )

    def sample(self, key, sample_shape=()):
        k_total, k_split = jax.random.split(key)
        share = self.total.sample(k_total, tuple(sample_shape))
        share = jnp.broadcast_to(share, tuple(sample_shape) + self.batch_shape)
        split = dist.Dirichlet(self.concentration).sample(k_split, tuple(sample_shape))
        return (share * self.kpi_mean)[..., None] * split


# ---- draws for the analysis ---------------------------------------------------------------------
def prior_draws(structure: GeoStructure, design: dict, n: int, key) -> dict[str, Any]:
    """``n`` draws of every latent and derived site from the prior, each with a leading axis
    of ``n``: the seeded model traced ``n`` times in one jitted ``vmap`` (the design is an
    argument). Sites that depend on others (``level_geo`` on ``level`` and ``level_sd``)
    are drawn in order within each trace, as the model states them."""
    return _prior_program(structure)(jax.random.split(key, int(n)), design)


@functools.lru_cache(maxsize=16)
def _prior_program(structure: GeoStructure):
    """`prior_draws`' program, compiled once per structure (keys and design are arguments)."""
    import numpyro.handlers as handlers

    m = functools.partial(model, structure=structure)

    def one(k, design):
        tr = handlers.trace(handlers.seed(m, k)).get_trace(design)
        return {name: site["value"] for name, site in tr.items()
                if site["type"] in ("sample", "deterministic") and name != "y"}  # fmt: skip

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def posterior_params(samples: dict[str, np.ndarray], structure: GeoStructure) -> dict:
    """The sites `components` reads, float32, draws on axis 0."""
    keep = {"intercept", "geo_trend", "geo_season", "dow", "control", "control_signed",
            "geo_control", "geo_control_signed", "event", "non_media", "beta", "beta_organic",
            "rf_hill_k", "rf_hill_s", "sigma", "nu"}  # fmt: skip
    for g in structure.sat_groups + structure.ad_groups:
        keep |= {g.site(q) for q in g.params} | {g.site(q) + "_geo" for q in g.geo_params}
    return {k: jnp.asarray(v, dtype=jnp.float32) for k, v in samples.items() if k in keep}


def batched(fn, structure: GeoStructure):
    """jit(vmap(fn)) over draws of params for a fixed structure: fn(params, design, structure)."""
    return jax.jit(jax.vmap(lambda p, d: fn(p, d, structure), in_axes=(0, None)))
