"""Per-geo budget plans: spend per (geo, channel) under national and per-geo rules, certified.

A geo plan is an ordinary :class:`~mediamix.optimize.problem.Problem` whose channels are the
cells ``"<geo>/<channel>"`` (one :class:`Response` per geo and media channel, spend per period
in that geo -> KPI per period in that geo), so it goes through the same select -> solve ->
certify -> explain steps and carries the same certificate (``gap``). The rules:

- the total ``budget`` per period (a cap, ``sum x <= budget``, as in every problem);
- ``channel_bounds``: a channel's national total over the geos, ``{channel: (min, max)}``;
  each side a named :class:`Group` (``national 'tv' total max (30000)``);
- ``geo_caps``: a geo's total, ``{geo: max}`` or ``{geo: (min, max)}``, a named Group
  (``geo 'Geo3' total max (1000)``);
- ``geo_share``: a geo's share ``{geo: (lo, hi)}``. With ``share_of="spend"`` (the default)
  the share is of the plan's own total spend, ``lo * sum(x) <= sum_g(x) <= hi * sum(x)``:
  homogeneous rows over *all* cells (coefficient ``lo`` on every cell, ``lo - 1`` on the
  geo's own; ``1 - hi`` and ``-hi``), right whether or not the budget is spent in full
  (the budget is an upper bound; with saturating curves or tight caps part of it may stay
  unspent, and a floor of ``lo * budget`` would then force money into a geo beyond its
  share). A Group cannot write this (its bounds are constants), so :class:`GeoProblem`
  adds these rows in :meth:`GeoProblem.linear_rows`; every solver, the certificate and the
  infeasibility diagnosis read the rows from there. With ``share_of="budget"`` the share is
  of the budget itself, ``lo * budget <= sum_g(x) <= hi * budget`` (constant rows). Rows are
  named ``geo 'Geo3' share min (0.05 of total spend)`` / ``(... of budget)``;
- ``bounds``: per cell ``{(geo, channel): (lo, hi)}`` or ``{"geo/channel": (lo, hi)}``.

Spend is money per period throughout (as :class:`Problem`). ``current`` (per cell, same key
forms, or ``{geo: {channel: spend}}``) sets each cell's reference spend; without a budget the
budget is the current total. :func:`solve_geo` returns a :class:`GeoPlan`: the plan, a geo x
channel spend table, per-geo totals and shares, national channel totals, the certificate and
:meth:`GeoPlan.to_dict` (the JSON the web planner draws its geo breakdown from).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import InfeasibleError, SpecError, did_you_mean
from mediamix.jsonable import jsonable
from mediamix.optimize.plan import Plan, decimals, fmt_amount
from mediamix.optimize.problem import Channel, Group, Problem, Row
from mediamix.optimize.response import Response
from mediamix.schemas import number

__all__ = [
    "SEP",
    "SHARE_OF",
    "GeoPlan",
    "GeoProblem",
    "GeoRule",
    "cell_name",
    "cvar_certificate",
    "geo_problem",
    "geo_problem_from_dict",
    "geo_responses_from_records",
    "solve_geo",
]

SEP = "/"
SHARE_OF = ("spend", "budget")
GEO_PLAN_FORMAT = 1  # the version of GeoPlan.to_dict's layout

# Problem fields a geo plan takes from the caller as they are (the rest it builds itself).
_OPTIONS = (
    "objective",
    "kpi_value",
    "elastic_penalty",
    "risk",
    "alpha",
    "kpi_target",
    "min_roas",
    "max_cpa",
    "method",
    "gap_tol",
    "max_nodes",
    "time_limit",
)


def cell_name(geo: str, channel: str) -> str:
    """The problem channel of one geo's channel: ``"<geo>/<channel>"``."""
    return f"{geo}{SEP}{channel}"


@dataclass(frozen=True)
class GeoRule:
    """One national or geo rule as the plan reports it.

    ``rule``: ``budget``, ``channel_min`` / ``channel_max`` (a channel's national total),
    ``geo_min`` / ``geo_max`` (a geo's total), ``share_min`` / ``share_max`` (a geo's share);
    ``limit`` is money per period, or a share (0..1) for the share rules; ``name`` is the
    constraint's name in the plan (and in an infeasibility message).
    """

    name: str
    rule: str
    geo: str | None
    channel: str | None
    limit: float


@dataclass(frozen=True)
class GeoProblem(Problem):
    """A :class:`Problem` over geo x channel cells (build it with :func:`geo_problem`).

    ``geos`` and ``media`` (the channel names) in order; ``cells`` the ``(geo, channel)`` of
    each problem channel, in the problem's order; ``shares`` ``{geo: (lo, hi)}`` (either side
    ``None``) and ``share_of`` (``spend`` or ``budget``) give the share rows; ``rules`` name
    every national and geo rule (their Groups are in ``groups``).
    """

    geos: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    cells: tuple[tuple[str, str], ...] = ()
    shares: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    share_of: str = "spend"
    rules: tuple[GeoRule, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "geos", tuple(self.geos))
        object.__setattr__(self, "media", tuple(self.media))
        object.__setattr__(self, "cells", tuple(tuple(c) for c in self.cells))
        object.__setattr__(self, "shares", dict(self.shares))
        object.__setattr__(self, "rules", tuple(self.rules))
        if self.share_of not in SHARE_OF:
            raise SpecError(
                f"share_of must be one of {', '.join(SHARE_OF)} (got {self.share_of!r}): "
                "'spend' keeps a geo's share of the plan's total spend, 'budget' of the budget"
            )
        if len(self.cells) != self.n:
            raise SpecError(
                f"a geo problem needs one cell per channel ({self.n}), got {len(self.cells)}"
            )
        if self.shares and self.share_of == "budget" and self.budget is None:
            raise SpecError(
                "geo_share with share_of='budget' needs a 'budget'; give one, or keep the "
                "shares of the total spend (share_of='spend')"
            )
        unknown = sorted(set(self.shares) - set(self.geos))
        if unknown:
            raise SpecError(f"geo_share names unknown geo(s) {unknown}; geos: {list(self.geos)}")

    def share_rows(self) -> list[Row]:
        """The geo-share rows on total spend per cell (see the module docstring)."""
        rows: list[Row] = []
        n = self.n
        for g in self.geos:
            if g not in self.shares:
                continue
            lo, hi = self.shares[g]
            own = np.array([1.0 if cg == g else 0.0 for cg, _ in self.cells])
            if self.share_of == "spend":
                if lo is not None and lo > 0:
                    rows.append(Row(_share_name(g, "min", lo, "spend"), lo * np.ones(n) - own, 0.0,
                                    False, "group"))  # fmt: skip
                if hi is not None and hi < 1:
                    rows.append(Row(_share_name(g, "max", hi, "spend"), own - hi * np.ones(n), 0.0,
                                    False, "group"))  # fmt: skip
            else:
                b = float(self.budget)
                if lo is not None and lo > 0:
                    rows.append(Row(_share_name(g, "min", lo, "budget"), -own, -lo * b, False,
                                    "group"))  # fmt: skip
                if hi is not None and hi < 1:
                    rows.append(Row(_share_name(g, "max", hi, "budget"), own, hi * b, False,
                                    "group"))  # fmt: skip
        return rows

    def linear_rows(self) -> list[Row]:
        """The problem's rows (budget, the national and geo Groups, named by the rule), then
        the geo-share rows."""
        mine = {g.name for g in self.groups}
        rows = []
        for r in super().linear_rows():
            if r.kind == "group" and r.name.startswith("group '"):
                head, _, rest = r.name[len("group '") :].rpartition("' ")
                if head in mine:
                    r = replace(r, name=f"{head} {rest}")
            rows.append(r)
        return rows + self.share_rows()

    def geo_rules(self) -> list[GeoRule]:
        """Every rule with its row name: the budget, the Groups' rules and the shares."""
        out = []
        if self.budget is not None:
            out.append(GeoRule(f"total budget ({self.budget:g})", "budget", None, None,
                               float(self.budget)))  # fmt: skip
        out += list(self.rules)
        for g in self.geos:
            lo, hi = self.shares.get(g, (None, None))
            if lo is not None and lo > 0:
                out.append(GeoRule(_share_name(g, "min", lo, self.share_of), "share_min", g, None,
                                   float(lo)))  # fmt: skip
            if hi is not None and hi < 1:
                out.append(GeoRule(_share_name(g, "max", hi, self.share_of), "share_max", g, None,
                                   float(hi)))  # fmt: skip
        return out

    def cell_index(self) -> dict[tuple[str, str], int]:
        return {c: i for i, c in enumerate(self.cells)}


