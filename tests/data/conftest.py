"""Shared fixtures for the data tests: a clean weekly table to break in specific ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """A valid weekly table: date, sales, two spend columns, one activity, one control."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=n, freq="W-MON")
    tv = np.where(rng.random(n) < 0.6, rng.uniform(1000, 5000, n), 0.0)
    tv[0] = 1200.0
    search = rng.uniform(500, 1500, n)
    return pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "sales": 10000 + 0.8 * tv + 1.5 * search + rng.normal(0, 200, n),
            "tv_spend": tv,
            "search_spend": search,
            "search_clicks": search / 0.5,
            "price": 1 + 0.05 * rng.normal(size=n),
        }
    )


KW = dict(date="date", kpi="sales", channels=["tv_spend", "search_spend"], controls=["price"])


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()
