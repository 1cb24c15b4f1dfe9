import pytest

from mediamix.errors import SpecError
from mediamix.model import MMM, ModelData, ModelSpec, init_config_text, load_config
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