def _share_name(geo: str, side: str, value: float, of: str) -> str:
    what = "total spend" if of == "spend" else "budget"
    return f"geo '{geo}' share {side} ({value:g} of {what})"


# -- building -----------------------------------------------------------------------------------
def _pair(value: Any, where: str, *, share: bool = False) -> tuple[float | None, float | None]:
    """``(lo, hi)`` from a pair, a ``{min, max}`` mapping; either side ``None``."""
    if isinstance(value, Mapping):
        bad = sorted(set(map(str, value)) - {"min", "max"})
        if bad:
            raise SpecError(f"{where}: unknown key(s) {bad}; give min and/or max")
        pair = (value.get("min"), value.get("max"))
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        pair = (value[0], value[1])
    else:
        raise SpecError(
            f"{where}: expected [min, max] (null for no limit) or {{min: .., max: ..}}, got "
            f"{value!r}"
        )
    out = []
    for side, v in zip(("min", "max"), pair, strict=True):
        if v is None or (isinstance(v, float) and math.isinf(v) and v > 0 and side == "max"):
            out.append(None)
            continue
        x = number(v, f"{where}.{side}")
        if x < 0:
            raise SpecError(f"{where}.{side} must be >= 0 (got {x:g})")
        if share and x > 1:
            raise SpecError(
                f"{where}.{side} is a share, between 0 and 1 (got {x:g}); write 0.3 for 30%"
            )
        out.append(x)
    lo, hi = out
    if lo is not None and hi is not None and hi < lo:
        raise SpecError(f"{where}: max {hi:g} is below min {lo:g}")
    return lo, hi


def _cell_key(key: Any, known: Mapping[str, tuple[str, str]], where: str) -> tuple[str, str]:
    """``(geo, channel)`` or ``"geo/channel"`` -> the cell, with a did-you-mean error."""
    if isinstance(key, tuple | list) and len(key) == 2:
        name = cell_name(str(key[0]), str(key[1]))
    else:
        name = str(key)
    if name not in known:
        raise SpecError(
            f"{where}: unknown geo/channel '{name}'; write '<geo>{SEP}<channel>' with a geo and "
            f"a channel of the responses.{did_you_mean(name, sorted(known))}"
        )
    return known[name]


def _known(name: Any, choices: Sequence[str], what: str, where: str) -> str:
    name = str(name)
    if name not in choices:
        raise SpecError(
            f"{where}: unknown {what} '{name}'; {what}s: {', '.join(choices)}."
            f"{did_you_mean(name, choices)}"
        )
    return name


def geo_responses_from_records(
    records: Any, where: str = "geo_responses"
) -> dict[str, list[Response]]:
    """Per-geo response curves from JSON: ``{geo: [Response.to_dict(), ...]}`` (the record
    format of ``responses.json``), or a list of such records each with a ``geo`` key."""
    if isinstance(records, list):
        grouped: dict[str, list] = {}
        for j, rec in enumerate(records):
            if not isinstance(rec, Mapping) or "geo" not in rec:
                raise SpecError(f"{where}[{j}]: a per-geo response record needs a 'geo' key")
            grouped.setdefault(str(rec["geo"]), []).append(
                {k: v for k, v in rec.items() if k != "geo"}
            )
        records = grouped
    if not isinstance(records, Mapping) or not records:
        raise SpecError(
            f"{where}: expected a mapping {{geo: [response, ...]}} with at least one geo, got "
            f"{type(records).__name__}"
        )
    out: dict[str, list[Response]] = {}
    for g, recs in records.items():
        if not isinstance(recs, list) or not recs:
            raise SpecError(f"{where}.{g}: expected a non-empty list of response curves")
        try:
            out[str(g)] = [r if isinstance(r, Response) else Response.from_dict(r) for r in recs]
        except SpecError as exc:
            raise SpecError(f"{where}.{g}: {exc}") from None
    return out


