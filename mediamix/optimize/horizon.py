"""Forward planning: spend per period and channel over the weeks ahead, certified.

A horizon plan is a flighting :class:`~mediamix.optimize.problem.Problem` (``periods = H``)
whose carry-in comes from the last weeks of history through each channel's own adstock
kernel (``lag_weights``), with the pacing rules of the problem (per-period ``caps``,
``dark`` periods, ``max_change``, ``min_flight``), an optional ``discount`` (NPV weights
``(1 + r)^-t``) and the carry-out after the horizon counted or not (``carry_out``). It is
solved by the same select -> solve -> certify -> explain steps as every problem
(:func:`mediamix.optimize.solve`); this module builds it from a fitted model (duck-typed,
like :meth:`Problem.from_fitted`) and reads the weekly answers off the solution: spend per
period and channel, the incremental KPI per period and the marginal return of one more unit
in each period (``d objective / d x_{t,i}``, its carry-over and discount included), and the
best constant weekly split of the same budget beside it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.jsonable import jsonable
from mediamix.optimize.plan import Plan, fmt_amount, fmt_gap
from mediamix.optimize.problem import MAX_PERIODS, Problem
from mediamix.optimize.response import Response

DEFAULT_DRAWS = 100  # posterior draws the planner uses (thinned evenly)


def thin_response(r: Response, idx: np.ndarray) -> Response:
    """The curve with only the draws ``idx`` (parameters, unit price, carry-over)."""
    S = r.n_draws
    vector = r._fam.vector_params

    def pick(v):
        v = np.asarray(v)
        return v[idx] if v.ndim == 1 and v.shape[0] == S and S > 1 else v

    params = {k: (v if k in vector else pick(v)) for k, v in r.params.items()}
    carry = None if r.carryover is None else pick(r.carryover)
    return replace(r, params=params, unit_price=pick(r.unit_price), carryover=carry)


def draw_index(n_draws: int, draws: int | None) -> np.ndarray:
    """``draws`` posterior draws spread evenly over ``n_draws`` (all of them for ``None``)."""
    if draws is None or draws >= n_draws:
        return np.arange(n_draws)
    if draws < 1:
        raise SpecError(f"draws must be a positive integer (got {draws})")
    return np.unique(np.linspace(0, n_draws - 1, int(draws)).round().astype(int))


def horizon_problem(
    fitted: Any,
    horizon: int,
    budget: float | None = None,
    *,
    draws: int | None = DEFAULT_DRAWS,
    dark: Mapping[str, Sequence[int]] | None = None,
    caps: Mapping[str, Sequence[float | None]] | None = None,
    max_change: float | None = None,
    min_flight: int | None = None,
    min_flight_spend: float | None = None,
    discount: float = 0.0,
    carry_out: bool = True,
    bounds: Mapping[str, Sequence[float | None]] | None = None,
    **options: Any,
) -> Problem:
    """The forward plan of ``horizon`` periods after the fitted data, as a :class:`Problem`.

    Contract with the model side (duck-typed): ``fitted.responses()`` (one
    :class:`Response` per channel, ``S`` draws), ``fitted.current_spend()``,
    ``fitted.adstock_weights()`` (lag weights ``(S, C, L)``, lag 0 first),
    ``fitted.channel_names`` and ``fitted.data.spend`` (``(T, C)``, the history). ``budget``
    is the total over the horizon (default: today's spend per period times ``horizon``).
    ``dark`` / ``caps`` are per channel (period indices / one cap per period). The carry-in
    is the last ``L`` weeks of spend through the model's own kernel, per draw.
    """
    if isinstance(horizon, bool) or int(horizon) != horizon or not 1 <= int(horizon) <= MAX_PERIODS:
        raise SpecError(
            f"horizon must be a whole number of periods in 1..{MAX_PERIODS} (got {horizon!r})"
        )
    H = int(horizon)
    responses = list(fitted.responses())
    S = max(r.n_draws for r in responses)
    idx = draw_index(S, draws)
    responses = [thin_response(r, idx) for r in responses]
    names = list(fitted.channel_names)
    w = np.asarray(fitted.adstock_weights(), dtype=float)  # (S, C, L)
    if w.shape[0] == S:
        w = w[idx]
    L = w.shape[-1]
    spend = np.asarray(fitted.data.spend, dtype=float)
    history = {n: [float(v) for v in spend[-L:, c]] for c, n in enumerate(names)}
    lag_weights = {n: w[:, c, :] for c, n in enumerate(names)}
    current = dict(fitted.current_spend())
    if budget is None:
        budget = float(sum(current.values())) * H
    holder = _Fitted(responses, current)
    return Problem.from_fitted(
        holder,
        budget=float(budget),
        bounds=bounds,
        periods=H,
        history=history,
        lag_weights=lag_weights,
        dark=dict(dark or {}),
        caps=dict(caps or {}),
        max_change=max_change,
        min_flight=min_flight,
        min_flight_spend=min_flight_spend,
        discount=discount,
        carry_out=carry_out,
        **options,
    )


@dataclass(frozen=True)
class _Fitted:
    """The two methods :meth:`Problem.from_fitted` reads, over thinned curves."""

    curves: list[Response]
    current: dict[str, float]

    def responses(self) -> list[Response]:
        return self.curves

    def current_spend(self) -> dict[str, float]:
        return self.current


@dataclass(frozen=True)
class HorizonPlan:
    """A certified forward plan read week by week.

    ``spend`` (H, n) per period and channel; ``kpi`` (H,) the incremental KPI from media that
    lands in each planned period (mean over draws, carry-in from history included, not
    discounted); ``kpi_tail`` the carry-out after the horizon (0 with ``carry_out`` off);
    ``marginal`` (H, n) the objective gained per extra unit spent in period t on channel i
    (its carry-over and the discount included); ``constant``: the best constant weekly split
    of the same budget under the same rules (`best_constant`), ``constant_free`` the same
    without the pacing rules, each scored the same way with ``margin`` = the plan's
    objective minus its objective (and ``margin_rel`` relative to it).
    """

    plan: Plan
    names: tuple[str, ...]
    spend: np.ndarray
    kpi: np.ndarray
    kpi_tail: float
    marginal: np.ndarray
    objective_value: float
    constant: dict[str, Any]
    constant_free: dict[str, Any]
    discount: float
    carry_out: bool
    seconds: float

    @property
    def gap(self) -> float | None:
        return self.plan.gap

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "status": self.plan.status,
                "gap": self.plan.gap,
                "method": self.plan.method,
                "objective": self.plan.objective,
                "objective_value": self.objective_value,
                "discount": self.discount,
                "carry_out": self.carry_out,
                "periods": int(self.spend.shape[0]),
                "channels": list(self.names),
                "spend": {n: self.spend[:, i].tolist() for i, n in enumerate(self.names)},
                "media_kpi": self.kpi.tolist(),
                "media_kpi_tail": self.kpi_tail,
                "marginal": {n: self.marginal[:, i].tolist() for i, n in enumerate(self.names)},
                "spend_total": float(self.spend.sum()),
                "constant": self.constant,
                "constant_free": self.constant_free,
                "seconds": self.seconds,
                "messages": list(self.plan.messages),
            }
        )


def solve_horizon(problem: Problem) -> HorizonPlan:
    """Solve a horizon problem (certified) and read it week by week (see `HorizonPlan`)."""
    from mediamix.optimize.solver import make_evaluator, solve

    t0 = time.perf_counter()
    plan = solve(problem)
    ev = make_evaluator(problem)
    T, n = problem.periods, problem.n
    x = np.array([plan.by_period[nm] for nm in problem.names]).T.reshape(T, n)
    f = ev.curve_values(ev.effective(x)).mean(axis=0).sum(axis=1)  # (P,) per period
    grad = _objective_gradient(ev, x)
    value = ev.objective(x)
    constant = _with_margin(best_constant(ev, rules=True), value)
    constant_free = _with_margin(best_constant(ev, rules=False), value)
    return HorizonPlan(
        plan=plan,
        names=tuple(problem.names),
        spend=x,
        kpi=f[:T],
        kpi_tail=float(f[T:].sum()),
        marginal=grad,
        objective_value=float(value),
        constant=constant,
        constant_free=constant_free,
        discount=float(problem.discount),
        carry_out=bool(problem.carry_out),
        seconds=time.perf_counter() - t0,
    )


def _with_margin(c: dict[str, Any], value: float) -> dict[str, Any]:
    """``c`` with the plan's ``margin`` over it (and ``margin_rel``, relative to it)."""
    v = c.get("objective_value")
    c["margin"] = None if v is None else value - v
    c["margin_rel"] = None if v is None or v == 0 else (value - v) / abs(v)
    return c


def _objective_gradient(ev, x: np.ndarray) -> np.ndarray:
    """d objective / d spend per period and channel, (T, n)."""
    g = ev.gradient(x)
    p = ev.problem
    if p.objective == "profit":
        return p.kpi_value * g - 1.0
    return g


def best_constant(ev, rules: bool = True) -> dict[str, Any]:
    """The best split of the budget spent evenly over the periods, ``x_t = s`` for all t,
    scored with the problem's objective. With ``rules`` it keeps the problem's rules that a
    constant split can keep (the budget and bounds, caps, dark periods at zero, the max change
    from the last week of history), so the plan, optimal under the same rules, is never below
    it; without, only the budget. A concave maximisation in ``s`` (SLSQP from several starts;
    concave, so its optimum is global). ``feasible``: whether the split keeps every rule of the
    problem (a minimum flight may still fail around dark periods)."""
    from scipy.optimize import minimize

    from mediamix.optimize.certify import feasible

    p = ev.problem
    T, n = p.periods, p.n
    sysm = ev.system
    B = float(p.budget) if p.budget is not None else float(np.sum(p.upper_tn()))
    scale = max(B / (T * n), 1e-12)
    kap = max(abs(ev.kpi_scale()), 1e-12)
    on = ~p.is_dark() if rules else np.ones((T, n), bool)  # (T, n)
    M = np.zeros((T * n, n))  # vec(x) = M s
    for t in range(T):
        for i in range(n):
            M[t * n + i, i] = 1.0 if on[t, i] else 0.0

    def spend(s):
        return (M @ (s * scale)).reshape(T, n)

    def f(s):
        return -ev.objective(spend(s)) / kap

    def g(s):
        return -(_objective_gradient(ev, spend(s)).reshape(-1) @ M) * scale / kap

    if rules:
        A = sysm.A[:, : sysm.n_x].toarray() @ M * (scale / sysm.sigma)
        b = sysm.b
        cons = [{"type": "ineq", "fun": lambda s: b - A @ s, "jac": lambda s: -A}]
        lo_tn = np.where(on, p.lower_tn(), 0.0)
        hi_tn = np.where(on, p.upper_tn(), np.inf)
        lo, up = lo_tn.max(axis=0), hi_tn.min(axis=0)
    else:
        weeks = M.sum(axis=0)
        cons = [{"type": "ineq", "fun": lambda s: B / scale - weeks @ s, "jac": lambda s: -weeks}]
        lo, up = p.lower(), p.upper()
    up = np.minimum(up, B)
    bnds = [(lo[i] / scale, max(lo[i], up[i]) / scale) for i in range(n)]
    lo_s, hi_s = np.array([b_[0] for b_ in bnds]), np.array([b_[1] for b_ in bnds])
    best = None
    weeks = np.maximum(M.sum(axis=0), 1)
    for s0 in [np.full(n, 1.0)] + [np.eye(n)[i] * 0.5 + 0.5 / n for i in range(n)]:
        s0 = np.clip(s0 * (B / scale) / max(float(weeks @ s0), 1e-12), lo_s, hi_s)
        res = minimize(f, s0, jac=g, bounds=bnds, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-12, "maxiter": 500})  # fmt: skip
        x = spend(np.clip(res.x, lo_s, hi_s))
        ok = res.success or feasible(ev, x, rtol=1e-6)
        if ok and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        return {"allocation": None, "objective_value": None, "feasible": False, "rules": rules}
    s = np.clip(best.x, lo_s, hi_s) * scale
    x = (M @ s).reshape(T, n)
    return {
        "allocation": {nm: float(s[i]) for i, nm in enumerate(p.names)},
        "objective_value": float(ev.objective(x)),
        "feasible": bool(feasible(ev, x, rtol=1e-6)),
        "rules": rules,
    }


