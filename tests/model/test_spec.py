import pytest

from mediamix.errors import SpecError
from mediamix.estimator import MMM
from mediamix.model import ModelData, ModelSpec, init_config_text, load_config
from mediamix.model.priors import Prior


def test_defaults_and_round_trip():
    spec = ModelSpec(
        saturation="logistic",
        priors={"effect.tv": {"dist": "half_normal", "scale": 0.2}},
        control_signs={"price": "negative"},
        channel_transforms={"tv": {"adstock": "weibull_pdf", "max_lag": 12}},
    )
    again = load_config(spec.to_yaml())[1]
    assert again == spec
    assert again.priors["effect.tv"] == Prior("half_normal", {"scale": 0.2})
    assert (
        again.channel_adstock("tv") == "weibull_pdf" and again.channel_adstock("x") == "geometric"
    )
    assert again.max_lag("W", "tv") == 12 and again.max_lag("W", "x") == 8
    assert again.max_lag("D") == 14


def test_multiplicative_uses_lognormal():
    assert ModelSpec(form="multiplicative").likelihood == "lognormal"
    with pytest.raises(SpecError, match="additive form only"):
        ModelSpec(form="multiplicative", media_prior="roi")


def test_init_config_template_is_valid():
    data, spec = load_config(init_config_text())
    assert spec == ModelSpec()
    assert data["kpi"] == "sales" and data["channels"] == ["tv", "search", "social"]


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"saturation": "hil"}, r"saturation: unknown value 'hil'.*Did you mean 'hill'"),
        ({"adstock": "geometrik"}, r"adstock: unknown value 'geometrik'"),
        ({"priors": {"sigma": {"dist": "half_normal", "scale": -1}}}, r"'scale' must be > 0"),
        ({"priors": {"sigma": {"dist": "halfnormal", "scale": 1}}}, r"unknown prior .*half_normal"),
        ({"priors": {"sigmaa": {"dist": "half_normal", "scale": 1}}}, r"no model parameter"),
        ({"priors": {"sigma": {"scale": 1}}}, r"needs 'dist'"),
        ({"seasonality": 2}, r"unknown model setting.*seasonality_order"),
        ({"likelihood": "poisson"}, r"likelihood: unknown value"),
        ({"channel_transforms": {"tv": {"saturation": "tanh"}}}, r"channel_transforms.tv"),
    ],
)
def test_bad_configs_name_the_problem(settings, match):
    with pytest.raises(SpecError, match=match):
        ModelSpec.from_dict(settings)


def test_prior_on_missing_channel_is_reported_at_fit():
    import numpy as np

    rng = np.random.default_rng(0)
    data = ModelData.from_arrays(
        kpi=rng.uniform(10, 20, 60), spend=rng.uniform(0, 5, (60, 2)), channel_names=["tv", "radio"]
    )
    spec = ModelSpec(priors={"effect.search": {"dist": "half_normal", "scale": 0.2}})
    with pytest.raises(SpecError, match=r"priors.effect.search names channel 'search'.*tv, radio"):
        MMM(spec).prepare(data)
    spec = ModelSpec(control_signs={"price": "negative"})
    with pytest.raises(SpecError, match=r"control 'price'"):
        MMM(spec).prepare(data)


