"""The model review after every fit: checks with a verdict and one sentence of advice each.

``review(fitted) -> Review``. Every check is ``pass``, ``review`` (read the advice before
using the numbers) or ``fail`` (the numbers are not fit to report); the overall verdict is the
worst of them. A number that is not finite (NaN, infinity) in the results is a ``fail``, never
a silent blank. All checks are over the likelihood window (``fitted.window``), the hold-out
checks over the periods after it.

The thresholds (module constants, rules of thumb of MMM practice; stated so a user can argue
with them):

Fit
- ``r2``: in-sample R^2 of the posterior-mean expected KPI: pass >= ``R2_PASS`` (0.5), fail
  below ``R2_FAIL`` (0, worse than a flat line), review between.
- ``mape``: in-sample MAPE: pass <= ``MAPE_PASS`` (15%), fail above ``MAPE_FAIL`` (50%);
  on the hold-out pass <= ``HOLDOUT_MAPE_PASS`` (20%), fail above 50%.
- ``coverage``: share of observed periods inside the central ``level`` predictive interval,
  in-sample and on the hold-out. With ``n`` periods the tolerance is ``tol = max(0.1,
  2 sqrt(level (1 - level) / n))`` (binomial noise): pass >= level - tol, review >= level -
  2 tol, fail below; in-sample coverage above ``level + max((1 - level) / 2, 2 sd)`` (0.95
  at 90%; ``sd`` the binomial standard error, 30+ periods) is a review (the noise is
  overstated). Not computed for a point estimate (MAP).
- ``residual_autocorrelation``: lag-1 autocorrelation ``r1`` of the in-sample residuals and
  the Ljung-Box test over ``min(10, n // 5)`` lags: pass when ``|r1| < AUTOCORR_REVIEW`` (0.3)
  and the Ljung-Box p-value >= ``LJUNG_BOX_P`` (0.001); fail when ``|r1| >=
  AUTOCORR_FAIL`` (0.7); review otherwise.

Decomposition
- ``baseline``: the baseline (expected KPI minus media) as a share of the KPI, per draw:
  fail when the posterior probability of a negative total baseline exceeds
  ``BASELINE_NEG_FAIL`` (0.5); review when it exceeds ``BASELINE_NEG_REVIEW`` (0.05) or when
  the posterior-mean baseline is negative in more than ``BASELINE_NEG_PERIODS`` (10%) of the
  periods.
- ``media_share``: total media contribution / total KPI (posterior mean): pass in
  [``MEDIA_SHARE_MIN``, ``MEDIA_SHARE_REVIEW``] = [0.5%, 50%], review up to
  ``MEDIA_SHARE_FAIL`` (80%) or below 0.5%, fail above 80% or below 0.

Convergence
- NUTS: ``rhat`` (max split R-hat): pass <= ``RHAT_PASS`` (1.01), fail > ``RHAT_FAIL`` (1.1);
  one chain is a review (not checked). ``ess`` (min bulk and tail ESS): pass >= ``ESS_PASS``
  (400), fail < ``ESS_FAIL`` (100). ``divergences`` (share of draws): pass at 0, fail >=
  ``DIVERGENCE_FAIL`` (1%), review between. ``bfmi``: review below ``BFMI_MIN`` (0.3).
- SVI and MAP: ``loss_trace``. SVI's loss trace (``info["losses"]``) with a decaying step
  size always flattens at the end, so the test looks at the second half of the run: the drop
  of the loss from the 50-60% decile of the trace to its last decile, per observation of the
  window, ``d`` (nats): pass < ``LOSS_REVIEW`` (0.05), fail >= ``LOSS_FAIL`` (0.1). MAP
  stops early when a chunk improves the loss by less than its tolerance: stopping at the step
  limit is a review (the mode was not confirmed). ``intervals`` is always a review: SVI
  intervals are approximate (usually too narrow), MAP has none; the sampler's convergence is
  not checked.
- ``Review.converged`` is False when ``rhat`` or ``loss_trace`` is not a pass or any
  convergence check fails; the badge then says "not converged".

Channels (one check per channel)
- ``spend_variation``: CV of spend over the window below ``CV_MIN`` (0.2, as ``mediamix
  check``): review.
- ``zero_spend``: share of periods without spend >= ``ZERO_SHARE`` (50%): review.
- ``roas``: posterior-mean ROAS below 0: fail; above ``ROAS_HIGH`` (20) times the data's KPI
  value per unit of all media spend (``kpi_value * sum KPI / sum spend`` over the window; a
  channel would return twenty times what the whole KPI returns per unit of spend): review.
- ``prior_shift``: prior-data conflict (:mod:`mediamix.analysis.prior_check`): a posterior in
  its prior's tail, or a posterior that barely moved from its prior: review.

Numbers
- ``finite``: the expected KPI, the contributions, ROAS and mROAS (channels with spend), the
  predictive draws and the fit statistics are all finite: else fail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mediamix.analysis.prior_check import PRIOR_DRAWS, SD_RATIO, prior_shift
from mediamix.inference.diagnostics import divergence_fix, with_settings

PASS, REVIEW, FAIL = "pass", "review", "fail"
VERDICTS = (PASS, REVIEW, FAIL)
_RANK = {PASS: 0, REVIEW: 1, FAIL: 2}

R2_PASS, R2_FAIL = 0.5, 0.0
MAPE_PASS, MAPE_FAIL = 15.0, 50.0
HOLDOUT_MAPE_PASS, HOLDOUT_MAPE_FAIL = 20.0, 50.0
COVERAGE_TOL = 0.1
AUTOCORR_REVIEW, AUTOCORR_FAIL, LJUNG_BOX_P = 0.3, 0.7, 0.001
BASELINE_NEG_REVIEW, BASELINE_NEG_FAIL, BASELINE_NEG_PERIODS = 0.05, 0.5, 0.1
MEDIA_SHARE_MIN, MEDIA_SHARE_REVIEW, MEDIA_SHARE_FAIL = 0.005, 0.5, 0.8
RHAT_PASS, RHAT_FAIL = 1.01, 1.1
ESS_PASS, ESS_FAIL = 400.0, 100.0
DIVERGENCE_FAIL = 0.01
BFMI_MIN = 0.3
LOSS_REVIEW, LOSS_FAIL = 0.05, 0.1
CV_MIN, ZERO_SHARE = 0.2, 0.5
ROAS_HIGH = 20.0

CONVERGENCE_CHECKS = ("rhat", "ess", "divergences", "bfmi", "loss_trace")


@dataclass(frozen=True)
class ReviewCheck:
    """One check: what was measured on what, against which threshold, the verdict, advice."""

    name: str
    subject: str
    value: float | None
    threshold: float | None
    verdict: str
    advice: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"], d["threshold"] = _num(self.value), _num(self.threshold)
        return d


@dataclass(frozen=True)
class Review:
    """The review of one fit: its checks, the overall verdict (the worst check) and whether
    the sampler or optimiser converged as far as checked."""

    checks: tuple[ReviewCheck, ...]
    verdict: str
    method: str = ""
    converged: bool = True
    prior_shift: tuple[dict[str, Any], ...] = field(default=())

    @classmethod
    def from_checks(cls, checks, method: str = "", prior_shift=()) -> Review:
        checks = tuple(checks)
        verdict = max((c.verdict for c in checks), key=_RANK.__getitem__, default=PASS)
        conv = [c for c in checks if c.name in CONVERGENCE_CHECKS]
        converged = not any(
            c.verdict == FAIL or (c.name in ("rhat", "loss_trace") and c.verdict != PASS)
            for c in conv
        )
        return cls(checks, verdict, method, converged, tuple(prior_shift))

    # -- reading ---------------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @property
    def issues(self) -> list[ReviewCheck]:
        """The checks that did not pass, failures first."""
        bad = [c for c in self.checks if c.verdict != PASS]
        return sorted(bad, key=lambda c: -_RANK[c.verdict])

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(1 for c in self.checks if c.verdict == v) for v in VERDICTS}

    @property
    def badge(self) -> str:
        """One word for lists: ``fail``, ``not converged``, ``review`` or ``pass``."""
        if self.verdict == FAIL:
            return FAIL
        if not self.converged:
            return "not converged"
        return self.verdict

    @property
    def label(self) -> str:
        """The badge as a phrase: 'review failed, not converged', 'needs review', ..."""
        words = {FAIL: "review failed", REVIEW: "needs review", PASS: "review passed"}
        if self.verdict == FAIL and not self.converged:
            return "review failed, not converged"
        if self.badge == "not converged":
            return "not converged"
        return words[self.verdict]

    @property
    def headline(self) -> str:
        n = self.counts
        parts = [f"{n[FAIL]} fail", f"{n[REVIEW]} to review", f"{n[PASS]} pass"]
        return f"model review: {self.label.upper()} ({', '.join(parts)})"

    def lines(self) -> list[str]:
        """The headline, then one line per check that did not pass (its advice)."""
        out = [self.headline]
        for c in self.issues:
            subj = f" {c.subject}" if c.subject else ""
            out.append(f"  {c.verdict:<6} {c.name}{subj}: {c.advice}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "badge": self.badge,
            "label": self.label,
            "converged": self.converged,
            "method": self.method,
            "counts": self.counts,
            "checks": [c.to_dict() for c in self.checks],
            "prior_shift": [dict(p) for p in self.prior_shift],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Review:
        checks = tuple(
            ReviewCheck(
                c["name"],
                c.get("subject", ""),
                c.get("value"),
                c.get("threshold"),
                c["verdict"],
                c.get("advice", ""),
            )  # fmt: skip
            for c in d.get("checks") or ()
        )
        verdict = d.get("verdict") or Review.from_checks(checks).verdict
        converged = bool(d.get("converged", True))
        return cls(checks, verdict, d.get("method", ""), converged,
                   tuple(d.get("prior_shift") or ()))  # fmt: skip


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _finite(v) -> bool:
    return v is not None and bool(np.isfinite(v))


def _check(name, subject, value, threshold, verdict, advice) -> ReviewCheck:
    """A check whose value is not a finite number fails, whatever the rule said."""
    if value is not None and not _finite(value):
        verdict = FAIL
        advice = f"{name} is not a finite number ({value}); " + advice
    return ReviewCheck(name, subject, _num(value), _num(threshold), verdict, advice)


# -- the window ------------------------------------------------------------------------------
def window_mask(fitted) -> np.ndarray:
    """The likelihood window as a boolean mask over the T periods."""
    T = fitted.data.n_periods
    w = getattr(fitted, "window", None)
    mask = np.zeros(T, dtype=bool)
    if w is None:
        mask[: fitted.n_train] = True
    elif isinstance(w, slice):
        mask[w] = True
    else:
        mask[np.asarray(w)] = True
    return mask


# -- fit -------------------------------------------------------------------------------------
def _r2(y, yhat) -> float:
    ss = float(np.sum((y - y.mean()) ** 2))
    return float(1 - np.sum((y - yhat) ** 2) / ss) if ss > 0 else float("nan")


def _mape(y, yhat) -> float:
    nz = y != 0
    if not nz.any():
        return float("nan")
    return float(np.mean(np.abs((y[nz] - yhat[nz]) / y[nz])) * 100)


def _coverage(y, pred, level) -> float:
    lo, hi = np.quantile(pred, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return float(np.mean((y >= lo) & (y <= hi)))


def fit_checks(y, ey, pred, train, hold, level) -> list[ReviewCheck]:
    out = []
    yt, et = y[train], ey[train]
    r2 = _r2(yt, et)
    v = PASS if r2 >= R2_PASS else (REVIEW if r2 >= R2_FAIL else FAIL)
    advice = {
        PASS: "the model follows the KPI.",
        REVIEW: (
            f"the model explains only {max(r2, 0):.0%} of the KPI's variation: add the "
            "controls, events or seasonality that drive it before trusting the split."
        ),
        FAIL: "the model fits worse than a flat line: check the data and the model settings.",
    }[v]
    out.append(_check("r2", "in-sample", r2, R2_PASS, v, advice))
    mape = _mape(yt, et)
    v = PASS if mape <= MAPE_PASS else (REVIEW if mape <= MAPE_FAIL else FAIL)
    advice = (
        "typical in-sample errors are small."
        if v == PASS
        else f"in-sample errors average {mape:.0f}% of the KPI: the model misses what drives "
        "it (controls, events, trend changes) or the KPI is near zero in some periods."
    )
    out.append(_check("mape", "in-sample", mape, MAPE_PASS, v, advice))
    if pred is not None:
        out.append(_coverage_check("in-sample", y[train], pred[:, train], level, over=True))
    if hold.any():
        mape = _mape(y[hold], ey[hold])
        v = PASS if mape <= HOLDOUT_MAPE_PASS else (REVIEW if mape <= HOLDOUT_MAPE_FAIL else FAIL)
        advice = (
            "the forecast of the held-out periods is close."
            if v == PASS
            else f"held-out periods are forecast with {mape:.0f}% average error: the model "
            "may over-fit or miss a change at the end; check the trend and recent controls."
        )
        out.append(_check("mape", "hold-out", mape, HOLDOUT_MAPE_PASS, v, advice))
        if pred is not None:
            out.append(_coverage_check("hold-out", y[hold], pred[:, hold], level, over=False))
    return out


def _coverage_check(subject, y, pred, level, over) -> ReviewCheck:
    n = len(y)
    cov = _coverage(y, pred, level)
    sd = np.sqrt(level * (1 - level) / max(n, 1))
    tol = max(COVERAGE_TOL, 2 * sd)
    if cov >= level - tol:
        high = level + max((1 - level) / 2, 2 * sd)
        v = REVIEW if over and n >= 30 and cov > high else PASS
    else:
        v = REVIEW if cov >= level - 2 * tol else FAIL
    if v == PASS:
        advice = f"{cov:.0%} of periods inside the {level:.0%} predictive interval, as expected."
    elif cov > level:
        advice = (
            f"{cov:.0%} of periods inside the {level:.0%} interval: the noise is overstated, "
            "so intervals are wider than the data need; check the likelihood and priors."
        )
    else:
        advice = (
            f"only {cov:.0%} of {subject} periods inside the {level:.0%} predictive interval: "
            "intervals are too narrow or the model misses structure (add controls or events, "
            "use likelihood: student_t, or fit with NUTS)."
        )
    return _check("coverage", subject, cov, level - tol, v, advice)


def residual_check(y, ey) -> ReviewCheck:
    e = np.asarray(y - ey, float)
    n = len(e)
    e = e - e.mean()
    den = float(np.sum(e**2))
    if n < 8 or den <= 0:
        return _check("residual_autocorrelation", "in-sample", None, AUTOCORR_REVIEW, PASS,
                      "too few periods (or no residual) to test.")  # fmt: skip
    h = max(1, min(10, n // 5))
    r = np.array([np.sum(e[k:] * e[:-k]) / den for k in range(1, h + 1)])
    q = n * (n + 2) * np.sum(r**2 / (n - np.arange(1, h + 1)))
    from scipy.stats import chi2

    p = float(chi2.sf(q, h))
    r1 = float(r[0])
    if abs(r1) >= AUTOCORR_FAIL:
        v = FAIL
    elif abs(r1) >= AUTOCORR_REVIEW or p < LJUNG_BOX_P:
        v = REVIEW
    else:
        v = PASS
    if v == PASS:
        advice = f"residuals look like noise (lag-1 {r1:.2f}, Ljung-Box p {p:.2g})."
    else:
        advice = (
            f"residuals are autocorrelated (lag-1 {r1:.2f}, Ljung-Box p {p:.2g} over {h} lags): "
            "the model misses slow structure (trend changes, seasonality, a control) that media "
            "may be absorbing; add it, e.g. trend: piecewise."
        )
    return _check("residual_autocorrelation", "in-sample", r1, AUTOCORR_REVIEW, v, advice)


# -- decomposition ----------------------------------------------------------------------------
def decomposition_checks(kpi_total, base_draws, base_periods, media_draws) -> list[ReviewCheck]:
    out = []
    share = base_draws / kpi_total if kpi_total else np.full_like(base_draws, np.nan)
    p_neg = float(np.mean(share < 0))
    neg_periods = float(np.mean(base_periods < 0))
    m = float(np.mean(share))
    if p_neg > BASELINE_NEG_FAIL:
        v = FAIL
        advice = (
            f"the baseline is negative (mean {m:.0%} of the KPI, probability {p_neg:.0%}): "
            "media are credited with more than all of the KPI. Tighten the media prior (e.g. "
            "a media share prior), add the controls that drive demand, or calibrate with "
            "experiments."
        )
    elif p_neg > BASELINE_NEG_REVIEW or neg_periods > BASELINE_NEG_PERIODS:
        v = REVIEW
        advice = (
            f"the baseline may be negative (probability {p_neg:.0%}; negative in "
            f"{neg_periods:.0%} of periods): media may be over-credited; check the media prior "
            "and missing controls."
        )
    else:
        v = PASS
        advice = f"the baseline is {m:.0%} of the KPI and positive."
    out.append(_check("baseline", "share of KPI", m, 0.0, v, advice))
    ms = media_draws / kpi_total if kpi_total else np.full_like(media_draws, np.nan)
    s = float(np.mean(ms))
    lo, hi = np.quantile(ms, [0.05, 0.95]) if np.isfinite(ms).all() else (np.nan, np.nan)
    span = f"{s:.0%} [{lo:.0%}, {hi:.0%}]"
    if s < 0 or s > MEDIA_SHARE_FAIL:
        v = FAIL
    elif s < MEDIA_SHARE_MIN or s > MEDIA_SHARE_REVIEW:
        v = REVIEW
    else:
        v = PASS
    if v == PASS:
        advice = f"media explain {span} of the KPI, a plausible range."
    elif s < MEDIA_SHARE_MIN:
        advice = (
            f"media explain {span} of the KPI, next to nothing: the data may not support a "
            "media effect at this noise level, or the priors pin it at zero."
        )
    else:
        advice = (
            f"media explain {span} of the KPI, more than most businesses can defend: the "
            "media prior or missing controls (demand, price, distribution) may inflate it."
        )
    out.append(_check("media_share", "share of KPI", s, MEDIA_SHARE_REVIEW, v, advice))
    return out


# -- convergence ----------------------------------------------------------------------------
def nuts_checks(diag: dict[str, Any], n_draws: int, chains: int | None) -> list[ReviewCheck]:
    out = []
    rhat = diag.get("max_rhat")
    if rhat is None:
        out.append(_check("rhat", "max", None, RHAT_PASS, REVIEW,
                          "one chain: agreement between chains was not checked; run 2 or more "
                          "chains (4 is the default)."))  # fmt: skip
    else:
        v = PASS if rhat <= RHAT_PASS else (REVIEW if rhat <= RHAT_FAIL else FAIL)
        advice = (
            "the chains agree."
            if v == PASS
            else f"R-hat is {rhat:.3f}: the chains disagree and the fit has not converged; run "
            "more warmup and draws (e.g. --warmup 2000 --draws 2000), tighten priors or "
            "simplify the transforms."
        )
        out.append(_check("rhat", "max", rhat, RHAT_PASS, v, advice))
    ess = [x for x in (diag.get("min_ess_bulk"), diag.get("min_ess_tail")) if x is not None]
    if ess:
        e = float(min(ess))
        v = PASS if e >= ESS_PASS else (REVIEW if e >= ESS_FAIL else FAIL)
        advice = (
            "enough effective draws for stable intervals."
            if v == PASS
            else f"only {e:.0f} effective draws for the worst parameter: intervals are noisy; "
            "run more draws or chains."
        )
        out.append(_check("ess", "min bulk/tail", e, ESS_PASS, v, advice))
    div = diag.get("divergences")
    if div is not None:
        share = float(div) / max(n_draws, 1)
        v = PASS if div == 0 else (REVIEW if share < DIVERGENCE_FAIL else FAIL)
        advice = (
            "no divergent transitions."
            if v == PASS
            else f"{div} divergent transitions ({share:.1%} of draws): the sampler missed "
            f"parts of the posterior. {divergence_fix(diag.get('target_accept'))}"
        )
        out.append(_check("divergences", "share of draws", share, DIVERGENCE_FAIL, v, advice))
    bfmi = diag.get("min_bfmi")
    if bfmi is not None:
        v = PASS if bfmi >= BFMI_MIN else REVIEW
        advice = (
            "energy diagnostics are fine."
            if v == PASS
            else f"BFMI is {bfmi:.2f}: warmup adapted poorly; run a longer warmup or "
            "rescale/tighten the priors."
        )
        out.append(_check("bfmi", "min", bfmi, BFMI_MIN, v, advice))
    return out


def loss_check(method: str, info: dict[str, Any], n_obs: int) -> ReviewCheck:
    """Whether the optimiser of SVI or MAP had stopped improving (see the module doc)."""
    losses = info.get("losses")
    if losses is not None and len(losses) >= 20:
        L = np.asarray(losses, float)
        if not np.isfinite(L).all():
            return _check("loss_trace", "second half", float("nan"), LOSS_REVIEW, FAIL,
                          "the loss trace holds non-finite values: the fit diverged.")  # fmt: skip
        n = len(L)
        mid = float(np.median(L[int(n * 0.5) : int(n * 0.6)]))
        end = float(np.median(L[int(n * 0.9) :]))
        d = (mid - end) / max(n_obs, 1)
        v = PASS if d < LOSS_REVIEW else (REVIEW if d < LOSS_FAIL else FAIL)
        steps = info.get("steps")
        advice = (
            "the loss had levelled off by the middle of the run."
            if v == PASS
            else f"the loss was still falling in the second half of the run ({d:.2f} nats per "
            f"period): the {method.upper()} fit has not converged; run more steps (e.g. --steps "
            f"{2 * int(steps or 3000)})."
        )
        return _check("loss_trace", "second half", d, LOSS_REVIEW, v, advice)
    steps, run = info.get("steps"), info.get("steps_run")
    if steps is not None and run is not None:
        if int(run) >= int(steps):
            return _check("loss_trace", "steps", float(run), float(steps), REVIEW,
                          f"{method.upper()} stopped at its step limit ({run}) while the loss "
                          f"was still improving; run more steps (e.g. --steps "
                          f"{2 * int(steps)}).")  # fmt: skip
        return _check("loss_trace", "steps", float(run), float(steps), PASS,
                      f"the loss stopped improving after {run} of {steps} steps.")  # fmt: skip
    return _check(
        "loss_trace",
        "",
        None,
        None,
        REVIEW,
        "no loss trace was recorded: convergence of the optimiser was not checked.",
    )


def optimiser_check(check: ReviewCheck, method: str, diag: dict[str, Any]) -> ReviewCheck:
    """The loss check, not passed when the fit's own diagnostics say the optimiser had not
    converged (``loss_converged`` false) even where the per-period drop looked small: failed
    for SVI (its loss still moving over the last tenth of the steps), to review for MAP (at
    its step limit); either way the review says "not converged"."""
    if diag.get("loss_converged") is not False or check.verdict != PASS:
        return check
    rel = diag.get("loss_rel_change")
    moved = f" (it moved by {abs(float(rel)):.1%} over the last tenth of the steps)" if rel else ""
    return _check(
        "loss_trace",
        "convergence",
        check.value,
        check.threshold,
        REVIEW if method == "map" else FAIL,
        f"the {method.upper()} optimiser had not converged{moved}: its numbers are not a fit "
        "yet; run more steps (e.g. double --steps) or fit with NUTS.",
    )


def intervals_check(method: str) -> ReviewCheck:
    if method == "map":
        advice = (
            "MAP is a point estimate: no intervals and no convergence diagnostics; fit with "
            "NUTS before reporting numbers."
        )
    else:
        advice = (
            "SVI intervals are approximate (usually too narrow) and the posterior's "
            "convergence was not checked; fit with NUTS before reporting numbers."
        )
    return _check("intervals", method, None, None, REVIEW, advice)


# -- channels --------------------------------------------------------------------------------
def channel_checks(names, spend, roas, high: float) -> list[ReviewCheck]:
    """Spend variation, zero spend and ROAS plausibility per channel; ``spend`` (T_w, C)."""
    out = []
    for c, name in enumerate(names):
        s = spend[:, c]
        mean = float(s.mean())
        cv = float(s.std() / mean) if mean > 0 else 0.0
        v = PASS if cv >= CV_MIN else REVIEW
        advice = (
            "enough spend variation to learn from."
            if v == PASS
            else f"{name}'s spend barely varies (CV {cv:.2f}): its ROAS comes mostly from the "
            "prior; vary its spend on purpose or run an experiment."
        )
        out.append(_check("spend_variation", name, cv, CV_MIN, v, advice))
        zero = float(np.mean(s == 0))
        v = PASS if zero < ZERO_SHARE else REVIEW
        advice = (
            "spends in most periods."
            if v == PASS
            else f"{name} spends nothing in {zero:.0%} of periods: its effect rests on few "
            "periods; check that the zeros are real."
        )
        out.append(_check("zero_spend", name, zero, ZERO_SHARE, v, advice))
        if mean <= 0:
            continue
        r = roas[:, c]
        m = float(np.mean(r))
        if m < 0:
            v = FAIL
            advice = (
                f"{name}'s ROAS is negative ({m:.3g}): spending would lower the KPI; check the "
                "data (sign, units) and the prior, or fit the additive form."
            )
        elif _finite(high) and m > high:
            v = REVIEW
            advice = (
                f"{name}'s ROAS ({m:.3g}) is over {ROAS_HIGH:.0f} times the KPI value per unit "
                f"of all media spend ({high / ROAS_HIGH:.3g}): check its spend units and "
                "collinearity with demand; an experiment would settle it."
            )
        else:
            v = PASS
            advice = "ROAS is positive and within a plausible range."
        out.append(_check("roas", name, m, high, v, advice))
    return out


def prior_checks(shifts) -> list[ReviewCheck]:
    return [
        _check("prior_shift", p.channel, p.sd_ratio, SD_RATIO, p.verdict, p.advice) for p in shifts
    ]


# -- numbers ---------------------------------------------------------------------------------
def finite_check(arrays: dict[str, np.ndarray]) -> ReviewCheck:
    bad = [k for k, a in arrays.items() if a is not None and not np.isfinite(a).all()]
    if bad:
        return _check("finite", "results", float(len(bad)), 0.0, FAIL,
                      f"non-finite numbers (NaN or infinity) in: {', '.join(bad)}; the fit or "
                      "the data are broken (a diverged fit, a constant or empty column); do not "
                      "use these results.")  # fmt: skip
    return _check("finite", "results", 0.0, 0.0, PASS, "every number in the results is finite.")


# -- the review ------------------------------------------------------------------------------
def review(fitted, level: float = 0.9, prior_draws: int | None = None) -> Review:
    """Review a fitted model (duck-typed: a `FittedModel`); see the module doc."""
    from mediamix.analysis.metrics import mroas_draws

    method = fitted.method
    y = np.asarray(fitted.data.kpi, float)
    T = len(y)
    train = window_mask(fitted)
    hold = np.arange(T) >= fitted.n_train
    comps = fitted.components()
    ekpi = fitted.expected_kpi(comps=comps)
    contrib = fitted.contribution_draws(comps=comps)
    ey = ekpi.mean(0)
    pred = fitted.predictive(seed=0) if fitted.n_draws > 1 else None
    spend = np.asarray(fitted.data.spend, float)[train]
    tot_spend = spend.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        roas = (
            fitted.spec.kpi_value
            * contrib[:, train].sum(1)
            / np.where(tot_spend > 0, tot_spend, np.nan)
        )
    mroas = mroas_draws(fitted)
    has = tot_spend > 0
    diag = fitted.diagnostics.to_dict() if fitted.diagnostics else {}
    stats = {k: diag.get(k) for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "min_bfmi",
                                       "ppc_coverage", "in_sample_mape", "in_sample_r2")}  # fmt: skip

    checks: list[ReviewCheck] = [
        finite_check(
            {
                "expected KPI": ekpi,
                "contributions": contrib,
                "ROAS": roas[:, has],
                "marginal ROAS": mroas[:, has],
                "predictive draws": pred,
                "fit statistics": np.array([v for v in stats.values() if v is not None], float),
            }
        )
    ]
    checks += fit_checks(y, ey, pred, train, hold, level)
    checks.append(residual_check(y[train], ey[train]))
    kpi_total = float(y[train].sum())
    base = ekpi - contrib.sum(-1)
    checks += decomposition_checks(
        kpi_total, base[:, train].sum(1), base[:, train].mean(0), contrib[:, train].sum((1, 2))
    )
    if method == "nuts":
        chains = fitted.info.get("chains")
        checks += nuts_checks(with_settings(diag, fitted.info), fitted.n_draws, chains)
    else:
        check = loss_check(method, fitted.info, int(train.sum()))
        checks.append(optimiser_check(check, method, diag))
        checks.append(intervals_check(method))
    all_spend = float(tot_spend.sum())
    high = ROAS_HIGH * fitted.spec.kpi_value * kpi_total / all_spend if all_spend > 0 else np.inf
    checks += channel_checks(fitted.channel_names, spend, roas, high)
    shifts = prior_shift(fitted, roas, n=prior_draws or PRIOR_DRAWS)
    checks += prior_checks(shifts)
    return Review.from_checks(checks, method, [p.to_dict() for p in shifts])
