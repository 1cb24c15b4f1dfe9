"""The planner's calls into the rest of the package: fit a model, solve a plan.

A thin layer so the HTTP app knows nothing about samplers or solvers:

- `validate_upload(csv_bytes, columns)` reads an uploaded CSV into a `Dataset` with the data
  layer's checks (a `DataError` with the data layer's message when the data is unusable);
- `start_fit(store, csv_bytes, columns, method, ...)` validates, creates the run, keeps the
  CSV in the run's directory and hands `run_fit(store, run_id)` to a background executor;
- `run_fit(store, run_id)` is the job: it records progress and, at the end, the summary and
  the fitted response curves on the run (or the error message, on failure);
- `build_problem(run, params)` turns the planner's form into the allocation problem (the
  mapping the CLI reads from YAML), `optimise(run, params)` solves it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediamix.app.store import Run, Store, clean_name, json_safe
from mediamix.errors import DataError, MediamixError, SpecError

METHODS = ("nuts", "svi", "map")
DATA_FILE = "data.csv"


class UnavailableError(MediamixError):
    """A part of the package this call needs is not installed or not built."""


@dataclass(frozen=True)
class Columns:
    """Which columns of the upload are the date, the KPI, the channels and the controls."""

    date: str
    kpi: str
    channels: tuple[str, ...]
    controls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Columns:
        def names(value: Any, what: str) -> tuple[str, ...]:
            if value is None:
                return ()
            if isinstance(value, str):
                value = value.split(",")
            out = tuple(str(v).strip() for v in value if str(v).strip())
            if len(set(out)) != len(out):
                raise SpecError(f"{what} lists a column twice: {list(out)}")
            return out

        date = str(d.get("date") or "").strip()
        kpi = str(d.get("kpi") or "").strip()
        if not date:
            raise SpecError("name the date column ('date'), e.g. date=week")
        if not kpi:
            raise SpecError("name the KPI column ('kpi'), e.g. kpi=sales")
        channels = names(d.get("channels"), "channels")
        if not channels:
            raise SpecError("name at least one channel column ('channels'), e.g. tv,search")
        return cls(date, kpi, channels, names(d.get("controls"), "controls"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "kpi": self.kpi,
            "channels": list(self.channels),
            "controls": list(self.controls),
        }


def read_csv(csv_bytes: bytes):
    """The upload as a DataFrame (the data layer then checks columns and values)."""
    import pandas as pd

    if not csv_bytes.strip():
        raise DataError("the uploaded file is empty; upload a CSV with a header row")
    try:
        return pd.read_csv(io.BytesIO(csv_bytes))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"the upload is not a readable CSV file ({exc})") from None


def validate_upload(csv_bytes: bytes, columns: Columns):
    """Read and validate the upload with the data layer; returns the `Dataset`."""
    frame = read_csv(csv_bytes)
    try:
        from mediamix.data import Dataset
    except ImportError as exc:
        raise UnavailableError("the data layer (mediamix.data.Dataset) is not available") from exc
    return Dataset.from_frame(
        frame,
        date=columns.date,
        kpi=columns.kpi,
        channels=list(columns.channels),
        controls=list(columns.controls),
    )


def start_fit(
    store: Store,
    csv_bytes: bytes,
    columns: Columns | dict[str, Any],
    method: str,
    *,
    name: str | None = None,
    executor: Executor | None = None,
) -> Run:
    """Validate the upload, create a queued run holding it, and start the fit job.

    With `executor` the job runs in the background and this returns at once; without, the
    job runs before returning. The CSV is written as `<run_dir>/data.csv`; the file name the
    user uploaded is never used.
    """
    if not isinstance(columns, Columns):
        columns = Columns.from_dict(columns)
    if method not in METHODS:
        raise SpecError(f"method {method!r} is unknown; use one of {', '.join(METHODS)}")
    validate_upload(csv_bytes, columns)
    run = store.create_run(
        clean_name(name or f"{columns.kpi} model", "run name"),
        method=method,
        columns=columns.to_dict(),
        message="queued",
    )
    (run.run_dir / DATA_FILE).write_bytes(csv_bytes)
    if executor is None:
        run_fit(store, run.id)
    else:
        executor.submit(run_fit, store, run.id)
    return store.get_run(run.id)


def run_fit(store: Store, run_id: str, fit: Callable | None = None) -> None:
    """The fit job: data -> model -> summary and responses on the run; never raises.

    `fit(dataset, method, run_dir, progress)` returns `(summary, responses)`; the default
    is `fit_model`. A failure is stored as the run's message (status "failed"); it touches
    nothing else in the store, so saved scenarios stay as they are.
    """
    fit = fit or fit_model

    def progress(fraction: float, message: str) -> None:
        store.update_run(run_id, progress=max(0.0, min(1.0, float(fraction))), message=message)

    try:
        run = store.get_run(run_id)
        store.update_run(run_id, status="running", progress=0.02, message="reading the data")
        columns = Columns.from_dict(run.columns or {})
        dataset = validate_upload((run.run_dir / DATA_FILE).read_bytes(), columns)
        progress(0.1, f"fitting ({run.method})")
        summary, responses = fit(dataset, run.method, run.run_dir, progress)
        store.update_run(
            run_id,
            status="done",
            progress=1.0,
            message="done",
            summary=summary,
            responses=responses,
        )
    except MediamixError as exc:
        _fail(store, run_id, str(exc))
    except Exception as exc:  # a bug or a library failure: keep the server and the store alive
        _fail(store, run_id, f"the fit failed unexpectedly: {type(exc).__name__}: {exc}")


def _fail(store: Store, run_id: str, message: str) -> None:
    try:
        store.update_run(run_id, status="failed", message=message)
    except MediamixError:
        pass


def fit_model(dataset, method: str, run_dir: Path, progress: Callable[[float, str], None]):
    """Fit the default model and save it in `run_dir`; returns `(summary, responses)`.

    `summary` is `FittedModel.to_json()` (also written to `summary.json`); `responses` are
    the per-channel response curves as `Response.to_dict()` mappings with today's spend as
    the reference (also written to `responses.json`): what the planner optimises.
    """
    try:
        from mediamix.model import MMM, ModelSpec
    except ImportError as exc:
        raise UnavailableError(
            "model fitting is not available: mediamix.model (MMM, ModelSpec) is not installed"
        ) from exc
    fitted = MMM(ModelSpec()).fit(dataset, method=method)
    progress(0.85, "saving the model")
    fitted.save(run_dir / "model")
    summary = json_safe(json.loads(json.dumps(fitted.to_json(), default=float)))
    responses = fitted_responses(fitted)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "responses.json").write_text(json.dumps(responses))
    return summary, responses


def fitted_responses(fitted) -> list[dict[str, Any]]:
    """A fitted model's response curves as mappings, today's mean spend as the reference."""
    from dataclasses import replace

    current = fitted.current_spend()
    out = []
    for r in fitted.responses():
        if r.reference_spend is None and r.name in current:
            r = replace(r, reference_spend=float(current[r.name]))
        out.append(json_safe(r.to_dict()))
    return out


# ------------------------------------------------------------------------------ planning
def run_responses(run: Run) -> list[dict[str, Any]]:
    """The run's response curves, or a clear error when it has none yet."""
    if run.status != "done":
        raise SpecError(f"run {run.name!r} is {run.status}; plan with a finished run")
    if not run.responses:
        raise SpecError(f"run {run.name!r} has no response curves to plan with")
    return list(run.responses)


