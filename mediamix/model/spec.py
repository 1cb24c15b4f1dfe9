"""ModelSpec: everything that defines a media mix model, frozen and serialisable.

Loaded from Python keyword arguments, a dict, or YAML (top-level keys, or a ``model:``
section beside a ``data:`` section). Every problem is reported as a :class:`SpecError` that
names the key and the fix. ``init_config_text()`` is the commented YAML written by
``mediamix init-config``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mediamix.errors import SpecError, did_you_mean
from mediamix.model.priors import (
    ADSTOCK_PRIORS,
    SATURATION_PRIORS,
    Prior,
    default_priors,
)
from mediamix.transforms.adstock import ADSTOCKS
from mediamix.transforms.saturation import SATURATIONS

FORMS = ("additive", "multiplicative")
LIKELIHOODS = ("normal", "student_t", "lognormal")
TRENDS = ("none", "linear", "piecewise")
MEDIA_PRIORS = ("default", "cost_proportional", "roi")
SIGNS = ("free", "positive", "negative")
ADSTOCK_CHOICES = tuple(ADSTOCKS) + ("none",)
MODEL_SATURATIONS = tuple(s for s in SATURATIONS if s != "table")
DEFAULT_MAX_LAG = {"D": 14, "W": 8, "M": 3}


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
    priors: Mapping[str, Prior] = field(default_factory=dict)
    kpi_value: float = 1.0
    log_offset: float | None = None

    def __post_init__(self) -> None:
        _check_choice("form", self.form, FORMS)
        _check_choice("adstock", self.adstock, ADSTOCK_CHOICES)
        _check_choice("saturation", self.saturation, MODEL_SATURATIONS)
        _check_choice("trend", self.trend, TRENDS)
        _check_choice("likelihood", self.likelihood, LIKELIHOODS)
        _check_choice("media_prior", self.media_prior, MEDIA_PRIORS)
        if self.form == "multiplicative" and self.likelihood == "normal":
            object.__setattr__(self, "likelihood", "lognormal")
        if self.form == "additive" and self.likelihood == "lognormal":
            raise SpecError(
                "likelihood 'lognormal' goes with form 'multiplicative'; for the additive form "
                "use 'normal' or 'student_t'"
            )
        if self.form == "multiplicative" and self.likelihood != "lognormal":
            raise SpecError(
                "the multiplicative form uses the 'lognormal' likelihood (normal noise on "
                f"log KPI); got likelihood '{self.likelihood}'"
            )
        if self.form == "multiplicative" and self.media_prior == "roi":
            raise SpecError(
                "media_prior 'roi' is available for the additive form only; use 'default' or "
                "'cost_proportional' with form 'multiplicative'"
            )
        if self.adstock_max_lag is not None:
            _check_int("adstock_max_lag", self.adstock_max_lag, 1)
        _check_int("trend_changepoints", self.trend_changepoints, 0)
        if self.seasonality_order is not None:
            _check_int("seasonality_order", self.seasonality_order, 0)
        if not (isinstance(self.kpi_value, int | float) and self.kpi_value > 0):
            raise SpecError(f"kpi_value must be a positive number (got {self.kpi_value!r})")
        if self.log_offset is not None and not self.log_offset >= 0:
            raise SpecError(f"log_offset must be >= 0 (got {self.log_offset!r})")
        object.__setattr__(self, "events", tuple(str(e) for e in self.events))
        ct = {}
        for name, t in dict(self.channel_transforms).items():
            if isinstance(t, Mapping):
                unknown = set(t) - {"adstock", "saturation", "max_lag"}
                if unknown:
                    raise SpecError(
                        f"channel_transforms.{name}: unknown key(s) {sorted(unknown)}; "
                        "allowed: adstock, saturation, max_lag"
                    )
                t = ChannelTransform(**t)
            if not isinstance(t, ChannelTransform):
                raise SpecError(f"channel_transforms.{name} must be a mapping (got {t!r})")
            if t.adstock is not None:
                _check_choice(f"channel_transforms.{name}.adstock", t.adstock, ADSTOCK_CHOICES)
            if t.saturation is not None:
                _check_choice(
                    f"channel_transforms.{name}.saturation", t.saturation, MODEL_SATURATIONS
                )
            if t.max_lag is not None:
                _check_int(f"channel_transforms.{name}.max_lag", t.max_lag, 1)
            ct[str(name)] = t
        object.__setattr__(self, "channel_transforms", ct)
        signs = {}
        for name, s in dict(self.control_signs).items():
            _check_choice(f"control_signs.{name}", s, SIGNS)
            signs[str(name)] = s
        object.__setattr__(self, "control_signs", signs)
        priors = {}
        for key, p in dict(self.priors).items():
            priors[str(key)] = Prior.from_value(p, where=f"priors.{key}")
        object.__setattr__(self, "priors", priors)
        known = self.known_prior_sites()
        for key in priors:
            base = key.split(".", 1)[0]
            if base not in known:
                hint = did_you_mean(base, sorted(known))
                raise SpecError(
                    f"priors.{key}: no model parameter '{base}'; known: "
                    f"{', '.join(sorted(known))}.{hint}"
                )

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

    def validate_for(self, channel_names: Sequence[str], control_names: Sequence[str]) -> None:
        """Check that every name in the spec exists in the data, with a clear error."""
        channels = list(channel_names)
        controls = list(control_names)
        for name in self.channel_transforms:
            if name not in channels:
                raise SpecError(
                    f"channel_transforms names channel '{name}', which is not in the data "
                    f"(channels: {', '.join(channels)})"
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
        for key in self.priors:
            base, _, member = key.partition(".")
            if not member:
                continue
            if base in ("control", "control_signed", "event"):
                pool, what = controls, "control"
            else:
                pool, what = channels, "channel"
            if member not in pool:
                raise SpecError(
                    f"priors.{key} names {what} '{member}', which is not in the data "
                    f"({what}s: {', '.join(pool) or 'none'})"
                )

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["events"] = list(self.events)
        d["priors"] = {k: p.to_dict() for k, p in self.priors.items()}
        d["channel_transforms"] = {
            k: {kk: vv for kk, vv in asdict(t).items() if vv is not None}
            for k, t in self.channel_transforms.items()
        }
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> ModelSpec:
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise SpecError(f"a model spec must be a mapping of settings (got {type(d).__name__})")
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - allowed)
        if unknown:
            import difflib

            hints = []
            for u in unknown:
                close = difflib.get_close_matches(u, sorted(allowed), n=1)
                hints.append(f"'{u}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise SpecError(
                f"unknown model setting(s) {', '.join(hints)}; allowed: {', '.join(sorted(allowed))}"
            )
        kw = dict(d)
        if "events" in kw and kw["events"] is not None:
            kw["events"] = tuple(kw["events"])
        for k in ("priors", "channel_transforms", "control_signs"):
            if kw.get(k) is None:
                kw.pop(k, None)
            elif not isinstance(kw[k], Mapping):
                raise SpecError(f"'{k}' must be a mapping (got {kw[k]!r})")
        return cls(**kw)

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
    or model settings at the top level.
    """
    from mediamix.yamlio import read_yaml

    raw = read_yaml(path_or_text, "config")
    if "model" in raw or "data" in raw:
        extra = sorted(set(raw) - {"model", "data"})
        if extra:
            raise SpecError(
                f"unknown top-level config key(s) {extra}; use 'data:' and 'model:' sections"
            )
        data = raw.get("data") or {}
        if not isinstance(data, Mapping):
            raise SpecError("the 'data:' section must be a mapping of column roles")
        return dict(data), ModelSpec.from_dict(raw.get("model") or {})
    return {}, ModelSpec.from_dict(raw)


