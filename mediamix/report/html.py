"""The self-contained HTML report: one file, works offline, no CDN.

plotly.js is inlined once (from the installed ``plotly`` package); each figure is a ``<div>``
with its data (``fig.to_html(full_html=False, include_plotlyjs=False)``). Sections appear
only when the run holds their data (e.g. the budget plan only when ``plan.json`` exists).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mediamix.errors import SpecError
from mediamix.optimize.plan import (
    MARGINAL_KEYS,
    decimals,
    fmt_amount,
    fmt_gap,
    frontier_caps,
    frontier_notes,
    kpi_label,
)
from mediamix.report import figures as F
from mediamix.report.run import RunData, load_run
from mediamix.report.sections_geo import geo_section, national_view
from mediamix.report.sections_refresh import refresh_section
from mediamix.report.sections_time import time_varying_section

logger = logging.getLogger(__name__)

TEMPLATE_NAME = "report.html.j2"
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}

# Section headings (stable: the tests and the web page look for them).
SECTIONS = {
    "summary": "Summary",
    "review": "Model review",
    "data": "Data checks",
    "fit": "Model fit vs actual",
    "sampler": "Fit diagnostics",
    "decomposition": "Decomposition over time",
    "roas": "ROAS and marginal ROAS",
    "experiments": "Experiments",
    "curves": "Response curves",
    "adstock": "Adstock decay",
    "plan": "Budget plan",
    "validation": "Validation",
}


@dataclass
class Section:
    """One block of the report: a heading, short text, tables and figures (HTML)."""

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    blocks: list[tuple[str, Any]] = field(default_factory=list)  # ("figure", html) | ("table", t)
    items: list[tuple[str, str]] = field(default_factory=list)  # (heading, sentence), shown first

    def item(self, head: str, text: str) -> None:
        self.items.append((head, text))

    def figure(self, name: str, fig: go.Figure) -> None:
        self.blocks.append(("figure", (name, fig)))

    def table(self, table: dict[str, Any]) -> None:
        self.blocks.append(("table", table))

    @property
    def figures(self) -> dict[str, go.Figure]:
        return dict(b for k, b in self.blocks if k == "figure")

    @property
    def tables(self) -> list[dict[str, Any]]:
        return [b for k, b in self.blocks if k == "table"]


def figure_html(fig: go.Figure, div_id: str | None = None) -> str:
    """A figure as an HTML fragment that relies on plotly.js already being on the page."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG, div_id=div_id)


def _table(header, rows, caption: str = "", warn_col: int | None = None) -> dict[str, Any]:
    return {"header": list(header), "rows": [list(r) for r in rows], "caption": caption,
            "warn_col": warn_col}  # fmt: skip


def _fmt(v: Any, pct: bool = False) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    if f != f:
        return ""
    return f"{f:.1%}" if pct else F.fmt_number(f)


def _triple(t: Any) -> str:
    if not isinstance(t, dict) or t.get("mean") is None:
        return ""
    s = _fmt(t["mean"])
    if t.get("lower") is not None and t.get("upper") is not None:
        s += f" [{_fmt(t['lower'])}, {_fmt(t['upper'])}]"
    return s


def _ratio(t: Any) -> str:
    """A ratio's point estimate (its median when the draws are skewed) and interval."""
    if not isinstance(t, dict) or t.get("estimate") not in ("mean", "median"):
        return _triple(t)
    est = t["estimate"]
    if t.get(est) is None:
        return ""
    s = _triple({**t, "mean": t[est]})
    return s + (" (median)" if est == "median" else "")


REVIEW_WORDS = {
    "fail": "REVIEW FAILED",
    "not converged": "NOT CONVERGED",
    "review": "NEEDS REVIEW",
    "pass": "REVIEW PASSED",
}


