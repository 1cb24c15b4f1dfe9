"""Experiments in the model: the lift likelihood through the model's own counterfactual, for
MAP, SVI and NUTS, with and without a hold-out; save/load, summary.json, the report, the CLI,
the YAML entry, experiments as ROI priors; and the confounding case they exist for."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.analysis.experiments import agrees, lift_draws
from mediamix.data.experiments import Experiment
from mediamix.errors import DataError, SpecError
from mediamix.estimator import MMM, FittedModel
from mediamix.model import ModelSpec
from mediamix.model.experiments import (
    experiment_design,
    experiment_lifts,
    roi_prior_from_experiments,
    roi_priors,
)


def _day(ds, i):
    return str(ds.dates[i].date())


@pytest.fixture(scope="module")
def tests_on(sim_data):
    """Three tests on the shared simulated data: a pause in the data with a carry-over tail,
    an increase on top of the data, an increase inside the data (in the hold-out)."""
    ds, _ = sim_data
    sp = ds.spend
    on = np.flatnonzero(sp[:, 2] > 1500)
    late = int(on[on > 98][0])
    return [
        Experiment("tv", _day(ds, 50), _day(ds, 53), -float(sp[50:54, 0].sum()), -6000.0, 900.0,
                   measure_end=_day(ds, 57)),
        Experiment("search", _day(ds, 20), _day(ds, 25), 30000.0, 4000.0, 800.0, in_data=False,
                   measure_end=_day(ds, 29)),
        Experiment("social", _day(ds, late), _day(ds, late), 1000.0, 300.0, 200.0),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def map_fit(sim_data, tests_on):
    ds, _ = sim_data
    return MMM(ModelSpec()).fit(ds, "map", steps=300, seed=0, holdout=8, experiments=tests_on,
                                warn=False)  # fmt: skip


def _model_lifts(fitted, exps, n=4):
    """The likelihood's lift (the NumPyro model's function) on posterior draws, KPI units."""
    extra = experiment_design(exps, fitted.data, fitted.scalers, fitted.structure)
    design = {**fitted.design, **{k: jnp.asarray(v) for k, v in extra.items()}}
    mu = fitted.components()["mu"]
    out = []
    for s in range(min(n, fitted.n_draws)):
        p = {k: v[s] for k, v in fitted.params.items()}
        lift = experiment_lifts(p, p["beta"], jnp.asarray(mu[s]), p["sigma"], design,
                                fitted.structure)  # fmt: skip
        out.append(np.asarray(lift) * fitted.scalers.kpi_scale)
    return np.array(out)


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(channel_transforms={"search": {"saturation": "logistic", "adstock": "none"}}),
        ModelSpec(form="multiplicative"),
    ],
    ids=["additive-mixed-families", "multiplicative"],
)
def test_the_likelihood_lift_is_the_models_counterfactual(sim_data, tests_on, spec):
    """The jitted per-experiment lift equals the full model's KPI difference (with and without
    the change, through adstock and saturation) summed over the measurement window."""
    ds, _ = sim_data
    fitted = MMM(spec).fit(ds, "map", steps=100, seed=0, experiments=tests_on, warn=False)
    want = lift_draws(fitted)
    np.testing.assert_allclose(_model_lifts(fitted, tests_on), want, rtol=2e-3, atol=1.0)
    # by hand for one test: the pause in the data, counterfactual = data + the spend back
    e = tests_on[0]
    media = fitted.data.media.copy()
    media[50:54, 0] += -e.spend_change / 4 / fitted.data.cost_per_unit[0]
    by_hand = (fitted.expected_kpi() - fitted.expected_kpi(media))[:, 50:58].sum(1)
    np.testing.assert_allclose(lift_draws(fitted)[:, 0], by_hand, rtol=1e-6)


def test_map_fit_with_holdout_reports_each_experiment(map_fit, tests_on):
    out = map_fit.to_json()
    got = out["experiments"]
    assert [x["channel"] for x in got] == ["tv", "search", "social"]
    for x, e in zip(got, tests_on):
        assert {"channel", "start", "end", "measure_end", "spend_change", "lift", "lift_se",
                "model_lift", "agrees"} <= set(x)  # fmt: skip
        assert x["lift"] == e.lift and x["measure_end"] == e.window_end
        m = x["model_lift"]
        assert m["lower"] == m["mean"] == m["upper"]  # MAP: a point
        assert x["agrees"] == agrees(e.lift, e.lift_se, m["lower"], m["upper"])
    assert map_fit.experiments == tuple(tests_on)
    json.dumps(out, allow_nan=False)


@pytest.fixture(scope="module")
def base_fit(sim_data):
    return MMM(ModelSpec()).fit(sim_data[0], "map", steps=300, seed=0, warn=False)


def test_an_experiment_pulls_the_fit_to_its_lift(sim_data, base_fit):
    """A precise test claiming a lift far from what the data say moves the model's lift to
    it; without the test the model's prediction of the same test is far off."""
    ds, _ = sim_data
    base = base_fit
    e = Experiment("tv", _day(ds, 50), _day(ds, 53), -float(ds.spend[50:54, 0].sum()), 1.0, 1.0,
                   measure_end=_day(ds, 57))  # fmt: skip
    before = float(lift_draws(base, [e])[0, 0])
    claim = 0.5 * before
    e = Experiment(e.channel, e.start, e.end, e.spend_change, claim, abs(claim) * 0.02,
                   measure_end=e.measure_end)  # fmt: skip
    cal = MMM(ModelSpec()).fit(ds, "map", steps=300, seed=0, experiments=[e], warn=False)
    after = cal.to_json()["experiments"][0]["model_lift"]["mean"]
    assert abs(after - claim) < 0.25 * abs(before - claim)
    assert (
        cal.to_json()["channels"]["tv"]["roas"]["mean"]
        < base.to_json()["channels"]["tv"]["roas"]["mean"]
    )


