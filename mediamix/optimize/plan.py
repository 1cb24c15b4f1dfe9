"""The result of a solve: the recommended allocation, its certificate and its explanation."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mediamix.jsonable import jsonable


@dataclass(frozen=True)
class ChannelResult:
    """One channel's line in the explanation table.

    ``current`` and ``recommended`` are spend per period; ``change`` is relative,
    ``(recommended - current) / current`` (a fraction: 0.25 is +25%; ``inf`` for a channel
    that starts from zero), and ``change_abs`` the same in money, ``recommended - current``;
    both are ``None`` without a current spend.
    """

    name: str
    current: float | None
    recommended: float
    change: float | None
    units: float
    kpi: float
    marginal_return: float
    binding: str | None  # "lower" | "upper" | None
    change_abs: float | None = None
    lower: float | None = None
    upper: float | None = None
    marginal_at_current: float | None = None
    threshold: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class DepartmentResult:
    """Spend, budget, overrun and shadow price (KPI per extra unit of budget) of a department."""

    name: str
    spend: float
    budget: float
    overrun: float
    shadow_price: float
    kpi: float


@dataclass(frozen=True)
class ConstraintResult:
    name: str
    value: float
    rhs: float
    binding: bool
    shadow_price: float


@dataclass(frozen=True)
class Plan:
    """The recommended spend with its certificate (``gap``) and explanation.

    ``objective_value`` is the value of the objective at the plan: the KPI's risk measure
    (``kpi``, ``kpi_at_min_roas``), ``kpi_value * KPI - spend`` (``profit``), the total spend
    that reaches the target (``min_spend``: a cost, minimised, so a positive number), or the
    mean log-KPI for ``combine: multiplicative``; an elastic overrun's penalty is subtracted
    (added to the spend for ``min_spend``). ``kpi`` is the expected KPI (mean over draws) and
    ``outcome`` its spread over draws. ``gap`` bounds the relative distance to the global
    optimum: the true optimum lies within ``objective_value * (1 + gap)`` (within
    ``objective_value * (1 - gap)`` for ``min_spend``).

    Per channel (``channels``), ``change`` is relative to the current spend (a fraction) and
    ``change_abs`` absolute (money per period), see :class:`ChannelResult`.

    The KPI here is the **incremental KPI from media** that the response curves give (not the
    total KPI: the baseline is not in it), per period for a one-period problem and summed
    over the planned periods and their carry-over tail for ``periods > 1``. With a current
    spend on every channel, ``reference`` holds today's plan scored the same way (``kpi``,
    ``objective``, ``p5``, ``p95``) and ``gain`` the recommendation minus today's plan, draw by
    draw (``mean``, ``p5``, ``p95``, ``relative`` = mean gain / today's mean KPI,
    ``share_positive`` = the share of draws in which the recommendation does better).
    ``threshold`` is the marginal return the unbounded channels share at the optimum: the
    budget's shadow price in KPI per unit of spend (``{"value", "source"}``), ``None`` when no
    budget binds.
    """

    status: str
    method: str
    objective: str
    objective_value: float
    kpi: float
    spend_total: float
    gap: float | None
    seconds: float
    allocation: dict[str, float]
    units: dict[str, float]
    marginal_return: dict[str, float]
    channels: tuple[ChannelResult, ...]
    departments: dict[str, DepartmentResult]
    constraints: tuple[ConstraintResult, ...]
    outcome: dict[str, float]
    upper_bound: float | None = None
    by_period: dict[str, list[float]] | None = None
    reference: dict[str, float] | None = None
    frontier: list[dict[str, Any]] | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)
    gain: dict[str, float] | None = None
    periods: int = 1
    threshold: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping with the keys documented in the README."""
        out = {
            "status": self.status,
            "method": self.method,
            "objective": self.objective,
            "objective_value": self.objective_value,
            "kpi": self.kpi,
            "spend_total": self.spend_total,
            "gap": self.gap,
            "upper_bound": self.upper_bound,
            "seconds": self.seconds,
            "allocation": dict(self.allocation),
            "units": dict(self.units),
            "marginal_return": dict(self.marginal_return),
            "departments": {
                k: {
                    "spend": v.spend,
                    "budget": v.budget,
                    "overrun": v.overrun,
                    "shadow_price": v.shadow_price,
                    "kpi": v.kpi,
                }
                for k, v in self.departments.items()
            },
            "channels": [asdict(c) for c in self.channels],
            "constraints": [asdict(c) for c in self.constraints],
            "outcome": dict(self.outcome),
            "messages": list(self.messages),
        }
        if self.by_period is not None:
            out["by_period"] = self.by_period
        if self.reference is not None:
            out["reference"] = self.reference
        if self.frontier is not None:
            out["frontier"] = self.frontier
        if self.gain is not None:
            out["gain"] = dict(self.gain)
        if self.threshold is not None:
            out["threshold"] = dict(self.threshold)
        out["periods"] = int(self.periods)
        return jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def kpi_label(self) -> str:
        """What ``kpi`` measures, in words (the terminal and the report use this label)."""
        return kpi_label(self.periods, self.objective == "log_kpi")

    def table(self) -> str:
        """A plain-text explanation for the terminal: what the plan gains over today's, the
        channels with why each moves, departments, binding constraints and the frontier."""
        return "\n".join(plan_lines(self.to_dict()))


