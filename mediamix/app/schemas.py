"""The planner's HTTP bodies: what each request may send and what each answer holds.

Request bodies forbid unknown keys (``mediamix.schemas.Schema``). The planner form
(:class:`PlannerForm`) is the one schema of the form; :meth:`PlannerForm.to_problem` turns it
into the allocation problem mapping that ``mediamix.optimize.Problem.from_dict`` reads (the
same mapping as a problem YAML file). The form checks what only it knows (its own keys, the
channel names it keys bounds and shares by, the ``target`` field, the frontier sweep); the
rules of the problem itself (objective and risk names, the CVaR level, share sums, department
names, ...) are checked once, by the problem.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator

from mediamix.errors import SpecError
from mediamix.schemas import COMBINES, FIT_METHODS, OBJECTIVES, RISKS, Schema

Name = Annotated[str, Field(min_length=1, max_length=200)]


def _vocabulary(words: tuple[str, ...], default: str, description: str) -> Any:
    """A text field documented with its allowed words (checked where the word is used)."""
    return Field(default=default, description=description, json_schema_extra={"enum": list(words)})


# ---------------------------------------------------------------------------- requests
class ResponseIn(Schema):
    """One channel's response curve (the `Response.to_dict()` mapping)."""

    name: Name
    family: str
    params: dict[str, float | list[float]]
    unit_price: float | list[float] = 1.0
    reference_spend: float | None = Field(default=None, ge=0)
    carryover: float | list[float] | None = None
    kpi_value: float = 1.0


class RunImport(Schema):
    """A run made from response curves written elsewhere (no fit on this server)."""

    name: Name
    responses: list[ResponseIn] = Field(min_length=1)
    summary: dict[str, Any] | None = None

    @field_validator("responses")
    @classmethod
    def _unique(cls, value: list[ResponseIn]) -> list[ResponseIn]:
        names = [r.name for r in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel name(s) {dupes} appear more than once")
        return value


class UploadForm(BaseModel):
    """The fields sent with an uploaded CSV (multipart form, beside the file)."""

    model_config = ConfigDict(extra="ignore")  # the file itself is a field of the same form

    date: str = Field(description="the date column")
    kpi: str = Field(description="the KPI column")
    channels: str = Field(description="comma-separated channel spend columns")
    controls: str = ""
    method: str = _vocabulary(FIT_METHODS, "svi", "how to fit")
    name: str = ""

    def columns(self) -> dict[str, str]:
        return {
            "date": self.date,
            "kpi": self.kpi,
            "channels": self.channels,
            "controls": self.controls,
        }


class PlannerForm(Schema):
    """The planner's form: budget, objective, risk, bounds, departments and an optional sweep.

    ``target`` is the KPI to reach for ``min_spend`` and the minimum ROAS for
    ``kpi_at_min_roas``; ``bounds`` maps a channel to ``[lower, upper]`` (null: none);
    ``departments`` maps a department to its budget; ``shares`` maps a channel to
    ``{department: share}``; ``sweep`` is ``[from, to, step]`` budgets for the frontier.
    """

    budget: FiniteFloat | None = Field(default=None, gt=0)
    objective: str = _vocabulary(OBJECTIVES, "kpi", "what the plan optimises")
    target: FiniteFloat | None = Field(default=None, gt=0)
    kpi_value: FiniteFloat | None = None
    combine: str = _vocabulary(COMBINES, "additive", "how channel effects add up")
    risk: str = _vocabulary(RISKS, "mean", "expected KPI or CVaR")
    alpha: FiniteFloat | None = None
    bounds: dict[str, tuple[float | None, float | None]] = {}
    departments: dict[str, Annotated[FiniteFloat, Field(gt=0)]] = {}
    shares: dict[str, dict[str, FiniteFloat]] = {}
    elastic_penalty: FiniteFloat | None = None
    sweep: tuple[float, float, float] | None = None

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, value: dict[str, tuple[float | None, float | None]]):
        for name, (lo, hi) in value.items():
            for v in (lo, hi):
                if v is not None and (v < 0 or not math.isfinite(v)):
                    raise ValueError(f"bounds of {name!r} must be finite and >= 0 (got {v})")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(
                    f"channel {name!r}: lower bound {float(lo)} is above upper bound {float(hi)}"
                )
        return value

    def to_problem(self, responses: list[dict[str, Any]]) -> dict[str, Any]:
        """The allocation problem over ``responses`` (``Response.to_dict()`` mappings) as the
        mapping ``Problem.from_dict`` reads; ``sweep`` is not part of it."""
        names = [r["name"] for r in responses]
        for what, mapping in (("bounds", self.bounds), ("shares", self.shares)):
            unknown = sorted(set(mapping) - set(names))
            if unknown:
                raise SpecError(f"unknown channel(s) {unknown} in {what}; the run has {names}")
        channels = []
        for r in responses:
            entry: dict[str, Any] = {
                "name": r["name"],
                "response": {"type": r["family"], **dict(r.get("params") or {})},
            }
            if r.get("unit_price", 1.0) != 1.0:
                entry["unit_price"] = r["unit_price"]
            if r.get("carryover") is not None:
                entry["carryover"] = r["carryover"]
            lo, hi = self.bounds.get(r["name"], (None, None))
            entry["bounds"] = [lo if lo is not None else 0.0, hi]
            if r.get("reference_spend") is not None:
                entry["reference_spend"] = r["reference_spend"]
            if r["name"] in self.shares:
                entry["shares"] = dict(self.shares[r["name"]])
            channels.append(entry)
        kpi_value = self.kpi_value
        if kpi_value is None:
            kpi_value = responses[0].get("kpi_value", 1.0)
        problem: dict[str, Any] = {
            "objective": self.objective,
            "combine": self.combine,
            "kpi_value": kpi_value,
        }
        if self.budget is not None:
            problem["budget"] = self.budget
        if self.objective == "min_spend":
            if self.target is None:
                raise SpecError("objective 'min_spend' needs a KPI target: set 'target'")
            problem["kpi_target"] = self.target
        elif self.objective == "kpi_at_min_roas":
            if self.target is None:
                raise SpecError("objective 'kpi_at_min_roas' needs the minimum ROAS: set 'target'")
            problem["min_roas"] = self.target
        if self.risk != "mean":
            problem["risk"] = self.risk
        if self.alpha is not None or self.risk != "mean":
            problem["alpha"] = self.alpha if self.alpha is not None else 0.1
        problem["channels"] = channels
        if self.departments:
            problem["departments"] = {k: {"budget": v} for k, v in self.departments.items()}
        if self.elastic_penalty is not None:
            problem["elastic"] = {"penalty": self.elastic_penalty}
        return problem


