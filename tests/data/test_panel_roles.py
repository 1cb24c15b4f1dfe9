"""The geo model's data roles: organic, non-media and reach-and-frequency columns of a Panel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.data import DataConfig, load_dataset
from mediamix.data.config import RFChannel
from mediamix.data.panel import Panel, load_panel
from mediamix.errors import DataError, SpecError

from .test_panel import GEOS, PKW, POP, make_panel

RF = {"yt": {"reach": "yt_reach", "frequency": "yt_freq", "spend": "yt_spend"}}
ROLES = dict(organic=["email"], non_media=["promo"], reach_frequency=RF)


def with_roles(n: int = 80, geos=GEOS, seed: int = 0) -> pd.DataFrame:
    """`make_panel` with an organic, a non-media and a reach-and-frequency channel."""
    f = make_panel(n, geos=geos)
    rng = np.random.default_rng(seed)
    m = len(f)
    f["email"] = rng.uniform(0, 10, m)
    f["promo"] = (rng.random(m) < 0.2).astype(float)
    f["yt_reach"] = np.where(rng.random(m) < 0.8, rng.uniform(100, 1000, m), 0.0)
    f["yt_freq"] = np.where(f["yt_reach"] > 0, 1 + rng.uniform(0, 3, m), 0.0)
    f["yt_spend"] = f["yt_reach"] * 0.05
    return f


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return with_roles()


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel.from_frame(frame, population="population", **ROLES, **PKW)


def test_role_arrays_follow_the_rows(frame, panel):
    p = panel
    G, T = 3, 80
    assert p.organic.shape == (G, T, 1) and p.non_media.shape == (G, T, 1)
    assert p.reach.shape == p.frequency.shape == p.rf_spend.shape == (G, T, 1)
    assert p.organic_names == ("email",) and p.non_media_names == ("promo",)
    assert p.rf_names == ("yt",) and p.rf_channels == (RFChannel("yt", *RF["yt"].values()),)
    assert p.media_names == ["tv_spend", "search_spend", "yt"] and p.has_roles
    south = frame[frame.region == "south"]
    np.testing.assert_array_equal(p.organic[1, :, 0], south["email"])
    np.testing.assert_array_equal(p.non_media[1, :, 0], south["promo"])
    np.testing.assert_array_equal(p.reach[1, :, 0], south["yt_reach"])
    np.testing.assert_array_equal(p.frequency[1, :, 0], south["yt_freq"])
    np.testing.assert_array_equal(p.rf_spend[2, :, 0], frame[frame.region == "east"]["yt_spend"])
    assert not p.reach.flags.writeable
    # shuffled rows: the same arrays per geo
    q = Panel.from_frame(frame.sample(frac=1, random_state=2), **ROLES, **PKW)
    np.testing.assert_array_equal(q.reach[q.index_of("south")], p.reach[1])
    # the long table back reads as the same panel
    back = Panel.from_frame(p.to_frame(), population="population", **ROLES, **PKW)
    for name in ("organic", "non_media", "reach", "frequency", "rf_spend", "spend", "kpi"):
        np.testing.assert_array_equal(getattr(back, name), getattr(p, name))
    # select keeps the roles of the geos kept
    east = p.select(["east"])
    np.testing.assert_array_equal(east.reach[0], p.reach[2])
    assert east.organic.shape == (1, T, 1) and east.rf_names == ("yt",)
    summary = p.summary()
    assert summary["organic"] == ["email"] and summary["reach_frequency"] == RF
    assert summary["per_geo"][0]["spend"]["yt"] == pytest.approx(p.rf_spend[0].sum())
    assert "reach_frequency=['yt']" in repr(p)


def test_without_roles_the_arrays_are_empty(frame):
    p = Panel.from_frame(frame, **PKW)
    assert p.organic.shape == (3, 80, 0) and p.non_media.shape == (3, 80, 0)
    assert p.reach.shape == p.frequency.shape == p.rf_spend.shape == (3, 80, 0)
    assert p.organic_names == p.non_media_names == p.rf_names == () and not p.has_roles


def test_rollup_sums_reach_and_weights_frequency_by_reach(frame, panel):
    p = panel
    nat = p.rollup()
    by = {g: frame[frame.region == g].reset_index(drop=True) for g in GEOS}
    reach = sum(by[g]["yt_reach"] for g in GEOS)
    imps = sum(by[g]["yt_reach"] * by[g]["yt_freq"] for g in GEOS)
    np.testing.assert_allclose(nat.frame["yt_reach"], reach)
    np.testing.assert_allclose(nat.frame["yt_freq"], np.where(reach > 0, imps / reach, 0.0))
    np.testing.assert_allclose(nat.frame["email"], sum(by[g]["email"] for g in GEOS))
    w = {g: POP[g] / sum(POP.values()) for g in GEOS}
    np.testing.assert_allclose(nat.frame["promo"], sum(w[g] * by[g]["promo"] for g in GEOS))
    # the national model sees the rf channel as a paid channel with impressions as activity
    assert nat.channel_names == ["tv_spend", "search_spend", "yt"]
    np.testing.assert_allclose(nat.media[:, 2], imps)
    np.testing.assert_allclose(nat.spend[:, 2], sum(by[g]["yt_spend"] for g in GEOS))
    assert "frequency = impressions / reach" in nat.notes[-1]
    one = p.rollup_panel()
    assert one.geos == ("national",) and one.population is None
    np.testing.assert_allclose(one.reach[0, :, 0], reach)
    np.testing.assert_allclose(one.frequency[0], nat.frame[["yt_freq"]])
    np.testing.assert_allclose(one.kpi[0], nat.kpi_values)


def test_national_data_with_roles_is_a_one_geo_panel(tmp_path):
    f = with_roles(80, geos=("only",)).drop(columns=["region", "population"])
    path = tmp_path / "national.csv"
    f.to_csv(path, index=False)
    section = {"path": str(path), "date": "date", "kpi": "sales",
               "channels": ["tv_spend", "search_spend"], "controls": ["price"], **ROLES}  # fmt: skip
    p, _ = load_panel(None, section)
    assert p.geos == ("national",) and p.shape == (1, 80, 2) and p.population is None
    np.testing.assert_array_equal(p.reach[0, :, 0], f["yt_reach"])
    np.testing.assert_array_equal(p.non_media[0, :, 0], f["promo"])
    # its messages name no geo
    bad = f.assign(yt_reach=f.yt_reach.where(f.index != 9, -4.0))
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        load_panel(None, section)
    assert "has a negative value -4 at row 10 (2022-03-07)" in str(e.value)
    assert "geo" not in str(e.value)
    # repeated dates without a geo column get the national advice (it looks like a panel)
    make_panel(80).assign(**{k: 1.0 for k in ("email",)}).to_csv(path, index=False)
    with pytest.raises(DataError, match="looks like a geo panel"):
        load_panel(None, {**section, "non_media": [], "reach_frequency": {}})
    # and a national reader refuses the roles, saying where they are fitted
    with pytest.raises(SpecError) as e:
        load_dataset(None, section)
    assert str(e.value).startswith("data.organic: ['email'] is a role of the geo model")
    assert "`mediamix fit`" in str(e.value)


def test_config_roles_parse_and_round_trip():
    cfg = DataConfig.parse({"geo": "g", **ROLES})
    assert cfg.organic == ("email",) and cfg.non_media == ("promo",)
    assert cfg.reach_frequency == (RFChannel("yt", "yt_reach", "yt_freq", "yt_spend"),)
    assert cfg.is_panel and cfg.roles == ("geo", "organic", "non_media", "reach_frequency")
    assert DataConfig.parse(cfg.to_dict()) == cfg
    assert DataConfig.parse({"organic": ["email"]}).is_panel  # national data with a role
    over = DataConfig().override(
        organic=["a"], non_media=["b"], reach_frequency=["yt:yt_reach:yt_freq:yt_spend"]
    )
    assert over.reach_frequency == cfg.reach_frequency and over.organic == ("a",)


@pytest.mark.parametrize(
    "section, message",
    [
        ({"reach_frequency": {"yt": {"reach": "r", "spend": "s"}}},
         "data.reach_frequency.yt.frequency: the reach-and-frequency channel 'yt' has no "
         "'frequency' column. Fix: write yt: {reach: <column>, frequency: <column>, spend: "
         "<column>}"),
        ({"reach_frequency": {"yt": {"frequency": "f"}}},
         "data.reach_frequency.yt.reach: the reach-and-frequency channel 'yt' has no 'reach' "
         "and no 'spend' column."),
        ({"reach_frequency": {"yt": {"reach": "r", "frequncy": "f", "spend": "s"}}},
         "data.reach_frequency.yt.frequncy: unknown keys in a reach-and-frequency channel: "
         "'frequncy'; allowed: frequency, reach, spend. Did you mean 'frequency'?"),
        ({"reach_frequency": {"yt": "yt_reach"}},
         "data.reach_frequency.yt: expected a mapping {reach: <column>, frequency: <column>, "
         "spend: <column>}"),
        ({"reach_frequency": ["yt:yt_reach"]},
         "data.reach_frequency[0]: expected NAME:REACH:FREQUENCY:SPEND"),
        ({"organic": "email"}, "data.organic: expected a list of column names, got 'email'"),
        ({"non_media": [3.5]}, "data.non_media[0]: expected a column name, got 3.5"),
        ({"organc": ["email"]}, "data.organc: unknown keys in the data section: 'organc';"),
    ],
)  # fmt: skip
def test_config_role_errors_name_the_key_path(section, message):
    with pytest.raises(SpecError) as e:
        DataConfig.parse(section)
    assert str(e.value).startswith(message), str(e.value)
    if "organc" in section:
        assert "Did you mean 'organic'?" in str(e.value)


def _reach(f, row, value):
    return f.assign(yt_reach=f.yt_reach.where(f.index != row, value))


@pytest.mark.parametrize(
    "change, roles, parts",
    [
        # a misspelt organic column
        (None, dict(ROLES, organic=["emial"]),
         ["column 'emial' (organic activity 'emial') is not in the data.",
          "Did you mean 'email'?", "Fix: rename the column"]),
        # a misspelt reach column
        (None, dict(ROLES, reach_frequency={"yt": {**RF["yt"], "reach": "yt_rech"}}),
         ["column 'yt_rech' (reach of channel 'yt') is not in the data.",
          "Did you mean 'yt_reach'?"]),
        # negative reach names the geo, the row and the date
        (lambda f: _reach(f, 85, -3.0), ROLES,
         ["column 'yt_reach' (reach of channel 'yt') has a negative value -3",
          "row 86 (geo 'south', 2022-02-07)", "Fix: reach is the number of people reached"]),
        # frequency below 1 where reach > 0
        (lambda f: f.assign(yt_reach=f.yt_reach.where(f.index != 170, 500.0),
                            yt_freq=f.yt_freq.where(f.index != 170, 0.5)), ROLES,
         ["column 'yt_freq' (frequency of channel 'yt') is 0.5 at row 171 (geo 'east', "
          "2022-03-14), where its reach (column 'yt_reach') is 500 > 0",
          "at least 1 whenever someone was reached", "Fix: check the column"]),
        # a negative frequency
        (lambda f: f.assign(yt_reach=f.yt_reach.where(f.index != 3, 0.0),
                            yt_freq=f.yt_freq.where(f.index != 3, -1.0)), ROLES,
         ["column 'yt_freq' (frequency of channel 'yt') has a negative value -1 at row 4 "
          "(geo 'north', 2022-01-24)"]),
        # negative spend of a reach-and-frequency channel
        (lambda f: f.assign(yt_spend=f.yt_spend.where(f.index != 2, -1.0)), ROLES,
         ["column 'yt_spend' (spend of channel 'yt') has a negative value -1",
          "row 3 (geo 'north', 2022-01-17)"]),
        # negative organic activity
        (lambda f: f.assign(email=f.email.where(f.index != 90, -2.0)), ROLES,
         ["column 'email' (organic activity 'email') has a negative value -2",
          "row 91 (geo 'south', 2022-03-14)"]),
        # a text cell in a non-media column
        (lambda f: f.assign(promo=f.promo.astype(object).where(f.index != 7, "yes")), ROLES,
         ["column 'promo' (non-media treatment 'promo') has a non-numeric value 'yes' at "
          "row 8 (geo 'north', 2022-02-21)"]),
        # an organic channel that is never active
        (lambda f: f.assign(email=0.0), ROLES,
         ["channel 'email': column 'email' (organic activity) is 0 in all 240 rows"]),
        # a constant non-media treatment
        (lambda f: f.assign(promo=1.0), ROLES,
         ["non-media treatment 'promo': column 'promo' is 1 in all 240 rows",
          "cannot be told apart from the baseline"]),
        # a channel that never reaches anyone
        (lambda f: f.assign(yt_reach=0.0, yt_freq=0.0), ROLES,
         ["channel 'yt': column 'yt_reach' (reach) is 0 in all 240 rows"]),
    ],
)  # fmt: skip
def test_role_errors_name_the_column_the_value_and_the_fix(frame, change, roles, parts):
    f = frame if change is None else change(frame.copy())
    with pytest.raises(DataError) as e:
        Panel.from_frame(f, population="population", **roles, **PKW)
    for part in parts:
        assert part in str(e.value), (part, str(e.value))


@pytest.mark.parametrize(
    "roles, message",
    [
        (dict(organic=["tv_spend"]),
         "column 'tv_spend' is given as organic activity 'tv_spend' and as spend of channel "
         "'tv_spend'. Fix: use each column once."),
        (dict(non_media=["promo"], organic=["promo"]),
         "column 'promo' is given as non-media treatment 'promo' and as organic activity"),
        (dict(reach_frequency={"tv_spend": RF["yt"]}),
         "the name 'tv_spend' is given to a paid channel and to a reach-and-frequency channel"),
        (dict(reach_frequency={"yt": {**RF["yt"], "spend": "search_spend"}}),
         "column 'search_spend' is given as spend of channel 'yt' and as spend of channel "
         "'search_spend'"),
    ],
)  # fmt: skip
def test_a_column_or_a_name_given_twice_is_refused(frame, roles, message):
    with pytest.raises(SpecError) as e:
        Panel.from_frame(frame, **roles, **PKW)
    assert message in str(e.value)


def test_reach_frequency_channels_alone_and_never_spent_warnings(frame):
    f = frame.copy()
    f.loc[f.region == "north", "yt_spend"] = 0.0
    p = Panel.from_frame(f, geo="region", date="date", kpi="sales", channels=[],
                         reach_frequency=RF)  # fmt: skip
    assert p.channel_names == [] and p.spend.shape == (3, 80, 0) and p.media_names == ["yt"]
    assert p.warnings == (p.warnings[0],)
    assert p.warnings[0].startswith("geo 'north' never spends on channel 'yt': column 'yt_spend'")


def test_cli_check_reads_the_roles_from_the_config(frame, tmp_path):
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    cfg = tmp_path / "data.yaml"
    section = {"path": "panel.csv", "date": "date", "kpi": "sales",
               "channels": ["tv_spend", "search_spend"], "controls": ["price"],
               "geo": "region", "population": "population", **ROLES}  # fmt: skip
    cfg.write_text(json.dumps({"data": section}))  # JSON is YAML
    res = CliRunner().invoke(cli, ["check", "--config", str(cfg), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["panel"]["organic"] == ["email"] and out["panel"]["reach_frequency"] == RF
    assert out["national"]["channels"][2] == {
        "name": "yt", "spend": "yt_spend", "activity": "yt_impressions"}  # fmt: skip
    # a misspelt role column in the config: exit 2 with the one message
    cfg.write_text(json.dumps({"data": {**section, "non_media": ["promos"]}}))
    res = CliRunner().invoke(cli, ["check", "--config", str(cfg)])
    assert res.exit_code == 2
    assert "column 'promos' (non-media treatment 'promos') is not in the data." in res.output
    assert "Did you mean 'promo'?" in res.output
