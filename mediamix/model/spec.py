"""ModelSpec: everything that defines a media mix model, frozen and serialisable.

Loaded from Python keyword arguments, a dict, or YAML (top-level keys, or a ``model:``
section beside a ``data:`` section). Every problem is reported as a :class:`SpecError` that
names the key and the fix. ``init_config_text()`` is the commented YAML written by
``mediamix init-config``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mediamix.data.config import DataConfig, data_section, unknown_keys
from mediamix.errors import SpecError, did_you_mean
from mediamix.model.priors import (
    ADSTOCK_PRIORS,
    SATURATION_PRIORS,
    Prior,
    default_priors,
)
from mediamix.model.time_varying import ALL, BASELINE, DEFAULT_DRIFT, MAX_DRIFT
from mediamix.transforms.adstock import ADSTOCKS
from mediamix.transforms.saturation import SATURATIONS

FORMS = ("additive", "multiplicative")
LIKELIHOODS = ("normal", "student_t", "lognormal")
TRENDS = ("none", "linear", "piecewise")
MEDIA_PRIORS = ("default", "cost_proportional", "roi")
ADSTOCK_WARMUPS = ("exclude", "none")
GEO_POOLINGS = ("partial", "none")
GEO_TRANSFORMS = ("shared", "per_geo")
GEO_CONTROLS = ("shared", "per_geo")
SIGNS = ("free", "positive", "negative")
ADSTOCK_CHOICES = tuple(ADSTOCKS) + ("none",)
MODEL_SATURATIONS = tuple(s for s in SATURATIONS if s != "table")
DEFAULT_MAX_LAG = {"D": 14, "W": 8, "M": 3}
# Size limits, checked when the spec is built (before any data is read or array allocated):
# a lag of more than a year of daily periods, more trend change points than any series
# supports, or a yearly Fourier order at or above half the periods of a year (the terms
# alias: for weekly data order 26 is the last distinct one) is a typing mistake.
MAX_ADSTOCK_LAG = 366
MAX_CHANGEPOINTS = 200
PERIODS_PER_YEAR = {"D": 365.25, "W": 365.25 / 7, "M": 12.0}


def max_seasonality_order(freq: str | None = None) -> int:
    """The largest yearly Fourier order for data of ``freq`` (the largest over every
    frequency when None): the highest order below half the periods of a year (Nyquist), 182
    for daily, 26 for weekly and 5 for monthly data."""
    per_year = PERIODS_PER_YEAR.get(freq or "", max(PERIODS_PER_YEAR.values()))
    return math.ceil(per_year / 2) - 1


@dataclass(frozen=True)
class ChannelTransform:
    """The adstock and saturation of one channel (``None`` = the model's default)."""

    adstock: str | None = None
    saturation: str | None = None
    max_lag: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """The model: form, transforms, baseline terms, likelihood and priors.

    Additive:        y_t = intercept + trend_t + season_t + dow_t + events_t
                           + sum_c gamma_c z_tc + sum_m beta_m Sat_m(Adstock_m(x_m))_t + eps_t
    Multiplicative:  log y_t = intercept + trend_t + ... + sum_m beta_m log(Adstock_m(x_m)_t
                           + offset) + eps_t   (Cobb-Douglas: beta_m is the elasticity)

    All on scaled data (KPI / its mean, media / its mean per channel, controls standardised).

    ``adstock_warmup``: ``exclude`` (default) lets the first periods of the data only
    condition the adstock: channel c's adstock at period t needs its spend of the
    ``max_lag_c - 1`` periods before t, so the first ``W = max_c (max_lag_c - 1)`` periods
    (over the channels with an adstock; 7 for weekly data at the default 8 lags) are left out
    of the likelihood, and every period the likelihood and the window metrics (ROAS,
    contributions, mROAS) use has its channels' full adstock history from the data. A channel
    with a shorter lag or no adstock is complete sooner, but the window is one for all
    channels. ``none``: every period is in the likelihood and the adstock starts from zero
    media before the first row -- right only for data that truly start from no media.

    ``media_prior``: ``default`` -- additive: a prior on the total media share of the KPI
    (site ``media_share``) split over the channels in proportion to spend (a Dirichlet);
    setting a prior on ``effect`` or ``effect.<channel>`` replaces it with independent
    per-channel priors (the channels without their own get half-normal priors scaled by their
    spend share, so the media total keeps the mean the share prior gives it); multiplicative:
    ``beta`` per channel. ``cost_proportional``: independent per-channel ``effect`` priors
    whose scale grows with the channel's spend share (the total grows with the number of
    channels). ``roi``: a prior on each channel's ROAS (site ``roas``), by default centred on
    the data's own revenue per spend (see `mediamix.model.priors.ROI_SHARE`).
    """

    form: str = "additive"
    adstock: str = "geometric"
    adstock_max_lag: int | None = None
    adstock_normalize: bool = True
    saturation: str = "hill"
    channel_transforms: Mapping[str, ChannelTransform] = field(default_factory=dict)
    trend: str = "linear"
    trend_changepoints: int = 4
    seasonality_order: int | None = None
    day_of_week: bool | None = None
    events: tuple[str, ...] = ()
    control_signs: Mapping[str, str] = field(default_factory=dict)
    likelihood: str = "normal"
    media_prior: str = "default"
    adstock_warmup: str = "exclude"
    priors: Mapping[str, Prior] = field(default_factory=dict)
    kpi_value: float = 1.0
    log_offset: float | None = None
    time_varying: tuple[str, ...] = ()
    time_varying_drift: float | Mapping[str, float] = DEFAULT_DRIFT
    # the geo model (`mediamix.model.geo`): per-geo media effects pooled around the national
    # ones (``partial``) or each geo's own (``none``); adstock and saturation shared by every
    # geo or per geo around the national values (``per_geo``); the controls' coefficients
    # national (``shared``) or per geo around the national ones (``per_geo``)
    geo_pooling: str = "partial"
    geo_transforms: str = "shared"
    geo_controls: str = "shared"

    def __post_init__(self) -> None:
        # every message starts with the setting's key path; `from_dict` puts its section
        # (``model.``) in front
        for key, choices in (("form", FORMS), ("adstock", ADSTOCK_CHOICES),
                             ("saturation", MODEL_SATURATIONS), ("trend", TRENDS),
                             ("likelihood", LIKELIHOODS), ("media_prior", MEDIA_PRIORS),
                             ("adstock_warmup", ADSTOCK_WARMUPS), ("geo_pooling", GEO_POOLINGS),
                             ("geo_transforms", GEO_TRANSFORMS),
                             ("geo_controls", GEO_CONTROLS)):  # fmt: skip
            _check_choice(key, getattr(self, key), choices)
        if self.form == "multiplicative" and self.likelihood == "normal":
            object.__setattr__(self, "likelihood", "lognormal")
        if self.form == "additive" and self.likelihood == "lognormal":
            raise SpecError(
                "likelihood: 'lognormal' goes with form 'multiplicative'; for the additive form "
                "use 'normal' or 'student_t'"
            )
        if self.form == "multiplicative" and self.likelihood != "lognormal":
            raise SpecError(
                "likelihood: the multiplicative form uses the 'lognormal' likelihood (normal "
                f"noise on log KPI); got likelihood '{self.likelihood}'"
            )
        if self.form == "multiplicative" and self.media_prior == "roi":
            raise SpecError(
                "media_prior: 'roi' is available for the additive form only; use 'default' or "
                "'cost_proportional' with form 'multiplicative'"
            )
        if self.adstock_max_lag is not None:
            _check_int("adstock_max_lag", self.adstock_max_lag, 1, MAX_ADSTOCK_LAG,
                       "periods (a year of daily data)")  # fmt: skip
        _check_int("trend_changepoints", self.trend_changepoints, 0, MAX_CHANGEPOINTS)
        if self.seasonality_order is not None:
            _check_int("seasonality_order", self.seasonality_order, 0, max_seasonality_order(),
                       "(daily data; 26 for weekly, 5 for monthly: the Fourier order must be "
                       "below half the periods of a year)")  # fmt: skip
        _check_bool("adstock_normalize", self.adstock_normalize)
        if self.day_of_week is not None:
            _check_bool("day_of_week", self.day_of_week)
        _check_number("kpi_value", self.kpi_value, "a positive number", lambda v: v > 0)
        _check_finite("kpi_value", self.kpi_value, "the value of one KPI unit, e.g. 1.0")
        if self.log_offset is not None:
            _check_number("log_offset", self.log_offset, "a number >= 0", lambda v: v >= 0)
            _check_finite("log_offset", self.log_offset, "e.g. 1")
        if isinstance(self.events, str | bytes) or not isinstance(self.events, Sequence):
            raise SpecError(
                f"events: expected a list of control column names, got {_got(self.events)}"
            )
        for i, e in enumerate(self.events):
            if not isinstance(e, str):
                raise SpecError(f"events[{i}]: expected a column name, got {_got(e)}")
        object.__setattr__(self, "events", tuple(self.events))
        self._check_time_varying()
        _check_mapping("channel_transforms", self.channel_transforms,
                       "{channel: {adstock: ..., saturation: ..., max_lag: ...}}")  # fmt: skip
        ct = {}
        for name, t in dict(self.channel_transforms).items():
            where = f"channel_transforms.{name}"
            if isinstance(t, Mapping):
                unknown_keys(t, TRANSFORM_KEYS, where, "unknown channel transform setting(s)")
                t = ChannelTransform(**t)
            if not isinstance(t, ChannelTransform):
                raise SpecError(
                    f"{where}: expected a mapping {{adstock: ..., saturation: ..., max_lag: ...}}"
                    f", got {_got(t)}"
                )
            if t.adstock is not None:
                _check_choice(f"{where}.adstock", t.adstock, ADSTOCK_CHOICES)
            if t.saturation is not None:
                _check_choice(f"{where}.saturation", t.saturation, MODEL_SATURATIONS)
            if t.max_lag is not None:
                _check_int(f"{where}.max_lag", t.max_lag, 1, MAX_ADSTOCK_LAG,
                           "periods (a year of daily data)")  # fmt: skip
            ct[str(name)] = t
        object.__setattr__(self, "channel_transforms", ct)
        _check_mapping("control_signs", self.control_signs, "{control: positive | negative}")
        signs = {}
        for name, sign in dict(self.control_signs).items():
            _check_choice(f"control_signs.{name}", sign, SIGNS)
            signs[str(name)] = sign
        object.__setattr__(self, "control_signs", signs)
        _check_mapping("priors", self.priors, "{site: {dist: ..., <parameters>}}")
        priors = {}
        for key, p in dict(self.priors).items():
            priors[str(key)] = Prior.from_value(p, where=f"priors.{key}")
        object.__setattr__(self, "priors", priors)
        # sites the spec alone rules out (the data's names are checked by `validate_for`)
        check_prior_keys(self, prior_sites(self))
        own = [k for k in priors if k.partition(".")[0] == "effect"]
        if "media_share" in priors and own:
            raise SpecError(
                f"priors.media_share: the total media share is the default media prior, which "
                f"a prior on {', '.join(repr(k) for k in own)} replaces (independent priors per "
                "channel); keep one of them"
            )

    def _check_time_varying(self) -> None:
        tv = self.time_varying
        if isinstance(tv, str):
            tv = tuple(x.strip() for x in tv.split(",") if x.strip())
        if not isinstance(tv, Sequence):
            raise SpecError(
                f"time_varying: expected a list of channel names (or 'all', 'baseline'), got "
                f"{_got(tv)}. Fix: e.g. time_varying: [tv, search] or time_varying: [all]"
            )
        seen = []
        for i, name in enumerate(tv):
            if not isinstance(name, str) or not name:
                raise SpecError(
                    f"time_varying[{i}]: expected a channel name, 'all' or 'baseline', got "
                    f"{_got(name)}"
                )
            if name in seen:
                raise SpecError(f"time_varying[{i}]: '{name}' is listed twice; list it once")
            seen.append(name)
        object.__setattr__(self, "time_varying", tuple(seen))
        drift = self.time_varying_drift
        items = drift.items() if isinstance(drift, Mapping) else [(None, drift)]
        for name, v in items:
            key = "time_varying_drift" + (f".{name}" if name is not None else "")
            _check_number(key, v, f"a number in (0, {MAX_DRIFT:g}]: the sd of the change of "
                          "log effect per year (0.2: about 20% per year)",
                          lambda x: math.isfinite(x) and 0 < x <= MAX_DRIFT)  # fmt: skip
        if isinstance(drift, Mapping):
            object.__setattr__(self, "time_varying_drift", {str(k): float(v)
                                                            for k, v in drift.items()})  # fmt: skip
            for name in self.time_varying_drift:
                if name not in seen and not (ALL in seen and name != BASELINE):
                    raise SpecError(
                        f"time_varying_drift.{name}: '{name}' is not in time_varying "
                        f"({', '.join(seen) or 'empty'}); add it there or remove its drift."
                        + did_you_mean(name, seen)
                    )

    def time_varying_channels(self, channel_names: Sequence[str]) -> tuple[str, ...]:
        """The channels (of ``channel_names``, in their order) whose effect varies over time."""
        if ALL in self.time_varying:
            return tuple(channel_names)
        return tuple(c for c in channel_names if c in self.time_varying)

    @property
    def baseline_time_varying(self) -> bool:
        """Whether the baseline gets a smooth time-varying level (``baseline`` listed)."""
        return BASELINE in self.time_varying

    def drift(self, name: str) -> float:
        """The prior drift of a time-varying component: the sd of its log effect's change per
        year (the baseline's: of its level, in model units)."""
        d = self.time_varying_drift
        if isinstance(d, Mapping):
            return float(d.get(name, DEFAULT_DRIFT))
        return float(d)

    # -- transforms per channel --------------------------------------------------------------
    def channel_adstock(self, channel: str) -> str:
        t = self.channel_transforms.get(channel)
        return (t.adstock if t and t.adstock else None) or self.adstock

    def channel_saturation(self, channel: str) -> str:
        t = self.channel_transforms.get(channel)
        return (t.saturation if t and t.saturation else None) or self.saturation

    def max_lag(self, freq: str = "W", channel: str | None = None) -> int:
        t = self.channel_transforms.get(channel) if channel else None
        if t and t.max_lag:
            return int(t.max_lag)
        if self.adstock_max_lag:
            return int(self.adstock_max_lag)
        return DEFAULT_MAX_LAG.get(freq, 8)

    def seasonality(self, freq: str) -> int:
        if self.seasonality_order is not None:
            return int(self.seasonality_order)
        return 0 if freq not in ("D", "W", "M") else 2

    def use_day_of_week(self, freq: str) -> bool:
        return bool(freq == "D") if self.day_of_week is None else bool(self.day_of_week)

    def known_prior_sites(self) -> set[str]:
        """Every prior site of this spec's form and transform families (sampled or not for
        given data; `applicable_prior_sites` is what a fit reads)."""
        sites = set(default_priors(self.form))
        sats = {self.saturation} | {t.saturation for t in self.channel_transforms.values()}
        ads = {self.adstock} | {t.adstock for t in self.channel_transforms.values()}
        for s in sats:
            if s and self.form == "additive":
                sites |= {f"{s}_{p}" for p in SATURATION_PRIORS.get(s, {})}
        for a in ads:
            if a and a != "none":
                sites |= {f"{a}_{p}" for p in ADSTOCK_PRIORS[a]}
        return sites

    def prior(self, site: str, form_defaults: dict[str, Prior] | None = None) -> Prior:
        """The prior of a site (user's override, else the default)."""
        if site in self.priors:
            return self.priors[site]
        defaults = form_defaults or default_priors(self.form)
        if site in defaults:
            return defaults[site]
        fam, _, par = site.partition("_")
        for table in (SATURATION_PRIORS, ADSTOCK_PRIORS):
            for f, ps in table.items():
                if site.startswith(f + "_") and site[len(f) + 1 :] in ps:
                    return ps[site[len(f) + 1 :]]
        raise SpecError(f"no prior for model parameter '{site}'")  # pragma: no cover

    def validate_for(
        self,
        channel_names: Sequence[str],
        control_names: Sequence[str],
        freq: str | None = None,
        n_periods: int | None = None,
        rows_rule: bool = True,
    ) -> None:
        """Check that every name in the spec exists in the data, and that every prior key is
        a site the model samples for these channels and controls (``freq``, when given,
        decides seasonality and weekday terms), with a clear error.

        ``freq`` also bounds the seasonality order (`max_seasonality_order`); ``n_periods``
        (the data's rows per series), when given, bounds the adstock lags by the data length
        and applies the rows-per-parameter rule to the model's own terms (`check_rows`; not
        with ``rows_rule=False``: a fit from Python may be run on short data on purpose).
        """
        channels = list(channel_names)
        controls = list(control_names)
        if freq in PERIODS_PER_YEAR and freq != "D" and self.day_of_week:
            raise SpecError(
                f"day_of_week: weekday effects need daily data; these data are "
                f"{_FREQ_WORDS[freq]} (every row falls on the same weekday, so the effects "
                "cannot be told from the intercept). Fix: remove day_of_week or set it to false."
            )
        if freq in PERIODS_PER_YEAR and self.seasonality_order is not None:
            top = max_seasonality_order(freq)
            if self.seasonality_order > top:
                raise SpecError(
                    f"seasonality_order: {self.seasonality_order} is too high for "
                    f"{_FREQ_WORDS[freq]} data: the yearly Fourier order must be below half the "
                    f"{PERIODS_PER_YEAR[freq]:.4g} periods of a year, at most {top}. Fix: use "
                    "2 to 4 for a smooth yearly pattern (0 turns it off)."
                )
        for name in self.channel_transforms:
            if name not in channels:
                raise SpecError(
                    f"channel_transforms names channel '{name}', which is not in the data "
                    f"(channels: {', '.join(channels)})"
                )
        for i, name in enumerate(self.time_varying):
            if name not in channels and name not in (ALL, BASELINE):
                raise SpecError(
                    f"time_varying[{i}] names channel '{name}', which is not in the data "
                    f"(channels: {', '.join(channels)}; also 'all' for every channel and "
                    "'baseline')." + did_you_mean(name, channels + [ALL, BASELINE])
                )
        if isinstance(self.time_varying_drift, Mapping):
            for name in self.time_varying_drift:
                if name not in channels and name != BASELINE:
                    raise SpecError(
                        f"time_varying_drift.{name} names channel '{name}', which is not in the "
                        f"data (channels: {', '.join(channels)}; or 'baseline')."
                        + did_you_mean(name, channels + [BASELINE])
                    )
        for name in self.control_signs:
            if name not in controls:
                raise SpecError(
                    f"control_signs names control '{name}', which is not in the data "
                    f"(controls: {', '.join(controls) or 'none'})"
                )
        for name in self.events:
            if name not in controls:
                raise SpecError(
                    f"events names column '{name}', which is not among the controls "
                    f"(controls: {', '.join(controls) or 'none'}); add it to the data's controls"
                )
        check_prior_keys(self, prior_sites(self, channels, controls, freq), channels, controls)
        if n_periods is not None:
            for c in channels:
                lag = self.max_lag(freq or "W", c)
                if self.channel_adstock(c) != "none" and lag > n_periods:
                    key = (
                        f"channel_transforms.{c}.max_lag"
                        if (t := self.channel_transforms.get(c)) and t.max_lag
                        else "adstock_max_lag"
                    )
                    raise SpecError(
                        f"{key}: {lag} lags for channel '{c}' is more than the data's "
                        f"{n_periods} periods. Fix: use fewer lags (by default "
                        f"{DEFAULT_MAX_LAG.get(freq or 'W', 8)} for this frequency) or longer data."
                    )
            if rows_rule:
                check_rows(self, channels, controls, freq or "W", n_periods)

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["events"] = list(self.events)
        d["time_varying"] = list(self.time_varying)
        if isinstance(self.time_varying_drift, Mapping):
            d["time_varying_drift"] = dict(self.time_varying_drift)
        d["priors"] = {k: p.to_dict() for k, p in self.priors.items()}
        d["channel_transforms"] = {
            k: {kk: vv for kk, vv in asdict(t).items() if vv is not None}
            for k, t in self.channel_transforms.items()
        }
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = "model") -> ModelSpec:
        """Validate a mapping of settings (a YAML ``model:`` section); every fault is one
        `SpecError` whose message starts with the key path (``model.seasonality_order:
        expected an integer, got 'many'``)."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise SpecError(
                f"{where or 'model'}: expected a mapping of model settings, got {_got(d)}"
            )
        allowed = [f.name for f in fields(cls)]
        unknown_keys(d, allowed, where, "unknown model setting(s)")
        kw = dict(d)
        if isinstance(kw.get("events"), list):
            kw["events"] = tuple(kw["events"])
        for k in ("priors", "channel_transforms", "control_signs", "events", "time_varying"):
            if k in kw and kw[k] is None:
                kw.pop(k)
        try:
            return cls(**kw)
        except SpecError as exc:
            raise SpecError(_under(where, str(exc))) from None

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> ModelSpec:
        return load_config(path_or_text)[1]

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump({"model": self.to_dict()}, sort_keys=False)

    def replace(self, **changes) -> ModelSpec:
        return replace(self, **changes)


def load_config(path_or_text: str | Path) -> tuple[dict[str, Any], ModelSpec]:
    """Read a YAML config: returns ``(data_section, ModelSpec)``.

    The file holds a ``model:`` section (and optionally a ``data:`` section of column roles),
    or model settings at the top level. Both sections are validated here (the data section's
    schema is `mediamix.data.config.DataConfig`); the data themselves are read by
    `mediamix.data.load_dataset`.
    """
    from mediamix.yamlio import read_yaml

    return split_config(read_yaml(path_or_text, "config"))


def split_config(raw: Mapping[str, Any]) -> tuple[dict[str, Any], ModelSpec]:
    """A parsed config file -> ``(data_section, ModelSpec)``, both validated (a top-level
    ``experiments:`` entry is read by `config_experiments`)."""
    raw = {k: v for k, v in raw.items() if k != "experiments"}
    if "model" in raw or "data" in raw:
        data, _ = data_section(raw)
        cfg = DataConfig.parse(data, "data")
        spec = ModelSpec.from_dict(raw.get("model") or {}, "model")
        _check_one_kpi_value(cfg, spec)
        return dict(data), spec
    return {}, ModelSpec.from_dict(raw, "")


def _check_one_kpi_value(data: DataConfig, spec: ModelSpec) -> None:
    """The KPI is valued once: a ``data.kpi_value`` column (per row) or ``model.kpi_value``
    (one constant), not both (the KPI would be multiplied twice)."""
    if not data.kpi_value or spec.kpi_value == 1.0:
        return
    kpi = data.kpi or "the KPI"
    raise SpecError(
        f"data.kpi_value and model.kpi_value both value the KPI: data.kpi_value "
        f"'{data.kpi_value}' multiplies each row's {kpi} by its value, and model.kpi_value "
        f"{spec.kpi_value:g} would multiply it again (contributions and ROAS {spec.kpi_value:g} "
        f"times what they are). Fix: keep one: drop model.kpi_value (or set it to 1) to use "
        f"the column's per-row values, or drop data.kpi_value to use the constant."
    )


def config_experiments(path_or_text: str | Path) -> Any:
    """The top-level ``experiments:`` entry of a config: None, the path of an experiments
    table (CSV / Parquet; relative to the config file's folder) or the rows themselves (a
    list of mappings with the columns of `mediamix.data.experiments`)."""
    from mediamix.yamlio import read_yaml

    entry = read_yaml(path_or_text, "config").get("experiments")
    if entry is None or isinstance(entry, list):
        return entry
    if isinstance(entry, str):
        p = Path(entry)
        if not p.is_absolute() and isinstance(path_or_text, str | Path):
            src = Path(path_or_text)
            if "\n" not in str(path_or_text) and src.is_file():
                p = src.parent / p
        return p
    raise SpecError(
        f"experiments: expected the path of an experiments table or a list of rows, got "
        f"{type(entry).__name__}. Fix: 'experiments: tests.csv' or a list of mappings "
        "(channel, start, end, spend_change, lift, lift_se)."
    )


# ---- model size -------------------------------------------------------------------------
_FREQ_WORDS = {"D": "daily", "W": "weekly", "M": "monthly"}


def parameter_counts(
    spec: ModelSpec,
    channel_names: Sequence[str] | int,
    control_names: Sequence[str] | int,
    freq: str | None = "W",
) -> dict[str, int]:
    """The number of parameters the model fits for ``spec``, term by term (the terms it
    samples: see `prior_sites`): ``intercept``, ``trend`` (1, plus the change points of a
    piecewise trend), ``seasonality`` (2 per Fourier order), ``day_of_week`` (6),
    ``controls`` (one per control, events included), ``media`` (per channel: its amplitude,
    its saturation's shape parameters in the additive form, its adstock's parameters) and
    ``noise`` (sigma, and nu for Student-t). Channels and controls are given by name or by
    number (every channel then uses the spec's default transforms)."""
    if isinstance(channel_names, int):
        channels = [f"channel {i}" for i in range(channel_names)]
    else:
        channels = list(channel_names)
    n_controls = control_names if isinstance(control_names, int) else len(control_names)
    counts = {"intercept": 1}
    if spec.trend != "none":
        counts["trend"] = 1 + (spec.trend_changepoints if spec.trend == "piecewise" else 0)
    season = 2 * (spec.seasonality(freq) if freq else spec.seasonality("W"))
    if season:
        counts["seasonality"] = season
    if spec.use_day_of_week(freq or "W"):
        counts["day_of_week"] = 6
    if n_controls:
        counts["controls"] = int(n_controls)
    media = 0
    for c in channels:
        media += 1
        if spec.form == "additive":
            media += len(SATURATION_PRIORS[spec.channel_saturation(c)])
        a = spec.channel_adstock(c)
        if a != "none":
            media += len(ADSTOCK_PRIORS[a])
    if media:
        counts["media"] = media
    # a smooth path under a fixed-scale prior: counted as one parameter per component
    n_tv = len(spec.time_varying_channels(channels)) + int(spec.baseline_time_varying)
    if n_tv:
        counts["time_varying"] = n_tv
    counts["noise"] = 2 if spec.likelihood == "student_t" else 1
    return counts


def count_parameters(
    spec: ModelSpec,
    channel_names: Sequence[str] | int,
    control_names: Sequence[str] | int,
    freq: str | None = "W",
) -> int:
    """The total of `parameter_counts`: what the rows-per-parameter rule of
    `mediamix.data.validation.min_rows_required` should count for this model."""
    return sum(parameter_counts(spec, channel_names, control_names, freq).values())


def check_rows(
    spec: ModelSpec,
    channel_names: Sequence[str] | int,
    control_names: Sequence[str] | int,
    freq: str | None,
    n_periods: int,
) -> None:
    """The rows-per-parameter rule (`min_rows_required`) on the model's own terms: a
    `SpecError` that names the count, its biggest terms and the fix."""
    from mediamix.data.validation import min_rows_required

    counts = parameter_counts(spec, channel_names, control_names, freq)
    total = sum(counts.values())
    need = min_rows_required(total)
    if n_periods >= need:
        return
    terms = ", ".join(f"{k} {v}" for k, v in counts.items())
    fixes = []
    if counts.get("seasonality", 0) > 8:
        fixes.append(f"a lower seasonality_order (now {counts['seasonality'] // 2}; 2 is usual)")
    if counts.get("trend", 0) > 5:
        fixes.append(f"fewer trend_changepoints (now {spec.trend_changepoints})")
    fixes.append("longer data")
    words = _FREQ_WORDS.get(freq or "", "")
    raise SpecError(
        f"the model has {total} parameters ({terms}) but the data have {n_periods} "
        f"{words + ' ' if words else ''}rows; the rule is at least max(20, 3 x parameters) = "
        f"{need} rows. Fix: {', or '.join(fixes)}."
    )


# ---- prior sites ------------------------------------------------------------------------
# sites that take per-member keys (``<site>.<member>``): channel sites and control sites
_CONTROL_SITES = ("control", "control_signed", "event")


def media_site(spec: ModelSpec) -> str:
    """The media amplitude site the model samples: ``roas`` (media_prior roi), ``effect``
    (additive: each channel's average contribution per period) or ``beta`` (multiplicative:
    the elasticity)."""
    if spec.media_prior == "roi":
        return "roas"
    return "effect" if spec.form == "additive" else "beta"


def uses_share_prior(spec: ModelSpec) -> bool:
    """Whether ``spec`` can put the joint prior on the total media share (additive form, media
    prior ``default``); a fit uses it unless a prior on ``effect`` is given."""
    return spec.form == "additive" and spec.media_prior == "default"


def prior_sites(
    spec: ModelSpec,
    channel_names: Sequence[str] | None = None,
    control_names: Sequence[str] | None = None,
    freq: str | None = None,
) -> dict[str, tuple[str, ...] | None]:
    """The prior sites the model samples for ``spec``, each with the members that may have
    their own prior (``<site>.<member>``): a tuple of names, ``()`` for none, or ``None``
    (any) while the data's names are not known. Mirrors what the model function samples:
    the level ('intercept'), trend, seasonality, weekday, events, controls, the transform
    parameters of each family in use, the media site (see `media_site`), sigma and nu."""
    out: dict[str, tuple[str, ...] | None] = {"intercept": ()}
    if spec.trend != "none":
        out["trend"] = ()
    if spec.trend == "piecewise" and spec.trend_changepoints > 0:
        out["trend_delta"] = ()
    if (spec.seasonality(freq) if freq else spec.seasonality_order != 0) > 0:
        out["season"] = ()
    if spec.use_day_of_week(freq) if freq else spec.day_of_week is not False:
        out["dow"] = ()
    known = channel_names is not None
    channels = list(channel_names or ())
    out[media_site(spec)] = tuple(channels) if known else None
    if uses_share_prior(spec):
        out["media_share"] = ()
    groups: dict[str, list[str]] = {}
    if known:
        for c in channels:
            if spec.form == "additive":
                f = spec.channel_saturation(c)
                for p in SATURATION_PRIORS[f]:
                    groups.setdefault(f"{f}_{p}", []).append(c)
            a = spec.channel_adstock(c)
            if a != "none":
                for p in ADSTOCK_PRIORS[a]:
                    groups.setdefault(f"{a}_{p}", []).append(c)
        out.update({site: tuple(names) for site, names in groups.items()})
    else:
        ts = spec.channel_transforms.values()
        if spec.form == "additive":
            for f in {spec.saturation} | {t.saturation for t in ts if t.saturation}:
                out.update({f"{f}_{p}": None for p in SATURATION_PRIORS[f]})
        for a in {spec.adstock} | {t.adstock for t in ts if t.adstock}:
            if a != "none":
                out.update({f"{a}_{p}": None for p in ADSTOCK_PRIORS[a]})
    if control_names is None:
        out["control"] = None
        if any(sign != "free" for sign in spec.control_signs.values()):
            out["control_signed"] = None
        out["event"] = None
    else:
        ctrls = list(control_names)
        events = tuple(c for c in ctrls if c in spec.events)
        signed = tuple(
            c for c in ctrls if c not in events and spec.control_signs.get(c, "free") != "free"
        )
        free = tuple(c for c in ctrls if c not in events and c not in signed)
        for site, names in (("control", free), ("control_signed", signed), ("event", events)):
            if names:
                out[site] = names
    out["sigma"] = ()
    if spec.likelihood == "student_t":
        out["nu"] = ()
    return out


def applicable_prior_sites(
    spec: ModelSpec,
    channel_names: Sequence[str],
    control_names: Sequence[str],
    freq: str | None = None,
) -> set[str]:
    """Every prior key that a fit of ``spec`` on these channels and controls reads: the
    sites (``effect``, ``hill_k``, ...) and the per-member keys (``effect.tv``, ...)."""
    sites = prior_sites(spec, channel_names, control_names, freq)
    return set(sites) | {f"{s}.{m}" for s, members in sites.items() for m in members or ()}


def _sites_text(sites: Mapping[str, tuple[str, ...] | None]) -> str:
    parts = []
    for site, members in sites.items():
        parts.append(site)
        if members is None:
            what = "control" if site in _CONTROL_SITES else "channel"
            parts.append(f"{site}.<{what}>")
        else:
            parts.extend(f"{site}.{m}" for m in members)
    return ", ".join(parts)


def _why_not(spec: ModelSpec, base: str) -> str:
    """Why a known site is not sampled by this spec (one clause, or empty)."""
    media = media_site(spec)
    if base in ("beta", "effect", "roas"):
        what = {
            "roas": "media_prior 'roi' samples 'roas' (each channel's return on spend)",
            "effect": "the additive form samples 'effect' (each channel's average "
            "contribution per period)",
            "beta": "the multiplicative form samples 'beta' (each channel's elasticity)",
        }[media]
        return f"; {what}"
    if base == "media_share":
        if spec.form != "additive":
            return "; the multiplicative form puts a prior on each channel's elasticity 'beta'"
        return (
            f"; media_prior '{spec.media_prior}' puts a prior on each channel "
            f"('{media_site(spec)}'); 'media_share' belongs to media_prior 'default'"
        )
    reasons = {
        "nu": f"'nu' is the Student-t degrees of freedom; the likelihood is '{spec.likelihood}'",
        "trend": "trend is 'none'",
        "trend_delta": "change points need trend 'piecewise' with trend_changepoints > 0",
        "season": "seasonality is off",
        "dow": "the day-of-week term is off",
        "control_signed": "no control in the data has a sign in control_signs",
        "control": "no control in the data is free (without a sign, not an event)",
        "event": "no control in the data is an event",
    }
    if base in reasons:
        return f"; {reasons[base]}"
    for kind, table in (("saturation", SATURATION_PRIORS), ("adstock", ADSTOCK_PRIORS)):
        for family, params in table.items():
            if base in {f"{family}_{p}" for p in params}:
                if kind == "saturation" and spec.form != "additive":
                    return "; the multiplicative form has no saturation"
                return f"; no channel uses {kind} '{family}'"
    return ""  # pragma: no cover (every known site is named above)


def check_prior_keys(
    spec: ModelSpec,
    sites: Mapping[str, tuple[str, ...] | None],
    channel_names: Sequence[str] | None = None,
    control_names: Sequence[str] | None = None,
) -> None:
    """Every key of ``spec.priors`` is a site in ``sites`` (see `prior_sites`), or a member
    of one; otherwise one `SpecError` naming the key and the sites that do apply."""
    media = media_site(spec)
    every = spec.known_prior_sites() | {
        f"{f}_{p}" for table in (SATURATION_PRIORS, ADSTOCK_PRIORS)
        for f, ps in table.items() for p in ps
    }  # fmt: skip
    flat = [s for s in sites] + [f"{s}.{m}" for s, ms in sites.items() for m in ms or ()]
    for key in spec.priors:
        base, _, member = key.partition(".")
        apply = f"sites that apply: {_sites_text(sites)}"
        if base not in every:
            raise SpecError(
                f"priors.{key}: no model parameter '{base}'; {apply}."
                + did_you_mean(key if member else base, flat)
            )
        if base not in sites:
            hint = ""
            if base in ("beta", "effect", "roas") and media in sites:
                hint = (
                    f" Did you mean '{media}.{member}'?" if member else f" Did you mean '{media}'?"
                )
            raise SpecError(
                f"priors.{key}: this model does not sample '{base}'{_why_not(spec, base)}; "
                f"{apply}.{hint or did_you_mean(key, flat)}"
            )
        members = sites[base]
        if not member:
            continue
        if members == ():
            raise SpecError(
                f"priors.{key}: '{base}' takes one prior for all its terms, not one per "
                f"member; write 'priors.{base}'; {apply}."
            )
        if members is None:
            continue
        if base in _CONTROL_SITES:
            pool, what = list(control_names or ()), "control"
        else:
            pool, what = list(channel_names or ()), "channel"
        if member not in pool:
            raise SpecError(
                f"priors.{key} names {what} '{member}', which is not in the data "
                f"({what}s: {', '.join(pool) or 'none'})"
            )
        if member not in members:
            raise SpecError(
                f"priors.{key}: '{base}' does not apply to {what} '{member}'; {apply}."
                + did_you_mean(key, flat)
            )


# ---- checks of single settings ----------------------------------------------------------
TRANSFORM_KEYS = ("adstock", "saturation", "max_lag")


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _under(where: str, message: str) -> str:
    """``message`` (starting with a setting's key path) under the section ``where``."""
    if not where:
        return message
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", message)
    if head and head.group(0) in {f.name for f in fields(ModelSpec)}:
        return f"{where}.{message}"
    return f"{where}: {message}"


def _check_mapping(key: str, value: Any, shape: str) -> None:
    if not isinstance(value, Mapping):
        raise SpecError(f"{key}: expected a mapping {shape}, got {_got(value)}")


def _check_bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"{key}: expected true or false, got {_got(value)}")


