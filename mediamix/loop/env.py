"""The environment of the learning loop: a simulated world written as YAML.

::

    periods: 52            # decision periods in the loop
    history: 52            # periods of past data before the loop starts, run on `initial`
    budget: 12000          # per period
    baseline: 20000        # KPI without media, per period
    noise_sd: 1200         # KPI noise per period
    history_jitter: 0.25   # +-25% per-period variation of the historical split
    initial: {tv: 7000, search: 2500, social: 1800, display: 700}
    max_move: 0.3          # optional guard-rail: the most a channel moves per period
    channels:
      - name: tv
        response: {type: hill, beta: 9000, k: 6000, s: 1.4}  # on adstocked spend, per period
        adstock: {type: geometric, lam: 0.55, max_lag: 8}
        bounds: [1000, 10000]                                # optional guard-rail

Each channel's response is a saturation family of `mediamix.transforms` (any registered name)
applied to its adstocked spend; the adstock is an adstock family of the same registry (its
weights are normalised to sum to 1 unless ``normalize: false``, so a steady spend ``x`` acts
as ``x``). The file is read through one schema (:class:`EnvSpec`); every mistake is one
`SpecError` naming its key path (``env.channels[0].response.beta: expected a number, got
'lots'``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from mediamix.errors import SpecError, did_you_mean
from mediamix.optimize.response import Response
from mediamix.optimize.schema import response_params
from mediamix.schemas import Schema, number, validate
from mediamix.transforms.adstock import get_adstock

WHERE = "env"
MAX_PERIODS = 520  # ten years of weeks, as the optimizer's flighting limit
MAX_LAG = 104


class ChannelEnv(Schema):
    """One channel of the world: its true response, its adstock and optional bounds."""

    name: str = Field(min_length=1)
    response: dict[str, Any]
    adstock: dict[str, Any] | None = None
    bounds: tuple[float | None, float | None] | None = None


class EnvSpec(Schema):
    """The environment file (see the module docstring)."""

    periods: int = Field(ge=1, le=MAX_PERIODS)
    history: int = Field(ge=12, le=MAX_PERIODS)
    budget: float = Field(gt=0, allow_inf_nan=False)
    baseline: float = Field(ge=0, allow_inf_nan=False)
    noise_sd: float = Field(ge=0, allow_inf_nan=False)
    history_jitter: float = Field(default=0.0, ge=0, lt=1)
    initial: dict[str, float]
    max_move: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    channels: list[ChannelEnv] = Field(min_length=1)


@dataclass(frozen=True)
class WorldChannel:
    """One channel of the true world: ``curve`` (KPI per period of the adstocked spend, a
    `Response` with ``unit_price`` 1), the adstock weights ``weights (L,)`` and bounds."""

    name: str
    curve: Response
    adstock: str
    adstock_params: Mapping[str, Any]
    weights: np.ndarray
    lower: float = 0.0
    upper: float | None = None

    @property
    def gain(self) -> float:
        """Adstocked spend per unit of steady spend (``sum_l w_l``)."""
        return float(np.sum(self.weights))

    def steady_curve(self) -> Response:
        """Steady spend per period -> KPI per period once the carry-over has built up."""
        from dataclasses import replace

        return replace(self.curve, unit_price=1.0 / self.gain)


@dataclass(frozen=True)
class Environment:
    """A validated environment: the numbers of the file, each channel a `WorldChannel`."""

    periods: int
    history: int
    budget: float
    baseline: float
    noise_sd: float
    history_jitter: float
    initial: np.ndarray  # (C,) spend per period in the history, by channel order
    channels: tuple[WorldChannel, ...]
    max_move: float | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def n(self) -> int:
        return len(self.channels)

    @property
    def max_lag(self) -> int:
        return max(len(c.weights) for c in self.channels)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(lower, upper)`` spend per period (``inf`` where unbounded)."""
        lo = np.array([c.lower for c in self.channels], dtype=float)
        hi = np.array([np.inf if c.upper is None else c.upper for c in self.channels])
        return lo, hi

    @classmethod
    def from_dict(cls, data: Any) -> Environment:
        if not isinstance(data, Mapping):
            raise SpecError(
                f"{WHERE}: expected a mapping (periods, history, budget, ..., channels), got "
                f"{type(data).__name__}"
            )
        spec = validate(EnvSpec, dict(data), WHERE)
        return from_spec(spec)

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> Environment:
        """Read an environment file (or YAML text)."""
        from mediamix.yamlio import read_yaml

        return cls.from_dict(read_yaml(path_or_text, "environment"))


