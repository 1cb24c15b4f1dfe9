"""The report and ModelPlots on a real (small) fitted model saved the way a run saves it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.report import ModelPlots, load_run, run_figures
from mediamix.report.html import SECTIONS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM
    from mediamix.model import ModelSpec

    frame, truth = simulate(n_periods=52, n_channels=2, seed=3, n_controls=0)
    fitted = MMM(ModelSpec()).fit(
        simulated_dataset(frame, truth), method="nuts", chains=1, draws=60, warmup=60,
        holdout=6, seed=0, warn=False,
    )  # fmt: skip
    run_dir = tmp_path_factory.mktemp("fitted") / "run"
    fitted.save(run_dir / "model")
    (run_dir / "summary.json").write_text(json.dumps(fitted.to_json()))
    return fitted, run_dir


def test_run_dir_with_a_saved_model(fitted_run):
    fitted, run_dir = fitted_run
    run = load_run(run_dir)
    assert run.notes == ()  # the band comes from predictive draws, not the fallback
    assert len(run.fit) == len(fitted.data.kpi)
    assert int(run.fit["train"].sum()) == fitted.n_train == len(fitted.data.kpi) - 6
    assert (run.fit["lower"] <= run.fit["upper"]).all()
    np.testing.assert_allclose(run.fit["actual"], fitted.data.kpi)
    assert run.current_spend == pytest.approx(fitted.current_spend())
    assert [c["name"] for c in run.data_checks["checks"]][:1] == ["correlation"]
    figs = run_figures(run)
    assert set(figs) == {"correlation", "fit", "decomposition", "roas", "response_curves",
                         "adstock"}  # fmt: skip
    for name, spend in fitted.current_spend().items():
        mark = [t for t in figs["response_curves"].data if t.name == f"{name}: today"]
        assert mark[0].x == (pytest.approx(spend),)


def test_cli_report_on_a_fitted_run(fitted_run, tmp_path: Path):
    _, run_dir = fitted_run
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    # a fitted run without a plan, experiments or validation.json shows every other section
    for key, title in SECTIONS.items():
        assert (f"<h2>{title}</h2>" in html) == (key not in ("plan", "experiments",
                                                              "validation")), key  # fmt: skip


def test_model_plots(fitted_run):
    fitted, _ = fitted_run
    plots = ModelPlots(fitted)
    assert isinstance(fitted.plot, ModelPlots)  # the same figures from the fitted model
    fit = plots.fit()
    (shape,) = fit.layout.shapes
    assert np.datetime64(shape.x0) == fitted.data.dates[fitted.n_train]
    roas = [t for t in plots.roas().data if t.name == "ROAS"][0]
    s = fitted.summary()
    np.testing.assert_allclose(roas.y, s["roas_mean"])
    assert len(plots.adstock().data) == 3 * len(fitted.channel_names)
    assert plots.diagnostics().data[0].cells.values[0][0] == "method"


def test_a_bare_model_folder_gets_its_summary_from_the_model(fitted_run):
    fitted, run_dir = fitted_run
    run = load_run(run_dir / "model")
    assert run.summary["method"] == "nuts"
    fig = run_figures(run)["roas"]
    roas = [t for t in fig.data if t.name == "ROAS"][0]
    np.testing.assert_allclose(roas.y, fitted.summary()["roas_mean"], rtol=1e-6)