class ScenarioIn(Schema):
    run_id: str = Field(min_length=1, max_length=32)
    name: Name
    problem: dict[str, Any]
    plan: dict[str, Any] | None = None


class ScenarioPatch(Schema):
    name: Name


# ----------------------------------------------------------------------------- answers
class Health(BaseModel):
    status: str
    version: str


class RunOut(BaseModel):
    """A run as the API shows it (its folder on the server is left out)."""

    id: str
    name: str
    created_at: str
    updated_at: str | None
    status: str
    progress: float
    message: str
    method: str
    columns: dict[str, Any] | None
    summary: dict[str, Any] | None
    responses: list[dict[str, Any]] | None


class JobOut(BaseModel):
    """A fit job's state: poll until ``done``."""

    id: str
    status: str
    progress: float
    message: str
    done: bool


class RunStarted(BaseModel):
    run: RunOut
    job: JobOut


class CurveOut(BaseModel):
    """Points of one channel's mean response curve."""

    name: str
    spend: list[float]
    kpi: list[float]
    reference_spend: float | None


class PlanRow(BaseModel):
    channel: Any
    current_spend: Any
    recommended_spend: Any
    change_abs: float | None
    expected_kpi: Any
    marginal_return: Any
    binding: Any


class PlanOut(BaseModel):
    """The problem as solved (the YAML problem mapping), the plan and one row per channel."""

    run_id: str
    problem: dict[str, Any]
    plan: dict[str, Any]
    rows: list[PlanRow]


class ScenarioOut(BaseModel):
    id: int
    run_id: str
    name: str
    created_at: str
    problem: dict[str, Any]
    plan: dict[str, Any] | None


class Comparison(BaseModel):
    """Saved scenarios side by side: totals per scenario, spend per channel."""

    scenarios: list[dict[str, Any]]
    channels: list[Any]
    allocation: dict[str, list[Any]]
