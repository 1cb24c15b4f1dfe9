"""The static structure of a model: transform groups, per-site priors, index sets.

``build_structure(spec, data, scalers) -> Structure`` is derived once from the spec and the data;
it is hashable by identity and never traced by JAX (the NumPyro model and the pure maths read
it as static configuration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mediamix.errors import SpecError
from mediamix.model import time_varying as tv
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.priors import (
    ADSTOCK_PRIORS,
    ROI_SHARE,
    SATURATION_PRIORS,
    SHARE_SPLIT,
    SUPPORT,
    Prior,
    default_priors,
    split_concentration,
)
from mediamix.model.spec import ModelSpec, uses_share_prior


@dataclass(frozen=True, eq=False)
class TransformGroup:
    """Channels sharing one transform family: the family, channel indices, site names."""

    family: str
    idx: tuple[int, ...]
    dim: str
    params: tuple[str, ...]

    def site(self, p: str) -> str:
        return f"{self.family}_{p}"


@dataclass(frozen=True, eq=False)
class Structure:
    """Static model structure derived from the spec and the data (not traced by JAX)."""

    spec: ModelSpec
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    sat_groups: tuple[TransformGroup, ...]
    ad_groups: tuple[TransformGroup, ...]
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
    # periods at the start that only condition the adstock (out of the likelihood)
    warmup: int = 0
    # time-varying effects (`mediamix.model.time_varying`): the channels' indices and drifts,
    # the baseline's drift (0: a static baseline), the walk's basis terms (0: none)
    tv_idx: tuple[int, ...] = ()
    tv_drift: tuple[float, ...] = ()
    baseline_drift: float = 0.0
    n_tv_terms: int = 0

    @property
    def tv_names(self) -> tuple[str, ...]:
        """The channels whose effect varies over time."""
        return tuple(self.channel_names[i] for i in self.tv_idx)

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
        if self.n_tv_terms:
            coords["tv_term"] = list(range(self.n_tv_terms))
        if self.tv_idx:
            coords["tv_channel"] = list(self.tv_names)
            dims[tv.CHANNEL_SITE] = ["tv_channel", "tv_term"]
        if self.baseline_drift:
            dims[tv.BASELINE_SITE] = ["tv_term"]
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


def warmup_periods(spec: ModelSpec, channel_names, freq: str) -> int:
    """Periods at the start that only condition the adstock (``adstock_warmup: exclude``):
    channel c's adstock needs the ``max_lag_c - 1`` periods before; the most over the
    channels with an adstock (0 with ``adstock_warmup: none`` or no adstock at all)."""
    if spec.adstock_warmup == "none":
        return 0
    lags = [spec.max_lag(freq, n) - 1 for n in channel_names if spec.channel_adstock(n) != "none"]
    return max(lags, default=0)


def _media_priors(
    spec: ModelSpec,
    data: ModelData,
    scalers: ModelScalers,
    window: slice,
    names: list[str],
) -> dict[str, tuple[str, dict]]:
    """The prior of the media site (``effect``, ``beta`` or ``roas``), from the spec and the
    data of the likelihood window (spend shares, the KPI's scale)."""
    C = len(names)
    additive = spec.form == "additive"
    spend = data.spend[window].sum(0)
    share = spend / spend.sum() if spend.sum() > 0 else np.full(C, 1.0 / C)
    if spec.media_prior == "roi":
        default = None
        if "roas" not in spec.priors:
            # centred on the data's own scale: ROAS = kpi_value x KPI / spend, times the share
            # of the KPI media are expected to drive
            per_spend = spec.kpi_value * data.kpi[window].sum() / max(spend.sum(), 1e-12)
            loc = float(np.log(ROI_SHARE * per_spend)) if per_spend > 0 else 0.0
            default = Prior("lognormal", {**spec.prior("roas").params, "loc": loc})
        return {"roas": _channel_prior(spec, "roas", names, default)}
    site = "effect" if additive else "beta"
    own = np.array([f"{site}.{n}" in spec.priors for n in names])
    kpi_mean = float(np.mean(scalers.kpi.transform(data.kpi[window])))
    if uses_share_prior(spec) and "effect" not in spec.priors and not own.any():
        total = spec.prior("media_share")
        if SUPPORT[total.dist] != "positive":
            raise SpecError(
                "priors.media_share: the total media share needs a distribution on positive "
                f"numbers (gamma, lognormal, half_normal, ...); got '{total.dist}'"
            )
        params = {
            "total": (total.dist, {k: np.float32(v) for k, v in total.params.items()}),
            "concentration": split_concentration(spend),
            "kpi_mean": np.float32(kpi_mean),
        }
        return {"effect": (SHARE_SPLIT, params)}
    d, params = _channel_prior(spec, site, names)
    if spec.media_prior == "cost_proportional":
        factor = np.maximum(C * share, 1e-3).astype(np.float32)
        if d == "lognormal":
            params["loc"] = np.where(own, params["loc"], params["loc"] + np.log(factor))
        elif "scale" in params:
            params["scale"] = np.where(own, params["scale"], params["scale"] * factor)
        else:
            raise SpecError(
                f"media_prior 'cost_proportional' needs a '{site}' prior with a scale "
                f"(half_normal, normal, lognormal, ...); got '{d}'"
            )
    elif uses_share_prior(spec) and "effect" not in spec.priors and d == "half_normal":
        # per-channel priors on some channels: the others get half-normals scaled by spend
        # share, their sum's mean is the media_share prior's mean share of the KPI
        mean_share = prior_mean(spec.prior("media_share"), ROI_SHARE)
        scale = mean_share * kpi_mean * share * np.sqrt(np.pi / 2)
        params["scale"] = np.where(own, params["scale"], np.maximum(scale, 1e-4))
    return {site: (d, {k: np.asarray(v, np.float32) for k, v in params.items()})}


def prior_mean(prior: Prior, fallback: float) -> float:
    """The mean of a prior (``fallback`` where it has none, e.g. half-Cauchy)."""
    from mediamix.model.priors import to_numpyro

    try:
        m = float(to_numpyro(prior.dist, prior.params).mean)
    except NotImplementedError:
        return fallback
    return m if np.isfinite(m) else fallback


def build_structure(
    spec: ModelSpec, data: ModelData, scalers: ModelScalers, n_train: int | None = None
) -> Structure:
    """The static structure for ``spec`` on ``data``; ``n_train``: the training periods (all
    when None; the hold-out after them) -- the priors read the likelihood window's spend and
    KPI (see `likelihood_window`)."""
    # lags longer than the data are refused; the rows-per-parameter rule is `check`'s and the
    # CLI's (a fit from Python may run on short data on purpose)
    spec.validate_for(
        data.channel_names,
        data.control_names,
        data.freq,
        n_periods=data.n_periods,
        rows_rule=False,
    )
    names = list(data.channel_names)
    C = len(names)
    warmup = warmup_periods(spec, names, data.freq)
    n_train = data.n_periods if n_train is None else int(n_train)
    window = slice(min(warmup, max(n_train - 1, 0)), n_train)
    additive = spec.form == "additive"
    # transform groups
    sat_groups: list[TransformGroup] = []
    ad_groups: list[TransformGroup] = []
    if additive:
        fams: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            fams.setdefault(spec.channel_saturation(n), []).append(i)
        for f, idx in fams.items():
            dim = "channel" if len(fams) == 1 else f"channel_{f}"
            sat_groups.append(TransformGroup(f, tuple(idx), dim, tuple(SATURATION_PRIORS[f])))
    afams: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        a = spec.channel_adstock(n)
        if a != "none":
            afams.setdefault(a, []).append(i)
    for f, idx in afams.items():
        dim = "channel" if len(afams) == 1 and len(idx) == C else f"channel_{f}"
        ad_groups.append(TransformGroup(f, tuple(idx), dim, tuple(ADSTOCK_PRIORS[f])))
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
    priors.update(_media_priors(spec, data, scalers, window, names))
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
        if SUPPORT[priors["control_signed"][0]] != "positive":
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
    return Structure(
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
        warmup=warmup,
        **_time_varying(spec, names),
    )


def _time_varying(spec: ModelSpec, names: list[str]) -> dict:
    """The time-varying fields of `Structure` for ``spec`` on these channels."""
    tv_names = spec.time_varying_channels(names)
    base = spec.baseline_time_varying
    return {
        "tv_idx": tuple(names.index(n) for n in tv_names),
        "tv_drift": tuple(spec.drift(n) for n in tv_names),
        "baseline_drift": spec.drift(tv.BASELINE) if base else 0.0,
        "n_tv_terms": tv.N_TERMS if (tv_names or base) else 0,
    }
