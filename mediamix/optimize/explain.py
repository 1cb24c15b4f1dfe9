"""What a marketer reads: per-channel lines, binding bounds, department shadow prices.

At an optimum with a single budget the unconstrained channels have equal marginal returns
(KPI per extra unit of spend); channels held at a bound show which bound binds; the shadow
price of a budget is the objective gained per extra unit of that budget (the constraint's
dual value).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mediamix.optimize.objective import Evaluator
from mediamix.optimize.plan import (
    ChannelResult,
    ConstraintResult,
    DepartmentResult,
    Plan,
    decimals,
    fmt_amount,
)
from mediamix.optimize.solution import RawSolution

# A change smaller than this share of today's spend counts as "kept".
KEEP = 0.005


def explain_solution(ev: Evaluator, raw: RawSolution, seconds: float) -> Plan:
    """The :class:`Plan` of a certified solution: per-channel lines (spend, relative and
    absolute change, KPI, marginal return, binding bound), constraints with shadow prices,
    departments, the outcome's spread over draws and the reference allocation's score."""
    p = ev.problem
    x = np.asarray(raw.x, dtype=float)  # (T, n)
    tot = x.sum(axis=0)
    per = x.mean(axis=0)  # spend per period
    kd = ev.kpi_draws(x)
    a = ev.effective(x)
    f = ev.curve_values(a).mean(axis=0)  # (P, n) mean response
    kpi_ch = f[0] if p.combine == "multiplicative" else f.sum(axis=0)
    grad = ev.gradient(x)
    marg = grad.mean(axis=0)
    price = ev.bank.price.mean(axis=0)
    ref = p.reference()
    lo, up = p.lower(), p.upper()
    xr = None if ref is None else np.tile(ref, (p.periods, 1))
    marg_cur = None if xr is None else ev.gradient(xr).mean(axis=0)
    scale = max(float(np.abs(x).max()), ev.system.sigma, 1e-300)
    tol = 1e-6 * scale
    chans = []
    for i, name in enumerate(p.names):
        bind = None
        if np.all(x[:, i] <= lo[i] + tol):
            bind = "lower"
        elif np.isfinite(up[i]) and np.all(x[:, i] >= up[i] - tol):
            bind = "upper"
        cur = None if ref is None else float(ref[i])
        change = change_abs = None
        if cur is not None:
            change = (per[i] - cur) / cur if cur > 0 else (0.0 if per[i] <= tol else float("inf"))
            change_abs = float(per[i] - cur)
        chans.append(
            ChannelResult(
                name,
                cur,
                float(per[i]),
                change,
                float(per[i] / price[i]),
                float(kpi_ch[i]),
                float(marg[i]),
                bind,
                change_abs,
                lower=float(lo[i]),
                upper=float(up[i]) if np.isfinite(up[i]) else None,
                marginal_at_current=None if marg_cur is None else float(marg_cur[i]),
            )
        )
    cons = []
    over = dict(zip(ev.system.elastic_rows, ev.overruns(x), strict=True))
    depts = {}
    shares = p.dept_matrix()
    dnames = list(p.departments)
    for j, r in enumerate(ev.system.rows):
        val = float(r.coef @ tot)
        rhs = float(r.rhs)
        binding = val >= rhs - 1e-6 * max(abs(rhs), scale)
        sp_ = float(raw.row_duals[j]) if raw.row_duals is not None else 0.0
        cons.append(ConstraintResult(r.name, val, rhs, bool(binding), sp_))
        if r.kind == "department":
            d = dnames[len(depts)]
            depts[d] = DepartmentResult(
                d,
                val,
                rhs,
                float(over.get(j, max(0.0, val - rhs))),
                sp_,
                float(shares[len(depts)] @ kpi_ch),
            )
    outcome = {
        "mean": float(np.mean(kd)),
        "p5": float(np.quantile(kd, 0.05)),
        "p95": float(np.quantile(kd, 0.95)),
        "draws": int(kd.size),
    }
    ref_info = gain = None
    if xr is not None:
        kr = ev.kpi_draws(xr)
        ref_info = {
            "kpi": float(np.mean(kr)),
            "objective": ev.objective(xr),
            "p5": float(np.quantile(kr, 0.05)),
            "p95": float(np.quantile(kr, 0.95)),
        }
        g = kd - kr  # the same draws: the gain's own spread, not the difference of spreads
        base = float(np.mean(kr))
        gain = {
            "mean": float(np.mean(g)),
            "p5": float(np.quantile(g, 0.05)),
            "p95": float(np.quantile(g, 0.95)),
            "relative": float(np.mean(g)) / base if base > 0 else None,
            "share_positive": float(np.mean(g > 0)),
            "draws": int(g.size),
        }
    threshold = budget_threshold(p, ev.system.rows, cons)
    per_channel = thresholds(p, ev.system.rows, cons)
    d = decimals(
        [v for c in chans for v in (c.marginal_return, c.marginal_at_current)]
        + [t[0] for t in per_channel if t is not None],
        3,
    )  # the precision plan_lines prints the marginal column at (MARGINAL_KEYS)
    ds = decimals([v for c in chans for v in (c.current, c.recommended)])  # its spend columns
    chans = [
        replace(
            c,
            threshold=None if t is None else t[0],
            reason=channel_reason(c, t, d, ds),
        )
        for c, t in zip(chans, per_channel, strict=True)
    ]
    obj_val = ev.objective(x)
    if p.objective == "min_spend" and p.combine == "additive":
        obj_val = -obj_val
    return Plan(
        status=raw.status,
        method=raw.method,
        objective=p.objective if p.combine == "additive" else "log_kpi",
        objective_value=float(obj_val),
        kpi=float(np.mean(kd)),
        spend_total=float(x.sum()),
        gap=None if raw.gap is None else float(raw.gap),
        seconds=float(seconds),
        allocation={n: float(per[i]) for i, n in enumerate(p.names)},
        units={n: float(per[i] / price[i]) for i, n in enumerate(p.names)},
        marginal_return={n: float(marg[i]) for i, n in enumerate(p.names)},
        channels=tuple(chans),
        departments=depts,
        constraints=tuple(cons),
        outcome=outcome,
        upper_bound=raw.upper_bound,
        by_period=(
            {n: [float(v) for v in x[:, i]] for i, n in enumerate(p.names)}
            if p.periods > 1
            else None
        ),
        reference=ref_info,
        messages=tuple(raw.messages),
        gain=gain,
        periods=int(p.periods),
        threshold=threshold,
    )


def thresholds(p, rows, cons: list[ConstraintResult]) -> list[tuple[float, str] | None]:
    """Per channel, the marginal return (KPI per extra unit of spend) its budgets ask of it at
    the optimum, with the words for it: ``sum_j shadow_j * coef_ji`` over the linear rows
    (the total budget, its departments' shares, its groups); a channel off its bounds returns
    exactly that at a concave optimum (the KKT condition). For ``profit`` the KPI that pays
    back the unit as well, ``(1 + sum) / kpi_value``. ``None`` where the objective has other
    multipliers (``min_spend``, ``kpi_at_min_roas``) or no row binds (``kpi``)."""
    if p.objective in ("min_spend", "kpi_at_min_roas"):
        return [None] * p.n
    out: list[tuple[float, str] | None] = []
    for i in range(p.n):
        parts = [
            (float(r.coef[i]), c)
            for r, c in zip(rows, cons, strict=True)
            if c.binding and float(r.coef[i]) != 0 and np.isfinite(c.shadow_price)
            and abs(c.shadow_price) > 0
        ]  # fmt: skip
        total = sum(w * c.shadow_price for w, c in parts)
        if len(parts) == 1 and parts[0][0] == 1.0:
            words = f"the shadow price of the {_row_name(parts[0][1].name)}"
        elif parts:
            words = "the shadow price of its budgets"
        else:
            words = ""
        if p.objective == "profit":
            words = "break-even" + (f" plus {words}" if words else "")
            out.append(((1.0 + total) / p.kpi_value, words))
        elif parts:
            out.append((float(total), words))
        else:
            out.append(None)
    return out


def _row_name(name: str) -> str:
    """'total budget (300)' -> 'total budget'; "department 'rent' budget (100)" -> the same
    without the amount."""
    return name.rsplit(" (", 1)[0]


def budget_threshold(p, rows, cons: list[ConstraintResult]) -> dict | None:
    """The total budget's shadow price in KPI per unit of spend when it binds (``{"value",
    "source"}``), what the plan's summary quotes; ``None`` otherwise."""
    if p.objective in ("min_spend", "kpi_at_min_roas"):
        return None
    for r, c in zip(rows, cons, strict=True):
        if r.kind == "budget" and c.binding and np.isfinite(c.shadow_price):
            v = float(c.shadow_price)
            if p.objective == "profit":
                v = (1.0 + v) / p.kpi_value
            return {"value": v, "source": "the total budget's shadow price"}
    return None


