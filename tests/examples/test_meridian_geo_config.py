"""The shipped geo config for Meridian's geo sample data: it parses, every column it names is in
the file, and it reads as the panel it describes (40 geos x 156 weeks, five paid channels, one
organic, one non-media treatment, population)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mediamix.data.config import DataConfig
from mediamix.model.spec import load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "meridian_geo.yaml"
DATA = REPO.parent / "shared" / "data" / "meridian_geo_all_channels.csv"


@pytest.fixture(scope="module")
def frame():
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    return pd.read_csv(DATA)


def named_columns(cfg: DataConfig) -> list[str]:
    cols = [cfg.date, cfg.geo, cfg.population, cfg.kpi, cfg.kpi_value, *cfg.controls,
            *cfg.organic, *cfg.non_media]  # fmt: skip
    for ch in cfg.channels:
        cols += [ch["spend"], ch["activity"]] if isinstance(ch, dict) else [ch]
    return cols


def test_config_parses_as_a_geo_config():
    data, spec = load_config(CONFIG)
    cfg = DataConfig.parse(data, "data")
    assert cfg.is_panel and cfg.geo == "geo" and cfg.population == "population"
    assert cfg.kpi == "conversions"
    assert [c["name"] for c in cfg.channels] == [f"Channel{i}" for i in range(5)]
    # Hill with its shape fixed at 1 and per-geo control coefficients: the settings under
    # which NUTS samples this data without divergent transitions (bench_geo_meridian.py)
    assert spec.adstock == "geometric" and spec.saturation == "michaelis_menten"
    assert spec.geo_controls == "per_geo" and spec.geo_pooling == "partial"


def test_every_named_column_is_in_the_data(frame):
    cfg = DataConfig.parse(load_config(CONFIG)[0], "data")
    missing = [c for c in named_columns(cfg) if c not in frame.columns]
    assert missing == []
    # every column but the row index has a role
    rest = set(frame.columns) - set(named_columns(cfg)) - {"Unnamed: 0"}
    assert rest == set()


def test_the_kpi_is_valued_by_the_files_revenue_per_conversion():
    # KPI = conversions x revenue_per_conversion per row, so the model's own kpi_value is 1
    data, spec = load_config(CONFIG)
    assert data["kpi_value"] == "revenue_per_conversion" and spec.kpi_value == 1.0


def test_reads_as_a_40_geo_panel():
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    from mediamix.data.panel import load_panel

    data, _ = load_config(CONFIG)
    panel, _ = load_panel(DATA, data)
    assert panel.shape == (40, 156, 5)
    assert panel.organic.shape == (40, 156, 1) and panel.non_media.shape == (40, 156, 1)
    assert panel.population is not None and panel.population.shape == (40,)