def geo_problem(
    responses: Mapping[str, Sequence[Response]],
    budget: float | None = None,
    *,
    channel_bounds: Mapping[str, Any] | None = None,
    geo_caps: Mapping[str, Any] | None = None,
    geo_share: Mapping[str, Any] | None = None,
    bounds: Mapping[Any, Any] | None = None,
    current: Mapping[Any, Any] | None = None,
    share_of: str = "spend",
    **options: Any,
) -> GeoProblem:
    """The geo x channel problem (see the module docstring for each rule).

    ``responses``: ``{geo: [Response, ...]}``, one curve per media channel of the geo (a geo
    may lack a channel); curves with posterior draws must have one number of draws across
    all geos (draw ``s`` of every curve comes from the same posterior draw, so risk measures
    such as CVaR see the national outcome per draw). ``options``: the :class:`Problem`
    fields ``objective``, ``kpi_value``, ``risk``, ``alpha``, ``kpi_target``, ``min_roas``,
    ``max_cpa``, ``elastic_penalty``, ``method``, ``gap_tol``, ``max_nodes``, ``time_limit``.
    """
    bad = sorted(set(options) - set(_OPTIONS))
    if bad:
        raise SpecError(
            f"geo_problem: unknown option(s) {bad}; options: {', '.join(_OPTIONS)}."
            f"{did_you_mean(bad[0], _OPTIONS)}"
        )
    if share_of not in SHARE_OF:
        raise SpecError(f"share_of must be one of {', '.join(SHARE_OF)} (got {share_of!r})")
    if not isinstance(responses, Mapping) or not responses:
        raise SpecError(
            "geo_problem: responses must be a mapping {geo: [Response, ...]} with a geo"
        )
    geos = [str(g) for g in responses]
    media: list[str] = []
    cells: list[tuple[str, str]] = []
    curves: list[Response] = []
    for g, rs in responses.items():
        g = str(g)
        rs = list(rs)
        if not rs:
            raise SpecError(f"geo '{g}' has no response curves; drop the geo or give its curves")
        seen = set()
        for r in rs:
            if not isinstance(r, Response):
                raise SpecError(
                    f"geo '{g}': responses must be mediamix.optimize.Response objects (got "
                    f"{type(r).__name__}); JSON records go through geo_responses_from_records"
                )
            if r.name in seen:
                raise SpecError(f"geo '{g}' has two curves for channel '{r.name}'")
            seen.add(r.name)
            if r.name not in media:
                media.append(r.name)
            cells.append((g, r.name))
            curves.append(r)
    names = [cell_name(g, c) for g, c in cells]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise SpecError(
            f"geo and channel names run together into the same cell name(s) {dup}; rename a "
            f"geo or a channel so that '<geo>{SEP}<channel>' is unique"
        )
    draws = {g: sorted({r.n_draws for r in rs} - {1}) for g, rs in responses.items()}
    sizes = sorted({s for v in draws.values() for s in v})
    if len(sizes) > 1:
        by = {s: [g for g, v in draws.items() if s in v] for s in sizes}
        raise SpecError(
            "the per-geo curves carry different numbers of posterior draws "
            + "; ".join(f"{s} in {', '.join(map(str, gs[:5]))}" for s, gs in by.items())
            + ": take the curves of every geo from the same fit (one set of draws)"
        )
    known = dict(zip(names, cells, strict=True))
    index = {c: i for i, c in enumerate(cells)}

    refs: dict[int, float] = {}
    for key, value in (current or {}).items():
        if isinstance(value, Mapping):  # {geo: {channel: spend}}
            g = _known(key, geos, "geo", "current")
            for ch, v in value.items():
                i = index[_cell_key((g, ch), known, f"current.{g}")]
                refs[i] = number(v, f"current.{g}.{ch}")
        else:
            i = index[_cell_key(key, known, "current")]
            refs[i] = number(value, f"current.{cell_name(*cells[i])}")
    lows = [0.0] * len(cells)
    ups: list[float | None] = [None] * len(cells)
    for key, value in (bounds or {}).items():
        i = index[_cell_key(key, known, "bounds")]
        lo, hi = _pair(value, f"bounds.{names[i]}")
        lows[i], ups[i] = (lo or 0.0), hi
    chans = []
    for i, r in enumerate(curves):
        ref = refs.get(i, r.reference_spend)
        chans.append(Channel(replace(r, name=names[i], reference_spend=ref), lows[i], ups[i]))

    groups: list[Group] = []
    rules: list[GeoRule] = []
    for ch, value in (channel_bounds or {}).items():
        ch = _known(ch, media, "channel", "channel_bounds")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = (None, value)  # a number is the national maximum
        lo, hi = _pair(value, f"channel_bounds.{ch}")
        gname = f"national '{ch}' total"
        groups.append(
            Group(gname, tuple(n for n, c in zip(names, cells, strict=True) if c[1] == ch), hi, lo)
        )
        if hi is not None:
            rules.append(GeoRule(f"{gname} max ({hi:g})", "channel_max", None, ch, hi))
        if lo is not None:
            rules.append(GeoRule(f"{gname} min ({lo:g})", "channel_min", None, ch, lo))
    for g, value in (geo_caps or {}).items():
        g = _known(g, geos, "geo", "geo_caps")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = (None, value)
        lo, hi = _pair(value, f"geo_caps.{g}")
        gname = f"geo '{g}' total"
        groups.append(
            Group(gname, tuple(n for n, c in zip(names, cells, strict=True) if c[0] == g), hi, lo)
        )
        if hi is not None:
            rules.append(GeoRule(f"{gname} max ({hi:g})", "geo_max", g, None, hi))
        if lo is not None:
            rules.append(GeoRule(f"{gname} min ({lo:g})", "geo_min", g, None, lo))
    shares = {}
    for g, value in (geo_share or {}).items():
        g = _known(g, geos, "geo", "geo_share")
        shares[g] = _pair(value, f"geo_share.{g}", share=True)
    lo_sum = sum(lo for lo, _ in shares.values() if lo is not None)
    if lo_sum > 1 + 1e-12:
        parts = ", ".join(f"'{g}' {lo:g}" for g, (lo, _) in shares.items() if lo)
        raise InfeasibleError(
            f"the geos' minimum shares add up to {lo_sum:g}, more than the whole (1): "
            f"{parts}; lower some geo_share minima so they sum to at most 1"
        )
    if len(shares) == len(geos) and all(hi is not None for _, hi in shares.values()):
        hi_sum = sum(hi for _, hi in shares.values())
        if hi_sum < 1 - 1e-12:
            raise InfeasibleError(
                f"every geo has a maximum share and they add up to {hi_sum:g}, less than the "
                "whole spend; raise some geo_share maxima (or drop one) so they sum to at least 1"
            )
    if budget is None and options.get("objective", "kpi") in ("kpi", "kpi_at_min_roas"):
        ref = [c.response.reference_spend for c in chans]
        if all(v is not None for v in ref):
            budget = float(sum(ref))  # today's total spend
    return GeoProblem(
        channels=tuple(chans),
        budget=None if budget is None else float(budget),
        groups=tuple(groups),
        geos=tuple(geos),
        media=tuple(media),
        cells=tuple(cells),
        shares=shares,
        share_of=share_of,
        rules=tuple(rules),
        **options,
    )