def channel_reason(
    c: ChannelResult, threshold: tuple[float, str] | None, d: int, ds: int = 2
) -> str:
    """One sentence: why a channel moves (or stays), against the marginal return its budgets
    ask for (``threshold``: value and words) or the bound it sits on; ``d`` decimals for the
    marginal returns and ``ds`` for spend (one precision for the whole plan, as the table)."""
    m = fmt_amount(c.marginal_return, d)
    mc = None if c.marginal_at_current is None else fmt_amount(c.marginal_at_current, d)
    t = "" if threshold is None else f"{threshold[1]} ({fmt_amount(threshold[0], d)})"
    if c.binding == "lower":
        if c.lower is not None and c.lower <= 0:
            return "cut to zero (its lower bound): even its first unit returns " + m + (
                f", below {t}" if t else ""
            )  # fmt: skip
        head = f"held at its lower bound {fmt_amount(c.lower, ds)}"
        if t:
            return (
                f"{head}: its marginal return there ({m}) is still below {t}, so without the "
                "bound it would be cut further"
            )
        return f"{head} (marginal return {m})"
    if c.binding == "upper":
        head = f"held at its upper bound {fmt_amount(c.upper, ds)}"
        if t:
            return (
                f"{head}: its marginal return there ({m}) is still above {t}; a higher bound "
                "would move more budget here"
            )
        return f"{head} (marginal return {m})"
    if c.current is None or c.change is None:
        return f"marginal return {m}" + (f", equal to {t}" if t else "")
    moved = c.change if np.isfinite(c.change) else 1.0
    if abs(moved) < KEEP:
        return f"kept: its marginal return ({m}) already equals {t}" if t else "kept"
    up = moved > 0
    verb = "raised" if up else "cut"
    if mc is None or not t:
        return f"{verb} until its marginal return is {m}"
    if up == (c.marginal_at_current > threshold[0]):
        return (
            f"{verb}: at today's spend its marginal return ({mc}) is "
            f"{'above' if up else 'below'} {t}, so budget moves "
            f"{'here' if up else 'to channels that return more'} until its marginal return "
            f"{'falls' if up else 'rises'} to {m}"
        )
    return (
        f"{verb} although its marginal return at today's spend ({mc}) is "
        f"{'below' if up else 'above'} {t}: its curve is S-shaped, and the certified optimum "
        "weighs whole stretches of the curve, not only the next unit"
    )
