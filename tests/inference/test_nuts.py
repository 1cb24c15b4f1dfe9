"""NUTS on simulated data: recovery of the true ROAS, and a warning on a bad run."""

import numpy as np
import pytest

from mediamix.estimator import MMM
from mediamix.inference.diagnostics import ConvergenceWarning
from mediamix.model import ModelSpec

SEED = 0  # one small seed; the 20-seed coverage run is a benchmark in bench/


@pytest.mark.slow
def test_nuts_recovers_true_roas_inside_90_interval():
    from mediamix.data.simulate import simulate, simulated_dataset

    frame, truth = simulate(n_periods=104, n_channels=3, seed=SEED)
    ds = simulated_dataset(frame, truth)
    fitted = MMM(ModelSpec()).fit(ds, method="nuts", chains=4, draws=300, warmup=300, seed=0)
    s = fitted.summary(0.9)
    true = np.array([truth["channels"][n]["roas"] for n in s.index])
    assert np.all((s["roas_lower"] <= true) & (true <= s["roas_upper"])), (s, true)
    d = fitted.diagnostics
    assert d.max_rhat < 1.05 and d.min_ess_bulk > 100
    assert fitted.idata.posterior.sizes["chain"] == 4


def test_short_run_warns_with_advice(sim_data):
    ds, _ = sim_data
    spec = ModelSpec(saturation="logistic", seasonality_order=0)
    with pytest.warns(ConvergenceWarning, match=r"(R-hat|ESS) is .*(warmup|draws)"):
        fitted = MMM(spec).fit(ds, method="nuts", chains=2, draws=15, warmup=5, seed=0)
    assert not fitted.diagnostics.converged
    # the settings the advice reads travel with the fit
    assert fitted.info["target_accept"] == 0.85 and fitted.info["max_tree_depth"] == 10
    assert fitted.info["dense_mass"] is False
