"""The experiment designer: which channel to test next, with what spend change, for how long.

``design_test(fitted, budget, channels=None, weeks=(2, 4, 8), changes=(-1.0, 0.5, 1.0))``
scores every candidate test (channel x spend change x duration) by simulating it under the
posterior (a pre-posterior analysis):

1. **The test.** It runs over the last ``periods`` periods of the fitted window before a
   carry-over tail, and its lift is measured until the window's last period (the tail: the lags
   that hold 90% of the channel's mean adstock weight). It changes the channel's spend by
   ``change`` x its mean spend per period, evenly in every test period, on top of the spend the
   data show; ``spend_change`` is the total change, exactly as an experiment row with
   ``in_data: false`` spreads it. An even cut can take no period below zero, so a cut (a pause:
   -1) is capped at the smallest spend in the test periods, and the design's ``change`` is the
   share it can realise (a pause of a channel whose spend varies becomes, say, -79%).
2. **Its lift under each draw.** ``lift_s`` = the expected KPI over the measurement window with
   the change minus without it, through the model's full adstock and saturation
   (``fitted.expected_kpi(media)``), one value per posterior draw s.
3. **Its noise.** A time-series test measures the lift with the KPI's own noise over the
   measurement window: ``lift_se = sqrt(sum_t Var(y_t))``, the model's per-period variance
   (``(sigma kpi_scale)^2`` for the additive normal likelihood; the Student-t and log-normal
   variances otherwise) averaged over the draws and summed over the window; ``se_scale``
   multiplies it (a geo test measures more precisely: ``se_scale < 1``).
4. **The update, by importance reweighting.** A true draw s* is drawn from the posterior, the
   measured lift ``y = lift_s* + lift_se * e`` (e standard normal), and every draw is
   reweighted by the likelihood of that measurement, ``w_s ~ N(y | lift_s, lift_se)``. The
   weighted draws approximate the posterior after the test (exact as the number of draws
   grows, when the test's likelihood is this normal one; it cannot move mass to values the
   draws do not visit, so a very informative test needs many draws: the effective sample
   size ``ess`` of the weights says when, and a design with ``ess`` below ``MIN_ESS`` is
   marked unreliable). The width of the channel's central ROAS interval under the weights,
   averaged over ``repeats`` simulated outcomes, is the expected width after the test.
5. **The ranking.** Budget at risk: the extra spend of an increase; for a cut or a pause the
   expected KPI value lost (``kpi_value x E[-lift]``). Designs are ranked by the expected
   reduction of the interval's width per unit of budget at risk; the best design whose cost
   is within ``budget`` is recommended.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError, did_you_mean
from mediamix.validation.common import load_fitted, run_level
from mediamix.validation.tables import text_table

#: below this effective sample size of the weights the width after a test is rough
MIN_ESS = 30
#: the share of a channel's adstock weight the measurement tail covers
TAIL_MASS = 0.9
PERIODS_PER_WEEK = {"D": 7.0, "W": 1.0, "M": 12 / 52.18}


@dataclass(frozen=True)
class TestDesign:
    """One candidate test and what it is expected to do to its channel's ROAS interval."""

    channel: str
    change: float  # the spend change per test period, a share of the channel's mean spend
    weeks: float
    periods: int
    start: str
    end: str
    measure_end: str
    spend_change: float  # total, money (negative for a cut)
    cost: float  # budget at risk, money
    cost_kind: str  # "extra spend" | "expected KPI value lost"
    lift_mean: float
    lift_lower: float
    lift_upper: float
    lift_se: float
    width_now: float
    width_after: float
    reduction: float  # 1 - width_after / width_now
    score: float  # (width_now - width_after) / cost
    ess: float
    within_budget: bool
    reliable: bool

    def experiment(self) -> dict[str, Any]:
        """The test as an experiment row (lift and lift_se to be filled in once measured)."""
        return {"channel": self.channel, "start": self.start, "end": self.end,
                "measure_end": self.measure_end, "spend_change": self.spend_change,
                "in_data": False}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        from mediamix.jsonable import jsonable

        return jsonable({**asdict(self), "experiment": self.experiment()})