# -- the YAML / JSON form -------------------------------------------------------------------------
_TOP_KEYS = ("budget", "objective", "kpi_value", "risk", "alpha", "kpi_target", "min_roas",
             "max_cpa", "elastic", "method", "gap", "max_nodes", "time_limit", "geo")  # fmt: skip
_GEO_KEYS = ("run", "responses", "channels", "caps", "share", "share_of", "bounds", "current")


def geo_problem_from_dict(
    d: Mapping[str, Any], responses: Mapping[str, Sequence[Response]] | None = None
) -> GeoProblem:
    """A geo plan from its file form (YAML / JSON; the README's "Per-geo plans")::

        budget: 100000          # per period
        objective: kpi          # the problem file's options: risk, alpha, gap, method, ...
        geo:
          run: runs/geo         # curves from a geo run (read by the caller, see the CLI)
          responses: {Geo1: [{name: tv, family: hill, params: {beta: 3, k: 2, s: 1}}]}
          channels: {tv: {max: 30000}, search: [2000, null]}   # national totals
          caps: {Geo3: 1000}    # a geo's total (or {min: .., max: ..})
          share: {Geo1: [0.1, 0.3], Geo2: {min: 0.05}}
          share_of: spend       # or budget
          bounds: {Geo1/tv: [0, 5000]}
          current: {Geo1/tv: 1200}

    ``responses`` (from a run) is used when the file has no ``geo.responses``.
    """
    if not isinstance(d, Mapping):
        raise SpecError(
            f"geo plan: expected a mapping with a 'geo' section, got {type(d).__name__}"
        )
    from mediamix.schemas import check_keys

    check_keys(d, _TOP_KEYS, "geo plan")
    geo = d.get("geo") or {}
    if not isinstance(geo, Mapping):
        raise SpecError(f"geo plan.geo: expected a mapping, got {type(geo).__name__}")
    check_keys(geo, _GEO_KEYS, "geo plan.geo")
    if geo.get("responses") is not None:
        responses = geo_responses_from_records(geo["responses"], "geo plan.geo.responses")
    if responses is None:
        raise SpecError(
            "geo plan.geo: give the per-geo curves, 'responses: {geo: [...]}' or 'run: RUN_DIR' "
            "(a geo run folder; on the command line --run RUN_DIR)"
        )
    opts: dict[str, Any] = {}
    for key in ("objective", "kpi_value", "alpha", "kpi_target", "min_roas", "max_cpa",
                "method", "max_nodes", "time_limit"):  # fmt: skip
        if d.get(key) is not None:
            opts[key] = (
                d[key]
                if key in ("objective", "method")
                else number(d[key], f"geo plan.{key}", integer=key == "max_nodes")
            )
    if "max_nodes" in opts:
        opts["max_nodes"] = int(opts["max_nodes"])
    if d.get("gap") is not None:
        opts["gap_tol"] = number(d["gap"], "geo plan.gap")
    risk = d.get("risk")
    if isinstance(risk, Mapping):
        from mediamix.schemas import check_keys as ck

        ck(risk, ("type", "alpha"), "geo plan.risk")
        opts["risk"] = str(risk.get("type", "mean"))
        if risk.get("alpha") is not None:
            opts["alpha"] = number(risk["alpha"], "geo plan.risk.alpha")
    elif risk is not None:
        opts["risk"] = str(risk)
    el = d.get("elastic")
    if el is not None:
        pen = el.get("penalty") if isinstance(el, Mapping) else el
        opts["elastic_penalty"] = number(pen, "geo plan.elastic.penalty")
    budget = d.get("budget")
    for key in ("channels", "caps", "share", "bounds", "current"):
        if geo.get(key) is not None and not isinstance(geo[key], Mapping):
            raise SpecError(f"geo plan.geo.{key}: expected a mapping, got {geo[key]!r}")
    return geo_problem(
        responses,
        None if budget is None else number(budget, "geo plan.budget"),
        channel_bounds=geo.get("channels"),
        geo_caps=geo.get("caps"),
        geo_share=geo.get("share"),
        bounds=geo.get("bounds"),
        current=geo.get("current"),
        share_of=str(geo.get("share_of", "spend")),
        **opts,
    )


# -- solving --------------------------------------------------------------------------------------
def _check_spendable(problem: GeoProblem) -> None:
    """Share rows of the total spend are homogeneous, so zero spend always keeps them: a set
    of shares no positive plan can keep would give an all-zero plan instead of an error.
    When the other rules allow spending but the shares do not, name the rules in conflict."""
    if problem.share_of != "spend" or not problem.share_rows():
        return
    from scipy.optimize import linprog

    from mediamix.optimize.linear import diagnose_infeasible, linear_system, spend_scale

    sigma = spend_scale(problem)
    system = linear_system(problem, sigma)
    if system.T != 1:
        return
    nx = system.n_x
    bounds = [(lo, hi if np.isfinite(hi) else None) for lo, hi in
              zip(system.lo[:nx], system.hi[:nx], strict=True)]  # fmt: skip
    A = system.A[:, :nx].toarray()
    hard = np.array([not r.elastic for r in system.rows] + [True] * len(system.pacing), bool)
    share = np.array([r.name.startswith("geo '") and " share " in r.name for r in system.rows]
                     + [False] * len(system.pacing))  # fmt: skip

    def most(rows: np.ndarray) -> float | None:
        res = linprog(-np.ones(nx), A_ub=A[rows] if rows.any() else None,
                      b_ub=system.b[rows] if rows.any() else None, bounds=bounds,
                      method="highs")  # fmt: skip
        if res.status == 3:  # unbounded: it can spend
            return math.inf
        return -res.fun if res.status == 0 else None

    top_all = most(hard)
    top_free = most(hard & ~share)
    if top_all is None or top_free is None:
        return  # infeasible anyway: the solver's own diagnosis names it
    eps = 1e-7
    if top_free > eps and top_all <= eps:
        pos = Row("spending anything at all", -np.ones(problem.n), -1e-3 * min(top_free, 1.0),
                  False, "group")  # fmt: skip
        import scipy.sparse as sp

        A2 = sp.vstack([system.A, sp.csr_matrix(np.concatenate(
            [-np.ones(nx), np.zeros(system.A.shape[1] - nx)])[None, :])]).tocsr()  # fmt: skip
        sys2 = replace(system, rows=list(system.rows) + [pos], A=A2,
                       b=np.append(system.b, pos.rhs))  # fmt: skip
        # pacing rows (none with one period) would sit after the appended row: keep none
        raise diagnose_infeasible(problem, replace(sys2, pacing=()))