# The per-channel values printed at one precision: marginal returns and what budgets ask.
MARGINAL_KEYS = ("marginal_return", "marginal_at_current", "threshold")


def kpi_label(periods: int = 1, multiplicative: bool = False) -> str:
    """The words for a plan's ``kpi``: incremental KPI from media, per period (or over the
    planned periods)."""
    what = "expected KPI (base x media effects)" if multiplicative else (
        "expected incremental KPI from media"
    )  # fmt: skip
    if periods > 1:
        return f"{what}, over the {periods} planned periods and their carry-over"
    return f"{what}, per period"


def decimals(values, sig: int = 3, most: int = 6) -> int:
    """Decimals that show the largest of ``values`` with ``sig`` significant digits (at
    least 0, at most ``most``), so that one column is printed at one precision."""
    vals = [abs(float(v)) for v in values if v is not None and np.isfinite(float(v))]
    big = max((v for v in vals if v > 0), default=0.0)
    if big == 0:
        return 0
    e = int(np.floor(np.log10(big)))
    if round(big, sig - 1 - e) >= 10.0 ** (e + 1):  # 0.99996 prints as 1.000: one digit less
        e += 1
    return int(min(most, max(0, sig - 1 - e)))


def fmt_amount(v, d: int = 0, sign: bool = False) -> str:
    """``v`` in fixed notation with ``d`` decimals and thousands separators ("" for None or
    NaN; never scientific notation)."""
    if v is None:
        return ""
    f = float(v)
    if not np.isfinite(f):
        return "" if f != f else ("+inf" if f > 0 else "-inf")
    if f == 0 or abs(f) < 0.5 * 10.0**-d:
        f = 0.0
    return f"{f:{'+' if sign else ''},.{d}f}"


def fmt_gap(gap) -> str:
    """The certified optimality gap in words: within what share of the global optimum."""
    if gap is None:
        return "not certified"
    g = float(gap)
    if g <= 0:
        return "certified optimal"
    if g < 1e-6:
        return "certified within 0.0001% of the global optimum"
    return f"certified within {100 * g:.2g}% of the global optimum"  # >= 0.0001: never 1e-05


def _interval(mean, lo, hi, d: int, sign: bool = False, draws: int | None = None) -> str:
    s = fmt_amount(mean, d, sign)
    if draws is not None and draws > 1 and lo is not None and hi is not None:
        s += f" [{fmt_amount(lo, d, sign)}, {fmt_amount(hi, d, sign)}]"
    return s