def _check_choice(key: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise SpecError(
            f"{key}: unknown value '{value}'; choose one of {', '.join(choices)}.{hint}"
        )


def _check_int(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"{key} must be an integer >= {minimum} (got {value!r})")


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
  saturation: hill          # hill | logistic | michaelis_menten | exponential | log1p | power | sigmoid
  channel_transforms: {}    # per channel, e.g. {tv: {adstock: weibull_pdf, max_lag: 12}}
  trend: linear             # none | linear | piecewise
  trend_changepoints: 4     # piecewise trend: evenly spaced change points
  seasonality_order: null   # yearly Fourier order; null = 2, 0 = off
  day_of_week: null         # null = on for daily data
  events: []                # 0/1 control columns that are events (holidays, promotions)
  control_signs: {}         # e.g. {price: negative, temperature: positive}; default free
  likelihood: normal        # normal | student_t (additive); lognormal (multiplicative)
  media_prior: default      # default | cost_proportional | roi
  kpi_value: 1.0            # value of one KPI unit (ROAS = value x contribution / spend)
  log_offset: null          # multiplicative: log(media + offset); null = 0 if media > 0 else 1
  priors: {}
  # Priors on the scaled data (KPI / mean, media / mean). Override any, for all channels or
  # one ('beta.tv'). Distributions: normal, half_normal, lognormal, gamma, beta, student_t,
  # half_cauchy, laplace, exponential, uniform, truncated_normal. Examples:
  #   effect: {dist: half_normal, scale: 0.3}      # additive: average media contribution
  #                                                # per period (KPI / its mean)
  #   beta: {dist: half_normal, scale: 0.3}        # multiplicative: elasticities
  #   roas.tv: {dist: lognormal, loc: 0.7, scale: 0.3}   # with media_prior: roi (ROI units)
  #   geometric_lam: {dist: beta, concentration1: 2, concentration0: 2}
  #   hill_k: {dist: gamma, concentration: 2, rate: 2}
  #   sigma: {dist: half_normal, scale: 0.3}
"""


def init_config_text() -> str:
    """The commented YAML template written by ``mediamix init-config``."""
    return INIT_CONFIG