def _sharpen(ev: Any, raw: Any) -> None:
    """Sharpen a convex answer's certificate in place (one period, risk mean, ``kpi`` or
    ``profit``): the interior-point solver leaves rows that bind slack by ~1e-7 of the spend,
    more than the KKT polish's active-set tolerance (1e-6 of a row's right side, or of the
    spend scale for the share rows, whose right side is 0), so the polish keeps a wrong active
    set and the first-order certificate stays near 1e-4. The answer is moved onto the rows
    within 1e-5 of the total spend of binding (the least change: a least-squares step on the
    cells off their bounds), polished (Newton on the KKT equations) and kept when it is
    feasible, scores at least as well and its Frank-Wolfe gap is smaller."""
    from mediamix.optimize.certify import feasible, frank_wolfe_gap, kkt_polish

    p = ev.problem
    if p.periods != 1 or p.risk != "mean" or p.objective not in ("kpi", "profit"):
        return
    if p.combine != "additive" or p.elastic_penalty is not None or not ev.system.rows:
        return
    sigma = ev.system.sigma
    x = np.asarray(raw.x, dtype=float)[0].copy()
    rows = ev.system.rows
    A = np.array([r.coef for r in rows])
    b = np.array([r.rhs for r in rows], dtype=float)
    lo, hi = p.lower(), p.upper()
    tol = 1e-5 * max(float(x.sum()), sigma)
    near = (b - A @ x) <= tol
    at_lo = x - lo <= 1e-5 * sigma
    at_hi = np.isfinite(hi) & (hi - x <= 1e-5 * sigma)
    x[at_lo], x[at_hi] = lo[at_lo], hi[at_hi]
    free = ~(at_lo | at_hi)
    if near.any() and free.any():
        AB = A[near][:, free]
        dx = np.linalg.lstsq(AB, b[near] - A[near] @ x, rcond=None)[0]
        x[free] = np.clip(x[free] + dx, lo[free], hi[free])
    f0 = ev.objective(raw.x)
    cand = x[None, :]
    if not feasible(ev, cand):
        return
    x1, duals = kkt_polish(ev, cand)
    if duals is None or not feasible(ev, x1):
        return
    f1 = ev.objective(x1)
    g1 = frank_wolfe_gap(ev, x1)
    if g1 is not None and g1 < (raw.gap if raw.gap is not None else np.inf):
        if f1 >= f0 - 1e-12 * max(abs(f0), 1.0):
            raw.x, raw.row_duals, raw.gap = x1, duals, g1


def _cvar_polish(
    ev: Any, x: np.ndarray, band: float = 1e-5
) -> tuple[np.ndarray, np.ndarray] | None:
    """Newton on the KKT equations of a CVaR plan (one period, ``kpi`` or ``profit``).

    The interior-point answer ``x`` (n,) gives the first active sets: the rows within
    ``band`` of the spend of binding, the cells at their bounds, the draws below the
    ``alpha`` quantile (weight ``1 / (alpha S)``), the draws within ``band`` of it (weights
    ``w_E`` free) and those above (weight 0). The square system

        a sum_s w_s K_s'(x)_F - c = A_BF^T y      (free cells)
        K_s(x) = eta                               (tied draws)
        sum_s w_s = 1,  A_B x = b_B

    is solved for ``(x_F, y, w_E, eta)`` by Newton's method, then the sets are corrected (an
    active-set method): a tied draw whose weight leaves ``[0, 1 / (alpha S)]`` moves above or
    below, a row with a negative multiplier is released, a row the step breaks binds, a cell
    that crosses a bound is fixed there. Returns the polished spend and the rows'
    multipliers (d objective / d right side), or ``None``."""
    p = ev.problem
    sigma = ev.system.sigma
    rows = ev.system.rows
    if not rows:
        return None
    A = np.array([r.coef for r in rows])
    b = np.array([r.rhs for r in rows], dtype=float)
    lo, hi = p.lower(), p.upper()
    a, c = (p.kpi_value, 1.0) if p.objective == "profit" else (1.0, 0.0)
    x0 = np.asarray(x, dtype=float).copy()
    scale = max(float(x0.sum()), sigma)
    B = (b - A @ x0) <= band * scale
    at_lo = x0 - lo <= band * sigma
    at_hi = np.isfinite(hi) & (hi - x0 <= band * sigma) & ~at_lo
    K = ev.kpi_draws(x0[None, :])
    S = K.size
    cap = 1.0 / (p.alpha * S)
    eta0 = float(np.sort(K)[min(int(np.ceil(p.alpha * S - 1e-9)) - 1, S - 1)])
    tie = band * max(abs(eta0), 1e-12)
    T = K < eta0 - tie
    E = np.abs(K - eta0) <= tie
    for _ in range(40):  # active-set corrections
        if not E.any() or cap * T.sum() >= 1:
            return None
        x = x0.copy()
        x[at_lo], x[at_hi] = lo[at_lo], hi[at_hi]
        F = ~(at_lo | at_hi)
        e_idx = np.nonzero(E)[0]
        nF, nB, nE = int(F.sum()), int(B.sum()), e_idx.size
        AB = A[B][:, F]
        w = np.where(T, cap, 0.0)
        w[e_idx] = (1.0 - cap * T.sum()) / nE
        eta = eta0
        y = np.zeros(nB)
        m = nF + nB + nE + 1
        converged = False
        for _ in range(50):
            g = ev.bank.derivs(x)  # (S, n)
            eps = 1e-6 * np.maximum(x, sigma * 1e-2)
            xm = np.maximum(x - eps, 0.0)
            h = (ev.bank.derivs(x + eps) - ev.bank.derivs(xm)) / (x + eps - xm)
            Kx = ev.kpi_draws(x[None, :])
            res = np.concatenate([
                a * (w @ g)[F] - c - AB.T @ y, Kx[e_idx] - eta, [w.sum() - 1.0],
                A[B] @ x - b[B],
            ])  # fmt: skip
            J = np.zeros((m, m))  # unknowns [x_F, y, w_E, eta]
            J[:nF, :nF] = np.diag(a * (w @ h)[F])
            J[:nF, nF : nF + nB] = -AB.T
            J[:nF, nF + nB : nF + nB + nE] = a * g[e_idx][:, F].T
            J[nF : nF + nE, :nF] = g[e_idx][:, F]
            J[nF : nF + nE, -1] = -1.0
            J[nF + nE, nF + nB : nF + nB + nE] = 1.0
            J[nF + nE + 1 :, :nF] = AB
            try:
                step = np.linalg.solve(J, -res)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(J, -res, rcond=None)[0]
            if not np.all(np.isfinite(step)):
                return None
            x[F] += step[:nF]
            y += step[nF : nF + nB]
            w[e_idx] += step[nF + nB : nF + nB + nE]
            eta += float(step[-1])
            if np.max(np.abs(step[:nF]), initial=0.0) <= 1e-12 * scale:
                converged = True
                break
        if not converged:
            return None
        changed = False
        low = e_idx[w[e_idx] < -1e-12]
        high = e_idx[w[e_idx] > cap * (1 + 1e-12)]
        if low.size or high.size:
            E[low] = E[high] = False
            T[high] = True
            changed = True
        Kx = ev.kpi_draws(x[None, :])
        cross_up = ~T & ~E & (Kx < eta - 1e-12 * abs(eta))  # a draw above fell below eta
        cross_dn = T & (Kx > eta + 1e-12 * abs(eta))
        if cross_up.any() or cross_dn.any():
            E |= cross_up | cross_dn
            T &= ~cross_dn
            changed = True
        neg = np.nonzero(B)[0][y < -1e-10 * max(float(np.abs(y).max(initial=0.0)), 1e-12)]
        if neg.size:
            B[neg] = False
            changed = True
        broken = ~B & (A @ x > b + 1e-9 * scale)
        if broken.any():
            B |= broken
            changed = True
        below, above = F & (x < lo), F & np.isfinite(hi) & (x > hi)
        if below.any() or above.any():
            at_lo |= below
            at_hi |= above
            changed = True
        if not changed:
            duals = np.zeros(len(rows))
            duals[np.nonzero(B)[0]] = y
            return np.clip(x, lo, hi), duals
        x0, eta0 = np.clip(x, lo, hi), eta  # the next sets start from here
    return None


