"""Time-varying media effects: the spec, the walk prior, static fits unchanged, a MAP
recovery of a clear decay, the summary block, the curves and the report section."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mediamix.analysis.time_varying import (
    effect_paths,
    end_start_ratio_draws,
    multiplier_draws,
)
from mediamix.data.simulate import channel_contributions, simulate, simulated_dataset
from mediamix.errors import SpecError
from mediamix.estimator.mmm import MMM
from mediamix.model import ModelSpec
from mediamix.model import time_varying as tv
from mediamix.model.data import ModelData, ModelScalers
from mediamix.model.design import build_design
from mediamix.model.maths import components, media_inputs
from mediamix.model.structure import build_structure

CHANNELS = ["tv", "search", "social"]


# -- the spec -------------------------------------------------------------------------------
def test_unknown_channel_names_the_key_and_suggests_the_closest():
    spec = ModelSpec(time_varying=("tv", "serach"))
    with pytest.raises(SpecError) as e:
        spec.validate_for(CHANNELS, [])
    msg = str(e.value)
    assert msg.startswith("time_varying[1] names channel 'serach'")
    assert "Did you mean 'search'?" in msg and "tv, search, social" in msg


@pytest.mark.parametrize(
    ("settings", "start"),
    [
        ({"time_varying": 3}, "model.time_varying: expected a list of channel names"),
        ({"time_varying": ["tv", 7]}, "model.time_varying[1]: expected a channel name"),
        ({"time_varying": ["tv", "tv"]}, "model.time_varying[1]: 'tv' is listed twice"),
        ({"time_varying": ["tv"], "time_varying_drift": 0}, "model.time_varying_drift: expected"),
        ({"time_varying": ["tv"], "time_varying_drift": "fast"}, "model.time_varying_drift:"),
        (
            {"time_varying": ["tv"], "time_varying_drift": {"tvv": 0.2}},
            "model.time_varying_drift.tvv: 'tvv' is not in time_varying (tv)",
        ),
    ],
)
def test_bad_settings_are_spec_errors_with_the_key_path(settings, start):
    with pytest.raises(SpecError) as e:
        ModelSpec.from_dict(settings)
    assert str(e.value).startswith(start), str(e.value)


def test_all_and_baseline_resolve_and_round_trip_through_yaml():
    spec = ModelSpec.from_dict(
        {"time_varying": ["all", "baseline"], "time_varying_drift": {"tv": 0.2, "baseline": 0.1}}
    )
    assert spec.time_varying_channels(CHANNELS) == tuple(CHANNELS)
    assert spec.baseline_time_varying
    assert (spec.drift("tv"), spec.drift("search"), spec.drift("baseline")) == (0.2, 0.3, 0.1)
    assert ModelSpec.from_yaml(spec.to_yaml()) == spec
    # a comma-separated string (the CLI's form) is a list
    assert ModelSpec(time_varying="tv, search").time_varying == ("tv", "search")


# -- the walk prior ---------------------------------------------------------------------------
def test_walk_basis_has_random_walk_increments_of_drift_squared_per_year():
    days = np.arange(156) * 7.0
    window = slice(7, 156)
    basis = tv.walk_basis(days, window)
    assert np.allclose(basis[window].mean(0), 0.0, atol=1e-12)  # centred on the window
    # Var(log m_t - log m_s) = sum_k (phi_k(t) - phi_k(s))^2 ~ |t - s| in years (10 terms)
    year = 52
    for s in (10, 50, 90):
        var = float(((basis[s + year] - basis[s]) ** 2).sum())
        assert var == pytest.approx(year * 7 / 365.25, rel=0.15)


def _model_parts(spec, frame_truth):
    frame, truth = frame_truth
    data = ModelData.from_dataset(simulated_dataset(frame, truth))
    scalers = ModelScalers.fit(data, spec, data.n_periods)
    structure = build_structure(spec, data, scalers)
    return structure, build_design(data, scalers, structure, data.n_periods)


@pytest.fixture(scope="module")
def small_sim():
    return simulate(n_periods=104, n_channels=3, seed=5, n_controls=1)


def test_the_multiplier_is_exactly_one_without_time_varying_effects(small_sim):
    static_s, static_d = _model_parts(ModelSpec(), small_sim)
    assert static_s.tv_idx == () and static_s.n_tv_terms == 0 and "tv_basis" not in static_d
    assert tv.multiplier({}, static_d, static_s) is None
    tv_s, tv_d = _model_parts(ModelSpec(time_varying=("tv", "baseline")), small_sim)
    rng = np.random.default_rng(0)
    params = {
        "intercept": jnp.float32(1.0), "trend": jnp.float32(0.1),
        "season": jnp.asarray(rng.normal(size=4), jnp.float32),
        "control": jnp.asarray([0.1], jnp.float32),
        "geometric_lam": jnp.asarray([0.5, 0.3, 0.6], jnp.float32),
        "hill_k": jnp.asarray([1.0, 0.8, 1.2], jnp.float32),
        "hill_s": jnp.asarray([1.5, 2.0, 1.2], jnp.float32),
        "beta": jnp.asarray([0.1, 0.2, 0.05], jnp.float32),
    }  # fmt: skip
    zero = {**params, tv.CHANNEL_SITE: jnp.zeros((1, tv.N_TERMS)),
            tv.BASELINE_SITE: jnp.zeros(tv.N_TERMS)}  # fmt: skip
    m = np.asarray(tv.multiplier(zero, tv_d, tv_s))
    assert m.shape == (104, 3) and np.all(m == 1.0)
    a, b = components(params, static_d, static_s), components(zero, tv_d, tv_s)
    for k in ("baseline", "media", "mu"):
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))
    # weights move only the listed channel, by exp(drift * basis @ w)
    w = {**zero, tv.CHANNEL_SITE: jnp.ones((1, tv.N_TERMS))}
    unit0, unit1 = (
        np.asarray(media_inputs(zero, tv_d, tv_s)),
        np.asarray(media_inputs(w, tv_d, tv_s)),
    )
    np.testing.assert_array_equal(unit0[:, 1:], unit1[:, 1:])
    expect = np.exp(0.3 * np.asarray(tv_d["tv_basis"]).sum(1))
    np.testing.assert_allclose(unit1[:, 0], unit0[:, 0] * expect, rtol=1e-5)


def test_simulated_multiplier_is_in_the_truth_and_the_default_is_unchanged():
    base_f, base_t = simulate(n_periods=60, n_channels=2, seed=2)
    f, t = simulate(n_periods=60, n_channels=2, seed=2, multipliers={"tv": "decay:0.4"})
    assert "contributions" not in base_t and "multiplier" not in base_t["channels"]["tv"]
    m = np.asarray(t["channels"]["tv"]["multiplier"])
    assert m[0] == pytest.approx(1.0) and m[-1] == pytest.approx(0.4)
    np.testing.assert_array_equal(t["channels"]["search"]["multiplier"], np.ones(60))
    spend = f[["tv_spend", "search_spend"]].to_numpy()
    np.testing.assert_allclose(
        channel_contributions(spend, t),
        np.stack([t["contributions"][c] for c in t["channels"]], -1),
    )
    # the target ROAS holds over the periods, whatever the path
    assert t["channels"]["tv"]["roas"] == pytest.approx(base_t["channels"]["tv"]["roas"])
    np.testing.assert_array_equal(f["tv_spend"], base_f["tv_spend"])
    with pytest.raises(SpecError, match="decay:END"):
        simulate(n_periods=60, n_channels=2, multipliers={"tv": "fade"})


# -- a fit: MAP on a clear decay --------------------------------------------------------------
@pytest.fixture(scope="module")
def decay_fit():
    frame, truth = simulate(n_periods=104, n_channels=2, seed=4, n_controls=0,
                            multipliers={"tv": "decay:0.4"}, snr=10)  # fmt: skip
    ds = simulated_dataset(frame, truth)
    fitted = MMM(time_varying=("tv",), seasonality_order=1).fit(ds, "map", steps=1500, warn=False)
    return fitted, truth


def test_map_recovers_a_clear_decay(decay_fit):
    fitted, truth = decay_fit
    w = fitted.window
    true = np.asarray(truth["contributions"]["tv"])
    est = fitted.contribution_draws()[0, :, 0]
    assert np.corrcoef(est[w], true[w])[0, 1] > 0.9
    ratio = float(end_start_ratio_draws(fitted)[0, 0])
    m = np.asarray(truth["channels"]["tv"]["multiplier"])
    assert ratio < 0.75, ratio
    q = 13
    assert ratio == pytest.approx(
        m[w.stop - q : w.stop].mean() / m[w.start : w.start + q].mean(), abs=0.25
    )
    last = float(end_start_ratio_draws(fitted, periods=1)[0, 0])
    assert last == pytest.approx(float(mult_end(fitted)), rel=1e-6)
    mult = multiplier_draws(fitted)
    np.testing.assert_array_equal(mult[..., 1], 1.0)  # search is static
    assert float(np.log(mult[0, w, 0]).mean()) == pytest.approx(0.0, abs=1e-5)


def mult_end(fitted):
    m = multiplier_draws(fitted)[0, :, 0]
    return m[fitted.window.stop - 1] / m[fitted.window.start]


def test_summary_block_and_paths_have_one_value_per_window_period(decay_fit):
    fitted, _ = decay_fit
    w = fitted.window
    n = w.stop - w.start
    block = fitted.to_json()["time_varying"]
    assert list(block["channels"]) == ["tv"] and len(block["dates"]) == n
    ch = block["channels"]["tv"]
    assert {len(v) for v in ch["path"].values()} == {n}
    for key in ("roas_last_quarter", "roas_window", "end_start_ratio"):
        assert set(ch[key]) == {"mean", "lower", "upper"}
    assert ch["roas_window"]["mean"] == pytest.approx(
        fitted.to_json()["channels"]["tv"]["roas"]["mean"]
    )
    assert ch["roas_last_quarter"]["mean"] < ch["roas_window"]["mean"]  # the effect wore out
    assert block["last_quarter"]["periods"] == 13 and ch["drift"] == 0.3
    paths = effect_paths(fitted)
    assert set(paths["channel"]) == {"tv"} and len(paths) == fitted.data.n_periods


def test_curves_use_the_current_effect_or_the_window_average(decay_fit):
    fitted, _ = decay_fit
    m = multiplier_draws(fitted)[0, :, 0]
    w = fitted.window
    cur = {r.name: r for r in fitted.responses()}
    avg = {r.name: r for r in fitted.responses(time_varying="average")}
    x = np.array([fitted.current_spend()["tv"]])
    ratio = float(cur["tv"](x)[0, 0] / avg["tv"](x)[0, 0])
    assert ratio == pytest.approx(m[w.stop - 1] / m[w].mean(), rel=1e-5)
    assert float(cur["search"](x)[0, 0]) == pytest.approx(float(avg["search"](x)[0, 0]))
    with pytest.raises(SpecError, match="'current' or 'average'"):
        fitted.responses(time_varying="latest")


def test_report_section_shows_the_effect_path(decay_fit, tmp_path):
    from mediamix.report.html import Section, sections
    from mediamix.report.run import RunData
    from mediamix.report.sections_time import time_varying_section

    fitted, _ = decay_fit
    run = RunData(run_dir=tmp_path, summary=fitted.to_json())
    s = time_varying_section(run, Section)
    fig = s.figures["effect_tv"]
    assert fig.layout.title.text == "tv's effect per unit, 2021-2022"
    assert s.tables[0]["rows"][0][0] == "tv"
    assert "time_varying" in [x.key for x in sections(run)]
    static = RunData(run_dir=tmp_path, summary={k: v for k, v in run.summary.items()
                                                  if k != "time_varying"})  # fmt: skip
    assert time_varying_section(static, Section) is None


def test_cli_fit_names_an_unknown_time_varying_channel(tmp_path, small_sim):
    from click.testing import CliRunner

    from mediamix.cli import cli

    frame, truth = small_sim
    frame.to_csv(tmp_path / "data.csv", index=False)
    args = ["fit", str(tmp_path / "data.csv"), "--date", "date", "--kpi", "sales",
            "--channels", "tv_spend,search_spend,social_spend", "--controls", "price_index",
            "--method", "map", "--out", str(tmp_path / "run"), "--time-varying", "tv_spend,serch_spend"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "time_varying[1] names channel 'serch_spend'" in res.output
    assert "Did you mean 'search_spend'?" in res.output
    assert not (tmp_path / "run").exists()
