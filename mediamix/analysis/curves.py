"""Response curves (the optimizer's `Response` objects) and adstock decay curves.

Additive form, Hill on scaled adstocked media (other families alike): with constant spend x
per period, media units are x / cost_per_unit, the scaled adstocked input settles at
``u = G x / (media_scale * cost_per_unit)`` where ``G = sum_l w_l`` is the adstock's
steady-state gain, and the incremental KPI per period is ``beta * kpi_scale * Sat(u)``. So the
`Response` has ``unit_price = media_scale * cost_per_unit / G`` and coefficient
``beta * kpi_scale``, one value per posterior draw.

Multiplicative form: the curve is not separable in closed form; each channel gets a ``table``
response of the posterior-mean extra KPI per period when the channel runs at a constant spend
(the other channels as observed), on a grid up to 3x current spend.

Time-varying effects (`mediamix.model.time_varying`): a channel's coefficient is multiplied
by its multiplier ``m`` at the end of the fitted window (``time_varying="current"``, the
default: the curves a plan for the weeks ahead needs) or by its mean over the window
(``"average"``); the multiplicative form's tables use the last quarter of the window, or the
whole window. Static channels are unchanged either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediamix.analysis._util import interval
from mediamix.model.priors import coefficient_name
from mediamix.optimize.response import Response


def responses(fitted, time_varying: str = "current") -> list[Response]:
    """One `Response` per channel, spend per period -> incremental KPI per period;
    ``time_varying``: ``current`` or ``average`` (see the module doc)."""
    if not fitted.structure.additive:
        return _table_responses(fitted, time_varying=time_varying)
    p = fitted.params
    mult = _multiplier(fitted, time_varying)  # (S, C), or None for a static fit
    w = fitted.adstock_weights()  # (S, C, L)
    from mediamix.transforms.adstock import steady_state_gain

    gain = np.asarray(steady_state_gain(w), dtype=float)  # (S, C)
    cur = fitted.current_spend()
    k = fitted.scalers.kpi_scale
    ms = fitted.scalers.media_scale
    cpu = fitted.data.cost_per_unit
    out = []
    for g in fitted.structure.sat_groups:
        for j, c in enumerate(g.idx):
            name = fitted.channel_names[c]
            params = {gp: np.asarray(p[g.site(gp)][:, j], dtype=float) for gp in g.params}
            params[coefficient_name(g.family)] = np.asarray(p["beta"][:, c], float) * k
            if mult is not None:
                params[coefficient_name(g.family)] = params[coefficient_name(g.family)] * mult[:, c]
            lam = None
            if fitted.spec.channel_adstock(name) == "geometric":
                lam = np.clip(np.asarray(p["geometric_lam"], float)[:, _pos(fitted, name)],
                              0.0, 0.999)  # fmt: skip
            out.append(
                Response(
                    name=name,
                    family=g.family,
                    params=params,
                    unit_price=ms[c] * cpu[c] / gain[:, c],
                    reference_spend=cur[name],
                    carryover=lam,
                    kpi_value=fitted.spec.kpi_value,
                )
            )
    order = {n: i for i, n in enumerate(fitted.channel_names)}
    return sorted(out, key=lambda r: order[r.name])


def _pos(fitted, name: str) -> int:
    for g in fitted.structure.ad_groups:
        if g.family == "geometric":
            idx = [fitted.channel_names[i] for i in g.idx]
            if name in idx:
                return idx.index(name)
    raise KeyError(name)  # pragma: no cover


def _multiplier(fitted, at: str) -> np.ndarray | None:
    """The time-varying multiplier per draw and channel the curves use, (S, C), or None."""
    from mediamix.analysis.time_varying import current_multiplier

    if not getattr(fitted.structure, "tv_idx", ()):
        if at not in ("current", "average"):
            current_multiplier(fitted, at)  # the error naming the choices
        return None
    return np.asarray(current_multiplier(fitted, at), dtype=float)


def _table_responses(
    fitted, n_grid: int = 25, max_multiple: float = 3.0, time_varying: str = "current"
) -> list[Response]:
    w = fitted.window
    if _multiplier(fitted, time_varying) is not None and time_varying == "current":
        q = min(13, w.stop - w.start)  # the last quarter of weekly data stands for 'now'
        w = slice(w.stop - q, w.stop)
    cur = fitted.current_spend()
    cpu = fitted.data.cost_per_unit
    out = []
    for c, name in enumerate(fitted.channel_names):
        top = max(cur[name], 1e-9) * max_multiple
        grid = np.linspace(0.0, top, n_grid)
        vals = []
        for s in grid:
            media = fitted.data.media.copy()
            media[:, c] = max(s, top * 1e-6) / cpu[c]
            vals.append(fitted.expected_kpi(media)[:, w].mean())
        ys = np.maximum.accumulate(np.asarray(vals) - vals[0])
        out.append(
            Response(
                name,
                "table",
                {"xs": grid.tolist(), "ys": ys.tolist()},
                1.0,
                cur[name],
                None,
                fitted.spec.kpi_value,
            )  # fmt: skip
        )
    return out


def response_curves(
    fitted, n_points: int = 41, max_multiple: float = 2.0, level: float = 0.9
) -> pd.DataFrame:
    """Spend per period -> incremental KPI per period, per channel, with bands.

    Columns: channel, spend, mean, lower, upper, marginal_mean (d KPI / d spend),
    current (True at the row nearest the current spend).
    """
    rows = []
    for r in fitted.responses():
        ref = r.reference_spend or 1.0
        grid = np.linspace(0.0, max_multiple * ref, n_points)
        y = r(grid)
        m, lo, hi = interval(y, level)
        marg = r.marginal(grid).mean(0)
        near = np.argmin(np.abs(grid - ref))
        for i, x in enumerate(grid):
            rows.append({"channel": r.name, "spend": x, "mean": m[i], "lower": lo[i],
                         "upper": hi[i], "marginal_mean": marg[i], "current": i == near})  # fmt: skip
    return pd.DataFrame(rows)


def adstock_curves(fitted, level: float = 0.9) -> pd.DataFrame:
    """Share of a period's effect felt at each lag (weights / their sum), with bands."""
    w = fitted.adstock_weights()
    share = w / w.sum(-1, keepdims=True)
    m, lo, hi = interval(share, level)
    rows = []
    for c, name in enumerate(fitted.channel_names):
        for lag in range(w.shape[-1]):
            rows.append({"channel": name, "lag": lag, "mean": m[c, lag], "lower": lo[c, lag],
                         "upper": hi[c, lag]})  # fmt: skip
    return pd.DataFrame(rows)
