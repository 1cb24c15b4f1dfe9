"""The experiments table: reading, and errors that name the row, the column, the value and
the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from mediamix.data import Dataset
from mediamix.data.experiments import (
    COLUMNS,
    Experiment,
    experiments_frame,
    read_experiments,
)
from mediamix.errors import DataError
from tests.data.conftest import KW, make_frame


@pytest.fixture(scope="module")
def ds():
    return Dataset.from_frame(make_frame(), **KW)


def row(**kw):
    base = {"channel": "search_spend", "start": "2022-03-07", "end": "2022-03-28",
            "spend_change": 2000.0, "lift": 2500.0, "lift_se": 400.0}  # fmt: skip
    return {**base, **kw}


def test_reads_rows_files_and_frames_alike(ds, tmp_path):
    rows = [row(), row(channel="tv_spend", start="2022-06-06", end="2022-06-20",
                       spend_change=-3000, lift=-1800, measure_end="2022-07-11")]  # fmt: skip
    got = read_experiments(rows, ds)
    assert got[0] == Experiment("search_spend", "2022-03-07", "2022-03-28", 2000, 2500, 400)
    assert got[0].window_end == "2022-03-28" and got[1].window_end == "2022-07-11"
    assert got[1].measured_roi == pytest.approx(0.6)
    path = tmp_path / "tests.csv"
    experiments_frame(got).to_csv(path, index=False)
    assert read_experiments(path, ds) == got
    assert read_experiments(pd.read_csv(path), ds) == got
    assert read_experiments(list(got), ds) == got
    assert read_experiments(None, ds) == ()
    assert list(experiments_frame(got).columns) == list(COLUMNS)
    assert Experiment.from_dict(got[1].to_dict()) == got[1]


@pytest.mark.parametrize(
    "bad, words",
    [
        (
            row(channel="serch_spend"),
            ["row 1", "channel", "serch_spend", "Did you mean 'search_spend'"],
        ),
        (
            row(start="2022-03-08"),
            ["row 1", "start", "2022-03-08", "not one of the data's period", "2022-03-07"],
        ),
        (row(end="2031-01-05"), ["end", "2031-01-05", "outside the data", "2022-01-03"]),
        (row(measure_end="2022-03-21"), ["measure_end", "2022-03-21", "before end 2022-03-28"]),
        (row(lift_se=0), ["lift_se", "not > 0", "standard error"]),
        (row(lift_se=-3), ["lift_se", "-3", "not > 0"]),
        (row(lift="lots"), ["row 1", "'lift'", "'lots' is not a number", "KPI units"]),
        (row(spend_change=0), ["spend_change", "0", "nothing was tested"]),
        (row(start="yesterday-ish"), ["start", "'yesterday-ish' is not a date", "YYYY-MM-DD"]),
        (row(end="2022-02-28"), ["end", "before start"]),
        (row(geo="north"), ["geo", "'north'", "national", "leave geo empty"]),
        (
            row(spend_change=1e6),
            ["spend_change", "per period", "more than the data's spend", "in_data to false"],
        ),
        (row(spend_change=-1e6, in_data=False), ["cut of", "more than the data's spend"]),
        (row(in_data="maybe"), ["in_data", "'maybe'", "true or false"]),
        ({**row(), "lift_sd": 3}, ["unknown column 'lift_sd'", "Did you mean 'lift_se'"]),
        ({k: v for k, v in row().items() if k != "lift_se"}, ["missing column", "lift_se"]),
    ],
)
def test_errors_name_row_column_value_and_fix(ds, bad, words):
    with pytest.raises(DataError) as exc:
        read_experiments([row(), bad] if "row 1" not in words else [bad], ds)
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg
    assert "Fix" in msg or "Did you mean" in msg or "Channels" in msg, msg


def test_file_errors_give_the_line_of_the_file(ds, tmp_path):
    path = tmp_path / "tests.csv"
    pd.DataFrame([row(), row(lift_se=0)]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"tests.csv' row 3, column 'lift_se'"):
        read_experiments(path, ds)
    with pytest.raises(DataError, match="does not exist"):
        read_experiments(tmp_path / "nope.csv", ds)
    with pytest.raises(DataError, match="single mapping"):
        read_experiments(row(), ds)


def test_blank_optional_cells_take_their_defaults(ds, tmp_path):
    path = tmp_path / "tests.csv"
    pd.DataFrame([{**row(), "measure_end": "", "geo": "", "in_data": ""}]).to_csv(path, index=False)
    (e,) = read_experiments(path, ds)
    assert e.measure_end is None and e.geo is None and e.in_data is True


def test_experiment_checks_itself_without_data():
    with pytest.raises(DataError, match="lift_se"):
        Experiment("tv", "2022-01-03", "2022-01-10", 100.0, 10.0, 0.0)
    e = Experiment("tv", pd.Timestamp("2022-01-03"), "2022-01-10", "100", 10, 2, in_data="false")
    assert e.start == "2022-01-03" and e.spend_change == 100.0 and e.in_data is False


def test_data_errors_in_a_file_give_its_line_too(ds, tmp_path):
    path = tmp_path / "tests.csv"
    pd.DataFrame([row(), row(channel="radio")]).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"tests.csv' row 3 \(radio, 2022-03-07\), column 'channel'"
    ):
        read_experiments(path, ds)
