"""The NumPyro media mix model: data in model units, the model function, and `MMM`.

Flow: ``ModelData`` (original units, from a `Dataset` or arrays) -> scalers fitted on the
training periods -> a *design* (dict of float32 arrays in model units) and a static *plan*
(families, channel groups, priors) -> ``model(design, plan)`` for NumPyro, and the pure
``components(params, design, plan)`` that the analysis evaluates on posterior draws.

Named dimensions: media arrays are ``(time, channel)``; per-channel parameters are
``(channel,)`` (or ``(channel_<family>,)`` when channels use different transform families).
A geo axis would lead the arrays as ``(geo, time, channel)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

import mediamix.inference.nuts  # noqa: F401  (asks JAX for one device per core first)
from mediamix.data.scaling import Scaler
from mediamix.errors import DataError, SpecError
from mediamix.model.priors import (
    ADSTOCK_PRIORS,
    SATURATION_PRIORS,
    coefficient_name,
    default_priors,
    to_numpyro,
)
from mediamix.model.spec import ModelSpec
from mediamix.transforms.adstock import apply_weights, get_adstock
from mediamix.transforms.saturation import get_saturation

YEAR_DAYS = 365.25


# ----------------------------------------------------------------------------------------
# Data in original units
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ModelData:
    """What the model needs from a dataset, in original units (time on axis 0)."""

    dates: np.ndarray  # datetime64[ns], (T,)
    kpi: np.ndarray  # (T,)
    spend: np.ndarray  # (T, C)
    media: np.ndarray  # (T, C) activity, or spend
    controls: np.ndarray  # (T, K)
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    cost_per_unit: np.ndarray  # (C,) spend per unit of media
    freq: str = "W"

    @classmethod
    def from_dataset(cls, ds: Any) -> ModelData:
        """From a `mediamix.data.Dataset` (or anything with the same attributes)."""
        if isinstance(ds, ModelData):
            return ds
        if getattr(ds, "geos", None):
            raise DataError(
                "geo-level data is not fitted yet: aggregate the rows to national totals "
                "(one row per period) or drop the geo column"
            )
        spend = np.asarray(ds.spend, dtype=float)
        media = np.asarray(ds.media, dtype=float)
        cpu = np.asarray(ds.cost_per_unit, dtype=float)
        cpu = np.where(np.isfinite(cpu) & (cpu > 0), cpu, 1.0)
        return cls(
            dates=np.asarray(ds.dates, dtype="datetime64[ns]"),
            kpi=np.asarray(ds.kpi_values, dtype=float),
            spend=spend,
            media=media,
            controls=np.asarray(ds.control_values, dtype=float).reshape(len(spend), -1),
            channel_names=tuple(ds.channel_names),
            control_names=tuple(ds.control_names),
            cost_per_unit=cpu,
            freq=str(ds.freq)[:1].upper(),
        )

    @classmethod
    def from_arrays(
        cls,
        kpi,
        spend,
        media=None,
        controls=None,
        dates=None,
        channel_names=None,
        control_names=None,
        freq: str = "W",
    ) -> ModelData:
        """From plain arrays (weekly dates starting 2020-01-06 unless given)."""
        spend = np.asarray(spend, dtype=float)
        T, C = spend.shape
        media = spend if media is None else np.asarray(media, dtype=float)
        controls = np.zeros((T, 0)) if controls is None else np.asarray(controls, float)
        controls = controls.reshape(T, -1)
        if dates is None:
            step = {"W": 7, "D": 1}.get(freq, 30)
            dates = np.datetime64("2020-01-06") + np.arange(T) * np.timedelta64(step, "D")
        names = tuple(channel_names or [f"channel_{i}" for i in range(C)])
        cnames = tuple(control_names or [f"control_{i}" for i in range(controls.shape[1])])
        msum = media.sum(0)
        cpu = np.where(msum > 0, spend.sum(0) / np.where(msum > 0, msum, 1.0), 1.0)
        return cls(
            np.asarray(dates, dtype="datetime64[ns]"),
            np.asarray(kpi, dtype=float),
            spend,
            media,
            controls,
            names,
            cnames,
            cpu,
            freq,
        )

    @property
    def n_periods(self) -> int:
        return int(self.kpi.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "dates": self.dates.astype("datetime64[ns]").astype(np.int64),
            "kpi": self.kpi,
            "spend": self.spend,
            "media": self.media,
            "controls": self.controls,
            "cost_per_unit": self.cost_per_unit,
        }

    def meta(self) -> dict[str, Any]:
        return {
            "channel_names": list(self.channel_names),
            "control_names": list(self.control_names),
            "freq": self.freq,
        }

    @classmethod
    def from_saved(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ModelData:
        return cls(
            np.asarray(arrays["dates"]).astype("datetime64[ns]"),
            np.asarray(arrays["kpi"]),
            np.asarray(arrays["spend"]),
            np.asarray(arrays["media"]),
            np.asarray(arrays["controls"]).reshape(len(arrays["kpi"]), -1),
            tuple(meta["channel_names"]),
            tuple(meta["control_names"]),
            np.asarray(arrays["cost_per_unit"]),
            meta["freq"],
        )


@dataclass(frozen=True, eq=False)
class ModelScalers:
    """KPI, media and control scalers, fitted on the training periods."""

    kpi: Scaler
    media: Scaler
    controls: Scaler

    @classmethod
    def fit(cls, data: ModelData, spec: ModelSpec, n_train: int) -> ModelScalers:
        kpi = Scaler.fit(data.kpi[:n_train], "mean")
        media = Scaler.fit(data.media[:n_train], "mean_nonzero")
        ctrl = Scaler.fit(data.controls[:n_train], "standard")
        if data.controls.shape[1]:
            ev = np.isin(np.asarray(data.control_names), list(spec.events))
            loc = np.where(ev, 0.0, ctrl.loc)
            scale = np.where(ev, 1.0, ctrl.scale)
            ctrl = Scaler("standard", loc, scale)
        return cls(kpi, media, ctrl)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).to_dict() for k in ("kpi", "media", "controls")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelScalers:
        return cls(*(Scaler.from_dict(d[k]) for k in ("kpi", "media", "controls")))

    @property
    def kpi_scale(self) -> float:
        return float(np.asarray(self.kpi.scale).reshape(-1)[0])

    @property
    def media_scale(self) -> np.ndarray:
        return np.asarray(self.media.scale, dtype=float).reshape(-1)


# ----------------------------------------------------------------------------------------
# Plan: the static structure of the model
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Group:
    """Channels sharing one transform family: the family, channel indices, site names."""

    family: str
    idx: tuple[int, ...]
    dim: str
    params: tuple[str, ...]

    def site(self, p: str) -> str:
        return f"{self.family}_{p}"


@dataclass(frozen=True, eq=False)
class Plan:
    """Static model structure derived from the spec and the data (not traced by JAX)."""

    spec: ModelSpec
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    sat_groups: tuple[Group, ...]
    ad_groups: tuple[Group, ...]
    max_lag: int
    lags: tuple[int, ...]  # per channel
    free_idx: tuple[int, ...]
    signed_idx: tuple[int, ...]
    signs: tuple[float, ...]
    event_idx: tuple[int, ...]
    n_fourier: int
    n_dow: int
    n_changepoints: int
    log_offset: float
    priors: dict[str, tuple[str, dict[str, np.ndarray]]] = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def additive(self) -> bool:
        return self.spec.form == "additive"

    def dims(self) -> tuple[dict[str, list[str]], dict[str, list]]:
        """ArviZ dims per site and coords."""
        coords: dict[str, list] = {"channel": list(self.channel_names)}
        dims: dict[str, list[str]] = {"beta": ["channel"]}
        if self.spec.media_prior == "roi":
            dims["roas"] = ["channel"]
        elif self.additive:
            dims["effect"] = ["channel"]
        for g in self.sat_groups + self.ad_groups:
            coords[g.dim] = [self.channel_names[i] for i in g.idx]
            for p in g.params:
                dims[g.site(p)] = [g.dim]
        ctrl = np.asarray(self.control_names)
        if self.free_idx:
            coords["control_free"] = list(ctrl[list(self.free_idx)])
            dims["control"] = ["control_free"]
        if self.signed_idx:
            coords["signed_control"] = list(ctrl[list(self.signed_idx)])
            dims["control_signed"] = ["signed_control"]
        if self.event_idx:
            coords["event_name"] = list(ctrl[list(self.event_idx)])
            dims["event"] = ["event_name"]
        if self.n_fourier:
            coords["fourier"] = [
                f"{f}{k}" for k in range(1, self.n_fourier // 2 + 1) for f in ("sin", "cos")
            ]
            dims["season"] = ["fourier"]
        if self.n_dow:
            coords["weekday"] = ["tue", "wed", "thu", "fri", "sat", "sun"]
            dims["dow"] = ["weekday"]
        if self.n_changepoints:
            coords["changepoint"] = list(range(self.n_changepoints))
            dims["trend_delta"] = ["changepoint"]
        return dims, coords


def _channel_prior(spec: ModelSpec, site: str, names: list[str], default=None):
    """Per-channel prior params for a site: (dist, {param: (C_g,) array})."""
    base = default or spec.prior(site)
    per = [spec.priors.get(f"{site}.{n}", base) for n in names]
    fams = {p.dist for p in per}
    if len(fams) > 1:
        raise SpecError(
            f"priors for '{site}' of channels {names} use different distributions "
            f"({sorted(fams)}); per-channel priors of one parameter must share a distribution"
        )
    d = per[0].dist
    return d, {k: np.array([p.params[k] for p in per], dtype=np.float32) for k in per[0].params}


def build_plan(spec: ModelSpec, data: ModelData, scalers: ModelScalers) -> Plan:
    spec.validate_for(data.channel_names, data.control_names)
    names = list(data.channel_names)
    C = len(names)
    additive = spec.form == "additive"
    # transform groups
    sat_groups: list[Group] = []
    ad_groups: list[Group] = []
    if additive:
        fams: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            fams.setdefault(spec.channel_saturation(n), []).append(i)
        for f, idx in fams.items():
            dim = "channel" if len(fams) == 1 else f"channel_{f}"
            sat_groups.append(Group(f, tuple(idx), dim, tuple(SATURATION_PRIORS[f])))
    afams: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        a = spec.channel_adstock(n)
        if a != "none":
            afams.setdefault(a, []).append(i)
    for f, idx in afams.items():
        dim = "channel" if len(afams) == 1 and len(idx) == C else f"channel_{f}"
        ad_groups.append(Group(f, tuple(idx), dim, tuple(ADSTOCK_PRIORS[f])))
    lags = tuple(spec.max_lag(data.freq, n) for n in names)
    # priors
    priors: dict[str, tuple[str, dict[str, np.ndarray]]] = {}
    fd = default_priors(spec.form)
    for site in ("intercept", "trend", "sigma", "nu"):
        p = spec.prior(site, fd)
        priors[site] = (p.dist, {k: np.float32(v) for k, v in p.params.items()})
    for g in sat_groups + ad_groups:
        gnames = [names[i] for i in g.idx]
        for p in g.params:
            priors[g.site(p)] = _channel_prior(spec, g.site(p), gnames)
    media_site = "beta" if not additive else "effect"
    if spec.media_prior == "roi":
        priors["roas"] = _channel_prior(spec, "roas", names)
    else:
        d, params = _channel_prior(spec, media_site, names)
        if spec.media_prior == "cost_proportional":
            share = data.spend.sum(0) / max(data.spend.sum(), 1e-12)
            factor = np.maximum(C * share, 1e-3).astype(np.float32)
            own = np.array([f"{media_site}.{n}" in spec.priors for n in names])
            if d == "lognormal":
                params["loc"] = np.where(own, params["loc"], params["loc"] + np.log(factor))
            elif "scale" in params:
                params["scale"] = np.where(own, params["scale"], params["scale"] * factor)
            else:
                raise SpecError(
                    f"media_prior 'cost_proportional' needs a '{media_site}' prior with a scale "
                    f"(half_normal, normal, lognormal, ...); got '{d}'"
                )
            params = {k: np.asarray(v, np.float32) for k, v in params.items()}
        priors[media_site] = (d, params)
    # controls
    cn = list(data.control_names)
    ev = [i for i, c in enumerate(cn) if c in spec.events]
    signed = [
        i for i, c in enumerate(cn) if i not in ev and spec.control_signs.get(c, "free") != "free"
    ]
    free = [i for i, c in enumerate(cn) if i not in ev and i not in signed]
    signs = tuple(1.0 if spec.control_signs[cn[i]] == "positive" else -1.0 for i in signed)
    if free:
        priors["control"] = _channel_prior(spec, "control", [cn[i] for i in free])
    if signed:
        priors["control_signed"] = _channel_prior(spec, "control_signed", [cn[i] for i in signed])
        if priors["control_signed"][0] not in ("half_normal", "lognormal", "gamma", "exponential",
                                                "half_cauchy", "truncated_normal"):  # fmt: skip
            raise SpecError(
                "priors.control_signed: a signed control needs a positive distribution "
                f"(half_normal, lognormal, gamma, ...); got '{priors['control_signed'][0]}'"
            )
    if ev:
        priors["event"] = _channel_prior(spec, "event", [cn[i] for i in ev])
    n_fourier = 2 * spec.seasonality(data.freq)
    n_dow = 6 if spec.use_day_of_week(data.freq) else 0
    n_cp = spec.trend_changepoints if spec.trend == "piecewise" else 0
    if n_fourier:
        priors["season"] = _channel_prior(spec, "season", [str(i) for i in range(n_fourier)])
    if n_dow:
        priors["dow"] = _channel_prior(spec, "dow", [str(i) for i in range(n_dow)])
    if n_cp:
        priors["trend_delta"] = _channel_prior(spec, "trend_delta", [str(i) for i in range(n_cp)])
    offset = spec.log_offset
    if offset is None:
        offset = 0.0 if bool(np.all(data.media > 0)) else 1.0
    if not additive and offset == 0 and not np.all(data.media > 0):
        raise SpecError(
            "log_offset 0 needs media > 0 in every period (log of zero); set log_offset: 1"
        )
    return Plan(
        spec=spec,
        channel_names=tuple(names),
        control_names=tuple(cn),
        sat_groups=tuple(sat_groups),
        ad_groups=tuple(ad_groups),
        max_lag=max(lags),
        lags=lags,
        free_idx=tuple(free),
        signed_idx=tuple(signed),
        signs=signs,
        event_idx=tuple(ev),
        n_fourier=n_fourier,
        n_dow=n_dow,
        n_changepoints=n_cp,
        log_offset=float(offset),
        priors=priors,
    )


# ----------------------------------------------------------------------------------------
# Design: arrays in model units
# ----------------------------------------------------------------------------------------
def build_design(
    data: ModelData,
    scalers: ModelScalers,
    plan: Plan,
    n_train: int,
    media: np.ndarray | None = None,
) -> dict[str, jnp.ndarray]:
    """Float32 arrays the model reads. ``media`` replaces the data's media (what-if)."""
    T = data.n_periods
    f32 = np.float32
    m = data.media if media is None else np.asarray(media, dtype=float)
    days = (data.dates - data.dates[0]).astype("timedelta64[D]").astype(float)
    t = np.arange(T, dtype=float) / max(n_train - 1, 1)
    d: dict[str, Any] = {
        "media": scalers.media.transform(m).astype(f32),
        # trend time centred on the training window: the intercept is the mid-window level,
        # uncorrelated with the slope (a ridge NUTS otherwise has to crawl along)
        "t": (t - 0.5).astype(f32),
        "y": scalers.kpi.transform(data.kpi).astype(f32),
        "mask": (np.arange(T) < n_train),
    }
    ctrl = scalers.controls.transform(data.controls) if data.controls.shape[1] else data.controls
    d["controls_free"] = ctrl[:, list(plan.free_idx)].astype(f32)
    d["controls_signed"] = ctrl[:, list(plan.signed_idx)].astype(f32)
    d["events"] = ctrl[:, list(plan.event_idx)].astype(f32)
    k = np.arange(1, plan.n_fourier // 2 + 1)
    ang = 2 * np.pi * days[:, None] * k[None, :] / YEAR_DAYS
    four = np.stack([np.sin(ang), np.cos(ang)], axis=-1).reshape(T, -1)
    d["fourier"] = four.astype(f32)
    wd = (data.dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    dow = np.stack([(wd == j) for j in range(1, 7)], axis=-1).astype(f32)
    d["dow"] = dow[:, : plan.n_dow]
    cps = np.arange(1, plan.n_changepoints + 1) / (plan.n_changepoints + 1)
    d["cp_basis"] = np.maximum(t[:, None] - cps[None, :], 0.0).astype(f32)
    d["media_ref"] = d["media"][:n_train].mean(0).astype(f32)
    spend_train = data.spend[:n_train].sum(0)
    d["roi_factor"] = (spend_train / (plan.spec.kpi_value * scalers.kpi_scale)).astype(f32)
    if not plan.additive and np.any(data.kpi[:n_train] <= 0):
        bad = int(np.nonzero(data.kpi[:n_train] <= 0)[0][0])
        raise DataError(
            f"the multiplicative form models log KPI, but the KPI is {data.kpi[bad]} in row "
            f"{bad}; use form: additive or remove non-positive KPI periods"
        )
    return {k: jnp.asarray(v) for k, v in d.items()}


# ----------------------------------------------------------------------------------------
# The maths (pure) and the model (effects)
# ----------------------------------------------------------------------------------------
def adstock_weights(params: dict, plan: Plan) -> jnp.ndarray:
    """Lag weights (..., C, L) for every channel; channels without adstock get w = [1, 0, ...]."""
    L = plan.max_lag
    C = plan.n_channels
    lead = jnp.shape(params["beta"])[:-1]
    w = jnp.zeros(lead + (C, L), dtype=jnp.float32).at[..., 0].set(1.0)
    for g in plan.ad_groups:
        fam = get_adstock(g.family)
        kw = {p: params[g.site(p)] for p in g.params}
        if g.family == "geometric":
            kw["normalize"] = plan.spec.adstock_normalize
        wg = fam.weights(L=L, **kw).astype(jnp.float32)
        lagmask = np.array([[lag < plan.lags[i] for lag in range(L)] for i in g.idx], np.float32)
        if not lagmask.all():
            wg = wg * lagmask
            if g.family == "geometric" and plan.spec.adstock_normalize:
                wg = wg / wg.sum(-1, keepdims=True)
        if g.idx == tuple(range(C)):
            return wg
        w = w.at[..., list(g.idx), :].set(wg)
    return w


def saturate(x: jnp.ndarray, params: dict, plan: Plan) -> jnp.ndarray:
    """Saturation with unit coefficient per channel: (T, C) -> (T, C)."""
    out = jnp.zeros_like(x)
    for g in plan.sat_groups:
        fam = get_saturation(g.family)
        kw = {p: params[g.site(p)] for p in g.params}
        kw[coefficient_name(g.family)] = 1.0
        if g.idx == tuple(range(x.shape[-1])):
            return fam.fn(x, **kw)
        out = out.at[..., list(g.idx)].set(fam.fn(x[..., list(g.idx)], **kw))
    return out


def media_inputs(params: dict, design: dict, plan: Plan) -> jnp.ndarray:
    """Per-channel unit-coefficient media response (T, C) before multiplying by beta."""
    x = apply_weights(design["media"], adstock_weights(params, plan))
    if plan.additive:
        return saturate(x, params, plan)
    return jnp.log(x + plan.log_offset)


def baseline(params: dict, design: dict, plan: Plan) -> jnp.ndarray:
    """Everything but media, (T,): intercept, trend, seasonality, weekday, events, controls."""
    b = params["intercept"] + jnp.zeros_like(design["t"])
    if plan.spec.trend != "none":
        b = b + params["trend"] * design["t"]
    if plan.n_changepoints:
        b = b + design["cp_basis"] @ params["trend_delta"]
    if plan.n_fourier:
        b = b + design["fourier"] @ params["season"]
    if plan.n_dow:
        b = b + design["dow"] @ params["dow"]
    if plan.event_idx:
        b = b + design["events"] @ params["event"]
    if plan.free_idx:
        b = b + design["controls_free"] @ params["control"]
    if plan.signed_idx:
        b = b + design["controls_signed"] @ (params["control_signed"] * jnp.asarray(plan.signs))
    return b


def components(params: dict, design: dict, plan: Plan) -> dict[str, jnp.ndarray]:
    """Location of the KPI in model units: ``mu = baseline + sum_c media_c``.

    Additive: media_c = beta_c * Sat_c(Adstock_c(x_c)) on scaled KPI. Multiplicative: the same
    on log scaled KPI with media_c = beta_c * log(Adstock_c(x_c) + offset).
    """
    base = baseline(params, design, plan)
    media = params["beta"] * media_inputs(params, design, plan)
    return {"baseline": base, "media": media, "mu": base + media.sum(-1)}


def _sample(name: str, plan: Plan, n: int | None = None, site: str | None = None):
    d, p = plan.priors[name]
    fn = to_numpyro(d, p)
    if n is not None and fn.batch_shape == ():
        fn = fn.expand((n,))
    if n is not None:
        fn = fn.to_event(1)
    return numpyro.sample(site or name, fn)


def forward(raw: dict, design: dict, plan: Plan) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """From sampled sites to (beta (C,), mu (T,), intercept ()), for every parametrisation.

    ``roi``: ROAS_c = kpi_value * kpi_scale * beta_c * sum_t unit_tc / spend_c, solved for
    beta_c. Additive default: the sampled ``effect_c`` is the channel's average contribution
    per training period, beta_c = effect_c / mean_t Sat_c(Adstock_c(x_c))_t. That average is
    what the data pin down (ROAS is proportional to it), so the amplitude no longer trades off
    against the shape of Sat and adstock (a curved ridge, and divergences, when it was tied to
    one reference input). Multiplicative: beta sampled.
    """
    params = dict(raw)
    C = plan.n_channels
    if plan.spec.media_prior == "roi":
        params["beta"] = jnp.ones(C, dtype=jnp.float32)
        unit = media_inputs(params, design, plan)
        total = jnp.sum(jnp.where(design["mask"][:, None], unit, 0.0), axis=0)
        beta = raw["roas"] * design["roi_factor"] / (total + 1e-6)
    elif plan.additive:
        params["beta"] = jnp.ones(C, dtype=jnp.float32)
        unit = media_inputs(params, design, plan)
        mask = design["mask"][:, None]
        mean_unit = jnp.sum(jnp.where(mask, unit, 0.0), axis=0) / jnp.sum(mask)
        beta = raw["effect"] / (mean_unit + 1e-6)
    else:
        beta = raw["beta"]
        unit = media_inputs(params, design, plan)
    mu = baseline({**params, "intercept": 0.0}, design, plan) + (beta * unit).sum(-1)
    # the sampled ``level`` is the mean location over the training periods; the intercept is
    # what is left of it (sampling the intercept itself leaves a ridge with every channel
    # whose contribution is near constant over time)
    mask = design["mask"]
    intercept = raw["level"] - jnp.sum(jnp.where(mask, mu, 0.0)) / jnp.sum(mask)
    return beta, mu + intercept, intercept


@functools.lru_cache(maxsize=32)
def _forward_jit(plan: Plan):
    return jax.jit(lambda raw, design: forward(raw, design, plan))


def model(design: dict, plan: Plan, observe: bool = True) -> None:
    """The NumPyro model (all arrays in model units; see :func:`components`)."""
    # the 'intercept' prior applies to the level: the mean of the KPI's location (model units)
    params: dict[str, Any] = {"level": _sample("intercept", plan, site="level")}
    if plan.spec.trend != "none":
        params["trend"] = _sample("trend", plan)
    if plan.n_changepoints:
        params["trend_delta"] = _sample("trend_delta", plan, plan.n_changepoints)
    if plan.n_fourier:
        params["season"] = _sample("season", plan, plan.n_fourier)
    if plan.n_dow:
        params["dow"] = _sample("dow", plan, plan.n_dow)
    if plan.event_idx:
        params["event"] = _sample("event", plan, len(plan.event_idx))
    if plan.free_idx:
        params["control"] = _sample("control", plan, len(plan.free_idx))
    if plan.signed_idx:
        params["control_signed"] = _sample("control_signed", plan, len(plan.signed_idx))
    for g in plan.ad_groups + plan.sat_groups:
        for p in g.params:
            params[g.site(p)] = _sample(g.site(p), plan, len(g.idx))
    C = plan.n_channels
    if plan.spec.media_prior == "roi":
        params["roas"] = _sample("roas", plan, C)
    else:
        site = "effect" if plan.additive else "beta"
        params[site] = _sample(site, plan, C)
    # one jitted call for the maths: fast first (eager) trace, inlined under MCMC's jit
    beta, mu, intercept = _forward_jit(plan)(params, design)
    numpyro.deterministic("intercept", intercept)
    if plan.additive:
        numpyro.deterministic("beta", beta)
    sigma = _sample("sigma", plan)
    lik = plan.spec.likelihood
    if lik == "student_t":
        nu = _sample("nu", plan)
        obs_dist = dist.StudentT(nu, mu, sigma)
    elif lik == "lognormal":
        obs_dist = dist.LogNormal(mu, sigma)
    else:
        obs_dist = dist.Normal(mu, sigma)
    with numpyro.handlers.mask(mask=design["mask"]):
        numpyro.sample("y", obs_dist, obs=design["y"] if observe else None)


def posterior_params(samples: dict[str, np.ndarray], plan: Plan) -> dict[str, jnp.ndarray]:
    """The sites :func:`components` needs, as float32 arrays with draws on axis 0."""
    keep = {"intercept", "trend", "trend_delta", "season", "dow", "event", "control",
            "control_signed", "beta", "sigma", "nu"}  # fmt: skip
    for g in plan.sat_groups + plan.ad_groups:
        keep |= {g.site(p) for p in g.params}
    return {k: jnp.asarray(v, dtype=jnp.float32) for k, v in samples.items() if k in keep}


def batched(fn, plan: Plan):
    """jit(vmap(fn)) over draws of params for a fixed plan: fn(params, design, plan)."""
    return jax.jit(jax.vmap(lambda p, d: fn(p, d, plan), in_axes=(0, None)))


# ----------------------------------------------------------------------------------------
# The estimator
# ----------------------------------------------------------------------------------------
class MMM:
    """``MMM(spec).fit(dataset, method="nuts" | "svi" | "map")`` -> `FittedModel`."""

    def __init__(self, spec: ModelSpec | dict | None = None, **settings: Any) -> None:
        if spec is None:
            spec = ModelSpec(**settings)
        elif isinstance(spec, dict):
            spec = ModelSpec.from_dict({**spec, **settings})
        elif settings:
            spec = spec.replace(**settings)
        self.spec = spec

    def prepare(self, dataset: Any, holdout: int = 0):
        data = ModelData.from_dataset(dataset)
        T = data.n_periods
        if not isinstance(holdout, int) or holdout < 0 or holdout > T - 10:
            raise SpecError(
                f"holdout must be an integer between 0 and {T - 10} (periods kept out of the "
                f"fit, at the end); got {holdout!r}"
            )
        n_train = T - holdout
        scalers = ModelScalers.fit(data, self.spec, n_train)
        plan = build_plan(self.spec, data, scalers)
        design = build_design(data, scalers, plan, n_train)
        return data, scalers, plan, design, n_train

    def fit(
        self,
        dataset: Any,
        method: str = "nuts",
        *,
        chains: int = 4,
        draws: int = 1000,
        warmup: int = 1000,
        seed: int = 0,
        holdout: int = 0,
        progress: bool = False,
        target_accept: float = 0.85,
        dense_mass: bool = False,
        steps: int = 3000,
        learning_rate: float = 0.02,
        guide: str = "normal",
        warn: bool = True,
    ):
        """Fit and return a `FittedModel` (with diagnostics computed and warnings issued).

        NUTS: ``chains`` x ``draws`` after ``warmup`` (chains in parallel where JAX has
        devices); ``target_accept`` and ``dense_mass`` (full mass matrix) for hard
        posteriors. SVI: ``steps`` of Adam at ``learning_rate`` with ``guide`` 'normal'
        (mean field) or 'lowrank'; ``draws`` from the guide. MAP: point estimate.
        """
        import time

        from mediamix.inference.fitted import FittedModel

        if method not in ("nuts", "svi", "map"):
            raise SpecError(f"method must be 'nuts', 'svi' or 'map' (got {method!r})")
        data, scalers, plan, design, n_train = self.prepare(dataset, holdout)
        t0 = time.perf_counter()
        if method == "nuts":
            from mediamix.inference.nuts import run_nuts

            res = run_nuts(
                model, design, plan, chains=chains, draws=draws, warmup=warmup, seed=seed,
                progress=progress, target_accept=target_accept, dense_mass=dense_mass,
            )  # fmt: skip
        elif method == "svi":
            from mediamix.inference.svi import run_svi

            res = run_svi(
                model, design, plan, steps=steps, draws=draws, seed=seed, progress=progress,
                learning_rate=learning_rate, guide=guide,
            )  # fmt: skip
        else:
            from mediamix.inference.map import run_map

            res = run_map(
                model, design, plan, steps=steps, seed=seed, progress=progress,
                learning_rate=learning_rate,
            )  # fmt: skip
        fit_seconds = time.perf_counter() - t0
        return FittedModel.from_result(
            res, self.spec, data, scalers, n_train, method, fit_seconds, warn=warn
        )