def test_yaml_file_errors(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("model:\n  adstock: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_config(p)
    p.write_text("model: {}\nextra: 1\n")
    with pytest.raises(SpecError, match="unknown top-level"):
        load_config(p)


# ---- prior sites: a key the model does not sample is an error naming those it does ------
HN = {"dist": "half_normal", "scale": 0.3}


def test_beta_prior_on_the_additive_model_names_effect():
    with pytest.raises(SpecError) as e:
        ModelSpec(priors={"beta.tv": HN})
    msg = str(e.value)
    assert msg.startswith("priors.beta.tv: this model does not sample 'beta'")
    assert "'effect'" in msg and "Did you mean 'effect.tv'?" in msg
    # with the data's names (as a fit checks them) the list names the channel's own keys
    spec = ModelSpec(priors={"effect.tv": HN})
    spec.validate_for(["tv", "radio"], [], "W")
    logistic = {"radio": {"saturation": "logistic"}}
    spec = ModelSpec(priors={"hill_k.radio": HN}, channel_transforms=logistic)
    with pytest.raises(SpecError, match=r"sites that apply: .*effect\.tv, effect\.radio"):
        spec.validate_for(["tv", "radio"], [], "W")
    with pytest.raises(SpecError, match="no channel uses saturation 'hill'"):
        ModelSpec(priors={"hill_s.tv": HN}, saturation="logistic")


def test_prior_sites_follow_the_parametrisation():
    ModelSpec(form="multiplicative", priors={"beta.tv": HN}).validate_for(["tv"], [], "W")
    ModelSpec(media_prior="roi", priors={"roas.tv": HN}).validate_for(["tv"], [], "W")
    with pytest.raises(SpecError, match="media_prior 'roi' samples 'roas'"):
        ModelSpec(media_prior="roi", priors={"effect": HN})
    with pytest.raises(SpecError, match="multiplicative form samples 'beta'"):
        ModelSpec(form="multiplicative", priors={"effect.tv": HN})
    with pytest.raises(SpecError, match="'nu' is the Student-t"):
        ModelSpec(priors={"nu": {"dist": "gamma", "concentration": 2, "rate": 0.1}})
    nu = {"dist": "gamma", "concentration": 2, "rate": 0.1}
    ModelSpec(likelihood="student_t", priors={"nu": nu})
    with pytest.raises(SpecError, match="trend is 'none'"):
        ModelSpec(trend="none", priors={"trend": HN})
    with pytest.raises(SpecError, match="takes one prior for all its terms"):
        ModelSpec(priors={"sigma.tv": HN})


def test_applicable_prior_sites_for_the_data():
    from mediamix.model.spec import applicable_prior_sites

    spec = ModelSpec(
        channel_transforms={"radio": {"saturation": "logistic", "adstock": "none"}},
        control_signs={"price": "negative"},
        events=("holiday",),
    )
    sites = applicable_prior_sites(spec, ["tv", "radio"], ["price", "temp", "holiday"], "W")
    assert sites == {
        "intercept", "trend", "season", "sigma",
        "effect", "effect.tv", "effect.radio", "media_share",
        "hill_k", "hill_k.tv", "hill_s", "hill_s.tv", "logistic_lam", "logistic_lam.radio",
        "geometric_lam", "geometric_lam.tv",
        "control", "control.temp", "control_signed", "control_signed.price",
        "event", "event.holiday",
    }  # fmt: skip
    assert "dow" in applicable_prior_sites(spec, ["tv"], [], "D")
    # a channel's key on a family it does not use, and a signed control's unsigned key
    for key, hint in (("hill_k.radio", "'hill_k' does not apply to channel 'radio'"),
                      ("control.price", "Did you mean 'control_signed.price'?")):  # fmt: skip
        bad = spec.replace(priors={key: HN})
        with pytest.raises(SpecError, match=hint):
            bad.validate_for(["tv", "radio"], ["price", "temp", "holiday"], "W")


def test_prior_sites_are_checked_before_sampling():
    import numpy as np

    rng = np.random.default_rng(0)
    data = ModelData.from_arrays(
        kpi=rng.uniform(10, 20, 60), spend=rng.uniform(0, 5, (60, 2)), channel_names=["tv", "radio"]
    )
    MMM(ModelSpec(priors={"effect.tv": HN})).prepare(data)
    spec = ModelSpec(priors={"geometric_lam.tv": HN}, adstock="none",
                     channel_transforms={"tv": {"adstock": "geometric"}})  # fmt: skip
    MMM(spec).prepare(data)
    with pytest.raises(SpecError, match="'geometric_lam' does not apply to channel 'radio'"):
        MMM(spec.replace(priors={"geometric_lam.radio": HN})).prepare(data)


def test_template_suggests_only_sampled_sites():
    text = init_config_text()
    assert "beta.tv" not in text
    for priors, settings in (
        ({"effect": HN, "effect.tv": HN, "sigma": HN}, {}),
        ({"geometric_lam": {"dist": "beta", "concentration1": 2, "concentration0": 2},
          "hill_k": {"dist": "gamma", "concentration": 2, "rate": 2}}, {}),
        ({"beta": HN}, {"form": "multiplicative"}),
        ({"roas.tv": {"dist": "lognormal", "loc": 0.7, "scale": 0.3}}, {"media_prior": "roi"}),
    ):  # fmt: skip
        ModelSpec(priors=priors, **settings).validate_for(["tv", "search", "social"], [], "W")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"seasonality_order": "many"}, "model.seasonality_order: expected an integer, got 'many'"),
        ({"seasonality_order": -1}, "model.seasonality_order: expected an integer >= 0, got -1"),
        ({"adstock_max_lag": 2.5}, "model.adstock_max_lag: expected an integer, got 2.5"),
        ({"adstock_normalize": "yes"}, "model.adstock_normalize: expected true or false"),
        ({"kpi_value": "one"}, "model.kpi_value: expected a positive number, got 'one'"),
        ({"log_offset": -1}, "model.log_offset: expected a number >= 0, got -1"),
        ({"events": "holiday"}, "model.events: expected a list of control column names"),
        ({"form": ["additive"]}, "model.form: expected one of additive, multiplicative"),
        ({"priors": ["sigma"]}, "model.priors: expected a mapping"),
        ({"control_signs": {"price": "down"}}, "model.control_signs.price: unknown value"),
        (
            {"sesonality_order": 2},
            "model.sesonality_order: unknown model setting(s): 'sesonality_order'; allowed: ",
        ),
        (
            {"channel_transforms": {"tv": {"max_lags": 3}}},
            "model.channel_transforms.tv.max_lags: unknown channel transform setting(s): "
            "'max_lags'; allowed: adstock, max_lag, saturation. Did you mean 'max_lag'?",
        ),
        ({"priors": {"sigma": {"dist": "half_normal", "scale": "big"}}}, "model.priors.sigma: "),
        ({"form": "multiplicative", "media_prior": "roi"}, "model.media_prior: 'roi' is"),
    ],
)
def test_model_section_errors_start_with_the_key_path(settings, message):
    with pytest.raises(SpecError) as e:
        ModelSpec.from_dict(settings)
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


def test_config_sections_are_validated_on_load():
    with pytest.raises(SpecError, match=r"^data.chanels: unknown keys .*Did you mean 'channels'"):
        load_config("data:\n  chanels: [tv]\nmodel: {}\n")
    with pytest.raises(SpecError, match=r"^modle: unknown top-level.*Did you mean 'model'"):
        load_config("data: {}\nmodle: {}\n")
    with pytest.raises(SpecError, match=r"^seasonality_order: expected an integer"):
        load_config("seasonality_order: many\n")