def build_problem(run: Run, params: dict[str, Any]) -> dict[str, Any]:
    """The allocation problem for `run` as the mapping the CLI reads from a YAML file.

    `params` (from the planner form or the JSON API): `budget`, `objective`, `target`
    (the KPI target for `min_spend`, the minimum ROAS for `kpi_at_min_roas`), `kpi_value`,
    `combine`, `risk` (`mean` | `cvar`) and `alpha`, `bounds` (channel -> [lower, upper],
    null for none), `departments` (name -> budget), `shares` (channel -> {department:
    rate}), `elastic_penalty`. (`sweep` is handled by `optimise`.)
    """
    responses = run_responses(run)
    names = [r["name"] for r in responses]
    bounds = params.get("bounds") or {}
    shares = params.get("shares") or {}
    departments = params.get("departments") or {}
    for what, mapping in (("bounds", bounds), ("shares", shares)):
        unknown = sorted(set(mapping) - set(names))
        if unknown:
            raise SpecError(f"unknown channel(s) {unknown} in {what}; the run has {names}")
    for channel, split in shares.items():
        unknown = sorted(set(split) - set(departments))
        if unknown:
            raise SpecError(
                f"channel {channel!r} shares name unknown department(s) {unknown};"
                f" departments are {sorted(departments)}"
            )
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
        lo, hi = (list(bounds.get(r["name"]) or [None, None]) + [None, None])[:2]
        if lo is not None and hi is not None and lo > hi:
            raise SpecError(f"channel {r['name']!r}: lower bound {lo} is above upper bound {hi}")
        entry["bounds"] = [lo if lo is not None else 0.0, hi]
        if r.get("reference_spend") is not None:
            entry["reference_spend"] = r["reference_spend"]
        if r["name"] in shares:
            entry["shares"] = dict(shares[r["name"]])
        channels.append(entry)
    objective = params.get("objective", "kpi")
    kpi_value = params.get("kpi_value")
    if kpi_value is None:
        kpi_value = responses[0].get("kpi_value", 1.0)
    problem: dict[str, Any] = {
        "objective": objective,
        "combine": params.get("combine", "additive"),
        "kpi_value": float(kpi_value),
    }
    if params.get("budget") is not None:
        problem["budget"] = float(params["budget"])
    target = params.get("target")
    if objective == "min_spend":
        if target is None:
            raise SpecError("objective 'min_spend' needs a KPI target: set 'target'")
        problem["kpi_target"] = float(target)
    elif objective == "kpi_at_min_roas":
        if target is None:
            raise SpecError("objective 'kpi_at_min_roas' needs the minimum ROAS: set 'target'")
        problem["min_roas"] = float(target)
    risk = params.get("risk", "mean")
    if risk != "mean":
        problem["risk"] = risk
        problem["alpha"] = float(params.get("alpha", 0.1))
    problem["channels"] = channels
    if departments:
        problem["departments"] = {k: {"budget": float(v)} for k, v in departments.items()}
    if params.get("elastic_penalty") is not None:
        problem["elastic"] = {"penalty": float(params["elastic_penalty"])}
    return problem


