"""Dataset construction from every source, and one test per validation fault."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mediamix.data import Dataset, estimate_n_params, min_rows_required
from mediamix.errors import DataError, SpecError
from tests.data.conftest import KW, make_frame

REPO = Path(__file__).resolve().parents[2]


def test_from_frame_arrays_and_shapes(frame):
    ds = Dataset.from_frame(
        frame,
        date="date",
        kpi="sales",
        channels=[
            "tv_spend",
            {"name": "search", "spend": "search_spend", "activity": "search_clicks"},
        ],
        controls=["price"],
    )
    assert ds.freq == "W"
    assert ds.channel_names == ["tv_spend", "search"]
    assert ds.spend.shape == (80, 2) and ds.media.shape == (80, 2)
    assert ds.control_values.shape == (80, 1)
    np.testing.assert_array_equal(ds.kpi_values, frame["sales"].to_numpy())
    np.testing.assert_array_equal(ds.media[:, 1], frame["search_clicks"].to_numpy())
    np.testing.assert_array_equal(ds.media[:, 0], frame["tv_spend"].to_numpy())
    # cost per unit: spend / activity totals; 1 for a channel without activity
    np.testing.assert_allclose(ds.cost_per_unit, [1.0, 0.5])
    assert ds.dates[0] == pd.Timestamp("2022-01-03")
    assert ds.notes == ()


def test_spend_activity_shorthand(frame):
    ds = Dataset.from_frame(
        frame, date="date", kpi="sales", channels=["search_spend:search_clicks"]
    )
    assert ds.spec.channels[0].activity == "search_clicks"


def test_csv_parquet_sql_give_the_same_dataset(frame, tmp_path):
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    pq = tmp_path / "d.parquet"
    frame.to_parquet(pq)
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as con:
        frame.to_sql("weekly", con, index=False)
    a = Dataset.from_csv(csv, **KW)
    b = Dataset.from_parquet(pq, **KW)
    c = Dataset.from_sql(f"sqlite:///{db}", "SELECT * FROM weekly WHERE sales > 0", **KW)
    for other in (b, c):
        np.testing.assert_allclose(other.spend, a.spend)
        np.testing.assert_allclose(other.kpi_values, a.kpi_values)
        assert list(other.dates) == list(a.dates)


def test_sql_error_is_a_data_error(tmp_path):
    db = tmp_path / "e.db"
    sqlite3.connect(db).close()
    with pytest.raises(DataError, match="SQL query failed.*no such table"):
        Dataset.from_sql(f"sqlite:///{db}", "SELECT * FROM missing", **KW)


def test_from_config_relative_path(frame, tmp_path):
    sub = tmp_path / "cfg"
    sub.mkdir()
    frame.to_csv(sub / "w.csv", index=False)
    (sub / "model.yaml").write_text(
        "data:\n  path: w.csv\n  date: date\n  kpi: sales\n"
        "  channels:\n    - {name: tv, spend: tv_spend}\n    - search_spend\n"
        "  controls: [price]\n"
    )
    ds = Dataset.from_config(sub / "model.yaml")
    assert ds.channel_names == ["tv", "search_spend"]
    assert ds.control_names == ["price"]


def test_from_config_dict_sql(frame, tmp_path):
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as con:
        frame.to_sql("weekly", con, index=False)
    cfg = {"data": {"sql": {"url": f"sqlite:///{db}", "query": "select * from weekly"}, **KW}}
    assert Dataset.from_config(cfg).n_periods == 80


def test_config_errors(tmp_path):
    with pytest.raises(SpecError, match="needs 'kpi'"):
        Dataset.from_config({"data": {"path": "x.csv", "date": "d", "channels": ["a"]}})
    with pytest.raises(SpecError, match="unknown keys.*'chanels'"):
        Dataset.from_config({"data": {"path": "x.csv", "chanels": ["a"]}})


def test_shipped_example_config():
    ds = Dataset.from_config(REPO / "examples" / "weekly_demo.yaml")
    assert ds.n_periods == 156 and ds.freq == "W"
    assert ds.channel_names == ["tv", "search", "social"]


# ---- one test per fault ---------------------------------------------------------------


def test_missing_column_suggests_closest(frame):
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, date="date", kpi="sales", channels=["tv_spnd", "search_spend"])
    msg = str(e.value)
    assert "'tv_spnd'" in msg and "Did you mean 'tv_spend'?" in msg and "Fix:" in msg


def test_non_numeric_value_names_row_and_value(frame):
    frame["tv_spend"] = frame["tv_spend"].astype(object)
    frame.loc[6, "tv_spend"] = "$1,200"
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **KW)
    msg = str(e.value)
    assert "'tv_spend'" in msg and "'$1,200'" in msg and "row 7 (2022-02-14)" in msg
    assert "plain numbers" in msg


def test_thousands_separators_are_accepted(frame):
    frame["search_spend"] = [f"{v:,.2f}" for v in frame["search_spend"]]
    ds = Dataset.from_frame(frame, **KW)
    assert ds.spend[:, 1].min() > 400


def test_negative_spend(frame):
    frame.loc[3, "search_spend"] = -50.0
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **KW)
    msg = str(e.value)
    assert "'search_spend'" in msg and "-50" in msg and "row 4 (2022-01-24)" in msg
    assert ">= 0" in msg


def test_empty_cells_in_csv(frame, tmp_path):
    frame.loc[[2, 9], "sales"] = np.nan
    p = tmp_path / "d.csv"
    frame.to_csv(p, index=False)
    with pytest.raises(DataError) as e:
        Dataset.from_csv(p, **KW)
    msg = str(e.value)
    assert "'sales'" in msg and "empty (NaN)" in msg and "rows 3 (2022-01-17), 10" in msg


def test_empty_date_cell(frame):
    frame.loc[4, "date"] = None
    with pytest.raises(DataError, match=r"'date' \(date\) has empty cells at row 5"):
        Dataset.from_frame(frame, **KW)


def test_bad_date_value(frame):
    frame.loc[4, "date"] = "2022-13-45"
    with pytest.raises(DataError, match=r"not a date at row 5: '2022-13-45'.*YYYY-MM-DD"):
        Dataset.from_frame(frame, **KW)


def test_duplicate_dates(frame):
    frame.loc[10, "date"] = frame.loc[9, "date"]
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **KW)
    msg = str(e.value)
    assert frame.loc[9, "date"] in msg and "rows 10, 11" in msg and "one row per period" in msg


def test_unsorted_dates_are_sorted_with_a_note(frame):
    shuffled = frame.sample(frac=1.0, random_state=1)
    ds = Dataset.from_frame(shuffled, **KW)
    ref = Dataset.from_frame(frame, **KW)
    np.testing.assert_array_equal(ds.spend, ref.spend)
    assert ds.dates.is_monotonic_increasing
    assert any("not in order; sorted" in n for n in ds.notes)


def test_gap_in_weekly_data(frame):
    frame = frame.drop(index=[20, 21]).reset_index(drop=True)
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **KW)
    msg = str(e.value)
    assert "gap between 2022-05-16 (row 20) and 2022-06-06 (row 21)" in msg
    assert "2 week(s) missing in weekly data" in msg


def test_irregular_spacing(frame):
    frame.loc[30, "date"] = "2022-08-03"  # a Wednesday among Mondays
    with pytest.raises(
        DataError,
        match=r"irregular spacing between 2022-07-25 \(row 30\) and 2022-08-03 \(row 31\).*weekly",
    ):
        Dataset.from_frame(frame, **KW)


@pytest.mark.parametrize(("freq", "pfreq"), [("D", "D"), ("W", "W-SUN"), ("M", "MS"), ("M", "ME")])
def test_frequency_detection(freq, pfreq):
    f = make_frame(70)
    f["date"] = pd.date_range("2020-01-31", periods=70, freq=pfreq)
    assert Dataset.from_frame(f, **KW).freq == freq


def test_unsupported_spacing():
    f = make_frame(70)
    f["date"] = pd.date_range("2020-01-01", periods=70, freq="3D")
    with pytest.raises(DataError, match="spacing between dates is 3 days"):
        Dataset.from_frame(f, **KW)


def test_too_few_rows():
    n_params = estimate_n_params(2, 1)
    need = min_rows_required(n_params)
    assert need == max(20, 3 * n_params) == 48
    Dataset.from_frame(make_frame(need), **KW)
    with pytest.raises(DataError) as e:
        Dataset.from_frame(make_frame(need - 1), **KW)
    msg = str(e.value)
    assert f"{need - 1} weekly rows" in msg and f"= {need} rows" in msg and "Fix:" in msg


def test_channel_that_never_spends(frame):
    frame["tv_spend"] = 0.0
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **KW)
    msg = str(e.value)
    assert "channel 'tv_spend'" in msg and "0 in all 80 rows" in msg and "remove" in msg


def test_constant_kpi(frame):
    frame["sales"] = 123.0
    with pytest.raises(DataError, match=r"'sales' \(KPI\) is constant \(123 in all 80 rows\)"):
        Dataset.from_frame(frame, **KW)


def test_column_with_two_roles(frame):
    with pytest.raises(SpecError, match="more than one role"):
        Dataset.from_frame(frame, date="date", kpi="sales", channels=["sales"])


def test_geo_panel():
    parts = []
    for g in ("north", "south"):
        f = make_frame(60, seed=1 if g == "north" else 2)
        f["region"] = g
        parts.append(f)
    panel = pd.concat(parts, ignore_index=True)
    ds = Dataset.from_frame(panel, geo="region", **KW)
    assert ds.geos == ["north", "south"] and ds.n_periods == 120
    dup = panel.copy()
    dup.loc[61, "date"] = dup.loc[60, "date"]
    with pytest.raises(DataError, match="for geo 'south' more than once, at rows 61, 62"):
        Dataset.from_frame(dup, geo="region", **KW)


def test_geo_panel_to_national():
    parts = []
    for seed, g in enumerate(("north", "south")):
        f = make_frame(60, seed=seed)
        f["region"] = g
        parts.append(f)
    ds = Dataset.from_frame(pd.concat(parts, ignore_index=True), geo="region", **KW)
    nat = ds.national()
    assert nat.geos is None and nat.n_periods == 60
    np.testing.assert_allclose(nat.kpi_values, parts[0]["sales"] + parts[1]["sales"])
    np.testing.assert_allclose(nat.spend[:, 0], parts[0]["tv_spend"] + parts[1]["tv_spend"])
    np.testing.assert_allclose(
        nat.control_values[:, 0], (parts[0]["price"] + parts[1]["price"]) / 2
    )
    assert "aggregated 2 geos" in nat.notes[-1]


def test_semicolon_csv(frame, tmp_path):
    p = tmp_path / "semi.csv"
    frame.to_csv(p, index=False, sep=";")
    ds = Dataset.from_csv(p, **KW)
    np.testing.assert_allclose(ds.kpi_values, frame["sales"].to_numpy())
