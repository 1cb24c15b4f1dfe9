"""Where a fleet's fits run: in this process, in a local pool of processes, or on Ray.

Every engine runs `mediamix.fleet.task.run_task` once per task and reports through three
callbacks: ``started(task)``, ``retried(task, why)`` when a worker died and the task goes
again, and ``finished(task, record)`` exactly once per task (the worker's record, or a
``failed`` record when its worker died more than ``max_retries`` times).

- `SequentialEngine`: one fit after another in this process (no isolation; a baseline).
- `LocalEngine`: ``workers`` processes at a time, each started with the ``spawn`` method for
  at most ``fits_per_worker`` tasks (as ``max_tasks_per_child``; 1, the default, a fresh
  interpreter per fit), then replaced by a fresh one, so JAX memory cannot grow across the
  fleet, while a worker's later fits of one model structure reuse its compiled programs;
  a worker that dies (killed, out of memory) has its current task run again.
- `BatchedEngine`: groups of one model structure sampled together in one compiled run
  (`mediamix.estimator.batch.fit_batch`), in this process; every period fitted (no hold-out),
  no lift tests.
- `RayEngine`: each fit a Ray task with explicit ``num_cpus`` / ``num_gpus``, retried by Ray
  when its worker dies (``max_retries``), in a worker process that exits after
  ``fits_per_worker`` of them (``max_calls``). Without an address it starts a local cluster
  bound to the loopback interface and shuts it down after; with one it connects to that cluster. The run folder
  comes back as an archive, so workers need not share the fleet's disk.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable
from typing import Any

from mediamix.errors import SpecError
from mediamix.fleet.task import GroupTask, run_task

Started = Callable[[GroupTask], None]
Retried = Callable[[GroupTask, str], None]
Finished = Callable[[GroupTask, dict], None]

ENGINES = ("local", "ray", "batched", "sequential")


def died_record(task: GroupTask, why: str, attempts: int) -> dict[str, Any]:
    """The record of a task whose worker died on every attempt."""
    return {
        "group": task.name,
        "status": "failed",
        "message": f"the worker fitting this group died {attempts} time(s) ({why}); the other "
        "groups are unaffected. Fix: look for memory limits or killed processes, then run "
        "the fleet again (finished groups are skipped)",
        "attempt": attempts,
    }


class SequentialEngine:
    """Every fit in this process, one after another."""

    name = "sequential"

    def __init__(self, workers: int | None = None, max_retries: int = 0) -> None:
        self.workers = 1

    def run(self, tasks: list[GroupTask], started: Started, retried: Retried,
            finished: Finished) -> None:  # fmt: skip
        for task in tasks:
            started(task)
            finished(task, run_task(task))


class BatchedEngine:
    """Same-structure groups sampled together in one compiled run (`fit_batch`), in this
    process: one compilation per model structure instead of one per group."""

    name = "batched"

    def __init__(self, workers: int | None = None, max_retries: int = 0) -> None:
        self.workers = 1

    @staticmethod
    def check(options) -> None:
        """The options a batch cannot honour, refused before any fit."""
        if options.holdout:
            raise SpecError(
                f"--engine batched fits every period (got --holdout {options.holdout}); drop "
                "--holdout or use --engine local"
            )
        if options.experiments:
            raise SpecError(
                "--engine batched does not fit lift tests (--experiments); use --engine local"
            )
        try:
            import mediamix.estimator.batch  # noqa: F401
        except ImportError:
            raise SpecError(
                "--engine batched needs mediamix.estimator.batch, which this installation "
                "lacks; use --engine local"
            ) from None

    def run(self, tasks: list[GroupTask], started: Started, retried: Retried,
            finished: Finished) -> None:  # fmt: skip
        from mediamix.fleet.task import run_batch_tasks

        if not tasks:
            return
        for task in tasks:
            started(task)
        for task, record in zip(tasks, run_batch_tasks(tasks), strict=True):
            finished(task, record)


def _child(conn) -> None:
    """A pool worker: tasks from the pipe, each one's record sent back, until it is sent
    ``None``; then the process ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C belongs to the fleet, which stops us
    while (task := conn.recv()) is not None:
        conn.send(run_task(task))
    conn.close()


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class LocalEngine:
    """A pool of ``workers`` spawned processes on this machine, each serving at most
    ``fits_per_worker`` tasks before a fresh process takes its place (1: a fresh interpreter
    per fit; more: later fits of one model structure reuse the compiled programs)."""

    name = "local"

    def __init__(self, workers: int | None = None, max_retries: int = 2,
                 fits_per_worker: int = 1) -> None:  # fmt: skip
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.max_retries = int(max_retries)
        self.fits_per_worker = check_fits_per_worker(fits_per_worker)

    def run(self, tasks: list[GroupTask], started: Started, retried: Retried,
            finished: Finished) -> None:  # fmt: skip
        import multiprocessing as mp
        from multiprocessing.connection import wait

        ctx = mp.get_context("spawn")
        queue = deque(tasks)
        deaths: dict[str, int] = {}
        # sentinel -> [task, process, pipe, tasks served]
        running: dict[Any, list] = {}

        def give(entry, task) -> None:
            entry[0] = task
            entry[2].send(task)
            started(task)

        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    here, there = ctx.Pipe(duplex=True)
                    proc = ctx.Process(target=_child, args=(there,), daemon=True,
                                       name="mediamix-fleet-worker")  # fmt: skip
                    proc.start()
                    there.close()
                    entry = running[proc.sentinel] = [None, proc, here, 0]
                    give(entry, queue.popleft())
                conns = {entry[2]: s for s, entry in running.items()}
                ready = wait(list(conns) + list(running), timeout=5.0)
                for sentinel in {conns[r] if r in conns else r for r in ready}:
                    entry = running[sentinel]
                    task, proc, pipe, _ = entry
                    record = None
                    try:
                        if pipe.poll():
                            record = pipe.recv()
                    except (EOFError, OSError):
                        record = None
                    if record is not None:
                        finished(task, record)
                        entry[3] += 1
                        if queue and entry[3] < self.fits_per_worker and proc.is_alive():
                            give(entry, queue.popleft())
                            continue
                        _retire(running.pop(sentinel))
                        continue
                    running.pop(sentinel)
                    pipe.close()
                    proc.join()
                    why = _exit_reason(proc.exitcode)
                    deaths[task.name] = deaths.get(task.name, 0) + 1
                    if deaths[task.name] <= self.max_retries:
                        retried(task, why)
                        queue.appendleft(task)
                    else:
                        finished(task, died_record(task, why, deaths[task.name]))
        finally:
            for _, proc, _pipe, _n in running.values():
                proc.terminate()
            for _, proc, pipe, _n in running.values():
                proc.join(10)
                pipe.close()


