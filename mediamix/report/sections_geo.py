"""The report's "Geo breakdown" section, for a run of the geo model only: national against
per-geo ROAS with intervals (a geo x channel grid and a figure with interval bars), how far
the geos differ (the pooling), the contributions of organic media and non-media treatments,
and the optimal frequency of reach-and-frequency channels.

It reads summary.json (``mediamix.analysis.geo.to_json``: the national ``channels`` block,
``geos.<geo>.channels.<name>.{roas,mroas,contribution}``, ``organic``, ``non_media``,
``optimal_frequency``, ``diagnostics``, ``model``) and nothing else, so a run folder without
the saved model still shows it. A national run has no ``geos`` block: no section.

`mediamix.report.html` calls `geo_section(run, Section, review_banner)` with its own section
class and verdict function (this module does not import it back): a fit that failed its
review or did not converge reads as such at the top of the section and in each caption.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from mediamix.report import figures as F

KEY = "geo"
TITLE = "Geo breakdown"
NATIONAL = "national"
#: the R-hat above which a geo fit without a model review reads as not converged
RHAT_LIMIT = 1.01


def is_geo(summary: Mapping[str, Any] | None) -> bool:
    """Whether ``summary`` is a geo run's (a ``geos`` block, or ``model.kind == "geo"``)."""
    if not isinstance(summary, Mapping):
        return False
    model = summary.get("model")
    kind = model.get("kind") if isinstance(model, Mapping) else None
    return kind == "geo" or bool(summary.get("geos"))


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def span(t: Any) -> str:
    """``mean [lower, upper]`` (the interval left out when it is missing or collapses to the
    point, as for a MAP fit); '' without a mean."""
    if not isinstance(t, Mapping) or _num(t.get("mean")) is None:
        return ""
    m, lo, hi = _num(t.get("mean")), _num(t.get("lower")), _num(t.get("upper"))
    s = F.fmt_number(m)
    if lo is not None and hi is not None and not (lo == hi == m):
        s += f" [{F.fmt_number(lo)}, {F.fmt_number(hi)}]"
    return s


def geo_names(summary: Mapping[str, Any]) -> list[str]:
    """The geos in the model's order (``model.geos``), else in the ``geos`` block's order."""
    block = summary.get("geos") or {}
    listed = (
        (summary.get("model") or {}).get("geos")
        if isinstance(summary.get("model"), Mapping)
        else None
    )
    if isinstance(listed, Sequence) and not isinstance(listed, str):
        names = [str(g) for g in listed if str(g) in block]
        return names + [str(g) for g in block if str(g) not in names]
    return [str(g) for g in block]


def media_names(summary: Mapping[str, Any]) -> list[str]:
    """The channels with spend (paid then reach-and-frequency): the national ``channels``
    block's names, then any only a geo has."""
    names = [str(c) for c in summary.get("channels") or {}]
    for g in (summary.get("geos") or {}).values():
        for c in (g or {}).get("channels") or {}:
            if str(c) not in names:
                names.append(str(c))
    return names


def _metric(block: Mapping[str, Any] | None, channel: str, key: str) -> dict[str, Any]:
    got = ((block or {}).get("channels") or {}).get(channel) or {}
    t = got.get(key) if isinstance(got, Mapping) else None
    return dict(t) if isinstance(t, Mapping) else {}


def grid_rows(summary: Mapping[str, Any], key: str = "roas") -> list[list[str]]:
    """The geo x channel grid of ``key`` (roas | mroas | contribution): the national row
    first, then one row per geo; each cell ``mean [lower, upper]``."""
    chans = media_names(summary)
    geos = summary.get("geos") or {}
    rows = [[NATIONAL] + [span(_metric(summary, c, key)) for c in chans]]
    for g in geo_names(summary):
        rows.append([g] + [span(_metric(geos.get(g), c, key)) for c in chans])
    return rows


