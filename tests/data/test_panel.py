"""Geo panels: `mediamix.data.panel.Panel`, its checks and `mediamix check --geo`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.data import DataConfig, Dataset, load_dataset
from mediamix.data.loaders import read_table
from mediamix.data.panel import Panel, load_panel
from mediamix.errors import DataError, SpecError

from .conftest import KW, make_frame

REPO = Path(__file__).resolve().parents[2]
MERIDIAN = REPO.parent / "shared" / "data" / "meridian_geo_all_channels.csv"
GEOS = ("north", "south", "east")
POP = {"north": 1000.0, "south": 3000.0, "east": 500.0}
PKW = dict(KW, geo="region")


def make_panel(n: int = 60, geos=GEOS) -> pd.DataFrame:
    """A valid long table: one make_frame per geo, with a region and a population column."""
    parts = []
    for seed, g in enumerate(geos):
        f = make_frame(n, seed=seed)
        f.insert(0, "region", g)
        f["population"] = POP.get(g, 100.0)
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def long() -> pd.DataFrame:
    return make_panel()


def test_arrays_have_named_axes_and_match_the_rows(long):
    p = Panel.from_frame(long, population="population", **PKW)
    assert p.geos == GEOS and p.shape == (3, 60, 2) and p.n_periods == 60
    assert p.kpi.shape == (3, 60) and p.controls.shape == (3, 60, 1)
    south = long[long.region == "south"]
    np.testing.assert_array_equal(p.kpi[1], south["sales"])
    np.testing.assert_array_equal(p.spend[2, :, 0], long[long.region == "east"]["tv_spend"])
    np.testing.assert_array_equal(p.population, [1000.0, 3000.0, 500.0])
    assert p.dates[0] == pd.Timestamp("2022-01-03") and p.freq == "W"
    assert not p.kpi.flags.writeable
    # shuffled rows give the same panel
    q = Panel.from_frame(long.sample(frac=1, random_state=1), population="population", **PKW)
    assert set(q.geos) == set(GEOS)
    np.testing.assert_array_equal(q.spend[q.geos.index("south")], p.spend[1])
    assert any("sorted" in n for n in q.notes)


def test_rollup_sums_totals_and_weights_controls_by_population(long):
    p = Panel.from_frame(long, population="population", **PKW)
    nat = p.rollup()
    assert isinstance(nat, Dataset) and nat.geos is None and nat.n_periods == 60
    by = {g: long[long.region == g].reset_index(drop=True) for g in GEOS}
    np.testing.assert_allclose(nat.kpi_values, sum(by[g]["sales"] for g in GEOS))
    np.testing.assert_allclose(nat.spend[:, 1], sum(by[g]["search_spend"] for g in GEOS))
    w = {g: POP[g] / sum(POP.values()) for g in GEOS}
    np.testing.assert_allclose(nat.control_values[:, 0], sum(w[g] * by[g]["price"] for g in GEOS))
    summed = p.rollup(sum_controls=["price"])
    np.testing.assert_allclose(summed.control_values[:, 0], sum(by[g]["price"] for g in GEOS))
    # without population: equal weights, the same table as Dataset.national()
    plain = Panel.from_frame(long, **PKW).rollup()
    legacy = Dataset.from_frame(long, **PKW).national()
    np.testing.assert_allclose(plain.frame[legacy.frame.columns[1:]], legacy.frame.iloc[:, 1:])
    with pytest.raises(DataError, match="sum_controls names 'prise'.*Did you mean 'price'"):
        p.rollup(sum_controls=["prise"])


def test_national_is_the_one_geo_case_and_geo_filters(long):
    ds = Dataset.from_frame(make_frame(60), **KW)
    one = Panel.from_dataset(ds)
    assert one.geos == ("national",) and one.shape == (1, 60, 2)
    back = one.national()
    pd.testing.assert_frame_equal(back.frame, ds.frame)
    assert back.freq == ds.freq and back.channel_names == ds.channel_names
    p = Panel.from_frame(long, **PKW)
    south = p.geo("south")
    np.testing.assert_array_equal(south.kpi_values, long[long.region == "south"]["sales"])
    sel = p.select(["east", "north"])
    assert sel.geos == ("east", "north") and sel.spend.shape == (2, 60, 2)
    np.testing.assert_array_equal(sel.national().kpi_values, p.kpi[2] + p.kpi[0])
    with pytest.raises(
        DataError, match="geo 'sout' is not in column 'region'. Did you mean 'south'"
    ):
        p.geo("sout")
    # numeric geo codes stay codes
    codes = long.assign(region=long.region.map({"north": 501, "south": 502, "east": 503}))
    assert Panel.from_frame(codes, **PKW).geos == ("501", "502", "503")
    # a geo-tagged Dataset becomes the same panel
    again = Panel.from_dataset(Dataset.from_frame(long, **PKW))
    assert sorted(again.geos) == sorted(GEOS)
    for g in GEOS:
        np.testing.assert_array_equal(again.spend[again.index_of(g)], p.spend[p.index_of(g)])


@pytest.mark.parametrize(
    "break_it, parts",
    [
        # geo column misspelt
        (lambda f: f.rename(columns={"region": "regoin"}),
         ["column 'region' (geo) is not in the data", "Did you mean 'regoin'?", "Fix:"]),
        # a geo with 3 rows
        (lambda f: pd.concat([f, make_panel(3, geos=("west",))], ignore_index=True),
         ["geo 'west' (column 'region') has only 3 row(s)", "2022-01-03 .. 2022-01-17",
          "first at row 181", "needs the 60 periods", "max(20, 3 x parameters) = 48",
          "baseline", "Fix: add the missing rows of 'west'"]),
        # a geo missing the last periods the others have
        (lambda f: f.drop(index=f.index[(f.region == "east")][-4:]),
         ["geo 'east' (column 'region') is missing 4 period(s) that other geos have",
          "2023-02-06", "Fix: add rows for those periods of 'east'"]),
        # a geo with a period the others lack is the one named
        (lambda f: pd.concat([f, make_panel(61, geos=("west",))], ignore_index=True),
         ["geo 'west' (column 'region') has period(s) that most geos lack: 2023-02-27",
          "first at row 241", "in at most 1 of 4 geos", "Fix: give every geo the same dates"]),
        # a geo whose weeks start on another weekday
        (lambda f: f.assign(date=f.date.where(
            f.region != "east",
            (pd.to_datetime(f.date) - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d"))),
         ["geo 'east' (column 'region') has period(s) that most geos lack: 2022-01-02",
          "same weekday"]),
        # a gap inside one geo
        (lambda f: f.drop(index=[70]),
         ["column 'date' (date) of geo 'south' (column 'region'): gap between 2022-03-07 "
          "(row 70) and 2022-03-21 (row 71)", "1 week(s) missing",
          "add rows for the missing weeks of geo 'south'"]),
        # a (geo, date) row twice
        (lambda f: f.assign(date=f.date.where(f.index != 65, f.date[64])),
         ["has the date 2022-01-31 for geo 'south' more than once, at rows 65, 66",
          "one row per geo and period"]),
        # a negative spend names the geo
        (lambda f: f.assign(tv_spend=f.tv_spend.where(f.index != 130, -5.0)),
         ["column 'tv_spend' (spend of 'tv_spend') has a negative value -5",
          "row 131 (geo 'east', 2022-03-14)"]),
        # a text cell names the geo
        (lambda f: f.assign(price=f.price.astype(object).where(f.index != 61, "n/a")),
         ["column 'price' (control) has a missing value at row 62 (geo 'south', 2022-01-10)",
          "missing-value marker"]),
    ],
)  # fmt: skip
def test_panel_errors_name_the_geo_the_column_and_the_fix(long, break_it, parts):
    with pytest.raises(DataError) as e:
        Panel.from_frame(break_it(long), population="population", **PKW)
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


@pytest.mark.parametrize(
    "value, parts",
    [
        ({"south": np.nan}, ["column 'population' (population) is empty for geo 'south'",
                             "in all 60 of its rows (first at row 61)", "Fix: write the geo's"]),
        ({61: ""}, ["is missing for geo 'south' (column 'region') at row 62 (2022-01-10)",
                    "its other rows give 3000.0", "the same number in each"]),
        ({70: 3100.0}, ["changes over time within geo 'south'", "3000 at row 61 (2022-01-03)",
                        "3100 at row 71 (2022-03-14)", "one population per geo"]),
        ({"east": 0.0}, ["column 'population' (population) is 0 for geo 'east'",
                         "row 121", "must be > 0"]),
    ],
)  # fmt: skip
def test_population_errors(long, value, parts):
    f = long.copy()
    f["population"] = f["population"].astype(object)
    for key, x in value.items():
        if isinstance(key, str):
            f.loc[f.region == key, "population"] = x
        else:
            f.loc[key, "population"] = x
    with pytest.raises(DataError) as e:
        Panel.from_frame(f, population="population", **PKW)
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


def test_a_geo_that_never_spends_is_a_warning(long):
    f = long.copy()
    f.loc[f.region == "east", "tv_spend"] = 0.0
    p = Panel.from_frame(f, **PKW)
    assert len(p.warnings) == 1
    assert p.warnings[0].startswith("geo 'east' never spends on channel 'tv_spend'")
    assert "0 in all 60 of its periods" in p.warnings[0]
    assert [r["warnings"] for r in p.per_geo()] == [0, 0, 1]
    assert p.select(["north"]).warnings == ()


def test_national_repeated_dates_say_geo_panel(long):
    with pytest.raises(DataError) as e:
        Dataset.from_frame(long, **KW)
    msg = str(e.value)
    assert "has the date 2022-01-03 more than once" in msg
    assert "column 'region'" in msg and "looks like a geo panel" in msg
    assert "--geo region" in msg and "rollup()" in msg and "drop the geo column" not in msg
    # rows repeated per date with no column that tells them apart
    with pytest.raises(DataError, match="Every date appears 3 times, as in a geo panel"):
        Dataset.from_frame(long.drop(columns=["region"]), **KW)
    # a plain duplicate keeps the national advice
    f = make_frame(60)
    f.loc[5, "date"] = f.loc[4, "date"]
    with pytest.raises(DataError, match="Fix: keep one row per period"):
        Dataset.from_frame(f, **KW)


def test_config_keys_and_the_national_fit_message(long, tmp_path):
    cfg = DataConfig.parse({"geo": "region", "population": "population"})
    assert cfg.is_panel and cfg.population == "population"
    with pytest.raises(SpecError, match=r"data\.population: expected a column name, got 3\.5"):
        DataConfig.parse({"population": 3.5})
    path = tmp_path / "panel.csv"
    long.to_csv(path, index=False)
    section = {"path": str(path), "date": "date", "kpi": "sales",
               "channels": ["tv_spend", "search_spend"], "controls": ["price"],
               "geo": "region", "population": "population"}  # fmt: skip
    panel, events = load_panel(None, section)
    assert panel.shape == (3, 60, 2) and events == []
    # a national load (what a fit does) refuses the panel with one message and the way out
    with pytest.raises(SpecError) as e:
        load_dataset(None, section)
    msg = str(e.value)
    assert msg.startswith("data.geo: 'region' makes the data a geo panel")
    assert "which the geo model fits (`mediamix fit DATA --geo region ...`" in msg
    assert "but this step reads national data" in msg
    assert "--geo region --write national.csv" in msg and "--only <geo>" in msg
    with pytest.raises(SpecError, match="data.population: 'population' is the population"):
        load_panel(None, {k: v for k, v in section.items() if k != "geo"})


def test_cli_check_panel(long, tmp_path):
    f = long.copy()
    f.loc[f.region == "east", "tv_spend"] = 0.0
    path = tmp_path / "panel.csv"
    f.to_csv(path, index=False)
    args = ["check", str(path), "--date", "date", "--kpi", "sales",
            "--channels", "tv_spend,search_spend", "--controls", "price"]  # fmt: skip
    res = CliRunner().invoke(cli, [*args, "--geo", "region", "--population", "population"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "geo panel: 3 geos in 'region' x 60 W periods (180 rows)" in out
    assert "Per geo" in out and "geo 'east' never spends on channel 'tv_spend'" in out
    assert "geo_never_spends" in out and "vif" in out
    strict = CliRunner().invoke(cli, [*args, "--geo", "region", "--strict"])
    assert strict.exit_code == 1
    js = CliRunner().invoke(cli, [*args, "--geo", "region", "--format", "json"])
    data = json.loads(js.output)
    assert data["panel"]["geos"] == 3 and data["national"]["rows"] == 60
    assert data["panel"]["per_geo"][2]["spend"]["tv_spend"] == 0.0
    # --write: the national roll-up, then checked as national data
    nat = tmp_path / "national.csv"
    res = CliRunner().invoke(cli, [*args, "--geo", "region", "--write", str(nat)])
    assert res.exit_code == 0 and "national roll-up of 3 geos (60 rows)" in res.output
    back = pd.read_csv(nat)
    np.testing.assert_allclose(back["sales"], f.groupby("date", sort=True)["sales"].sum())
    assert CliRunner().invoke(cli, ["check", str(nat), *args[2:]]).exit_code == 0
    one = tmp_path / "south.csv"
    res = CliRunner().invoke(
        cli, [*args, "--geo", "region", "--only", "south", "--write", str(one)]
    )
    assert res.exit_code == 0 and "geo 'south'" in res.output
    np.testing.assert_allclose(pd.read_csv(one)["sales"], f[f.region == "south"]["sales"])
    # errors: exit 2 with the one message
    bad = CliRunner().invoke(cli, [*args, "--geo", "regon"])
    assert bad.exit_code == 2 and "column 'regon' (geo) is not in the data" in bad.output
    assert "Did you mean 'region'?" in bad.output
    dup = CliRunner().invoke(cli, args)
    assert dup.exit_code == 2 and "looks like a geo panel" in dup.output


@pytest.mark.skipif(not MERIDIAN.exists(), reason="shared Meridian geo data not present")
def test_meridian_geo_file_reads_as_a_panel():
    chans = [f"Channel{i}_spend:Channel{i}_impression" for i in range(5)]
    ctrls = ["competitor_sales_control", "sentiment_score_control"]
    frame = read_table(MERIDIAN)  # read once, in place
    p = Panel.from_frame(frame, geo="geo", date="time", kpi="conversions", channels=chans,
                         controls=ctrls, population="population")  # fmt: skip
    assert p.shape == (40, 156, 5) and p.freq == "W" and p.warnings == ()
    assert p.geos[0] == "Geo0" and p.population[0] == pytest.approx(136670.94)
    raw = pd.read_csv(MERIDIAN)
    assert list(p.geos) == list(pd.unique(raw["geo"]))
    np.testing.assert_allclose(p.rollup().kpi_values, raw.groupby("time")["conversions"].sum())
    np.testing.assert_allclose(p.media[:, :, 0].sum(), raw["Channel0_impression"].sum(), rtol=1e-12)
    with pytest.raises(DataError, match="every date appears 40 times".capitalize()):
        Dataset.from_frame(frame, date="time", kpi="conversions", channels=chans)