def gain_lines(plan: dict[str, Any], indent: str = "") -> list[str]:
    """Today's plan against the recommendation (expected KPI with its 90% interval, spend)
    and the gain, draw by draw: the lines the terminal and the report's summary print."""
    out = plan.get("outcome") or {}
    ref = plan.get("reference") or {}
    gain = plan.get("gain") or {}
    draws = out.get("draws")
    label = kpi_label(int(plan.get("periods") or 1), plan.get("objective") == "log_kpi")
    cur_spend = None
    if plan.get("channels") and all(c.get("current") is not None for c in plan["channels"]):
        cur_spend = sum(float(c["current"]) for c in plan["channels"]) * int(
            plan.get("periods") or 1
        )
    nums = [plan.get("kpi"), ref.get("kpi"), out.get("p95"), ref.get("p95")]
    d = decimals(nums, 4)
    ds = decimals([plan.get("spend_total"), cur_spend])
    width = max(len(fmt_amount(v, d)) for v in nums if v is not None) if any(
        v is not None for v in nums
    ) else 8  # fmt: skip
    iv = " with its 90% interval" if draws and draws > 1 else " (one draw: no interval)"
    lines = [f"{indent}{label}{iv}:"]

    def row(name, mean, lo, hi, spend):
        s = f"{indent}  {name:<16}{_interval(mean, lo, hi, d, draws=draws):>{width}}"
        if spend is not None:
            s += f"   spend {fmt_amount(spend, ds)}"
        return s

    if ref.get("kpi") is not None:
        lines.append(row("today's plan", ref["kpi"], ref.get("p5"), ref.get("p95"), cur_spend))
    lines.append(
        row("recommended", plan.get("kpi"), out.get("p5"), out.get("p95"), plan.get("spend_total"))
    )
    if gain.get("mean") is not None:
        g = f"{indent}  {'gain':<16}{_interval(gain['mean'], gain.get('p5'), gain.get('p95'), d, True, draws)}"
        if gain.get("relative") is not None and np.isfinite(gain["relative"]):
            g += f" ({100 * gain['relative']:+.1f}%)"
        if draws and draws > 1 and gain.get("share_positive") is not None:
            g += f"; better in {100 * gain['share_positive']:.0f}% of the posterior draws"
        lines.append(g)
    return lines


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The terminal explanation of a plan (``Plan.to_dict()``), line by line."""
    lines = [
        f"status {plan.get('status')} | method {plan.get('method')} | "
        f"{fmt_gap(plan.get('gap'))} | {float(plan.get('seconds') or 0):.2f} s | "
        f"objective {plan.get('objective')}",
    ]
    if plan.get("objective") not in ("kpi", "log_kpi"):
        v = plan.get("objective_value")
        lines.append(f"objective value {fmt_amount(v, decimals([v]))}")
    lines += ["", *gain_lines(plan), ""]
    chans = plan.get("channels") or []
    dm = decimals([c.get("kpi") for c in chans], 4)
    dsp = decimals([v for c in chans for v in (c.get("current"), c.get("recommended"))])
    dmr = decimals(
        [v for c in chans for k in MARGINAL_KEYS if (v := c.get(k)) is not None], 3
    )  # the same precision as the reasons (explain.py)
    per = "per period" if int(plan.get("periods") or 1) == 1 else "mean per period"
    cols = [
        ("channel", [str(c.get("name", ""))[:23] for c in chans], "<"),
        ("today", [fmt_amount(c.get("current"), dsp) for c in chans], ">"),
        ("recommended", [fmt_amount(c.get("recommended"), dsp) for c in chans], ">"),
        ("change", [_change(c) for c in chans], ">"),
        ("KPI", [fmt_amount(c.get("kpi"), dm) for c in chans], ">"),
        ("marginal", [fmt_amount(c.get("marginal_return"), dmr) for c in chans], ">"),
        ("bound", [c.get("binding") or "" for c in chans], "<"),
    ]
    widths = [max(len(h), *(len(v) for v in vals)) for h, vals, _ in cols]
    lines.append("  ".join(f"{h:{a}{w}}" for (h, _, a), w in zip(cols, widths)).rstrip())
    for i in range(len(chans)):
        lines.append(
            "  ".join(f"{vals[i]:{a}{w}}" for (_, vals, a), w in zip(cols, widths)).rstrip()
        )
    lines.append(
        f"(spend {per}; KPI: each channel's incremental KPI; marginal: KPI per extra unit of "
        "spend at the recommendation)"
    )
    why = [(c.get("name", ""), c.get("reason")) for c in chans if c.get("reason")]
    if why:
        lines += ["", "why:"]
        for n, r in why:
            lines += textwrap.wrap(f"{n}: {r}", 100, initial_indent="  ",
                                   subsequent_indent="      ")  # fmt: skip
    depts = plan.get("departments") or {}
    if depts:
        dd = decimals([v for d in depts.values() for v in (d.get("spend"), d.get("budget"))])
        dp = decimals([d.get("shadow_price") for d in depts.values()], 3)
        lines += ["", f"{'department':<24}{'spend':>12}{'budget':>12}{'overrun':>10}{'shadow':>10}"]
        for name, d in depts.items():
            lines.append(
                f"{str(name)[:23]:<24}{fmt_amount(d.get('spend'), dd):>12}"
                f"{fmt_amount(d.get('budget'), dd):>12}{fmt_amount(d.get('overrun'), dd):>10}"
                f"{fmt_amount(d.get('shadow_price'), dp):>10}"
            )
    bind = [c for c in plan.get("constraints") or [] if c.get("binding")]
    if bind:
        dp = decimals([c.get("shadow_price") for c in bind], 3)
        lines += ["", "binding constraints (shadow price: objective gained per extra unit):"]
        lines += [f"  {c['name']}: {fmt_amount(c.get('shadow_price'), dp)}" for c in bind]
    front = plan.get("frontier") or []
    if front:
        db = decimals([f.get("budget") for f in front])
        dk = decimals([f.get("kpi") for f in front])
        notes = frontier_notes(plan)
        lines += ["", "frontier (the optimum at other budgets):",
                  f"{'budget':>14}{'KPI':>14}  at the upper bound"]  # fmt: skip
        caps = frontier_caps(plan)
        for f, cap in zip(front, caps):
            lines.append(
                (
                    f"{fmt_amount(f.get('budget'), db):>14}{fmt_amount(f.get('kpi'), dk):>14}  "
                    + ("all channels" if cap and len(cap) == len(chans) else ", ".join(cap))
                ).rstrip()
            )
        lines += [f"note: {n}" for n in notes]
    lines += [f"note: {m}" for m in plan.get("messages") or []]
    return lines


def _change(c: dict[str, Any]) -> str:
    """A channel's relative change ("new" for one that starts from zero spend)."""
    change = c.get("change")
    if change is None or not np.isfinite(float(change)):
        cur = c.get("current")
        return "new" if cur is not None and float(cur) == 0 and c.get("recommended") else ""
    return f"{float(change):+.1%}"


