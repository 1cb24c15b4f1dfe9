"""A KPI value column (``data: kpi_value: COLUMN``): the KPI the model sees is ``kpi x value``
row by row, for national data and geo panels alike (`mediamix.data.dataset.value_kpi`), with
one message per fault naming the column, the row, the value and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.data import load_dataset
from mediamix.data.config import DataConfig
from mediamix.data.panel import Panel, load_panel
from mediamix.errors import DataError, SpecError
from mediamix.model.spec import load_config, split_config

from .conftest import KW, make_frame

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "meridian_geo.yaml"
MERIDIAN = REPO.parent / "shared" / "data" / "meridian_geo_all_channels.csv"
SECTION = {**KW, "kpi_value": "value"}
NOTE = "KPI = sales x value (the KPI's value per row, e.g. revenue)"


def national_frame(n: int = 80) -> pd.DataFrame:
    """The weekly table with a per-row value of one unit of sales."""
    f = make_frame(n)
    f["value"] = 2.0 + 0.01 * np.arange(n)
    return f


def geo_frame() -> pd.DataFrame:
    """Two geos ('north', 'south') of 80 weeks each, with a per-row value column."""
    parts = []
    for g, (name, seed) in enumerate((("north", 0), ("south", 1))):
        f = national_frame()
        f["sales"] = make_frame(seed=seed)["sales"]
        f["value"] = f["value"] + g
        parts.append(f.assign(region=name))
    return pd.concat(parts, ignore_index=True)


def write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    p = tmp_path / "data.csv"
    frame.to_csv(p, index=False)
    return p


def panel_of(frame: pd.DataFrame) -> Panel:
    return Panel.from_frame(frame, geo="region", kpi_value="value", **KW)


# ---- the valued KPI -----------------------------------------------------------------------
def test_national_kpi_is_kpi_times_value(tmp_path):
    f = national_frame()
    ds, _ = load_dataset(write(f, tmp_path), SECTION)
    np.testing.assert_allclose(ds.kpi_values, f["sales"] * f["value"], rtol=1e-12)
    assert NOTE in ds.notes[-1]
    assert "value" not in ds.frame.columns  # neither a control nor a channel
    assert ds.control_names == ["price"] and ds.channel_names == ["tv_spend", "search_spend"]


def test_national_kpi_is_valued_before_the_rows_are_sorted(tmp_path):
    f = national_frame().iloc[::-1].reset_index(drop=True)
    ds, _ = load_dataset(write(f, tmp_path), SECTION)
    expected = (f["sales"] * f["value"]).to_numpy()[::-1]
    np.testing.assert_allclose(ds.kpi_values, expected, rtol=1e-12)


def test_national_fit_reads_the_valued_kpi(tmp_path):
    """`mediamix fit` on national data (no geo column) prepares the valued KPI."""
    from mediamix.runs.pipeline import FitOptions, prepare_fit

    f = national_frame()
    data = write(f, tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "data:\n  date: date\n  kpi: sales\n  kpi_value: value\n"
        "  channels: [tv_spend, search_spend]\n  controls: [price]\nmodel:\n  form: additive\n"
    )
    prepared = prepare_fit(data, FitOptions(config=cfg))
    np.testing.assert_allclose(prepared.dataset.kpi_values, f["sales"] * f["value"], rtol=1e-12)
    assert prepared.spec.kpi_value == 1.0


def test_national_panel_kpi_is_kpi_times_value(tmp_path):
    f = national_frame()
    panel, _ = load_panel(write(f, tmp_path), SECTION)
    assert panel.n_geos == 1
    np.testing.assert_allclose(panel.kpi[0], f["sales"] * f["value"], rtol=1e-12)
    assert any(NOTE in n for n in panel.notes)


def test_geo_panel_kpi_is_kpi_times_value_per_row():
    f = geo_frame()
    p = panel_of(f)
    expected = (f["sales"] * f["value"]).to_numpy().reshape(2, 80)
    np.testing.assert_allclose(p.kpi, expected, rtol=1e-12)
    assert any(NOTE in n for n in p.notes)
    assert "value" not in p.to_frame().columns
    assert list(p.control_names) == ["price"]


def test_geo_panel_from_a_config_section(tmp_path):
    f = geo_frame()
    panel, _ = load_panel(write(f, tmp_path), {**SECTION, "geo": "region"})
    np.testing.assert_allclose(panel.kpi[1, 0], f["sales"][80] * f["value"][80], rtol=1e-12)


def test_check_shows_the_valued_kpi(tmp_path):
    data = write(national_frame(), tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "data:\n  date: date\n  kpi: sales\n  kpi_value: value\n"
        "  channels: [tv_spend, search_spend]\n  controls: [price]\n"
    )
    res = CliRunner().invoke(cli, ["check", str(data), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "KPI = sales x value" in res.output


# ---- faults -------------------------------------------------------------------------------
def test_missing_column_names_it_and_the_closest(tmp_path):
    f = national_frame().rename(columns={"value": "revenue_per_unit"})
    with pytest.raises(DataError) as exc:
        load_dataset(write(f, tmp_path), {**KW, "kpi_value": "revenue_per_unt"})
    msg = str(exc.value)
    assert "column 'revenue_per_unt' (value of one unit of KPI 'sales', data.kpi_value)" in msg
    assert "is not in the data. Did you mean 'revenue_per_unit'?" in msg
    assert "Fix:" in msg


def test_missing_column_in_a_geo_panel():
    f = geo_frame()
    with pytest.raises(DataError, match=r"column 'valeu' \(value of one unit of KPI 'sales'"):
        Panel.from_frame(f, geo="region", kpi_value="valeu", **KW)


def test_non_numeric_value_names_the_row_date_geo_and_fix():
    f = geo_frame().astype({"value": object})
    f.loc[82, "value"] = "two"
    with pytest.raises(DataError) as exc:
        panel_of(f)
    msg = str(exc.value)
    assert "column 'value' (value of one unit of KPI 'sales', data.kpi_value)" in msg
    assert "non-numeric value 'two' at row 83 (geo 'south', 2022-01-17)" in msg
    assert "Fix: write the value of one unit of 'sales'" in msg and "> 0" in msg
    assert "use 0" not in msg


@pytest.mark.parametrize(
    "cell, what", [(np.nan, "empty (NaN) cells"), ("n/a", "a missing value")]
)  # fmt: skip
def test_missing_or_nan_value_names_the_row(cell, what):
    f = geo_frame().astype({"value": object})
    f.loc[4, "value"] = cell
    with pytest.raises(DataError) as exc:
        panel_of(f)
    msg = str(exc.value)
    assert f"column 'value' (value of one unit of KPI 'sales', data.kpi_value) has {what}" in msg
    assert "row 5 (geo 'north', 2022-01-31)" in msg
    assert "Fix: write the value of one unit of 'sales'" in msg
    assert "leave data.kpi_value out" in msg


def test_nan_value_in_national_data_names_the_row_and_date(tmp_path):
    f = national_frame()
    f.loc[2, "value"] = np.nan
    with pytest.raises(DataError) as exc:
        load_dataset(write(f, tmp_path), SECTION)
    msg = str(exc.value)
    assert "has empty (NaN) cells at row 3 (2022-01-17)" in msg and "'value'" in msg


@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_value_not_positive_names_the_row_and_value(bad):
    f = geo_frame()
    f.loc[81, "value"] = bad
    with pytest.raises(DataError) as exc:
        panel_of(f)
    msg = str(exc.value)
    assert (
        f"column 'value' (value of one unit of KPI 'sales', data.kpi_value) is {bad:g} at "
        "row 82 (geo 'south', 2022-01-10)"
    ) in msg
    assert "the KPI the model sees is sales x value, so every value must be > 0" in msg
    assert "Fix:" in msg


def test_value_not_positive_in_national_data(tmp_path):
    f = national_frame()
    f.loc[6, "value"] = -2.0
    with pytest.raises(DataError, match=r"is -2 at row 7 \(2022-02-14\)"):
        load_dataset(write(f, tmp_path), SECTION)


def test_value_column_with_another_role_is_refused(tmp_path):
    f = national_frame()
    with pytest.raises(SpecError, match="column 'price' is given as value of one unit of KPI"):
        load_dataset(write(f, tmp_path), {**KW, "kpi_value": "price"})
    with pytest.raises(SpecError, match="column 'price' is given as"):
        Panel.from_frame(geo_frame(), geo="region", kpi_value="price", **KW)


def test_a_number_as_data_kpi_value_points_to_the_model_key():
    with pytest.raises(SpecError) as exc:
        DataConfig.parse({**KW, "kpi_value": 0.02})
    msg = str(exc.value)
    assert msg.startswith("data.kpi_value: names the column")
    assert "set `kpi_value: 0.02` in the model: section instead" in msg


def test_data_and_model_kpi_value_together_are_refused():
    raw = {"data": SECTION, "model": {"kpi_value": 0.02}}
    with pytest.raises(SpecError) as exc:
        split_config(raw)
    msg = str(exc.value)
    assert msg.startswith("data.kpi_value and model.kpi_value both value the KPI")
    assert "data.kpi_value 'value'" in msg and "model.kpi_value 0.02" in msg
    assert "Fix: keep one: drop model.kpi_value (or set it to 1)" in msg
    # model.kpi_value 1 (the default) values nothing: accepted
    data, spec = split_config({"data": SECTION, "model": {"kpi_value": 1.0}})
    assert data["kpi_value"] == "value" and spec.kpi_value == 1.0


def test_data_and_model_kpi_value_in_a_config_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "data:\n  date: date\n  kpi: sales\n  kpi_value: value\n  channels: [tv_spend]\n"
        "model:\n  kpi_value: 0.5\n"
    )
    with pytest.raises(SpecError, match="data.kpi_value and model.kpi_value"):
        load_config(cfg)


def test_to_dict_parses_back():
    cfg = DataConfig.parse(SECTION)
    assert cfg.kpi_value == "value"
    assert DataConfig.parse(cfg.to_dict()) == cfg


# ---- Meridian's geo example ---------------------------------------------------------------
@pytest.mark.skipif(not MERIDIAN.exists(), reason="shared Meridian geo data not present")
def test_meridian_geo_example_kpi_is_conversions_times_revenue_per_conversion():
    data, spec = load_config(EXAMPLE)
    assert data["kpi_value"] == "revenue_per_conversion" and spec.kpi_value == 1.0
    panel, _ = load_panel(MERIDIAN, data)
    raw = pd.read_csv(MERIDIAN)
    assert any("KPI = conversions x revenue_per_conversion" in n for n in panel.notes)
    for i in (0, len(raw) - 1):  # the first row of Geo0 and the last row of the file
        row = raw.iloc[i]
        g = panel.geos.index(str(row["geo"]))
        t = panel.dates.get_loc(pd.Timestamp(row["time"]))
        expected = row["conversions"] * row["revenue_per_conversion"]
        assert panel.kpi[g, t] == pytest.approx(expected, rel=1e-6)


def test_a_refresh_values_the_new_rows_with_the_old_runs_column(tmp_path):
    # the dataset records its value column, the run's data checks keep it (the dataset
    # summary) and `mediamix refresh` reloads the new rows through it
    from types import SimpleNamespace

    from mediamix.cli.refresh_cmds import _recorded_roles

    frame = national_frame()
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    ds, _ = load_dataset(path, SECTION)
    assert ds.spec.kpi_value == "value" and ds.summary()["kpi_value"] == "value"
    plain, _ = load_dataset(path, KW)
    assert plain.summary()["kpi_value"] is None
    view = SimpleNamespace(path=tmp_path, checks={"dataset": ds.summary()}, data=None)
    roles = _recorded_roles(view)
    assert roles["kpi_value"] == "value" and roles["kpi"] == ds.spec.kpi
    again, _ = load_dataset(path, {"kpi_value": roles["kpi_value"]}, date=KW["date"],
                            kpi=roles["kpi"], channels=roles["channels"],
                            controls=roles["controls"])  # fmt: skip
    np.testing.assert_allclose(again.kpi_values, ds.kpi_values)
    np.testing.assert_allclose(again.kpi_values, frame[KW["kpi"]] * frame["value"])
