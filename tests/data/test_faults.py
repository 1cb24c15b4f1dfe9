"""Data input faults (docs/faults/A-data.md): every bad file gets one clear answer.

Each case is a small file made in ``tmp_path`` from ``examples/weekly_demo.csv`` with one
fault. A file that can be read gives exactly the numbers of the clean file; one that cannot
is refused by ``mediamix check`` with exit 2 and a message naming the column, the row, the
value and the fix. The web upload reads through the same reader and answers the same.
"""

from __future__ import annotations

import sqlite3
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.data import Dataset, load_dataset
from mediamix.data.diagnostics import checks_from_arrays, diagnostics
from mediamix.data.loaders import number_format, read_csv_bytes
from mediamix.data.validation import MAX_ABS_VALUE, estimate_n_params
from mediamix.errors import DataError

DEMO = Path(__file__).resolve().parents[2] / "examples" / "weekly_demo.csv"
CHANNELS = ["tv_spend", "search_spend", "social_spend"]
CONTROLS = ["price_index", "promo"]
ROLES = dict(date="date", kpi="sales", channels=CHANNELS, controls=CONTROLS)
C = ["--date", "date", "--kpi", "sales", "--channels", ",".join(CHANNELS)]
C += ["--controls", ",".join(CONTROLS)]


def src() -> pd.DataFrame:
    return pd.read_csv(DEMO)


def load(path: Path, **kw) -> Dataset:
    return load_dataset(path, {**ROLES, **kw})[0]


def check(*args: str):
    return CliRunner().invoke(cli, ["check", *map(str, args)])


def same_numbers(a: Dataset, b: Dataset) -> None:
    np.testing.assert_array_equal(a.dates, b.dates)
    np.testing.assert_allclose(a.kpi_values, b.kpi_values, rtol=1e-12)
    np.testing.assert_allclose(a.spend, b.spend, rtol=1e-12)
    np.testing.assert_allclose(a.control_values, b.control_values, rtol=1e-12)


# ---------------------------------------------------------------- files that must be refused
def _cell(col: str, row: int, value) -> callable:
    """A writer: the demo with one cell (0-based ``row``) set to ``value``."""

    def write(p: Path) -> None:
        d = src()
        d[col] = d[col].astype(object)
        d.loc[row, col] = value
        d.to_csv(p, index=False)

    return write


def _frame(change) -> callable:
    def write(p: Path) -> None:
        d = change(src())
        d.to_csv(p, index=False)

    return write


def _text(change) -> callable:
    def write(p: Path) -> None:
        p.write_bytes(change(DEMO.read_text()))

    return write


def _set(col, values):
    def change(d):
        d[col] = values(d) if callable(values) else values
        return d

    return change


def _latin1(text: str) -> bytes:
    return text.replace("promo\n", "promoción\n", 1).encode("latin-1")


