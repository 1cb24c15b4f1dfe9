"""The geo review's own check (the rest are the national review's checks, tested there)."""

import numpy as np
import pytest

from mediamix.analysis.geo_review import (
    GEO_R2_REVIEW,
    LOW_SHARE,
    always_on_checks,
    geo_fit_check,
)


def test_every_geo_followed_passes():
    t = np.linspace(0, 6, 40)
    kpi = np.stack([10 + np.sin(t), 20 + np.cos(t)])
    check = geo_fit_check(["a", "b"], kpi, kpi + 0.01, np.ones(40, bool))
    assert check.verdict == "pass" and check.value > 0.99


def test_the_worst_geo_is_named_with_its_r2():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 40)
    kpi = np.stack([10 + np.sin(t), 20 + np.cos(t), 5 + rng.normal(size=40)])
    ey = kpi.copy()
    ey[2] = 5 - (kpi[2] - 5)  # the opposite of what happened: R^2 = -3
    check = geo_fit_check(["a", "b", "c"], kpi, ey, np.ones(40, bool))
    assert check.verdict == "review" and check.subject == "geo 'c'"
    assert check.value < GEO_R2_REVIEW and "1 geo(s)" in check.advice and "'c'" in check.advice


def test_only_the_window_counts():
    t = np.linspace(0, 6, 40)
    kpi = np.stack([10 + np.sin(t)])
    ey = kpi.copy()
    ey[0, :10] = 100.0  # wrong only in the warm-up periods
    train = np.arange(40) >= 10
    assert geo_fit_check(["a"], kpi, ey, train).verdict == "pass"


def test_an_always_on_channel_is_a_review_naming_its_mroas():
    rng = np.random.default_rng(0)
    G, T = 3, 100
    on = 1.0 + 0.3 * np.sin(np.arange(T) / 8)[None, :] + rng.uniform(0, 0.1, (G, T))
    flighted = rng.gamma(2.0, 1.0, (G, T)) * (np.arange(T) % 10 != 0)  # dark 1 week in 10
    spend = np.stack([on * 100, flighted, np.zeros((G, T))], -1)
    checks = always_on_checks(["search", "tv", "unused"], spend)
    by = {c.subject: c for c in checks}
    assert set(by) == {"search", "tv"}  # a channel no geo spends on has no ROAS to judge
    assert by["search"].verdict == "review" and by["search"].value == 0.0
    assert "always on" in by["search"].advice and "mROAS" in by["search"].advice
    assert by["tv"].verdict == "pass" and by["tv"].value >= 0.1
    # per geo: a geo that goes dark counts with its own mean, and enough dark cells pass
    spend2 = spend.copy()
    spend2[0, : int(0.05 * T), 0] = 0.0  # geo 0 dark for 5% of weeks: 1.7% of all cells
    assert always_on_checks(["search"], spend2[..., :1])[0].value < LOW_SHARE
    spend2[1, : int(0.05 * T), 0] = 0.0  # a second geo: 3.3% of cells
    assert always_on_checks(["search"], spend2[..., :1])[0].verdict == "pass"


# ---- the prior-data conflict of a geo fit ---------------------------------------------------
def _panel_with_a_flat_channel(seed: int = 0):
    """4 geos x 80 weeks: 'tv' flighted with a large effect, 'flat' spent the same every week
    (nothing in the data can tell its effect from the baseline)."""
    from mediamix.model.geo_data import GeoData

    rng = np.random.default_rng(seed)
    G, T = 4, 80
    pop = np.array([1.0, 2.0, 3.0, 4.0]) * 1e4
    tv = rng.gamma(2.0, 1.0, (G, T)) * rng.binomial(1, 0.5, (G, T))
    flat = np.ones((G, T))
    kpi_pc = 10.0 + 2.0 * tv / (1.0 + tv) + rng.normal(0, 0.2, (G, T))
    spend = np.stack([tv, flat], -1) * pop[:, None, None]
    return GeoData.from_arrays(kpi_pc * pop[:, None], spend, population=pop,
                               channel_names=["tv", "flat"])  # fmt: skip


@pytest.fixture(scope="module")
def flat_fit():
    from mediamix.estimator import GeoMMM

    spec = {"adstock": "none", "saturation": "michaelis_menten", "trend": "none",
            "seasonality_order": 0}  # fmt: skip
    return GeoMMM(spec).fit(_panel_with_a_flat_channel(), "svi", steps=600, draws=200,
                            seed=0, warn=False)  # fmt: skip


def test_geo_prior_draws_follow_the_model(flat_fit):
    from mediamix.analysis.prior_check import prior_params, prior_roas_draws

    p = prior_params(flat_fit, n=64, seed=1)
    assert p["beta"].shape == (64, 4, 2) and p["intercept"].shape == (64, 4)
    roas = prior_roas_draws(flat_fit, n=64, seed=1)
    assert roas.shape == (64, 2) and np.isfinite(roas).all() and (roas > 0).all()
    # a prior, not the posterior: far wider than the fitted tv ROAS
    post = flat_fit.roas_draws()
    assert np.std(roas[:, 0]) > 3 * np.std(post[:, 0])


def test_a_channel_the_data_cannot_see_is_mostly_the_prior(flat_fit):
    review = flat_fit.compute_review()
    checks = {c.subject: c for c in review.checks if c.name == "prior_shift"}
    assert set(checks) == {"tv", "flat"}
    assert checks["tv"].verdict == "pass"
    assert checks["flat"].verdict == "review" and "mostly your prior" in checks["flat"].advice
    shifts = {p["channel"]: p for p in review.prior_shift}
    assert shifts["flat"]["sd_ratio"] > 0.8 and shifts["tv"]["sd_ratio"] < 0.5
