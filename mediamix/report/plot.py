"""Figures straight from Python objects: a fitted model (``ModelPlots``) or a plan.

``ModelPlots(fitted)`` is what ``fitted.plot`` returns: each method computes the table with
`mediamix.analysis` and draws it with `mediamix.report.figures`, so notebooks, the report
and the web page show the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mediamix.errors import SpecError
from mediamix.report import figures as F


class ModelPlots:
    """Figures of a fitted model (``FittedModel``), intervals at ``level``."""

    def __init__(self, fitted: Any, level: float = 0.9) -> None:
        self.fitted = fitted
        self.level = float(level)

    def fit(self, seed: int = 0) -> go.Figure:
        """Observed KPI vs the mean prediction with the posterior predictive band; the
        hold-out (if any) is marked."""
        from mediamix.analysis._util import interval

        f = self.fitted
        _, lo, hi = interval(f.predictive(seed=seed), self.level)
        return F.fit_vs_actual(
            f.data.dates, f.data.kpi, f.expected_kpi().mean(0), lo, hi,
            n_train=f.n_train, level=self.level,
        )  # fmt: skip

    def decomposition(self) -> go.Figure:
        """Baseline and each channel's contribution per period, stacked."""
        return F.contributions_over_time(self.fitted.contributions(self.level))

    def roas(self) -> go.Figure:
        """ROAS and marginal ROAS per channel with intervals."""
        return F.roas(self.fitted.summary(self.level), level=self.level)

    def response_curves(
        self, current_spend: Mapping[str, float] | None = None, **kwargs: Any
    ) -> go.Figure:
        """Spend -> incremental KPI per channel with bands; today's spend marked (default:
        the mean spend per period of the fitted window). ``kwargs`` go to
        `mediamix.analysis.response_curves` (n_points, max_multiple)."""
        from mediamix.analysis.curves import response_curves

        table = response_curves(self.fitted, level=self.level, **kwargs)
        cur = current_spend if current_spend is not None else self.fitted.current_spend()
        return F.response_curves(table, cur, level=self.level)

    def adstock(self) -> go.Figure:
        """Share of a period's effect at each lag, per channel, with bands."""
        from mediamix.analysis.curves import adstock_curves

        return F.adstock_curves(adstock_curves(self.fitted, level=self.level), self.level)

    def correlation(self) -> go.Figure:
        """Correlation between the channel inputs the model was fitted on."""
        from mediamix.data.diagnostics import checks_from_arrays

        d = checks_from_arrays(self.fitted.data)["correlation"]
        return F.correlation_heatmap(d["channels"], d["matrix"])

    def data_checks(self) -> go.Figure:
        """The data layer's checks on the fitted data (correlation, VIF, spend variation...)."""
        from mediamix.data.diagnostics import checks_from_arrays

        return F.data_checks_table(checks_from_arrays(self.fitted.data)["checks"])

    def diagnostics(self) -> go.Figure:
        """R-hat, ESS, divergences, predictive coverage and hold-out error as a table."""
        d = self.fitted.diagnostics
        return F.sampler_table(d.to_dict() if d is not None else {})

    def all(self) -> dict[str, go.Figure]:
        """Every figure above, by name."""
        return {
            "fit": self.fit(),
            "decomposition": self.decomposition(),
            "roas": self.roas(),
            "response_curves": self.response_curves(),
            "adstock": self.adstock(),
            "correlation": self.correlation(),
        }


def plan_figures(plan: Any) -> dict[str, go.Figure]:
    """Allocation bars, the explanation table and (with a sweep) the frontier of a plan
    (a `mediamix.optimize.Plan` or its ``to_dict()``), its points at the channels' upper
    bounds marked."""
    d = plan.to_dict() if hasattr(plan, "to_dict") else dict(plan)
    out = {"allocation": F.plan_allocation(d), "explanation": F.explanation_table(d)}
    if d.get("frontier"):
        from mediamix.optimize.plan import frontier_caps

        chosen = {"budget": d.get("spend_total"), "kpi": d.get("kpi")}
        out["frontier"] = F.frontier(d["frontier"], chosen, capped=frontier_caps(d))
    return out


def response_table(
    responses: Any, n_points: int = 41, max_multiple: float = 2.0, level: float = 0.9
) -> pd.DataFrame:
    """Evaluate response curves (`mediamix.optimize.Response` objects or their ``to_dict()``
    mappings, e.g. a run's ``responses.json``) on ``0 .. max_multiple x reference spend``.

    Returns the table `figures.response_curves` draws: ``channel, spend, mean, lower, upper,
    current`` (mean and central ``level`` interval over the draws).
    """
    from mediamix.analysis._util import interval
    from mediamix.optimize.response import Response

    rows = []
    for r in responses:
        r = r if isinstance(r, Response) else Response.from_dict(r)
        grid = np.linspace(0.0, r.plot_range(max_multiple), int(n_points))
        m, lo, hi = interval(r(grid), level)
        ref = float(r.reference_spend) if r.reference_spend is not None else np.nan
        near = int(np.argmin(np.abs(grid - ref))) if np.isfinite(ref) else -1
        rows.append(
            pd.DataFrame(
                {
                    "channel": r.name,
                    "spend": grid,
                    "mean": m,
                    "lower": lo,
                    "upper": hi,
                    "current": np.arange(len(grid)) == near,
                }
            )  # fmt: skip
        )
    if not rows:
        raise SpecError("no response curves given")
    return pd.concat(rows, ignore_index=True)


def response_figure(responses: Any, level: float = 0.9, facet: bool = True) -> go.Figure:
    """Response curves with bands straight from `Response` objects or their mappings; today's
    spend (each curve's ``reference_spend``) marked."""
    from mediamix.optimize.response import Response

    resp = [r if isinstance(r, Response) else Response.from_dict(r) for r in responses]
    table = response_table(resp, level=level)
    current = {r.name: float(r.reference_spend) for r in resp if r.reference_spend is not None}
    return F.response_curves(table, current, level=level, facet=facet and len(resp) > 1)
