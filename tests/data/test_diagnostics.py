"""Diagnostics: closed-form values of correlation, VIF, CV and zero share, and verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix.data import Dataset
from mediamix.data.diagnostics import CORR_WARN, correlation_matrix, diagnostics, vif
from tests.data.conftest import KW, make_frame


def _by(diag, name, subject):
    return next(c for c in diag.checks if c.name == name and c.subject == subject)


def test_vif_closed_form_two_columns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = 0.9 * x + 0.3 * rng.normal(size=(200, 1))
    m = np.hstack([x, y])
    r = np.corrcoef(m.T)[0, 1]
    # with two regressors VIF = 1 / (1 - r^2) for both
    np.testing.assert_allclose(vif(m), 1 / (1 - r**2), rtol=1e-10)
    np.testing.assert_allclose(correlation_matrix(m)[0, 1], r, rtol=1e-12)


def test_vif_exact_collinearity_is_inf():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 50))
    assert np.isinf(vif(np.column_stack([a, b, a + 2 * b]))).all()


def test_checks_and_verdicts():
    f = make_frame(100)
    rng = np.random.default_rng(3)
    f["tv_spend"] = f["search_spend"] * 2 + rng.normal(0, 5, 100)  # collinear with search
    f["flat"] = 1000.0 + rng.normal(0, 10, 100)  # barely varies
    f["rare"] = np.where(np.arange(100) % 4 == 0, 500.0, 0.0)  # 75 % zeros
    ds = Dataset.from_frame(
        f,
        date="date",
        kpi="sales",
        channels=["tv_spend", "search_spend", "flat", "rare"],
        controls=["price"],
    )
    d = diagnostics(ds)
    c = _by(d, "correlation", "tv_spend ~ search_spend")
    assert c.verdict == "warn" and c.value > CORR_WARN and "move together" in c.advice
    assert _by(d, "vif", "tv_spend").verdict == "warn"
    assert _by(d, "vif", "rare").verdict == "ok"
    flat = _by(d, "spend_variation", "flat")
    expected_cv = f["flat"].std(ddof=0) / f["flat"].mean()
    assert flat.verdict == "warn" and flat.value == pytest.approx(expected_cv)
    assert _by(d, "spend_variation", "rare").verdict == "ok"
    rare = _by(d, "zero_spend", "rare")
    assert rare.value == pytest.approx(0.75) and rare.verdict == "warn"
    assert _by(d, "zero_spend", "search_spend").value == 0.0
    hist = next(c for c in d.checks if c.name == "history_length")
    assert hist.value == pytest.approx(100 / (3 + 4 + 16 + 1))
    out = d.to_dict()
    assert out["n_warnings"] == len(d.warnings) >= 4
    assert len(out["correlation"]["matrix"]) == 4


def test_clean_data_has_no_warnings_except_history():
    d = diagnostics(Dataset.from_frame(make_frame(200), **KW))
    assert {c.name for c in d.warnings} <= {"history_length"}
    assert _by(d, "vif", "tv_spend").value < 2
