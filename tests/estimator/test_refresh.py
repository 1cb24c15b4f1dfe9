"""Refresh: the prior from the posterior (closed forms of the moment matching, and a refit of
the same rows with widen 1 that stays on the old posterior), the old scalers, the checks of the
new data (columns, dates, values) with errors naming the fix.

One refresh (SVI) of the session's SVI fit on its own rows is shared by the module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mediamix.errors import DataError, SpecError
from mediamix.estimator import MMM, FittedModel
from mediamix.estimator.refresh import (
    DEFAULT_WIDEN,
    check_overlap,
    check_widen,
    match_prior,
    posterior_priors,
    refresh,
)
from mediamix.model.data import ModelData
from mediamix.model.priors import Prior


# -- moment matching: closed forms ------------------------------------------------------------
@pytest.fixture(scope="module")
def draws():
    return np.random.default_rng(0).normal(2.0, 0.5, 20_000)


def test_normal_is_matched_to_mean_and_widened_sd(draws):
    p, how = match_prior(Prior("normal", {"loc": 0, "scale": 1}), draws, 1.5)
    assert p.dist == "normal" and how == "moment-matched"
    assert p.params["loc"] == pytest.approx(draws.mean())
    assert p.params["scale"] == pytest.approx(1.5 * draws.std())


def test_positive_families_keep_mean_and_variance_or_log_moments(draws):
    x = np.exp(draws / 4)  # log-normal draws: log x ~ N(0.5, 0.125)
    g, _ = match_prior(Prior("gamma", {"concentration": 2, "rate": 2}), x, 2.0)
    mean = g.params["concentration"] / g.params["rate"]
    var = g.params["concentration"] / g.params["rate"] ** 2
    assert mean == pytest.approx(x.mean()) and var == pytest.approx((2.0 * x.std()) ** 2)
    ln, how = match_prior(Prior("half_normal", {"scale": 0.3}), x, 1.0)
    assert ln.dist == "lognormal" and "lognormal for half_normal" in how
    assert ln.params["loc"] == pytest.approx(np.log(x).mean())
    assert ln.params["scale"] == pytest.approx(np.log(x).std())


def test_beta_keeps_mean_and_variance_and_uniform_is_kept():
    x = np.random.default_rng(1).beta(6.0, 4.0, 20_000)
    b, _ = match_prior(Prior("beta", {"concentration1": 2, "concentration0": 2}), x, 1.0)
    a, c = b.params["concentration1"], b.params["concentration0"]
    assert a / (a + c) == pytest.approx(x.mean())
    assert a * c / ((a + c) ** 2 * (a + c + 1)) == pytest.approx(x.var())
    u = Prior("uniform", {"low": 0, "high": 1})
    assert match_prior(u, x, 1.5) == (u, "kept")


def test_gamma_concentration_is_at_least_one():
    x = np.random.default_rng(2).exponential(1.0, 5000)  # sd = mean: widened, conc < 1
    g, _ = match_prior(Prior("gamma", {"concentration": 2, "rate": 2}), x, 1.5)
    assert g.params["concentration"] == 1.0
    assert g.params["concentration"] / g.params["rate"] == pytest.approx(x.mean())


@pytest.mark.parametrize("bad", [0.5, 0, -1, math.nan, math.inf, 1000, "2", True])
def test_widen_out_of_range_is_refused(bad):
    with pytest.raises(SpecError, match="widen must be a number between 1 and 100"):
        check_widen(bad)


# -- the new data: the old rows unchanged, then new periods -----------------------------------
def _data(T=30, shift=0, channels=("tv", "search"), controls=("price",), seed=0):
    rng = np.random.default_rng(seed)
    C, K = len(channels), len(controls)
    dates = np.datetime64("2024-01-01") + (np.arange(T) + shift) * np.timedelta64(7, "D")
    return ModelData.from_arrays(
        kpi=100 + rng.normal(0, 1, T), spend=rng.uniform(1, 2, (T, C)),
        controls=rng.normal(0, 1, (T, K)), dates=dates, channel_names=list(channels),
        control_names=list(controls),
    )  # fmt: skip


def _extend(old: ModelData, extra: int) -> ModelData:
    more = _data(old.n_periods + extra, seed=9)
    cat = lambda a, b: np.concatenate([a, b[old.n_periods :]])  # noqa: E731
    return ModelData.from_arrays(
        cat(old.kpi, more.kpi), cat(old.spend, more.spend), controls=cat(old.controls,
        more.controls), dates=more.dates, channel_names=old.channel_names,
        control_names=old.control_names,
    )  # fmt: skip


def test_overlap_counts_the_new_periods():
    old = _data()
    assert check_overlap(old, _extend(old, 8)) == 8
    assert check_overlap(old, old) == 0


def test_a_changed_old_value_names_column_date_and_fix():
    old = _data()
    new = _extend(old, 4)
    spend = new.spend.copy()
    spend[12, 1] *= 1.1
    new = ModelData.from_arrays(new.kpi, spend, controls=new.controls, dates=new.dates,
                                channel_names=new.channel_names,
                                control_names=new.control_names)  # fmt: skip
    with pytest.raises(DataError) as e:
        check_overlap(old, new)
    msg = str(e.value)
    assert "spend 'search'" in msg and "2024-03-25" in msg  # period 12 = 2024-01-01 + 84 days
    assert "restore the old values" in msg and "fit a new run" in msg


def test_missing_or_extra_columns_are_named():
    old = _data()
    with pytest.raises(DataError, match=r"channels differ.*missing 'search'; not in the old run "
                       r"'social'.*fit a new run instead"):  # fmt: skip
        check_overlap(old, _data(34, channels=("tv", "social")))
    with pytest.raises(DataError, match="controls differ.*missing 'price'"):
        check_overlap(old, _data(34, controls=()))


def test_new_data_that_drop_or_shift_old_rows_are_refused():
    old = _data()
    with pytest.raises(DataError, match=r"do not start with the old run's 30 periods.*2024-01-01 "
                       r"of the old run is missing.*adds periods at the end"):  # fmt: skip
        check_overlap(old, _data(34, shift=1))


# -- scalers ----------------------------------------------------------------------------------
def test_prepare_uses_given_scalers(svi_fit, sim_data):
    ds, _ = sim_data
    _, scalers, *_ = MMM(svi_fit.spec).prepare(ds, holdout=0, scalers=svi_fit.scalers)
    assert scalers is svi_fit.scalers
    _, own, *_ = MMM(svi_fit.spec).prepare(ds, holdout=0)
    assert own.kpi_scale != svi_fit.scalers.kpi_scale  # fitted on 104 periods, not 96
    with pytest.raises(SpecError, match="scalers: they were fitted on 3 channel"):
        MMM().prepare(_data(), scalers=svi_fit.scalers)


# -- a refit of the old rows with widen 1: the old posterior as the prior ---------------------
@pytest.fixture(scope="module")
def same_rows(svi_fit, sim_data):
    ds, _ = sim_data
    return refresh(svi_fit, ds, "svi", widen=1.0, holdout=8, seed=1, steps=400, draws=200,
                   warn=False)  # fmt: skip


def test_priors_are_the_old_posterior_moments(svi_fit, same_rows):
    new, _ = same_rows
    priors, rows = posterior_priors(svi_fit, 1.0)
    assert dict(new.spec.priors) == priors
    eff = svi_fit.draws("effect")
    for i, c in enumerate(svi_fit.channel_names):
        p = new.spec.priors[f"effect.{c}"]
        assert p.dist == "lognormal"
        assert p.params["loc"] == pytest.approx(np.log(eff[:, i]).mean(), rel=1e-6)
        assert p.params["scale"] == pytest.approx(np.log(eff[:, i]).std(), rel=1e-6)
    lvl = new.spec.priors["intercept"]
    assert lvl.params["loc"] == pytest.approx(svi_fit.draws("level").mean(), rel=1e-6)
    assert "media_share" not in new.spec.priors
    keys = {r.key for r in rows}
    assert {"sigma", "trend", "season"} <= keys and any(k.startswith("hill_k.") for k in keys)


def test_same_rows_stay_on_the_old_posterior_and_sharpen(svi_fit, same_rows):
    new, table = same_rows
    old_e, new_e = svi_fit.draws("effect"), new.draws("effect")
    shift = np.abs(new_e.mean(0) - old_e.mean(0)) / old_e.std(0)
    assert shift.max() < 0.5, shift
    # the old rows counted twice (prior and likelihood): narrower than the old posterior
    assert np.median(new_e.std(0) / old_e.std(0)) < 0.9
    assert table.new_periods == 0 and table.widen == 1.0
    assert table.max_move_rel < 0.5 and table.stable
    for r in table.rows:  # no new periods: the anchor is the refresh, nothing is theirs
        assert r.anchor == r.new and r.new_weeks_part == 0.0
        assert r.new_weeks_share in (0.0, None)


def test_refreshed_fit_keeps_the_old_scalers(svi_fit, same_rows):
    new, _ = same_rows
    assert new.scalers is svi_fit.scalers


def test_a_fit_without_spread_is_refused(svi_fit):
    one = FittedModel(svi_fit.spec, svi_fit.data, svi_fit.scalers, svi_fit.n_train, "map", 0.0,
                      svi_fit.idata.isel(draw=slice(0, 1)))  # fmt: skip
    with pytest.raises(SpecError, match="fitted with map \\(1 draw\\).*method nuts"):
        posterior_priors(one, DEFAULT_WIDEN)
