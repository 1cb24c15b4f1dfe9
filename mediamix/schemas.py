"""The edge between untrusted input (YAML, JSON, HTTP forms) and typed values.

One function turns a conversion failure into the project's error with the key path::

    problem.channels[2].response.beta: expected a number, got 'lots'

and one vocabulary per name set (fit methods, objectives, ...) so that the CLI, the YAML
files, the web planner and the Python API accept the same words. Bottom layer: imports
nothing from mediamix but ``errors``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mediamix.errors import SpecError, did_you_mean

# ---- vocabularies (one constant per set of names) -------------------------------------
FIT_METHODS = ("nuts", "svi", "map")
OBJECTIVES = ("kpi", "profit", "min_spend", "kpi_at_min_roas")
SOLVE_METHODS = ("auto", "convex", "global")
RISKS = ("mean", "cvar")
COMBINES = ("additive", "multiplicative")

_TYPE_WORDS = {
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list",
    "tuple_type": "a list",
    "finite_number": "a finite number",
}


class Schema(BaseModel):
    """Base of every input schema: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


S = TypeVar("S", bound=BaseModel)


def key_path(where: str, loc: Iterable[Any]) -> str:
    """``problem`` + ``('channels', 2, 'beta')`` -> ``problem.channels[2].beta``."""
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_validation_error(exc: ValidationError, where: str, allowed=None) -> str:
    """One line per fault: ``<key path>: <what was expected>, got <value>``."""
    lines = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and "[" in p)]
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            name = loc[-1] if loc else "?"
            parent = key_path(where, loc[:-1])
            choices = sorted(allowed.get(tuple(loc[:-1]), ())) if allowed else []
            hint = did_you_mean(name, choices) if choices else ""
            tail = f"; allowed: {', '.join(choices)}" if choices else ""
            lines.append(f"{parent}: unknown key '{name}'{tail}.{hint}".replace("..", "."))
            continue
        path = key_path(where, loc)
        if kind == "missing":
            lines.append(f"{path}: required key is missing")
            continue
        want = _TYPE_WORDS.get(kind)
        msg = f"expected {want}" if want else err.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"{path}: {msg}, got {_got(err.get('input'))}")
    return "; ".join(lines)


def validate(schema: type[S], data: Any, where: str) -> S:
    """``schema.model_validate(data)``, with failures raised as one `SpecError` line."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        allowed = _allowed_keys(schema)
        raise SpecError(format_validation_error(exc, where, allowed)) from None


def _allowed_keys(schema: type[BaseModel]) -> dict[tuple, set[str]]:
    """Allowed keys at the top of ``schema`` (nested paths are named by the schema's own
    field errors)."""
    names = set()
    for name, f in schema.model_fields.items():
        names.add(f.alias or name)
    return {(): names}


def check_keys(mapping: Mapping, allowed: Iterable[str], where: str) -> None:
    """Unknown keys of ``mapping`` are an error naming the place, the allowed keys and the
    closest one."""
    allowed = sorted(allowed)
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        hint = did_you_mean(unknown[0], allowed)
        raise SpecError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(allowed)}.{hint}"
        )


def choice(value: Any, allowed: Iterable[str], where: str) -> str:
    """``value`` if it is one of ``allowed``, else an error listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise SpecError(
            f"{where} must be one of {', '.join(allowed)} (got {value!r}).{did_you_mean(value, allowed)}"
        )
    return str(value)


def number(value: Any, where: str, *, finite: bool = True, integer: bool = False) -> float:
    """A float (or int) from a YAML/JSON value, with the key path in the error."""
    if isinstance(value, bool) or value is None:
        ok = False
    else:
        try:
            out = float(value)
            ok = True
        except (TypeError, ValueError):
            ok = False
    if not ok:
        want = "an integer" if integer else "a number"
        raise SpecError(f"{where}: expected {want}, got {_got(value)}")
    if finite and not math.isfinite(out):
        raise SpecError(f"{where}: expected a finite number, got {_got(value)}")
    if integer:
        if out != int(out):
            raise SpecError(f"{where}: expected an integer, got {_got(value)}")
        return int(out)
    return out