def review_banner(review: dict[str, Any] | None) -> dict[str, str]:
    """The verdict line at the top of the report: ``{badge, title, text}`` (``badge``:
    fail | not-converged | review | pass | none)."""
    if not review:
        return {
            "badge": "none",
            "title": "NOT REVIEWED",
            "text": "this run holds no model review (written before reviews existed); refit "
            "it to review the fit before using its numbers.",
        }
    badge = review.get("badge") or review.get("verdict", "review")
    n = review.get("counts") or {}
    counts = f"{n.get('fail', 0)} check(s) fail, {n.get('review', 0)} to review, "
    counts += f"{n.get('pass', 0)} pass"
    text = {
        "fail": "the fit ran, but its numbers are not fit to report until the failing checks "
        "below are fixed.",
        "not converged": "the sampler or optimiser did not converge: the numbers below may "
        "change with a longer run.",
        "review": "read the checks marked review before using the numbers.",
        "pass": "every check passed.",
    }.get(badge, "")
    title = REVIEW_WORDS.get(badge, str(badge).upper())
    if badge == "fail" and review.get("converged") is False:
        title += ", NOT CONVERGED"
    return {"badge": badge.replace(" ", "-"), "title": title, "text": f"{counts}: {text}"}


PRIOR_SHIFT_COLUMNS = (
    "channel",
    "prior ROAS",
    "posterior ROAS",
    "sd ratio",
    "shift (prior sd)",
    "verdict",
)


def _review_row(c: dict[str, Any]) -> list[str]:
    keys = ("name", "subject", "value", "threshold", "verdict", "advice")
    return [_fmt(c.get(k)) if k in ("value", "threshold") else c.get(k) or "" for k in keys]


def _prior_row(p: dict[str, Any]) -> list[str]:
    def span(kind: str) -> str:
        m, lo, hi = (_fmt(p.get(f"{kind}_{k}")) for k in ("median", "lower", "upper"))
        return f"{m} [{lo}, {hi}]"

    sd = _fmt(p.get("sd_ratio"))
    return [p.get("channel", ""), span("prior"), span("posterior"), sd, _fmt(p.get("shift")),
            p.get("verdict", "")]  # fmt: skip


def _review_section(review: dict[str, Any] | None, lvl: float) -> Section:
    s = Section("review", SECTIONS["review"])
    if not review:
        banner = review_banner(review)
        s.text.append(f"{banner['title']}: {banner['text']}")
        return s
    s.text.append(
        f"Method {review.get('method') or '?'}; the verdict is the worst check's. Each check "
        "says what to do; review means read it before using the numbers, fail means do not "
        "report them."
    )
    checks = review.get("checks") or []
    rank = {"fail": 0, "review": 1, "pass": 2}
    ordered = sorted(checks, key=lambda c: rank.get(c.get("verdict"), 3))
    s.table(
        _table(
            ("check", "subject", "value", "threshold", "verdict", "advice"),
            [_review_row(c) for c in ordered],
            caption="failing checks first; thresholds are documented in mediamix.analysis.review",
            warn_col=4,
        )
    )
    shifts = review.get("prior_shift") or []
    if shifts:
        s.table(
            _table(
                PRIOR_SHIFT_COLUMNS,
                [_prior_row(p) for p in shifts],
                caption="prior-data conflict: ROAS median [90% interval] under the prior and "
                "the posterior; sd ratio = posterior / prior spread",
                warn_col=5,
            )
        )
    return s


# Reading order after the summary and the review: the answer (returns, the plan, the
# curves behind it), then how the model sees the past, then how far to trust it, the data
# checks last.
ORDER = (
    "summary",
    "review",
    "refresh",
    "roas",
    "geo",
    "plan",
    "curves",
    "decomposition",
    "time_varying",
    "fit",
    "sampler",
    "adstock",
    "experiments",
    "validation",
    "data",
)


def sections(run: RunData) -> list[Section]:
    """The report's sections for the data ``run`` holds, in reading order: the summary (what
    each channel returned, what the plan recommends and gains, the review's verdict) first,
    then the model review, the detail, the data checks last."""
    found = {s.key: s for s in _all_sections(run)}
    summary = summary_section(run)
    if summary is not None:
        found["summary"] = summary
    return [found[k] for k in ORDER if k in found]


