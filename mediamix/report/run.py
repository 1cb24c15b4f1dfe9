"""Read what a run directory holds into plain tables for the report.

A run directory is written by ``mediamix fit --out RUN_DIR`` (and optionally
``mediamix optimize --run RUN_DIR``). Every file is optional except that at least one must
be there; the report shows a section only when its data exists:

    summary.json            channel ROAS / mROAS / contribution with intervals, diagnostics
    model/ (or RUN_DIR)     the saved FittedModel (posterior.nc, spec.yaml, scalers.json,
                            data.npz, meta.json): predictive band, curves, data checks
    contributions.csv       date, component, mean, lower, upper[, kpi, train]
    response_curves.csv     channel, spend, mean, lower, upper[, current]
    adstock_curves.csv      channel, lag, mean, lower, upper
    fit.csv                 date, actual, mean, lower, upper[, train]
    data_checks.json        `mediamix check --format json` output
    plan.json               `Plan.to_dict()` of a budget plan

Tables in CSV files win over recomputation from the saved model (they are what the user saw).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import SpecError

MODEL_FILES = ("posterior.nc", "spec.yaml", "scalers.json", "data.npz", "meta.json")
CSV_NAMES = {
    "contributions": ("contributions.csv",),
    "response_curves": ("response_curves.csv", "curves.csv", "responses.csv"),
    "adstock_curves": ("adstock_curves.csv", "adstock.csv"),
    "fit": ("fit.csv", "predictions.csv"),
}
CHECK_NAMES = ("data_checks.json", "check.json", "diagnostics.json")


@dataclass(frozen=True)
class RunData:
    """The plain data behind a report (None where the run has none)."""

    run_dir: Path
    summary: dict[str, Any] | None = None
    fit: pd.DataFrame | None = None
    contributions: pd.DataFrame | None = None
    response_curves: pd.DataFrame | None = None
    adstock_curves: pd.DataFrame | None = None
    current_spend: dict[str, float] | None = None
    data_checks: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    level: float = 0.9
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def channels(self) -> dict[str, Any]:
        return dict((self.summary or {}).get("channels") or {})

    @property
    def fit_diagnostics(self) -> dict[str, Any]:
        return dict((self.summary or {}).get("diagnostics") or {})


def model_dir(run_dir: Path) -> Path | None:
    """The saved-model folder inside ``run_dir`` (``model/``) or ``run_dir`` itself."""
    for cand in (run_dir / "model", run_dir):
        if all((cand / f).is_file() for f in MODEL_FILES):
            return cand
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SpecError(f"'{path}' is not valid JSON ({exc}); re-create it or remove it") from None


def _read_csv(run_dir: Path, key: str) -> pd.DataFrame | None:
    for name in CSV_NAMES[key]:
        p = run_dir / name
        if p.is_file():
            df = pd.read_csv(p)
            if "date" in df.columns:
                df["date"] = pd.to_datetime(df["date"])
            return df
    return None


def _saved_data(mdir: Path) -> SimpleNamespace:
    """The data a saved model was fitted on (original units), read without JAX."""
    meta = json.loads((mdir / "meta.json").read_text())
    with np.load(mdir / "data.npz") as z:
        arr = {k: z[k] for k in z.files}
    d = meta.get("data") or {}
    spend = np.asarray(arr["spend"], dtype=float)
    return SimpleNamespace(
        dates=np.asarray(arr["dates"]).astype("datetime64[ns]"),
        kpi=np.asarray(arr["kpi"], dtype=float),
        spend=spend,
        media=np.asarray(arr.get("media", spend), dtype=float),
        controls=np.asarray(arr.get("controls", np.zeros((len(spend), 0))), dtype=float),
        channel_names=tuple(
            d.get("channel_names") or [f"channel_{i}" for i in range(spend.shape[1])]
        ),
        control_names=tuple(d.get("control_names") or ()),
        n_train=int(meta.get("n_train", len(spend))),
    )


def data_checks_from_arrays(data: SimpleNamespace) -> dict[str, Any]:
    """Run the data layer's checks on saved arrays; returns ``Diagnostics.to_dict()``."""
    from mediamix.data.diagnostics import diagnostics

    ds = SimpleNamespace(
        channel_names=list(data.channel_names),
        control_names=list(data.control_names),
        media=data.media,
        spend=data.spend,
        control_values=data.controls.reshape(len(data.spend), -1),
        n_periods=len(data.spend),
        geos=[],
        notes=(),
    )
    return diagnostics(ds).to_dict()