def frontier_caps(plan: dict[str, Any]) -> list[list[str]]:
    """For each frontier point of ``plan``, the channels whose spend sits at their upper
    bound there (needs the channels' ``upper``; empty lists without them)."""
    ups = {
        c["name"]: float(c["upper"])
        for c in plan.get("channels") or []
        if c.get("upper") is not None and np.isfinite(float(c["upper"]))
    }
    out = []
    for f in plan.get("frontier") or []:
        alloc = f.get("allocation") or {}
        out.append(
            [n for n, u in ups.items() if n in alloc and float(alloc[n]) >= u * (1 - 1e-6) - 1e-9]
        )
    return out


def frontier_notes(plan: dict[str, Any]) -> list[str]:
    """Why the frontier flattens, when the bounds (not saturation) flatten it: the budget
    from which every channel sits at its upper bound (more budget buys nothing), or the
    budgets where some channels are capped."""
    front = plan.get("frontier") or []
    caps = frontier_caps(plan)
    n = len(plan.get("channels") or [])
    if not front or not n:
        return []
    pts = sorted(zip(front, caps), key=lambda fc: float(fc[0].get("budget") or 0))
    db = decimals([f.get("budget") for f in front])
    full = [f for f, c in pts if len(c) == n]
    if full:
        b = fmt_amount(full[0].get("budget"), db)
        return [
            f"from a budget of {b} every channel is at its upper bound, so the frontier is "
            "flat there because of the bounds, not saturation: more budget cannot be spent. "
            "Widen the bounds to see what it would buy."
        ]
    some = [(f, c) for f, c in pts if c]
    if some:
        f, c = some[0]
        return [
            f"from a budget of {fmt_amount(f.get('budget'), db)} {', '.join(c)} "
            f"{'sits' if len(c) == 1 else 'sit'} at the upper bound, so the frontier rises "
            "more slowly than the response curves alone would make it: the bounds, not only "
            "saturation, flatten it."
        ]
    return []