def _span(t: Any, d: int | None = None) -> str:
    """``mean [lower, upper]``, at ``d`` decimals when given; the interval is left out when it
    collapses to the point (a MAP fit)."""
    if not isinstance(t, dict) or t.get("mean") is None:
        return ""
    f = (lambda v: _fmt(v)) if d is None else (lambda v: fmt_amount(v, d))
    lo, hi = t.get("lower"), t.get("upper")
    if lo is None or hi is None or (float(lo) == float(hi) == float(t["mean"])):
        return f(t["mean"])
    return f"{f(t['mean'])} [{f(lo)}, {f(hi)}]"


def summary_section(run: RunData) -> Section | None:
    """The executive summary: the verdict, what media and each channel returned with the
    interval, what the plan recommends and its gain over today's plan with the interval."""
    if run.summary is None and not run.plan:
        return None
    s = Section("summary", SECTIONS["summary"])
    lvl = run.level
    if run.summary is not None:
        banner = review_banner(run.summary.get("review"))
        s.item("Model review", f"{banner['title']}: {banner['text']}")
    window = (run.summary or {}).get("window") or {}
    kpi = (run.summary or {}).get("kpi") or {}
    where = ""
    if window.get("start"):
        where = f" from {window['start']} to {window['end']}"
        if window.get("periods"):
            where += f" ({window['periods']} periods)"
    media = kpi.get("media")
    if isinstance(media, dict) and media.get("mean") is not None:
        line = f"{_span(media)} of the KPI{where}"
        if kpi.get("total"):
            share = float(media["mean"]) / float(kpi["total"])
            line += f": {share:.0%} of the total {_fmt(kpi['total'])}"
        s.item("What media brought", line + "; each channel in the table below.")
    if run.plan:
        for head, text in plan_summary(run.plan):
            s.item(head, text)
        table = gain_table(run.plan)
        if table is not None:
            s.table(table)
    chans = run.channels
    plan_rows = {r.get("name"): r for r in (run.plan or {}).get("channels") or []}
    if chans:
        head = ["channel", "spend over the window", "incremental KPI", "ROAS", "marginal ROAS"]
        if plan_rows:
            head += ["plan: spend per period", "change"]
        dr = decimals([(c.get(k) or {}).get(x) for c in chans.values()
                       for k in ("roas", "mroas") for x in ("mean", "upper")])  # fmt: skip
        rows = []
        for name, c in chans.items():
            row = [name, _fmt(c.get("spend")), _span(c.get("contribution"), 0),
                   _span(c.get("roas"), dr), _span(c.get("mroas"), dr)]  # fmt: skip
            if plan_rows:
                pr = plan_rows.get(name) or {}
                row += [_plan_move(pr), _change_text(pr)]
            rows.append(row)
        s.table(
            _table(
                head,
                rows,
                caption=f"what each channel returned{where}: mean [{lvl:.0%} interval]. ROAS: "
                "KPI value per unit spent; marginal ROAS: what the next unit returns",
            )
        )
    return s


def _plan_move(row: dict[str, Any]) -> str:
    cur, rec = row.get("current"), row.get("recommended")
    if rec is None:
        return ""
    if cur is None:
        return _fmt(rec)
    return f"{_fmt(cur)} → {_fmt(rec)}"


def _change_text(row: dict[str, Any]) -> str:
    ch = row.get("change")
    if ch is None:
        cur = row.get("current")
        return "new" if cur is not None and float(cur) == 0 and row.get("recommended") else ""
    return f"{float(ch):+.0%}"