@dataclass(frozen=True)
class DesignResult:
    """The ranked designs (best first), the recommended one and the settings."""

    designs: tuple[TestDesign, ...]
    recommended: TestDesign | None
    budget: float
    message: str
    settings: dict[str, Any] = field(default_factory=dict)
    run_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The content of test_design.json."""
        from mediamix import __version__
        from mediamix.jsonable import jsonable

        return jsonable({
            "budget": self.budget,
            "message": self.message,
            "recommended": self.recommended.to_dict() if self.recommended else None,
            "settings": dict(self.settings),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "mediamix": __version__,
            "designs": [d.to_dict() for d in self.designs],
        })  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Write test_design.json to ``path`` (a run folder, or a file name)."""
        from mediamix.runs import layout

        p = Path(path)
        if p.is_dir():
            p = p / layout.TEST_DESIGN
        layout.write_json(p, self.to_dict())
        return p

    def rows(self, top: int | None = None) -> list[dict[str, Any]]:
        return [{
            "channel": d.channel, "change": f"{d.change:+.0%}",
            "weeks": int(d.weeks) if float(d.weeks).is_integer() else d.weeks,
            "spend_change": d.spend_change, "at_risk": d.cost, "lift": d.lift_mean,
            "lift_se": d.lift_se, "width_now": d.width_now, "width_after": d.width_after,
            "reduction": f"{d.reduction:.0%}", "per_1k_at_risk": 1000 * d.score,
            "in_budget": d.within_budget, "ess": round(d.ess),
        } for d in self.designs[:top]]  # fmt: skip

    def table(self, top: int | None = None) -> str:
        out = [text_table(self.rows(top))]
        out.append(f"\n{self.message}")
        return "\n".join(out)


def _numbers(values, name: str, positive: bool = False) -> tuple[float, ...]:
    if isinstance(values, int | float):
        values = (values,)
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise SpecError(f"{name}: {v!r} is not a number") from None
        if not math.isfinite(f) or (positive and f <= 0):
            raise SpecError(f"{name}: {v!r} must be a {'positive ' if positive else ''}number")
        out.append(f)
    if not out:
        raise SpecError(f"{name}: give at least one value")
    return tuple(out)


def weighted_width(values: np.ndarray, weights: np.ndarray, level: float) -> np.ndarray:
    """Width of the central ``level`` interval of ``values`` (S,) under each row of
    ``weights`` (R, S) (rows sum to 1): the quantiles are the first sorted values whose
    cumulative weight reaches (1 -/+ level) / 2."""
    order = np.argsort(values)
    v = values[order]
    cw = np.cumsum(weights[:, order], axis=1)
    lo = np.clip((cw < (1 - level) / 2).sum(1), 0, len(v) - 1)
    hi = np.clip((cw < (1 + level) / 2).sum(1), 0, len(v) - 1)
    return v[hi] - v[lo]


def noise_variance(fitted, comps=None) -> np.ndarray:
    """The model's variance of the KPI per period (original units), averaged over draws, (T,)."""
    k = fitted.scalers.kpi_scale
    sigma = np.asarray(fitted.params["sigma"], dtype=np.float64)
    lik = fitted.spec.likelihood
    T = fitted.data.n_periods
    if lik == "lognormal":
        c = comps if comps is not None else fitted.components()
        mu = c["mu"].astype(np.float64)
        s2 = sigma[:, None] ** 2
        return ((np.exp(s2) - 1) * np.exp(2 * mu + s2)).mean(0) * k**2
    var = (sigma * k) ** 2
    if lik == "student_t":
        nu = np.asarray(fitted.params["nu"], dtype=np.float64)
        var = np.where(nu > 2, var * nu / np.maximum(nu - 2, 1e-9), var * 3.0)
    return np.full(T, float(np.mean(var)))


def carry_over_tail(fitted, channel: int, max_tail: int) -> int:
    """The number of periods after a test that hold the rest of its channel's carry-over:
    the lags up to ``TAIL_MASS`` of the mean adstock weight (at most ``max_tail``)."""
    w = fitted.adstock_weights()[:, channel, :].mean(0)
    if w.sum() <= 0:
        return 0
    cum = np.cumsum(w) / w.sum()
    return int(min(max_tail, int(np.argmax(cum >= TAIL_MASS))))


