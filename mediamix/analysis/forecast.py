"""The weeks ahead: a forecast of the KPI for a planned spend, and the certified forward plan.

:func:`forecast` extends the fitted data by ``H`` periods (dates at the data's frequency,
the known future controls and events of a small table ``date, <control>...``, the planned
spend) and evaluates the model's own components on every posterior draw: the trend and the
seasonality continue as fitted, and the media term runs the model's own adstock over the
history and the plan together, so the last weeks of history keep working into the plan
(carry-in). The band is the posterior predictive interval (observation noise included), so
it is the interval a realised KPI should fall in.

:func:`forward_plan` builds the horizon problem (:func:`mediamix.optimize.horizon.horizon_problem`),
solves it certified and forecasts the KPI of the plan it returns.
Works on a `FittedModel` (duck-typed: ``data``, ``scalers``, ``structure``, ``n_train``,
``params``, ``spec``, ``components``-style maths through ``_components_fn``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import DataError, SpecError
from mediamix.jsonable import jsonable

FUTURE_LIMIT_ROWS = 520


@dataclass(frozen=True)
class Forecast:
    """The KPI over ``H`` future periods. Shapes: ``dates (H,)``; ``kpi``, ``kpi_lower``,
    ``kpi_upper`` (H,) the expected KPI's mean and its credible band; ``lower``, ``upper`` (H,)
    the predictive band at ``level`` (noise included); ``baseline`` (H,) with
    ``baseline_lower`` / ``baseline_upper``; ``media`` (H, C) each channel's mean contribution
    (carry-in included); ``carry_in`` (H, C) the part from the history's spend alone;
    ``draws`` (S', H) predictive draws (a few per posterior draw); ``messages``: controls
    that were filled in."""

    dates: np.ndarray
    kpi: np.ndarray
    kpi_lower: np.ndarray
    kpi_upper: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    baseline: np.ndarray
    baseline_lower: np.ndarray
    baseline_upper: np.ndarray
    media: np.ndarray
    carry_in: np.ndarray
    channel_names: tuple[str, ...]
    level: float
    draws: np.ndarray
    messages: tuple[str, ...] = field(default_factory=tuple)

    def date_strings(self) -> list[str]:
        return [str(d)[:10] for d in np.asarray(self.dates, dtype="datetime64[D]")]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "dates": self.date_strings(),
                "level": self.level,
                "kpi": self.kpi.tolist(),
                "kpi_lower": self.kpi_lower.tolist(),
                "kpi_upper": self.kpi_upper.tolist(),
                "lower": self.lower.tolist(),
                "upper": self.upper.tolist(),
                "baseline": self.baseline.tolist(),
                "baseline_lower": self.baseline_lower.tolist(),
                "baseline_upper": self.baseline_upper.tolist(),
                "media": {n: self.media[:, c].tolist() for c, n in enumerate(self.channel_names)},
                "carry_in": {
                    n: self.carry_in[:, c].tolist() for c, n in enumerate(self.channel_names)
                },
                "messages": list(self.messages),
            }
        )


def future_dates(fitted: Any, horizon: int) -> np.ndarray:
    """The ``horizon`` dates after the fitted data at its frequency, ``(H,)`` datetime64."""
    d = fitted.data
    last = pd.Timestamp(np.asarray(d.dates)[-1])
    freq = str(d.freq)[:1].upper()
    if freq == "D":
        out = [last + pd.Timedelta(days=k) for k in range(1, horizon + 1)]
    elif freq == "M":
        out = [last + pd.DateOffset(months=k) for k in range(1, horizon + 1)]
    else:
        out = [last + pd.Timedelta(weeks=k) for k in range(1, horizon + 1)]
    return np.array(out, dtype="datetime64[ns]")


def read_future(source: str | Path | pd.DataFrame, fitted: Any, horizon: int) -> np.ndarray:
    """Known future controls ``(H, K)`` from a table ``date, <control>...`` (a CSV path or a
    frame). Every control of the model needs a value in every planned period; a control
    left out of the table is an error naming it, unless it is an event (0 when not given).
    Rows for dates outside the horizon are ignored; a missing date is named."""
    if isinstance(source, pd.DataFrame):
        frame, where = source.copy(), "the future table"
    else:
        path = Path(source)
        where = f"future table {path}"
        if not path.is_file():
            raise DataError(f"{where}: no such file; give a CSV with columns date, <control>...")
        try:
            frame = pd.read_csv(path, sep=None, engine="python")
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{where}: cannot read it as CSV ({exc})") from None
    if len(frame) > FUTURE_LIMIT_ROWS:
        raise DataError(f"{where}: {len(frame)} rows, above the limit of {FUTURE_LIMIT_ROWS}")
    frame.columns = [str(c).strip() for c in frame.columns]
    if "date" not in frame.columns:
        raise DataError(
            f"{where}: needs a 'date' column (got columns {list(frame.columns)}); write one row "
            "per planned period: date, <control>..."
        )
    names = list(fitted.data.control_names)
    unknown = [c for c in frame.columns if c != "date" and c not in names]
    if unknown:
        raise DataError(
            f"{where}: column(s) {unknown} are not controls of the model; its controls: "
            f"{names or 'none'}"
        )
    dates = pd.to_datetime(frame["date"], errors="coerce")
    bad = [i for i, v in enumerate(dates) if pd.isna(v)]
    if bad:
        raise DataError(
            f"{where}: row {bad[0] + 1}: date {frame['date'].iloc[bad[0]]!r} is not a date "
            "(write YYYY-MM-DD)"
        )
    frame["date"] = dates.dt.normalize()
    want = pd.to_datetime(future_dates(fitted, horizon)).normalize()
    by_date = frame.drop_duplicates("date", keep="last").set_index("date")
    missing = [str(d.date()) for d in want if d not in by_date.index]
    events = _event_names(fitted)
    out = np.zeros((horizon, len(names)))
    for k, c in enumerate(names):
        if c not in frame.columns:
            if c in events:
                continue
            raise DataError(
                f"{where}: no column for control '{c}'; the plan needs its value in every "
                f"planned period ({str(want[0].date())} .. {str(want[-1].date())})"
            )
        if missing:
            raise DataError(
                f"{where}: no row for date(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}"
                f"; the planned periods are {str(want[0].date())} .. {str(want[-1].date())}"
            )
        vals = pd.to_numeric(by_date.loc[want, c], errors="coerce").to_numpy(dtype=float)
        bad = np.nonzero(~np.isfinite(vals))[0]
        if bad.size:
            raise DataError(
                f"{where}: column '{c}', date {str(want[bad[0]].date())}: "
                f"{by_date.loc[want[bad[0]], c]!r} is not a number"
            )
        out[:, k] = vals
    return out


def _event_names(fitted: Any) -> set[str]:
    names = list(fitted.data.control_names)
    return {names[i] for i in getattr(fitted.structure, "event_idx", ())}


def default_future(fitted: Any, horizon: int) -> tuple[np.ndarray, list[str]]:
    """Future controls without a table: events 0, other controls held at their mean over
    the last year of history (the messages name them)."""
    d = fitted.data
    names = list(d.control_names)
    if not names:
        return np.zeros((horizon, 0)), []
    events = _event_names(fitted)
    per_year = {"D": 365, "M": 12}.get(str(d.freq)[:1].upper(), 52)
    tail = np.asarray(d.controls, dtype=float)[-per_year:]
    out = np.tile(tail.mean(axis=0), (horizon, 1))
    msgs = []
    held = [c for c in names if c not in events]
    for k, c in enumerate(names):
        if c in events:
            out[:, k] = 0.0
    if held:
        msgs.append(
            f"no future table: control(s) {held} are held at their mean over the last "
            f"{min(per_year, len(tail))} periods; give --future controls.csv for known values"
        )
    if events & set(names):
        msgs.append(f"no future table: event(s) {sorted(events & set(names))} are off (0)")
    return out, msgs


def _extended(fitted: Any, spend_f: np.ndarray, controls_f: np.ndarray):
    """The fitted data followed by the planned periods (a `ModelData`)."""
    from mediamix.model.data import ModelData

    d = fitted.data
    H = spend_f.shape[0]
    cpu = np.asarray(d.cost_per_unit, dtype=float)
    return ModelData(
        dates=np.concatenate([np.asarray(d.dates, "datetime64[ns]"), future_dates(fitted, H)]),
        kpi=np.concatenate([np.asarray(d.kpi, float), np.full(H, float(np.mean(d.kpi)))]),
        spend=np.concatenate([np.asarray(d.spend, float), spend_f]),
        media=np.concatenate([np.asarray(d.media, float), spend_f / cpu[None, :]]),
        controls=np.concatenate(
            [np.asarray(d.controls, float).reshape(d.n_periods, -1), controls_f.reshape(H, -1)]
        ),  # fmt: skip
        channel_names=tuple(d.channel_names),
        control_names=tuple(d.control_names),
        cost_per_unit=cpu,
        freq=d.freq,
    )


def _components(fitted: Any, spend_f: np.ndarray, controls_f: np.ndarray) -> dict:
    from mediamix.model.design import build_design

    ext = _extended(fitted, spend_f, controls_f)
    design = build_design(ext, fitted.scalers, fitted.structure, fitted.n_train)
    out = fitted._components_fn(fitted.params, design)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def forecast(
    fitted: Any,
    horizon: int,
    spend: np.ndarray | None = None,
    future: str | Path | pd.DataFrame | np.ndarray | None = None,
    level: float = 0.9,
    seed: int = 0,
) -> Forecast:
    """The KPI of the ``horizon`` periods after the data, for planned ``spend`` ``(H, C)``
    (original units; zeros when ``None``: the baseline plus the carry-in alone).

    ``future``: the known future controls (a CSV path or frame ``date, <control>...``, or an
    array ``(H, K)``); without it events are 0 and other controls held at their recent mean.
    """
    if not 0 < level < 1:
        raise SpecError(f"level must be in (0, 1) (got {level})")
    H = int(horizon)
    d = fitted.data
    C = len(d.channel_names)
    spend_f = np.zeros((H, C)) if spend is None else np.asarray(spend, dtype=float)
    if spend_f.shape != (H, C):
        raise SpecError(
            f"spend must have shape (horizon, channels) = {(H, C)}; got {spend_f.shape}"
        )
    if np.any(~np.isfinite(spend_f)) or np.any(spend_f < 0):
        raise SpecError("planned spend must be finite numbers >= 0")
    msgs: list[str] = []
    if future is None:
        controls_f, msgs = default_future(fitted, H)
    elif isinstance(future, np.ndarray):
        controls_f = np.asarray(future, dtype=float).reshape(H, -1)
    else:
        controls_f = read_future(future, fitted, H)
    if not fitted.structure.additive:
        raise SpecError(
            "forward plans need the additive form (the optimizer's curves of a multiplicative "
            "model are tables of today's mix); refit with form: additive"
        )
    T0 = d.n_periods
    comps = _components(fitted, spend_f, controls_f)
    zero = _components(fitted, np.zeros((H, C)), controls_f)
    k = float(fitted.scalers.kpi_scale)
    mu = comps["mu"][:, T0:] * k  # (S, H)
    base = comps["baseline"][:, T0:] * k
    media = comps["media"][:, T0:, :] * k
    carry = zero["media"][:, T0:, :] * k
    pred = _predictive(fitted, comps["mu"][:, T0:], seed) * k
    a = (1 - level) / 2
    q = lambda v: (np.quantile(v, a, axis=0), np.quantile(v, 1 - a, axis=0))  # noqa: E731
    klo, khi = q(mu)
    plo, phi = q(pred)
    blo, bhi = q(base)
    return Forecast(
        dates=future_dates(fitted, H),
        kpi=mu.mean(0),
        kpi_lower=klo,
        kpi_upper=khi,
        lower=plo,
        upper=phi,
        baseline=base.mean(0),
        baseline_lower=blo,
        baseline_upper=bhi,
        media=media.mean(0),
        carry_in=carry.mean(0),
        channel_names=tuple(d.channel_names),
        level=float(level),
        draws=pred,
        messages=tuple(msgs),
    )


MIN_PREDICTIVE = 400  # predictive samples at least (a few noise draws per posterior draw)


def _predictive(fitted: Any, mu: np.ndarray, seed: int) -> np.ndarray:
    """Predictive draws in model units from the location ``mu`` (S, H): the likelihood's noise
    with each draw's own scale (normal, Student-t or lognormal, as the fit); each posterior
    draw gets ``ceil(MIN_PREDICTIVE / S)`` noise draws, so a fit with few draws (MAP: one)
    still has a predictive band. Shape ``(S * reps, H)``."""
    rng = np.random.default_rng(seed)
    reps = max(1, -(-MIN_PREDICTIVE // mu.shape[0]))
    mu = np.repeat(mu, reps, axis=0)
    sigma = np.repeat(np.asarray(fitted.params["sigma"], dtype=np.float64), reps)[:, None]
    lik = fitted.spec.likelihood
    if lik == "student_t":
        nu = np.repeat(np.asarray(fitted.params["nu"], dtype=np.float64), reps)[:, None]
        eps = rng.standard_t(np.broadcast_to(nu, mu.shape)) * sigma
    else:
        eps = rng.standard_normal(mu.shape) * sigma
    z = mu + eps
    return np.exp(z) if lik == "lognormal" else z


def dark_periods(
    fitted: Any, horizon: int, dark: Mapping[str, Sequence[str | int]] | None
) -> dict[str, list[int]]:
    """Dark periods given by date (``{"tv": ["2026-12-21"]}``) or index, as period indices;
    a date outside the horizon or an unknown channel is an error naming it."""
    if not dark:
        return {}
    dates = pd.to_datetime(future_dates(fitted, horizon)).normalize()
    names = list(fitted.channel_names)
    out: dict[str, list[int]] = {}
    for ch, values in dark.items():
        if ch not in names:
            raise SpecError(f"dark: unknown channel '{ch}'; channels: {names}")
        idx = []
        for v in values:
            if isinstance(v, int | np.integer) and not isinstance(v, bool):
                t = int(v)
            else:
                when = pd.to_datetime(str(v), errors="coerce")
                if pd.isna(when):
                    raise SpecError(f"dark: {ch}:{v}: not a date (write YYYY-MM-DD)")
                hits = np.nonzero(dates == when.normalize())[0]
                if not hits.size:
                    # a date inside a period (weekly data: any day of that week) names it
                    hits = np.nonzero((dates <= when) & (when < dates + (dates[1] - dates[0] if
                                      len(dates) > 1 else pd.Timedelta(days=7))))[0]  # fmt: skip
                if not hits.size:
                    raise SpecError(
                        f"dark: {ch}:{v} is outside the planned periods "
                        f"{str(dates[0].date())} .. {str(dates[-1].date())}"
                    )
                t = int(hits[0])
            if not 0 <= t < horizon:
                raise SpecError(f"dark: {ch}:{v}: period {t} is outside 0..{horizon - 1}")
            idx.append(t)
        out[ch] = sorted(set(idx))
    return out


@dataclass(frozen=True)
class ForwardPlan:
    """A certified forward plan (`HorizonPlan`) with the forecast KPI of the plan."""

    horizon: Any  # mediamix.optimize.horizon.HorizonPlan
    forecast: Forecast

    @property
    def dates(self) -> list[str]:
        return self.forecast.date_strings()

    def to_dict(self) -> dict[str, Any]:
        out = self.horizon.to_dict()
        out["dates"] = self.dates
        out["forecast"] = self.forecast.to_dict()
        out["messages"] = list(out.get("messages", [])) + list(self.forecast.messages)
        return jsonable(out)

    def table(self) -> str:
        from mediamix.optimize.horizon import plan_table

        text = plan_table(self.horizon, self.dates, self.forecast)
        return text + "".join(f"\nnote: {m}" for m in self.forecast.messages)


def forward_plan(
    fitted: Any,
    horizon: int,
    budget: float | None = None,
    *,
    future: str | Path | pd.DataFrame | np.ndarray | None = None,
    dark: Mapping[str, Sequence[str | int]] | None = None,
    level: float = 0.9,
    seed: int = 0,
    **options: Any,
) -> ForwardPlan:
    """Plan ``horizon`` periods ahead with ``budget`` in all (certified; ``options`` are
    :func:`mediamix.optimize.horizon.horizon_problem`'s: ``max_change``, ``discount``,
    ``carry_out``, ``caps``, ``min_flight``, ``draws``, ...) and forecast its KPI."""
    from mediamix.optimize.horizon import horizon_problem, solve_horizon

    H = int(horizon)
    if future is not None and not isinstance(future, np.ndarray):
        future = read_future(future, fitted, H)  # a bad table fails before the solve
    problem = horizon_problem(fitted, H, budget, dark=dark_periods(fitted, H, dark), **options)
    hp = solve_horizon(problem)
    fc = forecast(fitted, H, spend=hp.spend, future=future, level=level, seed=seed)
    return ForwardPlan(hp, fc)
