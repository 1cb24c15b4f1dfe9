"""Faults in model configs (the fault catalogue, area B): each bad setting is one clear
`SpecError` naming the key path and the fix, before any data is read or array allocated;
through the CLI it is one `error:` line and exit 2."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.model.spec import (
    MAX_ADSTOCK_LAG,
    ModelSpec,
    count_parameters,
    init_config_text,
    load_config,
    max_seasonality_order,
    parameter_counts,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHANNELS = ["tv_spend", "search_spend", "social_spend"]
CONTROLS = ["price_index", "promo"]


def config(**model: str) -> str:
    """The init-config template for the demo data with ``model`` settings replaced
    (values are YAML text)."""
    text = init_config_text()
    text = text.replace("  channels: [tv, search, social]", f"  channels: [{', '.join(CHANNELS)}]")
    text = text.replace("  controls: []", f"  controls: [{', '.join(CONTROLS)}]")
    lines = text.splitlines()
    for key, value in model.items():
        at = [i for i, line in enumerate(lines) if line.startswith(f"  {key}:")]
        assert at, key
        lines[at[0]] = f"  {key}: {value}"
    return "\n".join(lines) + "\n"


def error(text: str) -> str:
    with pytest.raises(SpecError) as err:
        load_config(text)
    assert "\n" not in str(err.value)
    return str(err.value)


def fit(tmp_path: Path, text: str):
    cfg = tmp_path / "model.yaml"
    cfg.write_text(text)
    out = tmp_path / "run"
    res = CliRunner().invoke(
        cli,
        ["fit", str(EXAMPLES / "weekly_demo.csv"), "--config", str(cfg), "--out", str(out),
         "--method", "map", "--steps", "20", "--quiet"],
    )  # fmt: skip
    assert "Traceback" not in res.output
    return res


def test_the_template_reads_and_counts_the_demo_model():
    data, spec = load_config(config())
    assert spec == ModelSpec() and list(data["channels"]) == CHANNELS
    assert count_parameters(spec, CHANNELS, CONTROLS, "W") == 21


@pytest.mark.parametrize(
    "text, message",
    [
        (config().replace("  saturation: hill", "  saturaton: hill"),
         "model.saturaton: unknown model setting(s): 'saturaton'; allowed: "),
        (config().replace("\nmodel:", "\nmodle:"), "modle: unknown top-level"),
        (config().replace("  kpi: sales", "  kpii: sales"), "data.kpii: unknown keys"),
    ],
)  # fmt: skip
def test_misspelt_keys_name_the_closest(text, message):
    msg = error(text)
    assert msg.startswith(message), msg
    assert "Did you mean" in msg


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("adstock_max_lag", "eight", "model.adstock_max_lag: expected an integer, got 'eight'"),
        ("kpi_value", "'one'", "model.kpi_value: expected a positive number, got 'one'"),
        ("kpi_value", "-1", "model.kpi_value: expected a positive number, got -1"),
        ("trend_changepoints", "-2", "model.trend_changepoints: expected an integer >= 0, got -2"),
        ("kpi_value", ".inf", "model.kpi_value: expected a finite number (the value of one KPI "
                              "unit, e.g. 1.0), got inf"),
        ("kpi_value", ".nan", "model.kpi_value: expected a positive number, got nan"),
        ("log_offset", "abc", "model.log_offset: expected a number >= 0, got 'abc'"),
        ("log_offset", ".inf", "model.log_offset: expected a finite number (e.g. 1), got inf"),
        ("adstock_normalize", "maybe", "model.adstock_normalize: expected true or false, got "
                                       "'maybe'"),
        ("day_of_week", "sometimes", "model.day_of_week: expected true or false, got 'sometimes'"),
        ("adstock_normalize", "1", "model.adstock_normalize: expected true or false, got 1"),
        ("saturation", "hil", "model.saturation: unknown value 'hil'; choose one of"),
        ("events", "promo", "model.events: expected a list of control column names, got 'promo'"),
        ("channel_transforms", "{tv_spend: {adstok: none}}",
         "model.channel_transforms.tv_spend.adstok: unknown channel transform setting(s)"),
        ("channel_transforms", "{tv_spend: 5}",
         "model.channel_transforms.tv_spend: expected a mapping"),
        ("control_signs", "{price_index: down}",
         "model.control_signs.price_index: unknown value 'down'"),
        ("likelihood", "lognormal", "model.likelihood: 'lognormal' goes with form "
                                    "'multiplicative'; for the additive form use 'normal' or "
                                    "'student_t'"),
        ("priors", "[1, 2]", "model.priors: expected a mapping"),
        ("priors", "{sigma: {dist: half_nromal, scale: 1}}", "model.priors.sigma: "),
        ("priors", "{sigma: {dist: half_normal, scale: -1}}", "model.priors.sigma: "),
        ("priors", "{efect: {dist: half_normal, scale: 1}}",
         "model.priors.efect: no model parameter 'efect'"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_key_path(setting, value, message):
    msg = error(config(**{setting: value}))
    assert msg.startswith(message), msg


def test_names_the_data_lacks_are_named_with_the_data_names():
    _, spec = load_config(config(channel_transforms="{radio: {adstock: none}}"))
    with pytest.raises(SpecError, match=r"channel_transforms names channel 'radio', which is not"):
        spec.validate_for(CHANNELS, CONTROLS, "W")
    _, spec = load_config(config(control_signs="{price: negative}"))
    with pytest.raises(SpecError, match=r"control_signs names control 'price', which is not"):
        spec.validate_for(CHANNELS, CONTROLS, "W")
    _, spec = load_config(config(priors="{effect.radio: {dist: half_normal, scale: 1}}"))
    with pytest.raises(SpecError, match=r"priors.effect.radio names channel 'radio'"):
        spec.validate_for(CHANNELS, CONTROLS, "W")


def test_channels_as_one_string_say_a_list_is_expected():
    text = config().replace(f"  channels: [{', '.join(CHANNELS)}]", "  channels: tv_spend")
    msg = error(text)
    assert msg.startswith("data.channels: expected a list"), msg
    assert "'tv_spend'" in msg


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"adstock_max_lag": 100000},
         f"adstock_max_lag: expected an integer <= {MAX_ADSTOCK_LAG} periods (a year of daily "
         "data), got 100000"),
        ({"channel_transforms": {"tv": {"max_lag": 5000}}},
         f"channel_transforms.tv.max_lag: expected an integer <= {MAX_ADSTOCK_LAG} periods"),
        ({"seasonality_order": 500}, "seasonality_order: expected an integer <= 182 (daily "
                                     "data; 26 for weekly, 5 for monthly"),
        ({"trend_changepoints": 100000}, "trend_changepoints: expected an integer <= 200, got"),
    ],
)  # fmt: skip
def test_sizes_are_bounded_when_the_spec_is_built(settings, message):
    with pytest.raises(SpecError) as err:
        ModelSpec(**settings)
    assert str(err.value).startswith(message), str(err.value)


def test_the_fourier_order_is_below_half_a_year_of_periods():
    assert (max_seasonality_order("W"), max_seasonality_order("M"), max_seasonality_order("D")) == (
        26,
        5,
        182,
    )
    ModelSpec(seasonality_order=26).validate_for(CHANNELS, CONTROLS, "W")
    with pytest.raises(SpecError) as err:
        ModelSpec(seasonality_order=27).validate_for(CHANNELS, CONTROLS, "W")
    assert str(err.value).startswith(
        "seasonality_order: 27 is too high for weekly data: the yearly Fourier order must be "
        "below half the 52.18 periods of a year, at most 26."
    )
    with pytest.raises(SpecError, match=r"too high for monthly data.*at most 5"):
        ModelSpec(seasonality_order=6).validate_for(CHANNELS, CONTROLS, "M")


def test_the_rows_rule_counts_the_models_own_terms():
    spec = ModelSpec(seasonality_order=26)
    counts = parameter_counts(spec, CHANNELS, CONTROLS, "W")
    assert counts == {"intercept": 1, "trend": 1, "seasonality": 52, "controls": 2, "media": 12,
                      "noise": 1}  # fmt: skip
    with pytest.raises(SpecError) as err:
        spec.validate_for(CHANNELS, CONTROLS, "W", n_periods=156)
    assert str(err.value) == (
        "the model has 69 parameters (intercept 1, trend 1, seasonality 52, controls 2, media "
        "12, noise 1) but the data have 156 weekly rows; the rule is at least max(20, 3 x "
        "parameters) = 207 rows. Fix: a lower seasonality_order (now 26; 2 is usual), or longer "
        "data."
    )
    ModelSpec().validate_for(CHANNELS, CONTROLS, "W", n_periods=156)  # 21 parameters: 63 rows
    # the terms follow the spec: weekday effects on daily data, change points, Student-t, the
    # transforms' own parameters
    daily = ModelSpec(trend="piecewise", likelihood="student_t", saturation="exponential",
                      adstock="weibull_pdf")  # fmt: skip
    assert parameter_counts(daily, 2, 0, "D") == {"intercept": 1, "trend": 5, "seasonality": 4,
                                                   "day_of_week": 6, "media": 2 * (1 + 1 + 2),
                                                   "noise": 2}  # fmt: skip
    mult = ModelSpec(form="multiplicative", adstock="none", seasonality_order=0)
    assert count_parameters(mult, 3, 1, "W") == 1 + 1 + 1 + 3 + 1


def test_a_lag_longer_than_the_data_is_refused_before_any_work():
    with pytest.raises(SpecError) as err:
        ModelSpec(adstock_max_lag=200).validate_for(CHANNELS, CONTROLS, "W", n_periods=156)
    assert str(err.value).startswith(
        "adstock_max_lag: 200 lags for channel 'tv_spend' is more than the data's 156 periods."
    )
    spec = ModelSpec(channel_transforms={"search_spend": {"max_lag": 30}})
    with pytest.raises(SpecError, match=r"^channel_transforms.search_spend.max_lag: 30 lags"):
        spec.validate_for(CHANNELS, CONTROLS, "W", n_periods=25)


@pytest.mark.parametrize(
    "settings, needle",
    [
        ({"kpi_value": ".inf"}, "model.kpi_value: expected a finite number"),
        ({"log_offset": "abc"}, "model.log_offset: expected a number >= 0, got 'abc'"),
        ({"adstock_max_lag": "100000"}, "model.adstock_max_lag: expected an integer <= 366"),
        ({"seasonality_order": "500"}, "model.seasonality_order: expected an integer <= 182"),
        ({"saturation": "hil"}, "Did you mean 'hill'?"),
        ({"adstock_normalize": "maybe"}, "model.adstock_normalize: expected true or false"),
    ],
)
def test_fit_refuses_bad_settings_with_exit_2_before_fitting(settings, needle, tmp_path):
    res = fit(tmp_path, config(**settings))
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and needle in res.output
    assert not (tmp_path / "run").exists()


def test_fit_refuses_weekly_fourier_order_above_26_and_a_lag_beyond_the_data(tmp_path):
    res = fit(tmp_path, config(seasonality_order="30"))
    assert res.exit_code == 2 and "seasonality_order: 30 is too high for weekly data" in res.output
    res = fit(tmp_path, config(adstock_max_lag="200"))
    assert res.exit_code == 2, res.output
    assert "adstock_max_lag" in res.output and "156 periods" in res.output


def test_fit_with_an_empty_config_asks_for_the_columns(tmp_path):
    for text in ("", "# nothing but a comment\n"):
        res = fit(tmp_path, text)
        assert res.exit_code == 2 and "'date'" in res.output, res.output


def test_weekday_effects_need_daily_data():
    ModelSpec(day_of_week=True).validate_for(CHANNELS, CONTROLS, "D")
    ModelSpec(day_of_week=False).validate_for(CHANNELS, CONTROLS, "W")
    for freq, words in (("W", "weekly"), ("M", "monthly")):
        with pytest.raises(SpecError) as err:
            ModelSpec(day_of_week=True).validate_for(CHANNELS, CONTROLS, freq)
        assert str(err.value).startswith(
            f"day_of_week: weekday effects need daily data; these data are {words}"
        )


def test_cli_fit_applies_the_rows_rule_to_the_models_own_terms(tmp_path):
    """`fit` with a yearly Fourier order of 26 on 156 weekly rows: 69 parameters need 207 rows,
    refused before any compilation (exit 2, the count and the fix)."""
    from pathlib import Path

    from click.testing import CliRunner

    from mediamix.cli import cli

    root = Path(__file__).resolve().parents[2]
    cfg = tmp_path / "model.yaml"
    cfg.write_text("model:\n  seasonality_order: 26\n")
    res = CliRunner().invoke(cli, [
        "fit", str(root / "examples" / "weekly_demo.csv"), "--config", str(cfg),
        "--date", "date", "--kpi", "sales", "--channels", "tv_spend,search_spend,social_spend",
        "--controls", "price_index,promo", "--method", "map", "--out", str(tmp_path / "run"),
    ])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "parameters" in res.output and "seasonality 52" in res.output
    assert "lower seasonality_order" in res.output
    assert not (tmp_path / "run").exists()
