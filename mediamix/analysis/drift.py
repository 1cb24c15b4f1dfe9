"""The drift table of a refresh: how far each channel's ROAS moved, and why.

A refresh (`mediamix.estimator.refresh`) fits the old rows plus the new periods with the
previous posterior as the prior. Per channel the table holds:

- ``old`` / ``new``: ROAS (mean and the central ``level`` interval) of the previous fit over
  its fitted window and of the refreshed fit over its own (the longer window: the figures each
  run reports);
- ``move = new.mean - old.mean`` and ``move_rel = move / (old.upper - old.lower)``: the move in
  units of the old interval's width (``|move_rel| <= 1``: within its interval width, ``stable``);
- ``anchor``: the ROAS of the *anchor fit* -- the old rows alone, fitted with the same
  prior-from-posterior, the same scalers, method and seed. It moves from ``old`` only through
  the refresh's own approximations (independent moment-matched priors, the old rows counted in
  the prior and in the likelihood, sampling noise), never through new data. So
  ``move = method_part + new_weeks_part`` with ``method_part = anchor.mean - old.mean`` and
  ``new_weeks_part = new.mean - anchor.mean``, and ``new_weeks_share = |new_weeks_part| /
  (|new_weeks_part| + |method_part|)`` in [0, 1] is how much of the move the new periods explain
  (None when nothing moved, or without an anchor fit);
- ``cold`` (optional): a fit of the new data from the default priors, for comparison, with its
  ``cold_move_rel`` on the same scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STABLE = 1.0  # |move| / old interval width at or below which a channel's ROAS is stable

DEFINITIONS = {
    "roas": "channel contribution (KPI value) over each fit's own window divided by its spend; "
    "mean and central interval at 'level'",
    "move": "new.mean - old.mean",
    "move_rel": "move / (old.upper - old.lower): the move in old interval widths",
    "stable": f"|move_rel| <= {STABLE:g}: the ROAS moved by no more than its old interval width",
    "anchor": "the old rows alone refitted with the same prior-from-posterior, scalers, method "
    "and seed: what the refresh gives without the new periods",
    "method_part": "anchor.mean - old.mean: the move the refresh's approximations make alone",
    "new_weeks_part": "new.mean - anchor.mean: the move the new periods make",
    "new_weeks_share": "|new_weeks_part| / (|new_weeks_part| + |method_part|): the share of "
    "the move the new periods explain (None when nothing moved or without an anchor fit)",
    "cold_move_rel": "(cold.mean - old.mean) / old interval width, for a fit of the new data "
    "from the default priors",
}


@dataclass(frozen=True)
class Interval:
    """A point estimate (the mean) and the central interval at the table's level."""

    mean: float
    lower: float
    upper: float

    @property
    def width(self) -> float:
        return self.upper - self.lower

    @classmethod
    def of(cls, draws: np.ndarray, level: float) -> Interval:
        """From draws (S,) (non-finite ones ignored; NaN when none is finite)."""
        x = np.asarray(draws, dtype=float).reshape(-1)
        x = x[np.isfinite(x)]
        if not x.size:
            return cls(float("nan"), float("nan"), float("nan"))
        a = (1 - level) / 2
        lo, hi = np.quantile(x, [a, 1 - a])
        return cls(float(x.mean()), float(lo), float(hi))

    def to_dict(self) -> dict[str, float | None]:
        return {k: _num(getattr(self, k)) for k in ("mean", "lower", "upper")}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Interval:
        return cls(*(_float(d.get(k)) for k in ("mean", "lower", "upper")))


@dataclass(frozen=True)
class DriftRow:
    """One channel of the drift table (see the module doc for every field)."""

    channel: str
    old: Interval
    new: Interval
    anchor: Interval | None = None
    cold: Interval | None = None
    true_roas: float | None = None

    @property
    def move(self) -> float:
        return self.new.mean - self.old.mean

    @property
    def move_rel(self) -> float:
        w = self.old.width
        return self.move / w if w > 0 else float("nan")

    @property
    def stable(self) -> bool:
        return bool(np.isfinite(self.move_rel) and abs(self.move_rel) <= STABLE)

    @property
    def method_part(self) -> float | None:
        return None if self.anchor is None else self.anchor.mean - self.old.mean

    @property
    def new_weeks_part(self) -> float | None:
        return None if self.anchor is None else self.new.mean - self.anchor.mean

    @property
    def new_weeks_share(self) -> float | None:
        if self.anchor is None:
            return None
        a, b = abs(self.method_part), abs(self.new_weeks_part)
        return b / (a + b) if a + b > 0 else None

    @property
    def cold_move_rel(self) -> float | None:
        if self.cold is None:
            return None
        w = self.old.width
        return (self.cold.mean - self.old.mean) / w if w > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "move": _num(self.move),
            "old_width": _num(self.old.width),
            "move_rel": _num(self.move_rel),
            "stable": self.stable,
            "anchor": None if self.anchor is None else self.anchor.to_dict(),
            "method_part": _num(self.method_part),
            "new_weeks_part": _num(self.new_weeks_part),
            "new_weeks_share": _num(self.new_weeks_share),
            "cold": None if self.cold is None else self.cold.to_dict(),
            "cold_move_rel": _num(self.cold_move_rel),
            "true_roas": _num(self.true_roas),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DriftRow:
        opt = lambda k: Interval.from_dict(d[k]) if d.get(k) else None  # noqa: E731
        return cls(
            str(d["channel"]),
            Interval.from_dict(d["old"]),
            Interval.from_dict(d["new"]),
            opt("anchor"),
            opt("cold"),
            _float(d.get("true_roas")) if d.get("true_roas") is not None else None,
        )