@pytest.mark.slow
def test_svi_and_nuts_fit_with_experiments(sim_data, tests_on):
    ds, _ = sim_data
    svi = MMM().fit(ds, "svi", steps=200, draws=50, seed=0, holdout=8, experiments=tests_on,
                    warn=False)  # fmt: skip
    nuts = MMM().fit(ds, "nuts", chains=1, draws=40, warmup=40, seed=0, experiments=tests_on[:1],
                     warn=False)  # fmt: skip
    for f in (svi, nuts):
        for x in f.to_json()["experiments"]:
            m = x["model_lift"]
            assert m["lower"] < m["mean"] < m["upper"]
            assert isinstance(x["agrees"], bool)


def test_save_load_run_folder_and_report(map_fit, tmp_path):
    from mediamix.report.html import SECTIONS, sections
    from mediamix.report.run import load_run
    from mediamix.runs import RunDir

    again = FittedModel.load(map_fit.save(tmp_path / "model"))
    assert again.experiments == map_fit.experiments
    assert again.to_json()["experiments"] == map_fit.to_json()["experiments"]
    summary = RunDir(tmp_path / "run").write(map_fit)
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["experiments"] == summary["experiments"] and len(written["experiments"]) == 3
    secs = {s.key: s for s in sections(load_run(tmp_path / "run"))}
    sec = secs["experiments"]
    assert sec.title == SECTIONS["experiments"] == "Experiments"
    (table,) = sec.tables
    assert "measured lift" in table["header"] and len(table["rows"]) == 3
    assert any("widened by 2 standard errors" in t for t in sec.text)


def test_no_experiments_means_an_empty_list_and_no_section(base_fit, tmp_path):
    from mediamix.report.html import sections
    from mediamix.report.run import RunData

    assert base_fit.experiments == () and base_fit.to_json()["experiments"] == []
    assert lift_draws(base_fit).shape == (base_fit.n_draws, 0)
    keys = {s.key for s in sections(RunData(tmp_path, summary={"experiments": []}))}
    assert "experiments" not in keys


def test_fit_rejects_bad_experiments_clearly(sim_data):
    ds, _ = sim_data
    e = Experiment("tv", _day(ds, 50), _day(ds, 53), 500.0, 10.0, 5.0, geo="north")
    with pytest.raises(DataError, match="geo.*national"):
        MMM().fit(ds, "map", steps=10, experiments=[e])
    with pytest.raises(DataError, match="Did you mean 'search'"):
        MMM().fit(ds, "map", steps=10, experiments=[{**e.to_dict(), "channel": "serch",
                                                     "geo": None}])  # fmt: skip


