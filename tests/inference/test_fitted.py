import json

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.estimator import FittedModel
from mediamix.inference import diagnostics as dg


def test_save_load_reproduces_predictions_bit_for_bit(svi_fit, tmp_path):
    path = svi_fit.save(tmp_path / "run")
    again = FittedModel.load(path)
    a, b = svi_fit.components(), again.components()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert np.array_equal(svi_fit.expected_kpi(), again.expected_kpi())
    assert np.array_equal(svi_fit.roas_draws(), again.roas_draws())
    pd_a, pd_b = svi_fit.summary(), again.summary()
    assert pd_a.equals(pd_b)
    assert again.spec == svi_fit.spec and again.n_train == svi_fit.n_train
    assert again.diagnostics == svi_fit.diagnostics
    with pytest.raises(SpecError, match="not a saved model folder"):
        FittedModel.load(tmp_path)


def test_diagnostics_of_svi_fit(svi_fit):
    d = svi_fit.diagnostics
    assert d.method == "svi" and d.holdout_periods == 8
    assert 0.0 <= d.ppc_coverage <= 1.0
    assert d.holdout_mape is not None and d.holdout_mape < 30
    assert d.in_sample_r2 > 0.5
    assert any("SVI" in w and "too narrow" in w for w in d.warnings)
    assert d.max_rhat is None and d.divergences is None
    js = svi_fit.to_json()
    json.dumps(js, allow_nan=False)
    assert js["intervals_note"] and "narrow" in js["intervals_note"]


def test_metric_closed_forms():
    y = np.array([1.0, 2.0, 4.0])
    assert dg.mape(y, y * 1.1) == pytest.approx(10.0)
    assert dg.r2(y, y) == 1.0
    assert dg.r2(y, np.full(3, y.mean())) == pytest.approx(0.0)
    draws = np.tile(np.linspace(0, 10, 101)[:, None], (1, 3))
    assert dg.coverage(np.array([5.0, 0.1, 9.9]), draws, 0.9) == pytest.approx(1 / 3)


def test_advice_names_the_fix():
    msgs = dg.advice({"max_rhat": 1.2, "min_ess_bulk": 12.0, "divergences": 3, "min_bfmi": 0.1},
                     "nuts", 4000)  # fmt: skip
    text = " ".join(msgs)
    assert "R-hat is 1.200" in text and "warmup" in text
    assert "ESS is 12" in text and "divergent" in text and "target_accept" in text
    assert "BFMI" in text
    assert (
        dg.advice({"max_rhat": 1.001, "min_ess_bulk": 2000.0, "divergences": 0}, "nuts", 4000) == []
    )


def test_divergence_advice_knows_the_target_accept_the_fit_used():
    base = {"max_rhat": 1.001, "min_ess_bulk": 2000.0, "divergences": 5}
    (first,) = dg.advice(base, "nuts", 4000)
    assert "to 0.95 (--target-accept 0.95)" in first
    (used,) = dg.advice({**base, "target_accept": 0.85}, "nuts", 4000)
    assert "this fit used 0.85" in used and "0.95" in used
    (higher,) = dg.advice({**base, "target_accept": 0.95}, "nuts", 4000)
    assert "already used target_accept 0.95" in higher and "0.99" in higher
    (top,) = dg.advice({**base, "target_accept": 0.99}, "nuts", 4000)
    assert "will not help" in top and "michaelis_menten" in top and "raise" not in top.lower()
