"""`mediamix fit DATA --geo COL ...`: a geo panel from a long table to a complete run folder.

One real fit (MAP, 30 steps) of a small simulated panel with every role (paid, reach and
frequency, organic, non-media) makes the run folder (`geo_run`, shared with
tests/runs/test_geo_run.py); the other cases stop before any fitting or hand `mediamix fit`
a model back (so they test the command, not the sampler)."""

from __future__ import annotations

import atexit
import copy
import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.estimator.geo import GeoFitted, GeoMMM
from mediamix.runs import RunDir
from mediamix.runs import layout as L

ROLES = ["--date", "date", "--kpi", "sales", "--channels", "tv_spend,search_spend",
         "--controls", "price_index", "--organic", "organic_social", "--non-media", "promotion",
         "--reach-frequency", "youtube:youtube_reach:youtube_frequency:youtube_spend"]  # fmt: skip
GEO = ["--geo", "geo", "--population", "population"]
QUICK = ["--method", "map", "--steps", "30", "--quiet"]
FILES = {L.META, L.SUMMARY, L.SUMMARY_CSV, L.MODEL_DIR, L.CONTRIBUTIONS, L.GEO_SUMMARY,
         L.RESPONSE_CURVES, L.FIT, L.RESPONSES, L.CHECKS}  # fmt: skip


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}  # fmt: skip