def _adstock(spec: Mapping[str, Any] | None, where: str) -> tuple[str, dict, np.ndarray]:
    """``(family, params, weights (L,))`` from a channel's ``adstock`` mapping."""
    if spec is None:
        return "none", {}, np.ones(1)
    spec = dict(spec)
    name = spec.pop("type", None)
    if name is None:
        raise SpecError(f"{where}.type: required key is missing (e.g. type: geometric)")
    try:
        fam = get_adstock(str(name))
    except SpecError as exc:
        raise SpecError(f"{where}.type: {exc}") from None
    if "max_lag" not in spec:
        raise SpecError(f"{where}.max_lag: required key is missing (periods of carry-over)")
    L = number(spec.pop("max_lag"), f"{where}.max_lag", integer=True)
    if not 1 <= L <= MAX_LAG:
        raise SpecError(f"{where}.max_lag: must be between 1 and {MAX_LAG}, got {L}")
    allowed = set(fam.params) | set(fam.options)
    params: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in allowed:
            raise SpecError(
                f"{where}: unknown key '{key}'; adstock '{fam.name}' takes "
                f"{', '.join(['type', 'max_lag', *fam.params, *fam.options])}."
                + did_you_mean(str(key), sorted(allowed))
            )
        if key == "normalize":
            if not isinstance(value, bool):
                raise SpecError(f"{where}.normalize: expected true or false, got {value!r}")
            params[key] = value
        else:
            params[key] = number(value, f"{where}.{key}")
    missing = [p for p in fam.params if p not in params]
    if missing:
        raise SpecError(f"{where}.{missing[0]}: required key is missing")
    if "normalize" in fam.options:
        params.setdefault("normalize", True)
    w = np.asarray(fam.weights(L=int(L), **params), dtype=float).reshape(-1)
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise SpecError(f"{where}: the adstock weights are not finite and >= 0 ({params})")
    return fam.name, params, w


def from_spec(spec: EnvSpec) -> Environment:
    """The `Environment` of a validated `EnvSpec` (cross-key checks, registry look-ups)."""
    names = [c.name for c in spec.channels]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"{WHERE}.channels: channel names must be unique; repeated: {dup}")
    unknown = [k for k in spec.initial if k not in names]
    if unknown:
        raise SpecError(
            f"{WHERE}.initial.{unknown[0]}: not a channel; channels: {', '.join(names)}."
            + did_you_mean(unknown[0], names)
        )
    missing = [n for n in names if n not in spec.initial]
    if missing:
        raise SpecError(
            f"{WHERE}.initial.{missing[0]}: required key is missing (the spend per period of "
            "every channel in the history)"
        )
    for k, v in spec.initial.items():
        if not (math.isfinite(v) and v >= 0):
            raise SpecError(f"{WHERE}.initial.{k}: expected a finite number >= 0, got {v!r}")
    initial = np.array([spec.initial[n] for n in names], dtype=float)
    if initial.sum() <= 0:
        raise SpecError(f"{WHERE}.initial: the history needs some spend (all are 0)")
    channels = []
    for i, c in enumerate(spec.channels):
        where = f"{WHERE}.channels[{i}]"
        family, params = response_params(c.response, f"{where}.response")
        for k, v in params.items():
            if np.ndim(v) != 0:
                raise SpecError(f"{where}.response.{k}: the true world takes one number")
        try:
            curve = Response(c.name, family, params)
        except SpecError as exc:
            raise SpecError(f"{where}.response: {exc}") from None
        ad, ad_params, w = _adstock(c.adstock, f"{where}.adstock")
        lo, hi = 0.0, None
        if c.bounds is not None:
            lo = 0.0 if c.bounds[0] is None else float(c.bounds[0])
            hi = None if c.bounds[1] is None else float(c.bounds[1])
            if not (math.isfinite(lo) and lo >= 0) or (
                hi is not None and not (math.isfinite(hi) and hi >= lo)
            ):
                raise SpecError(
                    f"{where}.bounds: expected [lower, upper] with 0 <= lower <= upper, got "
                    f"{list(c.bounds)}"
                )
        channels.append(WorldChannel(c.name, curve, ad, ad_params, w, lo, hi))
    env = Environment(
        periods=spec.periods,
        history=spec.history,
        budget=spec.budget,
        baseline=spec.baseline,
        noise_sd=spec.noise_sd,
        history_jitter=spec.history_jitter,
        initial=initial,
        channels=tuple(channels),
        max_move=spec.max_move,
    )
    lo, hi = env.bounds()
    if lo.sum() > env.budget:
        raise SpecError(
            f"{WHERE}.channels: the lower bounds add up to {lo.sum():g}, above the budget "
            f"{env.budget:g}; lower them or raise the budget"
        )
    if hi.sum() < env.budget:
        raise SpecError(
            f"{WHERE}.channels: the upper bounds add up to {hi.sum():g}, below the budget "
            f"{env.budget:g}; raise them or lower the budget"
        )
    if env.history <= env.max_lag + 4:
        raise SpecError(
            f"{WHERE}.history: {env.history} periods leave too few after the longest adstock "
            f"({env.max_lag} lags) to fit a model; give at least {env.max_lag + 5}"
        )
    return env
