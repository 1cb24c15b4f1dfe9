"""The model review: each check's rule on constructed numbers, and whole reviews of fits that
should fail (a negative baseline, a short NUTS, a flat placebo-like channel, too few optimiser
steps, non-finite draws) and of the demo's data (passes)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mediamix.analysis import review as R
from mediamix.analysis.metrics import ratio_triple, skewed
from mediamix.analysis.prior_check import compare, prior_params
from mediamix.estimator import MMM, FittedModel
from mediamix.model import ModelSpec
from mediamix.model.data import ModelData


def _check(verdict: str, name: str = "r2") -> R.ReviewCheck:
    return R.ReviewCheck(name, "in-sample", 0.1, 0.5, verdict, "advice")


# -- the Review object -------------------------------------------------------------------------
def test_verdict_is_the_worst_check_and_round_trips():
    rev = R.Review.from_checks([_check("pass"), _check("review"), _check("pass")], "nuts")
    assert rev.verdict == "review" and rev.badge == "review" and rev.label == "needs review"
    rev = R.Review.from_checks([_check("review"), _check("fail", "baseline")], "nuts")
    assert rev.failed and rev.badge == "fail" and rev.converged
    assert [c.verdict for c in rev.issues] == ["fail", "review"]
    assert rev.lines()[0].startswith("model review: REVIEW FAILED (1 fail, 1 to review")
    back = R.Review.from_dict(json.loads(json.dumps(rev.to_dict())))
    assert back == rev
    assert R.Review.from_checks([], "nuts").verdict == "pass"


def test_a_convergence_check_that_does_not_pass_means_not_converged():
    rev = R.Review.from_checks([_check("pass"), _check("review", "rhat")], "nuts")
    assert not rev.converged and rev.badge == "not converged" and rev.verdict == "review"
    rev = R.Review.from_checks([_check("fail", "rhat")], "nuts")
    assert rev.label == "review failed, not converged"
    # a low ESS is noise, not disagreement: review, still converged
    assert R.Review.from_checks([_check("review", "ess")], "nuts").converged


def test_a_value_that_is_not_finite_fails_whatever_the_rule():
    c = R._check("r2", "in-sample", float("nan"), 0.5, "pass", "fine.")
    assert c.verdict == "fail" and "not a finite number" in c.advice and c.value is None
    bad = R.finite_check({"ROAS": np.array([[1.0, np.nan]]), "expected KPI": np.ones(3)})
    assert bad.verdict == "fail" and "ROAS" in bad.advice and "expected KPI" not in bad.advice
    assert R.finite_check({"ROAS": np.ones((2, 2)), "none": None}).verdict == "pass"


# -- rules on constructed numbers ----------------------------------------------------------------
def test_fit_checks_thresholds(rng):
    T = 100
    y = 100 + 10 * np.sin(np.arange(T) / 3)
    train = np.arange(T) < 90
    hold = ~train
    fit = {c.subject + " " + c.name: c for c in R.fit_checks(
        y, y + rng.normal(0, 1, T), None, train, hold, 0.9)}  # fmt: skip
    assert fit["in-sample r2"].verdict == "pass" and fit["hold-out mape"].verdict == "pass"
    m = y[train].mean()
    weak = {c.name: c for c in R.fit_checks(y, m + 0.2 * (y - m), None, train, hold, 0.9)}
    assert weak["r2"].verdict == "review" and weak["r2"].value == pytest.approx(0.36, abs=0.01)
    off = {c.name: c for c in R.fit_checks(y, y * 2.0, None, train, hold, 0.9)}
    assert off["r2"].verdict == "fail" and off["mape"].verdict == "fail"
    assert "in-sample coverage" not in fit  # no predictive draws (MAP): not computed


def test_coverage_tolerance_follows_the_number_of_periods(rng):
    y = rng.normal(0, 1, 200)
    right = rng.normal(0, 1, (400, 200))
    narrow = right * 0.3
    assert R._coverage_check("in-sample", y, right, 0.9, over=True).verdict == "pass"
    assert R._coverage_check("in-sample", y, narrow, 0.9, over=True).verdict == "fail"
    assert R._coverage_check("in-sample", y, right * 4, 0.9, over=True).verdict == "review"
    # 8 hold-out periods, 6 inside: within binomial noise of 90%
    ys = np.array([0, 0, 0, 0, 0, 0, 5, 5.0])
    assert R._coverage_check("hold-out", ys, rng.normal(0, 1, (400, 8)), 0.9, False).verdict in (
        "pass",
        "review",
    )


def test_residual_autocorrelation(rng):
    white = rng.normal(0, 1, 150)
    ar = np.zeros(150)
    for t in range(1, 150):
        ar[t] = 0.85 * ar[t - 1] + rng.normal()
    assert R.residual_check(white, np.zeros(150)).verdict == "pass"
    c = R.residual_check(ar, np.zeros(150))
    assert c.verdict == "fail" and c.value > 0.7 and "Ljung-Box" in c.advice
    mid = np.zeros(150)
    for t in range(1, 150):
        mid[t] = 0.55 * mid[t - 1] + rng.normal()
    assert R.residual_check(mid, np.zeros(150)).verdict == "review"


def test_decomposition_checks(rng):
    kpi = 1000.0
    ok = {c.name: c for c in R.decomposition_checks(kpi, rng.normal(700, 20, 500),
                                                     np.full(50, 14.0), rng.normal(300, 20, 500))}  # fmt: skip
    assert ok["baseline"].verdict == "pass" and ok["media_share"].verdict == "pass"
    neg = {c.name: c for c in R.decomposition_checks(kpi, rng.normal(-300, 50, 500),
                                                      np.full(50, -6.0), rng.normal(1300, 50, 500))}  # fmt: skip
    assert neg["baseline"].verdict == "fail" and neg["media_share"].verdict == "fail"
    high = {c.name: c for c in R.decomposition_checks(kpi, rng.normal(400, 20, 500),
                                                       np.full(50, 8.0), rng.normal(600, 20, 500))}  # fmt: skip
    assert high["baseline"].verdict == "pass" and high["media_share"].verdict == "review"
    dips = R.decomposition_checks(kpi, rng.normal(500, 20, 500), np.r_[np.full(40, 12.0),
                                  np.full(10, -1.0)], rng.normal(500, 20, 500))  # fmt: skip
    assert dips[0].verdict == "review"  # negative in 20% of the periods


def test_nuts_checks():
    good = {"max_rhat": 1.003, "min_ess_bulk": 900.0, "min_ess_tail": 700.0, "divergences": 0,
            "min_bfmi": 0.8}  # fmt: skip
    assert {c.verdict for c in R.nuts_checks(good, 4000, 4)} == {"pass"}
    bad = {"max_rhat": 1.4, "min_ess_bulk": 40.0, "min_ess_tail": 30.0, "divergences": 80,
           "min_bfmi": 0.1}  # fmt: skip
    v = {c.name: c.verdict for c in R.nuts_checks(bad, 4000, 4)}
    assert v == {"rhat": "fail", "ess": "fail", "divergences": "fail", "bfmi": "review"}
    mid = {"max_rhat": 1.02, "min_ess_bulk": 250.0, "divergences": 3}
    v = {c.name: c.verdict for c in R.nuts_checks(mid, 4000, 4)}
    assert v == {"rhat": "review", "ess": "review", "divergences": "review"}
    one_chain = {c.name: c for c in R.nuts_checks({"min_ess_bulk": 500.0}, 500, 1)}
    assert one_chain["rhat"].verdict == "review" and "one chain" in one_chain["rhat"].advice


def test_loss_trace_of_svi_and_map(rng):
    steps = np.arange(200)
    falling = 500 * np.exp(-steps / 80) + rng.normal(0, 2, 200)  # still falling at mid-run
    levelled = 500 * np.exp(-steps / 10) + rng.normal(0, 2, 200)
    c = R.loss_check("svi", {"losses": falling.tolist(), "steps": 200}, 100)
    assert c.verdict == "fail" and "--steps 400" in c.advice
    assert R.loss_check("svi", {"losses": levelled.tolist(), "steps": 3000}, 100).verdict == "pass"
    assert R.loss_check("svi", {"losses": [1.0, np.nan] * 20}, 100).verdict == "fail"
    cap = R.loss_check("map", {"steps": 300, "steps_run": 300}, 100)
    assert cap.verdict == "review" and "step limit" in cap.advice
    assert R.loss_check("map", {"steps": 3000, "steps_run": 400}, 100).verdict == "pass"
    assert R.loss_check("map", {}, 100).verdict == "review"


def test_channel_checks():
    T = 60
    spend = np.c_[np.linspace(50, 150, T), np.full(T, 100.0), np.r_[np.zeros(40), np.ones(20)]]
    roas = np.tile([2.0, 500.0, -0.5], (10, 1))
    v = {(c.name, c.subject): c.verdict for c in R.channel_checks(["a", "b", "c"], spend, roas,
                                                                  100.0)}  # fmt: skip
    assert v[("spend_variation", "a")] == "pass" and v[("spend_variation", "b")] == "review"
    assert v[("zero_spend", "c")] == "review" and v[("zero_spend", "a")] == "pass"
    assert v[("roas", "a")] == "pass" and v[("roas", "b")] == "review"
    assert v[("roas", "c")] == "fail"


def test_prior_data_conflict_rules(rng):
    prior = np.abs(rng.normal(0, 2, 300))
    moved = compare("tv", prior, rng.normal(1.5, 0.2, 1000))
    assert moved.verdict == "pass" and moved.sd_ratio < 0.2
    same = compare("flat", prior, np.abs(rng.normal(0, 2, 1000)))
    assert same.verdict == "review" and "mostly your prior" in same.advice
    tail = compare("search", prior, rng.normal(9.0, 0.3, 1000))
    assert tail.verdict == "review" and "upper tail" in tail.advice and tail.quantile > 0.95
    point = compare("tv", prior, np.array([1.2]))
    assert point.verdict == "pass" and point.sd_ratio is None


def test_cost_per_kpi_is_summarised_by_its_median_when_skewed(rng):
    roas = rng.lognormal(0.0, 0.6, 4000)
    cpk = 1 / roas
    assert skewed(cpk) and not skewed(rng.normal(5, 1, 4000))
    t = ratio_triple(cpk)
    assert t["estimate"] == "median" and t["median"] == pytest.approx(np.median(cpk))
    assert t["mean"] > t["median"]  # the mean of 1 / ROAS overstates the typical cost


# -- whole reviews of fits -----------------------------------------------------------------------
def _names(review, verdict=None):
    return {(c.name, c.subject) for c in review.checks if verdict is None or c.verdict == verdict}


def test_review_of_an_svi_fit_is_in_summary_json_and_survives_save_load(svi_fit, tmp_path):
    rev = svi_fit.review
    assert isinstance(rev, R.Review) and rev.method == "svi"
    names = {c.name for c in rev.checks}
    assert {"finite", "r2", "mape", "coverage", "residual_autocorrelation", "baseline",
            "media_share", "loss_trace", "intervals", "spend_variation", "zero_spend", "roas",
            "prior_shift"} <= names  # fmt: skip
    assert ("coverage", "hold-out") in _names(rev) and ("mape", "hold-out") in _names(rev)
    assert rev.verdict in ("review", "fail")  # SVI is never a plain pass
    assert [p["channel"] for p in rev.prior_shift] == svi_fit.channel_names
    js = svi_fit.to_json()
    assert js["review"]["verdict"] == rev.verdict and js["review"]["checks"]
    json.dumps(js, allow_nan=False)
    back = FittedModel.load(svi_fit.save(tmp_path / "m"))
    assert back.review == rev


def test_non_finite_draws_fail_the_review(svi_fit):
    p = dict(svi_fit.params)
    beta = np.array(p["beta"])
    beta[0, 0] = np.nan
    broken = svi_fit.with_params({**p, "beta": beta})
    rev = R.review(broken, prior_draws=50)
    assert rev.failed
    finite = next(c for c in rev.checks if c.name == "finite")
    assert finite.verdict == "fail" and "contributions" in finite.advice


def test_prior_draws_come_from_the_model(svi_fit):
    p = prior_params(svi_fit, n=64, seed=1)
    assert p["beta"].shape == (64, 3) and p["intercept"].shape == (64,)
    view = svi_fit.with_params(p)
    assert view.n_draws == 64 and svi_fit.n_draws == 200
    assert np.all(view.roas_draws() > 0)


def test_a_negative_baseline_fails_the_review(sim_data):
    ds, _ = sim_data
    # a prior that credits each channel with 1.5x the mean KPI: media > the whole KPI
    spec = ModelSpec(
        priors={"effect": {"dist": "lognormal", "loc": float(np.log(1.5)), "scale": 0.05}}
    )
    fitted = MMM(spec).fit(ds, "map", steps=600, warn=False)
    rev = fitted.review
    assert rev.failed
    assert {("baseline", "share of KPI"), ("media_share", "share of KPI")} <= _names(rev, "fail")
    assert "negative" in next(c for c in rev.checks if c.name == "baseline").advice


def test_too_few_optimiser_steps_do_not_look_converged(sim_data):
    ds, _ = sim_data
    short_map = MMM().fit(ds, "map", steps=100, warn=False)
    assert not short_map.review.converged and short_map.review.badge == "not converged"
    short_svi = MMM().fit(ds, "svi", steps=100, draws=50, warn=False)
    loss = next(c for c in short_svi.review.checks if c.name == "loss_trace")
    assert loss.verdict in ("review", "fail") and loss.value > 0.05  # still falling
    assert not short_svi.review.converged and short_svi.review.badge == "not converged"


@pytest.mark.slow
def test_a_short_nuts_run_fails_as_not_converged(sim_data):
    ds, _ = sim_data
    fitted = MMM().fit(ds, "nuts", chains=2, draws=15, warmup=5, seed=0, warn=False)
    rev = fitted.review
    assert rev.failed and not rev.converged
    assert ("rhat", "max") in _names(rev, "fail")
    assert rev.label == "review failed, not converged"


@pytest.mark.slow
def test_a_flat_placebo_channel_is_flagged_as_mostly_prior(sim_data, rng):
    ds, _ = sim_data
    d = ModelData.from_dataset(ds)
    flat = 100 * (1 + 0.05 * rng.standard_normal(d.n_periods))  # CV 0.05, no effect on the KPI
    data = ModelData.from_arrays(
        kpi=d.kpi, spend=np.c_[d.spend, flat], controls=d.controls, dates=d.dates,
        channel_names=[*d.channel_names, "flat"], control_names=list(d.control_names),
    )  # fmt: skip
    fitted = MMM().fit(data, "svi", steps=1500, draws=300, seed=0, warn=False)
    rev = fitted.review
    flagged = _names(rev, "review")
    assert ("spend_variation", "flat") in flagged and ("prior_shift", "flat") in flagged
    shift = next(p for p in rev.prior_shift if p["channel"] == "flat")
    assert shift["sd_ratio"] > 0.8 and "mostly your prior" in shift["advice"]
    assert ("prior_shift", "tv") not in flagged  # a channel the data inform


@pytest.mark.slow
def test_nuts_on_the_demo_data_passes_the_review():
    from mediamix.cli.demo_cmds import demo_sampler
    from mediamix.data.simulate import simulate, simulated_dataset

    frame, truth = simulate(n_periods=156, n_channels=3, seed=0)  # the demo's data and sampler
    sampler = demo_sampler("nuts", None, None, None)
    fitted = MMM().fit(simulated_dataset(frame, truth), sampler, seed=0, warn=False)
    rev = fitted.review
    assert rev.verdict == "pass", rev.lines()
    assert rev.converged and rev.badge == "pass"


def test_multiplicative_contributions_are_against_minimum_spend():
    rng = np.random.default_rng(7)
    T = 104
    media = np.exp(rng.normal(0.0, 0.5, (T, 2))) * np.array([100.0, 50.0])
    y = 1000 * np.prod(media ** np.array([0.3, 0.15]), axis=1) * np.exp(rng.normal(0, 0.05, T))
    data = ModelData.from_arrays(kpi=y, spend=media, channel_names=["a", "b"])
    spec = ModelSpec(form="multiplicative", adstock="none", trend="none", seasonality_order=0)
    fitted = MMM(spec).fit(data, method="map", steps=1500, warn=False)
    assert fitted.structure.log_offset == 0.0
    assert fitted.contribution_reference == "minimum spend"
    w = R.window_mask(fitted)
    contrib = fitted.contribution_draws()[:, w]
    assert np.all(contrib >= -1e-9)  # never against average spend (negative ROAS)
    assert np.all(fitted.roas_draws() > 0)
    js = fitted.to_json()
    assert js["contribution_reference"] == "minimum spend"
    assert "minimum adstocked spend" in js["definitions"]["contribution"]
    assert "ratio of sums" in js["definitions"]["cost_per_kpi"]
    # the channel at its window minimum contributes nothing
    t_min = int(np.argmin(media[w, 0]))
    assert contrib[0, t_min, 0] == pytest.approx(0.0, abs=1e-6)


def test_cost_per_kpi_in_summary_json_is_a_ratio_of_sums(svi_fit):
    js = svi_fit.to_json()
    w = R.window_mask(svi_fit)
    contrib = svi_fit.contribution_draws()[:, w].sum(1)
    spend = svi_fit.data.spend[w].sum(0)
    total = js["kpi"]["cost_per_kpi"]
    assert total["median"] == pytest.approx(np.median(spend.sum() / contrib.sum(1)), rel=1e-6)
    assert total["estimate"] in ("mean", "median")
    tv = js["channels"]["tv"]["cost_per_kpi"]
    assert tv["median"] == pytest.approx(np.median(spend[0] / contrib[:, 0]), rel=1e-6)
    assert js["contribution_reference"] == "zero spend"


def test_optimiser_not_converged_fails_the_loss_check():
    """A loss check that passed on the per-period drop still fails when the fit's diagnostics
    say the optimiser had not converged (SVI's loss still moving at the end)."""
    from mediamix.analysis.review import FAIL, PASS, ReviewCheck, optimiser_check

    ok = ReviewCheck("loss_trace", "second half", 0.03, 0.05, PASS, "levelled off")
    assert optimiser_check(ok, "map", {"loss_converged": False}).verdict == "review"
    out = optimiser_check(ok, "svi", {"loss_converged": False, "loss_rel_change": 0.215})
    assert out.verdict == FAIL
    assert "21.5%" in out.advice and "not converged" in out.advice
    assert optimiser_check(ok, "svi", {"loss_converged": True}) is ok
    assert optimiser_check(ok, "map", {}) is ok
