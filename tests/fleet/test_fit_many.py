"""`fit-many` for real: simulated markets (one with a negative spend) fitted with MAP on a
local process pool and on a real local Ray cluster, a worker killed mid-fleet on each, and a
second run that resumes. Each good market is a complete run folder; the bad one fails with
the message `mediamix fit` gives for its own file."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from markupsafe import escape

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.fleet import fit_many
from mediamix.fleet.task import marker_path
from mediamix.runs import RunDir

OPTIONS = {"method": "map", "steps": 1500, "date": "date", "kpi": "sales",
           "channels": "tv_spend,search_spend", "controls": ""}  # fmt: skip
FLAGS = ["--method", "map", "--steps", "1500", "--date", "date", "--kpi", "sales",
         "--channels", "tv_spend,search_spend", "--controls", ""]  # fmt: skip
MARKETS = ["north", "south", "west"]
BAD = "south"  # a negative spend in its 6th row


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from mediamix.data.simulate import simulate

    parts = []
    for i, name in enumerate(MARKETS):
        frame, _ = simulate(n_periods=52, n_channels=2, seed=20 + i, n_controls=0)
        if name == BAD:
            frame.loc[5, "search_spend"] = -3.0
        parts.append(frame.assign(market=name))
    path = tmp_path_factory.mktemp("fleet") / "markets.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def single_fit_message(table, tmp_path_factory):
    """What `mediamix fit` says of the bad market's rows in a file of their own."""
    folder = tmp_path_factory.mktemp("single")
    rows = pd.read_csv(table)
    rows[rows["market"] == BAD].drop(columns="market").to_csv(folder / "bad.csv", index=False)
    res = CliRunner().invoke(cli, ["fit", str(folder / "bad.csv"), "--out", str(folder / "o"),
                                   *FLAGS, "--quiet"])  # fmt: skip
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("error: column 'search_spend'") and "row 6" in line
    return line.removeprefix("error: ")


def _fleet_in_thread(data, out: Path, engine: str):
    """fit_many in a thread (so that the test can kill one of its workers meanwhile)."""
    box: dict = {}

    def go():
        try:
            box["result"] = fit_many(data, out, by="market", engine=engine, workers=2,
                                     max_retries=2, **OPTIONS)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test's thread)
            box["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, box


def _kill_a_running_worker(out: Path, after: str, victim: str, thread: threading.Thread,
                           timeout: float = 400) -> int:  # fmt: skip
    """Once ``after`` has its record, SIGKILL the worker fitting ``victim``; its pid."""
    deadline = time.monotonic() + timeout
    marker = marker_path(out, victim)
    while time.monotonic() < deadline and thread.is_alive():
        if (out / ".fleet" / f"{after}.json").is_file() and marker.is_file():
            pid = json.loads(marker.read_text())["pid"]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.2)
    raise AssertionError(
        f"{victim} never started after {after} finished; the fleet's thread "
        f"{'is still running' if thread.is_alive() else 'ended'}"
    )


def _check_fleet(res, out: Path, message: str, killed_pid: int) -> None:
    rows = {r["group"]: r for r in res.records}
    assert sorted(rows) == MARKETS
    assert res.failed == [BAD] and res.exit_status == 1
    assert rows[BAD]["message"] == message
    assert sorted(res.ok) == ["north", "west"], {k: r["message"] for k, r in rows.items()}
    # the killed group ran again in another process; the one finished before is intact
    assert rows["west"]["attempts"] == 2
    state = json.loads((out / ".fleet" / "west.json").read_text())
    assert state["pid"] != killed_pid
    for name in ("north", "west"):
        view = RunDir(out / name).read()
        assert set(view.summary["channels"]) == {"tv_spend", "search_spend"}
        assert rows[name]["fit_seconds"] > 0 and rows[name]["peak_rss_mb"] > 50
    table = pd.read_csv(out / "fleet.csv")
    assert list(table.columns[:3]) == ["market", "group", "status"]
    assert dict(zip(table["market"], table["status"], strict=True)) == {
        "north": "ok", "south": "failed", "west": "ok"}  # fmt: skip
    roas = pd.read_csv(out / "fleet_roas.csv")
    assert sorted(set(roas["group"])) == ["north", "west"] and len(roas) == 4
    assert (roas["roas_lower"] <= roas["roas"] + 1e-9).all()
    assert (roas["roas"] <= roas["roas_upper"] + 1e-9).all()
    log = (out / "fleet.log").read_text()
    assert "retry west: its worker died (killed by SIGKILL)" in log or "retry west" not in log
    assert f"failed south: {message}" in log


@pytest.mark.slow
def test_local_pool_kill_a_worker_then_resume_from_the_command_line(table, single_fit_message,
                                                                     tmp_path):  # fmt: skip
    out = tmp_path / "fleet"
    thread, box = _fleet_in_thread(table, out, "local")
    try:
        pid = _kill_a_running_worker(out, after=BAD, victim="west", thread=thread)
    finally:
        thread.join(1500)
    assert "error" not in box, box.get("error")
    _check_fleet(box["result"], out, single_fit_message, pid)
    assert "retry west: its worker died (killed by SIGKILL)" in (out / "fleet.log").read_text()

    # a second run skips the two done groups and tries the failed one again
    before = {n: (out / n / "meta.json").read_bytes() for n in ("north", "west")}
    res = CliRunner().invoke(cli, ["fit-many", str(table), "--by", "market", "--out", str(out),
                                   "--engine", "local", "--workers", "2", *FLAGS])  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "fitted 1 of 3 groups with map on local" in res.output
    assert "(2 already done)" in res.output and "2 ok, 0 not converged, 1 failed" in res.output
    assert f"failed south: {single_fit_message}" in res.output
    assert {n: (out / n / "meta.json").read_bytes() for n in before} == before
    resumed = pd.read_csv(out / "fleet.csv").set_index("group")["resumed"].to_dict()
    assert resumed == {"north": True, "south": False, "west": True}
    page = (out / "fleet.html").read_text()
    assert "ROAS by group" in page and "north" in page
    assert str(escape(single_fit_message)) in page  # as the page's template escapes it


