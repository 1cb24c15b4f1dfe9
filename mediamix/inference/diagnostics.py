"""Diagnostics after every fit, with the advice to act on them.

- Sampler health (NUTS): split R-hat (max over parameters), bulk and tail ESS (min),
  divergent transitions, BFMI per chain (ArviZ).
- Optimiser health (SVI, MAP): ``loss_converged``. SVI: the loss still moved by more than
  ``LOSS_RTOL`` (2%, relative to the final loss; falling, or rising as a noisy short run does)
  from the ninth to the last tenth of the steps (`mediamix.inference.svi.loss_rel_change`), or
  the trace holds a non-finite value or under 20 steps: not converged. MAP: it ran out of steps before a chunk improved the loss by less than its
  tolerance (`mediamix.inference.map.RTOL`): not converged.
- Fit quality (every method): posterior predictive coverage of the observed KPI by the
  central predictive interval, and with a hold-out, out-of-sample MAPE and R^2.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
LOSS_RTOL = 0.02


class ConvergenceWarning(UserWarning):
    """A fit finished but its numbers may not be trustworthy (see the message for what to do)."""


@dataclass(frozen=True)
class FitDiagnostics:
    method: str
    max_rhat: float | None = None
    min_ess_bulk: float | None = None
    min_ess_tail: float | None = None
    divergences: int | None = None
    min_bfmi: float | None = None
    ess_per_second: float | None = None
    ppc_coverage: float | None = None
    ppc_level: float = 0.9
    holdout_periods: int = 0
    holdout_mape: float | None = None
    holdout_r2: float | None = None
    in_sample_mape: float | None = None
    in_sample_r2: float | None = None
    #: SVI / MAP: the loss's relative fall at the end of the run, and whether it levelled off
    loss_rel_change: float | None = None
    loss_converged: bool | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def converged(self) -> bool:
        if self.loss_converged is False:
            return False
        return not any(w.startswith(("R-hat", "ESS", "divergen", "BFMI")) for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        d["converged"] = self.converged
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FitDiagnostics:
        known = set(cls.__dataclass_fields__)
        d = {k: v for k, v in d.items() if k in known}  # 'converged' is derived
        d["warnings"] = tuple(d.get("warnings", ()))
        return cls(**d)


def sampler_diagnostics(idata, var_names: list[str]) -> dict[str, Any]:
    """R-hat, ESS, divergences and BFMI from an InferenceData with >= 2 chains."""
    import arviz as az

    post = idata.posterior[var_names]
    n_chains = post.sizes["chain"]
    out: dict[str, Any] = {}
    if n_chains >= 2 and post.sizes["draw"] >= 4:
        rhat = az.rhat(post)
        out["max_rhat"] = float(np.nanmax([np.nanmax(rhat[v].values) for v in rhat.data_vars]))
    if post.sizes["draw"] >= 4:
        bulk = az.ess(post, method="bulk")
        tail = az.ess(post, method="tail")
        out["min_ess_bulk"] = float(np.nanmin([np.nanmin(bulk[v].values) for v in bulk.data_vars]))
        out["min_ess_tail"] = float(np.nanmin([np.nanmin(tail[v].values) for v in tail.data_vars]))
    if hasattr(idata, "sample_stats") and "diverging" in idata.sample_stats:
        out["divergences"] = int(idata.sample_stats["diverging"].values.sum())
        if "energy" in idata.sample_stats and post.sizes["draw"] >= 4:
            out["min_bfmi"] = float(np.min(az.bfmi(idata)))
    return out


def loss_convergence(method: str, info: dict[str, Any]) -> dict[str, Any]:
    """``loss_rel_change`` and ``loss_converged`` of an SVI or MAP run from its info (module
    docstring); empty for NUTS or a run that recorded neither."""
    if method not in ("svi", "map"):
        return {}
    rel = info.get("loss_rel_change")
    rel = None if rel is None else float(rel)
    final = info.get("final_loss")
    finite = final is None or bool(np.isfinite(final))
    if method == "map":
        got = info.get("loss_converged")
        if got is None:  # saved before the flag: stopped before the step limit
            run, steps = info.get("steps_run"), info.get("steps")
            got = None if run is None or steps is None else int(run) < int(steps)
        conv = None if got is None else bool(got) and finite
    else:
        conv = None if rel is None else bool(np.isfinite(rel) and abs(rel) <= LOSS_RTOL and finite)
    rel = rel if rel is not None and np.isfinite(rel) else None
    return {"loss_rel_change": rel, "loss_converged": conv}


def with_settings(d: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The diagnostics ``d`` with the fit's settings the advice reads (from its ``info``):
    the optimiser's ``steps`` and the sampler's ``target_accept``."""
    return {**d, "steps": info.get("steps"), "target_accept": info.get("target_accept")}