def plan_summary(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """The plan as (heading, sentence) items: what moves where at what total, the expected
    gain with its interval, and why each cut channel is cut."""
    out = []
    rows = plan.get("channels") or []
    moved = [r for r in rows if r.get("change") is not None and abs(float(r["change"])) >= 0.005]
    ups = [r for r in moved if float(r["change"]) > 0]
    downs = [r for r in moved if float(r["change"]) < 0]

    def names(rs):
        parts = [f"{r['name']} ({float(r['change']):+.0%})" for r in rs]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    periods = int(plan.get("periods") or 1)
    per = "per period" if periods == 1 else f"over the {periods} planned periods"
    total = plan.get("spend_total")
    today = None
    if rows and all(r.get("current") is not None for r in rows):
        today = sum(float(r["current"]) for r in rows) * periods
    if total is not None and today is not None and abs(float(total) - today) <= 1e-6 * today:
        budget = f"the same {_fmt(total)} {per} in all"
    else:
        budget = f"{_fmt(total)} {per} in all" + (f" (today {_fmt(today)})" if today else "")
    if ups and downs:
        what = f"move spend from {names(downs)} to {names(ups)}, {budget}"
    elif moved:
        what = f"change {names(moved)}, {budget}"
    else:
        what = f"keep today's split, {budget}"
    out.append(("What the plan recommends", f"{what} ({fmt_gap(plan.get('gap'))})."))
    gain = plan.get("gain") or {}
    ref = plan.get("reference") or {}
    draws = (plan.get("outcome") or {}).get("draws") or 0
    label = kpi_label(periods, plan.get("objective") == "log_kpi").removeprefix("expected ")
    d = decimals([plan.get("kpi"), ref.get("kpi")], 4)
    if gain.get("mean") is not None:
        g = fmt_amount(gain["mean"], d, sign=True)
        if draws > 1 and gain.get("p5") is not None:
            g += f" [{fmt_amount(gain['p5'], d, True)}, {fmt_amount(gain['p95'], d, True)}]"
        rel = gain.get("relative")
        if rel is not None:
            g += f" ({100 * float(rel):+.1f}%)"
        text = f"{g} in {label}, against today's plan"
        if draws > 1 and gain.get("share_positive") is not None:
            text += (
                f"; 90% interval over the posterior draws, better in "
                f"{100 * float(gain['share_positive']):.0f}% of them"
            )
        else:
            text += " (one draw: no interval)"
        out.append(("Expected uplift", text + "."))
    elif ref.get("kpi") is not None and plan.get("kpi") is not None:
        diff = float(plan["kpi"]) - float(ref["kpi"])
        out.append(
            (
                "Expected uplift",
                f"{fmt_amount(diff, d, True)} in {label}, against today's plan (the plan file "
                "holds no per-draw gain, so no interval; re-run the optimizer to get one).",
            )
        )
    for r in downs:
        if r.get("reason"):
            out.append((f"Why {r['name']} is cut", f"{r['reason']}."))
    return out


def gain_table(plan: dict[str, Any]) -> dict[str, Any] | None:
    """Today's plan, the recommendation and the gain: expected KPI with its interval, spend."""
    ref = plan.get("reference") or {}
    if ref.get("kpi") is None:
        return None
    out = plan.get("outcome") or {}
    gain = plan.get("gain") or {}
    many = (out.get("draws") or 0) > 1
    d = decimals([plan.get("kpi"), ref.get("kpi")], 4)

    def cell(mean, lo, hi, sign=False):
        t = fmt_amount(mean, d, sign)
        if many and lo is not None and hi is not None:
            t += f" [{fmt_amount(lo, d, sign)}, {fmt_amount(hi, d, sign)}]"
        return t

    rows = plan.get("channels") or []
    periods = int(plan.get("periods") or 1)
    cur_spend = None
    if rows and all(r.get("current") is not None for r in rows):
        cur_spend = sum(float(r["current"]) for r in rows) * periods
    body = [
        ["today's plan", cell(ref["kpi"], ref.get("p5"), ref.get("p95")), _fmt(cur_spend)],
        ["recommended", cell(plan.get("kpi"), out.get("p5"), out.get("p95")),
         _fmt(plan.get("spend_total"))],
    ]  # fmt: skip
    if gain.get("mean") is not None:
        body.append(["gain", cell(gain["mean"], gain.get("p5"), gain.get("p95"), True), ""])
    label = kpi_label(periods, plan.get("objective") == "log_kpi")
    return _table(
        ("", label, "spend"),
        body,
        caption="mean [90% interval] over the posterior draws; the gain is computed draw by draw"
        if many
        else "the response curves have one draw: no interval",
    )


def _all_sections(run: RunData) -> list[Section]:
    """Every section but the summary, for the data ``run`` holds (``sections`` orders them)."""
    run = national_view(run)  # a geo run's tables as the national sections read them
    out: list[Section] = []
    lvl = run.level
    if run.summary is not None:
        out.append(_review_section(run.summary.get("review"), lvl))
    if run.data_checks:
        s = Section("data", SECTIONS["data"])
        checks = run.data_checks.get("checks") or []
        if checks:
            nw = sum(1 for c in checks if c.get("verdict") == "warn")
            s.text.append(f"{len(checks)} checks on the input data, {nw} warning(s).")
            s.table(
                _table(
                    ("check", "subject", "value", "threshold", "verdict", "advice"),
                    [
                        [
                            c.get("name", ""),
                            c.get("subject", ""),
                            _fmt(c.get("value")),
                            _fmt(c.get("threshold")),
                            c.get("verdict", ""),
                            c.get("advice", ""),
                        ]
                        for c in checks
                    ],  # fmt: skip
                    warn_col=4,
                )
            )
        corr = run.data_checks.get("correlation") or {}
        if corr.get("channels") and len(corr["channels"]) > 1:
            s.figure("correlation", F.correlation_heatmap(corr["channels"], corr["matrix"]))
        s.text += [f"note: {x}" for x in run.data_checks.get("notes") or []]
        out.append(s)

    diag = run.fit_diagnostics
    if run.fit is not None:
        s = Section("fit", SECTIONS["fit"])
        f = run.fit
        n_train = int(f["train"].sum()) if "train" in f.columns else None
        fit_fig = F.fit_vs_actual(
            f["date"], f["actual"], f["mean"], f.get("lower"), f.get("upper"),
            n_train=n_train, level=lvl,
        )  # fmt: skip
        s.figure("fit", fit_fig)
        bits = []
        if diag.get("in_sample_r2") is not None:
            bits.append(f"in-sample R² {_fmt(diag['in_sample_r2'])}")
        if diag.get("in_sample_mape") is not None:
            bits.append(f"in-sample MAPE {float(diag['in_sample_mape']):.2f}%")
        if diag.get("holdout_periods"):
            bits.append(
                f"hold-out of {diag['holdout_periods']} periods: MAPE "
                f"{_fmt(diag.get('holdout_mape'))}%, R² {_fmt(diag.get('holdout_r2'))}"
            )
        if diag.get("ppc_coverage") is not None:
            bits.append(
                f"{_fmt(diag['ppc_coverage'], pct=True)} of observed periods inside the "
                f"{_fmt(diag.get('ppc_level', lvl), pct=True)} predictive interval"
            )
        if bits:
            s.text.append("; ".join(bits) + ".")
        out.append(s)

    if diag:
        s = Section("sampler", SECTIONS["sampler"])
        s.table(_table(("diagnostic", "value"), F.sampler_rows(diag)))
        s.text += [f"warning: {w}" for w in diag.get("warnings") or []]
        if diag.get("converged") is True and not diag.get("warnings"):
            s.text.append("No sampler warnings (the model review above covers the rest).")
        out.append(s)

    if run.contributions is not None:
        s = Section("decomposition", SECTIONS["decomposition"])
        s.figure("decomposition", F.contributions_over_time(run.contributions))
        kpi = (run.summary or {}).get("kpi") or {}
        if kpi.get("baseline") or kpi.get("media"):
            s.text.append(
                f"Over the fitted window: baseline {_triple(kpi.get('baseline'))}, media "
                f"{_triple(kpi.get('media'))} (KPI units, {lvl:.0%} intervals)."
            )
        if kpi.get("cost_per_kpi"):
            ref = (run.summary or {}).get("contribution_reference") or "zero spend"
            s.text.append(
                f"All media: cost per incremental KPI {_ratio(kpi['cost_per_kpi'])}; "
                f"contributions are measured against {ref}."
            )
        out.append(s)

    if run.channels:
        s = Section("roas", SECTIONS["roas"])
        s.figure("roas", F.roas(run.channels, level=lvl))
        rows = [
            [name, _fmt(c.get("spend")), _triple(c.get("contribution")), _triple(c.get("roas")),
             _triple(c.get("mroas")), _ratio(c.get("cost_per_kpi"))]
            for name, c in run.channels.items()
        ]  # fmt: skip
        s.table(
            _table(
                (
                    "channel",
                    "spend (window)",
                    "contribution",
                    "ROAS",
                    "marginal ROAS",
                    "cost per KPI",
                ),
                rows,
                caption=f"mean [{lvl:.0%} interval] over the fitted window",
            )
        )
        defs = (run.summary or {}).get("definitions") or {}
        s.text += [f"{k}: {v}." for k, v in defs.items()]
        out.append(s)

    if (run.summary or {}).get("experiments"):
        out.append(_experiments_section(run.summary["experiments"], lvl))

    if run.response_curves is not None:
        s = Section("curves", SECTIONS["curves"])
        curves = run.response_curves
        facet = curves["channel"].nunique() > 1
        s.figure(
            "response_curves",
            F.response_curves(curves, run.current_spend, lvl, facet=facet),
        )
        s.text.append(
            "Incremental KPI per period when a channel runs at a constant spend per period "
            "(steady state, carry-over included); the diamond marks today's spend."
        )
        out.append(s)

    if run.adstock_curves is not None:
        s = Section("adstock", SECTIONS["adstock"])
        s.figure("adstock", F.adstock_curves(run.adstock_curves, lvl))
        out.append(s)
    out += [x for x in [time_varying_section(run, Section)] if x is not None]
    out += [x for x in [refresh_section(run, Section)] if x is not None]
    out += [x for x in [geo_section(run, Section, review_banner)] if x is not None]

    if run.plan:
        out.append(_plan_section(run.plan))
    validation = _validation_section(run.run_dir)
    if validation is not None:
        out.append(validation)
    return out


def _experiments_section(exps: list[dict[str, Any]], lvl: float) -> Section:
    """The lift tests the fit was calibrated with: measured against the model's lift."""
    s = Section("experiments", SECTIONS["experiments"])
    n_bad = sum(1 for x in exps if x.get("agrees") is False)
    s.text.append(
        f"{len(exps)} experiment(s) in the likelihood, each through the model's own "
        "counterfactual (the KPI over the measurement window with and without the test's spend "
        "change, through adstock and saturation). A test agrees when its measured lift lies "
        f"inside the model's {lvl:.0%} interval widened by 2 standard errors of the measurement."
    )
    if n_bad:
        s.text.append(
            f"warning: {n_bad} experiment(s) disagree with the fit: the data and the test pull "
            "apart; check the test's dates and spend change, and the model's controls."
        )
    rows = [
        [x.get("channel", ""), f"{x.get('start', '')} .. {x.get('end', '')}",
         x.get("measure_end", ""), _fmt(x.get("spend_change")),
         f"{_fmt(x.get('lift'))} ± {_fmt(x.get('lift_se'))}", _triple(x.get("model_lift")),
         {True: "yes", False: "no", None: ""}[x.get("agrees")]]
        for x in exps
    ]  # fmt: skip
    s.table(
        _table(
            (
                "channel",
                "test",
                "measured until",
                "spend change",
                "measured lift",
                "model lift",
                "agrees",
            ),
            rows,
            caption=f"lift in KPI units: mean [{lvl:.0%} interval] for the model",
        )  # fmt: skip
    )
    return s


def _plan_section(plan: dict[str, Any]) -> Section:
    s = Section("plan", SECTIONS["plan"])
    label = kpi_label(int(plan.get("periods") or 1), plan.get("objective") == "log_kpi")
    s.text.append(
        f"Status {plan.get('status', '?')}: {fmt_gap(plan.get('gap'))} (method "
        f"{plan.get('method', '?')}, objective {plan.get('objective', '?')}). The KPI here is "
        f"the {label.removeprefix('expected ')}: what the response curves give, without the "
        "baseline."
    )
    table = gain_table(plan)
    if table is not None:
        s.table(table)
    else:
        outcome = plan.get("outcome") or {}
        line = f"{label.capitalize()}: {_fmt(plan.get('kpi'))}"
        if outcome.get("p5") is not None and (outcome.get("draws") or 0) > 1:
            line += f" [{_fmt(outcome['p5'])}, {_fmt(outcome.get('p95'))}]"
        s.text.append(f"{line}; total spend {_fmt(plan.get('spend_total'))}.")
    s.figure("allocation", F.plan_allocation(plan))
    s.table(_table(F.EXPLANATION_COLUMNS, F.explanation_rows(plan), caption="Why this plan"))
    # shadow prices at the precision of the marginal returns they compare with
    dp = decimals(
        [
            v
            for r in plan.get("channels") or []
            for k in MARGINAL_KEYS
            if (v := r.get(k)) is not None
        ]
        + [c.get("shadow_price") for c in plan.get("constraints") or []],
        3,
    )
    depts = plan.get("departments") or {}
    if depts:
        s.table(
            _table(
                ("department", "spend", "budget", "overrun", "shadow price"),
                [
                    [
                        k,
                        _fmt(d.get("spend")),
                        _fmt(d.get("budget")),
                        _fmt(d.get("overrun")),
                        fmt_amount(d.get("shadow_price"), dp),
                    ]
                    for k, d in depts.items()
                ],  # fmt: skip
                caption="shadow price: KPI gained per extra unit of that budget",
            )
        )
    binding = [c for c in plan.get("constraints") or [] if c.get("binding")]
    if binding:
        s.table(
            _table(
                ("binding constraint", "value", "limit", "shadow price"),
                [
                    [
                        c.get("name", ""),
                        _fmt(c.get("value")),
                        _fmt(c.get("rhs")),
                        fmt_amount(c.get("shadow_price"), dp),
                    ]
                    for c in binding
                ],  # fmt: skip
            )
        )
    if plan.get("frontier"):
        chosen = {"budget": plan.get("spend_total"), "kpi": plan.get("kpi")}
        s.figure("frontier", F.frontier(plan["frontier"], chosen, capped=frontier_caps(plan)))
        s.text += frontier_notes(plan)
    s.text += [f"note: {m}" for m in plan.get("messages") or []]
    return s


def _yes_no(v: Any, pct: bool = False) -> str:
    return ("yes" if v else "no") if isinstance(v, bool) else _fmt(v, pct)


def _validation_section(run_dir: Path) -> Section | None:
    """The validation battery (validation.json) and the experiment designer's ranking
    (test_design.json), when the run holds them (`mediamix validate`, `mediamix design-test`)."""
    from mediamix.runs import layout as L

    found = {}
    for name in (L.VALIDATION, L.TEST_DESIGN):
        path = Path(run_dir) / name
        if path.is_file():
            try:
                found[name] = L.read_json(path)
            except SpecError as exc:  # a damaged file: the rest of the report still shows
                logger.warning("%s could not be read", path, exc_info=True)
                found[name] = {"error": str(exc)}
    if not found:
        return None
    s = Section("validation", SECTIONS["validation"])
    v = found.get(L.VALIDATION)
    if v is not None:
        if v.get("error"):
            s.text.append(f"note: {v['error']}")
        else:
            s.text.append(
                f"Verdict {v.get('verdict', '?')}: {len(v.get('tests') or [])} tests, "
                f"{v.get('refits', '?')} refits of the run's spec on its data in "
                f"{_fmt(v.get('seconds'))} s ({v.get('method', '?')}; the placebo with "
                f"{(v.get('settings') or {}).get('placebo_method', '?')})."
            )
            tests = v.get("tests") or []
            s.table(_table(("test", "verdict", "value", "threshold", "advice"),
                           [[t.get("name", ""), t.get("verdict", ""), _fmt(t.get("value")),
                             _fmt(t.get("threshold")), t.get("advice", "")] for t in tests],
                           warn_col=1))  # fmt: skip
            for t in tests:
                rows = t.get("rows") or []
                if rows:
                    head = list(rows[0])
                    body = [[_yes_no(r.get(k)) for k in head] for r in rows]
                    s.table(_table(head, body, caption=str(t.get("name", ""))))
    d = found.get(L.TEST_DESIGN)
    if d is not None:
        if d.get("error"):
            s.text.append(f"note: {d['error']}")
        else:
            s.text.append(f"Next experiment: {d.get('message', '')}")
            cols = ("channel", "change", "weeks", "spend_change", "cost", "width_now",
                    "width_after", "reduction", "within_budget")  # fmt: skip
            s.table(_table(cols, [[_yes_no(r.get(k), pct=k in ("change", "reduction"))
                                   for k in cols] for r in (d.get("designs") or [])[:10]],
                           caption="candidate tests, best first (cost: budget at risk)"))  # fmt: skip
    return s


def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("mediamix.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def render(run: RunData, title: str | None = None) -> str:
    """The report for ``run`` as one HTML string (plotly.js inlined once)."""
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    secs = sections(run)
    if not secs:
        raise SpecError(f"nothing to report in '{run.run_dir}': no results found")
    summary = run.summary or {}
    view = [
        {
            "key": sec.key,
            "title": sec.title,
            "text": sec.text,
            "items": sec.items,
            "blocks": [
                (k, Markup(figure_html(b[1], div_id=f"figure-{b[0]}")) if k == "figure" else b)
                for k, b in sec.blocks
            ],
        }
        for sec in secs
    ]
    window = summary.get("window") or {}
    banner = review_banner(summary.get("review")) if run.summary is not None else None
    meta = [
        ("review", banner["title"] if banner else None),
        ("run", str(run.run_dir)),
        ("method", summary.get("method")),
        ("form", summary.get("form")),
        ("window", f"{window['start']} .. {window['end']}" if window.get("start") else None),
        ("draws", summary.get("n_draws")),
        ("fit seconds", _fmt(summary.get("fit_seconds")) if "fit_seconds" in summary else None),
    ]
    from mediamix import __version__

    return (
        _env()
        .get_template(TEMPLATE_NAME)
        .render(
            title=title or f"mediamix report: {run.run_dir.name}",
            plotly_js=Markup(get_plotlyjs()),
            sections=view,
            banner=banner,
            meta=[(k, v) for k, v in meta if v not in (None, "")],
            notes=list(run.notes),
            generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            version=__version__,
        )
    )


def output_path(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Where the report goes: ``out``, checked to be writable-looking, or RUN_DIR/report.html."""
    if out is None:
        return Path(run_dir) / "report.html"
    path = Path(out)
    if path.is_dir():
        raise SpecError(f"--out '{path}' is a folder; give a file name such as report.html")
    if not path.parent.exists():
        raise SpecError(f"the folder of --out '{path}' does not exist; create it first")
    return path


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    title: str | None = None,
    run: RunData | None = None,
) -> Path:
    """Read ``run_dir`` (unless ``run`` was read already) and write the HTML report to
    ``out`` (default RUN_DIR/report.html)."""
    path = output_path(run_dir, out)
    if run is None:
        run = load_run(run_dir)
    path.write_text(render(run, title), encoding="utf-8")
    return path


def run_figures(run: RunData | str | Path) -> dict[str, go.Figure]:
    """Every figure of the report for ``run`` (a `RunData` or a run directory), by name:
    correlation, fit, decomposition, roas, response_curves, adstock, allocation, frontier
    (those whose data exists). For the web page (``fig.to_json()``) and PNG export."""
    if not isinstance(run, RunData):
        run = load_run(run)
    out: dict[str, go.Figure] = {}
    for sec in sections(run):
        out.update(sec.figures)
    return out