@dataclass(frozen=True)
class DriftTable:
    """Per channel, old and new ROAS and how far and why it moved (``rows``), with what the
    refresh did: ``level``, ``widen``, ``method``, the periods (``old_periods``,
    ``new_periods`` added), the windows, and ``info`` (the prior table, the checks)."""

    rows: tuple[DriftRow, ...]
    level: float
    widen: float
    method: str
    old_periods: int
    new_periods: int
    old_window: Mapping[str, Any] = field(default_factory=dict)
    new_window: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return [r.channel for r in self.rows]

    @property
    def max_move_rel(self) -> float:
        vals = [abs(r.move_rel) for r in self.rows if np.isfinite(r.move_rel)]
        return max(vals, default=float("nan"))

    @property
    def stable(self) -> bool:
        """Every channel's ROAS moved by at most its old interval width."""
        return all(r.stable for r in self.rows)

    def row(self, channel: str) -> DriftRow:
        for r in self.rows:
            if r.channel == channel:
                return r
        raise KeyError(f"no channel '{channel}' in the drift table ({', '.join(self.channels)})")

    def with_cold(self, cold: Mapping[str, Interval], truth: Mapping[str, float] | None = None):
        """The table with a cold refit's ROAS (and the true ROAS, for simulated data)."""
        from dataclasses import replace

        rows = tuple(
            replace(r, cold=cold.get(r.channel), true_roas=(truth or {}).get(r.channel))
            for r in self.rows
        )
        return replace(self, rows=rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "mediamix-drift",
            "level": self.level,
            "widen": self.widen,
            "method": self.method,
            "old_periods": self.old_periods,
            "new_periods": self.new_periods,
            "old_window": dict(self.old_window),
            "new_window": dict(self.new_window),
            "stable": self.stable,
            "max_move_rel": _num(self.max_move_rel),
            "channels": [r.to_dict() for r in self.rows],
            "definitions": dict(DEFINITIONS),
            **{k: v for k, v in self.info.items() if k not in _OWN_KEYS},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DriftTable:
        return cls(
            rows=tuple(DriftRow.from_dict(r) for r in d.get("channels") or ()),
            level=float(d["level"]),
            widen=float(d["widen"]),
            method=str(d["method"]),
            old_periods=int(d["old_periods"]),
            new_periods=int(d["new_periods"]),
            old_window=dict(d.get("old_window") or {}),
            new_window=dict(d.get("new_window") or {}),
            info={k: v for k, v in d.items() if k not in _OWN_KEYS},
        )

    def lines(self) -> list[str]:
        """The table as text lines (the command line's output)."""
        pct = f"{self.level:.0%}"
        head = (
            f"{'channel':<14}{'old ROAS':>9} {pct + ' interval':<17}{'new ROAS':>9} "
            f"{pct + ' interval':<17}{'move/width':>11}{'new weeks':>10}"
        )
        out = [head]
        for r in self.rows:
            share = r.new_weeks_share
            out.append(
                f"{r.channel:<14}{r.old.mean:>9.2f} {_iv(r.old):<17}{r.new.mean:>9.2f} "
                f"{_iv(r.new):<17}{r.move_rel:>+11.2f}"
                + (f"{share:>10.0%}" if share is not None else f"{'-':>10}")
            )
        return out


_OWN_KEYS = {
    "kind", "level", "widen", "method", "old_periods", "new_periods", "old_window",
    "new_window", "stable", "max_move_rel", "channels", "definitions",
}  # fmt: skip


def _iv(t: Interval) -> str:
    return f"[{t.lower:.2f}, {t.upper:.2f}]"


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if np.isfinite(f) else None


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def roas_intervals(fitted, level: float = 0.9) -> dict[str, Interval]:
    """Each channel's ROAS over the fit's window as an `Interval` (duck-typed on a fit with
    ``roas_draws()`` (S, C) and ``channel_names``)."""
    draws = np.asarray(fitted.roas_draws(), dtype=float)
    return {n: Interval.of(draws[:, i], level) for i, n in enumerate(fitted.channel_names)}


def window_dict(fitted) -> dict[str, Any]:
    """The fitted window of a fit: first and last date, periods."""
    w = fitted.window
    dates = np.asarray(fitted.data.dates)[w]
    return {
        "start": str(np.datetime_as_string(dates[0], unit="D")) if len(dates) else None,
        "end": str(np.datetime_as_string(dates[-1], unit="D")) if len(dates) else None,
        "periods": int(len(dates)),
    }


def drift_table(
    old,
    new,
    anchor=None,
    *,
    level: float = 0.9,
    widen: float,
    method: str,
    info: Mapping[str, Any] | None = None,
) -> DriftTable:
    """The drift table of a refresh: ``old`` (the previous fit), ``new`` (the refreshed fit),
    ``anchor`` (the old rows refitted with the refresh's priors; None: no attribution)."""
    o, n = roas_intervals(old, level), roas_intervals(new, level)
    a = roas_intervals(anchor, level) if anchor is not None else {}
    rows = tuple(DriftRow(c, o[c], n[c], a.get(c)) for c in old.channel_names)
    return DriftTable(
        rows=rows,
        level=float(level),
        widen=float(widen),
        method=str(method),
        old_periods=int(len(old.data.kpi)),
        new_periods=int(len(new.data.kpi) - len(old.data.kpi)),
        old_window=window_dict(old),
        new_window=window_dict(new),
        info=dict(info or {}),
    )
