"""Checks to read before fitting: the known pitfalls of media mix data.

Each `Check` has a value, the threshold it is compared with, a verdict (``ok`` / ``warn``)
and advice. Thresholds (rules of thumb used in MMM practice):

- pairwise correlation of channel inputs: warn when ``|r| >= 0.8``;
- variance inflation factor ``VIF_j = 1 / (1 - R_j^2)`` (R_j^2 of channel j regressed on the
  other channels and the controls, with an intercept): warn when ``VIF >= 10``;
- spend variation, coefficient of variation ``CV = sd / mean``: warn when ``CV < 0.2``;
- share of periods with zero spend: warn when ``>= 0.5``;
- history length: warn when fewer than 5 periods per model parameter (an error below 3);
- negative KPI cells: warn when any (a KPI whose mean is <= 0 is refused when the data are
  read);
- a constant control: warn (it is aliased with the intercept).

A value that cannot be computed (NaN or infinite) is never ``ok``: its verdict is ``warn``
and the advice says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mediamix.data.dataset import Dataset
from mediamix.data.validation import estimate_n_params

CORR_WARN = 0.8
VIF_WARN = 10.0
CV_WARN = 0.2
ZERO_SHARE_WARN = 0.5
ROWS_PER_PARAM_WARN = 5.0


@dataclass(frozen=True)
class Check:
    """One diagnostic: what was measured on what, the verdict and what to do about it."""

    name: str
    subject: str
    value: float
    threshold: float
    verdict: str
    advice: str


@dataclass(frozen=True)
class Diagnostics:
    """All checks of a dataset plus the channel correlation matrix."""

    checks: tuple[Check, ...]
    channel_names: tuple[str, ...]
    correlation: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.verdict == "warn")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (NaN/inf become None/strings)."""
        return {
            "checks": [{**asdict(c), "value": _json_float(c.value)} for c in self.checks],
            "correlation": {
                "channels": list(self.channel_names),
                "matrix": [[_json_float(x) for x in row] for row in self.correlation],
            },
            "n_warnings": len(self.warnings),
            "notes": list(self.notes),
        }


def _json_float(x: float) -> float | str | None:
    x = float(x)
    if np.isnan(x):
        return None
    if np.isinf(x):
        return "inf"
    return x


def correlation_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson correlation of columns of ``x`` (T, C); constant columns give NaN off-diagonal."""
    x = np.asarray(x, dtype=float)
    xc = x - x.mean(axis=0)
    sd = np.sqrt((xc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = (xc.T @ xc) / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return r


def vif(x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Variance inflation factor of each column of ``x`` (T, C) given the other columns and
    ``extra`` (T, K) regressors: ``1 / (1 - R^2)`` of an OLS fit with intercept (inf when the
    column is an exact combination of the others)."""
    x = np.asarray(x, dtype=float)
    t, c = x.shape
    others_extra = np.zeros((t, 0)) if extra is None else np.asarray(extra, dtype=float)
    out = np.empty(c)
    for j in range(c):
        y = x[:, j]
        z = np.column_stack([np.ones(t), np.delete(x, j, axis=1), others_extra])
        if z.shape[1] == 1:
            out[j] = 1.0
            continue
        coef, *_ = np.linalg.lstsq(z, y, rcond=None)
        resid = y - z @ coef
        ss_tot = ((y - y.mean()) ** 2).sum()
        if ss_tot == 0:
            out[j] = np.inf
            continue
        r2 = 1.0 - (resid**2).sum() / ss_tot
        out[j] = np.inf if r2 >= 1.0 - 1e-12 else 1.0 / (1.0 - r2)
    return out


NOT_FINITE = "could not be computed (the value is not finite): check the inputs for extreme values."


def _verdict(value: float, bad: bool) -> str:
    return "warn" if bad or not np.isfinite(value) else "ok"


def diagnostics(dataset: Dataset, n_params: int | None = None) -> Diagnostics:
    """Run every check on ``dataset``; ``n_params`` defaults to `estimate_n_params`."""
    with np.errstate(all="ignore"):
        return _diagnostics(dataset, n_params)


