"""The geo review's own check (the rest are the national review's checks, tested there)."""

import numpy as np

from mediamix.analysis.geo_review import GEO_R2_REVIEW, geo_fit_check


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
