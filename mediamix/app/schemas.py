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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from mediamix.errors import SpecError
from mediamix.schemas import (
    COMBINES,
    FIT_METHODS,
    OBJECTIVES,
    RISKS,
    Schema,
    format_validation_error,
)

Name = Annotated[str, Field(min_length=1, max_length=200)]

#: the deepest nesting of arrays and objects a JSON body or a stored document may have
MAX_JSON_DEPTH = 32
#: the largest id a scenario can have (SQL BIGINT); larger ids are refused, never looked up
MAX_ID = 2**63 - 1


def json_depth(value: Any) -> int:
    """How deeply `value` nests lists and mappings (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth  # deep enough to refuse: no need to walk the rest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def non_finite_path(value: Any, where: str = "") -> str | None:
    """The key path of the first NaN or infinite number in `value` (None when all are finite)."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "value"
        if isinstance(item, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
    return None


def check_document(value: Any, what: str) -> None:
    """Refuse a stored document (a scenario's problem, a run summary) nested too deeply."""
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise SpecError(
            f"{what} nests lists or mappings more than {MAX_JSON_DEPTH} levels deep;"
            " send a flatter document"
        )


def checked(schema: type[BaseModel], data: Any, what: str) -> dict[str, Any]:
    """`data` checked against `schema` (a :class:`SpecError` names the key path); returns
    the mapping as given (unknown keys kept), so what is stored is what was sent."""
    check_document(data, what)
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, what)) from None
    return data


def _vocabulary(words: tuple[str, ...], default: str, description: str) -> Any:
    """A text field documented with its allowed words (checked where the word is used)."""
    return Field(default=default, description=description, json_schema_extra={"enum": list(words)})


# ---------------------------------------------------------------------------- requests
Number = FiniteFloat | None
Text = Annotated[str, Field(max_length=1000)] | None


class Document(BaseModel):
    """Base of the stored documents: the keys the planner reads are typed, others are kept."""

    model_config = ConfigDict(extra="allow")


class ProblemChannel(Document):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    reference_spend: Number = None
    current: Number = None


class ScenarioProblem(Document):
    """A saved scenario's problem (the YAML problem mapping): what pages, comparisons and
    exports read of it. The solver's own checks run when the problem is solved."""

    budget: Number = None
    objective: Text = None
    channels: list[ProblemChannel] = []


class PlanChannel(Document):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    current: Number = None
    recommended: Number = None
    kpi: Number = None
    marginal_return: Number = None
    binding: str | bool | None = None


class ScenarioPlan(Document):
    """A saved scenario's plan (`Solution.to_dict()`): what pages, comparisons and the CSV
    export read of it."""

    status: Text = None
    kpi: Number = None
    spend_total: Number = None
    allocation: dict[str, Number] = {}
    marginal_return: dict[str, Number] = {}
    channels: list[PlanChannel] = []
    frontier: list[dict[str, Any]] | None = None


class Interval(Document):
    """A value with its interval: ``{mean, lower, upper}``."""

    mean: FiniteFloat
    lower: Number = None
    upper: Number = None

    @model_validator(mode="after")
    def _pair(self) -> Interval:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both 'lower' and 'upper' or neither")
        return self


class ChannelStats(Document):
    roas: Interval | None = None
    mroas: Interval | None = None
    contribution: Interval | None = None


class ReviewCheck(Document):
    name: Text = None
    subject: Text = None
    verdict: Text = None
    advice: Text = None


class Review(Document):
    badge: Text = None
    verdict: Text = None
    label: Text = None
    counts: dict[str, int] = {}
    checks: list[ReviewCheck] = []


class RunSummary(Document):
    """A run's summary (summary.json): the parts pages read are typed, the rest kept."""

    method: Text = None
    channels: dict[str, ChannelStats] = {}
    review: Review | None = None
    diagnostics: dict[str, Any] | None = None


def _valid(schema: type[BaseModel], value: Any) -> bool:
    try:
        schema.model_validate(value)
    except ValidationError:
        return False
    return True


def readable_summary(raw: Any) -> dict[str, Any] | None:
    """A stored summary as pages can show it: parts of the wrong shape are left out (a
    channel's interval, the review, the diagnostics), the rest is kept as stored."""
    if not isinstance(raw, dict):
        return None
    if _valid(RunSummary, raw):
        return raw
    out = dict(raw)
    channels = raw.get("channels")
    if channels is not None:
        fixed: dict[str, Any] = {}
        for name, stats in channels.items() if isinstance(channels, dict) else ():
            if isinstance(stats, dict):
                fixed[name] = {
                    k: (v if k not in ChannelStats.model_fields or _valid(Interval, v) else None)
                    for k, v in stats.items()
                }
        out["channels"] = fixed
    for key, schema in (("review", Review), ("diagnostics", None)):
        value = raw.get(key)
        if value is not None and not (_valid(schema, value) if schema else isinstance(value, dict)):
            out.pop(key)
    if not isinstance(out.get("method", ""), str | None):
        out.pop("method")
    return out if _valid(RunSummary, out) else None


