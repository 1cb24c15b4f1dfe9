"""A database URL whose driver is not installed: one error naming the extra that brings it."""

from __future__ import annotations

import pytest

from mediamix.errors import DataError, SpecError


def test_sql_source_with_a_missing_driver_names_the_postgres_extra():
    from mediamix.data.loaders import read_sql

    with pytest.raises(DataError, match=r"driver is not installed.*mediamix\[postgres\]"):
        read_sql("postgresql+pg8000://u@localhost/db", "select 1")


def test_planner_store_with_a_missing_driver_names_the_extra_and_hides_the_password():
    from mediamix.app.store import make_engine

    with pytest.raises(SpecError, match=r"mediamix\[postgres\]") as err:
        make_engine("postgresql+pg8000://u:secret@localhost/db")
    assert "secret" not in str(err.value)
