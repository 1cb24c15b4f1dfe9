"""What a marketer reads: per-channel lines, binding bounds, department shadow prices.

At an optimum with a single budget the unconstrained channels have equal marginal returns
(KPI per extra unit of spend); channels held at a bound show which bound binds; the shadow
price of a budget is the objective gained per extra unit of that budget (the constraint's
dual value).
"""

from __future__ import annotations

import numpy as np

from mediamix.optimize.objective import Evaluator
from mediamix.optimize.plan import ChannelResult, ConstraintResult, DepartmentResult, Plan
from mediamix.optimize.solution import RawSolution


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
    ref_info = None
    if ref is not None:
        xr = np.tile(ref, (p.periods, 1))
        ref_info = {"kpi": float(np.mean(ev.kpi_draws(xr))), "objective": ev.objective(xr)}
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
    )