def readable_responses(raw: Any) -> list[dict[str, Any]] | None:
    """Stored response curves as pages can list them: entries without a channel name are
    left out and a reference spend that is not a number reads as missing. (Planning checks
    each curve fully and answers 422 for one it cannot use.)"""
    if not isinstance(raw, list):
        return None
    out = []
    for entry in raw:
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]):
            continue
        ref = entry.get("reference_spend")
        if ref is not None and not (
            isinstance(ref, int | float) and not isinstance(ref, bool) and math.isfinite(ref)
        ):
            entry = {**entry, "reference_spend": None}
        out.append(entry)
    return out


def readable_problem(raw: Any) -> tuple[dict[str, Any], str | None]:
    """A stored problem as pages can show it, and why it was cut (None: as stored). Wrong
    channels are left out; a wrong budget or objective reads as missing."""
    if isinstance(raw, dict) and _valid(ScenarioProblem, raw):
        return raw, None
    if not isinstance(raw, dict):
        return {"channels": []}, "the stored problem is not a mapping"
    out = dict(raw)
    out["channels"] = (
        [c for c in raw.get("channels") or [] if _valid(ProblemChannel, c)]
        if isinstance(raw.get("channels"), list)
        else []
    )
    for key in ("budget", "objective"):
        if key in out and not _valid(ScenarioProblem, {key: out[key]}):
            out.pop(key)
    if not _valid(ScenarioProblem, out):
        return {"channels": []}, "the stored problem has an unreadable shape"
    return out, "parts of the stored problem have a wrong shape and are left out"


def readable_plan(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A stored plan as pages can show it, or None with the reason."""
    if raw is None or (isinstance(raw, dict) and _valid(ScenarioPlan, raw)):
        return raw, None
    return None, "the stored plan has a wrong shape and is left out"


class ResponseIn(Schema):
    """One channel's response curve (the `Response.to_dict()` mapping)."""

    name: Name
    family: str
    params: dict[str, float | list[float]]
    unit_price: float | list[float] = 1.0
    reference_spend: float | None = Field(default=None, ge=0)
    carryover: float | list[float] | None = None
    kpi_value: FiniteFloat = Field(default=1.0, gt=0)


class RunImport(Schema):
    """A run made from response curves written elsewhere (no fit on this server)."""

    name: Name
    responses: list[ResponseIn] = Field(min_length=1)
    summary: RunSummary | None = None

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
        for i, r in enumerate(responses):
            if not (isinstance(r, dict) and isinstance(r.get("name"), str) and r.get("family")):
                raise SpecError(
                    f"the run's response curve #{i + 1} is stored without a name or family;"
                    " import the run again"
                )
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
    problem: ScenarioProblem
    plan: ScenarioPlan | None = None


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
    change_rel: float | None = None  # change_abs / current_spend (None when today's is 0)
    expected_kpi: Any
    marginal_return: Any
    binding: Any


#: the longest forward plan the web planner solves (two years of weeks)
MAX_HORIZON = 104


class HorizonForm(Schema):
    """The weeks-ahead view: ``horizon`` periods after the run's data with ``budget`` in all
    (default: today's spend per period x horizon), ``max_change`` (largest relative change
    from one week to the next), ``discount`` per period, ``carry_out`` (count the carry-over
    after the horizon), ``dark`` ({channel: [dates]} forced to zero), ``min_flight`` (weeks
    a channel stays on once on)."""

    horizon: int = Field(default=13, ge=1, le=MAX_HORIZON)
    budget: FiniteFloat | None = Field(default=None, gt=0)
    max_change: FiniteFloat | None = Field(default=None, ge=0)
    discount: FiniteFloat = Field(default=0.0, ge=0, lt=1)
    carry_out: bool = True
    dark: dict[Name, list[Name]] = {}
    min_flight: int | None = Field(default=None, ge=1, le=MAX_HORIZON)


class HorizonOut(BaseModel):
    """A forward plan (``ForwardPlan.to_dict()``) and its weekly table as the page shows it."""

    run_id: str
    plan: dict[str, Any]
    header: list[str]
    rows: list[list[str]]


class PlanOut(BaseModel):
    """The problem as solved (the YAML problem mapping), the plan and one row per channel."""

    run_id: str
    problem: dict[str, Any]
    plan: dict[str, Any]
    rows: list[PlanRow]


class ScenarioOut(BaseModel):
    """A saved scenario; ``damaged`` says which stored parts had a wrong shape (left out)."""

    id: int
    run_id: str
    name: str
    created_at: str
    updated_at: str | None = None
    problem: dict[str, Any]
    plan: dict[str, Any] | None
    damaged: str | None = None


class ScenarioEvent(BaseModel):
    """One change of a scenario: ``create``, ``rename`` or ``delete``, with its time."""

    scenario_id: int
    action: str
    name: str
    previous_name: str | None = None
    at: str


class ErrorOut(BaseModel):
    """Every refusal: what went wrong and how to fix it, as one text."""

    detail: str


class ValidationErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(BaseModel):
    """A malformed request: ``detail`` names each field and fault; ``errors`` lists them."""

    detail: str
    errors: list[ValidationErrorItem] = []


class Comparison(BaseModel):
    """Saved scenarios side by side: totals per scenario, spend per channel."""

    scenarios: list[dict[str, Any]]
    channels: list[Any]
    allocation: dict[str, list[Any]]