def _diagnostics(dataset: Dataset, n_params: int | None) -> Diagnostics:
    names = dataset.channel_names
    media = dataset.media
    spend = dataset.spend
    checks: list[Check] = []

    corr = correlation_matrix(media) if media.shape[1] > 1 else np.ones((1, 1))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            r = corr[i, j]
            bad = bool(np.isfinite(r) and abs(r) >= CORR_WARN)
            checks.append(
                Check(
                    "correlation",
                    f"{names[i]} ~ {names[j]}",
                    float(r),
                    CORR_WARN,
                    _verdict(float(r), bad),
                    f"{names[i]} ~ {names[j]}: correlation {NOT_FINITE[:-1]} or a constant input."
                    if not np.isfinite(r)
                    else (
                        f"{names[i]} and {names[j]} move together (r = {r:.2f}); the model "
                        "cannot split their effects well. Consider merging them, an informative "
                        "prior (ROI or experiment), or varying one of them on purpose."
                    )
                    if bad
                    else "low enough to separate the two channels.",
                )
            )

    vifs = vif(media, dataset.control_values)
    for name, value in zip(names, vifs):
        bad = bool(value >= VIF_WARN)
        checks.append(
            Check(
                "vif",
                name,
                float(value),
                VIF_WARN,
                _verdict(float(value), bad),
                f"{name}: VIF {NOT_FINITE}"
                if np.isnan(value)
                else (
                    f"{name} is largely explained by the other channels/controls "
                    f"(VIF = {value:.1f}); its effect estimate will be unstable. Use priors "
                    "or merge correlated channels."
                )
                if bad
                else "not explained by the other inputs.",
            )
        )

    for k, name in enumerate(names):
        s = spend[:, k]
        mean = s.mean()
        cv = float(s.std() / mean) if mean > 0 else 0.0
        bad = cv < CV_WARN
        checks.append(
            Check(
                "spend_variation",
                name,
                cv,
                CV_WARN,
                _verdict(cv, bad),
                f"{name}: spend variation {NOT_FINITE}"
                if not np.isfinite(cv)
                else (
                    f"{name}'s spend barely varies (CV = {cv:.2f}); the data say little about "
                    "its response curve. Rely on priors/experiments, or vary spend on purpose."
                )
                if bad
                else "enough variation to learn from.",
            )
        )

    for k, name in enumerate(names):
        share = float(np.mean(spend[:, k] == 0))
        bad = share >= ZERO_SHARE_WARN
        checks.append(
            Check(
                "zero_spend",
                name,
                share,
                ZERO_SHARE_WARN,
                "warn" if bad else "ok",
                (
                    f"{name} spends nothing in {share:.0%} of periods; its effect rests on few "
                    "periods. Check that the zeros are real (not missing data)."
                )
                if bad
                else "spends in most periods.",
            )
        )

    if n_params is None:
        n_params = estimate_n_params(len(names), len(dataset.control_names))
    n_t = dataset.n_periods if not dataset.geos else dataset.n_periods // len(dataset.geos)
    ratio = n_t / n_params
    bad = ratio < ROWS_PER_PARAM_WARN
    checks.append(
        Check(
            "history_length",
            f"{n_t} periods / {n_params} parameters",
            float(ratio),
            ROWS_PER_PARAM_WARN,
            "warn" if bad else "ok",
            (
                f"only {ratio:.1f} periods per parameter; estimates will lean on the priors. "
                "Use a longer history, fewer channels or controls, or informative priors."
            )
            if bad
            else "enough history for the number of parameters.",
        )
    )
    kpi = getattr(dataset, "kpi_values", None)
    if kpi is not None:
        kpi = np.asarray(kpi, dtype=float)
        neg = np.flatnonzero(kpi < 0)
        dates = getattr(dataset, "dates", None)
        shown = [f"{dates[i]:%Y-%m-%d}" if dates is not None else f"row {i + 1}" for i in neg[:5]]
        where = ", ".join(shown) + (f" and {len(neg) - 5} more" if len(neg) > 5 else "")
        checks.append(
            Check(
                "kpi_negative",
                getattr(dataset, "kpi_name", "KPI"),
                float(len(neg)),
                0.0,
                "warn" if len(neg) else "ok",
                (
                    f"the KPI is negative in {len(neg)} period(s) ({where}); a KPI such as "
                    "sales cannot be below 0. Check those values (returns netted into the wrong "
                    "period? a sign error?)."
                )
                if len(neg)
                else "the KPI is never negative.",
            )
        )
    controls = np.asarray(dataset.control_values, dtype=float)
    for k, name in enumerate(dataset.control_names):
        spread = float(np.ptp(controls[:, k])) if len(controls) else 0.0
        checks.append(
            Check(
                "control_variation",
                name,
                spread,
                0.0,
                "warn" if spread == 0 else "ok",
                (
                    f"control '{name}' has the same value in every period, so it is aliased "
                    "with the intercept and its effect cannot be estimated. Fix: drop it from "
                    "the controls."
                )
                if spread == 0
                else "varies over the periods.",
            )
        )
    return Diagnostics(tuple(checks), tuple(names), np.asarray(corr), tuple(dataset.notes))


def checks_from_arrays(data: Any) -> dict[str, Any]:
    """The checks of :func:`diagnostics` on a fitted model's arrays (``data`` has
    ``channel_names``, ``control_names``, ``media``, ``spend`` and ``controls``); returns
    ``Diagnostics.to_dict()``."""
    from types import SimpleNamespace

    spend = np.asarray(data.spend, dtype=float)
    T = len(spend)
    ds = SimpleNamespace(
        channel_names=list(data.channel_names),
        control_names=list(data.control_names),
        media=np.asarray(data.media, dtype=float),
        spend=spend,
        control_values=np.asarray(data.controls, dtype=float).reshape(T, -1),
        n_periods=T,
        geos=[],
        notes=(),
    )
    return diagnostics(ds).to_dict()


def panel_checks(panel: Any) -> tuple[Check, ...]:
    """The checks of a geo panel (`mediamix.data.panel.Panel`) beyond those of its national
    roll-up: per channel, the geos that never spend on it (a warning: the channel's effect
    there rests on pooling with the other geos)."""
    spend = np.asarray(panel.spend, dtype=float)  # (G, T, C)
    out = []
    for c, name in enumerate(panel.channel_names):
        never = [g for i, g in enumerate(panel.geos) if not np.any(spend[i, :, c] > 0)]
        shown = ", ".join(f"'{g}'" for g in never[:5]) + (
            f" and {len(never) - 5} more" if len(never) > 5 else ""
        )
        out.append(
            Check(
                "geo_never_spends",
                name,
                float(len(never)),
                0.0,
                "warn" if never else "ok",
                (
                    f"{len(never)} of {len(panel.geos)} geos never spend on {name} ({shown}); "
                    "its effect there rests on the other geos. Check that the zeros are real."
                )
                if never
                else f"every geo spends on {name} in some period.",
            )
        )
    return tuple(out)
