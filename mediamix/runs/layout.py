"""The run folder and the saved-model folder: file names, format version, reading and writing.

This module (with :mod:`mediamix.runs.rundir`) is the only place that knows where the files of a
run live. It imports nothing above the base layer, so the estimator can use it to save and load
a model folder and the run folder can be read without JAX.

A run folder (format 2)::

    RUN/
      meta.json             {"format_version": 2, "kind": "mediamix-run", "mediamix": ...,
                             "created": ..., "files": [...]}; written last (marks a complete run)
      summary.json          channel ROAS / mROAS / contribution with intervals, diagnostics
      summary.csv           the same per channel, as a table
      model/                the saved model (see below)
      contributions.csv     date, component, mean, lower, upper, kpi, train
      fit.csv               date, actual, mean, lower, upper, train (predictive band)
      response_curves.csv   channel, spend, mean, lower, upper, current
      adstock_curves.csv    channel, lag, mean, lower, upper
      responses.json        [Response.to_dict(), ...]: the optimizer's input
      data_checks.json      the data checks (``mediamix check --format json``)
      plan.json             Plan.to_dict() of a budget plan (optional)
      validation.json       the validation battery (``mediamix validate``; optional)
      test_design.json      the experiment designer's ranking (``mediamix design-test``; optional)

A saved model folder::

    model/
      posterior.nc          ArviZ InferenceData (netCDF)
      spec.yaml             the ModelSpec
      scalers.json          KPI, media and control scalers
      data.npz              the data the model was fitted on (original units)
      meta.json             format_version, method, fit seconds, training periods, diagnostics

Format 1 is the layout before the version was recorded: no run-level ``meta.json``, the model
either in ``model/`` or in the run folder itself, and ``fit.csv`` / ``responses.json`` /
``data_checks.json`` possibly missing. Such folders are read as they are (missing tables are
recomputed from the model) and :meth:`mediamix.runs.RunDir.migrate` writes what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mediamix.errors import SpecError

FORMAT_VERSION = 2

META = "meta.json"
SUMMARY = "summary.json"
SUMMARY_CSV = "summary.csv"
MODEL_DIR = "model"
CONTRIBUTIONS = "contributions.csv"
FIT = "fit.csv"
RESPONSE_CURVES = "response_curves.csv"
ADSTOCK_CURVES = "adstock_curves.csv"
RESPONSES = "responses.json"
CHECKS = "data_checks.json"
PLAN = "plan.json"
VALIDATION = "validation.json"
TEST_DESIGN = "test_design.json"

#: tables by name -> file
TABLES = {
    "contributions": CONTRIBUTIONS,
    "fit": FIT,
    "response_curves": RESPONSE_CURVES,
    "adstock_curves": ADSTOCK_CURVES,
}

POSTERIOR = "posterior.nc"
SPEC = "spec.yaml"
SCALERS = "scalers.json"
DATA = "data.npz"
MODEL_FILES = (POSTERIOR, SPEC, SCALERS, DATA, META)


def read_json(path: Path) -> Any:
    """A JSON file, with a clear error when it is damaged."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpecError(f"'{path}' is not valid JSON ({exc}); re-create it or remove it") from None


def write_json(path: Path, value: Any) -> None:
    """Strict JSON (no NaN), indented, with a trailing newline."""
    Path(path).write_text(json.dumps(value, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def is_model_dir(path: Path) -> bool:
    return all((Path(path) / f).is_file() for f in MODEL_FILES)


def find_model_dir(run: Path) -> Path | None:
    """The saved-model folder of a run: ``RUN/model`` (format 2) or ``RUN`` itself (format 1)."""
    for cand in (Path(run) / MODEL_DIR, Path(run)):
        if is_model_dir(cand):
            return cand
    return None


def run_format(run: Path) -> int:
    """The format version of a run folder (1 when it predates the version record)."""
    meta = Path(run) / META
    if meta.is_file() and not is_model_dir(run):
        got = read_json(meta)
        if isinstance(got, dict) and isinstance(got.get("format_version"), int):
            return int(got["format_version"])
    return 1


# ---- the saved model -------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFiles:
    """The parts of a saved model as plain values (``idata`` loaded on demand)."""

    path: Path
    spec_text: str
    scalers: dict[str, Any]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def idata(self):
        import arviz as az

        idata = az.from_netcdf(str(self.path / POSTERIOR))
        if hasattr(idata, "load"):
            idata.load()
        return idata


def write_model(path: Path, idata, spec_text: str, scalers: dict, arrays: dict, meta: dict) -> Path:
    """Write a saved-model folder (module docstring); the meta gets the format version."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    idata.to_netcdf(str(p / POSTERIOR))
    (p / SPEC).write_text(spec_text, encoding="utf-8")
    (p / SCALERS).write_text(json.dumps(scalers, indent=1), encoding="utf-8")
    np.savez(p / DATA, **arrays)
    (p / META).write_text(
        json.dumps({"format_version": FORMAT_VERSION, **meta}, indent=1), encoding="utf-8"
    )
    return p


def read_model_data(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Only the fitted data arrays and the meta of a saved model (no posterior, no spec)."""
    p = Path(path)
    meta = read_json(p / META)
    with np.load(p / DATA) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, meta


def read_model(path: Path) -> ModelFiles:
    """Read a saved-model folder (format 1 or 2) without building the model."""
    p = Path(path)
    for f in MODEL_FILES:
        if not (p / f).exists():
            raise SpecError(f"'{p}' is not a saved model folder: '{f}' is missing")
    arrays, meta = read_model_data(p)
    return ModelFiles(
        path=p,
        spec_text=(p / SPEC).read_text(encoding="utf-8"),
        scalers=read_json(p / SCALERS),
        arrays=arrays,
        meta=meta,
    )


# ---- complete folders, never half-written -------------------------------------------------
class Staging:
    """Write a folder's files into a hidden sibling, then move them into place at once.

    Files of the target folder that the staging does not write (an uploaded ``data.csv``, a
    ``report.html``) are kept. When writing fails the target is left as it was.
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        return self.dir

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.target.mkdir(parents=True, exist_ok=True)
                old_meta = self.target / META
                if old_meta.exists() and not (self.dir / META).exists():
                    old_meta.unlink()
                entries = sorted(self.dir.iterdir(), key=lambda e: e.name == META)
                for entry in entries:  # meta.json last: it marks the folder complete
                    dest = self.target / entry.name
                    if dest.is_dir() and not dest.is_symlink():
                        shutil.rmtree(dest)
                    os.replace(entry, dest)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
