"""The geo planner's HTTP bodies: the form of a per-geo plan and its answer.

:class:`GeoPlanForm` is the one schema of the geo form (unknown keys refused, numbers
finite, each pair ``[min, max]`` in order, shares between 0 and 1), so a mistake is named by
its key path (``geo_share.north``) before anything is solved. What only the run knows (its
geo and channel names) and the rules of the problem itself (minimum shares that add up to
more than 1, a cap below a floor) are checked once, by `mediamix.optimize.geo.geo_problem`,
whose message names the geo, the rule and the fix.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, Field, FiniteFloat, field_validator

from mediamix.schemas import Schema

GeoName = Annotated[str, Field(min_length=1, max_length=200)]
Pair = tuple[FiniteFloat | None, FiniteFloat | None]
SHARE_OF = ("spend", "budget")


def _ordered(what: str, pair: Pair, *, share: bool = False) -> None:
    """Refuse a pair out of order or out of range; ``what`` names its geo or channel."""
    lo, hi = pair
    for side, v in (("min", lo), ("max", hi)):
        if v is None:
            continue
        if v < 0 or not math.isfinite(v):
            raise ValueError(f"{what}: {side} must be >= 0 (got {v:g})")
        if share and v > 1:
            raise ValueError(
                f"{what}: {side} share is between 0 and 1 (got {v:g}, {v:.0%}); send 0.3 for 30%"
            )
    if lo is not None and hi is not None and lo > hi:
        if share:
            raise ValueError(
                f"{what}: min share {lo:g} ({lo:.0%}) is above max share {hi:g} ({hi:.0%}); "
                "swap them"
            )
        raise ValueError(f"{what}: min {lo:g} is above max {hi:g}; swap them")


class GeoPlanForm(Schema):
    """The geo planner's form (spend is money per period).

    ``budget``: the total over every geo and channel (default: today's total);
    ``relative_bound``: each geo's channel within +- this share of its spend today (0.5:
    +-50%, the page's default guard-rail, as the national planner's; null: no bound);
    ``geo_caps``: ``{geo: max}``, a geo's total; ``geo_share``: ``{geo: [min, max]}``, a
    geo's share (0..1) of the plan's total spend (``share_of="spend"``) or of the budget
    (``"budget"``), either side null; ``channel_bounds``: ``{channel: [min, max]}``, a
    channel's national total over the geos.
    """

    budget: FiniteFloat | None = Field(default=None, gt=0)
    relative_bound: FiniteFloat | None = Field(default=None, ge=0)
    geo_caps: dict[GeoName, Annotated[FiniteFloat, Field(ge=0)]] = {}
    geo_share: dict[GeoName, Pair] = {}
    channel_bounds: dict[GeoName, Pair] = {}
    share_of: str = Field(default="spend", json_schema_extra={"enum": list(SHARE_OF)})

    @field_validator("geo_share")
    @classmethod
    def _shares(cls, value: dict[str, Pair]) -> dict[str, Pair]:
        for name, pair in value.items():
            _ordered(f"geo {name!r}", pair, share=True)
        return value

    @field_validator("channel_bounds")
    @classmethod
    def _bounds(cls, value: dict[str, Pair]) -> dict[str, Pair]:
        for name, pair in value.items():
            _ordered(f"channel {name!r}", pair)
        return value

    @field_validator("share_of")
    @classmethod
    def _share_of(cls, value: str) -> str:
        if value not in SHARE_OF:
            raise ValueError(
                "share_of must be 'spend' (a geo's share of the plan's total spend) or "
                "'budget' (of the budget)"
            )
        return value

    def rules(self) -> dict[str, Any]:
        """The form as the ``geo`` section of a geo plan file (`geo_problem_from_dict`)."""
        out: dict[str, Any] = {"share_of": self.share_of}
        if self.geo_caps:
            out["caps"] = dict(self.geo_caps)
        if self.geo_share:
            out["share"] = {k: list(v) for k, v in self.geo_share.items()}
        if self.channel_bounds:
            out["channels"] = {k: list(v) for k, v in self.channel_bounds.items()}
        return out


class GeoPlanOut(BaseModel):
    """A solved geo plan: ``problem`` and ``plan`` as a scenario stores them (the plan over
    the cells ``"<geo>/<channel>"``, with ``plan.geo`` the breakdown
    `mediamix.optimize.geo.GeoPlan.to_dict` gives: the geo x channel table, per-geo totals
    and shares, national totals, the rules and the certificate)."""

    run_id: str
    problem: dict[str, Any]
    plan: dict[str, Any]