def test_experiments_as_roi_priors():
    a = Experiment("search", "2022-01-03", "2022-01-24", -4000.0, -6000.0, 1000.0)
    b = Experiment("search", "2022-06-06", "2022-06-27", 4000.0, 5000.0, 1000.0)
    c = Experiment("tv", "2022-01-03", "2022-01-24", 10000.0, 8000.0, 2000.0)
    p = roi_priors([a, b, c])
    assert set(p) == {"roas.search", "roas.tv"}
    # pooled search ROI: 1.375 with sd 0.25/sqrt(2); lognormal matches mean and sd
    loc, scale = p["roas.search"].params["loc"], p["roas.search"].params["scale"]
    mean = np.exp(loc + scale**2 / 2)
    sd = mean * np.sqrt(np.expm1(scale**2))
    assert mean == pytest.approx(1.375) and sd == pytest.approx(0.25 / np.sqrt(2))
    spec = roi_prior_from_experiments([a, b, c], ModelSpec(kpi_value=2.0))
    assert spec.media_prior == "roi" and spec.kpi_value == 2.0
    m2 = np.exp(
        spec.priors["roas.tv"].params["loc"] + spec.priors["roas.tv"].params["scale"] ** 2 / 2
    )
    assert m2 == pytest.approx(1.6)  # kpi_value * lift / spend
    with pytest.raises(SpecError, match="not > 0.*likelihood"):
        roi_priors([Experiment("tv", "2022-01-03", "2022-01-24", 1000.0, -50.0, 10.0)])


def test_roi_prior_spec_builds_per_channel_priors(sim_data):
    """The ROI-prior spec is a valid model: the tested channel's ROAS prior is the test's,
    the others keep the default ROAS prior."""
    ds, _ = sim_data
    e = Experiment("tv", _day(ds, 50), _day(ds, 53), -float(ds.spend[50:54, 0].sum()), -6000.0,
                   900.0)  # fmt: skip
    spec = roi_prior_from_experiments([e])
    data, scalers, structure, design, n = MMM(spec).prepare(ds)
    dist, params = structure.priors["roas"]
    assert dist == "lognormal"
    want = spec.priors["roas.tv"].params
    assert params["loc"][0] == pytest.approx(want["loc"], rel=1e-6)
    assert params["scale"][0] == pytest.approx(want["scale"], rel=1e-6)
    default = structure.priors["roas"][1]["scale"][1:]
    assert np.all(default == default[0]) and default[0] != pytest.approx(want["scale"])


# ---- the command line and the YAML entry ---------------------------------------------------
@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    from mediamix.data.simulate import simulate

    frame, truth = simulate(n_periods=80, n_channels=2, seed=5, n_controls=0)
    folder = tmp_path_factory.mktemp("cal")
    frame.to_csv(folder / "data.csv", index=False)
    d = pd.to_datetime(frame["date"])
    on = np.flatnonzero(frame["tv_spend"].to_numpy() > 0)
    i = int(on[on > 30][0])
    row = {"channel": "tv", "start": str(d[i].date()), "end": str(d[i].date()),
           "spend_change": -float(frame["tv_spend"][i]), "lift": -500.0, "lift_se": 200.0,
           "measure_end": str(d[i + 3].date())}  # fmt: skip
    pd.DataFrame([row]).to_csv(folder / "tests.csv", index=False)
    return folder, row


def _fit_args(folder, out, *extra):
    return ["fit", str(folder / "data.csv"), "--out", str(out), "--method", "map", "--steps",
            "200", "--quiet", *extra]  # fmt: skip


HEAD = ("data:\n  date: date\n  kpi: sales\n  channels:\n    - {name: tv, spend: tv_spend}\n"
        "    - {name: search, spend: search_spend}\nmodel: {}\n")  # fmt: skip


