"""The data section's one schema (`DataConfig`) and the one loader (`load_dataset`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mediamix.data import DataConfig, Dataset, expand_events, load_dataset
from mediamix.errors import SpecError
from tests.data.conftest import KW, make_frame

SECTION = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"]}


@pytest.fixture
def csv(tmp_path) -> Path:
    f = make_frame()
    f["events"] = "na"
    f.loc[[5, 30], "events"] = "Black Friday"
    f.loc[12, "events"] = "launch"
    p = tmp_path / "w.csv"
    f.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"chanels": ["a"]},
            "data.chanels: unknown keys in the data section: 'chanels'; allowed: channels, "
            "controls, date, date_format, decimal, events_column, geo, kpi, kpi_value, n_params, "
            "non_media, organic, path, population, reach_frequency, sql. "
            "Did you mean 'channels'?",
        ),
        ({"n_params": "many"}, "data.n_params: expected an integer, got 'many'"),
        ({"n_params": 0}, "data.n_params: expected an integer >= 1, got 0"),
        ({"channels": "tv_spend"}, "data.channels: expected a list of spend columns"),
        ({"controls": "price"}, "data.controls: expected a list of column names, got 'price'"),
        ({"kpi": ["sales"]}, "data.kpi: expected a column name, got ['sales']"),
        ({"events_column": 3.5}, "data.events_column: expected a column name, got 3.5"),
        (
            {"channels": [{"name": "tv", "spnd": "tv_spend"}]},
            "data.channels[0].spnd: unknown keys in a channel entry: 'spnd'; allowed: "
            "activity, name, spend. Did you mean 'spend'?",
        ),
        ({"sql": {"url": "sqlite://"}}, "data.sql needs 'url' and 'query'"),
        ({"sql": "select 1"}, "data.sql: expected a mapping"),
        ({"path": 12}, "data.path: expected a file path, got 12"),
    ],
)
def test_every_fault_is_one_error_with_its_key_path(section, message):
    with pytest.raises(SpecError) as e:
        DataConfig.parse(section)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_parse_round_trip_and_overrides(tmp_path):
    cfg = DataConfig.parse(
        {
            **SECTION,
            "controls": ["price"],
            "path": "w.csv",
            "n_params": 12,
            "channels": [{"name": "tv", "spend": "tv_spend"}, "search_spend"],
        }  # fmt: skip
    )
    assert DataConfig.parse(cfg.to_dict()) == cfg
    assert cfg.resolve_path(tmp_path) == tmp_path / "w.csv"
    over = cfg.override("other.csv", kpi="revenue", controls=[])
    assert over.kpi == "revenue" and over.controls == () and over.path.endswith("other.csv")
    assert Path(over.path).is_absolute() and over.channels == cfg.channels
    url = cfg.override("sqlite:///x.db", query="select * from t")
    assert url.path is None and url.sql.query == "select * from t"
    with pytest.raises(SpecError, match="looks like a database URL; give --query"):
        cfg.override("sqlite:///x.db")


def test_missing_roles_and_source():
    with pytest.raises(SpecError, match="no data given"):
        load_dataset(None, SECTION)
    with pytest.raises(SpecError, match=r"^data.kpi: the data section needs 'kpi'.*--kpi"):
        load_dataset("x.csv", {"date": "d", "channels": ["a"]})
    with pytest.raises(SpecError, match=r"^missing --date, --kpi, --channels"):
        load_dataset("x.csv", {}, where="")


def test_events_column_becomes_event_dummies(csv):
    ds, events = load_dataset(csv, {**SECTION, "controls": ["price"], "events_column": "events"})
    assert events == ["event_black_friday", "event_launch"]
    assert ds.control_names == ["price", *events]
    bf = ds.control_values[:, 1]
    assert bf.sum() == 2 and bf[5] == 1 and bf[30] == 1 and ds.control_values[12, 2] == 1
    # Dataset.from_config reads the same section (the event columns are controls)
    cfg = {"data": {**SECTION, "path": str(csv), "controls": ["price"], "events_column": "events"}}
    np.testing.assert_array_equal(Dataset.from_config(cfg).control_values, ds.control_values)


def test_events_column_not_in_the_data(csv):
    with pytest.raises(SpecError, match=r"data.events_column: .*'evnts'.*Did you mean 'events'"):
        load_dataset(csv, {**SECTION, "events_column": "evnts"})


def test_expand_events_names():
    f = pd.DataFrame({"ev": ["na", "Big Sale!", "NA", " ", "Big Sale!"], "x": range(5)})
    out, ctrls = expand_events(f, "ev", ["x"])
    assert ctrls == ["x", "event_big_sale"] and "ev" not in out
    assert out["event_big_sale"].tolist() == [0, 1, 0, 0, 1]


def test_cli_flags_override_the_section(csv):
    ds, _ = load_dataset(
        csv, {**SECTION, "path": "elsewhere.csv", "controls": ["price"]}, channels=["tv_spend"]
    )
    assert ds.channel_names == ["tv_spend"] and ds.control_names == ["price"]
    ds, _ = load_dataset(csv, {**SECTION, "controls": ["price"]}, controls=[])
    assert ds.control_names == []
    assert load_dataset(csv, {}, **KW)[0].n_periods == 80
