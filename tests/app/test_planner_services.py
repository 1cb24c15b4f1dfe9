"""The planner's guard-rails and numbers: the gain over today's plan, spend outside the data's
range, the demo's run registered once, the pages' labels and numbers, the run page's battery."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mediamix.app import services
from mediamix.app.pages import humanise, number
from mediamix.app.server import create_app
from mediamix.app.services import fits, planning
from mediamix.app.store import Store
from mediamix.cli.demo_cmds import register_demo_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSES = [
    {"name": "tv_spend", "family": "log1p", "params": {"a": 20.0}, "reference_spend": 50.0},
    {"name": "search_spend", "family": "log1p", "params": {"a": 10.0}, "reference_spend": 50.0},
]
SEEN = {"tv_spend": {"min": 30.0, "mean": 50.0, "max": 60.0},
        "search_spend": {"min": 20.0, "mean": 50.0, "max": 90.0}}  # fmt: skip


def test_the_gain_over_todays_plan_is_exact(store: Store) -> None:
    run = store.create_run("m", status="done", responses=RESPONSES, summary={"spend_range": SEEN})
    problem, plan = services.optimise(run, {"budget": 100})
    today = 30 * math.log(51)  # a_i log(1 + 50) summed
    best = 20 * math.log(1 + 67) + 10 * math.log(1 + 33)  # x_i = a_i (B + 2) / 30 - 1
    up = plan["uplift"]
    assert up["today"]["mean"] == pytest.approx(today, rel=1e-9)
    assert up["plan"]["mean"] == pytest.approx(best, rel=1e-6)
    assert up["mean"] == pytest.approx(best - today, rel=1e-5)
    assert up["relative"] == pytest.approx((best - today) / today, rel=1e-5)
    assert up["today_spend"] == 100.0
    # TV at 67 per period is above the highest spend seen (60); search (33) is inside 20..90
    assert plan["extrapolation"] == [
        {
            "channel": "tv_spend",
            "spend": pytest.approx(67.0, rel=1e-6),
            "min": 30.0,
            "max": 60.0,
            "side": "above",
        }  # fmt: skip
    ]
    rows = {r["channel"]: r for r in services.plan_rows(problem, plan)}
    assert rows["tv_spend"]["change_rel"] == pytest.approx(0.34, rel=1e-5)


def test_the_gain_has_an_interval_over_draws(store: Store) -> None:
    draws = [{"name": "tv", "family": "log1p", "params": {"a": [10.0, 20.0, 30.0]},
              "reference_spend": 50.0},
             {"name": "radio", "family": "log1p", "params": {"a": [5.0, 10.0, 15.0]},
              "reference_spend": 50.0}]  # fmt: skip
    run = store.create_run("m", status="done", responses=draws)
    _, plan = services.optimise(run, {"budget": 100})
    up = plan["uplift"]
    assert up["draws"] == 3 and up["p5"] < up["mean"] < up["p95"]
    assert plan["spend_range"] is None and plan["extrapolation"] == []


def test_no_gain_without_todays_spend(store: Store) -> None:
    bare = [{k: v for k, v in r.items() if k != "reference_spend"} for r in RESPONSES]
    run = store.create_run("m", status="done", responses=bare)
    _, plan = services.optimise(run, {"budget": 100})
    assert "uplift" not in plan


def test_below_the_lowest_spend_seen_is_extrapolation_too() -> None:
    plan = {"allocation": {"tv_spend": 10.0, "search_spend": 50.0}}
    assert planning.extrapolation(plan, SEEN) == [
        {"channel": "tv_spend", "spend": 10.0, "min": 30.0, "max": 60.0, "side": "below"}
    ]
    assert planning.extrapolation(plan, None) == []


def fake_run_folder(path: Path) -> Path:
    """A run folder with what registering reads: summary, responses and the saved data."""
    from tests.report.conftest import write_run_dir

    write_run_dir(path)
    (path / "responses.json").write_text(json.dumps(RESPONSES))
    model = path / "model"
    model.mkdir()
    for name in ("posterior.nc", "spec.yaml", "scalers.json"):
        (model / name).write_text("")
    spend = np.column_stack([np.linspace(30, 60, 20), np.linspace(20, 90, 20)])
    np.savez(model / "data.npz", spend=spend, dates=np.arange(20), kpi=np.ones(20))
    (model / "meta.json").write_text(json.dumps(
        {"format_version": 2, "n_train": 20, "data": {"channel_names": ["tv_spend", "search_spend"]}}
    ))  # fmt: skip
    return path


def test_a_rerun_demo_updates_its_run(store: Store, tmp_path: Path) -> None:
    folder = fake_run_folder(tmp_path / "demo" / "run")
    first, replaced = register_demo_run(store, folder, "Demo (seed 0)")
    assert not replaced
    store.save_scenario(first.id, "kept", problem={"budget": 100}, plan=None)
    second, replaced = register_demo_run(store, folder, "Demo (seed 0)")
    assert replaced and second.id == first.id
    assert [r.name for r in store.list_runs()] == ["Demo (seed 0)"]
    assert [s.name for s in store.list_scenarios(first.id)] == ["kept"]
    assert planning.observed_spend(second) == {
        "tv_spend": {"min": 30.0, "mean": pytest.approx(45.0), "max": 60.0},
        "search_spend": {"min": 20.0, "mean": pytest.approx(55.0), "max": 90.0},
    }
    other, replaced = register_demo_run(store, folder, "Demo (seed 1)")
    assert not replaced and len(store.list_runs()) == 2


def test_web_nuts_fits_report_progress_to_the_store(store: Store) -> None:
    from mediamix.inference.nuts import SamplerProgress

    run = store.create_run("m", method="nuts", status="running")
    seen = []

    def progress(fraction: float, message: str) -> None:
        store.update_run(run.id, progress=fraction, message=message)
        got = store.get_run(run.id)
        seen.append((got.progress, got.message))

    report = fits.sampler_progress(progress)
    report(SamplerProgress("warmup", 0, 100, 100, 100, 0.0, None))
    report(SamplerProgress("sampling", 50, 100, 100, 100, 30.0, 12.0))
    assert seen[0] == (
        pytest.approx(fits.FIT_START),
        "fitting (NUTS): warmup 0/100 warmup steps · 0 s elapsed",
    )
    assert seen[1][0] == pytest.approx(fits.FIT_START + 0.75 * (fits.FIT_END - fits.FIT_START))
    assert seen[1][1] == "fitting (NUTS): sampling 50/100 draws · 30 s elapsed · about 12 s left"


def test_labels_and_numbers_read_as_people_write_them() -> None:
    assert [humanise(n) for n in ("tv_spend", "paid_social", "searchSpend", "ooh", "Radio",
                                  "display cost", "dv360_spend")] == [
        "TV", "Paid social", "Search", "OOH", "Radio", "display cost", "DV360"]  # fmt: skip
    assert [number(x) for x in (2.36e7, 69851.4351553553, 1.2345, 0.000123, 0, 50.0, None)] == [
        "23,600,000", "69,851", "1.23", "0.000123", "0", "50", "—"]  # fmt: skip


def test_the_run_page_shows_the_validation_battery_and_favicon(store: Store) -> None:
    run = store.create_run("m", status="done", responses=RESPONSES,
                           summary={"diagnostics": {"method": "nuts", "max_rhat": 1.2,
                                                    "divergences": 11, "converged": False},
                                    "intervals_note": "intervals approximate"})  # fmt: skip
    battery = {"verdict": "review", "method": "svi", "refits": 9, "seconds": 61.0,
               "tests": [{"name": "placebo", "verdict": "review", "value": 0.31,
                          "threshold": 0.2, "advice": "a placebo channel got 31% of media"}]}  # fmt: skip
    (run.run_dir / "validation.json").write_text(json.dumps(battery))
    with TestClient(create_app(store)) as client:
        html = client.get(f"/runs/{run.id}").text
        assert "Validation battery: review" in html and "a placebo channel got 31%" in html
        assert "11 divergences" in html and "did not converge" in html
        assert "intervals approximate" in html
        icon = client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
        planner = client.get(f"/planner?run={run.id}").text
        assert ">TV<" in planner and 'value="50"' in planner  # labels, the default +-50%


def test_a_summarised_problem_has_mean_curves_and_still_solves(store: Store) -> None:
    from mediamix.optimize import Problem, solve

    draws = [{"name": "tv", "family": "log1p", "params": {"a": [10.0, 20.0, 30.0]},
              "reference_spend": 50.0, "unit_price": [1.0, 1.0, 1.0]},
             {"name": "radio", "family": "log1p", "params": {"a": 10.0},
              "reference_spend": 50.0}]  # fmt: skip
    run = store.create_run("m", status="done", responses=draws)
    problem = services.build_problem(run, {"budget": 100})
    short, summarised = planning.summarised_problem(problem)
    tv, radio = short["channels"]
    assert tv["response"] == {"type": "log1p", "a": 20.0} and summarised == {"tv": 3}
    assert radio["response"]["a"] == 10.0
    assert problem["channels"][0]["response"]["a"] == [10.0, 20.0, 30.0]  # left as it was
    assert solve(Problem.from_dict(short)).allocation["tv"] == pytest.approx(
        20 * 102 / 30 - 1, rel=1e-4
    )


def test_a_web_svi_fit_moves_the_stored_progress(store: Store, monkeypatch) -> None:
    """The optimiser reports after each chunk of steps, so the run's stored progress moves
    through many values (not one jump from 10% to done)."""
    from mediamix.data.simulate import simulate

    monkeypatch.setitem(fits.FIT_OPTIONS, "svi", {"steps": 200, "draws": 50})
    frame, _ = simulate(n_periods=60, n_channels=2, n_controls=0, seed=3)
    stored: list[tuple[float, str]] = []
    update = store.update_run

    def recording(run_id, **fields):
        run = update(run_id, **fields)
        stored.append((run.progress, run.message))
        return run

    monkeypatch.setattr(store, "update_run", recording)
    columns = {"date": "date", "kpi": "sales", "channels": ["tv_spend", "search_spend"]}
    run = fits.start_fit(store, frame.to_csv(index=False).encode(), columns, "svi")
    assert run.status == "done", run.message
    values = [p for p, _ in stored]
    assert values == sorted(values), values  # it only moves forward
    during = sorted({p for p, m in stored if m.startswith("fitting (SVI): optimising")})
    assert len(during) >= 5, stored
    assert all(fits.FIT_START < p <= fits.FIT_END for p in during)
    assert any("optimising 200/200 steps" in m for _, m in stored)
    assert any("left" in m for _, m in stored)
