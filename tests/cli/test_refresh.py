"""`mediamix refresh RUN --data NEW --out RUN2`: the run folder, drift.json, the output, the
report section and the exit codes.

The old run is the session's SVI fit saved as a run folder; one refresh (SVI, with the anchor
fit) of it with 8 new weeks is shared by the module; the error cases stop before any fitting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mediamix.cli import cli

FAST = ["--method", "svi", "--steps", "150", "--draws", "60", "--quiet"]


@pytest.fixture(scope="module")
def old_run(svi_fit, sim_data, tmp_path_factory):
    from mediamix.data.diagnostics import checks_from_arrays
    from mediamix.runs import layout as L

    # the files a refresh reads: the saved model and the data checks with the column roles
    # (the tables of a complete run are not needed, and cost a minute to compute)
    ds, _ = sim_data
    path = tmp_path_factory.mktemp("refresh") / "old"
    svi_fit.save(path / L.MODEL_DIR)
    L.write_json(path / L.CHECKS, {**checks_from_arrays(svi_fit.data), "dataset": ds.summary()})
    return path


@pytest.fixture(scope="module")
def frames(sim_data):
    """The old run's rows as a table (the simulator's columns), and with 8 new weeks: the
    first 8 weeks' spend, controls and KPI again, dated after the end."""
    from mediamix.data.simulate import simulate

    frame, _ = simulate(n_periods=104, n_channels=3, seed=3)  # the session's data set
    more = frame.iloc[:8].copy()
    more["date"] = pd.to_datetime(frame["date"]).max() + pd.to_timedelta(7 * np.arange(1, 9), "D")
    new = pd.concat([frame, more], ignore_index=True)
    new["date"] = pd.to_datetime(new["date"]).dt.strftime("%Y-%m-%d")
    return frame, new


@pytest.fixture(scope="module")
def refreshed(old_run, frames, tmp_path_factory):
    _, new = frames
    d = tmp_path_factory.mktemp("refresh-new")
    new.to_csv(d / "new.csv", index=False)
    out = d / "run2"
    res = CliRunner().invoke(cli, ["refresh", str(old_run), "--data", str(d / "new.csv"),
                                   "--out", str(out), *FAST])  # fmt: skip
    return res, out


def test_refresh_writes_the_run_and_prints_the_drift_table(refreshed, svi_fit):
    res, out = refreshed
    assert res.exit_code == 0, res.output
    text = res.output
    assert "8 new period(s)" in text and "widened 1.5x" in text
    assert "move/width" in text and "new weeks" in text
    for c in svi_fit.channel_names:
        assert any(line.startswith(c) for line in text.splitlines())
    assert f"wrote {out / 'drift.json'}" in text
    assert (out / "meta.json").is_file() and (out / "model" / "spec.yaml").is_file()


def test_drift_json_fields(refreshed, svi_fit):
    _, out = refreshed
    d = json.loads((out / "drift.json").read_text())
    assert d["kind"] == "mediamix-drift" and d["widen"] == 1.5 and d["level"] == 0.9
    assert d["old_periods"] == 104 and d["new_periods"] == 8
    assert d["new_periods_dates"]["end"] > d["new_periods_dates"]["start"]
    assert d["data"]["kpi"] == "sales" and d["data"]["date"] == "date"
    assert [r["channel"] for r in d["channels"]] == svi_fit.channel_names
    for r in d["channels"]:
        w = r["old"]["upper"] - r["old"]["lower"]
        assert r["move"] == pytest.approx(r["new"]["mean"] - r["old"]["mean"])
        assert r["move_rel"] == pytest.approx(r["move"] / w)
        assert r["stable"] == (abs(r["move_rel"]) <= 1)
        # the anchor splits the move: method part + new weeks' part
        assert r["method_part"] + r["new_weeks_part"] == pytest.approx(r["move"])
        assert 0 <= r["new_weeks_share"] <= 1
    keys = {p["key"] for p in d["priors"]}
    assert {f"effect.{c}" for c in svi_fit.channel_names} <= keys
    assert set(d["definitions"]) >= {"move_rel", "new_weeks_share", "anchor"}


def test_refreshed_run_keeps_the_old_scalers_and_states_its_priors(refreshed, old_run):
    _, out = refreshed
    old = json.loads((old_run / "model" / "scalers.json").read_text())
    assert json.loads((out / "model" / "scalers.json").read_text()) == old
    spec = (out / "model" / "spec.yaml").read_text()
    assert "effect.tv" in spec and "lognormal" in spec
    from mediamix.estimator import FittedModel  # the saved refresh loads back, priors and all

    again = FittedModel.load(out / "model")
    assert again.spec.priors["effect.tv"].dist == "lognormal"
    assert again.scalers.kpi_scale == np.asarray(old["kpi"]["scale"]).reshape(-1)[0]


def test_report_has_the_refresh_section(refreshed):
    from mediamix.report.html import sections
    from mediamix.report.run import load_run

    _, out = refreshed
    found = {s.key: s for s in sections(load_run(out, use_model=False))}
    s = found["refresh"]
    assert s.title == "Refresh drift"
    assert s.tables[0]["header"][:5] == ["channel", "old ROAS", "new ROAS", "move",
                                         "move / old width"]  # fmt: skip
    assert "refresh_drift" in s.figures


def _invoke(args):
    return CliRunner().invoke(cli, ["refresh", *map(str, args)])


def test_changed_old_rows_exit_2_naming_column_date_and_fix(old_run, frames, tmp_path):
    _, new = frames
    bad = new.copy()
    bad.loc[20, "search_spend"] *= 1.5
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = _invoke([old_run, "--data", tmp_path / "bad.csv", "--out", tmp_path / "r", *FAST])
    assert res.exit_code == 2
    assert "spend 'search'" in res.output and str(bad.loc[20, "date"]) in res.output
    assert "fit a new run from the restated data" in res.output
    assert not (tmp_path / "r").exists()


def test_other_columns_exit_2_naming_them(old_run, frames, tmp_path):
    _, new = frames
    new.to_csv(tmp_path / "new.csv", index=False)
    res = _invoke([old_run, "--data", tmp_path / "new.csv", "--out", tmp_path / "r",
                   "--channels", "tv_spend,search_spend", *FAST])  # fmt: skip
    assert res.exit_code == 2
    assert "channels differ from the old run's (tv, search, social)" in res.output
    assert "missing 'tv', 'search', 'social'" in res.output


def test_bad_options_exit_2(old_run, frames, tmp_path):
    _, new = frames
    new.to_csv(tmp_path / "new.csv", index=False)
    res = _invoke([old_run, "--data", tmp_path / "new.csv", "--out", old_run, *FAST])
    assert res.exit_code == 2 and "is the old run itself" in res.output
    res = _invoke([old_run, "--data", tmp_path / "new.csv", "--out", tmp_path / "r",
                   "--widen", "0.5", *FAST])  # fmt: skip
    assert res.exit_code == 2 and "widen must be a number between 1 and 100" in res.output
    res = _invoke([tmp_path / "nothing", "--data", tmp_path / "new.csv", "--out", tmp_path / "r"])
    assert res.exit_code == 2 and "does not exist" in res.output