def _retire(entry) -> None:
    """A worker done with its share of tasks: told to stop, then waited for."""
    _, proc, pipe, _ = entry
    try:
        pipe.send(None)
    except (BrokenPipeError, OSError):
        pass
    pipe.close()
    proc.join(30)
    if proc.is_alive():
        proc.terminate()
        proc.join(10)


def check_fits_per_worker(n) -> int:
    """``n`` as a count of fits per worker process (at least 1), or a `SpecError`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(
            f"--fits-per-worker must be a whole number of at least 1 (got {n!r}); 1 starts a "
            "fresh worker process for every fit"
        )
    return n


def import_ray(local: bool):
    """``ray``, or a `SpecError` naming the extra that installs it. A local cluster is bound
    to the loopback interface (set before Ray is first imported)."""
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise SpecError(
            "--engine ray needs Ray, which is not installed. Fix: pip install 'mediamix[fleet]' "
            "(or use --engine local)"
        ) from None
    return ray


class RayEngine:
    """Fits as Ray tasks (module docstring): ``address`` of an existing cluster (``ray://...``
    or ``host:port``; ``None`` starts a local one with ``workers x cpus`` CPUs)."""

    name = "ray"

    def __init__(self, workers: int | None = None, max_retries: int = 2, *,
                 address: str | None = None, cpus: float = 1, gpus: float = 0,
                 object_store_mb: int = 512, fits_per_worker: int = 1) -> None:  # fmt: skip
        if cpus <= 0 or gpus < 0:
            raise SpecError(f"CPUs per fit must be > 0 and GPUs >= 0 (got {cpus}, {gpus})")
        self.address = address
        self.cpus, self.gpus = cpus, gpus
        self.max_retries = int(max_retries)
        self.workers = workers
        self.object_store_mb = object_store_mb
        self.fits_per_worker = check_fits_per_worker(fits_per_worker)

    def _connect(self, ray) -> bool:
        """Start or join the cluster; whether this engine started it (and so stops it)."""
        import logging

        if ray.is_initialized():
            return False
        quiet = {"include_dashboard": False, "logging_level": logging.WARNING,
                 "log_to_driver": False}  # fmt: skip
        if self.address:
            try:
                ray.init(address=self.address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SpecError(
                    f"cannot connect to the Ray cluster at '{self.address}': {exc}. Fix: check "
                    "the address (ray://host:10001 or host:6379) and that the cluster is up, "
                    "or leave --address out to start a local cluster"
                ) from None
            return False
        n = max(1, int(self.workers or os.cpu_count() or 1))
        for attempt in (1, 2):  # a loaded machine can miss Ray's start-up deadlines once
            try:
                ray.init(num_cpus=max(1, int(round(n * self.cpus))),
                         num_gpus=self.gpus * n or None,
                         object_store_memory=self.object_store_mb * 1024 * 1024,
                         **quiet)  # fmt: skip
                return True
            except Exception as exc:  # Ray raises plain Exception when its node times out
                ray.shutdown()
                if attempt == 2:
                    raise SpecError(
                        f"could not start a local Ray cluster: {exc}. Fix: see the logs in "
                        "/tmp/ray/session_latest/logs (raylet.out), try again on a less "
                        "loaded machine, or use --engine local"
                    ) from None
        return True

    def run(self, tasks: list[GroupTask], started: Started, retried: Retried,
            finished: Finished) -> None:  # fmt: skip
        ray = import_ray(local=not self.address and not _ray_initialized())
        own = self._connect(ray)
        try:
            workers = self.workers
            if not workers:
                cpus = float(ray.cluster_resources().get("CPU", 1))
                workers = max(1, int(cpus // self.cpus))
            remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus,
                                max_retries=self.max_retries, retry_exceptions=False,
                                max_calls=self.fits_per_worker)(run_task)  # fmt: skip
            queue = deque(tasks)
            pending: dict[Any, GroupTask] = {}
            try:
                while queue or pending:
                    while queue and len(pending) < workers:
                        task = queue.popleft()
                        pending[remote.remote(task)] = task
                        started(task)
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
                    for ref in ready:
                        task = pending.pop(ref)
                        try:
                            record = ray.get(ref)
                        except ray.exceptions.RayError as exc:
                            why = type(exc).__name__
                            record = died_record(task, why, self.max_retries + 1)
                        finished(task, record)
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        finally:
            if own:
                ray.shutdown()


def _ray_initialized() -> bool:
    import sys

    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def make_engine(name: str, workers: int | None = None, *, address: str | None = None,
                cpus: float = 1, gpus: float = 0, max_retries: int = 2,
                fits_per_worker: int = 1):  # fmt: skip
    """The engine called ``name`` (``local``, ``ray``, ``batched`` or ``sequential``)."""
    if name == "local":
        if address:
            raise SpecError("--address is for --engine ray; drop it or add --engine ray")
        return LocalEngine(workers, max_retries, fits_per_worker)
    if name == "ray":
        return RayEngine(workers, max_retries, address=address, cpus=cpus, gpus=gpus,
                         fits_per_worker=fits_per_worker)  # fmt: skip
    if name == "sequential":
        return SequentialEngine()
    if name == "batched":
        return BatchedEngine()
    from mediamix.errors import did_you_mean

    raise SpecError(f"unknown engine '{name}'; choose one of {', '.join(ENGINES)}."
                    f"{did_you_mean(name, ENGINES)}")  # fmt: skip