def pooling_rows(summary: Mapping[str, Any], level: float) -> list[list[str]]:
    """Per channel, how far the geos' ROAS differ: the national ROAS, the spread of the geo
    means (their standard deviation, and over the national mean), the geos' mean interval
    width, spread / width, and the share of geos whose interval holds the national mean."""
    geos = summary.get("geos") or {}
    rows = []
    for c in media_names(summary):
        nat = _num(_metric(summary, c, "roas").get("mean"))
        means, widths, covers = [], [], []
        for g in geo_names(summary):
            t = _metric(geos.get(g), c, "roas")
            m, lo, hi = (_num(t.get(k)) for k in ("mean", "lower", "upper"))
            if m is None:
                continue
            means.append(m)
            if lo is not None and hi is not None:
                widths.append(hi - lo)
                if nat is not None:
                    covers.append(lo <= nat <= hi)
        if not means:
            continue
        mu = sum(means) / len(means)
        sd = math.sqrt(sum((m - mu) ** 2 for m in means) / len(means))
        width = sum(widths) / len(widths) if widths else None
        rows.append([
            c,
            span(_metric(summary, c, "roas")),
            F.fmt_number(sd),
            f"{sd / abs(nat):.0%}" if nat else "",
            F.fmt_number(width) if width is not None else "",
            F.fmt_number(sd / width) if width else "",
            f"{sum(covers)} / {len(covers)}" if covers else "",
        ])  # fmt: skip
    return rows


POOLING_HEADER = ("channel", "national ROAS", "spread of geo means (sd)", "spread / national",
                  "mean interval width", "spread / width", "geos whose interval holds national")  # fmt: skip


def share_text(x: float) -> str:
    """A share as a percentage: whole percent from 10%, one decimal below (a geo with 0.4% of
    the media contribution does not read as 0%)."""
    return f"{x:.0%}" if abs(x) >= 0.095 else f"{x:.1%}"


def totals_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per geo (national first): population when the fit scaled by it, spend over the window,
    the KPI, what media brought (``kpi.media``) and its share of the national media
    contribution, and the baseline."""
    geos = summary.get("geos") or {}
    pops = any(isinstance(g, Mapping) and g.get("population") is not None for g in geos.values())
    nat_media = _num(((summary.get("kpi") or {}).get("media") or {}).get("mean"))

    def row(name: str, block: Mapping[str, Any] | None) -> list[str]:
        block = block or {}
        kpi = block.get("kpi") or {}
        spend = [_num((c or {}).get("spend")) for c in (block.get("channels") or {}).values()]
        spend = [v for v in spend if v is not None]
        media = _num((kpi.get("media") or {}).get("mean"))
        out = [name] + ([F.fmt_number(block.get("population"))] if pops else [])
        return out + [
            F.fmt_number(sum(spend)) if spend else "",
            F.fmt_number(kpi.get("total")),
            span(kpi.get("media")),
            share_text(media / nat_media) if media is not None and nat_media else "",
            span(kpi.get("baseline")),
        ]

    rows = [row(NATIONAL, summary)] + [row(g, geos.get(g)) for g in geo_names(summary)]
    if all(all(c in ("", "100%") for c in r[1:]) for r in rows):
        return [], []
    head = ["geo"] + (["population"] if pops else [])
    head += ["spend (window)", "KPI (window)", "from media", "share of national media",
             "baseline"]  # fmt: skip
    return head, rows


def roles_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Organic media and non-media treatments: header ``geo, <organic...>, <non-media...>``
    and rows (national first) of their contribution ``mean [lower, upper]``."""
    cols: list[tuple[str, str]] = []
    for role in ("organic", "non_media"):
        names = list(summary.get(role) or {})
        for g in (summary.get("geos") or {}).values():
            names += [n for n in (g or {}).get(role) or {} if n not in names]
        cols += [(role, str(n)) for n in names]
    if not cols:
        return [], []

    def cells(block: Mapping[str, Any] | None) -> list[str]:
        out = []
        for role, n in cols:
            got = ((block or {}).get(role) or {}).get(n) or {}
            out.append(span(got.get("contribution") if isinstance(got, Mapping) else None))
        return out

    geos = summary.get("geos") or {}
    rows = [[NATIONAL] + cells(summary)] + [[g] + cells(geos.get(g)) for g in geo_names(summary)]
    head = ["geo"] + [f"{n} ({'organic' if r == 'organic' else 'non-media'})" for r, n in cols]
    # a column no geo reports (national only) stays; a table of empty cells does not
    if all(all(c == "" for c in row[1:]) for row in rows):
        return [], []
    return head, rows