def _solve(problem: GeoProblem) -> Plan:
    """select -> solve -> certify (then the sharper certificates above) -> explain."""
    import time

    from mediamix.optimize.certify import certify, never_worse_than_reference
    from mediamix.optimize.explain import explain_solution
    from mediamix.optimize.solver import make_evaluator, run_method, select_method

    t0 = time.perf_counter()
    ev = make_evaluator(problem)
    how = select_method(problem)
    raw = run_method(ev, how)
    raw = certify(ev, raw, how)
    if how == "convex" and raw.gap is not None and raw.gap > 1e-3 * problem.gap_tol:
        _sharpen(ev, raw)
        raw = never_worse_than_reference(ev, raw)
    if problem.risk == "cvar" and raw.gap is not None and raw.gap > 0:
        from mediamix.optimize.certify import feasible

        x0 = np.asarray(raw.x, dtype=float)[0]
        g = cvar_certificate(problem, x0)
        if g is not None and g > 1e-3 * problem.gap_tol and problem.periods == 1:
            f0 = ev.objective(x0[None, :])
            for band in (1e-3, 1e-4, 1e-2, 1e-5):  # the solver's slack decides the sets
                got = _cvar_polish(ev, x0, band)
                if got is None or not feasible(ev, got[0][None, :]):
                    continue
                g1 = cvar_certificate(problem, got[0])
                f1 = ev.objective(got[0][None, :])
                if g1 is not None and g1 < g and f1 >= f0 - 1e-12 * max(abs(f0), 1.0):
                    raw.x, raw.row_duals, g = got[0][None, :], got[1], g1
                if g <= 1e-3 * problem.gap_tol:
                    break
        if g is not None and g < raw.gap:
            f = ev.objective(raw.x)
            raw.messages.append(
                f"certificate: the CVaR bound over the risk envelope (gap {g:.2e}; one "
                f"supergradient gave {raw.gap:.2e})"
            )
            raw.gap, raw.upper_bound = g, f + g * abs(f)
    return explain_solution(ev, raw, time.perf_counter() - t0)


