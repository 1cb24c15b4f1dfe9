"""The validation battery: refit the run's own spec on the run's data and test the fit.

``validate(run_dir_or_fitted, folds=4, horizon=8, method="svi", seed=0)`` runs five tests,
each ending in pass / review / fail with one sentence:

- ``cross_validation``: rolling-origin time-series cross-validation. ``folds`` refits, fold i
  trained on the periods before origin_i and forecasting the next ``horizon`` periods with the
  actual media and controls; the origins are ``T - (folds - i) * horizon`` so the forecast
  windows tile the last ``folds * horizon`` periods. Out-of-sample MAPE and the share of the
  actual KPI inside the central predictive interval, per fold and pooled.
- ``placebo``: a channel whose spend is a random permutation (over time) of the biggest
  channel's spend is added; it carries no effect, so its ROAS interval must reach zero.
- ``perturbation``: every period's spend (and media) times ``exp(noise * z)``, z standard
  normal (5% by default); no channel's ROAS may move outside its interval.
- ``refresh``: the fit without the last ``refresh`` periods (8) against the fit with them; how
  far each channel's ROAS moves, relative to the width of its interval.
- ``comparison``: the fitted spec against alternatives (by default another saturation family
  and another trend) by PSIS-LOO ELPD over the same periods, with the hold-out MAPE of the last
  ``horizon`` periods beside it. An alternative is clearly better when its ELPD is higher by
  more than 4 and by more than 2 standard errors of the difference (below 4 a difference is
  small, whatever its standard error).

The refits use SVI by default (``method="svi"``: 2000 steps, 500 draws), fast and close to
NUTS in its means, which is what cross-validation, perturbation, refresh and the comparison
read. The placebo uses short NUTS (``placebo_method="nuts"``: 2 chains x 300 draws) because it
asks whether an interval reaches zero: a mean-field SVI posterior of a positive effect is
log-normal and never piles up at zero, so its interval cannot say so honestly. Every refit
uses the same seed, so a difference between two refits comes from their data, not from the
random numbers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import MediamixError, SpecError
from mediamix.validation.common import (
    Refits,
    ValidationTest,
    experiments_before,
    load_fitted,
    refit_sampler,
    replace_data,
    run_level,
    worst,
)
from mediamix.validation.tables import text_table

logger = logging.getLogger(__name__)

TESTS = ("cross_validation", "placebo", "perturbation", "refresh", "comparison")

# thresholds of the verdicts (documented in the README and the report)
CV_MAPE_RATIO = (2.0, 4.0)  # out-of-sample MAPE / in-sample MAPE: pass up to 2, fail above 4
CV_MAPE_OK = 5.0  # an out-of-sample MAPE (%) this low passes whatever the ratio
CV_COVERAGE_GAP = (0.15, 0.35)  # coverage below level - 0.15: review; below level - 0.35: fail
PLACEBO_ZERO = 0.1  # the interval reaches zero: lower end <= 10% of the upper end
PLACEBO_FAIL = 0.5  # placebo ROAS mean >= half the real channel's: fail
SHIFT = (0.5, 1.0)  # perturbation (in half-widths) and refresh (in widths): pass, review
ELPD_Z = 2.0  # an alternative better by more than 2 standard errors of the difference
ELPD_SMALL = 4.0  # ... and by more than 4 (a smaller ELPD difference is small whatever its SE)


@dataclass(frozen=True)
class ValidationResult:
    """The battery's outcome: one `ValidationTest` per test, the settings and the time."""

    tests: tuple[ValidationTest, ...]
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    refits: int = 0
    run_dir: str | None = None

    @property
    def verdict(self) -> str:
        return worst(t.verdict for t in self.tests)

    def test(self, name: str) -> ValidationTest:
        for t in self.tests:
            if t.name == name:
                return t
        raise SpecError(f"no test '{name}' in this result; tests: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tests]

    def to_dict(self) -> dict[str, Any]:
        """The content of validation.json."""
        from mediamix import __version__
        from mediamix.jsonable import jsonable

        return jsonable({
            "verdict": self.verdict,
            "method": self.method,
            "settings": dict(self.settings),
            "seconds": self.seconds,
            "refits": self.refits,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "mediamix": __version__,
            "tests": [t.to_dict() for t in self.tests],
        })  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Write validation.json to ``path`` (a run folder, or a file name)."""
        from mediamix.runs import layout

        p = Path(path)
        if p.is_dir():
            p = p / layout.VALIDATION
        layout.write_json(p, self.to_dict())
        return p

    def summary_rows(self) -> list[dict[str, Any]]:
        return [{"test": t.name, "verdict": t.verdict, "value": t.value,
                 "threshold": t.threshold, "method": t.method, "seconds": round(t.seconds, 1)}
                for t in self.tests]  # fmt: skip

    def table(self, details: bool = True) -> str:
        """The battery as text: one line per test, its sentence, then each test's rows."""
        out = [text_table(self.summary_rows())]
        for t in self.tests:
            out.append(f"\n{t.name}: {t.verdict}. {t.advice}")
            if details and t.rows:
                out.append(text_table(list(t.rows)))
        out.append(f"\nverdict: {self.verdict} ({self.refits} refits in {self.seconds:.0f} s)")
        return "\n".join(out)


# -- the tests ---------------------------------------------------------------------------
def _roas(fitted, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from mediamix.analysis._util import interval

    return interval(fitted.roas_draws(), level)


def cv_origins(n_periods: int, folds: int, horizon: int) -> list[int]:
    """The first forecast period of each fold (0-based): the forecast windows tile the last
    ``folds * horizon`` periods; at least half of the series (and 20 periods) trains fold 1."""
    for name, v in (("folds", folds), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise SpecError(f"{name} must be a positive integer; got {v!r}")
    first = n_periods - folds * horizon
    need = max(20, (n_periods + 1) // 2)
    if first < need:
        raise SpecError(
            f"folds x horizon = {folds} x {horizon} leaves {first} of {n_periods} periods to "
            f"train the first fold; it needs at least {need}. Use fewer folds or a shorter "
            "horizon"
        )
    return [first + i * horizon for i in range(folds)]


def cross_validation(refits: Refits, folds: int, horizon: int, level: float, in_mape: float):
    from mediamix.inference import diagnostics as dg

    t0 = time.perf_counter()
    data = refits.fitted.data
    T = data.n_periods
    rows, ys, preds, means = [], [], [], []
    for i, o in enumerate(cv_origins(T, folds, horizon)):
        exps = experiments_before(refits.experiments, data, o)
        name = "data" if len(exps) == len(refits.experiments) else f"data-before-{o}"
        f = refits.fit(
            f"cross-validation fold {i + 1}/{folds}: train on {o} periods, forecast "
            f"{o + 1}-{o + horizon}", name, holdout=T - o, experiments=exps,
        )  # fmt: skip
        y = data.kpi[o : o + horizon]
        ey = f.expected_kpi().mean(0)[o : o + horizon]
        pred = f.predictive(seed=refits.seed)[:, o : o + horizon]
        ys.append(y)
        preds.append(pred)
        means.append(ey)
        rows.append({
            "fold": i + 1,
            "train_periods": o,
            "forecast": f"{_date(data, o)}..{_date(data, o + horizon - 1)}",
            "mape": dg.mape(y, ey),
            "coverage": dg.coverage(y, pred, level),
            "in_sample_mape": f.diagnostics.in_sample_mape if f.diagnostics else None,
        })  # fmt: skip
    y, ey, pred = np.concatenate(ys), np.concatenate(means), np.concatenate(preds, axis=1)
    mape, cov = dg.mape(y, ey), dg.coverage(y, pred, level)
    ratio = mape / in_mape if in_mape and in_mape > 0 else float("inf")
    gap = level - cov
    if (ratio <= CV_MAPE_RATIO[0] or mape <= CV_MAPE_OK) and gap <= CV_COVERAGE_GAP[0]:
        verdict = "pass"
        advice = (
            f"over {folds} folds of {horizon} periods the forecast MAPE is {mape:.1f}% "
            f"(in-sample {in_mape:.1f}%) and {cov:.0%} of the actual KPI lies inside the "
            f"{level:.0%} predictive interval: the model forecasts periods it has not seen."
        )
    else:
        verdict = (
            "fail" if ratio > CV_MAPE_RATIO[1] and mape > CV_MAPE_OK or gap > CV_COVERAGE_GAP[1]
            else "review"
        )  # fmt: skip
        advice = (
            f"the forecast MAPE is {mape:.1f}% against {in_mape:.1f}% in sample, and {cov:.0%} "
            f"of the actual KPI lies inside the {level:.0%} predictive interval: the fit "
            "explains its own periods better than new ones (over-fitting or a break in the "
            "series). Look at the worst fold; try fewer changepoints, a simpler trend, or the "
            "controls that explain the change."
        )
    rows.append({"fold": "all", "train_periods": None, "forecast": f"{folds} x {horizon}",
                 "mape": mape, "coverage": cov, "in_sample_mape": in_mape})  # fmt: skip
    return ValidationTest(
        "cross_validation", verdict, advice, value=mape, threshold=CV_MAPE_RATIO[0] * in_mape,
        method=refits.sampler.name, seconds=time.perf_counter() - t0, rows=tuple(rows),
    )  # fmt: skip


def _placebo_source(data, source: str | None) -> int:
    """The channel whose spend the placebo shuffles: ``source``, else the biggest spender."""
    names = list(data.channel_names)
    if source is None:
        return int(np.argmax(data.spend.sum(0)))
    if source in names:
        return names.index(source)
    from mediamix.errors import did_you_mean

    raise SpecError(
        f"placebo_of: no channel '{source}'; channels: {', '.join(names)}."
        f"{did_you_mean(source, names)}"
    )


def placebo(refits: Refits, level: float, sampler, seed: int, source: str | None = None):
    t0 = time.perf_counter()
    data = refits.fitted.data
    names = list(data.channel_names)
    src = _placebo_source(data, source)
    name = "placebo"
    while name in names:
        name = "_" + name
    perm = np.random.default_rng(seed).permutation(data.n_periods)
    pdata = replace_data(
        data,
        spend=np.column_stack([data.spend, data.spend[perm, src]]),
        media=np.column_stack([data.media, data.media[perm, src]]),
        channel_names=tuple(names) + (name,),
        cost_per_unit=np.append(data.cost_per_unit, data.cost_per_unit[src]),
    )
    f = refits.fit(
        f"placebo: '{name}', the spend of '{names[src]}' shuffled over time", "placebo",
        data=pdata, sampler=sampler,
    )  # fmt: skip
    m, lo, hi = _roas(f, level)
    pm, plo, phi = float(m[-1]), float(lo[-1]), float(hi[-1])
    sm = float(m[src])
    reaches_zero = plo <= 0 or plo <= PLACEBO_ZERO * phi
    rows = [{"channel": n, "roas_mean": float(m[i]), "roas_lower": float(lo[i]),
             "roas_upper": float(hi[i]), "placebo": i == len(names)}
            for i, n in enumerate(names + [name])]  # fmt: skip
    share = pm / sm if sm > 0 else float("inf")
    interval_text = f"{pm:.2f} [{plo:.2f}, {phi:.2f}]"
    if reaches_zero:
        verdict = "pass"
        advice = (
            f"the placebo (the spend of '{names[src]}' shuffled over time) gets ROAS "
            f"{interval_text}: its {level:.0%} interval reaches zero (lower end at most "
            f"{PLACEBO_ZERO:.0%} of the upper; effects are >= 0 by the prior), so the model does "
            "not invent an effect from spend that carries none."
        )
    else:
        verdict = "fail" if share >= PLACEBO_FAIL else "review"
        advice = (
            f"the placebo (the spend of '{names[src]}' shuffled over time) gets ROAS "
            f"{interval_text}, {share:.0%} of the real channel's {sm:.2f}: the model finds an "
            "effect where there is none, so the real channels' effects may be fitted noise or "
            "the prior. Tighten the media prior (or calibrate with experiments), add the "
            "controls that drive the KPI, or use a longer series."
        )
    return ValidationTest(
        "placebo", verdict, advice, value=pm, threshold=PLACEBO_ZERO * phi, method=sampler.name,
        seconds=time.perf_counter() - t0, rows=tuple(rows),
    )  # fmt: skip


def perturbation(refits: Refits, level: float, noise: float, seed: int):
    t0 = time.perf_counter()
    _check_noise(noise)
    data = refits.fitted.data
    z = np.random.default_rng(seed + 1).standard_normal(data.spend.shape)
    factor = np.exp(noise * z)
    pdata = replace_data(data, spend=data.spend * factor, media=data.media * factor)
    base = refits.fit("reference fit on the run's data", "data")
    f = refits.fit(f"perturbation: spend x exp({noise:g} z) per period", "perturbed", data=pdata)
    m0, lo0, hi0 = _roas(base, level)
    m1, lo1, hi1 = _roas(f, level)
    half = np.maximum((hi0 - lo0) / 2, 1e-12)
    shift = np.abs(m1 - m0) / half
    rows = [{"channel": n, "roas_mean": float(m0[i]), "roas_lower": float(lo0[i]),
             "roas_upper": float(hi0[i]), "perturbed_mean": float(m1[i]),
             "shift_half_widths": float(shift[i])}
            for i, n in enumerate(data.channel_names)]  # fmt: skip
    worst_i = int(np.nanargmax(shift))
    top = float(shift[worst_i])
    who = data.channel_names[worst_i]
    if top <= SHIFT[0]:
        verdict, advice = (
            "pass",
            (
                f"{noise:.0%} noise on every period's spend moves no ROAS by more than "
                f"{top:.2f} of its interval's half-width (most: '{who}'): the estimates do not "
                "hang on the exact spend figures."
            ),
        )
    else:
        verdict = "review" if top <= SHIFT[1] else "fail"
        where = "inside" if top <= SHIFT[1] else "outside"
        advice = (
            f"{noise:.0%} noise on spend moves the ROAS of '{who}' from {m0[worst_i]:.2f} to "
            f"{m1[worst_i]:.2f}, {where} its {level:.0%} interval [{lo0[worst_i]:.2f}, "
            f"{hi0[worst_i]:.2f}]: the estimate hangs on details of the spend series. Check "
            "that channel's spend for outliers and collinearity with other channels; a "
            "tighter prior or an experiment steadies it."
        )
    return ValidationTest(
        "perturbation", verdict, advice, value=top, threshold=SHIFT[0],
        method=refits.sampler.name, seconds=time.perf_counter() - t0, rows=tuple(rows),
    )  # fmt: skip


def _check_refresh(periods, n_periods: int) -> None:
    if (
        isinstance(periods, bool)
        or not isinstance(periods, int)
        or not 1 <= periods <= n_periods - 20
    ):
        raise SpecError(
            f"refresh_periods must be a number of periods between 1 and {n_periods - 20}; got "
            f"{periods!r}"
        )


def _check_noise(noise) -> None:
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 < noise < 1:
        raise SpecError(
            f"noise must be between 0 and 1 (a share of spend, e.g. 0.05); got {noise!r}"
        )


def refresh(refits: Refits, level: float, periods: int):
    t0 = time.perf_counter()
    data = refits.fitted.data
    _check_refresh(periods, data.n_periods)
    full = refits.fit("reference fit on the run's data", "data")
    short = refits.fit(f"refresh: without the last {periods} periods", "data", holdout=periods)
    m1, lo1, hi1 = _roas(full, level)
    m0, lo0, hi0 = _roas(short, level)
    width = np.maximum(hi1 - lo1, 1e-12)
    shift = np.abs(m1 - m0) / width
    rows = [{"channel": n, "roas_before": float(m0[i]), "roas_after": float(m1[i]),
             "after_lower": float(lo1[i]), "after_upper": float(hi1[i]),
             "shift_widths": float(shift[i])}
            for i, n in enumerate(data.channel_names)]  # fmt: skip
    worst_i = int(np.nanargmax(shift))
    top = float(shift[worst_i])
    who = data.channel_names[worst_i]
    if top <= SHIFT[0]:
        verdict, advice = (
            "pass",
            (
                f"adding the last {periods} periods moves no ROAS by more than {top:.2f} of its "
                f"interval's width (most: '{who}'): a refresh changes the story little."
            ),
        )
    else:
        verdict = "review" if top <= SHIFT[1] else "fail"
        advice = (
            f"adding the last {periods} periods moves the ROAS of '{who}' from "
            f"{m0[worst_i]:.2f} to {m1[worst_i]:.2f}, {top:.1f} times its {level:.0%} "
            "interval's width: the estimate rests on a few recent periods. Look at what "
            "changed in them (a campaign, a new control); expect the number to move again."
        )
    return ValidationTest(
        "refresh", verdict, advice, value=top, threshold=SHIFT[0], method=refits.sampler.name,
        seconds=time.perf_counter() - t0, rows=tuple(rows),
    )  # fmt: skip


def default_alternatives(spec) -> list[tuple[str, Any]]:
    """One or two alternative specs: another saturation family (additive form) and another
    trend (none for a linear / piecewise trend, linear for none)."""
    out = []
    if spec.form == "additive":
        other = "logistic" if spec.saturation == "hill" else "hill"
        out.append((f"saturation={other}", spec.replace(saturation=other)))
    trend = "none" if spec.trend != "none" else "linear"
    out.append((f"trend={trend}", spec.replace(trend=trend)))
    return out


def alternative(spec, changes: dict[str, Any], where: str = "alternative"):
    """The spec with some settings changed, checked like a YAML model section."""
    from mediamix.model.spec import ModelSpec

    if not changes:
        raise SpecError(f"{where}: give at least one setting, e.g. saturation=logistic")
    return ModelSpec.from_dict({**spec.to_dict(), **changes}, where=where)


def comparison(refits: Refits, level: float, horizon: int, alternatives):
    from mediamix.inference import diagnostics as dg
    from mediamix.validation.elpd import likelihood_periods, loo

    t0 = time.perf_counter()
    data = refits.fitted.data
    T = data.n_periods
    specs = [("fitted", refits.fitted.spec)] + list(alternatives)
    fits = []
    for i, (name, spec) in enumerate(specs):
        f = refits.fit(f"comparison {i + 1}/{len(specs)}: {name}, hold-out {horizon}", "data",
                       holdout=horizon, spec=spec)  # fmt: skip
        fits.append(f)
    periods = np.logical_and.reduce([likelihood_periods(f) for f in fits])
    res = [loo(f, periods) for f in fits]
    base = res[0]["pointwise"]
    rows = []
    for (name, _), f, r in zip(specs, fits, res):
        d = r["pointwise"] - base
        y = data.kpi[T - horizon :]
        pred = f.predictive(seed=refits.seed)[:, T - horizon :]
        rows.append({
            "spec": name,
            "elpd_loo": r["elpd"],
            "se": r["se"],
            "diff_vs_fitted": float(d.sum()),
            "diff_se": float(np.sqrt(len(d) * np.var(d))),
            "p_loo": r["p_loo"],
            "bad_pareto_k": r["bad_k"],
            "holdout_mape": dg.mape(y, f.expected_kpi().mean(0)[T - horizon :]),
            "holdout_coverage": dg.coverage(y, pred, level),
        })  # fmt: skip
    z = [r["diff_vs_fitted"] / r["diff_se"] if r["diff_se"] > 0 else 0.0 for r in rows[1:]]
    best = int(np.argmax(z)) + 1 if z else 0
    top = max(z) if z else 0.0
    # clearly better: an ELPD higher by more than 4 and by more than 2 SE of the difference
    bar = max(ELPD_SMALL, ELPD_Z * rows[best]["diff_se"]) if z else ELPD_SMALL
    gain = rows[best]["diff_vs_fitted"] if z else 0.0
    clear = gain > bar
    fitted_row, best_row = rows[0], rows[best]
    bad_k = sum(r["bad_pareto_k"] for r in rows)
    note = f" {bad_k} period(s) have Pareto k > 0.7, so LOO is rough there." if bad_k else ""
    if not clear:
        verdict = "pass"
        advice = (
            f"no alternative predicts left-out periods clearly better than the fitted spec "
            f"(by more than {ELPD_SMALL:g} in ELPD and {ELPD_Z:g} standard errors of the "
            f"difference; best: {rows[best]['spec'] if z else 'none'}, "
            f"{rows[best]['diff_vs_fitted']:+.1f}, {top:+.1f} SE); hold-out MAPE "
            f"{fitted_row['holdout_mape']:.1f}% over the last {horizon} periods.{note}"
        )
    else:
        better_holdout = best_row["holdout_mape"] < fitted_row["holdout_mape"]
        verdict = "fail" if better_holdout else "review"
        advice = (
            f"the alternative {best_row['spec']} has an ELPD higher by "
            f"{best_row['diff_vs_fitted']:.1f} ({top:.1f} SE) and a hold-out MAPE of "
            f"{best_row['holdout_mape']:.1f}% against {fitted_row['holdout_mape']:.1f}%: "
            + ("it predicts better in and out of sample; refit with it."
               if better_holdout else
               "it fits the periods better but does not forecast better; consider it.")
            + note
        )  # fmt: skip
    return ValidationTest(
        "comparison", verdict, advice, value=gain, threshold=bar, method=refits.sampler.name,
        seconds=time.perf_counter() - t0, rows=tuple(rows),
    )  # fmt: skip


def _date(data, i: int) -> str:
    return str(np.datetime64(data.dates[i], "D"))


# -- the battery ---------------------------------------------------------------------------
def validate(
    run_dir_or_fitted,
    *,
    folds: int = 4,
    horizon: int = 8,
    method: Any = "svi",
    seed: int = 0,
    level: float | None = None,
    tests: tuple[str, ...] | list[str] | None = None,
    placebo_method: Any = "nuts",
    placebo_of: str | None = None,
    noise: float = 0.05,
    refresh_periods: int = 8,
    alternatives: list | None = None,
    progress: Any = False,
    write: bool | None = None,
) -> ValidationResult:
    """Run the battery (module doc) on a run folder or a `FittedModel`.

    ``method``: the sampler of the refits ('svi' | 'nuts' or a sampler object);
    ``placebo_method`` the placebo's; ``tests``: a subset of `TESTS`; ``alternatives``: the
    specs to compare with, as ``[(name, ModelSpec), ...]`` or ``[{setting: value}, ...]``
    (default: `default_alternatives`); ``progress``: True prints a line per refit and the
    sampler's progress bar (or a function that takes each line). ``write`` (default: when a
    run folder is given) writes validation.json into the run folder.
    """
    t0 = time.perf_counter()
    fitted, run_dir = load_fitted(run_dir_or_fitted)
    if isinstance(tests, str):
        tests = [tests]
    chosen = list(TESTS if tests is None else tests)
    for t in chosen:
        if t not in TESTS:
            from mediamix.errors import did_you_mean

            raise SpecError(
                f"unknown test '{t}'; tests: {', '.join(TESTS)}.{did_you_mean(t, TESTS)}"
            )
    level = run_level(run_dir, level)
    sampler = refit_sampler(method)
    p_sampler = refit_sampler(placebo_method)
    T = fitted.data.n_periods
    if "cross_validation" in chosen:
        origins = cv_origins(T, folds, horizon)
    else:
        origins = []
    if "comparison" in chosen and not 1 <= horizon <= T - 20:
        raise SpecError(f"horizon must be between 1 and {T - 20} periods; got {horizon}")
    if "perturbation" in chosen:
        _check_noise(noise)
    if "refresh" in chosen:
        _check_refresh(refresh_periods, T)
    if "placebo" in chosen:
        _placebo_source(fitted.data, placebo_of)
    if alternatives is None:
        alts = default_alternatives(fitted.spec)
    else:
        alts = []
        for i, a in enumerate(alternatives):
            if isinstance(a, dict):
                name = ",".join(f"{k}={v}" for k, v in a.items())
                alts.append((name, alternative(fitted.spec, a, f"alternatives[{i}]")))
            else:
                alts.append((str(a[0]), a[1]))
    refits = Refits(fitted, sampler, seed, progress)
    keys = []
    if {"perturbation", "refresh"} & set(chosen) or "cross_validation" in chosen:
        keys.append(refits.key("data"))
    for o in origins:
        exps = experiments_before(refits.experiments, fitted.data, o)
        name = "data" if len(exps) == len(refits.experiments) else f"data-before-{o}"
        keys.append(refits.key(name, T - o))
    if "placebo" in chosen:
        keys.append(refits.key("placebo", sampler=p_sampler))
    if "perturbation" in chosen:
        keys.append(refits.key("perturbed"))
    if "refresh" in chosen:
        keys.append(refits.key("data", refresh_periods))
    if "comparison" in chosen:
        keys += [refits.key("data", horizon, spec=s) for _, s in [("fitted", fitted.spec)] + alts]
    refits.plan(keys)

    def cv():
        ref = refits.fit("reference fit on the run's data", "data")
        in_mape = ref.diagnostics.in_sample_mape if ref.diagnostics else None
        return cross_validation(refits, folds, horizon, level, float(in_mape or 0.0))

    run = {
        "cross_validation": cv,
        "placebo": lambda: placebo(refits, level, p_sampler, seed, placebo_of),
        "perturbation": lambda: perturbation(refits, level, noise, seed),
        "refresh": lambda: refresh(refits, level, refresh_periods),
        "comparison": lambda: comparison(refits, level, horizon, alts),
    }
    out = []
    for name in TESTS:
        if name not in chosen:
            continue
        t1 = time.perf_counter()
        try:
            out.append(run[name]())
        except MediamixError as exc:  # e.g. a spec that cannot take a placebo channel
            logger.info("validation test %s could not run: %s", name, exc)
            out.append(ValidationTest(
                name, "review", f"this test could not run: {exc}", method=sampler.name,
                seconds=time.perf_counter() - t1,
            ))  # fmt: skip
    settings = {
        "folds": folds, "horizon": horizon, "seed": seed, "level": level, "noise": noise,
        "refresh_periods": refresh_periods, "placebo_method": p_sampler.name,
        "sampler": repr(sampler), "placebo_sampler": repr(p_sampler),
        "alternatives": [n for n, _ in alts] if "comparison" in chosen else [],
        "periods": T, "tests": chosen,
    }  # fmt: skip
    result = ValidationResult(
        tests=tuple(out), method=sampler.name, settings=settings,
        seconds=time.perf_counter() - t0, refits=len(refits.cache),
        run_dir=str(run_dir) if run_dir is not None else None,
    )  # fmt: skip
    if write or (write is None and run_dir is not None):
        if run_dir is None:
            raise SpecError("write=True needs a run folder; call result.save(path) instead")
        result.save(run_dir)
    return result