def solve_problem(problem: dict[str, Any]) -> dict[str, Any]:
    """Solve an allocation problem mapping (the CLI's YAML form); the plan as JSON."""
    from mediamix.optimize import Problem, solve

    return json_safe(solve(Problem.from_dict(problem)).to_dict())


MAX_SWEEP_POINTS = 41


def sweep_budgets(sweep: Any) -> list[float]:
    """Budgets `from, from + step, ..., to` of a `[from, to, step]` sweep (at most 41)."""
    try:
        start, stop, step = (float(v) for v in sweep)
    except (TypeError, ValueError):
        raise SpecError(f"sweep must be [from, to, step] numbers (got {sweep!r})") from None
    if not (0 < start <= stop) or step <= 0 or not math.isfinite(stop):
        raise SpecError(f"sweep {sweep!r}: need 0 < from <= to and step > 0")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > MAX_SWEEP_POINTS:
        raise SpecError(f"sweep {sweep!r} has {n} budgets; use a step giving at most 41")
    return [start + i * step for i in range(n)]


def optimise(run: Run, problem_params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build and solve the problem for `run`; returns `(problem, plan)` as JSON mappings.

    With `sweep: [from, to, step]` the plan also holds `frontier`, a list of
    `{budget, kpi, allocation}` from solving the same problem at each budget (budgets where
    the problem is infeasible are left out).
    """
    from mediamix.optimize import Problem, sweep

    params = dict(problem_params)
    sweep_range = params.pop("sweep", None)
    budgets = sweep_budgets(sweep_range) if sweep_range else []
    problem = build_problem(run, params)
    plan = solve_problem(problem)
    if budgets:
        points = sweep(Problem.from_dict(problem), budgets, skip_infeasible=True)
        plan["frontier"] = json_safe(points)
    return problem, plan


def response_curves(responses: list[dict[str, Any]], n: int = 60) -> list[dict[str, Any]]:
    """Points of each response curve (mean over draws) from 0 to twice the reference spend."""
    from mediamix.report.plot import response_table

    table = response_table(responses, n_points=n)
    ref = {d["name"]: d.get("reference_spend") for d in responses}
    return [
        {
            "name": name,
            "spend": part["spend"].tolist(),
            "kpi": part["mean"].tolist(),
            "reference_spend": ref.get(name),
        }
        for name, part in table.groupby("channel", sort=False)
    ]


def check_responses(responses: list[dict[str, Any]]) -> None:
    """Build each curve once so a bad family or parameter is refused with its message."""
    from mediamix.optimize.response import Response

    for d in responses:
        Response.from_dict(d)


def plan_defaults(run: Run | None) -> dict[str, Any]:
    """What the planner form starts from: channels with today's spend, budget = their sum."""
    if run is None or not run.responses:
        return {"channels": [], "budget": 0.0}
    channels = [
        {"name": r["name"], "reference_spend": float(r.get("reference_spend") or 0.0)}
        for r in run.responses
    ]
    return {"channels": channels, "budget": sum(c["reference_spend"] for c in channels)}


def summary_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per-channel rows (ROAS, mROAS, contribution with intervals) of a run's summary."""
    rows = []
    for name, stats in ((summary or {}).get("channels") or {}).items():
        row: dict[str, Any] = {"name": name}
        for key in ("roas", "mroas", "contribution"):
            value = stats.get(key) if isinstance(stats, dict) else None
            row[key] = value if isinstance(value, dict) else None
        rows.append(row)
    return rows


PLAN_COLUMNS = (
    "channel",
    "current_spend",
    "recommended_spend",
    "change",
    "expected_kpi",
    "marginal_return",
    "binding",
)


def plan_rows(problem: dict[str, Any], plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per channel: current and recommended spend, change, KPI, marginal return and
    the bound that binds (from the plan's explanation table when it has one)."""
    plan = plan or {}
    allocation = plan.get("allocation") or {}
    marginal = plan.get("marginal_return") or {}
    explained = {c.get("name"): c for c in plan.get("channels") or [] if isinstance(c, dict)}
    rows = []
    for ch in problem.get("channels") or []:
        name = ch.get("name")
        line = explained.get(name, {})
        current = ch.get("reference_spend", ch.get("current"))
        if current is None:
            current = line.get("current")
        recommended = allocation.get(name, line.get("recommended"))
        change = None
        if current is not None and recommended is not None:
            change = float(recommended) - float(current)
        rows.append(
            {
                "channel": name,
                "current_spend": current,
                "recommended_spend": recommended,
                "change": change,
                "expected_kpi": line.get("kpi"),
                "marginal_return": marginal.get(name, line.get("marginal_return")),
                "binding": line.get("binding"),
            }
        )
    return rows


def compare_scenarios(scenarios: list) -> dict[str, Any]:
    """Saved scenarios side by side: totals per scenario and spend per channel."""
    channels: list[str] = []
    for s in scenarios:
        for ch in s.problem.get("channels") or []:
            if ch.get("name") not in channels:
                channels.append(ch.get("name"))
    cols = []
    for s in scenarios:
        plan = s.plan or {}
        cols.append(
            {
                "id": s.id,
                "name": s.name,
                "run_id": s.run_id,
                "budget": s.problem.get("budget"),
                "objective": s.problem.get("objective"),
                "kpi": plan.get("kpi"),
                "spend_total": plan.get("spend_total"),
                "status": plan.get("status"),
            }
        )
    allocation = {
        name: [((s.plan or {}).get("allocation") or {}).get(name) for s in scenarios]
        for name in channels
    }
    return {"scenarios": cols, "channels": channels, "allocation": allocation}


def import_run_dir(store: Store, run_dir: Path | str, name: str | None = None) -> Run:
    """Register a run written by `mediamix fit` (e.g. by `make demo`) in the store.

    Reads `summary.json` and the response curves from `responses.json` (a list of
    `Response.to_dict()` mappings) or, without it, from the saved model (`posterior.nc` in
    the folder or its `model/` subfolder), and copies `report.html` when present, into a new
    server-named run directory. The source directory is left as it is.
    """
    import shutil

    src = Path(run_dir)
    if not src.is_dir():
        raise SpecError(f"run directory {str(src)!r} does not exist; run `mediamix fit` first")
    summary = None
    if (src / "summary.json").is_file():
        summary = json.loads((src / "summary.json").read_text())
    responses_file = src / "responses.json"
    model_dirs = [d for d in (src, src / "model") if (d / "posterior.nc").is_file()]
    if responses_file.is_file():
        responses = json.loads(responses_file.read_text())
    elif model_dirs:
        from mediamix.inference.fitted import FittedModel

        fitted = FittedModel.load(model_dirs[0])
        responses = fitted_responses(fitted)
        if summary is None:
            summary = json_safe(json.loads(json.dumps(fitted.to_json(), default=float)))
    else:
        raise SpecError(
            f"{str(responses_file)!r} is missing and {str(src)!r} holds no saved model"
            " (posterior.nc): the planner needs the fitted response curves"
        )
    if not isinstance(responses, list) or not responses:
        raise SpecError(f"{str(responses_file)!r} must hold a non-empty list of response curves")
    check_responses(responses)
    method = str((summary or {}).get("method") or "import")[:16]
    run = store.create_run(
        name or src.name,
        method=method,
        status="done",
        summary=summary,
        responses=responses,
        message=f"imported from {src.name}",
    )
    if (src / "report.html").is_file():
        shutil.copyfile(src / "report.html", run.run_dir / "report.html")
    return run