def divergence_fix(target_accept: float | None) -> str:
    """What to do about divergent transitions, given the step-size target the fit used
    (``None``: not recorded)."""
    simpler = ("tighten priors, or simplify the model (e.g. saturation: michaelis_menten, "
               "Hill with its shape fixed at 1)")  # fmt: skip
    if target_accept is None or target_accept < 0.95:
        used = "" if target_accept is None else f" (this fit used {target_accept:g})"
        return f"Raise target_accept{used} to 0.95 (--target-accept 0.95), {simpler}."
    if target_accept < 0.99:
        return (f"This fit already used target_accept {target_accept:g}: raise it to 0.99 "
                f"(slower), {simpler}.")  # fmt: skip
    return (f"This fit already used target_accept {target_accept:g}, so a smaller step will "
            f"not help: {simpler}.")  # fmt: skip


def advice(d: dict[str, Any], method: str, n_draws_total: int) -> list[str]:
    """Warnings with what to try, from the numbers in ``d``."""
    msgs = []
    if d.get("loss_converged") is False:
        steps = d.get("steps")
        more = f" (e.g. --steps {2 * int(steps)})" if steps else ""
        rel = d.get("loss_rel_change")
        if method == "map":
            fell = "it used every step before the loss stopped improving"
        elif rel is not None:
            moved = "fell" if rel > 0 else "rose"
            fell = f"the loss still {moved} by {abs(rel):.1%} over the last tenth of the steps"
        else:
            fell = "the loss trace is too short (under 20 steps) or not finite"
        msgs.append(
            f"loss: the {method.upper()} fit has not converged ({fell}); its numbers are not "
            f"the fit's answer. Run more steps{more}, or fit with method='nuts'."
        )
    if method == "nuts":
        if d.get("max_rhat") is not None and not d["max_rhat"] <= RHAT_MAX:
            msgs.append(
                f"R-hat is {d['max_rhat']:.3f} (> {RHAT_MAX}): the chains disagree, the fit has "
                "not converged. Try more warmup and draws (e.g. --warmup 2000 --draws 2000), "
                "tighter priors, or fewer/simpler transforms (e.g. fix the Hill shape)."
            )
        ess = d.get("min_ess_bulk")
        if ess is not None and ess < min(ESS_MIN, 0.1 * n_draws_total):
            msgs.append(
                f"ESS is {ess:.0f} for the worst parameter (bulk; want >= "
                f"{min(ESS_MIN, int(0.1 * n_draws_total))}): intervals are noisy. Run more "
                "draws or chains; a low ESS together with a high R-hat means the posterior is "
                "poorly identified (collinear channels, too little spend variation)."
            )
        if d.get("divergences"):
            msgs.append(
                f"divergences: {d['divergences']} divergent transitions; the sampler missed "
                f"parts of the posterior. {divergence_fix(d.get('target_accept'))}"
            )
        if d.get("min_bfmi") is not None and d["min_bfmi"] < BFMI_MIN:
            msgs.append(
                f"BFMI is {d['min_bfmi']:.2f} (< {BFMI_MIN}): warmup adapted poorly. Run a "
                "longer warmup or rescale/tighten the priors."
            )
    cov = d.get("ppc_coverage")
    level = d.get("ppc_level", 0.9)
    if cov is not None and method != "map" and cov < level - 0.2:
        msgs.append(
            f"posterior predictive check: only {cov:.0%} of observed KPI values lie in the "
            f"{level:.0%} predictive interval; the model misses structure (add controls, "
            "events, seasonality or a piecewise trend) or the noise is heavy-tailed "
            "(likelihood: student_t)."
        )
    if method == "svi":
        msgs.append(
            "SVI (variational) intervals are approximate and usually too narrow (mean field "
            "under-covers); use method='nuts' for intervals you report."
        )
    if method == "map":
        msgs.append("MAP gives a point estimate only: intervals collapse to the point.")
    return msgs


def emit(messages: list[str]) -> None:
    for m in messages:
        warnings.warn(m, ConvergenceWarning, stacklevel=3)


def coverage(y: np.ndarray, draws: np.ndarray, level: float = 0.9) -> float:
    """Share of observed ``y`` (T,) inside the central ``level`` interval of ``draws`` (S, T)."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return float(np.mean((y >= lo) & (y <= hi)))


def mape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean absolute percentage error, in percent (periods with y = 0 are skipped)."""
    nz = y != 0
    return float(np.mean(np.abs((y[nz] - yhat[nz]) / y[nz])) * 100)


def r2(y: np.ndarray, yhat: np.ndarray) -> float:
    """``1 - SS_res / SS_tot``."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float(1 - np.sum((y - yhat) ** 2) / ss_tot) if ss_tot > 0 else float("nan")
