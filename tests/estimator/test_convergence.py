"""SVI / MAP with too few steps are marked not converged in the fit diagnostics (the loss
check), saved diagnostics of older models still load, and a KPI in other units scales ROAS."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mediamix.inference import diagnostics as dg
from mediamix.inference.svi import loss_rel_change


def test_loss_rel_change_reads_the_end_of_the_trace():
    steps = np.arange(1000)
    falling = 1000.0 * np.exp(-steps / 400) + 10  # still falling at the end
    flat = 1000.0 * np.exp(-steps / 40) + 10  # levelled off long before
    assert loss_rel_change(falling) > dg.LOSS_RTOL
    assert abs(loss_rel_change(flat)) < 1e-6
    assert np.isnan(loss_rel_change(np.r_[flat[:500], np.nan, flat[501:]]))
    assert np.isnan(loss_rel_change(flat[:10]))  # too short to tell


@pytest.mark.parametrize(
    ("method", "info", "converged"),
    [
        ("svi", {"loss_rel_change": 0.2, "final_loss": -16.0}, False),
        ("svi", {"loss_rel_change": -0.7, "final_loss": -16.0}, False),  # noisy short run
        ("svi", {"loss_rel_change": 0.004, "final_loss": -100.0}, True),
        ("svi", {"loss_rel_change": float("nan"), "final_loss": -1.0}, False),
        ("map", {"loss_converged": False, "steps": 50, "steps_run": 100}, False),
        ("map", {"loss_converged": True, "steps": 800, "steps_run": 400}, True),
        ("map", {"steps": 800, "steps_run": 400}, True),  # saved before the flag
        ("map", {"steps": 200, "steps_run": 200}, False),
    ],
)
def test_loss_convergence_of_svi_and_map(method, info, converged):
    got = dg.loss_convergence(method, info)
    assert got["loss_converged"] is converged
    diag = dg.FitDiagnostics(method=method, **got)
    assert diag.converged is converged
    msgs = dg.advice({**got, "steps": info.get("steps", 50)}, method, 100)
    loss_msgs = [m for m in msgs if m.startswith("loss:")]
    assert bool(loss_msgs) is (not converged)
    if loss_msgs:
        assert f"the {method.upper()} fit has not converged" in loss_msgs[0]
        assert "--steps" in loss_msgs[0]


def test_nuts_has_no_loss_check_and_old_diagnostics_still_load():
    assert dg.loss_convergence("nuts", {"losses": [1, 2]}) == {}
    old = {"method": "svi", "max_rhat": None, "warnings": [], "converged": True}
    d = dg.FitDiagnostics.from_dict({**old, "from_a_newer_version": 1})
    assert d.loss_converged is None and d.converged is True
    again = dg.FitDiagnostics.from_dict(d.to_dict())
    assert again == d


@pytest.fixture(scope="module")
def small():
    from mediamix.data.simulate import simulate, simulated_dataset

    frame, truth = simulate(n_periods=52, n_channels=2, seed=3, n_controls=0)
    return frame, truth, simulated_dataset(frame, truth)


@pytest.mark.slow
def test_svi_with_50_steps_is_not_converged(small):
    from mediamix.estimator import MMM
    from mediamix.inference.diagnostics import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = MMM().fit(small[2], method="svi", steps=50, draws=20, seed=1)
    assert fitted.diagnostics.loss_converged is False
    assert fitted.diagnostics.converged is False
    assert fitted.to_json()["diagnostics"]["converged"] is False
    assert any(str(w.message).startswith("loss: the SVI fit has not converged") for w in caught)


@pytest.mark.slow
def test_a_kpi_in_other_units_scales_roas_exactly(small):
    from mediamix.data.simulate import simulated_dataset
    from mediamix.estimator import MMM

    frame, truth, ds = small
    big = frame.copy()
    big["sales"] = big["sales"] * 1e4
    a = MMM().fit(ds, method="map", steps=100, seed=0, warn=False)
    b = MMM().fit(simulated_dataset(big, truth), method="map", steps=100, seed=0, warn=False)
    np.testing.assert_allclose(b.roas_draws(), 1e4 * a.roas_draws(), rtol=1e-3)