def test_cli_fit_with_experiments_prints_a_line_per_test(sim_csv, tmp_path):
    """--experiments wins over the config's experiments: entry (here a bad row, which would
    stop the fit), the CLI prints one line per test and summary.json has the block."""
    from mediamix.cli import cli

    folder, row = sim_csv
    cfg = tmp_path / "model.yaml"
    cfg.write_text(HEAD + "experiments:\n  - " + json.dumps({**row, "lift_se": -1}) + "\n")
    res = CliRunner().invoke(cli, _fit_args(folder, tmp_path / "bad", "--config", str(cfg)))
    assert res.exit_code != 0 and "lift_se" in res.output and "row 1" in res.output, res.output
    res = CliRunner().invoke(cli, _fit_args(folder, tmp_path / "run", "--config", str(cfg),
                                            "--experiments", str(folder / "tests.csv")))  # fmt: skip
    assert res.exit_code == 0, res.output
    line = [x for x in res.output.splitlines() if x.startswith("experiment tv")]
    assert len(line) == 1 and "measured lift -500" in line[0], res.output
    assert ("agrees" in line[0]) or ("DISAGREES" in line[0])
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["experiments"][0]["start"] == row["start"]


def test_yaml_experiments_entry_path_or_rows(sim_csv, tmp_path):
    from mediamix.data import Dataset
    from mediamix.data.experiments import read_experiments
    from mediamix.model.spec import config_experiments, load_config

    folder, row = sim_csv
    head = HEAD.replace("data:\n", "data:\n  path: data.csv\n")
    by_path = folder / "with_path.yaml"
    by_path.write_text(head + "experiments: tests.csv\n")
    assert config_experiments(by_path) == folder / "tests.csv"  # next to the config file
    assert load_config(by_path)[1] == ModelSpec()
    assert Dataset.from_config(by_path).channel_names == ["tv", "search"]
    rows = tmp_path / "with_rows.yaml"
    rows.write_text(head + "experiments:\n  - " + json.dumps(row) + "\n")
    assert config_experiments(rows) == [row]
    ds = Dataset.from_config(by_path)
    assert read_experiments(config_experiments(rows), ds) == read_experiments(
        config_experiments(by_path), ds
    )
    flat = tmp_path / "flat.yaml"
    flat.write_text("trend: linear\nexperiments: 3\n")
    assert load_config(flat)[1].trend == "linear"
    with pytest.raises(SpecError, match="experiments: expected the path"):
        config_experiments(flat)


# ---- the confounding case ---------------------------------------------------------------------
@pytest.mark.slow
def test_one_lift_test_fixes_a_confounded_channel():
    """Search's spend follows an unobserved demand factor: the fit without experiments misses
    search's true ROAS (outside the 90% interval); with one lift test on search (its spend
    doubled to a saturated level for 6 weeks, measured over those weeks and a 4-week tail)
    the truth is inside the interval and the absolute error falls by more than half.

    This holds for this data set (seed 0), not for every one: over 5 seeds
    (bench/bench_calibration.py) the fit without the test misses in 5 of 5, the test halves
    the mean error (2.25 -> 0.83) but the calibrated interval covers the truth in 1 of 5; a
    test at a saturated level pins the curve there, and the confounded data still bend the
    rest of it (see README, "What one test can and cannot do")."""
    from mediamix.data.confounded import confounded, confounded_dataset, true_roas
    from mediamix.inference import NUTS

    frame, truth = confounded(seed=0)
    ds = confounded_dataset(frame)
    sampler = NUTS(chains=2, draws=300, warmup=300)
    res = {}
    for label, exps in (("before", None), ("after", [truth["experiment"]])):
        fitted = MMM().fit(ds, sampler, seed=0, experiments=exps, warn=False)
        w = getattr(fitted, "window", None)
        tr = true_roas(truth, slice(0, fitted.n_train) if w is None else w)["search"]
        r = fitted.to_json()["channels"]["search"]["roas"]
        res[label] = (tr, r)
    tr, r = res["before"]
    assert not r["lower"] <= tr <= r["upper"], res
    err_before = abs(r["mean"] - tr)
    tr, r = res["after"]
    assert r["lower"] <= tr <= r["upper"], res
    assert abs(r["mean"] - tr) < 0.5 * err_before, res