def _check_number(key: str, value: Any, want: str, ok) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
        raise SpecError(f"{key}: expected {want}, got {_got(value)}")


def _check_choice(key: str, value: Any, choices: Sequence[str]) -> None:
    if not isinstance(value, str):
        raise SpecError(f"{key}: expected one of {', '.join(choices)}, got {_got(value)}")
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise SpecError(
            f"{key}: unknown value '{value}'; choose one of {', '.join(choices)}.{hint}"
        )


def _check_finite(key: str, value: float, example: str) -> None:
    if not math.isfinite(value):
        raise SpecError(f"{key}: expected a finite number ({example}), got {_got(value)}")


def _check_int(
    key: str, value: Any, minimum: int, maximum: int | None = None, unit: str = ""
) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{key}: expected an integer, got {_got(value)}")
    if value < minimum:
        raise SpecError(f"{key}: expected an integer >= {minimum}, got {_got(value)}")
    if maximum is not None and value > maximum:
        tail = f" {unit}" if unit else ""
        raise SpecError(f"{key}: expected an integer <= {maximum}{tail}, got {value}")


INIT_CONFIG = """\
# mediamix model configuration. Fit with:
#   mediamix fit DATA.csv --config model.yaml --out runs/first
# Every setting below is the default; delete what you do not change.

data:
  # Column roles in your file (also settable with --date --kpi --channels --controls).
  date: date                # the period column (weekly, daily or monthly)
  kpi: sales                # the outcome column
  channels: [tv, search, social]   # spend per period, one column per channel
  controls: []              # other drivers (price, weather, competitor index, holidays)
  # events_column: events   # a text column ("na" or an event name) -> 0/1 event dummies

model:
  form: additive            # additive | multiplicative (log-log, Cobb-Douglas)
  adstock: geometric        # geometric | weibull_cdf | weibull_pdf | delayed | none
  adstock_max_lag: null     # lags kept; null = 8 weekly, 14 daily, 3 monthly
  adstock_normalize: true   # geometric weights sum to 1 (beta is then the long-run effect)
  adstock_warmup: exclude   # exclude: the first max_lag - 1 periods only feed the adstock
                            #   (out of the likelihood and the window metrics); none: the data
                            #   start from zero media (adstock from zero at the first row)
  saturation: hill          # hill | logistic | michaelis_menten | exponential | log1p | power | sigmoid
  channel_transforms: {}    # per channel, e.g. {tv: {adstock: weibull_pdf, max_lag: 12}}
  trend: linear             # none | linear | piecewise
  trend_changepoints: 4     # piecewise trend: evenly spaced change points
  seasonality_order: null   # yearly Fourier order; null = 2, 0 = off
  day_of_week: null         # null = on for daily data
  events: []                # 0/1 control columns that are events (holidays, promotions)
  control_signs: {}         # e.g. {price: negative, temperature: positive}; default free
  likelihood: normal        # normal | student_t (additive); lognormal (multiplicative)
  media_prior: default      # default: a prior on the total media share of the KPI, split
                            #   over channels by spend share | cost_proportional | roi
  kpi_value: 1.0            # value of one KPI unit (ROAS = value x contribution / spend)
  log_offset: null          # multiplicative: log(media + offset); null = 0 if media > 0 else 1
  time_varying: []          # channels whose effect may change over time, e.g. [tv, search];
                            #   all = every channel; baseline = a drifting baseline level
  geo_pooling: partial      # geo panels: per-geo media effects pooled around the national
                            #   ones (partial) or each geo's own, unpooled (none)
  geo_transforms: shared    # geo panels: one adstock and saturation for every geo (shared) or
                            #   per-geo half-saturation and decay around the national (per_geo)
  geo_controls: shared      # geo panels: one coefficient per control for every geo (shared) or
                            #   per-geo coefficients around the national ones (per_geo)
  time_varying_drift: 0.3   # prior sd of the change of log effect per year (0.2: the effect
                            #   may change by about 20% a year); or per name {tv: 0.2}
  priors: {}
  # Families by name (adstock / saturation; also per channel in channel_transforms):
{families}
  # Priors on the scaled data (KPI / mean, media / mean). Override any, for all channels or
  # one ('effect.tv'); a key the model does not sample is an error that lists those it does.
  # Distributions: normal, half_normal, lognormal, gamma, beta, student_t, half_cauchy,
  # laplace, exponential, uniform, truncated_normal. Sites: intercept (the mean level),
  # trend, trend_delta (piecewise), season, dow, control, control_signed, event, sigma,
  # nu (student_t), <adstock>_<param>, <saturation>_<param> (additive), and the media site:
  #   media_share: {dist: gamma, concentration: 2.5, rate: 8}   # additive, media_prior
  #                            # default: all media's share of the KPI (median 0.27)
  #   effect: {dist: half_normal, scale: 0.3}      # additive: average media contribution
  #   effect.tv: {dist: half_normal, scale: 0.5}   # per period (KPI / its mean); any effect
  #                            # prior replaces media_share by independent channel priors
  #   beta: {dist: half_normal, scale: 0.3}        # form multiplicative: elasticities
  #   roas.tv: {dist: lognormal, loc: 0.7, scale: 0.3}   # with media_prior: roi (ROI units;
  #                            # default: median 0.27 x the data's KPI value per spend)
  #   geometric_lam: {dist: beta, concentration1: 2, concentration0: 2}
  #   hill_k: {dist: gamma, concentration: 2, rate: 2}
  #   sigma: {dist: half_normal, scale: 0.3}
"""


def init_config_text() -> str:
    """The commented YAML template written by ``mediamix init-config`` (the families and their
    formulas come from the transform registries, so a registered family is listed too)."""
    lines = [f"  #   adstock {name}: {fam.description}" for name, fam in ADSTOCKS.items()]
    lines += [
        f"  #   saturation {name}: {fam.description}"
        for name, fam in SATURATIONS.items()
        if name in MODEL_SATURATIONS
    ]
    return INIT_CONFIG.replace("{families}", "\n".join(lines))