def _from_model(mdir: Path, level: float, need: set[str]) -> dict[str, Any]:
    """Recompute the missing tables from the saved FittedModel (imports JAX)."""
    from mediamix.analysis._util import interval
    from mediamix.inference.fitted import FittedModel

    fitted = FittedModel.load(mdir)
    out: dict[str, Any] = {"current_spend": fitted.current_spend()}
    if "summary" in need:
        out["summary"] = fitted.to_json(level)
    if "fit" in need:
        pred = fitted.predictive(seed=0)
        _, lo, hi = interval(pred, level)
        ey = fitted.expected_kpi().mean(0)
        t = len(fitted.data.kpi)
        out["fit"] = pd.DataFrame(
            {
                "date": pd.DatetimeIndex(fitted.data.dates),
                "actual": fitted.data.kpi,
                "mean": ey,
                "lower": lo,
                "upper": hi,
                "train": np.arange(t) < fitted.n_train,
            }
        )
    if "contributions" in need:
        out["contributions"] = fitted.contributions(level)
    if "response_curves" in need:
        from mediamix.analysis.curves import response_curves

        out["response_curves"] = response_curves(fitted, level=level)
    if "adstock_curves" in need:
        from mediamix.analysis.curves import adstock_curves

        out["adstock_curves"] = adstock_curves(fitted, level=level)
    return out


def load_run(run_dir: str | Path, use_model: bool = True) -> RunData:
    """Read ``run_dir`` (see the module docstring) into a `RunData`.

    ``use_model``: recompute tables missing from the CSV files from the saved model (needs
    JAX; a model that fails to load becomes a note, not an error).
    """
    rd = Path(run_dir)
    if not rd.exists():
        raise SpecError(
            f"run directory '{rd}' does not exist. Fix: run `mediamix fit DATA --out {rd}` first, "
            "or give the folder it wrote"
        )
    if not rd.is_dir():
        raise SpecError(
            f"'{rd}' is a file; `mediamix report` takes the folder `mediamix fit` wrote"
        )
    notes: list[str] = []
    summary = _read_json(rd / "summary.json") if (rd / "summary.json").is_file() else None
    level = float((summary or {}).get("level") or 0.9)
    tables: dict[str, Any] = {k: _read_csv(rd, k) for k in CSV_NAMES}
    plan = _read_json(rd / "plan.json") if (rd / "plan.json").is_file() else None
    checks = None
    for name in CHECK_NAMES:
        if (rd / name).is_file():
            c = _read_json(rd / name)
            if isinstance(c, dict) and ("checks" in c or "correlation" in c):
                checks = c
                break
    mdir = model_dir(rd)
    current: dict[str, float] | None = None
    if mdir is not None:
        try:
            data = _saved_data(mdir)
        except Exception as exc:  # a damaged folder: report what the other files hold
            notes.append(f"the saved data in '{mdir}' could not be read ({exc})")
            mdir = data = None
    if mdir is not None and data is not None:
        if checks is None:
            checks = data_checks_from_arrays(data)
        need = {k for k, v in tables.items() if v is None} | ({"summary"} if not summary else set())
        if use_model and need:
            try:
                got = _from_model(mdir, level, need)
            except Exception as exc:  # the report still shows what the files hold
                notes.append(
                    f"the saved model in '{mdir}' could not be loaded ({type(exc).__name__}: "
                    f"{exc}); figures that need it are left out"
                )
                got = {}
            current = got.pop("current_spend", None)
            summary = summary or got.pop("summary", None)
            got.pop("summary", None)
            tables.update({k: v for k, v in got.items() if tables.get(k) is None})
        if current is None:
            n = data.n_train
            current = {c: float(v) for c, v in zip(data.channel_names, data.spend[:n].mean(0))}
    if current is None and summary:
        cur = {
            n: c.get("current_spend_per_period")
            for n, c in (summary.get("channels") or {}).items()
            if c.get("current_spend_per_period") is not None
        }
        current = {k: float(v) for k, v in cur.items()} or None
    if tables["fit"] is None and tables["contributions"] is not None:
        tables["fit"] = _fit_from_contributions(tables["contributions"])
        if tables["fit"] is not None:
            notes.append(
                "the fit band is the interval of the expected KPI (no predictive draws were saved)"
            )
    if summary is None and all(v is None for v in tables.values()) and plan is None:
        raise SpecError(
            f"'{rd}' holds no run results (no summary.json, model/, CSV tables or plan.json). "
            f"Fix: run `mediamix fit DATA --out {rd}` first"
        )
    if summary and summary.get("intervals_note"):
        notes.append(str(summary["intervals_note"]))
    return RunData(
        run_dir=rd,
        summary=summary,
        fit=tables["fit"],
        contributions=tables["contributions"],
        response_curves=tables["response_curves"],
        adstock_curves=tables["adstock_curves"],
        current_spend=current,
        data_checks=checks,
        plan=plan,
        level=level,
        notes=tuple(notes),
    )


def _fit_from_contributions(contrib: pd.DataFrame) -> pd.DataFrame | None:
    if not {"component", "mean", "date"} <= set(contrib.columns) or "kpi" not in contrib.columns:
        return None
    part = contrib[contrib["component"] == "expected_kpi"].sort_values("date")
    if part.empty:
        return None
    out = pd.DataFrame(
        {
            "date": part["date"].to_numpy(),
            "actual": part["kpi"].astype(float).to_numpy(),
            "mean": part["mean"].astype(float).to_numpy(),
        }
    )
    for col in ("lower", "upper"):
        if col in part.columns:
            out[col] = part[col].astype(float).to_numpy()
    if "train" in part.columns:
        out["train"] = part["train"].astype(bool).to_numpy()
    return out
