"""Staging: a folder is replaced whole or not at all. Writes fail, are interrupted or killed at
several points; the target is always the old folder intact or the new one complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import pytest

from mediamix.errors import SpecError
from mediamix.runs import RunDir
from mediamix.runs import layout as L


def _tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` (relative name -> content)."""
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def _old_run(path: Path) -> dict[str, str]:
    path.mkdir(parents=True)
    (path / L.MODEL_DIR).mkdir()
    (path / L.MODEL_DIR / L.POSTERIOR).write_text("old posterior")
    for name in (L.SUMMARY, L.PLAN, L.CHECKS, L.VALIDATION, L.TEST_DESIGN, L.REPORT):
        (path / name).write_text(f"old {name}")
    (path / "data.csv").write_text("uploaded")
    (path / L.META).write_text(json.dumps({"format_version": 2, "kind": "mediamix-run"}))
    return _tree(path)


NEW = {L.SUMMARY: "new summary", f"{L.MODEL_DIR}/{L.POSTERIOR}": "new posterior",
       L.CHECKS: "new checks", L.META: '{"format_version": 2}'}  # fmt: skip


def _write_new(tmp: Path, fail_after: int | None = None, exc=RuntimeError) -> None:
    for i, (name, text) in enumerate(NEW.items()):
        if fail_after is not None and i == fail_after:
            raise exc("disk full")
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)


def test_the_new_folder_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "run"
    _old_run(target)
    with L.Staging(target) as tmp:
        assert (tmp / L.PARTIAL).is_file()  # marked unfinished while it is written
        _write_new(tmp)
    # no stale plan / validation / design / report / data checks of the old run
    assert _tree(target) == {**NEW, "data.csv": "uploaded"}  # unknown files carried over
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging, nothing parked


def test_keep_carries_named_files_of_the_old_run(tmp_path):
    target = tmp_path / "run"
    _old_run(target)
    with L.Staging(target, keep=(L.PLAN,)) as tmp:
        _write_new(tmp)
    assert (target / L.PLAN).read_text() == f"old {L.PLAN}"
    assert not (target / L.VALIDATION).exists()


@pytest.mark.parametrize("fail_after", [0, 1, 2, 3])
@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_a_write_that_fails_or_is_interrupted_leaves_the_old_folder(tmp_path, fail_after, exc):
    target = tmp_path / "run"
    before = _old_run(target)
    with pytest.raises(exc, match="disk full"):
        with L.Staging(target) as tmp:
            _write_new(tmp, fail_after, exc)
    assert _tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize("where", ["_link_tree", "_exchange"])
