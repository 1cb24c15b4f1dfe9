"""The validation battery: fold geometry, verdicts, the ELPD's log-likelihood, the whole
battery on a small fit, and the CLI and report around it."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.errors import SpecError
from mediamix.model import ModelSpec
from mediamix.validation import TESTS, ValidationResult, ValidationTest, validate
from mediamix.validation.battery import alternative, cv_origins, default_alternatives
from mediamix.validation.common import refit_sampler, worst
from mediamix.validation.tables import text_table
from tests.validation.conftest import make_data


def test_rolling_origins_tile_the_last_periods():
    assert cv_origins(96, 3, 6) == [78, 84, 90]
    origins = cv_origins(156, 4, 8)
    assert origins[-1] + 8 == 156 and np.all(np.diff(origins) == 8)
    with pytest.raises(SpecError, match="fewer folds or a shorter horizon"):
        cv_origins(96, 10, 6)
    with pytest.raises(SpecError, match="folds must be a positive integer"):
        cv_origins(96, 0, 6)


def test_worst_verdict_and_table():
    assert worst(["pass", "review", "pass"]) == "review"
    assert worst(["pass", "fail", "review"]) == "fail"
    assert worst([]) == "pass"
    text = text_table(
        [{"a": 1.23456, "b": None, "c": True}, {"a": 1234567.0, "b": "x", "c": False}]
    )
    assert "1.23" in text and "-" in text and "yes" in text and "no" in text


def test_result_json_table_and_save(tmp_path):
    t1 = ValidationTest("placebo", "pass", "fine.", value=0.1, threshold=0.2, rows=({"x": 1},))
    t2 = ValidationTest("refresh", "review", "moved.", value=float("nan"))
    r = ValidationResult((t1, t2), "svi", {"folds": 2}, seconds=3.0, refits=2)
    assert r.verdict == "review" and r.test("refresh") is t2
    d = r.to_dict()
    json.dumps(d, allow_nan=False)  # strict JSON: NaN became null
    assert d["tests"][1]["value"] is None and d["verdict"] == "review"
    assert "placebo" in r.table() and "verdict: review" in r.table()
    (tmp_path / "run").mkdir()
    path = r.save(tmp_path / "run")
    assert path.name == "validation.json" and json.loads(path.read_text())["refits"] == 2
    with pytest.raises(SpecError, match="no test 'cv'"):
        r.test("cv")


def test_alternatives_and_samplers():
    spec = ModelSpec()
    names = [n for n, _ in default_alternatives(spec)]
    assert names == ["saturation=logistic", "trend=none"]
    assert alternative(spec, {"trend": "none"}).trend == "none"
    with pytest.raises(SpecError, match=r"alternatives\[0\]\.trend"):
        alternative(spec, {"trend": "wiggly"}, "alternatives[0]")
    assert refit_sampler("svi").name == "svi"
    with pytest.raises(SpecError, match="MAP has no intervals|need intervals"):
        refit_sampler("map")


def test_bad_settings_fail_before_any_refit():
    stub = SimpleNamespace(spec=ModelSpec(), data=make_data(n=60), experiments=())
    with pytest.raises(SpecError, match="unknown test 'placbo'.*placebo"):
        validate(stub, tests=["placbo"])
    with pytest.raises(SpecError, match="fewer folds"):
        validate(stub, folds=8, horizon=8)
    with pytest.raises(SpecError, match="level must be between 0 and 1"):
        validate(stub, level=1.5)
    with pytest.raises(SpecError, match="run folder or a FittedModel"):
        validate(42)
    with pytest.raises(SpecError, match="noise must be between 0 and 1"):
        validate(stub, noise=1.5, tests=["perturbation"])
    with pytest.raises(SpecError, match="refresh_periods must be .* between 1 and 40"):
        validate(stub, refresh_periods=50, tests=["refresh"])
    with pytest.raises(SpecError, match="placebo_of: no channel 'stedy'.*steady"):
        validate(stub, placebo_of="stedy", tests=["placebo"])


def test_a_test_that_cannot_run_is_review_and_the_rest_go_on(monkeypatch):
    import mediamix.validation.battery as battery

    def broken(*args, **kwargs):
        raise SpecError("the spec cannot take another channel")

    monkeypatch.setattr(battery, "placebo", broken)
    stub = SimpleNamespace(spec=ModelSpec(), data=make_data(n=60), experiments=())
    r = validate(stub, tests="placebo")
    assert r.names == ["placebo"] and r.verdict == "review"
    assert "could not run: the spec cannot take another channel" in r.test("placebo").advice


@pytest.mark.slow
def test_pointwise_loglik_matches_the_numpyro_model(small_fit):
    """The ELPD's log-likelihood (from the model's pure functions) equals NumPyro's
    log-likelihood of the model itself, per period and draw (model units + log kpi_scale)."""
    from functools import partial

    from numpyro.infer import log_likelihood

    from mediamix.model.numpyro_model import model
    from mediamix.validation.elpd import loo, pointwise_loglik

    post = small_fit.idata.posterior
    samples = {k: post[k].values.reshape((-1,) + post[k].shape[2:])[:50] for k in post.data_vars}
    ref = log_likelihood(partial(model, structure=small_fit.structure), samples,
                         small_fit.design)["y"]  # fmt: skip
    mine = pointwise_loglik(small_fit)[:50] + np.log(small_fit.scalers.kpi_scale)
    mask = np.asarray(small_fit.design["mask"], dtype=bool)  # the likelihood's periods
    np.testing.assert_allclose(mine[:, mask], np.asarray(ref)[:, mask], rtol=1e-3, atol=1e-3)
    res = loo(small_fit)
    assert res["n"] == mask.sum() and np.isfinite(res["elpd"]) and res["se"] > 0


def small_svi():
    from mediamix.inference import SVI

    return SVI(steps=400, draws=200)


@pytest.mark.slow
def test_battery_on_a_small_fit(small_fit):
    lines = []
    r = validate(
        small_fit, folds=2, horizon=6, method=small_svi(), placebo_method=small_svi(),
        tests=("cross_validation", "placebo", "perturbation", "comparison"),
        alternatives=[{"trend": "none"}], progress=lines.append,
    )  # fmt: skip
    assert r.names == ["cross_validation", "placebo", "perturbation", "comparison"]
    assert all(t.verdict in ("pass", "review", "fail") and t.advice for t in r.tests)
    # progress: one line per refit, numbered against the planned number (the comparison's
    # fit of the run's spec is the last fold's, fitted once)
    assert len(lines) == r.refits == 6 and lines[0].startswith("[1/6]")
    cv = r.test("cross_validation")
    assert [row["fold"] for row in cv.rows] == [1, 2, "all"]
    assert [row["train_periods"] for row in cv.rows[:2]] == [84, 90]
    assert all(0 <= row["coverage"] <= 1 and row["mape"] > 0 for row in cv.rows)
    placebo = {row["channel"]: row for row in r.test("placebo").rows}
    assert placebo["placebo"]["placebo"] and len(placebo) == 4
    real = min(placebo[c]["roas_mean"] for c in ("bursty", "flighted", "steady"))
    assert placebo["placebo"]["roas_mean"] < real  # shuffled spend earns less than any channel
    pert = r.test("perturbation")
    assert [row["channel"] for row in pert.rows] == ["bursty", "flighted", "steady"]
    comp = r.test("comparison")
    assert [row["spec"] for row in comp.rows] == ["fitted", "trend=none"]
    assert comp.rows[0]["diff_vs_fitted"] == 0 and np.isfinite(comp.rows[1]["elpd_loo"])
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.slow
def test_cli_validate_writes_json_and_the_report_shows_it(small_run):
    from mediamix.cli import cli

    res = CliRunner().invoke(cli, ["validate", str(small_run), "--tests", "refresh", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "refresh" in res.output and "verdict:" in res.output
    got = json.loads((small_run / "validation.json").read_text())
    assert got["settings"]["tests"] == ["refresh"] and got["tests"][0]["name"] == "refresh"
    assert [r["channel"] for r in got["tests"][0]["rows"]] == ["bursty", "flighted", "steady"]
    res = CliRunner().invoke(cli, ["report", str(small_run)])
    assert res.exit_code == 0, res.output
    html = (small_run / "report.html").read_text()
    assert 'id="validation"' in html and "refresh" in html


def test_cli_validate_errors(tmp_path):
    from mediamix.cli import cli

    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(cli, ["validate", str(tmp_path), "--alt", "saturation"])
    assert res.exit_code == 2 and "KEY=VALUE" in res.output


def test_tests_are_named():
    assert TESTS == ("cross_validation", "placebo", "perturbation", "refresh", "comparison")
