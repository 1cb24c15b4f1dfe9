"""A small run directory with the files `mediamix fit` / `mediamix optimize` write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CHANNELS = ("tv", "search", "social")
CURRENT = {"tv": 1600.0, "search": 350.0, "social": 220.0}


def _contributions(n: int, n_train: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=n, freq="W-MON")
    base = 1000 + 50 * np.sin(np.arange(n) / 4)
    ch = {c: 100 * (i + 1) + 20 * rng.random(n) for i, c in enumerate(CHANNELS)}
    ekpi = base + sum(ch.values())
    kpi = ekpi + rng.normal(0, 30, n)
    rows = []
    for name, m in [("baseline", base), ("expected_kpi", ekpi), *ch.items()]:
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "component": name,
                    "mean": m,
                    "lower": m * 0.9,
                    "upper": m * 1.1,
                    "kpi": kpi,
                    "train": np.arange(n) < n_train,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def response_table() -> pd.DataFrame:
    rows = []
    for i, c in enumerate(CHANNELS):
        grid = np.linspace(0, 2 * CURRENT[c], 21)
        mean = (i + 2) * 100 * np.log1p(grid / CURRENT[c])
        for x, m in zip(grid, mean):
            rows.append(
                {"channel": c, "spend": x, "mean": m, "lower": 0.8 * m, "upper": 1.2 * m,
                 "current": bool(np.isclose(x, CURRENT[c]))}
            )  # fmt: skip
    return pd.DataFrame(rows)


def adstock_table() -> pd.DataFrame:
    rows = []
    for i, c in enumerate(CHANNELS):
        lam = 0.2 + 0.2 * i
        w = lam ** np.arange(6)
        w = w / w.sum()
        for lag, v in enumerate(w):
            rows.append({"channel": c, "lag": lag, "mean": v, "lower": 0.9 * v, "upper": 1.1 * v})
    return pd.DataFrame(rows)


def summary_json(n: int, n_train: int) -> dict:
    channels = {}
    for i, c in enumerate(CHANNELS):
        r = 1.5 + i
        channels[c] = {
            "spend": CURRENT[c] * n_train,
            "current_spend_per_period": CURRENT[c],
            "contribution": {"mean": 1000.0 * (i + 1), "lower": 800.0, "upper": 1300.0 * (i + 1)},
            "roas": {"mean": r, "lower": r - 0.5, "upper": r + 0.7},
            "mroas": {"mean": r / 2, "lower": r / 2 - 0.2, "upper": r / 2 + 0.3},
            "cost_per_kpi": {"mean": 1 / r, "lower": 0.2, "upper": 1.0},
        }
    return {
        "method": "nuts",
        "form": "additive",
        "fit_seconds": 12.5,
        "level": 0.9,
        "n_draws": 400,
        "intervals_note": None,
        "definitions": {"roas": "contribution / spend", "mroas": "next unit's return"},
        "window": {
            "start": "2023-01-02",
            "end": "2023-10-30",
            "periods": n_train,
            "holdout": n - n_train,
        },  # fmt: skip
        "kpi": {
            "total": 50000.0,
            "baseline": {"mean": 40000.0, "lower": 38000.0, "upper": 42000.0},
            "media": {"mean": 10000.0, "lower": 8000.0, "upper": 12000.0},
        },
        "channels": channels,
        "diagnostics": {
            "method": "nuts",
            "max_rhat": 1.004,
            "min_ess_bulk": 812.0,
            "min_ess_tail": 640.0,
            "divergences": 0,
            "min_bfmi": 0.9,
            "ppc_coverage": 0.91,
            "ppc_level": 0.9,
            "in_sample_mape": 3.2,
            "in_sample_r2": 0.93,
            "holdout_periods": n - n_train,
            "holdout_mape": 4.75,
            "holdout_r2": 0.81,
            "warnings": [],
            "converged": True,
        },
    }


def plan_json() -> dict:
    rec = {"tv": 1400.0, "search": 525.0, "social": 245.0}
    chans = []
    for c in CHANNELS:
        chans.append(
            {"name": c, "current": CURRENT[c], "recommended": rec[c],
             "change": (rec[c] - CURRENT[c]) / CURRENT[c], "units": rec[c], "kpi": 100.0,
             "marginal_return": 1.7, "binding": "upper" if c == "search" else None}
        )  # fmt: skip
    return {
        "status": "optimal",
        "method": "global",
        "objective": "kpi",
        "objective_value": 3000.0,
        "kpi": 3000.0,
        "spend_total": sum(rec.values()),
        "gap": 1e-5,
        "seconds": 0.2,
        "allocation": rec,
        "units": rec,
        "marginal_return": {c: 1.7 for c in CHANNELS},
        "departments": {
            "brand": {
                "spend": 1500.0,
                "budget": 1500.0,
                "overrun": 0.0,
                "shadow_price": 0.8,
                "kpi": 2000.0,
            }  # fmt: skip
        },
        "channels": chans,
        "constraints": [
            {
                "name": "total budget",
                "value": 2170.0,
                "rhs": 2170.0,
                "binding": True,
                "shadow_price": 1.7,
            }  # fmt: skip
        ],
        "outcome": {"mean": 3000.0, "p5": 2500.0, "p95": 3500.0, "draws": 400},
        "reference": {"kpi": 2900.0, "objective": 2900.0},
        "frontier": [
            {"budget": 3000.0, "kpi": 3500.0},
            {"budget": 1000.0, "kpi": 2000.0},
            {"budget": 2000.0, "kpi": 2900.0},
        ],
        "messages": ["a test note"],
    }


def data_checks_json() -> dict:
    return {
        "dataset": {"rows": 52},
        "checks": [
            {
                "name": "correlation",
                "subject": "tv ~ search",
                "value": 0.85,
                "threshold": 0.8,
                "verdict": "warn",
                "advice": "tv and search move together",
            },
            {
                "name": "vif",
                "subject": "tv",
                "value": 2.0,
                "threshold": 10.0,
                "verdict": "ok",
                "advice": "not explained by the other inputs.",
            },
        ],  # fmt: skip
        "correlation": {
            "channels": list(CHANNELS),
            "matrix": [[1.0, 0.85, 0.1], [0.85, 1.0, None], [0.1, None, 1.0]],
        },
        "n_warnings": 1,
        "notes": [],
    }


def write_run_dir(path: Path, n: int = 52, n_train: int = 44, plan: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps(summary_json(n, n_train)))
    _contributions(n, n_train).to_csv(path / "contributions.csv", index=False)
    response_table().to_csv(path / "response_curves.csv", index=False)
    adstock_table().to_csv(path / "adstock_curves.csv", index=False)
    (path / "data_checks.json").write_text(json.dumps(data_checks_json()))
    if plan:
        (path / "plan.json").write_text(json.dumps(plan_json()))
    return path


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run_dir(tmp_path / "run")


@pytest.fixture
def run_dir_no_plan(tmp_path: Path) -> Path:
    return write_run_dir(tmp_path / "run_no_plan", plan=False)
