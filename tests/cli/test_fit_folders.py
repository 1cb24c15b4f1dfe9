"""`mediamix fit` and run folders: nothing lost, nothing half-written, no confident wrong fit.

One real fit (MAP, 50 steps) makes the run folder; the other cases hand `mediamix fit` that
model back (so they test the command, not the sampler) or stop before any fitting."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.errors import SpecError
from mediamix.estimator import MMM, FittedModel
from mediamix.runs import layout as L
from tests.runs.test_staging import _swallowed

CHANNELS = ["--date", "date", "--kpi", "sales", "--channels", "tv_spend,search_spend,tv_copy",
            "--controls", ""]  # fmt: skip


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    from mediamix.data.simulate import simulate

    frame, _ = simulate(n_periods=60, n_channels=2, seed=3, n_controls=0)
    rng = np.random.default_rng(0)  # a near copy of tv: `check` warns about the pair
    frame["tv_copy"] = frame["tv_spend"] * (1 + 0.01 * rng.standard_normal(len(frame)))
    path = tmp_path_factory.mktemp("sim") / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted_run(sim_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    args = ["fit", str(sim_csv), "--out", str(out), "--method", "map", "--steps", "50",
            "--holdout", "8", "--quiet", *CHANNELS]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return res, out


@pytest.fixture(scope="module")
def loaded(fitted_run):
    return FittedModel.load(fitted_run[1] / L.MODEL_DIR)


@pytest.fixture
def run_copy(fitted_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(fitted_run[1], dst)
    return dst


def _fit(out: Path, sim_csv, *extra: str):
    args = ["fit", str(sim_csv), "--out", str(out), "--method", "map", "--steps", "50",
            "--quiet", *CHANNELS, *extra]  # fmt: skip
    return CliRunner().invoke(cli, args)


def _no_fit(monkeypatch, result=None, action=None):
    """MMM.fit hands back `result` (or runs `action`) instead of sampling."""

    def fake(self, *a, **k):
        if action is not None:
            action()
        if result is None:
            raise AssertionError("the fit must not start")
        return result

    monkeypatch.setattr(MMM, "fit", fake)


# -- what a fit prints and writes ------------------------------------------------------------
def test_fit_output_names_the_fitted_periods_and_the_data_warnings(fitted_run):
    res, out = fitted_run
    first = next(ln for ln in res.stdout.splitlines() if ln.startswith("fitted "))
    assert "with map in" in first and "of 60 periods fitted (8 held out" in first
    assert "warning: data check correlation tv_spend ~ tv_copy:" in res.stderr
    checks = json.loads((out / L.CHECKS).read_text())
    assert checks["dataset"]["rows"] == 60
    warned = {(c["name"], c["subject"]) for c in checks["checks"] if c["verdict"] == "warn"}
    assert ("correlation", "tv_spend ~ tv_copy") in warned


def test_map_with_too_few_steps_is_marked_not_converged(fitted_run, loaded):
    res, out = fitted_run
    diag = json.loads((out / L.SUMMARY).read_text())["diagnostics"]
    assert diag["loss_converged"] is False and diag["converged"] is False
    assert loaded.diagnostics.converged is False  # saved with the model
    assert "warning: loss: the MAP fit has not converged" in res.stderr
    assert res.stdout.strip().splitlines()[-1].startswith("NOT CONVERGED")


# -- an existing folder ----------------------------------------------------------------------
def test_an_existing_folder_is_refused_without_force(run_copy, sim_csv, monkeypatch):
    before = _tree(run_copy)
    _no_fit(monkeypatch)
    res = _fit(run_copy, sim_csv)
    assert res.exit_code == 2
    assert f"'{run_copy}' already exists" in res.stderr and "--force" in res.stderr
    assert "Traceback" not in res.output and _tree(run_copy) == before


def test_force_replaces_the_folder_whole(run_copy, sim_csv, monkeypatch, loaded):
    for name in (L.PLAN, L.VALIDATION, L.TEST_DESIGN, L.REPORT):
        (run_copy / name).write_text("{}")
    (run_copy / "notes.txt").write_text("mine")
    _no_fit(monkeypatch, loaded)
    res = _fit(run_copy, sim_csv, "--force")
    assert res.exit_code == 0, res.output
    names = {p.name for p in run_copy.iterdir()}
    assert not names & {L.PLAN, L.VALIDATION, L.TEST_DESIGN, L.REPORT}  # nothing stale
    assert (run_copy / "notes.txt").read_text() == "mine"  # not the run's: kept
    meta = json.loads((run_copy / L.META).read_text())
    assert set(meta["files"]) == names - {L.META, "notes.txt"}
    assert not [p for p in run_copy.parent.iterdir() if p.name.startswith(".")]


def test_force_does_not_replace_a_folder_that_is_not_a_run(tmp_path, sim_csv, monkeypatch):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "a.jpg").write_text("x")
    _no_fit(monkeypatch)
    res = _fit(other, sim_csv, "--force")
    assert res.exit_code == 2 and "is not a run folder" in res.stderr
    assert (other / "a.jpg").read_text() == "x"


# -- options checked before any fitting ------------------------------------------------------
@pytest.mark.parametrize("level", ["1.5", "nan", "0", "-0.2", "inf"])
def test_level_is_checked_before_sampling(tmp_path, sim_csv, monkeypatch, level):
    _no_fit(monkeypatch)
    res = _fit(tmp_path / "run", sim_csv, "--level", level)
    assert res.exit_code == 2, res.output
    assert "--level must be between 0 and 1" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()


def test_holdout_out_of_range_is_refused_before_sampling(tmp_path, sim_csv):
    res = _fit(tmp_path / "run", sim_csv, "--holdout", "200")
    assert res.exit_code == 2
    assert "holdout must be an integer between 0 and 50" in res.stderr
    assert not (tmp_path / "run").exists()


# -- interrupts ------------------------------------------------------------------------------
def _ctrl_c():
    raise KeyboardInterrupt


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(2)  # the handler raises before this ends
    raise AssertionError("SIGTERM was not honoured")


@pytest.mark.parametrize("when", ["fit", "sigterm", "write"])
def test_an_interrupted_fit_exits_130_and_leaves_the_folder(run_copy, sim_csv, monkeypatch,
                                                           loaded, when):  # fmt: skip
    before = _tree(run_copy)
    if when == "write":  # Ctrl+C while the run folder is being written
        import mediamix.analysis

        monkeypatch.setattr(mediamix.analysis, "adstock_curves", lambda *a, **k: _ctrl_c())
        _no_fit(monkeypatch, loaded)
    else:
        _no_fit(monkeypatch, loaded, _ctrl_c if when == "fit" else _sigterm)
    res = _fit(run_copy, sim_csv, "--force")
    assert res.exit_code == 130, res.output
    assert res.stderr.strip().splitlines()[-1] == f"interrupted; {run_copy} was left as it was"
    assert "Traceback" not in res.output and "Aborted" not in res.output
    assert _tree(run_copy) == before
    assert not [p for p in run_copy.parent.iterdir() if p.name.startswith(".")]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


@pytest.mark.parametrize("how", ["bare except", "callback"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("where", ["before a progress report", "after the last report"])
def test_an_interrupt_swallowed_by_library_code_still_stops_the_fit(run_copy, sim_csv, monkeypatch,
                                                                    loaded, sig, where, how):  # fmt: skip
    """The signal's KeyboardInterrupt is lost inside the fit (JAX has bare ``except:`` clauses
    around calls made just after a compilation, and garbage-collector callbacks, where Python
    ignores it): the fit stops at its next progress report (passed even with --quiet) or, after
    its last one, before anything is written; the lost exception is not printed."""
    from mediamix.inference.progress import OptimiserProgress

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    before = _tree(run_copy)

    def fit(self, *args, progress=False, **kwargs):
        _swallowed(sig, how)
        if where == "before a progress report":
            progress(OptimiserProgress("MAP", 100, 3000, 1.0, 0.1, None))
            raise AssertionError("the fit went on after the interrupt")
        return loaded

    monkeypatch.setattr(MMM, "fit", fit)
    res = _fit(run_copy, sim_csv, "--force")
    assert res.exit_code == 130, res.output
    assert res.stderr.strip().splitlines()[-1] == f"interrupted; {run_copy} was left as it was"
    assert "Traceback" not in res.output
    assert _tree(run_copy) == before
    assert not [p for p in run_copy.parent.iterdir() if p.name.startswith(".")]
    # restored (SIGINT is the default handler, or ignored when run as a background job)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert ignored == []


def test_non_finite_results_are_an_error_and_nothing_is_written(run_copy, sim_csv,
                                                               monkeypatch, loaded):  # fmt: skip
    import copy

    from mediamix.analysis.review import Review, ReviewCheck

    broken = copy.copy(loaded)
    broken._review = Review.from_checks(
        [ReviewCheck("finite", "results", 1.0, 0.0, "fail", "non-finite numbers in: roas.")],
        "map",
    )
    before = _tree(run_copy)
    _no_fit(monkeypatch, broken)
    res = _fit(run_copy, sim_csv, "--force")
    assert res.exit_code == 2
    assert "results are not finite numbers: non-finite numbers in: roas." in res.stderr
    assert f"{run_copy} was left as it was" in res.stderr
    assert _tree(run_copy) == before


def test_init_config_into_a_missing_folder_names_it(tmp_path):
    res = CliRunner().invoke(cli, ["init-config", str(tmp_path / "nope" / "x.yaml")])
    assert res.exit_code == 2
    assert f"folder '{tmp_path / 'nope'}' does not exist" in res.stderr
    assert "Traceback" not in res.output


# -- damaged run folders ---------------------------------------------------------------------
def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


def _pickled_npz(p: Path) -> None:
    np.savez(p, dates=np.array([object()], dtype=object), kpi=np.zeros(1), spend=np.zeros((1, 1)))


DAMAGE = {
    "truncated posterior": (f"{L.MODEL_DIR}/{L.POSTERIOR}", _truncate),
    "garbage model meta": (f"{L.MODEL_DIR}/{L.META}", lambda p: p.write_text("{garbage")),
    "random data.npz": (f"{L.MODEL_DIR}/{L.DATA}",
                        lambda p: p.write_bytes(np.random.default_rng(0).bytes(4000))),
    "pickled data.npz": (f"{L.MODEL_DIR}/{L.DATA}", _pickled_npz),
    "broken spec.yaml": (f"{L.MODEL_DIR}/{L.SPEC}", lambda p: p.write_text("form: [unclosed")),
    "garbage scalers": (f"{L.MODEL_DIR}/{L.SCALERS}", lambda p: p.write_text("[1, 2]")),
}  # fmt: skip


def _damage(run: Path, case: str) -> Path:
    name, how = DAMAGE[case]
    how(run / name)
    return run / name


def _clear(text: str, damaged: Path) -> None:
    assert f"'{damaged}' is damaged" in text and "Fix:" in text
    assert "allow_pickle" not in text and "Traceback" not in text


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_saved_model_is_one_clear_error(run_copy, case):
    damaged = _damage(run_copy, case)
    with pytest.raises(SpecError) as err:
        FittedModel.load(run_copy / L.MODEL_DIR)
    _clear(str(err.value), damaged)
    res = CliRunner().invoke(cli, ["optimize", "--run", str(run_copy)])
    assert res.exit_code == 2, res.output
    _clear(res.stderr, damaged)
    res = CliRunner().invoke(cli, ["validate", str(run_copy), "--tests", "placebo", "--quiet"])
    assert res.exit_code == 2, res.output
    _clear(res.stderr, damaged)


@pytest.mark.parametrize("case", ["truncated posterior", "random data.npz", "broken spec.yaml"])
def test_report_says_which_file_is_damaged(run_copy, tmp_path, case):
    damaged = _damage(run_copy, case)
    (run_copy / L.CONTRIBUTIONS).unlink()  # a table the report must recompute from the model
    res = CliRunner().invoke(cli, ["report", str(run_copy), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.stderr
    _clear(res.stderr, damaged)


def test_a_damaged_run_meta_is_refused_everywhere(run_copy, tmp_path):
    (run_copy / L.META).write_text("not json at all")
    for args in (["report", str(run_copy), "--out", str(tmp_path / "r.html")],
                 ["optimize", "--run", str(run_copy)],
                 ["validate", str(run_copy), "--quiet"]):  # fmt: skip
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        _clear(res.stderr, run_copy / L.META)


@pytest.mark.parametrize("missing", [L.POSTERIOR, L.SPEC, L.SCALERS])
def test_a_saved_model_with_a_missing_file_names_it(run_copy, missing):
    (run_copy / L.MODEL_DIR / missing).unlink()
    with pytest.raises(SpecError, match=f"is not a saved model folder: '{missing}' is missing"):
        FittedModel.load(run_copy / L.MODEL_DIR)


@pytest.mark.parametrize("gone", [L.SUMMARY, L.MODEL_DIR])
def test_report_without_summary_or_model_is_still_complete(run_copy, tmp_path, gone):
    target = run_copy / gone
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(run_copy), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "warning:" not in res.stderr
    html = out.read_text(encoding="utf-8")
    assert "tv_copy" in html and "search_spend" in html


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_real_fit_stopped_by_a_signal(run_copy, sim_csv, sig):
    """`mediamix fit --force` in its own process, signalled once the fit has started (after the
    data-check warnings): exit 130, the one line, the old folder byte for byte."""
    import subprocess
    import sys

    before = _tree(run_copy)
    main = "import sys; from mediamix.cli import main; sys.argv[0] = 'mediamix'; main()"
    args = [sys.executable, "-c", main, "fit", str(sim_csv), "--out", str(run_copy),
            "--force", "--method", "map", "--steps", "3000", "--quiet", *CHANNELS]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    line = proc.stderr.readline()
    assert line.startswith("warning: data check"), line
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == f"interrupted; {run_copy} was left as it was"
    assert "Traceback" not in err
    assert _tree(run_copy) == before
    assert not [p for p in run_copy.parent.iterdir() if p.name.startswith(".")]