def cvar_certificate(problem: Problem, x: np.ndarray) -> float | None:
    """A certified relative gap of spend ``x`` (n,) for a CVaR plan (one period, ``kpi`` or
    ``profit``, no elastic rows), ``None`` where it does not apply.

    ``CVaR(K) = min_{w in W} w . K`` over the risk envelope ``W = {0 <= w_s <= 1 / (alpha S),
    sum w = 1}``, so for any ``w`` in ``W`` and feasible ``z``, by concavity of each draw's
    ``K_s``: ``f(z) <= a w . (K* + G (z - x)) - c sum z`` (``a`` = kpi_value and ``c`` = 1
    for profit, ``a`` = 1 and ``c`` = 0 for kpi; ``G`` the per-draw slopes at ``x``). The
    best ``w`` and the LP dual ``y`` of the inner maximum over the constraints come from one
    LP (HiGHS); the bound is then re-evaluated exactly by weak duality with ``y`` clipped to
    ``y >= 0`` and ``w`` projected onto ``W``, so solver tolerances cannot make it invalid.
    One supergradient (the Frank-Wolfe certificate) is loose where draws tie at the CVaR
    quantile, as they do at the optimum; the envelope's best supergradient is not.
    """
    from scipy.optimize import linprog

    from mediamix.optimize.linear import spend_caps
    from mediamix.optimize.solver import make_evaluator

    p = problem
    if (
        p.risk != "cvar"
        or p.periods != 1
        or p.combine != "additive"
        or p.objective not in ("kpi", "profit")
        or p.elastic_penalty is not None
    ):
        return None
    ev = make_evaluator(p)
    sysm = ev.system
    sigma = sysm.sigma
    x = np.asarray(x, dtype=float).reshape(1, p.n)
    K = ev.kpi_draws(x)
    G = ev.bank.derivs(x[0])  # (S, n)
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(G))):
        return None
    S, n = K.size, p.n
    a, c = (p.kpi_value, 1.0) if p.objective == "profit" else (1.0, 0.0)
    A = sysm.A[:, :n].toarray()
    b = sysm.b
    m = A.shape[0]
    lo = sysm.lo[:n]
    hi = np.minimum(sysm.hi[:n], spend_caps(p) / sigma)  # implied by the rows: same polytope
    if not np.all(np.isfinite(hi)):
        return None
    zs = x[0] / sigma
    cap = 1.0 / (p.alpha * S)
    # variables [w (S), y (m), u (n), v (n)]: min a (K - G x) . w + b y + hi u - lo v
    # s.t. A^T y + u - v - sigma a G^T w = -sigma c, sum w = 1
    cost = np.concatenate([a * (K - G @ x[0]), b, hi, -lo])
    eq = np.hstack([-sigma * a * G.T, A.T, np.eye(n), -np.eye(n)])
    eq = np.vstack([eq, np.concatenate([np.ones(S), np.zeros(m + 2 * n)])])
    rhs = np.concatenate([np.full(n, -sigma * c), [1.0]])
    bounds = [(0.0, cap)] * S + [(0.0, None)] * (m + 2 * n)
    res = linprog(cost, A_eq=eq, b_eq=rhs, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    w = np.clip(res.x[:S], 0.0, cap)
    for _ in range(3):  # back onto W exactly: sum w = 1 within the caps
        d = 1.0 - w.sum()
        room = (cap - w) if d > 0 else w
        if abs(d) <= 1e-15 or room.sum() <= 0:
            break
        w = np.clip(w + np.sign(d) * room * min(1.0, abs(d) / room.sum()), 0.0, cap)
    if abs(w.sum() - 1.0) > 1e-12:
        return None
    y = np.maximum(res.x[S : S + m], 0.0)
    cz = sigma * (a * (G.T @ w) - c)  # the bound's slope per normalised unit of spend
    r = cz - A.T @ y
    inner = float(b @ y + hi @ np.maximum(r, 0.0) - lo @ np.maximum(-r, 0.0) - cz @ zs)
    ub = a * float(w @ K) - c * float(x.sum()) + inner
    f = ev.objective(x)
    return max(0.0, ub - f) / max(abs(f), 1e-12)


def solve_geo(
    problem: GeoProblem | Mapping[str, Sequence[Response]],
    budget: float | None = None,
    *,
    method: str | None = None,
    **kwargs: Any,
) -> GeoPlan:
    """Solve a geo plan to a certified optimum: ``solve_geo(geo_problem(...))`` or
    ``solve_geo(responses, budget, geo_caps=..., ...)`` (the arguments of :func:`geo_problem`).
    """
    if not isinstance(problem, GeoProblem):
        if isinstance(problem, Problem):
            raise SpecError("solve_geo needs a GeoProblem (build it with geo_problem); "
                            "solve a national Problem with mediamix.optimize.solve")  # fmt: skip
        problem = geo_problem(problem, budget, **kwargs)
    elif budget is not None or kwargs:
        raise SpecError("solve_geo(problem): give the budget and rules to geo_problem, not here")
    if method is not None:
        problem = replace(problem, method=method)
    _check_spendable(problem)
    plan = _solve(problem)
    return GeoPlan.from_plan(problem, plan)


@dataclass(frozen=True, eq=False)
class GeoPlan:
    """A certified geo x channel plan (spend is money per period).

    ``plan``: the :class:`Plan` over the cells ``"<geo>/<channel>"`` (its ``gap`` is the
    certificate); ``spend``, ``kpi``, ``current``: geo x channel tables (``pandas``,
    index ``geo``, columns the channels; ``NaN`` where a geo has no such channel; ``current``
    ``None`` without a current spend); ``geo_totals`` / ``geo_shares`` (of the plan's total
    spend) / ``geo_kpi``; ``channel_totals`` (national per channel); ``rules``: every
    national and geo rule with its value at the plan, whether it binds and its shadow price.
    """

    plan: Plan
    geos: tuple[str, ...]
    channels: tuple[str, ...]
    spend: pd.DataFrame
    kpi: pd.DataFrame
    current: pd.DataFrame | None
    geo_totals: dict[str, float]
    geo_shares: dict[str, float]
    geo_kpi: dict[str, float]
    channel_totals: dict[str, float]
    rules: tuple[dict[str, Any], ...]
    budget: float | None
    share_of: str
    gap_tol: float

    @property
    def gap(self) -> float | None:
        return self.plan.gap

    @property
    def certified(self) -> bool:
        """Whether the certificate reaches the target: ``gap <= gap_tol``."""
        return self.plan.gap is not None and self.plan.gap <= self.gap_tol * (1 + 1e-9)

    @classmethod
    def from_plan(cls, problem: GeoProblem, plan: Plan) -> GeoPlan:
        geos, media = list(problem.geos), list(problem.media)
        spend = pd.DataFrame(np.nan, index=pd.Index(geos, name="geo"), columns=media)
        kpi = spend.copy()
        cur = spend.copy() if problem.reference() is not None else None
        by_name = {c.name: c for c in plan.channels}
        for (g, ch), name in zip(problem.cells, problem.names, strict=True):
            c = by_name[name]
            spend.loc[g, ch] = c.recommended
            kpi.loc[g, ch] = c.kpi
            if cur is not None:
                cur.loc[g, ch] = c.current
        spend.columns.name = kpi.columns.name = "channel"
        if cur is not None:
            cur.columns.name = "channel"
        tot = float(np.nansum(spend.to_numpy()))
        geo_totals = {g: float(np.nansum(spend.loc[g].to_numpy())) for g in geos}
        shares = {g: (v / tot if tot > 0 else 0.0) for g, v in geo_totals.items()}
        cons = {c.name: c for c in plan.constraints}
        rules = []
        for r in problem.geo_rules():
            c = cons.get(r.name)
            if r.rule.startswith("share"):
                value = shares[r.geo] if problem.share_of == "spend" or not problem.budget else (
                    geo_totals[r.geo] / float(problem.budget)
                )  # fmt: skip
            elif r.rule.startswith("geo"):
                value = geo_totals[r.geo]
            elif r.rule.startswith("channel"):
                value = float(np.nansum(spend[r.channel].to_numpy()))
            else:
                value = tot
            price = float(c.shadow_price) if c is not None else 0.0
            if r.rule.startswith("share"):  # per share point: the row's rhs moves 0.01 x spend
                price *= 0.01 * (tot if problem.share_of == "spend" else float(problem.budget))
            rules.append({
                "name": r.name, "rule": r.rule, "geo": r.geo, "channel": r.channel,
                "limit": r.limit, "value": float(value),
                "binding": bool(c.binding) if c is not None else False,
                "shadow_price": price,
                "shadow_unit": "share_point" if r.rule.startswith("share") else "money",
            })  # fmt: skip
        return cls(
            plan=plan,
            geos=tuple(geos),
            channels=tuple(media),
            spend=spend,
            kpi=kpi,
            current=cur,
            geo_totals=geo_totals,
            geo_shares=shares,
            geo_kpi={g: float(np.nansum(kpi.loc[g].to_numpy())) for g in geos},
            channel_totals={ch: float(np.nansum(spend[ch].to_numpy())) for ch in media},
            rules=tuple(rules),
            budget=problem.budget,
            share_of=problem.share_of,
            gap_tol=float(problem.gap_tol),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the web planner's geo breakdown); see the README's "Per-geo plans"."""
        by_name = {c.name: c for c in self.plan.channels}
        cells = []
        for g in self.geos:
            for ch in self.channels:
                c = by_name.get(cell_name(g, ch))
                if c is None:
                    continue
                cells.append({
                    "geo": g, "channel": ch, "name": c.name, "spend": c.recommended,
                    "current": c.current, "change": c.change, "change_abs": c.change_abs,
                    "kpi": c.kpi, "marginal_return": c.marginal_return, "binding": c.binding,
                    "lower": c.lower, "upper": c.upper, "reason": c.reason,
                })  # fmt: skip
        total = float(sum(self.geo_totals.values()))
        cur_tot = None if self.current is None else float(np.nansum(self.current.to_numpy()))
        rules_by_geo: dict[str, list[str]] = {g: [] for g in self.geos}
        for r in self.rules:
            if r["geo"] is not None and r["binding"]:
                rules_by_geo[r["geo"]].append(r["name"])
        geos = {}
        for g in self.geos:
            cur = None if self.current is None else float(np.nansum(self.current.loc[g].to_numpy()))
            geos[g] = {
                "spend": self.geo_totals[g],
                "share": self.geo_shares[g],
                "kpi": self.geo_kpi[g],
                "current": cur,
                "current_share": None if cur is None or not cur_tot else cur / cur_tot,
                "binding": rules_by_geo[g],
            }
        chans = {}
        for ch in self.channels:
            cur = None if self.current is None else float(np.nansum(self.current[ch].to_numpy()))
            chans[ch] = {
                "spend": self.channel_totals[ch],
                "share": self.channel_totals[ch] / total if total > 0 else 0.0,
                "kpi": float(np.nansum(self.kpi[ch].to_numpy())),
                "current": cur,
            }

        def matrix(df):
            return None if df is None else [[None if np.isnan(v) else float(v) for v in row]
                                            for row in df.to_numpy()]  # fmt: skip

        p = self.plan
        out = {
            "kind": "geo_plan",
            "format": GEO_PLAN_FORMAT,
            "status": p.status,
            "method": p.method,
            "gap": p.gap,
            "gap_tol": self.gap_tol,
            "certified": self.certified,
            "seconds": p.seconds,
            "objective": p.objective,
            "objective_value": p.objective_value,
            "kpi": p.kpi,
            "spend_total": total,
            "budget": self.budget,
            "share_of": self.share_of,
            "geos": list(self.geos),
            "channels": list(self.channels),
            "table": {
                "spend": matrix(self.spend),
                "current": matrix(self.current),
                "kpi": matrix(self.kpi),
            },  # fmt: skip
            "by_geo": geos,
            "by_channel": chans,
            "cells": cells,
            "rules": [dict(r) for r in self.rules],
            "outcome": dict(p.outcome),
            "reference": p.reference,
            "gain": p.gain,
            "messages": list(p.messages),
            "plan": p.to_dict(),
        }
        return jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def spend_long(self) -> pd.DataFrame:
        """One row per cell: ``geo, channel, spend, kpi`` (+ ``current``); absent cells left out."""
        recs = []
        for g in self.geos:
            for ch in self.channels:
                v = self.spend.loc[g, ch]
                if np.isnan(v):
                    continue
                rec = {
                    "geo": g,
                    "channel": ch,
                    "spend": float(v),
                    "kpi": float(self.kpi.loc[g, ch]),
                }
                if self.current is not None:
                    rec["current"] = float(self.current.loc[g, ch])
                recs.append(rec)
        return pd.DataFrame(recs)

    def table(self) -> str:
        """The terminal view: the geo x channel spend, each geo's total and share, the
        national totals, the binding rules and the certificate."""
        d = self.to_dict()
        dec = decimals([v for row in d["table"]["spend"] for v in row if v is not None])
        w = max([len(g) for g in self.geos] + [8]) + 2
        cw = max([len(c) for c in self.channels] + [10]) + 2
        head = f"{'geo':<{w}}" + "".join(f"{c:>{cw}}" for c in self.channels)
        head += f"{'total':>{cw}}{'share':>8}{'KPI':>{cw}}"
        lines = [
            f"geo plan: {len(self.geos)} geos x {len(self.channels)} channels, status "
            f"{d['status']} ({d['method']}), certified gap {_gap(d['gap'])}"
            + ("" if self.certified else f" (target {self.gap_tol:g} not reached)"),
            f"KPI {fmt_amount(d['kpi'], 2)} per period; spend {fmt_amount(d['spend_total'], dec)}"
            + ("" if d["budget"] is None else f" of a budget of {fmt_amount(d['budget'], dec)}"),
            "",
            head,
        ]
        for g, row in zip(self.geos, d["table"]["spend"], strict=True):
            cells = "".join(f"{'-' if v is None else fmt_amount(v, dec):>{cw}}" for v in row)
            geo = d["by_geo"][g]
            lines.append(f"{g:<{w}}{cells}{fmt_amount(geo['spend'], dec):>{cw}}"
                         f"{geo['share']:>8.1%}{fmt_amount(geo['kpi'], 2):>{cw}}")  # fmt: skip
        nat = "".join(
            f"{fmt_amount(d['by_channel'][c]['spend'], dec):>{cw}}" for c in self.channels
        )
        lines.append(f"{'national':<{w}}{nat}{fmt_amount(d['spend_total'], dec):>{cw}}"
                     f"{1.0 if d['spend_total'] > 0 else 0.0:>8.1%}{fmt_amount(d['kpi'], 2):>{cw}}")  # fmt: skip
        binding = [r for r in d["rules"] if r["binding"]]
        if binding:
            lines += ["", "binding rules (shadow price: the KPI one more unit of money, or one "
                      "more share point, of the rule would add):"]  # fmt: skip
            for r in binding:
                unit = "per share point" if r["shadow_unit"] == "share_point" else "per unit"
                lines.append(f"  {r['name']}: shadow price {r['shadow_price']:.4g} {unit}")
        for m in d["messages"]:
            lines.append(f"note: {m}")
        return "\n".join(lines)


def _gap(g: float | None) -> str:
    return "n/a" if g is None else f"{g:.2e}"