def design_test(
    fitted,
    budget: float,
    *,
    channels: list[str] | None = None,
    weeks=(2, 4, 8),
    changes=(-1.0, 0.5, 1.0),
    level: float | None = None,
    repeats: int = 200,
    se_scale: float = 1.0,
    tail: int | None = None,
    seed: int = 0,
    write: bool | None = None,
) -> DesignResult:
    """Rank candidate tests (module doc) on a `FittedModel` or a run folder.

    ``budget``: the most money at risk a test may have; ``channels``: the channels to consider
    (default: every channel with spend); ``weeks``: durations; ``changes``: spend changes per
    test period as shares of the channel's mean spend (-1: a pause, 0.5: +50%); ``repeats``:
    simulated outcomes per design; ``tail``: the measurement tail in periods (default: from
    the adstock). ``write`` (default: when a run folder is given) writes test_design.json.
    """
    from mediamix.analysis._util import interval

    fitted, run_dir = load_fitted(fitted)
    (budget,) = _numbers(budget, "budget", positive=True)
    weeks = _numbers(weeks, "weeks", positive=True)
    changes = _numbers(changes, "changes")
    for c in changes:
        if c == 0 or c < -1:
            raise SpecError(
                f"changes: {c:g} is not a spend change; give shares of the channel's mean spend "
                "per period, e.g. -1 (a pause), -0.5, 0.5, 1 (double)"
            )
    level = run_level(run_dir, level)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 10:
        raise SpecError(f"repeats must be an integer >= 10; got {repeats!r}")
    (se_scale,) = _numbers(se_scale, "se_scale", positive=True)
    if fitted.n_draws < 50:
        raise SpecError(
            f"the fit has {fitted.n_draws} draw(s); the designer reweights posterior draws, so "
            "fit with method nuts or svi (at least 50 draws, 1000 or more is better)"
        )
    data = fitted.data
    names = list(fitted.channel_names)
    n_w = int(fitted.n_train)  # the test ends with the fitted window
    spend_w = data.spend[getattr(fitted, "window", slice(0, n_w))]
    if channels is None:
        chosen = [i for i, n in enumerate(names) if spend_w[:, i].sum() > 0]
    else:
        chosen = []
        for n in channels:
            if n not in names:
                raise SpecError(
                    f"channels: no channel '{n}'; channels: {', '.join(names)}."
                    f"{did_you_mean(n, names)}"
                )
            chosen.append(names.index(n))
    if not chosen:
        raise SpecError("no channel with spend in the fitted window to test")
    per_week = PERIODS_PER_WEEK.get(data.freq, 1.0)
    kpi_value = float(fitted.spec.kpi_value)
    comps = fitted.components()
    base_kpi = fitted.expected_kpi(comps=comps)
    var_t = noise_variance(fitted, comps)
    roas = fitted.roas_draws()
    rng = np.random.default_rng(seed)
    S = fitted.n_draws
    max_lag = int(fitted.structure.max_lag)
    rows: list[TestDesign] = []
    skipped: list[str] = []
    seen: set[tuple] = set()
    for c in chosen:
        t_c = carry_over_tail(fitted, c, max_lag - 1) if tail is None else int(tail)
        r_c = roas[:, c]
        if not np.all(np.isfinite(r_c)):
            skipped.append(f"'{names[c]}' (no ROAS draws)")
            continue
        width_now = float(weighted_width(r_c, np.full((1, S), 1.0 / S), level)[0])
        mean_spend = float(spend_w[:, c].mean())
        cpu = float(data.cost_per_unit[c]) if data.cost_per_unit[c] > 0 else 1.0
        for wk in weeks:
            d = max(1, int(round(wk * per_week)))
            end = n_w - 1 - t_c
            start = end - d + 1
            if start < 0:
                skipped.append(f"{wk:g} weeks of '{names[c]}' (longer than the fitted window)")
                continue
            for ch in changes:
                old = data.spend[start : end + 1, c]
                per = ch * mean_spend
                if per < 0:  # an even cut takes no period below zero spend
                    per = max(per, -float(old.min()))
                if per == 0:
                    skipped.append(
                        f"{ch:+.0%} on '{names[c]}' for {wk:g} weeks (a period without spend "
                        "to cut)"
                    )
                    continue
                if (c, d, round(per, 9)) in seen:  # two cuts capped to the same one
                    continue
                seen.add((c, d, round(per, 9)))
                delta = per * d
                media = data.media.copy()
                media[start : end + 1, c] += per / cpu
                ek = fitted.expected_kpi(media)
                lift = (ek - base_kpi)[:, start:n_w].sum(1)
                lift_se = se_scale * float(np.sqrt(var_t[start:n_w].sum()))
                lm, llo, lhi = interval(lift, level)
                if delta > 0:
                    cost, kind = delta, "extra spend"
                else:
                    cost, kind = (
                        max(0.0, -kpi_value * float(lift.mean())),
                        "expected KPI value lost",
                    )
                idx = rng.integers(S, size=repeats)
                y = lift[idx] + lift_se * rng.standard_normal(repeats)
                logw = -0.5 * ((y[:, None] - lift[None, :]) / lift_se) ** 2
                logw -= logw.max(1, keepdims=True)
                w = np.exp(logw)
                w /= w.sum(1, keepdims=True)
                ess = float(np.mean(1.0 / (w**2).sum(1)))
                width_after = float(weighted_width(r_c, w, level).mean())
                gain = width_now - width_after
                rows.append(TestDesign(
                    channel=names[c], change=float(per / mean_spend), weeks=float(wk), periods=d,
                    start=_date(data, start), end=_date(data, end),
                    measure_end=_date(data, n_w - 1), spend_change=delta, cost=float(cost),
                    cost_kind=kind, lift_mean=float(lm), lift_lower=float(llo),
                    lift_upper=float(lhi), lift_se=lift_se, width_now=width_now,
                    width_after=width_after,
                    reduction=float(gain / width_now) if width_now > 0 else 0.0,
                    score=float(gain / cost) if cost > 0 else 0.0, ess=ess,
                    within_budget=bool(cost <= budget), reliable=bool(ess >= MIN_ESS),
                ))  # fmt: skip
    if not rows:
        raise SpecError("no candidate test fits the data: " + "; ".join(skipped))
    ranked = sorted(rows, key=lambda d: (not d.within_budget, -d.score))
    best = next((d for d in ranked if d.within_budget and d.reduction > 0), None)
    if best is None:
        cheapest = min(rows, key=lambda d: d.cost)
        message = (
            f"no design fits a budget at risk of {budget:,.0f}: the cheapest "
            f"({cheapest.channel}, {cheapest.change:+.0%} for {cheapest.weeks:g} weeks) puts "
            f"{cheapest.cost:,.0f} at risk. Raise --budget, or try smaller changes or fewer weeks."
        )
    else:
        message = (
            f"recommended: test '{best.channel}' with {best.change:+.0%} of its mean spend per "
            f"period for {best.weeks:g} weeks ({best.start}..{best.end}, spend change "
            f"{best.spend_change:,.0f}, measured until {best.measure_end}); {best.cost:,.0f} at "
            f"risk ({best.cost_kind}). Expected: its {level:.0%} ROAS interval narrows from "
            f"{best.width_now:.2f} to {best.width_after:.2f} wide ({best.reduction:.0%} "
            f"narrower); the lift should be about {best.lift_mean:,.0f} "
            f"(measurement SE {best.lift_se:,.0f})."
        )
        if not best.reliable:
            message += (
                f" The test is more informative than the fit's {S} draws can show (weights' "
                f"ESS {best.ess:.0f} < {MIN_ESS}); the width after is rough: refit with more "
                "draws to confirm."
            )
    if skipped:
        message += " Skipped: " + "; ".join(skipped) + "."
    settings = {"weeks": list(weeks), "changes": list(changes), "level": level,
                "repeats": repeats, "se_scale": se_scale, "tail": tail, "seed": seed,
                "draws": S, "channels": [names[c] for c in chosen]}  # fmt: skip
    result = DesignResult(
        designs=tuple(ranked), recommended=best, budget=float(budget), message=message,
        settings=settings, run_dir=str(run_dir) if run_dir is not None else None,
    )  # fmt: skip
    if write or (write is None and run_dir is not None):
        if run_dir is None:
            raise SpecError("write=True needs a run folder; call result.save(path) instead")
        result.save(run_dir)
    return result


def _date(data, i: int) -> str:
    return str(np.datetime64(data.dates[i], "D"))
