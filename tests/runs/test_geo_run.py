"""The geo branch of the fit pipeline and `RunDir.write_geo` / `RunView`, from Python.

The run folder is the one real geo fit of tests/cli/test_fit_geo.py (`geo_run`: a 3-geo
panel, MAP); national data with roles go through the same branch as a one-geo panel, checked
here up to the fit (`prepare_fit`)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mediamix.errors import ConvergenceError, SpecError
from mediamix.estimator.geo import GeoFitted
from mediamix.runs import RunDir
from mediamix.runs import layout as L
from mediamix.runs.pipeline import (
    FitOptions,
    fit_run,
    geo_non_finite_error,
    is_geo_fit,
    prepare_fit,
)
from tests.cli.test_fit_geo import geo_run

RF = "youtube:youtube_reach:youtube_frequency:youtube_spend"
OPTIONS = dict(date="date", kpi="sales", channels="tv_spend,search_spend", controls="",
               organic="organic_social", non_media="promotion", reach_frequency=RF,
               method="map", steps=40)  # fmt: skip
MEDIA = ["tv_spend", "search_spend", "youtube"]


@pytest.fixture(scope="module")
def run():
    return RunDir(geo_run()[1]).read()


@pytest.fixture(scope="module")
def national() -> pd.DataFrame:
    """One market's rows (no geo column) with every role."""
    from mediamix.data.simulate_geo import simulate_geo_panel

    panel, _ = simulate_geo_panel(n_geos=1, n_periods=80, n_channels=2, seed=6, rf_channels=1,
                                  organic=1, non_media=1, population=False)  # fmt: skip
    return panel.to_frame().drop(columns=["geo"])


def test_national_data_with_roles_take_the_geo_branch_as_one_geo(national):
    lines: list[str] = []
    prep = prepare_fit(national, FitOptions(**OPTIONS, holdout=5), on_warning=lines.append)
    panel = prep.dataset
    assert prep.geo and prep.experiments is None and panel.geos == ("national",)
    assert panel.media_names == MEDIA and panel.organic_names == ("organic_social",)
    np.testing.assert_array_equal(panel.kpi[0], national["sales"])
    np.testing.assert_array_equal(panel.reach[0, :, 0], national["youtube_reach"])
    np.testing.assert_array_equal(panel.non_media[0, :, 0], national["promotion"])
    assert prep.checks["panel"]["geos"] == 1 and prep.checks["dataset"]["rows"] == 80
    assert {c["name"] for c in prep.checks["checks"]} >= {"history_length", "vif"}
    assert lines == list(prep.data_warnings)
    # without the roles the same table is national data for the national model
    plain = prepare_fit(national, FitOptions(**{**OPTIONS, "organic": None, "non_media": None,
                                                "reach_frequency": None}))  # fmt: skip
    assert not plain.geo and plain.dataset.channel_names == ["tv_spend", "search_spend"]


def test_the_run_folder_reads_back_as_the_geo_fit(run):
    assert run.is_geo and run.meta["model"] == "geo" and run.meta["geos"] == 3
    fitted = run.fitted
    assert isinstance(fitted, GeoFitted) and fitted.media_names == MEDIA
    table = run.table("geo_summary")
    assert list(pd.unique(table["geo"])) == ["national", "geo_01", "geo_02", "geo_03"]
    for geo, block in [("national", run.summary), *run.summary["geos"].items()]:
        rows = table[table.geo == geo].set_index("channel")
        for name in MEDIA:
            got = block["channels"][name]["roas"]
            assert rows.loc[name, "roas_mean"] == pytest.approx(got["mean"], rel=1e-9)
            assert rows.loc[name, "roas_lower"] == pytest.approx(got["lower"], rel=1e-9)
        assert np.isnan(rows.loc["organic_social", "roas_mean"])  # organic: no ROAS
    contrib = run.table("contributions")
    assert set(contrib["role"]) == {"paid", "rf", "organic", "non_media", "baseline"}
    # the national curves (the planner's) at today's split, and each geo's own
    assert [r["name"] for r in run.responses] == MEDIA
    assert list(run.geo_responses) == fitted.geos
    w = fitted.window
    spend = fitted.media_spend()[:, w].sum(0).mean(0)  # national spend per period
    cur = run.current_spend()
    assert list(cur) == MEDIA
    np.testing.assert_allclose(list(cur.values()), spend, rtol=1e-9)
    for r, s in zip(run.responses, spend, strict=True):
        assert r["reference_spend"] == pytest.approx(s, rel=1e-9)


def test_write_geo_replaces_a_folder_whole(run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(run.path, out)
    (out / L.PLAN).write_text("{}")
    (out / "upload.csv").write_text("kept")
    summary = RunDir(out).write_geo(run.fitted, checks=run.checks, level=0.8)
    assert summary["channels"] == run.summary["channels"]
    assert not (out / L.PLAN).exists() and (out / "upload.csv").read_text() == "kept"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert json.loads((out / L.CHECKS).read_text()) == run.checks


def test_geo_options_and_config_keys_choose_the_geo_model():
    assert is_geo_fit({}, FitOptions(geo="region"))
    assert is_geo_fit({}, FitOptions(organic="email"))
    assert is_geo_fit({"reach_frequency": {"yt": {"reach": "r", "frequency": "f",
                                                  "spend": "s"}}}, FitOptions())  # fmt: skip
    assert is_geo_fit({"population": "pop"}, FitOptions())
    assert not is_geo_fit({"date": "date"}, FitOptions(channels="tv"))
    o = FitOptions(organic="a, b", non_media="c", reach_frequency=RF)
    assert o.organic == ("a", "b") and o.panel_roles()["reach_frequency"] == [RF]


def test_options_the_geo_model_does_not_take_are_refused(national, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(SpecError, match="--time-varying: the geo model has no time-varying"):
        fit_run(national, out, FitOptions(**OPTIONS, time_varying="tv_spend"))
    cfg = tmp_path / "model.yaml"
    cfg.write_text(json.dumps({"model": {"time_varying": ["tv_spend"]}}))
    with pytest.raises(SpecError, match="time_varying: the geo model has no time-varying"):
        fit_run(national, out, FitOptions(**OPTIONS, config=cfg))
    cfg.write_text(json.dumps({"model": {}, "experiments": "lift.csv"}))
    with pytest.raises(SpecError, match="experiments: the geo model does not take lift tests"):
        fit_run(national, out, FitOptions(**OPTIONS, config=cfg))
    assert not out.exists()


def test_non_finite_national_figures_are_named(run):
    assert geo_non_finite_error(run.summary, run.path) is None
    broken = json.loads(json.dumps(run.summary))
    broken["channels"]["youtube"]["contribution"]["mean"] = None
    err = geo_non_finite_error(broken, run.path)
    assert isinstance(err, ConvergenceError)
    assert "not finite numbers (the contribution of 'youtube')" in str(err)
    assert f"Nothing was written; {run.path} was left as it was" in str(err)
    assert L.GEO_SUMMARY in L.RUN_FILES and L.TABLES["geo_summary"] == L.GEO_SUMMARY
