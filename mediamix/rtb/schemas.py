"""The OpenRTB 2.6 bid request: the one schema the bidder parses a request body with.

Only the fields the bidder reads are declared; every object passes other keys through
(OpenRTB requests carry many optional fields and ``ext`` objects, which are not errors).
:func:`parse_bid_request` turns a conversion failure into one `SpecError` line per fault
with the key path, e.g. ``imp[0].bidfloor: expected a number, got 'cheap'``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from mediamix.schemas import Schema, validate

AUCTION_TYPES = {1: "first price", 2: "second price"}  # OpenRTB 2.6 ``at``
MAX_IMPS = 1000  # impressions in one request: bounds the work one request can ask for

# OpenRTB 2.6 list 5.21 device types
DEVICE_TYPES = {
    1: "mobile",
    2: "desktop",
    3: "tv",
    4: "mobile",
    5: "tablet",
    6: "connected",
    7: "settopbox",
}


class OpenRTBObject(Schema):
    """An OpenRTB object: the declared fields are checked, other keys pass through."""

    model_config = ConfigDict(extra="allow")


class Publisher(OpenRTBObject):
    id: str | None = None
    name: str | None = None


class Site(OpenRTBObject):
    id: str | None = None
    domain: str | None = None
    page: str | None = None
    cat: list[str] | None = None
    publisher: Publisher | None = None


class App(OpenRTBObject):
    id: str | None = None
    bundle: str | None = None
    domain: str | None = None
    cat: list[str] | None = None
    publisher: Publisher | None = None


class Device(OpenRTBObject):
    ua: str | None = None
    ip: str | None = None
    devicetype: int | None = Field(default=None, ge=1, le=7)
    os: str | None = None
    make: str | None = None
    model: str | None = None


class User(OpenRTBObject):
    id: str | None = None
    buyeruid: str | None = None
    yob: int | None = None


class Imp(OpenRTBObject):
    id: str = Field(min_length=1)
    bidfloor: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    bidfloorcur: str = "USD"
    tagid: str | None = None
    banner: dict | None = None
    video: dict | None = None
    native: dict | None = None
    audio: dict | None = None


class BidRequest(OpenRTBObject):
    """A bid request: an id, one or more impressions, and exactly one of ``site`` or ``app``."""

    id: str = Field(min_length=1)
    imp: list[Imp] = Field(min_length=1)
    site: Site | None = None
    app: App | None = Field(default=None, validate_default=True)
    device: Device | None = None
    user: User | None = None
    at: int = 2
    tmax: int | None = Field(default=None, ge=0)
    cur: list[str] | None = None
    test: int = 0

    @field_validator("imp", mode="before")
    @classmethod
    def _bounded_imps(cls, imps: Any) -> Any:
        if isinstance(imps, list) and len(imps) > MAX_IMPS:  # before any imp is validated
            raise ValueError(
                f"at most {MAX_IMPS} impressions per request (this one has {len(imps)})"
            )
        return imps

    @field_validator("imp")
    @classmethod
    def _unique_imp_ids(cls, imps: list[Imp]) -> list[Imp]:
        ids = [imp.id for imp in imps]
        if len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"imp ids must be unique ({', '.join(map(repr, repeated))} repeated)")
        return imps

    @field_validator("app")
    @classmethod
    def _site_or_app(cls, app: App | None, info: ValidationInfo) -> App | None:
        if "site" not in info.data:  # the site itself failed; that error is reported
            return app
        has_site = info.data["site"] is not None
        if has_site == (app is not None):
            given = "both are given" if has_site else "neither is given"
            raise ValueError(f"a bid request needs exactly one of 'site' or 'app' ({given})")
        return app

    @field_validator("at")
    @classmethod
    def _auction_type(cls, at: int) -> int:
        if at not in AUCTION_TYPES:
            raise ValueError("at must be 1 (first price) or 2 (second price)")
        return at


def parse_bid_request(data: Any) -> BidRequest:
    """A decoded JSON body as a :class:`BidRequest`; a `SpecError` names each fault's key
    path (``imp[0].bidfloor: ...``)."""
    return validate(BidRequest, data, "")
