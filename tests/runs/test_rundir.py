"""RunDir: every writer's folder is complete, format-1 folders are read and migrated, and a
failed write leaves the folder as it was."""

import json
import shutil

import numpy as np
import pytest

from mediamix.errors import SpecError
from mediamix.runs import FORMAT_VERSION, RunDir
from mediamix.runs import layout as L

ALL_FILES = {L.META, L.SUMMARY, L.SUMMARY_CSV, L.MODEL_DIR, L.CONTRIBUTIONS, L.FIT,
             L.RESPONSE_CURVES, L.ADSTOCK_CURVES, L.RESPONSES, L.CHECKS}  # fmt: skip


@pytest.fixture(scope="module")
def written(svi_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run"
    summary = RunDir(path).write(svi_fit)
    return path, summary


def test_write_holds_every_file_of_the_layout(written, svi_fit):
    path, summary = written
    assert {p.name for p in path.iterdir()} == ALL_FILES
    meta = json.loads((path / L.META).read_text())
    assert meta["format_version"] == FORMAT_VERSION == 2 and meta["kind"] == "mediamix-run"
    assert set(meta["files"]) == ALL_FILES - {L.META}
    assert json.loads((path / L.MODEL_DIR / L.META).read_text())["format_version"] == 2
    assert json.loads((path / L.SUMMARY).read_text()) == summary
    assert set(summary["channels"]) == set(svi_fit.channel_names)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_read_is_lazy_and_gives_what_was_written(written, svi_fit):
    path, summary = written
    view = RunDir(path).read()
    assert view.format_version == 2 and view.summary == summary
    fit = view.table("fit")
    assert list(fit.columns) == ["date", "actual", "mean", "lower", "upper", "train"]
    assert (fit["lower"] <= fit["upper"]).all() and fit["train"].sum() == svi_fit.n_train
    assert [r["name"] for r in view.responses] == svi_fit.channel_names
    assert all(r["reference_spend"] > 0 for r in view.responses)
    assert "fitted" not in view.__dict__  # nothing loaded the model so far
    assert np.array_equal(view.fitted.roas_draws(), svi_fit.roas_draws())
    with pytest.raises(SpecError, match="unknown run table 'fits'"):
        view.table("fits")


def _as_format_1(src, dst, model_at_root=False):
    """The layout written before the format was versioned: no run meta, no fit.csv,
    responses.json or data_checks.json, model meta without a version."""
    shutil.copytree(src, dst)
    for name in (L.META, L.FIT, L.RESPONSES, L.CHECKS):
        (dst / name).unlink()
    mmeta = dst / L.MODEL_DIR / L.META
    meta = json.loads(mmeta.read_text())
    meta.pop("format_version")
    mmeta.write_text(json.dumps(meta))
    if model_at_root:
        for f in (dst / L.MODEL_DIR).iterdir():
            shutil.move(str(f), dst / f.name)
        (dst / L.MODEL_DIR).rmdir()
    return dst


@pytest.mark.parametrize("model_at_root", [False, True])
def test_format_1_folder_is_read_and_migrated(written, tmp_path, svi_fit, model_at_root):
    old = _as_format_1(written[0], tmp_path / "old", model_at_root)
    run = RunDir(old)
    assert run.format_version == 1
    view = run.read()
    assert [r["name"] for r in view.responses] == svi_fit.channel_names  # from the model
    from mediamix.report.run import load_run

    data = load_run(old)
    assert data.fit is not None and data.data_checks is not None
    assert run.migrate() == 1
    assert run.format_version == 2
    assert {p.name for p in old.iterdir()} == ALL_FILES
    again = RunDir(old).read()
    assert np.array_equal(again.fitted.roas_draws(), svi_fit.roas_draws())


class _Broken:
    """A fitted model whose tables fail halfway through writing."""

    def __init__(self, fitted):
        self._f = fitted
        self.data = fitted.data
        self.method = fitted.method

    def to_json(self, level):
        return self._f.to_json(level)

    def save(self, path):
        return self._f.save(path)

    def summary(self, level):
        raise RuntimeError("disk full")


def test_failed_write_leaves_the_folder_as_it_was(written, tmp_path, svi_fit):
    target = tmp_path / "run"
    shutil.copytree(written[0], target)
    (target / "data.csv").write_text("uploaded")
    before = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    with pytest.raises(RuntimeError, match="disk full"):
        RunDir(target).write(_Broken(svi_fit))
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_rewrite_keeps_files_the_run_does_not_own(written, tmp_path, svi_fit):
    target = tmp_path / "run"
    target.mkdir()
    (target / "data.csv").write_text("uploaded")
    RunDir(target).write(svi_fit)
    assert (target / "data.csv").read_text() == "uploaded"
    assert ALL_FILES <= {p.name for p in target.iterdir()}


def test_read_errors_name_the_folder(tmp_path):
    with pytest.raises(SpecError, match="does not exist.*mediamix fit"):
        RunDir(tmp_path / "nope").read()
    (tmp_path / "f").write_text("x")
    with pytest.raises(SpecError, match="is a file"):
        RunDir(tmp_path / "f").read()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SpecError, match="responses.json' is missing"):
        _ = RunDir(empty).read().responses