def plan_table(hp: HorizonPlan, dates: Sequence[str] | None = None, forecast=None) -> str:
    """The terminal table: one row per period (spend per channel, media KPI, marginal
    returns; with a forecast its KPI and band), then the certificate and the margin."""
    T = hp.spend.shape[0]
    dates = list(dates) if dates is not None else [str(t) for t in range(T)]
    head = ["period"] + [f"{n} spend" for n in hp.names] + ["media KPI"]
    if forecast is not None:
        head += ["KPI", f"{int(100 * forecast.level)}% band"]
    head += [f"{n} marginal" for n in hp.names]
    rows = []
    for t in range(T):
        r = [dates[t]] + [fmt_amount(v, 0) for v in hp.spend[t]] + [fmt_amount(hp.kpi[t], 1)]
        if forecast is not None:
            r += [fmt_amount(forecast.kpi[t], 1),
                  f"[{fmt_amount(forecast.lower[t], 1)}, {fmt_amount(forecast.upper[t], 1)}]"]  # fmt: skip
        r += [f"{v:.4g}" for v in hp.marginal[t]]
        rows.append(r)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    lines = [
        f"status {hp.plan.status} | {fmt_gap(hp.gap)} | method {hp.plan.method} | "
        f"{hp.seconds:.2f} s | discount {hp.discount:g} per period | carry-out "
        f"{'counted' if hp.carry_out else 'not counted'}",
        "",
        "  ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)),
    ]
    lines += ["  ".join(f"{v:>{w}}" for v, w in zip(r, widths, strict=True)) for r in rows]
    lines += [
        "",
        f"objective (discounted media KPI{', carry-out included' if hp.carry_out else ''}): "
        f"{hp.objective_value:,.2f}",
    ]
    for c, what in ((hp.constant, "under the same rules"), (hp.constant_free, "without the "
                    "pacing rules")):  # fmt: skip
        if c.get("objective_value") is None:
            continue
        rel = c.get("margin_rel")
        lines.append(
            f"best constant weekly split {what}: {c['objective_value']:,.2f} "
            f"({', '.join(f'{k} {v:,.0f}' for k, v in c['allocation'].items())} per period); "
            f"the plan gains {c['margin']:,.2f}"
            + (f" ({100 * rel:+.2f}%)" if rel is not None else "")
        )
    lines += [
        "(marginal: objective gained per extra unit spent in that period, its carry-over and "
        "discount included)",
    ]
    lines += [f"note: {m}" for m in hp.plan.messages]
    return "\n".join(lines)