def _xlsx(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")


REFUSED = {
    # id: (writer, file name, [message pieces])
    "A1_misspelt": (
        _text(lambda t: t.replace("tv_spend", "tv_spnd", 1).encode()),
        "misspelt.csv",
        ["column 'tv_spend'", "is not in the data", "Did you mean 'tv_spnd'?", "Fix: rename"],
    ),
    "A3_negspend": (
        _cell("search_spend", 10, -500),
        "negspend.csv",
        ["'search_spend'", "negative value -500", "row 11 (2021-03-15)", ">= 0"],
    ),
    "A4_nan_cell": (
        _cell("tv_spend", 5, np.nan),
        "nan_cell.csv",
        ["'tv_spend'", "empty (NaN) cells", "row 6 (2021-02-08)", "Fix: fill in the value"],
    ),
    "A5_nan_literal": (
        _cell("sales", 7, "NaN"),
        "nan_literal.csv",
        ["'sales' (KPI)", "row 8 (2021-02-22)", "the cell says 'NaN'", "Fix: fill in"],
    ),
    "A6_text_abc": (
        _cell("tv_spend", 12, "abc"),
        "text_abc.csv",
        ["'tv_spend'", "non-numeric value 'abc'", "row 13 (2021-03-29)", "plain numbers"],
    ),
    "A7_n_a": (
        _cell("tv_spend", 12, "n/a"),
        "text_numeric.csv",
        ["'tv_spend'", "row 13 (2021-03-29)", "the cell says 'n/a'", "missing-value marker"],
    ),
    "A8_currency": (
        _frame(_set("tv_spend", lambda d: [f"${v:,.2f}" for v in d["tv_spend"]])),
        "currency.csv",
        ["'tv_spend'", "non-numeric value '$0.00'", "rows 1 (2021-01-04)", "currency signs"],
    ),
    "A9_dup_dates": (
        _cell("date", 20, "2021-05-17"),
        "dup_dates.csv",
        ["'date' (date) has the date 2021-05-17 more than once", "rows 20, 21", "keep one row"],
    ),
    "A10_gaps": (
        _frame(lambda d: d.drop(index=[30, 31])),
        "gaps.csv",
        ["gap between 2021-07-26 (row 30) and 2021-08-16 (row 31)", "2 week(s) missing"],
    ),
    "A11_irregular": (
        _cell("date", 40, "2021-10-13"),
        "irregular.csv",
        ["irregular spacing between 2021-10-04 (row 40) and 2021-10-13 (row 41)", "weekly"],
    ),
    "A13_const_kpi": (
        _frame(_set("sales", 1000.0)),
        "const_kpi.csv",
        ["'sales' (KPI) is constant (1000 in all 156 rows)", "Fix:"],
    ),
    "A14_zero_channel": (
        _frame(_set("social_spend", 0.0)),
        "zero_channel.csv",
        ["channel 'social_spend'", "is 0 in all 156 rows", "Fix: remove 'social_spend'"],
    ),
    "A15_few_rows": (
        _frame(lambda d: d.head(10)),
        "few_rows.csv",
        ["10 weekly rows", "about 21 parameters", "max(20, 3 x parameters) = 63 rows"],
    ),
    "A20_one_comma_decimal": (
        _cell("sales", 7, "1,5"),
        "one_comma_decimal.csv",
        ["'sales' (KPI)", "'1,5'", "row 8 (2021-02-22)", "decimal comma", "decimal: ','"],
    ),
    "A20_comma_decimal_quoted": (
        _cell("tv_spend", 0, "0,00"),
        "comma_decimal_quoted.csv",
        ["'tv_spend'", "'0,00'", "row 1 (2021-01-04)", "decimal comma", "Fix: write it"],
    ),
    "A22_excel_renamed": (
        _xlsx,
        "excel_renamed.csv",
        ["spreadsheet workbook", "not a CSV", "save it as 'CSV UTF-8'"],
    ),
    "A22_xlsx_suffix": (_xlsx, "data.xlsx", ["spreadsheet workbook", "'CSV UTF-8'"]),
    "A23_utf16": (
        _text(lambda t: t.encode("utf-16")),
        "utf16.csv",
        ["is UTF-16 text", "save it as 'CSV UTF-8'"],
    ),
    "A23_latin1": (
        _text(_latin1),
        "latin1.csv",
        ["is not UTF-8 text", "byte 0xf3 at line 1", "Latin-1", "save it as 'CSV UTF-8'"],
    ),
    "A24_header_only": (
        _text(lambda t: t.splitlines()[0].encode() + b"\n"),
        "empty_header_only.csv",
        ["the data have no rows", "Fix:"],
    ),
    "A25_zero_byte": (_text(lambda t: b""), "zero_byte.csv", ["is empty", "header row"]),
    "A25_whitespace": (_text(lambda t: b"  \n\n "), "whitespace.csv", ["is empty"]),
    "A26_huge": (
        _cell("tv_spend", 15, 1e300),
        "huge.csv",
        ["'tv_spend'", "1e+300", "row 16 (2021-04-19)", "|value| <= 1e+15", "rescale"],
    ),
    "A28_huge_kpi": (
        _cell("sales", 15, 1e300),
        "huge_kpi.csv",
        ["'sales' (KPI)", "1e+300", "row 16 (2021-04-19)", "|value| <= 1e+15"],
    ),
    "A30_inf": (
        _cell("tv_spend", 16, "inf"),
        "inf.csv",
        ["'tv_spend'", "an infinite value at row 17 (2021-04-26)"],
    ),
    "A30_ninf_kpi": (
        _cell("sales", 16, "-inf"),
        "ninf_kpi.csv",
        ["'sales' (KPI) has an infinite value at row 17 (2021-04-26)"],
    ),
    "A34_neg_kpi_many": (
        _frame(_set("sales", lambda d: d["sales"] - d["sales"].mean() - 1.0)),
        "neg_kpi_many.csv",
        ["'sales' (KPI) has mean -1 <= 0", "of 156 values are negative", "positive KPI"],
    ),
    "A35_bad_date": (
        _cell("date", 50, "not a date"),
        "bad_date.csv",
        ["'date' (date) has a value that is not a date at row 51", "'not a date'", "YYYY-MM-DD"],
    ),
    "A36_text_control": (
        _cell("promo", 8, "yes"),
        "text_control.csv",
        ["'promo' (control) has a non-numeric value 'yes' at row 9 (2021-03-01)"],
    ),
    "A37_dup_columns": (
        _text(lambda t: t.replace("promo\n", "tv_spend\n", 1).encode()),
        "dup_columns.csv",
        ["header 'tv_spend' more than once", "columns 3, 7", "rename or delete"],
    ),
    "A38_ragged": (
        _text(lambda t: t.replace("\n", "\n2021-01-01,1,2,3,4,5,6,7,8\n", 5)[:-1].encode()),
        "ragged.csv",
        ["could not read", "Expected 7 fields", "saw 9", "as many fields as the header"],
    ),
    "A39_garbage": (
        lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)),
        "garbage.csv",
        ["is not UTF-8 text", "'CSV UTF-8'"],
    ),
    "A41_allnan_control": (
        _frame(_set("price_index", np.nan)),
        "allnan_control.csv",
        ["'price_index' (control) has empty (NaN) cells at rows 1", "and 151 more"],
    ),
    "A501_ambiguous_dates": (
        _frame(
            lambda d: d.assign(date=pd.to_datetime(d["date"]).dt.strftime("%m/%d/%Y")).iloc[[0, 1]]
        ),
        "ambiguous_dates.csv",
        [
            "can be read as DD/MM/YYYY",
            "or as MM/DD/YYYY",
            "date_format: '%d/%m/%Y'",
            "--date-format",
        ],
    ),
    "A502_mixed_day_month": (
        _frame(
            lambda d: d.assign(
                date=[
                    t.strftime("%d/%m/%Y") if i < 80 else t.strftime("%m/%d/%Y")
                    for i, t in enumerate(pd.to_datetime(d["date"]))
                ]
            )
        ),
        "mixed_dates.csv",
        ["day-first dates", "month-first dates", "in one column", "one format"],
    ),
    "A503_semicolon_ambiguous_thousands": (
        _text(
            lambda t: (
                b"date;sales;tv_spend;search_spend;social_spend;price_index;promo\n"
                + "".join(
                    f"{d:%Y-%m-%d};1,{100 + i % 50:03d};1,000;2;3;1;0\n"
                    for i, d in enumerate(pd.date_range("2021-01-04", periods=80, freq="W-MON"))
                ).encode()
            )
        ),
        "semicolon_thousands.csv",
        ["cannot tell the decimal mark", "'1,100'", "1100 with '.'", "1.1 with ','", "decimal:"],
    ),
    "A513_excel_serial_dates": (
        _frame(lambda d: d.assign(date=44200 + 7 * np.arange(len(d)))),
        "serial_dates.csv",
        ["'date' (date) holds numbers such as '44200'", "serial day numbers", "YYYY-MM-DD"],
    ),
    "A504_parquet_named_csv": (
        lambda p: src().to_parquet(p),
        "parquet_named.csv",
        ["is a Parquet file", ".parquet"],
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_check_refuses_bad_file(case, tmp_path):
    write, name, pieces = REFUSED[case]
    p = tmp_path / name
    write(p)
    res = check(p, *C)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "RuntimeWarning" not in res.output
    for piece in pieces:
        assert piece in res.output, (piece, res.output)


@pytest.mark.parametrize(
    "case, pieces",
    [
        ("missing", ["data file", "does_not_exist.csv' does not exist", "check the path"]),
        ("directory", ["a_directory.csv' is a directory", "name the file itself"]),
        ("sqlite", ["SQLite database file", "does not exist", "check the path"]),
        ("sql_table", ["SQL query failed", "no such table: t", "check the query"]),
    ],
)
def test_check_refuses_missing_sources(case, pieces, tmp_path):
    args: list = []
    if case == "missing":
        args = [tmp_path / "does_not_exist.csv"]
    elif case == "directory":
        (tmp_path / "a_directory.csv").mkdir()
        args = [tmp_path / "a_directory.csv"]
    elif case == "sqlite":
        args = [f"sqlite:///{tmp_path / 'nope.db'}", "--query", "select * from t"]
    else:
        sqlite3.connect(tmp_path / "empty.db").close()
        args = [f"sqlite:///{tmp_path / 'empty.db'}", "--query", "select * from t"]
    res = check(*args, *C)
    assert res.exit_code == 2, res.output
    for piece in pieces:
        assert piece in res.output, (piece, res.output)
    assert not (tmp_path / "nope.db").exists()  # no empty database file left behind


@pytest.mark.parametrize(
    "case, name",
    [("A2_misspelt", "misspelt.csv"), ("A27_huge", "huge.csv"), ("A29_huge_kpi", "huge_kpi.csv")],
)
def test_fit_refuses_before_compiling(case, name, tmp_path):
    writer = {
        "A2_misspelt": REFUSED["A1_misspelt"][0],
        "A27_huge": REFUSED["A26_huge"][0],
        "A29_huge_kpi": REFUSED["A28_huge_kpi"][0],
    }[case]
    p = tmp_path / name
    writer(p)
    out = ["--out", str(tmp_path / "run"), "--method", "map", "--steps", "10"]
    res = CliRunner().invoke(cli, ["fit", str(p), *out, *C])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "RuntimeWarning" not in res.output
    assert ("tv_spnd" in res.output) if case == "A2_misspelt" else ("<= 1e+15" in res.output)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------- files read as the same numbers
def _european(p: Path) -> None:
    src().to_csv(p, index=False, sep=";", decimal=",")


def _european_thousands(p: Path) -> None:
    d = src()
    for col in ["sales", *CHANNELS]:
        d[col] = [f"{v:,.2f}".replace(",", " ").replace(".", ",") for v in d[col]]
    d.to_csv(p, index=False, sep=";", decimal=",")


READ_SAME = {
    "A12_unsorted": lambda p: src().sample(frac=1.0, random_state=1).to_csv(p, index=False),
    "A16_bom": lambda p: p.write_bytes(b"\xef\xbb\xbf" + DEMO.read_bytes()),
    "A17_semicolon": lambda p: src().to_csv(p, index=False, sep=";"),
    "A18_european": _european,
    "A18_european_thousands": _european_thousands,
    "A21_thousands": lambda p: (
        src().assign(sales=lambda d: [f"{v:,.2f}" for v in d["sales"]]).to_csv(p, index=False)
    ),
    "A31_ddmmyyyy": lambda p: (
        src()
        .assign(date=lambda d: pd.to_datetime(d["date"]).dt.strftime("%d/%m/%Y"))
        .to_csv(p, index=False)
    ),
    "A31_ddmmyyyy_dots": lambda p: (
        src()
        .assign(date=lambda d: pd.to_datetime(d["date"]).dt.strftime("%d.%m.%Y"))
        .to_csv(p, index=False, sep=";", decimal=",")
    ),
    "A32_mmddyyyy": lambda p: (
        src()
        .assign(date=lambda d: pd.to_datetime(d["date"]).dt.strftime("%m/%d/%Y"))
        .to_csv(p, index=False)
    ),
    "A40_tz": lambda p: (
        src().assign(date=lambda d: d["date"] + "T00:00:00+02:00").to_csv(p, index=False)
    ),
    "A40_bool_control": lambda p: (
        src()
        .assign(promo=lambda d: np.where(d["promo"] > 0, "TRUE", "FALSE"))
        .to_csv(p, index=False)
    ),
    "A46_parquet": lambda p: src().to_parquet(p),
    "A505_tab": lambda p: src().to_csv(p, index=False, sep="\t"),
}


@pytest.mark.parametrize("case", sorted(READ_SAME))
def test_check_reads_the_same_numbers(case, tmp_path):
    name = "data.parquet" if case == "A46_parquet" else "data.csv"
    p = tmp_path / name
    READ_SAME[case](p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no parser or overflow warning reaches the user
        ds = load(p)
    same_numbers(ds, load(DEMO))
    res = check(p, *C)
    assert res.exit_code == 0, res.output
    if case == "A12_unsorted":
        assert "were not in order; sorted them (2021-01-04 to 2023-12-25)" in res.output
    if case.startswith("A31"):
        assert "read as DD" in res.output


def test_european_csv(tmp_path):
    """The same data written the usual way and as a ';' / decimal-comma export give the same
    numbers: 158815,78 is 158815.78, not 15881578."""
    p = tmp_path / "european.csv"
    _european(p)
    assert "158815,78" in p.read_text() and "0,9969" in p.read_text()
    ds = load(p)
    assert ds.kpi_values[0] == pytest.approx(158815.78)
    assert ds.control_values[1, 0] == pytest.approx(0.9969)
    same_numbers(ds, load(DEMO))
    assert read_csv_bytes(p.read_bytes()).attrs["decimal"] == ","
    # and the fit reads what check read: the same Dataset through the same loader
    same_numbers(Dataset.from_csv(p, **ROLES), load(DEMO))


def test_decimal_can_be_given(tmp_path):
    p = tmp_path / "semicolon_thousands.csv"
    REFUSED["A503_semicolon_ambiguous_thousands"][0](p)
    ds = load(p, decimal=",")
    assert ds.kpi_values[0] == pytest.approx(1.1) and ds.spend[0, 0] == pytest.approx(1.0)
    res = check(p, *C, "--decimal", ".")
    assert res.exit_code == 0, res.output
    assert load(p, decimal=".").kpi_values[0] == 1100.0


def test_date_format_can_be_given(tmp_path):
    p = tmp_path / "ambiguous_dates.csv"
    d = src().head(2)
    d["date"] = ["01/04/2021", "01/11/2021"]  # Jan 4 and Jan 11, month first: no day above 12
    d.to_csv(p, index=False)
    res = check(p, *C)
    assert res.exit_code == 2 and "can be read as DD/MM/YYYY" in res.output
    # month first: two weekly dates (then the row rule refuses 2 rows)
    res = check(p, *C, "--date-format", "%m/%d/%Y")
    assert res.exit_code == 2 and "the data have 2 weekly rows" in res.output, res.output
    # day first, from the YAML data section: 1 April and 1 November, 214 days apart
    cfg = tmp_path / "data.yaml"
    cfg.write_text(
        "data:\n  path: ambiguous_dates.csv\n  date: date\n  kpi: sales\n"
        "  channels: [tv_spend, search_spend, social_spend]\n  date_format: '%d/%m/%Y'\n"
    )
    res = check("--config", cfg)
    assert res.exit_code == 2 and "spacing between dates is 214 days" in res.output, res.output
    res = check(p, *C, "--date-format", "week %W")
    assert res.exit_code == 2 and "the format 'week %W' given by date_format" in res.output


def test_ambiguous_date_message_names_the_choices():
    frame = src().head(2).assign(date=["04/01/2021", "11/01/2021"])
    with pytest.raises(DataError) as e:
        Dataset.from_frame(frame, **ROLES, n_params=1)
    msg = str(e.value)
    assert "'04/01/2021'" in msg and "DD/MM/YYYY (day first)" in msg
    assert "MM/DD/YYYY (month first)" in msg and "'%m/%d/%Y'" in msg


# ------------------------------------------------------------------- warnings, not errors
def test_negative_kpi_cells_warn(tmp_path):
    p = tmp_path / "neg_kpi.csv"
    _cell("sales", 10, -5000)(p)
    res = check(p, *C, "--strict", "--format", "json")
    assert res.exit_code == 1, res.output
    assert '"kpi_negative"' in res.output and "negative in 1 period(s) (2021-03-15)" in res.output


def test_constant_control_warns(tmp_path):
    p = tmp_path / "const_control.csv"
    _frame(_set("price_index", 1.0))(p)
    res = check(p, *C, "--strict", "--format", "json")
    assert res.exit_code == 1, res.output
    assert "control 'price_index' is constant" in res.output
    warned = [c for c in diagnostics(load(p)).warnings if c.name == "control_variation"]
    assert [c.subject for c in warned] == ["price_index"]
    assert "aliased with the intercept" in warned[0].advice and "drop it" in warned[0].advice


def test_collinear_channels_warn(tmp_path):
    p = tmp_path / "collinear.csv"
    _frame(_set("social_spend", lambda d: d["search_spend"]))(p)
    res = check(p, *C)
    assert res.exit_code == 0 and "3 warning(s)" in res.output
    res = check(p, *C, "--format", "json")
    assert "r = 1.00" in res.output and "VIF = inf" in res.output


def test_non_finite_diagnostics_are_never_ok():
    """Arrays too large to compute with: VIF nan / variation inf are 'warn', with no numpy
    RuntimeWarning."""
    from types import SimpleNamespace

    spend = np.abs(np.random.default_rng(0).normal(size=(60, 2))) + 1.0
    spend[5, 0] = 1e300
    data = SimpleNamespace(
        channel_names=["tv", "search"],
        control_names=[],
        media=spend,
        spend=spend,
        controls=np.zeros((60, 0)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = checks_from_arrays(data)
    for c in out["checks"]:
        if c["value"] is None or c["value"] == "inf":
            assert c["verdict"] == "warn", c
    assert any(c["value"] in (None, "inf") for c in out["checks"])


def test_values_up_to_the_limit_are_accepted(tmp_path):
    d = src()
    d["sales"] = d["sales"] * 1e9  # 1.6e14: large but below the limit
    assert d["sales"].max() < MAX_ABS_VALUE
    ds = Dataset.from_frame(d, **ROLES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diagnostics(ds)


# ------------------------------------------------------------------- the rows-per-parameter rule
def test_row_rule_counts_the_model_terms(tmp_path):
    cfg = tmp_path / "model.yaml"
    cfg.write_text(
        f"data:\n  path: {DEMO}\n  date: date\n  kpi: sales\n"
        "  channels: [tv_spend, search_spend, social_spend]\n  controls: [price_index, promo]\n"
        "model:\n  seasonality_order: 26\n"
    )
    res = check("--config", cfg)
    assert res.exit_code == 2, res.output
    # 1 intercept + 1 trend + 52 Fourier + 3 x 4 channel + 2 controls + 1 noise = 69
    assert "the model has 69 parameters" in res.output and "seasonality 52" in res.output
    assert "156 weekly rows" in res.output and "= 207 rows" in res.output
    assert "lower seasonality_order (now 26" in res.output
    cfg.write_text(cfg.read_text().replace("26", "2"))
    assert check("--config", cfg).exit_code == 0


def test_count_model_parameters():
    """The history-length diagnostic of `check --config` counts the spec's terms; the default
    model (hill + geometric: 4 per channel, yearly order 2, linear trend) is the data layer's
    estimate."""
    from mediamix.cli.data_cmds import spec_parameter_count
    from mediamix.model.spec import ModelSpec

    ds = load(DEMO)
    assert spec_parameter_count(ModelSpec(), ds) == estimate_n_params(3, 2) == 21
    assert spec_parameter_count(ModelSpec(seasonality_order=10), ds) == 21 + 16
    history = [c for c in diagnostics(ds, spec_parameter_count(ModelSpec(), ds)).checks]
    assert [c.subject for c in history if c.name == "history_length"] == [
        "156 periods / 21 parameters"
    ]


# ------------------------------------------------------------------- one reader, CLI and upload
UPLOAD_CASES = [
    "A17_semicolon",
    "A18_european",
    "A18_european_thousands",
    "A21_thousands",
    "A31_ddmmyyyy",
    "A20_one_comma_decimal",
    "A26_huge",
    "A23_utf16",
    "A23_latin1",
    "A22_excel_renamed",
    "A37_dup_columns",
    "A7_n_a",
    "A504_parquet_named_csv",
]


@pytest.mark.parametrize("case", UPLOAD_CASES)
def test_upload_answers_as_the_cli(case, tmp_path):
    from mediamix.app.services.uploads import Columns, validate_upload

    write = READ_SAME[case] if case in READ_SAME else REFUSED[case][0]
    p = tmp_path / "data.csv"
    write(p)
    columns = Columns("date", "sales", tuple(CHANNELS), tuple(CONTROLS))
    try:
        cli_ds, cli_err = load(p), None
    except DataError as exc:
        cli_ds, cli_err = None, str(exc).replace(f"'{p}'", "the upload")
    try:
        web_ds, web_err = validate_upload(p.read_bytes(), columns), None
    except DataError as exc:
        web_ds, web_err = None, str(exc)
    assert web_err == cli_err
    if cli_ds is not None:
        same_numbers(web_ds, cli_ds)
        same_numbers(web_ds, load(DEMO))
    assert (cli_err is None) == (case in READ_SAME)


@pytest.fixture
def client(tmp_path):
    from fastapi.testclient import TestClient

    from mediamix.app.server import create_app
    from mediamix.app.store import Store

    store = Store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "home")
    with TestClient(create_app(store)) as c:
        yield c
    store.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "case",
    ["empty", "binary", "xlsx", "utf16", "parquet", "misspelt", "negative", "one_comma", "dup"],
)
def test_upload_refusals_are_422_with_the_data_layers_message(case, client, tmp_path):
    writers = {
        "xlsx": REFUSED["A22_excel_renamed"][0],
        "utf16": REFUSED["A23_utf16"][0],
        "parquet": REFUSED["A504_parquet_named_csv"][0],
        "misspelt": REFUSED["A1_misspelt"][0],
        "negative": REFUSED["A3_negspend"][0],
        "one_comma": REFUSED["A20_one_comma_decimal"][0],
        "dup": REFUSED["A37_dup_columns"][0],
    }
    expected = {
        "empty": "the uploaded file is empty",
        "binary": "is not UTF-8 text",
        "xlsx": "the upload is a spreadsheet workbook",
        "utf16": "the upload is UTF-16 text",
        "parquet": "the upload is a Parquet file",
        "misspelt": "column 'tv_spend' (spend of channel 'tv_spend') is not in the data",
        "negative": "negative value -500 at row 11 (2021-03-15)",
        "one_comma": "'1,5' at row 8 (2021-02-22), written with a decimal comma",
        "dup": "the upload has the header 'tv_spend' more than once",
    }
    p = tmp_path / "up.csv"
    if case == "empty":
        p.write_bytes(b"")
    elif case == "binary":
        p.write_bytes(b"\x00\xff\xfe binary \x00" * 3 + bytes(range(128, 256)))
    else:
        writers[case](p)
    form = {"date": "date", "kpi": "sales", "channels": ",".join(CHANNELS), "method": "map"}
    form["controls"] = ",".join(CONTROLS)
    r = client.post("/api/runs", data=form, files={"file": ("up.csv", p.read_bytes())})
    assert r.status_code == 422, r.text
    assert expected[case] in r.json()["detail"], r.json()
    assert client.get("/api/runs").json() == []


def test_number_format_votes():
    assert number_format(pd.Series(["158815,78", "0,9969", "1,0"]), ";") == (",", None)
    assert number_format(pd.Series(["158,815.78", "12004.29", "1,5"]), ",") == (".", None)
    assert number_format(pd.Series(["1,234", "2,000"]), ",") == (".", None)
    assert number_format(pd.Series(["1,234", "2,000"]), ";") == (".", "1,234")


@pytest.mark.parametrize(
    "data, pieces",
    [
        (b"a,b\n1,2\n3\n", ["Expected 2 fields in line 3, saw 1", "as many fields as the header"]),
        (b'a,b\n"1,2\n3,4\n', ["Expected 2 fields in line 3, saw 1"]),
        (b'a,b\n1,"' + b"x" * 200_000 + b"\n", ["line 2", "field larger than field limit"]),
        (b"a,b\n1,2\n\x00\x00", ["NUL bytes", "'CSV UTF-8'"]),
    ],
)
def test_malformed_csv_text_is_refused(data, pieces):
    with pytest.raises(DataError) as e:
        read_csv_bytes(data, "the upload")
    for piece in pieces:
        assert piece in str(e.value), (piece, str(e.value))
