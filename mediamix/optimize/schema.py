"""The declared schema of a problem file (YAML / JSON), the one place it is parsed.

``Problem.from_dict`` / ``Problem.from_yaml`` validate the mapping with :class:`ProblemSpec`
through :func:`mediamix.schemas.validate`, so a wrong type is one :class:`SpecError` naming
the key path, e.g. ``problem.budget: expected a number, got 'lots'`` or
``problem.channels[2].response.beta: expected a number, got 'lots'``. A channel's response
parameters depend on its family, so they are checked here against the family's parameter
list (:func:`response_params`). The names of the accepted keys are the schema's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, Field

from mediamix.errors import SpecError
from mediamix.schemas import Schema, check_keys, number
from mediamix.transforms.saturation import get_saturation


def _name(value: Any) -> Any:
    """YAML reads ``name: 2024`` as a number; names are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    return value


Name = Annotated[str, BeforeValidator(_name)]
Number = Annotated[float, BeforeValidator(_not_bool)]
Integer = Annotated[int, BeforeValidator(_not_bool)]


class DepartmentSpec(Schema):
    """``rent: {budget: 100}`` (or just ``rent: 100``)."""

    budget: Number


def _department(value: Any) -> Any:
    return value if isinstance(value, Mapping) else {"budget": value}


class GroupSpec(Schema):
    """A cap and/or floor on the total spend of some channels."""

    channels: list[Name]
    max: Number | None = None
    min: Number | None = None


class RiskSpec(Schema):
    """``risk: cvar`` or ``risk: {type: cvar, alpha: 0.1}``."""

    type: str = "mean"
    alpha: Number | None = None


def _risk(value: Any) -> Any:
    return value if isinstance(value, Mapping) else {"type": value}


class ElasticSpec(Schema):
    """``elastic: {penalty: 1000}``: budgets may be overrun at this cost per unit."""

    penalty: Number


class ChannelSpec(Schema):
    """One channel of a problem file (see the README's YAML format)."""

    name: Name
    response: dict[str, Any]
    unit_price: Any = 1.0  # a number, or one per posterior draw
    bounds: tuple[Number | None, Number | None] | None = None
    relative_bounds: tuple[Number, Number] | None = None
    shares: dict[Name, Number] | None = None
    reference_spend: Number | None = None
    current: Number | None = None
    carryover: Any = None  # a number, or one per posterior draw


class ProblemSpec(Schema):
    """A problem file: channels, budgets and constraints, objective, risk and solver options."""

    objective: str = "kpi"
    combine: str = "additive"
    budget: Number | None = None
    kpi_value: Number = 1.0
    channels: list[ChannelSpec] = Field(min_length=1)
    departments: dict[Name, Annotated[DepartmentSpec, BeforeValidator(_department)]] = {}
    groups: dict[Name, GroupSpec] = {}
    elastic: ElasticSpec | None = None
    risk: Annotated[RiskSpec, BeforeValidator(_risk)] = RiskSpec()
    alpha: Number = 0.1
    kpi_target: Number | None = None
    min_roas: Number | None = None
    max_cpa: Number | None = None
    base: Number = 1.0
    periods: Integer = 1
    history: dict[Name, list[Number]] = {}
    method: str = "auto"
    gap: Number = 1e-4
    max_nodes: Integer = 20000
    time_limit: Number = 120.0
    caps: dict[Name, list[Number | None]] = {}
    dark: dict[Name, list[Integer]] = {}
    max_change: Number | None = None
    min_flight: Integer | None = None
    min_flight_spend: Number | None = None
    discount: Number = 0.0
    carry_out: bool = True


CHANNEL_KEYS = tuple(ChannelSpec.model_fields)


def check_channel_keys(channels: Any) -> None:
    """Unknown keys of a channel name the channel (``channel 'tv': unknown key(s) ...``)."""
    if not isinstance(channels, list):
        return
    for i, c in enumerate(channels):
        if isinstance(c, Mapping):
            check_keys(c, CHANNEL_KEYS, f"problem.channels[{i}]: channel '{c.get('name', '?')}'")


def numbers(value: Any, where: str) -> float | np.ndarray:
    """A number, or a list of numbers (posterior draws, a table's points), with the key path
    in errors (``...beta[3]: expected a number, got 'x'``)."""
    if isinstance(value, list | tuple | np.ndarray):
        return np.array([number(v, f"{where}[{j}]") for j, v in enumerate(value)], dtype=float)
    return number(value, where)


def response_params(spec: Mapping[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """``(family, params)`` from a channel's ``response`` mapping.

    Accepted forms: ``{type: hill, beta: 2, k: 1, s: 2}``, ``{family: hill, params: {...}}``
    and, for ``table``, ``{type: table, points: [[x, y], ...]}``. Each parameter is a number
    or a list of numbers (one per posterior draw; the table's ``xs`` / ``ys`` are points).
    """
    spec = dict(spec)
    family = spec.pop("type", None)
    family2 = spec.pop("family", None)
    family = family if family is not None else family2
    if family is None:
        raise SpecError(
            f"{where}: a response needs 'type' (the family), e.g. {{type: log1p, a: 20}}"
        )
    try:
        fam = get_saturation(str(family))
    except SpecError as exc:
        raise SpecError(f"{where}.type: {exc}") from None
    nested = spec.pop("params", None) or {}
    if not isinstance(nested, Mapping):
        raise SpecError(f"{where}.params: expected a mapping (name: value), got {nested!r}")
    params: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for key, value in nested.items():
        params[str(key)], paths[str(key)] = value, f"{where}.params.{key}"
    for key, value in spec.items():
        params[str(key)], paths[str(key)] = value, f"{where}.{key}"
    if "points" in params and "xs" in fam.vector_params:
        pts = params.pop("points")
        at = paths.pop("points")
        if not isinstance(pts, list | tuple) or not all(
            isinstance(q, list | tuple) and len(q) == 2 for q in pts
        ):
            raise SpecError(f"{at}: table points must be a list of [spend, kpi] pairs")
        xy = [[number(q[j], f"{at}[{i}][{j}]") for j in (0, 1)] for i, q in enumerate(pts)]
        params["xs"], params["ys"] = [q[0] for q in xy], [q[1] for q in xy]
        paths["xs"] = paths["ys"] = at
    try:
        params = fam.complete(params)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    out = {}
    for key, value in params.items():
        out[key] = numbers(value, paths.get(key, f"{where}.{key}"))
    return fam.name, out
