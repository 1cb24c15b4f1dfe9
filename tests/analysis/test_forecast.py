"""The forecast of the weeks ahead and the forward plan, on one tiny MAP fit.

The forecast runs the model's own maths over the history and the plan together; the
optimizer's carry-in runs the model's lag kernel through `lag_map`: the two must give the
same media contributions week by week, for no spend (the carry-in alone) and for a plan."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

from mediamix.errors import DataError, SpecError

H = 6


@functools.lru_cache(maxsize=1)
def tiny_fitted():
    """A MAP fit on 60 simulated weeks (2 channels, exponential curves, one control) and the
    frame of 70 weeks it came from (the last 10 are the future). The MAP point is repeated as
    20 draws, so the predictive band is the likelihood's noise around it."""
    from mediamix.data.simulate import simulate, simulated_dataset
    from mediamix.estimator import MMM
    from mediamix.model.spec import ModelSpec

    frame, truth = simulate(n_periods=70, n_channels=2, saturation="exponential", seed=2,
                            n_controls=1)  # fmt: skip
    ds = simulated_dataset(frame.iloc[:60].reset_index(drop=True), truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = MMM(ModelSpec(saturation="exponential")).fit(ds, "map", steps=200, seed=0,
                                                              warn=False)  # fmt: skip
    fitted = fitted.with_params({k: np.repeat(np.asarray(v), 20, axis=0)
                                 for k, v in fitted.params.items()})  # fmt: skip
    return fitted, frame


@pytest.fixture(scope="module")
def fit():
    return tiny_fitted()


def _future(frame) -> pd.DataFrame:
    return frame.iloc[60 : 60 + H][["date", "price_index"]].reset_index(drop=True)


def test_carry_in_and_plan_match_the_optimizer(fit):
    from mediamix.analysis.forecast import forecast
    from mediamix.optimize.horizon import horizon_problem
    from mediamix.optimize.solver import make_evaluator

    fitted, frame = fit
    ev = make_evaluator(horizon_problem(fitted, H, draws=None))
    zero = np.zeros((H, 2))
    fc0 = forecast(fitted, H, future=_future(frame))
    assert fc0.carry_in.shape == (H, 2) and np.allclose(fc0.media, fc0.carry_in)
    opt0 = ev.curve_values(ev.effective(zero)).mean(axis=0)[:H]
    np.testing.assert_allclose(fc0.carry_in, opt0, rtol=2e-3, atol=1e-3 * opt0.max())
    assert np.all(fc0.carry_in[0] > 0)  # the last weeks of history keep working
    assert np.all(fc0.carry_in[-1] < fc0.carry_in[0])  # and fade
    plan = np.random.default_rng(0).uniform(0.5, 1.5, (H, 2)) * np.array(
        list(fitted.current_spend().values())
    )
    fc = forecast(fitted, H, spend=plan, future=_future(frame))
    opt = ev.curve_values(ev.effective(plan)).mean(axis=0)[:H]
    np.testing.assert_allclose(fc.media, opt, rtol=2e-3, atol=1e-3 * opt.max())
    assert np.all(fc.kpi > fc0.kpi)  # the plan's media on top of the same baseline
    np.testing.assert_allclose(fc.baseline, fc0.baseline, rtol=1e-6)
    assert np.all(fc.lower < fc.kpi) and np.all(fc.kpi < fc.upper)
    assert np.all(fc.upper - fc.lower >= fc.kpi_upper - fc.kpi_lower)  # noise included
    assert fc.to_dict()["dates"][0] == str(frame["date"].iloc[60])[:10]


def test_future_controls_move_the_forecast(fit):
    from mediamix.analysis.forecast import forecast

    fitted, frame = fit
    fut = _future(frame)
    k = [forecast(fitted, H, future=fut.assign(price_index=fut["price_index"] + d)).kpi
         for d in (0.0, 0.1, 0.2)]  # fmt: skip
    assert not np.allclose(k[0], k[1])
    np.testing.assert_allclose(k[2] - k[1], k[1] - k[0], rtol=1e-3, atol=1e-6)  # linear


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda f: f.drop(columns=["price_index"]), "control 'price_index'"),
        (lambda f: f.iloc[1:], "no row for date(s) ['"),
        (
            lambda f: f.assign(price_index=["x"] + list(f["price_index"].iloc[1:])),
            "column 'price_index', date ",
        ),
        (lambda f: f.assign(weather=1.0), "['weather'] are not controls"),
        (lambda f: f.rename(columns={"date": "week"}), "needs a 'date' column"),
    ],
)
def test_future_table_errors_name_the_cell(fit, edit, words):
    from mediamix.analysis.forecast import read_future

    fitted, frame = fit
    with pytest.raises(DataError) as err:
        read_future(edit(_future(frame)), fitted, H)
    assert words in str(err.value)


def test_dark_dates_outside_the_horizon_are_named(fit):
    from mediamix.analysis.forecast import dark_periods

    fitted, frame = fit
    day = str(frame["date"].iloc[62])[:10]
    assert dark_periods(fitted, H, {"tv": [day]}) == {"tv": [2]}
    with pytest.raises(SpecError, match="outside the planned periods"):
        dark_periods(fitted, H, {"tv": ["2030-01-01"]})
    with pytest.raises(SpecError, match="unknown channel 'radio'"):
        dark_periods(fitted, H, {"radio": [day]})


def test_forward_plan_is_certified_and_beats_the_constant_split(fit):
    from mediamix.analysis.forecast import forward_plan

    fitted, frame = fit
    day = str(frame["date"].iloc[61])[:10]
    fp = forward_plan(fitted, H, future=_future(frame), max_change=0.5, discount=0.01,
                      dark={"tv": [day]})  # fmt: skip
    hp = fp.horizon
    assert hp.plan.status == "optimal" and hp.gap <= 1e-4
    assert hp.spend[1, 0] == 0.0
    assert hp.constant["margin"] >= -1e-9 * abs(hp.objective_value)
    d = fp.to_dict()
    assert len(d["dates"]) == H and len(d["forecast"]["kpi"]) == H
    assert set(d["marginal"]) == {"tv", "search"} and len(d["marginal"]["tv"]) == H
    assert "best constant weekly split under the same rules" in fp.table()