def test_a_failure_while_moving_in_leaves_the_old_folder(tmp_path, monkeypatch, where):
    target = tmp_path / "run"
    before = _old_run(target)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(L, where, boom)
    with pytest.raises(OSError, match="No space left"):
        with L.Staging(target) as tmp:
            _write_new(tmp)
    assert _tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_the_two_rename_swap_without_renameat2(tmp_path, monkeypatch):
    target = tmp_path / "run"
    _old_run(target)
    monkeypatch.setattr(L, "_renameat2_exchange", lambda a, b: False)
    with L.Staging(target) as tmp:
        _write_new(tmp)
    assert _tree(target) == {**NEW, "data.csv": "uploaded"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_swap_cut_between_its_renames_names_the_parked_folder(tmp_path, monkeypatch):
    target = tmp_path / "run"
    before = _old_run(target)
    monkeypatch.setattr(L, "_renameat2_exchange", lambda a, b: False)
    real, calls = os.rename, []

    def rename(a, b):
        calls.append(a)
        if len(calls) == 2:  # the process dies after parking the old folder
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(L.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        with L.Staging(target) as tmp:
            _write_new(tmp)
    parked = L.parked(target)
    assert len(parked) == 1 and _tree(parked[0]) == before  # nothing lost
    with pytest.raises(SpecError, match=r"is missing, but .*\.run\.old-.* holds the run folder"):
        RunDir(target).read()


def test_signals_during_the_swap_wait_until_it_is_done(tmp_path, monkeypatch):
    int_handler = signal.getsignal(signal.SIGINT)  # the default, or ignored in a background job
    target = tmp_path / "run"
    _old_run(target)
    real = L._exchange

    def exchange(a, b):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C in the middle of the swap
        time.sleep(0.05)
        real(a, b)

    monkeypatch.setattr(L, "_exchange", exchange)
    with pytest.raises(L.InterruptedAfterWrite):
        with L.Staging(target) as tmp:
            _write_new(tmp)
    assert _tree(target) == {**NEW, "data.csv": "uploaded"}  # the swap was completed
    assert signal.getsignal(signal.SIGINT) is int_handler  # restored


def test_an_unfinished_folder_and_a_damaged_meta_are_refused(tmp_path):
    unfinished = tmp_path / ".run.partial-1-x"
    unfinished.mkdir()
    (unfinished / L.PARTIAL).write_text("")
    (unfinished / L.SUMMARY).write_text("{}")
    with pytest.raises(SpecError, match="unfinished run folder.*--force"):
        RunDir(unfinished).read()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / L.META).write_text("{not json")
    with pytest.raises(SpecError, match=r"bad/meta.json' is damaged \(not valid JSON.*Fix: fit"):
        RunDir(bad).read()
    (bad / L.META).write_text('["a list"]')
    with pytest.raises(SpecError, match="not the meta.json of a run folder"):
        RunDir(bad).read()
    (bad / L.META).write_text('{"format_version": 99}')
    with pytest.raises(SpecError, match="format 99, newer than this mediamix reads"):
        RunDir(bad).read()


def test_a_folder_written_before_the_marker_is_still_read(tmp_path):
    old = tmp_path / "old"  # format 1: no meta.json, no marker
    old.mkdir()
    (old / L.SUMMARY).write_text('{"level": 0.8}')
    view = RunDir(old).read()
    assert view.format_version == 1 and view.level == 0.8


def test_write_json_never_leaves_half_a_file(tmp_path, monkeypatch):
    path = tmp_path / "plan.json"
    L.write_json(path, {"a": 1})
    real = os.replace
    monkeypatch.setattr(L.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError):
        L.write_json(path, {"a": 2})
    monkeypatch.setattr(L.os, "replace", real)
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    with pytest.raises(ValueError):  # strict JSON: NaN is refused, the old file stays
        L.write_json(path, {"a": float("nan")})
    assert json.loads(path.read_text()) == {"a": 1}


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mediamix.runs import layout as L
    target, n = Path(sys.argv[1]), 0
    while True:
        n += 1
        with L.Staging(target) as tmp:
            for i in range(20):
                (tmp / f"part{i}.txt").write_text(str(n))
                time.sleep(0.002)
            (tmp / "meta.json").write_text(str(n))
        print(n, flush=True)
    """
)


def test_a_writer_killed_at_any_moment_leaves_a_complete_folder(tmp_path):
    """SIGKILL (nothing can be cleaned up) at several moments of a writer rewriting a folder
    in a loop: the folder is always one whole generation, never a mix; the next writer
    removes the dead one's staging folder."""
    target = tmp_path / "run"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for delay in (0.3, 0.45, 0.6, 0.75):
        proc = subprocess.Popen([sys.executable, str(script), str(target)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        proc.stdout.readline()  # one generation is complete
        time.sleep(delay)
        proc.kill()
        proc.wait()
        proc.stdout.close()
        files = _tree(target)
        assert len(files) == 21, sorted(files)
        assert len(set(files.values())) == 1  # every file from the same generation
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(".run.partial-")]
    with L.Staging(target) as tmp:
        (tmp / "meta.json").write_text("last")
    assert not any(p.exists() for p in stale)
    assert _tree(target)["meta.json"] == "last"


def test_a_link_to_a_run_folder_stays_a_link(tmp_path):
    real = tmp_path / "run-1"
    _old_run(real)
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    with L.Staging(link) as tmp:
        _write_new(tmp)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert _tree(real) == {**NEW, "data.csv": "uploaded"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-1"]


KILLED_AT = textwrap.dedent(
    """
    import os, signal, sys, tempfile
    from pathlib import Path
    from mediamix.runs import layout as L
    target, moment = Path(sys.argv[1]), sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if moment == "before the marker":
        real = tempfile.mkdtemp
        L.tempfile.mkdtemp = lambda **kw: (real(**kw), die())[0]
    elif moment == "before the swap":
        L._exchange = die
    elif moment == "deleting the old folder":
        def half_removed(path, **kw):
            next(Path(path).iterdir()).unlink()
            die()
        L.shutil.rmtree = half_removed
    with L.Staging(target) as tmp:
        (tmp / "summary.json").write_text("new")
        (tmp / "meta.json").write_text("new")
    """
)


@pytest.mark.parametrize(
    "moment", ["before the marker", "before the swap", "deleting the old folder"]
)
def test_a_writer_killed_without_its_marker_leaves_a_folder_the_next_writer_removes(
    tmp_path, moment
):
    """Killed before the marker is written, after it is removed, or after the swap while the
    old folder (now under the staging name, no marker) is being deleted: the target is one whole
    generation and the next writer removes the dead one's staging folder."""
    target = tmp_path / "run"
    with L.Staging(target) as tmp:
        (tmp / "summary.json").write_text("old")
        (tmp / "meta.json").write_text("old")
    script = tmp_path / "killed.py"
    script.write_text(KILLED_AT)
    res = subprocess.run([sys.executable, str(script), str(target), moment], timeout=120)
    assert res.returncode == -signal.SIGKILL
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(".run.partial-")]
    assert len(stale) == 1 and not (stale[0] / L.PARTIAL).exists()
    kept = "new" if moment == "deleting the old folder" else "old"
    assert _tree(target) == {"summary.json": kept, "meta.json": kept}
    with L.Staging(target) as tmp:
        (tmp / "meta.json").write_text("last")
    assert not stale[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.py", "run"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process states from /proc")
def test_the_staging_folder_of_a_zombie_writer_is_removed(tmp_path):
    """A writer that died while its parent has not reaped it yet (a zombie still answers to
    its process id) no longer runs: its staging folder goes."""
    target = tmp_path / "run"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from mediamix.runs import layout as L
        staging = L.Staging(Path(sys.argv[1]))
        (staging.__enter__() / "summary.json").write_text("unfinished")
        os._exit(0)  # no cleanup: the staging folder stays
        """
    ))  # fmt: skip
    proc = subprocess.Popen([sys.executable, str(script), str(target)])
    try:
        deadline = time.monotonic() + 120
        while (L._process_state(proc.pid) or ("Z",))[0] != "Z":  # not reaped: no poll()
            assert time.monotonic() < deadline, "the writer did not exit"
            time.sleep(0.05)
        stale = [p for p in tmp_path.iterdir() if p.name.startswith(".run.partial-")]
        assert len(stale) == 1 and (stale[0] / L.PARTIAL).is_file()
        with L.Staging(target) as tmp:
            (tmp / "meta.json").write_text("next")
        assert not stale[0].exists()
    finally:
        proc.wait()
    assert _tree(target) == {"meta.json": "next"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start times from /proc")
def test_a_staging_folder_is_judged_by_its_writer_id_and_start_time(tmp_path):
    """The folder of a running writer stays; one named after a process id now held by a process
    that started at another time (the id was reused after the writer died) goes."""
    target = tmp_path / "run"
    pid = os.getpid()
    start = L._process_state(pid)[1]
    running = tmp_path / f".run.partial-{pid}-{start}-abcd1234"
    running_old_name = tmp_path / f".run.partial-{pid}-abcd1234"  # no start time: the id alone
    reused = tmp_path / f".run.partial-{pid}-{start + 1}-abcd1234"
    for folder in (running, running_old_name, reused):
        folder.mkdir()
        (folder / L.PARTIAL).write_text("")
    assert L._staging_prefix(target) == f".run.partial-{pid}-{start}-"
    with L.Staging(target) as tmp:
        (tmp / "meta.json").write_text("new")
    assert running.is_dir() and running_old_name.is_dir() and not reused.exists()


def _swallowed(sig: int, how: str) -> None:
    """A signal whose KeyboardInterrupt library code swallows: a bare ``except:``, or a weak
    reference's callback (as the garbage collector runs them), where Python ignores it."""
    if how == "bare except":
        try:
            os.kill(os.getpid(), sig)
            time.sleep(2)  # the handler raises before this ends
        except BaseException:
            pass
    else:
        thing = type("Thing", (), {})()
        ref = weakref.ref(thing, lambda _: (os.kill(os.getpid(), sig), time.sleep(2)))
        del thing
        assert ref() is None


@pytest.mark.parametrize("how", ["bare except", "callback"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_swallowed_while_writing_still_stops_the_write(tmp_path, monkeypatch, sig,
                                                                    how):  # fmt: skip
    """Recorded signals: an interrupt whose exception was lost while the files were written
    still keeps the folder from being swapped in, and no later write starts in the block; the
    lost exception is not printed (no 'Exception ignored ... Traceback')."""
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    target = tmp_path / "run"
    before = _old_run(target)
    with L.interrupts_recorded():
        with pytest.raises(KeyboardInterrupt):
            with L.Staging(target) as tmp:
                _write_new(tmp)
                _swallowed(sig, how)
        assert _tree(target) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
        with pytest.raises(KeyboardInterrupt):
            L.Staging(target).__enter__()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert ignored == []
    L.check_interrupt()  # the record ends with the block, as do its handlers and hook
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert sys.unraisablehook == ignored.append
    with L.Staging(target) as tmp:
        _write_new(tmp)
    assert _tree(target) == {**NEW, "data.csv": "uploaded"}