def frequency_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """Each reach-and-frequency channel's optimal frequency ``mean [lower, upper]`` and its
    national ROAS."""
    out = []
    for name, t in (summary.get("optimal_frequency") or {}).items():
        out.append([str(name), span(t), span(_metric(summary, str(name), "roas"))])
    return out


def roas_figure(summary: Mapping[str, Any], level: float = 0.9) -> go.Figure:
    """ROAS per geo (national first), one marker per channel with its ``level`` interval as
    an error bar (``array = upper - mean``, ``arrayminus = mean - lower``); a dotted line at
    ROAS = 1 (break-even)."""
    geos = summary.get("geos") or {}
    xs = [NATIONAL] + geo_names(summary)
    blocks = [summary] + [geos.get(g) for g in xs[1:]]
    fig = go.Figure()
    for i, c in enumerate(media_names(summary)):
        pts = [_metric(b, c, "roas") for b in blocks]
        mean = [_num(p.get("mean")) for p in pts]
        plus, minus = [], []
        for p, m in zip(pts, mean):
            lo, hi = _num(p.get("lower")), _num(p.get("upper"))
            plus.append(None if m is None or hi is None else hi - m)
            minus.append(None if m is None or lo is None else m - lo)
        fig.add_trace(
            go.Scatter(
                x=xs, y=mean, mode="markers", name=c, offsetgroup=str(i),
                marker={"color": F.channel_color(i), "size": 8},
                error_y={"type": "data", "symmetric": False, "array": plus,
                         "arrayminus": minus, "visible": True},
                hovertemplate=f"%{{x}}, {c}: ROAS %{{y:.3g}}<extra></extra>",
            )
        )  # fmt: skip
    fig.add_hline(y=1.0, line={"dash": "dot", "color": "#777777"})
    fig.update_layout(scattermode="group", hovermode="closest")
    return F._layout(
        fig, f"ROAS per geo and channel ({level:.0%} intervals)", "geo",
        "KPI value per unit of spend",
    )  # fmt: skip


def national_view(run):
    """``run`` as the report's national sections read it: for a geo run, the tables of the
    geo layout (``contributions.csv`` by geo, channel and role; ``response_curves.csv`` with
    a ``geo`` column) become their national parts (the decomposition over time is not in a
    geo run's files: it is left out; the response curves are the ``national`` rows). Any
    other run is returned as it is."""
    from dataclasses import replace

    if not is_geo(run.summary):
        return run
    changes: dict[str, Any] = {}
    contrib = run.contributions
    if contrib is not None and "geo" in contrib.columns and "date" not in contrib.columns:
        changes["contributions"] = None
    curves = run.response_curves
    if curves is not None and "geo" in curves.columns:
        part = curves[curves["geo"].astype(str) == NATIONAL].drop(columns="geo")
        changes["response_curves"] = part.reset_index(drop=True) if len(part) else None
    return replace(run, **changes) if changes else run


def fit_status(summary: Mapping[str, Any], review_banner: Callable[[Any], dict[str, str]]):
    """``(title, text, done)``: the model review's verdict when the run holds one (the
    report's own `review_banner`), else what the fit's diagnostics say (R-hat above
    `RHAT_LIMIT`, ``converged: false`` or an SVI / MAP loss that had not settled: NOT
    CONVERGED); ``done`` is False for a fit that failed its review or did not converge."""
    review = summary.get("review")
    if review:
        b = review_banner(review)
        return b["title"], b["text"], b["badge"] not in ("fail", "not-converged")
    diag = summary.get("diagnostics") or {}
    rhat, div = _num(diag.get("max_rhat")), _num(diag.get("divergences"))
    bits = []
    if rhat is not None and rhat > RHAT_LIMIT:
        bits.append(f"max R-hat {rhat:.3f} (above {RHAT_LIMIT})")
    if div:
        bits.append(f"{int(div)} divergent transition(s)")
    if diag.get("loss_converged") is False:
        bits.append("the loss had not settled when the steps ran out")
    if (
        diag.get("converged") is False
        or (rhat is not None and rhat > RHAT_LIMIT)
        or (diag.get("loss_converged") is False)
    ):
        why = ", ".join(bits) or "the sampler reports it did not converge"
        return ("NOT CONVERGED", f"{why}: the per-geo numbers below may change with a longer "
                "run; do not report them yet.", False)  # fmt: skip
    seen = []
    if rhat is not None:
        seen.append(f"max R-hat {rhat:.3f}")
    if div is not None:
        seen.append(f"{int(div)} divergences")
    if diag.get("loss_converged") is True:
        seen.append("the loss settled")
    b = review_banner(None)
    text = (
        "this geo fit holds no model review; "
        + (f"its diagnostics ({', '.join(seen)}) show no failure; " if seen else "")
        + "read the fit diagnostics before using its numbers."
    )
    return b["title"], text, True


