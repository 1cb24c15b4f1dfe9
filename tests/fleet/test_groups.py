"""Splitting a fleet's data into groups: names safe on disk and unique, errors that name the
column and the rows (no fitting here)."""

from __future__ import annotations

import pandas as pd
import pytest

from mediamix.errors import DataError, SpecError
from mediamix.fleet import make_groups, safe_name, unique_names


@pytest.mark.parametrize(
    ("label", "name"),
    [("North", "North"), ("São Paulo / Brand A", "Sao-Paulo-Brand-A"), ("../../etc", "etc"),
     (".hidden", "hidden"), ("a:b*c?", "a-b-c"), ("", "group"), ("///", "group"),
     ("x" * 200, "x" * 80)],
)  # fmt: skip
def test_safe_name_keeps_letters_digits_dot_dash_underscore(label, name):
    assert safe_name(label) == name


def test_unique_names_ignore_case_and_avoid_the_fleet_files():
    assert unique_names(["North", "north", "NORTH", "fleet.csv", ".fleet", "a/b", "a b"]) == [
        "North", "north-2", "NORTH-3", "fleet.csv-2", "fleet", "a-b", "a-b-2"]  # fmt: skip


def _table():
    return pd.DataFrame({"market": ["b", "a", "b", "a"], "brand": ["x", "x", "y", "x"],
                         "date": ["2024-01-01"] * 4, "sales": [1.0, 2, 3, 4]})  # fmt: skip


def test_a_table_splits_by_columns_sorted_rows_renumbered_by_columns_dropped():
    groups = make_groups(_table(), by="market,brand")
    assert [g.name for g in groups] == ["a_x", "b_x", "b_y"]
    assert [g.key_dict for g in groups] == [{"market": "a", "brand": "x"},
                                            {"market": "b", "brand": "x"},
                                            {"market": "b", "brand": "y"}]  # fmt: skip
    a = groups[0].data
    assert list(a.columns) == ["date", "sales"] and list(a.index) == [0, 1]
    assert list(a["sales"]) == [2.0, 4.0]
    # the same rows give the same digest, other rows another (resume tells them apart)
    assert groups[0].data_digest() == make_groups(_table(), by=["market", "brand"])[0].data_digest()
    assert groups[0].data_digest() != groups[1].data_digest()


def test_a_misspelt_by_column_is_named_with_the_closest():
    with pytest.raises(DataError, match=r"--by column 'markt' is not in the data\. Did you "
                       r"mean 'market'\?"):  # fmt: skip
        make_groups(_table(), by="markt")


def test_empty_group_cells_are_named_by_row():
    t = _table()
    t.loc[2, "market"] = None
    with pytest.raises(DataError, match=r"--by column 'market' is empty at row\(s\) 3"):
        make_groups(t, by="market")


def test_a_folder_is_one_group_per_file_and_refuses_by(tmp_path):
    for name in ("north.csv", "South Region.csv", "notes.txt"):
        (tmp_path / name).write_text("date,sales\n2024-01-01,1\n", encoding="utf-8")
    groups = make_groups(tmp_path)
    assert [(g.name, g.key_dict) for g in groups] == [
        ("South-Region", {"file": "South Region.csv"}), ("north", {"file": "north.csv"})]  # fmt: skip
    with pytest.raises(SpecError, match="is a folder: each file is one group"):
        make_groups(tmp_path, by="market")
    with pytest.raises(SpecError, match="give --by"):
        make_groups(tmp_path / "north.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no data files"):
        make_groups(empty)