@pytest.mark.slow
def test_ray_local_cluster_kill_a_worker_then_resume(table, single_fit_message, tmp_path):
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # found, not imported: the engine imports it
        pytest.skip("ray is not installed (the fleet extra)")
    out = tmp_path / "fleet"
    thread, box = _fleet_in_thread(table, out, "ray")
    try:
        pid = _kill_a_running_worker(out, after=BAD, victim="west", thread=thread)
    finally:
        thread.join(1500)
    assert "error" not in box, box.get("error")
    res = box["result"]
    assert res.engine == "ray"
    _check_fleet(res, out, single_fit_message, pid)
    # a second run (here in this process) fits nothing that was done
    again = fit_many(table, out, by="market", engine="sequential", **OPTIONS)
    assert [r["resumed"] for r in again.records] == [True, False, True]
    assert again.failed == [BAD]


def test_usage_errors_stop_before_any_fit(table, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["fit-many", str(table), "--by", "market", "--out",
                              str(tmp_path / "a"), "--address", "ray://h:1", *FLAGS])  # fmt: skip
    assert res.exit_code == 2 and "--address is for --engine ray" in res.output
    res = runner.invoke(cli, ["fit-many", str(table), "--by", "markt", "--out",
                              str(tmp_path / "b"), *FLAGS])  # fmt: skip
    assert res.exit_code == 2 and "Did you mean 'market'?" in res.output
    res = runner.invoke(cli, ["fit-many", str(table), "--by", "market", "--out",
                              str(tmp_path / "c"), *FLAGS, "--chains", "2"])  # fmt: skip
    assert res.exit_code == 2 and "chains" in res.output
    assert not (tmp_path / "c").exists()


def test_a_missing_ray_names_the_extra(monkeypatch):
    import sys

    from mediamix.fleet.engines import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as uninstalled
    with pytest.raises(SpecError, match=r"pip install 'mediamix\[fleet\]'"):
        import_ray(local=True)


def test_a_group_folder_another_fit_wrote_is_replaced_only_with_force(table, tmp_path):
    out = tmp_path / "fleet"
    (out / "north").mkdir(parents=True)
    (out / "north" / "notes.txt").write_text("mine", encoding="utf-8")
    north = pd.read_csv(table).query("market == 'north'").drop(columns="market")
    res = fit_many({"north": north}, out, engine="sequential", **OPTIONS)
    rows = {r["group"]: r for r in res.records}
    assert rows["north"]["status"] == "failed"
    assert "already exists and holds files; pass --force" in rows["north"]["message"]
    assert (out / "north" / "notes.txt").read_text() == "mine"
    assert res.exit_status == 1
    assert np.isnan(pd.read_csv(out / "fleet.csv").set_index("group").loc["north", "fit_seconds"])


def test_a_folder_of_bad_files_fails_each_with_the_single_fit_message(table, tmp_path):
    """A misspelt column and too few rows: each file's group fails with what `mediamix fit`
    says of that file, the command exits 1, nothing is fitted (no compilation)."""
    folder = tmp_path / "markets"
    folder.mkdir()
    rows = pd.read_csv(table)
    north = rows[rows["market"] == "north"].drop(columns="market")
    north.rename(columns={"tv_spend": "tv_spnd"}).to_csv(folder / "misspelt.csv", index=False)
    north.head(12).to_csv(folder / "short.csv", index=False)
    runner = CliRunner()
    single = {}
    for name in ("misspelt", "short"):
        res = runner.invoke(cli, ["fit", str(folder / f"{name}.csv"), "--out",
                                  str(tmp_path / f"single-{name}"), *FLAGS, "--quiet"])  # fmt: skip
        assert res.exit_code == 2, res.output
        single[name] = res.output.strip().splitlines()[-1].removeprefix("error: ")
    assert "'tv_spend'" in single["misspelt"] and "12 weekly rows" in single["short"]
    out = tmp_path / "fleet"
    res = runner.invoke(cli, ["fit-many", str(folder), "--out", str(out), "--engine",
                              "sequential", *FLAGS, "--quiet"])  # fmt: skip
    assert res.exit_code == 1, res.output
    table_out = pd.read_csv(out / "fleet.csv").set_index("group")
    assert list(table_out["file"]) == ["misspelt.csv", "short.csv"]
    assert dict(table_out["message"]) == single
    assert set(table_out["status"]) == {"failed"}
    assert f"failed short: {single['short']}" in res.output


@pytest.mark.slow
def test_a_pool_worker_serves_its_share_of_fits_then_a_fresh_one_takes_over(table, tmp_path):
    out = tmp_path / "fleet"
    res = fit_many(out=out, data=table, by="market", engine="local", workers=1,
                   fits_per_worker=2, **OPTIONS)  # fmt: skip
    pid = {m: json.loads((out / ".fleet" / f"{m}.json").read_text())["pid"] for m in MARKETS}
    assert pid["north"] == pid["south"] != pid["west"]  # in table order, two per process
    assert sorted(res.ok) == ["north", "west"] and res.failed == [BAD]
    with pytest.raises(SpecError, match="--fits-per-worker must be a whole number of at least 1"):
        fit_many(table, tmp_path / "other", by="market", engine="local", fits_per_worker=0,
                 **OPTIONS)  # fmt: skip