def geo_section(run, section_cls, review_banner: Callable[[Any], dict[str, str]]) -> Any | None:
    """The section for a geo run (see the module docstring), else None. ``section_cls``:
    the report's section class (key, title; ``.text``, ``.figure``, ``.table``);
    ``review_banner``: the report's verdict of a model review."""
    summary = run.summary
    if not is_geo(summary) or not summary.get("geos"):
        return None
    lvl = float(run.level)
    s = section_cls(KEY, TITLE)
    title, text, done = fit_status(summary, review_banner)
    s.text.append(f"{title}: {text}")
    flag = "" if done else f"{title}, provisional: "
    geos = geo_names(summary)
    model = summary.get("model") or {}
    pooling = model.get("geo_pooling") if isinstance(model, Mapping) else None
    how = (
        "each geo has its own media effects (no pooling: separate fits)"
        if pooling == "none"
        else "each geo's media effects are partially pooled around the national ones"
    )
    s.text.append(
        f"{len(geos)} geos; {how}. National ROAS is the national contribution over the "
        f"national spend in the fitted window, a geo's is its own; mean [{lvl:.0%} interval]."
    )
    chans = media_names(summary)
    head, rows = totals_rows(summary)
    if rows:
        s.table({"header": head, "rows": rows, "warn_col": None,
                 "caption": f"{flag}each geo over the fitted window: spend, KPI, what media "
                 f"brought and the baseline (KPI units, mean [{lvl:.0%} interval])"})  # fmt: skip
    s.table({"header": ["geo", *chans], "rows": grid_rows(summary, "roas"), "warn_col": None,
             "caption": f"{flag}ROAS per geo and channel: KPI value per unit spent, mean "
             f"[{lvl:.0%} interval]"})  # fmt: skip
    s.figure("geo_roas", roas_figure(summary, lvl))
    if any(_metric(summary, c, "contribution") for c in chans):
        s.table({"header": ["geo", *chans], "rows": grid_rows(summary, "contribution"),
                 "warn_col": None, "caption": f"{flag}incremental KPI over the fitted window per "
                 f"geo and channel, mean [{lvl:.0%} interval]"})  # fmt: skip
    pool = pooling_rows(summary, lvl)
    if pool and len(geos) > 1:
        s.table({"header": list(POOLING_HEADER), "rows": pool, "warn_col": None,
                 "caption": f"{flag}how far the geos differ: spread / width well below 1 means "
                 "the geos' ROAS are pulled to the national one (the data cannot tell them "
                 "apart); near or above 1, the geos differ by more than their uncertainty"})  # fmt: skip
    head, rows = roles_rows(summary)
    if rows:
        s.table({"header": head, "rows": rows, "warn_col": None,
                 "caption": f"{flag}contributions of organic media and non-media treatments "
                 f"(KPI over the fitted window, mean [{lvl:.0%} interval]); they have no "
                 "spend, so no ROAS"})  # fmt: skip
    freq = frequency_rows(summary)
    if freq:
        s.table({"header": ["reach-and-frequency channel", "optimal frequency", "national ROAS"],
                 "rows": freq, "warn_col": None,
                 "caption": f"{flag}the frequency per period that maximises the response per "
                 f"exposure, mean [{lvl:.0%} interval]; plans for these channels spend at it"})  # fmt: skip
    return s
