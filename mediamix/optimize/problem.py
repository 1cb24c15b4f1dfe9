"""The allocation problem as data: channels, constraints, objective, risk and time.

A :class:`Problem` can be written by hand (Python or YAML, see :meth:`Problem.from_yaml`)
or built from a fitted model (:meth:`Problem.from_fitted`). It is inspected before it is
solved: :meth:`Problem.linear_rows` lists every linear constraint by name, which is how
infeasibility is explained.

Spend ``x_i`` is money per period on channel ``i``. With ``periods = T > 1`` (flighting) the
spend is ``x_{t,i}`` and each channel's curve is applied to its geometric adstock
``A_t = lam A_{t-1} + (1 - lam) x_t`` (carry-in from ``history``; the tail after the horizon,
with no new spend, is counted until the carry-over has decayed below 1e-4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError
from mediamix.optimize.response import Response

OBJECTIVES = ("kpi", "profit", "min_spend", "kpi_at_min_roas")
COMBINES = ("additive", "multiplicative")
RISKS = ("mean", "cvar")
METHODS = ("auto", "convex", "global")


@dataclass(frozen=True)
class Channel:
    """One channel (or ad): its response curve, spend bounds per period and department shares."""

    response: Response
    lower: float = 0.0
    upper: float | None = None
    shares: Mapping[str, float] | None = None

    @property
    def name(self) -> str:
        return self.response.name


@dataclass(frozen=True)
class Group:
    """A cap (and/or floor) on the total spend of a set of channels."""

    name: str
    channels: tuple[str, ...]
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class Row:
    """One named linear constraint ``coef @ total_spend_per_channel <= rhs``."""

    name: str
    coef: np.ndarray
    rhs: float
    elastic: bool = False
    kind: str = "budget"  # budget | department | group


@dataclass(frozen=True)
class Problem:
    """A budget allocation problem (see the module docstring and the README's YAML format).

    ``objective``: ``kpi`` (maximise KPI), ``profit`` (``kpi_value * KPI - spend``),
    ``min_spend`` (reach ``kpi_target`` at minimum spend) or ``kpi_at_min_roas`` (maximise
    KPI with ``kpi_value * KPI >= min_roas * spend``; ``max_cpa`` gives
    ``KPI >= spend / max_cpa``). ``risk``: ``mean`` (average over posterior draws) or
    ``cvar`` (average of the worst ``alpha`` share of draws).
    """

    channels: tuple[Channel, ...]
    budget: float | None = None
    objective: str = "kpi"
    combine: str = "additive"
    kpi_value: float = 1.0
    departments: Mapping[str, float] = field(default_factory=dict)
    groups: tuple[Group, ...] = ()
    elastic_penalty: float | None = None
    risk: str = "mean"
    alpha: float = 0.1
    kpi_target: float | None = None
    min_roas: float | None = None
    max_cpa: float | None = None
    base: float = 1.0
    periods: int = 1
    history: Mapping[str, Sequence[float]] = field(default_factory=dict)
    method: str = "auto"
    gap_tol: float = 1e-4

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "departments", dict(self.departments))
        if not self.channels:
            raise SpecError("a problem needs at least one channel under 'channels'")
        names = [c.name for c in self.channels]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"channel names must be unique; repeated: {dup}")
        for key, allowed in (
            ("objective", OBJECTIVES),
            ("combine", COMBINES),
            ("risk", RISKS),
            ("method", METHODS),
        ):
            if getattr(self, key) not in allowed:
                raise SpecError(
                    f"'{key}' must be one of {list(allowed)} (got {getattr(self, key)!r})"
                )
        if not 0 < self.alpha <= 1:
            raise SpecError(f"'alpha' (CVaR level) must be in (0, 1] (got {self.alpha})")
        if self.gap_tol <= 0:
            raise SpecError(f"'gap_tol' must be > 0 (got {self.gap_tol})")
        if int(self.periods) != self.periods or self.periods < 1:
            raise SpecError(f"'periods' must be a positive integer (got {self.periods})")
        if self.elastic_penalty is not None and self.elastic_penalty <= 0:
            raise SpecError(f"elastic penalty must be > 0 (got {self.elastic_penalty})")
        if self.kpi_value <= 0:
            raise SpecError(f"'kpi_value' must be > 0 (got {self.kpi_value})")
        if self.budget is not None and not math.isfinite(self.budget):
            raise SpecError(f"'budget' must be a finite number (got {self.budget})")
        if self.objective == "min_spend" and self.kpi_target is None:
            raise SpecError("objective 'min_spend' needs 'kpi_target' (the KPI to reach)")
        if self.objective == "kpi_at_min_roas" and (self.min_roas is None) == (
            self.max_cpa is None
        ):
            raise SpecError(
                "objective 'kpi_at_min_roas' needs exactly one of 'min_roas', 'max_cpa'"
            )
        if self.objective in ("kpi", "kpi_at_min_roas") and self.budget is None:
            if not self.departments and not all(c.upper is not None for c in self.channels):
                raise SpecError(
                    f"objective '{self.objective}' needs a 'budget' (or department budgets, "
                    "or an upper bound on every channel)"
                )
        for c in self.channels:
            if c.lower < 0 or (c.upper is not None and c.upper < c.lower):
                raise SpecError(
                    f"channel '{c.name}': bounds must satisfy 0 <= lower <= upper "
                    f"(got [{c.lower}, {c.upper}])"
                )
            if c.shares:
                unknown = sorted(set(c.shares) - set(self.departments))
                if unknown:
                    raise SpecError(
                        f"channel '{c.name}': shares name unknown department(s) {unknown}; "
                        f"departments: {sorted(self.departments)}"
                    )
                total = sum(float(v) for v in c.shares.values())
                if any(float(v) < 0 for v in c.shares.values()) or abs(total - 1) > 1e-6:
                    raise SpecError(
                        f"channel '{c.name}': shares must be >= 0 and sum to 1 (sum is {total})"
                    )
        known = set(names)
        for g in self.groups:
            missing = sorted(set(g.channels) - known)
            if missing:
                raise SpecError(f"group '{g.name}' names unknown channel(s) {missing}")
        for h in self.history:
            if h not in known:
                raise SpecError(f"history names unknown channel '{h}'")
        if self.combine == "multiplicative" and (self.periods > 1 or self.risk != "mean"):
            raise SpecError(
                "combine 'multiplicative' supports one period and risk 'mean' (it maximises the "
                "average log-KPI); use combine 'additive' for flighting or CVaR"
            )

    # -- views -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def responses(self) -> list[Response]:
        return [c.response for c in self.channels]

    @property
    def n(self) -> int:
        return len(self.channels)

    def lower(self) -> np.ndarray:
        return np.array([c.lower for c in self.channels], dtype=float)

    def upper(self) -> np.ndarray:
        return np.array([np.inf if c.upper is None else c.upper for c in self.channels])

    def reference(self) -> np.ndarray | None:
        """Current spend per period (``None`` unless every channel has one)."""
        refs = [c.response.reference_spend for c in self.channels]
        if any(r is None for r in refs):
            return None
        return np.array(refs, dtype=float)

    def carryover(self) -> np.ndarray:
        """Geometric carry-over ``(R, n)``: ``R`` posterior draws (1 when no channel has draws)."""
        arrs = []
        for c in self.channels:
            v = c.response.carryover
            arrs.append(np.zeros(1) if v is None else np.atleast_1d(np.asarray(v, dtype=float)))
        sizes = {a.size for a in arrs} - {1}
        if len(sizes) > 1:
            raise SpecError(
                f"carry-over draws must have one length across channels (got {sorted(sizes)})"
            )
        R = sizes.pop() if sizes else 1
        return np.stack([np.broadcast_to(a, (R,)) for a in arrs], axis=1)

    def dept_matrix(self) -> np.ndarray:
        """Shares ``(n_departments, n_channels)``."""
        depts = list(self.departments)
        m = np.zeros((len(depts), self.n))
        for i, c in enumerate(self.channels):
            for d, s in (c.shares or {}).items():
                m[depts.index(d), i] = float(s)
        return m

    def linear_rows(self) -> list[Row]:
        """Every linear constraint on total spend per channel (over all periods), by name."""
        rows: list[Row] = []
        el = self.elastic_penalty is not None
        if self.budget is not None:
            rows.append(Row(f"total budget ({self.budget:g})", np.ones(self.n), self.budget, el))
        shares = self.dept_matrix()
        for j, (d, b) in enumerate(self.departments.items()):
            rows.append(
                Row(
                    f"department '{d}' budget ({float(b):g})", shares[j], float(b), el, "department"
                )
            )
        names = self.names
        for g in self.groups:
            coef = np.array([1.0 if n in g.channels else 0.0 for n in names])
            if g.max is not None:
                rows.append(Row(f"group '{g.name}' max ({g.max:g})", coef, g.max, False, "group"))
            if g.min is not None:
                rows.append(Row(f"group '{g.name}' min ({g.min:g})", -coef, -g.min, False, "group"))
        return rows

    def with_budget(self, budget: float) -> Problem:
        """The same problem with another total budget (used by the frontier sweep)."""
        return replace(self, budget=float(budget))

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        """Build from the YAML / JSON mapping documented in the README."""
        if not isinstance(d, Mapping):
            raise SpecError("a problem file must be a mapping with a 'channels' list")
        allowed = {
            "objective",
            "combine",
            "budget",
            "kpi_value",
            "channels",
            "departments",
            "groups",
            "elastic",
            "risk",
            "alpha",
            "kpi_target",
            "min_roas",
            "max_cpa",
            "base",
            "periods",
            "history",
            "method",
            "gap",
        }
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise SpecError(f"problem: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        chans = d.get("channels")
        if not isinstance(chans, list) or not chans:
            raise SpecError("problem: 'channels' must be a non-empty list")
        kpi_value = float(d.get("kpi_value", 1.0))
        channels = [_channel_from_dict(c, kpi_value) for c in chans]
        depts: dict[str, float] = {}
        for name, spec in (d.get("departments") or {}).items():
            if isinstance(spec, Mapping):
                if "budget" not in spec:
                    raise SpecError(f"department '{name}' needs a 'budget'")
                depts[str(name)] = float(spec["budget"])
            else:
                depts[str(name)] = float(spec)
        groups = []
        for name, spec in (d.get("groups") or {}).items():
            if not isinstance(spec, Mapping) or "channels" not in spec:
                raise SpecError(f"group '{name}' needs 'channels' (a list) and 'max' and/or 'min'")
            groups.append(
                Group(
                    str(name),
                    tuple(spec["channels"]),
                    None if spec.get("max") is None else float(spec["max"]),
                    None if spec.get("min") is None else float(spec["min"]),
                )
            )
        risk = d.get("risk", "mean")
        alpha = float(d.get("alpha", 0.1))
        if isinstance(risk, Mapping):
            alpha = float(risk.get("alpha", alpha))
            risk = risk.get("type", "mean")
        elastic = d.get("elastic")
        penalty = None
        if elastic is not None:
            if not isinstance(elastic, Mapping) or "penalty" not in elastic:
                raise SpecError("'elastic' must be a mapping like {penalty: 1000}")
            penalty = float(elastic["penalty"])
        opt = lambda k: None if d.get(k) is None else float(d[k])  # noqa: E731
        return cls(
            channels=tuple(channels),
            budget=opt("budget"),
            objective=str(d.get("objective", "kpi")),
            combine=str(d.get("combine", "additive")),
            kpi_value=kpi_value,
            departments=depts,
            groups=tuple(groups),
            elastic_penalty=penalty,
            risk=str(risk),
            alpha=alpha,
            kpi_target=opt("kpi_target"),
            min_roas=opt("min_roas"),
            max_cpa=opt("max_cpa"),
            base=float(d.get("base", 1.0)),
            periods=int(d.get("periods", 1)),
            history={str(k): [float(x) for x in v] for k, v in (d.get("history") or {}).items()},
            method=str(d.get("method", "auto")),
            gap_tol=float(d.get("gap", 1e-4)),
        )

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> Problem:
        """Read a problem from a YAML file (or YAML text)."""
        from mediamix.yamlio import read_yaml

        return cls.from_dict(read_yaml(path_or_text, "problem"))

    @classmethod
    def from_fitted(
        cls,
        fitted: Any,
        budget: float | None = None,
        *,
        bounds: Mapping[str, Sequence[float | None]] | None = None,
        relative_bounds: float | None = None,
        **options: Any,
    ) -> Problem:
        """Build a problem from a fitted model.

        Contract with the model side: ``fitted.responses()`` returns a list of
        :class:`Response` (one per channel, posterior draws in the parameters) and
        ``fitted.current_spend()`` returns ``{channel: spend per period}``, used as each
        channel's reference spend. ``budget`` defaults to the current total spend.
        ``relative_bounds=0.3`` keeps every channel within +-30% of its current spend;
        ``bounds`` gives absolute ``[lower, upper]`` per channel name. Other keyword
        arguments are :class:`Problem` fields (``objective``, ``risk``, ...).
        """
        responses = list(fitted.responses())
        current = dict(fitted.current_spend())
        channels = []
        for r in responses:
            if not isinstance(r, Response):
                raise SpecError("fitted.responses() must return mediamix.optimize.Response objects")
            ref = current.get(r.name, r.reference_spend)
            if ref is not None:
                r = replace(r, reference_spend=float(ref))
            lo, hi = 0.0, None
            if relative_bounds is not None and ref is not None:
                lo, hi = (1 - relative_bounds) * float(ref), (1 + relative_bounds) * float(ref)
                lo = max(lo, 0.0)
            if bounds and r.name in bounds:
                b = list(bounds[r.name])
                lo = 0.0 if b[0] is None else float(b[0])
                hi = None if b[1] is None else float(b[1])
            channels.append(Channel(r, lo, hi))
        if budget is None:
            budget = float(sum(float(current.get(r.name, 0.0)) for r in responses))
        return cls(channels=tuple(channels), budget=float(budget), **options)


def _channel_from_dict(c: Mapping[str, Any], kpi_value: float) -> Channel:
    if not isinstance(c, Mapping) or "name" not in c:
        raise SpecError(f"each channel needs a 'name' and a 'response' (got {c!r})")
    name = str(c["name"])
    allowed = {
        "name",
        "response",
        "unit_price",
        "bounds",
        "relative_bounds",
        "shares",
        "reference_spend",
        "current",
        "carryover",
    }
    unknown = sorted(set(c) - allowed)
    if unknown:
        raise SpecError(f"channel '{name}': unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    spec = c.get("response")
    if not isinstance(spec, Mapping) or not ("type" in spec or "family" in spec):
        raise SpecError(
            f"channel '{name}': 'response' must be a mapping like {{type: log1p, a: 20}}"
        )
    spec = dict(spec)
    family = str(spec.pop("type", None) or spec.pop("family"))
    spec.pop("family", None)
    params = dict(spec.pop("params", {}) or {})
    params.update(spec)
    if family == "table" and "points" in params:
        pts = np.asarray(params.pop("points"), dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise SpecError(f"channel '{name}': table 'points' must be a list of [spend, kpi]")
        params["xs"], params["ys"] = pts[:, 0].tolist(), pts[:, 1].tolist()
    ref = c.get("reference_spend", c.get("current"))
    resp = Response(
        name,
        family,
        params,
        unit_price=c.get("unit_price", 1.0),
        reference_spend=None if ref is None else float(ref),
        carryover=c.get("carryover"),
        kpi_value=kpi_value,
    )
    lo, hi = 0.0, None
    if c.get("relative_bounds") is not None:
        if ref is None:
            raise SpecError(f"channel '{name}': 'relative_bounds' needs 'reference_spend'")
        rb = c["relative_bounds"]
        if not isinstance(rb, list | tuple) or len(rb) != 2:
            raise SpecError(
                f"channel '{name}': relative_bounds must be [down, up], e.g. [-0.3, 0.3]"
            )
        lo = max(0.0, float(ref) * (1 + float(rb[0])))
        hi = float(ref) * (1 + float(rb[1]))
    if c.get("bounds") is not None:
        b = c["bounds"]
        if not isinstance(b, list | tuple) or len(b) != 2:
            raise SpecError(f"channel '{name}': bounds must be [lower, upper] (null for none)")
        lo = 0.0 if b[0] is None else float(b[0])
        hi = None if b[1] is None else float(b[1])
    return Channel(resp, lo, hi, c.get("shares"))
