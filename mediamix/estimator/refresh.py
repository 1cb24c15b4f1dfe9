"""Refresh a fit with new periods: the previous posterior is the new prior.

``refresh(fitted, new_dataset, method, widen=1.5) -> (FittedModel, DriftTable)`` fits the old
rows plus the new periods with

- the **prior from the posterior**: every site the old fit sampled gets a prior of the family
  its old prior had, moment-matched to its posterior draws, per channel (``effect.tv``,
  ``hill_k.search``, ...) or per control, and widened by ``widen`` (see `match_prior`). The
  priors are written into the spec (``spec.priors``), so the refreshed run's ``spec.yaml``
  states them. Vector terms without per-term prior keys (``season``, ``dow``,
  ``trend_delta``) share one prior centred on zero with the root mean square of their
  posterior terms as its spread (widened). Posterior correlations are not carried over (the
  old rows, which are in the new likelihood again, restore them);
- the **same scalers** (KPI, media and control scales of the old fit, so model units and the
  priors stated in them do not move), the same spec otherwise, the same channels and controls;
- the new data must **start with the old rows unchanged** (`check_overlap`); the new periods
  follow them.

``widen`` (default `DEFAULT_WIDEN` = 1.5) multiplies each posterior spread (the standard
deviation; the log-scale spread for log-normal priors). 1 is the posterior as it was. Because
the old rows are in the new likelihood as well as in the prior, the prior counts them a second
time with weight ``1 / widen**2`` (0.44 at 1.5): the refreshed posterior is somewhat narrower
than a cold fit's, by a factor up to ``1 / sqrt(1 + 1 / widen**2)`` (0.83 at 1.5), and it moves
less. A larger ``widen`` lets the new periods move it more; a smaller one holds it closer.

The drift table (`mediamix.analysis.drift`) compares each channel's ROAS before and after and
splits the move between the new periods and the refresh itself through an *anchor fit* (the
old rows alone with the same priors; ``attribution=False`` skips it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediamix.analysis.drift import DriftTable, drift_table
from mediamix.errors import DataError, SpecError
from mediamix.estimator.fitted import FittedModel
from mediamix.estimator.mmm import MMM
from mediamix.model.data import ModelData
from mediamix.model.priors import SUPPORT, Prior
from mediamix.model.spec import ModelSpec, prior_sites

DEFAULT_WIDEN = 1.5
MAX_WIDEN = 100.0
# the posterior site of a prior key where the two differ
POSTERIOR_SITE = {"intercept": "level"}
# the old rows must match the new data's to this relative tolerance
RTOL = 1e-6


@dataclass(frozen=True)
class PriorRow:
    """One entry of the prior table: the prior key, the old prior, the posterior's mean and
    spread, and the prior the refresh uses (``how``: moment-matched, shared or kept)."""

    key: str
    old: Prior
    new: Prior
    mean: float
    sd: float
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "old": self.old.to_dict(), "new": self.new.to_dict(),
                "posterior_mean": self.mean, "posterior_sd": self.sd, "how": self.how}  # fmt: skip


def check_widen(widen: Any) -> float:
    """``widen`` as a float in [1, `MAX_WIDEN`], or a `SpecError` naming it and the fix."""
    ok = isinstance(widen, int | float) and not isinstance(widen, bool)
    if not ok or not math.isfinite(widen) or not 1.0 <= widen <= MAX_WIDEN:
        raise SpecError(
            f"widen must be a number between 1 and {MAX_WIDEN:g} (the factor on each posterior "
            f"spread: 1 = the posterior as it was, {DEFAULT_WIDEN:g} the default); got {widen!r}"
        )
    return float(widen)


def match_prior(old: Prior, draws: np.ndarray, widen: float) -> tuple[Prior, str]:
    """A prior of ``old``'s family (or the nearest with a location) moment-matched to
    ``draws`` (S,), its spread times ``widen``; returns ``(prior, how)``.

    - normal: ``loc = mean``, ``scale = widen * sd``; laplace: ``scale = widen * sd / sqrt 2``;
      student_t: its ``df`` kept, ``scale = widen * sd * sqrt((df - 2) / df)`` (df > 2);
    - lognormal, and the positive families without a location (half_normal, half_cauchy,
      exponential): log-normal with the mean and ``widen x`` the sd of ``log draws``;
    - gamma: the mean kept, the variance ``(widen * sd)**2``, the concentration at least 1
      (so the density stays finite at zero; an optimiser is not drawn there);
    - beta: the mean kept, the variance ``(widen * sd)**2``, each concentration at least 1;
    - truncated_normal: ``loc = mean``, ``scale = widen * sd``, its bound kept;
    - uniform: kept as it was (its bounds are hard; ``how`` says so).
    """
    x = np.asarray(draws, dtype=float).reshape(-1)
    x = x[np.isfinite(x)]
    d = old.dist
    if d == "uniform" or x.size < 2:
        return old, "kept"
    m, s = float(x.mean()), float(x.std())
    s = max(s, 1e-6 * max(abs(m), 1e-3))
    sw = widen * s
    if d == "normal":
        return Prior("normal", {"loc": m, "scale": sw}), "moment-matched"
    if d == "laplace":
        return Prior("laplace", {"loc": m, "scale": sw / math.sqrt(2)}), "moment-matched"
    if d == "student_t":
        df = old.params["df"]
        scale = sw * math.sqrt((df - 2) / df) if df > 2 else sw
        return Prior("student_t", {"df": df, "loc": m, "scale": scale}), "moment-matched"
    if d == "truncated_normal":
        low = old.params["low"]
        return Prior("truncated_normal", {"loc": m, "scale": sw, "low": low}), "moment-matched"
    if d == "gamma":
        m = max(m, 1e-12)
        conc = max(m * m / (sw * sw), 1.0)
        return Prior("gamma", {"concentration": conc, "rate": conc / m}), "moment-matched"
    if d == "beta":
        m = min(max(m, 1e-6), 1 - 1e-6)
        c = max(m * (1 - m) / (sw * sw) - 1, 1e-6)
        c1, c0 = max(m * c, 1.0), max((1 - m) * c, 1.0)
        return Prior("beta", {"concentration1": c1, "concentration0": c0}), "moment-matched"
    if SUPPORT.get(d) == "positive":
        lx = np.log(np.maximum(x, 1e-12))
        ls = max(float(lx.std()), 1e-6)
        how = "moment-matched" if d == "lognormal" else f"moment-matched (lognormal for {d})"
        return Prior("lognormal", {"loc": float(lx.mean()), "scale": widen * ls}), how
    return old, "kept"  # pragma: no cover (every family is named above)


def _shared_prior(old: Prior, draws: np.ndarray, widen: float) -> Prior:
    """One prior for the terms of a vector site (``draws`` (S, n)): ``old``'s family centred
    where the old prior was, its spread the root mean square of the draws about that centre."""
    loc = float(old.params.get("loc", 0.0))
    rms = float(np.sqrt(np.mean((np.asarray(draws, float) - loc) ** 2)))
    rms = max(rms, 1e-6)
    if old.dist == "normal":
        return Prior("normal", {"loc": loc, "scale": widen * rms})
    if old.dist == "laplace":
        return Prior("laplace", {"loc": loc, "scale": widen * rms / math.sqrt(2)})
    if old.dist == "student_t":
        df = old.params["df"]
        f = math.sqrt((df - 2) / df) if df > 2 else 1.0
        return Prior("student_t", {"df": df, "loc": loc, "scale": widen * rms * f})
    return old


def posterior_priors(
    fitted: FittedModel, widen: float = DEFAULT_WIDEN
) -> tuple[dict[str, Prior], tuple[PriorRow, ...]]:
    """The refresh's priors (``{key: Prior}`` for ``spec.priors``) from ``fitted``'s
    posterior, and the table of what was done per key (see the module doc)."""
    widen = check_widen(widen)
    if fitted.n_draws < 2:
        raise SpecError(
            f"a refresh needs posterior draws with a spread; the run was fitted with "
            f"{fitted.method} ({fitted.n_draws} draw). Fix: fit the old run with method nuts "
            "(or svi) and refresh that"
        )
    spec = fitted.spec
    data = fitted.data
    sites = prior_sites(spec, data.channel_names, data.control_names, data.freq)
    post = fitted.idata.posterior
    new: dict[str, Prior] = {}
    rows: list[PriorRow] = []
    for site, members in sites.items():
        var = POSTERIOR_SITE.get(site, site)
        if site == "media_share" or var not in post:
            continue  # the joint share prior is replaced by per-channel priors on 'effect'
        v = post[var]
        extra = [d for d in v.dims[2:]]
        vals = v.values.reshape((-1,) + v.shape[2:])
        if members and len(extra) == 1:
            names = [str(c) for c in v.coords[extra[0]].values]
            for name in members:
                if name not in names:
                    continue
                key = f"{site}.{name}"
                # the joint share prior's per-channel family is the half-normal 'effect'
                old = spec.priors.get(key) or spec.prior(site)
                draws = vals[:, names.index(name)]
                prior, how = match_prior(old, draws, widen)
                new[key] = prior
                rows.append(PriorRow(key, old, prior, *_ms(draws), how))
        elif not extra:
            old = spec.prior(site)
            prior, how = match_prior(old, vals, widen)
            new[site] = prior
            rows.append(PriorRow(site, old, prior, *_ms(vals), how))
        elif members == () and len(extra) == 1:
            old = spec.prior(site)
            prior = _shared_prior(old, vals, widen)
            how = "shared by its terms" if prior is not old else "kept"
            new[site] = prior
            rows.append(PriorRow(site, old, prior, *_ms(vals), how))
    # the old priors of sites not matched (none sampled, or with other dims) stay as they were;
    # the share prior gives way to the per-channel 'effect' priors
    done = {k.partition(".")[0] for k in new}
    kept = {k: p for k, p in spec.priors.items()
            if k.partition(".")[0] not in done and k != "media_share"}  # fmt: skip
    return {**kept, **new}, tuple(rows)


def _ms(draws: np.ndarray) -> tuple[float, float]:
    x = np.asarray(draws, dtype=float)
    return float(x.mean()), float(x.std())


def refresh_spec(fitted: FittedModel, widen: float = DEFAULT_WIDEN) -> tuple[ModelSpec, tuple]:
    """The old spec with the priors from its posterior (`posterior_priors`), and the table."""
    priors, rows = posterior_priors(fitted, widen)
    return fitted.spec.replace(priors=priors), rows


def _values(d: ModelData) -> list[tuple[str, np.ndarray]]:
    cols = [("the KPI", d.kpi[:, None], ("kpi",))]
    cols += [("spend", d.spend, d.channel_names), ("media", d.media, d.channel_names),
             ("control", d.controls, d.control_names)]  # fmt: skip
    return [(f"{what} '{n}'" if what != "the KPI" else what, a[:, i])
            for what, a, names in cols for i, n in enumerate(names)]  # fmt: skip


def check_overlap(old: ModelData, new: ModelData) -> int:
    """The new data's periods after the old ones (>= 0), once the new data are checked to be
    the old rows unchanged plus periods after them: the same channels and controls, the same
    frequency, the old dates first, the same values there (to `RTOL`). Otherwise a `DataError`
    naming the column or the date and the fix."""
    for what, a, b in (("channels", old.channel_names, new.channel_names),
                       ("controls", old.control_names, new.control_names)):  # fmt: skip
        if tuple(a) != tuple(b):
            missing = [c for c in a if c not in b]
            extra = [c for c in b if c not in a]
            parts = []
            if missing:
                parts.append(f"missing {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"not in the old run {', '.join(map(repr, extra))}")
            if not parts:
                parts.append(f"in another order ({', '.join(b)} instead of {', '.join(a)})")
            raise DataError(
                f"the new data's {what} differ from the old run's ({', '.join(a) or 'none'}): "
                f"{'; '.join(parts)}. Fix: give the new data the old run's {what} (the same "
                "columns, mapped with --kpi/--channels/--controls as before); to change the "
                "model's columns, fit a new run instead of a refresh"
            )
    if old.freq != new.freq:
        raise DataError(
            f"the new data are at frequency '{new.freq}', the old run's at '{old.freq}'. Fix: "
            "give the new data at the old run's frequency"
        )
    T = old.n_periods
    od = np.asarray(old.dates, "datetime64[D]")
    nd = np.asarray(new.dates, "datetime64[D]")
    if len(nd) < T or not np.array_equal(nd[:T], od):
        have = set(nd.tolist())
        lost = [x for x in od if x not in have]
        first = str(lost[0]) if lost else str(od[np.flatnonzero(nd[: len(od)] != od)[0]])
        raise DataError(
            f"the new data do not start with the old run's {T} periods "
            f"({od[0]}..{od[-1]}): period {first} of the old run is missing or moved. Fix: give "
            "the old rows as they were followed by the new periods (a refresh adds periods at "
            "the end); to fit another window, fit a new run instead"
        )
    after = dict(_values(new))
    for name, a in _values(old):
        b = after[name][:T]
        bad = np.flatnonzero(~np.isclose(a, b, rtol=RTOL, atol=1e-9 * max(np.abs(a).max(), 1.0)))
        if bad.size:
            i = int(bad[0])
            more = f" (and {bad.size - 1} more period(s))" if bad.size > 1 else ""
            raise DataError(
                f"the new data's {name} differs from the old run's at {od[i]}: old {a[i]:g}, "
                f"new {b[i]:g}{more}. The old rows must be the ones the old run was fitted on. "
                "Fix: restore the old values for those periods, or, if the history was restated, "
                "fit a new run from the restated data (mediamix fit) instead of a refresh"
            )
    return int(len(nd) - T)


def refresh(
    fitted: FittedModel,
    new_dataset: Any,
    method: Any = "nuts",
    *,
    widen: float = DEFAULT_WIDEN,
    seed: int = 0,
    holdout: int = 0,
    level: float = 0.9,
    attribution: bool = True,
    progress: bool | Callable[[Any], None] = False,
    warn: bool = True,
    **options: Any,
) -> tuple[FittedModel, DriftTable]:
    """Refit ``fitted``'s model on ``new_dataset`` (the old rows plus new periods) with its
    posterior as the prior, its scalers and spec; returns the refreshed `FittedModel` and the
    `DriftTable` (see the module doc). ``method`` and ``options`` as `MMM.fit` (a sampler
    object or a name with its options). ``attribution``: also fit the anchor (the old rows with
    the same priors) to split each move between the new periods and the refresh itself."""
    widen = check_widen(widen)
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise SpecError(f"level must be between 0 and 1, e.g. 0.9 (got {level!r})")
    new_data = ModelData.from_dataset(new_dataset)
    n_new = check_overlap(fitted.data, new_data)
    spec, rows = refresh_spec(fitted, widen)
    est = MMM(spec)
    kw = dict(seed=seed, progress=progress, warn=warn, scalers=fitted.scalers,
              experiments=fitted.experiments or None)  # fmt: skip
    new = est.fit(new_data, method, holdout=holdout, **kw, **options)
    anchor = None
    old_holdout = fitted.data.n_periods - fitted.n_train
    if attribution and n_new == 0 and holdout == old_holdout:
        anchor = new  # no new periods: the anchor fit is the refresh itself
    elif attribution:
        anchor = est.fit(fitted.data, method, holdout=old_holdout, **kw, **options)
    info = {
        "new_periods_dates": _span(new_data.dates[fitted.data.n_periods :]) if n_new else None,
        "priors": [r.to_dict() for r in rows],
        "scalers": "the old run's (KPI, media and control scales unchanged)",
    }
    table = drift_table(fitted, new, anchor, level=level, widen=widen, method=new.method,
                        info=info)  # fmt: skip
    return new, table


def _span(dates: np.ndarray) -> dict[str, str]:
    d = np.asarray(dates, "datetime64[D]")
    return {"start": str(d[0]), "end": str(d[-1])}
