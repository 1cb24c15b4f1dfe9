"""Models of one structure fitted in one compiled batch give the answers of one-by-one fits."""

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.estimator import MMM
from mediamix.estimator.batch import fit_batch
from mediamix.inference.batched import run_batch
from mediamix.model.numpyro_model import model
from mediamix.model.reuse import prior_arrays, structure_key
from mediamix.model.spec import ModelSpec


def _dataset(n, seed):
    from mediamix.data.simulate import simulate, simulated_dataset

    return simulated_dataset(*simulate(n_periods=n, n_channels=3, seed=seed, n_controls=1))


@pytest.fixture(scope="module")
def datasets():
    # three models of one structure (60 weeks) and one of another (66 weeks)
    return [_dataset(60, 0), _dataset(60, 1), _dataset(66, 2), _dataset(60, 3)]


@pytest.fixture(scope="module")
def map_fits(datasets):
    batch = fit_batch(None, datasets, "map", steps=400, seed=2)
    # one model of each structure fitted alone
    alone = {i: MMM().fit(datasets[i], "map", steps=400, seed=2, warn=False) for i in (1, 2)}
    return batch, alone


def test_batched_map_equals_one_by_one(map_fits):
    batch, alone = map_fits
    for i, a in alone.items():
        b = batch[i]
        assert b.info["steps_run"] == a.info["steps_run"]
        np.testing.assert_allclose(b.roas_draws(), a.roas_draws(), rtol=2e-3, atol=1e-5)
        np.testing.assert_allclose(b.info["final_loss"], a.info["final_loss"], rtol=1e-4)


def test_each_fitted_model_carries_its_own_data_and_priors(datasets, map_fits):
    batch, _ = map_fits
    assert [f.info["batch_size"] for f in batch] == [3, 3, 1, 3]
    assert [f.info["batch_index"] for f in batch] == [0, 1, 0, 2]
    for f, ds in zip(batch, datasets, strict=True):
        np.testing.assert_array_equal(f.data.kpi, np.asarray(ds.kpi, dtype=float))
        np.testing.assert_array_equal(f.data.spend, np.asarray(ds.spend, dtype=float))
        _, scalers, structure, _, _ = MMM().prepare(ds)
        assert f.scalers.kpi_scale == scalers.kpi_scale
        # the media prior is scaled to the model's own data (spend shares, KPI mean)
        own = prior_arrays(structure.priors)["effect"]
        got = prior_arrays(f.structure.priors)["effect"]
        np.testing.assert_array_equal(got["concentration"], own["concentration"])
        assert got["kpi_mean"] == own["kpi_mean"]
    first, second = (prior_arrays(f.structure.priors)["effect"] for f in batch[:2])
    assert first["kpi_mean"] != second["kpi_mean"] or not np.array_equal(
        first["concentration"], second["concentration"]
    )


@pytest.fixture(scope="module")
def svi_fits(datasets):
    two = datasets[:2]
    batch = fit_batch(ModelSpec(), two, "svi", steps=300, draws=200, seed=5)
    alone = MMM().fit(two[1], "svi", steps=300, draws=200, seed=5, warn=False)
    return batch, alone


def test_batched_svi_equals_one_by_one(svi_fits):
    batch, a = svi_fits
    b = batch[1]
    rb, ra = b.roas_draws(), a.roas_draws()
    assert np.max(np.abs(rb.mean(0) - ra.mean(0)) / ra.std(0)) < 0.02
    np.testing.assert_allclose(b.info["final_loss"], a.info["final_loss"], rtol=1e-3)
    assert b.diagnostics.method == "svi" and b.diagnostics.loss_rel_change is not None
    assert not np.allclose(batch[0].roas_draws().mean(0), rb.mean(0), rtol=0.05)


NUTS_OPTS = {"chains": 2, "draws": 200, "warmup": 200}


@pytest.fixture(scope="module")
def nuts_alone(datasets):
    return MMM().fit(datasets[1], "nuts", seed=1, warn=False, **NUTS_OPTS)


def test_batched_nuts_one_after_another_draws_what_a_fit_alone_draws(datasets, nuts_alone):
    # on a CPU the lanes of a device run one after another: each chain the same steps
    batch = fit_batch(None, datasets[:2], "nuts", seed=1, **NUTS_OPTS)
    for f in batch:
        assert f.method == "nuts" and f.idata.posterior.sizes["chain"] == 2
        assert f.diagnostics.max_rhat is not None and f.diagnostics.max_rhat < 1.1
        assert f.diagnostics.min_ess_bulk > 50
    np.testing.assert_allclose(batch[1].roas_draws(), nuts_alone.roas_draws(), rtol=1e-4)
    assert not np.allclose(batch[0].roas_draws().mean(0), batch[1].roas_draws().mean(0),
                           rtol=0.05)  # fmt: skip


def test_batched_nuts_in_lockstep_agrees_within_monte_carlo_error(datasets, nuts_alone):
    # vmapped lanes (an accelerator's default) take other rounding: equal in distribution
    batch = fit_batch(None, datasets[:2], "nuts", seed=1, lockstep=True, **NUTS_OPTS)
    rb, ra = batch[1].roas_draws(), nuts_alone.roas_draws()
    ess = min(batch[1].diagnostics.min_ess_bulk, nuts_alone.diagnostics.min_ess_bulk)
    # each mean's Monte Carlo error is about sd / sqrt(ESS); the difference of two, sqrt(2) x
    se = np.sqrt(2.0) * ra.std(0) / np.sqrt(ess)
    assert np.all(np.abs(rb.mean(0) - ra.mean(0)) < 4 * se)


def test_errors_name_the_problem(datasets):
    with pytest.raises(SpecError, match="empty list of datasets"):
        fit_batch(None, [])
    with pytest.raises(SpecError, match=r"specs\[1\] differs from specs\[0\]"):
        fit_batch([ModelSpec(), ModelSpec(trend="none")], datasets[:2], "map")
    with pytest.raises(SpecError, match="got 1 specs for 2 datasets"):
        fit_batch([ModelSpec()], datasets[:2], "map")
    with pytest.raises(SpecError, match=r"option\(s\) steps do not apply to method 'nuts'"):
        fit_batch(None, datasets[:1], "nuts", steps=10)
    long_lags = ModelSpec(adstock_max_lag=62, adstock_warmup="none")
    with pytest.raises(SpecError, match=r"^datasets\[1\]: adstock_max_lag: 62 lags .* 60 periods"):
        fit_batch(long_lags, [datasets[2], datasets[0]], "map")
    prepared = [MMM().prepare(ds) for ds in datasets[1:3]]
    assert structure_key(prepared[0][2], prepared[0][3]) != structure_key(
        prepared[1][2], prepared[1][3]
    )
    from mediamix.inference import MAP

    with pytest.raises(SpecError, match="model 1 of the batch does not share"):
        run_batch(MAP(steps=100), model, [p[3] for p in prepared], [p[2] for p in prepared])