@functools.cache
def geo_run() -> tuple[Path, Path, str, str]:
    """The one real geo fit of these tests (also read by tests/runs/test_geo_run.py): a
    simulated 3-geo panel with every role as a CSV, fitted by `mediamix fit` (MAP, 30 steps,
    4 held out, level 0.8). Returns ``(csv, run folder, stdout, stderr)``; the folder is
    removed when the test process ends."""
    from mediamix.data.simulate_geo import simulate_geo_panel

    root = Path(tempfile.mkdtemp(prefix="mediamix-geo-run-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    panel, _ = simulate_geo_panel(n_geos=3, n_periods=80, n_channels=2, seed=4, rf_channels=1,
                                  organic=1, non_media=1)  # fmt: skip
    frame = panel.to_frame()
    frame["date"] = pd.DatetimeIndex(frame["date"]).strftime("%Y-%m-%d")
    path = root / "panel.csv"
    frame.to_csv(path, index=False)
    out = root / "run"
    args = ["fit", str(path), "--out", str(out), *GEO, *ROLES, *QUICK, "--holdout", "4",
            "--level", "0.8", "--seed", "3"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return path, out, res.stdout, res.stderr


@pytest.fixture(scope="module")
def panel_csv() -> Path:
    return geo_run()[0]


@pytest.fixture(scope="module")
def fitted_run():
    _, out, stdout, _ = geo_run()
    return stdout, out


@pytest.fixture(scope="module")
def loaded(fitted_run) -> GeoFitted:
    return RunDir(fitted_run[1]).read().fitted


@pytest.fixture
def run_copy(fitted_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(fitted_run[1], dst)
    return dst


def _fit(panel_csv, out, *extra: str):
    return CliRunner().invoke(cli, ["fit", str(panel_csv), "--out", str(out), *GEO, *ROLES,
                                    *QUICK, *extra])  # fmt: skip


def _no_fit(monkeypatch, result=None):
    """GeoMMM.fit hands back ``result`` instead of sampling (None: the fit must not start)."""

    def fake(self, *a, **k):
        if result is None:
            raise AssertionError("the fit must not start")
        return result

    monkeypatch.setattr(GeoMMM, "fit", fake)


def test_the_fit_prints_national_roas_and_the_number_of_geos(fitted_run):
    stdout, out = fitted_run
    lines = stdout.splitlines()
    assert lines[0].startswith("fitted 3 channels over 3 geos with map in ")
    assert "of 80 periods of each geo fitted (4 held out" in lines[0]
    assert lines[1] == "national ROAS and mROAS (all 3 geos; per geo: geo_summary.csv):"
    table = {ln.split()[0]: ln.split() for ln in lines[3:6]}
    assert set(table) == {"tv_spend", "search_spend", "youtube"}
    for row in table.values():  # ROAS, its interval, mROAS, its interval: finite numbers
        lo, hi = float(row[2].strip("[,")), float(row[3].strip("]"))
        assert lo <= float(row[1]) <= hi and np.isfinite(float(row[4]))
    assert any(ln.startswith("organic organic_social: contribution ") for ln in lines)
    assert any(ln.startswith("non-media promotion: contribution ") for ln in lines)
    assert any(ln.startswith("optimal frequency youtube: ") for ln in lines)
    assert f"wrote {out / 'summary.json'}" in lines
    # 30 MAP steps do not settle the loss (and may leave the fit poor): the last line says
    # the numbers are not to be reported, whichever check caught it
    assert lines[-1].startswith(("NOT CONVERGED: the fit ran, but do not report these numbers",
                                 "REVIEW FAILED ("))  # fmt: skip
    assert "did not converge" in lines[-1] or lines[-1].startswith("NOT CONVERGED")


def test_the_run_folder_is_complete(fitted_run, panel_csv, loaded):
    _, out = fitted_run
    assert {p.name for p in out.iterdir()} == FILES
    meta = json.loads((out / L.META).read_text())
    assert meta["model"] == "geo" and meta["geos"] == 3 and meta["level"] == 0.8
    assert sorted(meta["files"]) == sorted(FILES - {L.META})
    summary = json.loads((out / L.SUMMARY).read_text())
    assert list(summary["channels"]) == ["tv_spend", "search_spend", "youtube"]
    assert list(summary["geos"]) == ["geo_01", "geo_02", "geo_03"]
    assert summary["model"]["kind"] == "geo" and summary["window"]["holdout"] == 4
    assert set(summary["organic"]) == {"organic_social"}
    assert set(summary["non_media"]) == {"promotion"}
    # per geo and nationally: the national contribution is the sum of the geos'
    table = pd.read_csv(out / L.GEO_SUMMARY)
    for name in ("tv_spend", "youtube", "organic_social", "promotion"):
        rows = table[table.channel == name].set_index("geo")["contribution_mean"]
        assert rows["national"] == pytest.approx(rows.drop("national").sum(), rel=1e-9)
    raw = pd.read_csv(panel_csv)
    fit = pd.read_csv(out / L.FIT)
    np.testing.assert_allclose(fit["actual"], raw.groupby("date", sort=True)["sales"].sum())
    assert fit["train"].tolist() == [True] * 76 + [False] * 4
    responses = json.loads((out / L.RESPONSES).read_text())
    assert [r["name"] for r in responses["responses"]] == list(summary["channels"])
    assert set(responses["geo_responses"]) == set(summary["geos"])
    checks = json.loads((out / L.CHECKS).read_text())
    assert checks["panel"]["geos"] == 3 and checks["panel"]["reach_frequency"]["youtube"]
    # the saved model reads back as the geo fit, with the same numbers
    view = RunDir(out).read()
    assert view.is_geo and isinstance(loaded, GeoFitted) and loaded.geos == list(summary["geos"])
    again = json.loads(json.dumps(loaded.to_json(0.8)))
    assert again["channels"] == summary["channels"] and again["geos"] == summary["geos"]
    assert view.responses == responses["responses"]
    assert view.geo_responses == responses["geo_responses"]
    assert set(view.current_spend()) == set(summary["channels"])


def test_the_config_keys_take_the_same_path(panel_csv, tmp_path, monkeypatch):
    _no_fit(monkeypatch)
    cfg = tmp_path / "geo.yaml"
    section = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"],
               "controls": ["price_index"], "geo": "geo", "population": "population",
               "organic": ["organic_social"], "non_media": ["promotion"],
               "reach_frequency": {"youtube": {"reach": "youtube_reach",
                                               "frequency": "youtube_frequency",
                                               "spend": "youtube_spend"}}}  # fmt: skip
    cfg.write_text(json.dumps({"data": section, "model": {"geo_pooling": "partial"}}))
    # the panel and its roles are read and checked against the geo model, up to its hold-out
    res = CliRunner().invoke(cli, ["fit", str(panel_csv), "--config", str(cfg), "--out",
                                   str(tmp_path / "run"), "--holdout", "500", *QUICK])  # fmt: skip
    assert res.exit_code == 2
    assert "holdout must be an integer between 0 and 70" in res.stderr


@pytest.mark.parametrize(
    "change, extra, parts",
    [
        (None, ["--geo", "regoin"],
         ["column 'regoin' (geo) is not in the data.", "Did you mean 'region'?"]),
        (lambda f: pd.concat([f, f[f.geo == "geo_01"].head(3).assign(geo="geo_09")]), [],
         ["geo 'geo_09' (column 'geo') has only 3 row(s)", "Fix: add the missing rows of "
          "'geo_09'"]),
        (lambda f: f.assign(population=f.population.where(f.geo != "geo_02")), [],
         ["column 'population' (population) is empty for geo 'geo_02'",
          "Fix: write the geo's population in every row of 'geo_02'"]),
        (lambda f: f.assign(youtube_reach=f.youtube_reach.where(f.index != 5, 900.0),
                            youtube_frequency=f.youtube_frequency.where(f.index != 5, 0.25)), [],
         ["column 'youtube_frequency' (frequency of channel 'youtube') is 0.25 at row 6 (geo "
          "'geo_01'", "at least 1 whenever someone was reached"]),
        (None, ["--organic", "organic_socail"],
         ["column 'organic_socail' (organic activity 'organic_socail') is not in the data.",
          "Did you mean 'organic_social'?"]),
        (None, ["--reach-frequency", "youtube:youtube_reach:youtube_spend"],
         ["--reach-frequency[0]: expected NAME:REACH:FREQUENCY:SPEND"]),
        (None, ["--time-varying", "tv_spend"],
         ["--time-varying: the geo model has no time-varying effects (got tv_spend)",
          "Fix: leave --time-varying out"]),
    ],
)  # fmt: skip
def test_mistakes_are_one_message_before_any_fitting(panel_csv, tmp_path, monkeypatch, change,
                                                     extra, parts):  # fmt: skip
    _no_fit(monkeypatch)
    data = panel_csv
    if change is not None:
        data = tmp_path / "changed.csv"
        frame = change(pd.read_csv(panel_csv)).reset_index(drop=True)
        frame.to_csv(data, index=False)
    if extra[:1] == ["--geo"]:
        frame = pd.read_csv(panel_csv).rename(columns={"geo": "region"})
        data = tmp_path / "region.csv"
        frame.to_csv(data, index=False)
    out = tmp_path / "run"
    res = _fit(data, out, *extra)
    assert res.exit_code == 2, res.output
    text = " ".join(res.stderr.split())
    for part in parts:
        assert part in text, (part, text)
    assert "Traceback" not in res.output and not out.exists()


def test_lift_tests_are_refused_for_the_geo_model(panel_csv, tmp_path, monkeypatch):
    _no_fit(monkeypatch)
    tests = tmp_path / "lift.csv"
    pd.DataFrame({"channel": ["tv_spend"], "start": ["2022-03-07"], "end": ["2022-04-04"],
                  "spend_change": [1000.0], "lift": [50.0], "lift_se": [10.0]}).to_csv(tests)  # fmt: skip
    res = _fit(panel_csv, tmp_path / "run", "--experiments", str(tests))
    assert res.exit_code == 2
    assert "--experiments: the geo model does not take lift tests yet" in res.stderr


def test_an_existing_folder_needs_force_and_is_replaced_whole(run_copy, panel_csv, monkeypatch,
                                                              loaded):  # fmt: skip
    _no_fit(monkeypatch)
    res = _fit(panel_csv, run_copy)
    assert res.exit_code == 2 and "already exists and holds files; pass --force" in res.stderr
    (run_copy / L.PLAN).write_text("{}")  # a stale plan of the old run
    (run_copy / "notes.txt").write_text("mine")  # a file the layout does not know
    _no_fit(monkeypatch, loaded)
    res = _fit(panel_csv, run_copy, "--force")
    assert res.exit_code == 0, res.output
    assert not (run_copy / L.PLAN).exists() and (run_copy / "notes.txt").read_text() == "mine"
    assert json.loads((run_copy / L.META).read_text())["model"] == "geo"


def test_non_finite_results_are_an_error_and_nothing_is_written(run_copy, panel_csv,
                                                               monkeypatch, loaded):  # fmt: skip
    idata = copy.deepcopy(loaded.idata)
    for name in idata.posterior.data_vars:
        idata.posterior[name].values[...] = np.nan
    broken = GeoFitted(loaded.spec, loaded.data, loaded.scalers, loaded.n_train, loaded.method,
                       loaded.fit_seconds, idata, loaded.info, loaded.diagnostics)  # fmt: skip
    before = _tree(run_copy)
    _no_fit(monkeypatch, broken)
    res = _fit(panel_csv, run_copy, "--force")
    assert res.exit_code == 2
    text = " ".join(res.stderr.split())
    assert "the fit's results are not finite numbers (the expected KPI" in text
    assert f"{run_copy} was left as it was" in text
    assert _tree(run_copy) == before


def test_optimize_plans_a_geo_run_nationally_on_its_national_curves(fitted_run):
    import json

    run = fitted_run[1]
    res = CliRunner().invoke(cli, ["optimize", "--run", str(run), "--relative-bounds", "0.3",
                                   "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    plan = json.loads(res.output)
    curves = json.loads((Path(run) / "responses.json").read_text())["responses"]
    today = {c["name"]: c["reference_spend"] for c in curves}
    spend = plan["allocation"]
    assert set(spend) == set(today)
    # the whole budget (today's national total) is spent, every channel within +-30% of today
    assert sum(spend.values()) == pytest.approx(sum(today.values()), rel=1e-6)
    for name, x in spend.items():
        assert 0.7 * today[name] - 1e-6 <= x <= 1.3 * today[name] + 1e-6


def test_refresh_of_a_geo_run_is_refused_with_the_fix(fitted_run, panel_csv, tmp_path):
    res = CliRunner().invoke(cli, ["refresh", str(fitted_run[1]), "--data", str(panel_csv),
                                   "--out", str(tmp_path / "new")])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "is a geo run" in res.output and "--geo COL" in res.output
    assert not (tmp_path / "new").exists()
