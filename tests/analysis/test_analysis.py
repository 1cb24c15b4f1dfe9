import numpy as np
import pytest

from mediamix.analysis import (
    adstock_curves,
    contributions,
    decomposition,
    response_curves,
    what_if,
)
from mediamix.errors import SpecError
from mediamix.optimize.response import Response


def test_roas_is_contribution_over_spend(svi_fit):
    s = svi_fit.summary()
    w = svi_fit.window  # the likelihood window: training periods after the adstock warm-up
    assert w.start == svi_fit.structure.warmup > 0 and w.stop == svi_fit.n_train
    contrib = svi_fit.contribution_draws()[:, w].sum(1)
    spend = svi_fit.data.spend[w].sum(0)
    np.testing.assert_allclose(s["roas_mean"].to_numpy(), (contrib / spend).mean(0), rtol=1e-9)
    np.testing.assert_allclose(s["spend"].to_numpy(), spend)
    assert np.all(s["roas_lower"] <= s["roas_mean"]) and np.all(s["roas_mean"] <= s["roas_upper"])
    # concave-ish curves at current spend: the next unit returns less than the average
    assert np.all(s["mroas_mean"] < s["roas_mean"] * 1.5)


def test_decomposition_adds_up(svi_fit):
    df = contributions(svi_fit)
    wide = df.pivot(index="date", columns="component", values="mean")
    parts = wide["baseline"] + wide[svi_fit.channel_names].sum(axis=1)
    np.testing.assert_allclose(parts.to_numpy(), wide["expected_kpi"].to_numpy(), rtol=1e-6)
    dec = decomposition(svi_fit)
    assert dec.loc["media", "mean"] == pytest.approx(
        dec.loc[svi_fit.channel_names, "mean"].sum(), rel=1e-9
    )


def test_responses_match_the_model_in_steady_state(svi_fit):
    """Constant spend x per period: the model's contribution after the carry-over has built up
    equals Response(x), draw by draw."""
    rs = svi_fit.responses()
    assert [r.name for r in rs] == svi_fit.channel_names
    assert all(isinstance(r, Response) and r.n_draws == svi_fit.n_draws for r in rs)
    cur = svi_fit.current_spend()
    T = svi_fit.data.n_periods
    plan = np.tile([1.3 * cur[n] for n in svi_fit.channel_names], (T, 1))
    media = plan / svi_fit.data.cost_per_unit
    contrib = svi_fit.contribution_draws(media)[:, -1, :]  # (S, C), last period
    for c, r in enumerate(rs):
        assert r.reference_spend == pytest.approx(cur[r.name])
        assert r.carryover is not None and r.carryover.shape == (svi_fit.n_draws,)
        np.testing.assert_allclose(r(1.3 * cur[r.name]), contrib[:, c], rtol=2e-4)


def test_what_if(svi_fit):
    same = what_if(svi_fit, {"tv": 1.0})
    assert same.delta_kpi["mean"] == pytest.approx(0.0, abs=1e-9)
    assert same.extra_spend == 0 and same.delta_value_per_spend["mean"] is None
    more = svi_fit.what_if({"tv": 1.2}, periods=8)
    assert more.extra_spend == pytest.approx(0.2 * svi_fit.data.spend[88:96, 0].sum())
    assert more.delta_kpi["mean"] > 0
    assert more.plan_kpi["lower"] <= more.plan_kpi["mean"] <= more.plan_kpi["upper"]
    with pytest.raises(SpecError, match="unknown channel"):
        what_if(svi_fit, {"radio": 1.1})


def test_curves_tables(svi_fit):
    rc = response_curves(svi_fit, n_points=11)
    assert set(rc["channel"]) == set(svi_fit.channel_names)
    first = rc[rc["spend"] == 0]
    assert np.allclose(first["mean"], 0.0)
    for _, g in rc.groupby("channel"):
        assert np.all(np.diff(g["mean"].to_numpy()) >= -1e-9)
    ad = adstock_curves(svi_fit)
    sums = ad.groupby("channel")["mean"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=1e-5)


def test_summary_json_keys(svi_fit):
    js = svi_fit.to_json()
    for name in svi_fit.channel_names:
        for key in ("roas", "mroas", "contribution"):
            assert set(js["channels"][name][key]) == {"mean", "lower", "upper"}
    assert {"max_rhat", "min_ess_bulk", "divergences"} <= set(js["diagnostics"])
    assert js["method"] == "svi" and js["fit_seconds"] > 0
