"""Read a run folder into plain tables for the report.

The folder's layout is owned by :mod:`mediamix.runs` (``RunDir``); this module turns what a
run holds into a `RunData` for the report, recomputing tables that an older folder lacks from
its saved model. Every part is optional except that at least one must be there; the report
shows a section only when its data exists. Tables in CSV files win over recomputation from the
saved model (they are what the user saw).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mediamix.errors import MediamixError, SpecError
from mediamix.runs import RunDir
from mediamix.runs.layout import TABLES

logger = logging.getLogger(__name__)


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


def _from_model(fitted, level: float, need: set[str]) -> dict[str, Any]:
    """Recompute the missing tables from the saved FittedModel."""
    from mediamix.analysis import adstock_curves, fit_table, response_curves

    out: dict[str, Any] = {}
    if "summary" in need:
        out["summary"] = fitted.to_json(level)
    if "fit" in need:
        out["fit"] = fit_table(fitted, level)
    if "contributions" in need:
        out["contributions"] = fitted.contributions(level)
    if "response_curves" in need:
        out["response_curves"] = response_curves(fitted, level=level)
    if "adstock_curves" in need:
        out["adstock_curves"] = adstock_curves(fitted, level=level)
    return out


def load_run(run_dir: str | Path, use_model: bool = True) -> RunData:
    """Read ``run_dir`` (any format :mod:`mediamix.runs` reads) into a `RunData`.

    ``use_model``: recompute tables missing from the CSV files from the saved model (needs
    JAX; a model that fails to load becomes a note, not an error, and is logged).
    """
    from mediamix.data.diagnostics import checks_from_arrays

    view = RunDir(run_dir).read()
    rd = view.path
    notes: list[str] = []
    summary = view.summary
    level = view.level
    tables: dict[str, Any] = {k: view.table(k) for k in TABLES}
    plan = view.plan
    checks = view.checks
    data = None
    if view.model_dir is not None:
        try:
            data = view.data
        except (MediamixError, OSError, KeyError, ValueError) as exc:  # a damaged folder
            logger.warning("saved data in %s could not be read", view.model_dir, exc_info=True)
            notes.append(f"the saved data in '{view.model_dir}' could not be read ({exc})")
    if data is not None:
        if checks is None:
            checks = checks_from_arrays(data)
        need = {k for k, v in tables.items() if v is None} | ({"summary"} if not summary else set())
        if use_model and need:
            try:
                got = _from_model(view.fitted, level, need)
            except (MediamixError, OSError, KeyError, ValueError) as exc:
                # the report still shows what the files hold
                logger.warning("saved model in %s could not be loaded", view.model_dir,
                               exc_info=True)  # fmt: skip
                notes.append(
                    f"the saved model in '{view.model_dir}' could not be loaded "
                    f"({type(exc).__name__}: {exc}); figures that need it are left out"
                )
                got = {}
            summary = summary or got.pop("summary", None)
            got.pop("summary", None)
            tables.update({k: v for k, v in got.items() if tables.get(k) is None})
    current = view.current_spend(data)
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
