"""Simulator: determinism, internal consistency of the truth, shapes, patterns, validity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mediamix.data.simulate import (
    MROAS_STEP,
    channel_contributions,
    scale_saturation_params,
    simulate,
    simulated_dataset,
)
from mediamix.errors import SpecError
from mediamix.transforms import get_saturation

REPO = Path(__file__).resolve().parents[2]


def _spend(frame, truth):
    return frame[[c["spend_column"] for c in truth["channels"].values()]].to_numpy(float)


def test_deterministic_by_seed():
    a, ta = simulate(seed=7)
    b, tb = simulate(seed=7)
    c, _ = simulate(seed=8)
    assert a.equals(b) and ta == tb
    assert not a.equals(c)


def test_shapes_and_columns():
    f, t = simulate(n_periods=100, n_channels=5, n_controls=3, activity=True, seed=2)
    assert len(f) == 100 and t["n_periods"] == 100 and t["freq"] == "W"
    assert list(t["channels"]) == ["tv", "search", "social", "display", "radio"]
    for ch in t["channels"].values():
        assert ch["spend_column"] in f and ch["activity_column"] in f
    assert list(t["controls"]) == ["price_index", "promo", "competitor_index"]
    ds = simulated_dataset(f, t)
    assert ds.media.shape == (100, 5) and ds.control_values.shape == (100, 3)
    cpu = np.array([ch["cost_per_unit"] for ch in t["channels"].values()])
    np.testing.assert_allclose(ds.cost_per_unit, cpu, rtol=1e-9)


def test_truth_is_consistent_with_components():
    f, t = simulate(seed=3)
    spend = _spend(f, t)
    contrib = channel_contributions(spend, t)
    for c, ch in enumerate(t["channels"].values()):
        assert ch["contribution"] == pytest.approx(contrib[:, c].sum(), rel=1e-10)
        assert ch["spend"] == pytest.approx(spend[:, c].sum(), rel=1e-12)
        assert ch["roas"] == pytest.approx(ch["contribution"] / ch["spend"], rel=1e-12)
        up = channel_contributions(spend * (1 + MROAS_STEP), t)[:, c].sum()
        mroas = (up - contrib[:, c].sum()) / (MROAS_STEP * spend[:, c].sum())
        assert ch["mroas"] == pytest.approx(mroas, rel=1e-8)
        # 1 % step vs. the limit: close for a smooth curve
        assert ch["mroas"] == pytest.approx(ch["mroas_limit"], rel=0.05)
    # the KPI is the sum of the components plus noise of the stated size
    n = len(f)
    tt = np.arange(n)
    season = sum(
        h["sin"] * np.sin(2 * np.pi * h["harmonic"] * tt / t["seasonality"]["period"])
        + h["cos"] * np.cos(2 * np.pi * h["harmonic"] * tt / t["seasonality"]["period"])
        for h in t["seasonality"]["harmonics"]
    )
    controls = sum(v["coef"] * f[k].to_numpy() for k, v in t["controls"].items())
    mu = t["intercept"] + t["trend"]["slope"] * tt + season + contrib.sum(1) + controls
    resid = f["sales"].to_numpy() - mu
    assert abs(resid.std() / t["noise_sd"] - 1) < 0.2
    assert abs(resid.mean()) < 4 * t["noise_sd"] / np.sqrt(n)
    assert mu.var() / t["noise_sd"] ** 2 == pytest.approx(t["snr"], rel=1e-9)


def test_patterns_zero_weeks_and_validity():
    f, t = simulate(n_channels=4, seed=11)
    pats = {name: ch["pattern"] for name, ch in t["channels"].items()}
    assert pats == {
        "tv": "flighting",
        "search": "always_on",
        "social": "correlated_bursts",
        "display": "sporadic",
    }
    spend = _spend(f, t)
    assert (spend[:, 0] == 0).any() and (spend[:, 0] > 0).any()
    assert (spend[:, 1] > 0).all()
    assert (spend[:, 3] == 0).mean() > 0.3
    on_tv, on_social = spend[:, 0] > 0, spend[:, 2] > 0
    assert np.corrcoef(on_tv, on_social)[0, 1] > 0.3  # bursts move together
    ds = simulated_dataset(f, t)  # passes every validation
    assert ds.freq == "W" and ds.notes == ()


@pytest.mark.parametrize(
    ("freq", "n", "adstock", "saturation"),
    [
        ("D", 400, "weibull_pdf", "logistic"),
        ("M", 72, "delayed", "michaelis_menten"),
        ("W", 104, "weibull_cdf", "power"),
        ("W", 104, "geometric", "sigmoid"),
        ("W", 104, "geometric", "exponential"),
        ("W", 104, "geometric", "log1p"),
    ],
)
def test_other_frequencies_and_families(freq, n, adstock, saturation):
    f, t = simulate(n_periods=n, freq=freq, adstock=adstock, saturation=saturation, seed=5)
    ds = simulated_dataset(f, t)
    assert ds.freq == freq and ds.n_periods == n
    assert (f["sales"] > 0).all()
    for ch in t["channels"].values():
        assert set(ch["saturation"]) == set(get_saturation(saturation).params)
        assert np.isfinite(ch["mroas"]) and ch["roas"] > 0


@pytest.mark.parametrize("family", ["hill", "logistic", "sigmoid", "power", "log1p"])
def test_scaled_parameters_describe_the_same_curve(family):
    f, t = simulate(saturation=family, seed=4)
    sat = get_saturation(family)
    ms = t["scales"]["media"]["tv"]
    ks = t["scales"]["kpi"]
    ch = t["channels"]["tv"]
    x = np.linspace(0, 3 * ms, 7)
    orig = np.asarray(sat.fn(x, **ch["saturation"]))
    scaled = np.asarray(sat.fn(x / ms, **ch["saturation_scaled"]))
    np.testing.assert_allclose(scaled * ks, orig, rtol=1e-4, atol=1e-6 * ks)
    assert scale_saturation_params(family, ch["saturation"], ms, ks) == ch["saturation_scaled"]


def test_mean_nonzero_scale_in_truth():
    f, t = simulate(seed=1)
    for ch_name, ch in t["channels"].items():
        s = f[ch["spend_column"]].to_numpy()
        assert t["scales"]["media"][ch_name] == pytest.approx(s[s > 0].mean())
    assert t["scales"]["kpi"] == pytest.approx(f["sales"].mean())


def test_invalid_arguments():
    with pytest.raises(SpecError, match="freq"):
        simulate(freq="Q")
    with pytest.raises(SpecError, match="cannot simulate saturation 'table'"):
        simulate(saturation="table")
    with pytest.raises(SpecError, match="unknown adstock family 'geometrik'"):
        simulate(adstock="geometrik")


def test_shipped_example_matches_the_simulator():
    path = REPO / "examples" / "weekly_demo.csv"
    f, t = simulate(seed=0, n_channels=3, n_periods=156)
    shipped = json.loads((REPO / "examples" / "weekly_demo_truth.json").read_text())
    assert shipped == json.loads(json.dumps(t))
    import pandas as pd

    np.testing.assert_allclose(pd.read_csv(path)["sales"].to_numpy(), f["sales"].to_numpy())
