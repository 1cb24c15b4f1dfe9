"""The planner's store: runs and saved scenarios in a real database.

SQLite in a file under the data directory by default; PostgreSQL (or any SQLAlchemy URL)
when `MEDIAMIX_DATABASE_URL` is set. Opening a store upgrades its schema with the Alembic
revisions shipped in `mediamix/app/migrations`, so saved runs and scenarios survive an
upgrade of the package. Run directories are named by the server (a random id under
`<home>/runs/`); names typed by users are stored as data and never become paths.

Several servers may share one store. Each `Store` has its own `server_id`; a queued or
running job belongs to the store that created it (or re-queued it, `requeue_run`), which
beats its heartbeat (`beat()`,
every `HEARTBEAT_SECONDS` from the server) while it lives. `fail_interrupted()` marks as
failed only the jobs of other servers whose heartbeat lapsed (older than
`HEARTBEAT_GRACE_SECONDS`): a live server's jobs are never touched.

A job's status moves queued -> running -> done | failed; `request_cancel` turns a queued job
cancelled at once and a running one "cancelling" (the job sees it at its next progress update,
stops between chunks and ends "cancelled"); `requeue_run` puts a failed or cancelled run back
in the queue. Each move is one conditional UPDATE, so two requests (or a request and the job)
never both win.

Scenarios are checked on write (`ScenarioProblem`, `ScenarioPlan`, `RunSummary` in
:mod:`mediamix.app.schemas`) and read defensively: a stored document of the wrong shape
(an old row, a hand edit) is shown without its wrong parts and flagged `damaged`, so it
never takes a page down. Deleting a scenario keeps its row (`deleted_at`); every create,
rename and delete is logged in `scenario_events`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, create_engine, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mediamix.app.models import RunRow, ScenarioEventRow, ScenarioRow, utcnow
from mediamix.app.schemas import (
    MAX_ID,
    RunSummary,
    ScenarioPlan,
    ScenarioProblem,
    check_document,
    checked,
    readable_plan,
    readable_problem,
    readable_responses,
    readable_summary,
)
from mediamix.errors import ConflictError, NotFoundError, SpecError
from mediamix.jsonable import jsonable

ENV_HOME = "MEDIAMIX_HOME"
ENV_DATABASE_URL = "MEDIAMIX_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
RUN_STATUSES = ("queued", "running", "cancelling", "done", "failed", "cancelled")
MAX_NAME_LENGTH = 200
MAX_RUN_ID_LENGTH = 32
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_GRACE_SECONDS = 3 * HEARTBEAT_SECONDS
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIVE_JOB = ("queued", "running", "cancelling")  # a server still works on these
CANCELLABLE = ("queued", "running", "cancelling")
RETRYABLE = ("failed", "cancelled")


@dataclass(frozen=True)
class Run:
    """A run as stored: job state, the columns used, its summary and response curves."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime | None
    status: str
    progress: float
    message: str
    method: str
    columns: dict[str, Any] | None
    summary: dict[str, Any] | None
    responses: list[dict[str, Any]] | None
    run_dir: Path
    owner: str | None = None
    heartbeat_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the run directory is internal and left out)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "method": self.method,
            "columns": self.columns,
            "summary": self.summary,
            "responses": self.responses,
        }


@dataclass(frozen=True)
class Scenario:
    """A saved plan: the problem (the CLI's YAML problem as a mapping) and its solution."""

    id: int
    run_id: str
    name: str
    created_at: datetime
    problem: dict[str, Any]
    plan: dict[str, Any] | None
    updated_at: datetime | None = None
    damaged: str | None = None  # why parts of the stored problem / plan are left out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "problem": self.problem,
            "plan": self.plan,
            "damaged": self.damaged,
        }


@dataclass(frozen=True)
class ScenarioEvent:
    """One line of a scenario's history."""

    scenario_id: int
    action: str  # create, rename or delete
    name: str
    previous_name: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario_id": self.scenario_id,
            "action": self.action,
            "name": self.name,
            "previous_name": self.previous_name,
            "at": self.at.isoformat(),
        }


def default_home() -> Path:
    """The data directory: `$MEDIAMIX_HOME`, else `~/.mediamix`."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".mediamix"


def database_url(home: Path) -> str:
    """`$MEDIAMIX_DATABASE_URL` when set, else a SQLite file `<home>/mediamix.db`."""
    url = os.environ.get(ENV_DATABASE_URL)
    if url:
        return url
    return f"sqlite:///{(home / 'mediamix.db').resolve()}"


def clean_name(name: Any, what: str = "name") -> str:
    """A user-given display name, stripped and checked (1-200 printable characters)."""
    if not isinstance(name, str):
        raise SpecError(f"{what} must be a text, got {type(name).__name__}")
    name = name.strip()
    if not name:
        raise SpecError(f"{what} is empty; give a short name such as 'Q3 plan'")
    if len(name) > MAX_NAME_LENGTH:
        raise SpecError(f"{what} has {len(name)} characters; use at most {MAX_NAME_LENGTH}")
    if _CONTROL.search(name):
        raise SpecError(f"{what} contains control characters; use plain text")
    return name


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _run(row: RunRow) -> Run:
    responses = readable_responses(row.responses)
    return Run(
        id=row.id,
        name=row.name,
        created_at=_aware(row.created_at) or datetime.fromtimestamp(0, UTC),
        updated_at=_aware(row.updated_at),
        status=row.status,
        progress=float(row.progress or 0.0),
        message=row.message or "",
        method=row.method,
        columns=row.columns if isinstance(row.columns, dict) else None,
        summary=readable_summary(row.summary),
        responses=responses,
        run_dir=Path(row.run_dir),
        owner=row.owner,
        heartbeat_at=_aware(row.heartbeat_at),
    )


def _scenario(row: ScenarioRow) -> Scenario:
    problem, bad_problem = readable_problem(row.problem)
    plan, bad_plan = readable_plan(row.plan)
    damaged = "; ".join(m for m in (bad_problem, bad_plan) if m) or None
    return Scenario(
        id=row.id,
        run_id=row.run_id,
        name=row.name,
        created_at=_aware(row.created_at) or datetime.fromtimestamp(0, UTC),
        problem=problem,
        plan=plan,
        updated_at=_aware(row.updated_at),
        damaged=damaged,
    )


def _scenario_id(scenario_id: Any) -> int:
    """A scenario id as an int; one no database can hold is simply not found."""
    try:
        value = int(scenario_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"scenario {scenario_id!r} not found; ids are whole numbers") from None
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"scenario {value} not found; ids run from 1 to {MAX_ID}")
    return value


def _checked_run_id(run_id: Any) -> str:
    run_id = str(run_id)
    if len(run_id) > MAX_RUN_ID_LENGTH or _CONTROL.search(run_id):
        raise NotFoundError(f"run {run_id[:40]!r} not found; list runs with GET /api/runs")
    return run_id


def alembic_config(connection) -> Any:
    """An Alembic `Config` built in code, pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of the database behind `engine` to `revision` (default: latest)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on and a busy timeout for threads."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        from sqlalchemy.engine import make_url

        extra = (
            " (pip install 'mediamix[postgres]', URL postgresql+psycopg://...)"
            if url.startswith("postgres")
            else ""
        )
        raise SpecError(
            f"the planner's database {make_url(url).render_as_string(hide_password=True)} "
            f"needs a driver that is not installed{extra}: {exc}"
        ) from None


class Store:
    """Runs and scenarios, kept in the database at `url`, files under `home`.

    >>> store = Store.open(home=tmp_path)            # SQLite file in tmp_path
    >>> run = store.create_run("Q3 model", method="svi")
    >>> store.save_scenario(run.id, "plan A", problem={...}, plan={...})
    """

    def __init__(self, url: str, home: Path, *, migrate: bool = True) -> None:
        self.home = Path(home)
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.server_id = uuid.uuid4().hex  # owner of the jobs this store creates

    @classmethod
    def open(cls, home: Path | str | None = None, url: str | None = None) -> Store:
        """Open (creating and upgrading when needed) the store under `home`."""
        home_path = Path(home).expanduser() if home is not None else default_home()
        home_path.mkdir(parents=True, exist_ok=True)
        return cls(url or database_url(home_path), home_path)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._session.begin() as session:
            yield session

    # ---------------------------------------------------------------- runs
    def create_run(
        self,
        name: str,
        *,
        method: str = "svi",
        status: str = "queued",
        columns: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        responses: list[dict[str, Any]] | None = None,
        message: str = "",
    ) -> Run:
        """Add a run; its directory `<home>/runs/<id>` is created here, named by the id.

        A queued or running run is a job owned by this store (`server_id`)."""
        if status not in RUN_STATUSES:
            raise SpecError(f"status {status!r} is unknown; use one of {', '.join(RUN_STATUSES)}")
        name = clean_name(name, "run name")
        summary = jsonable(summary)
        if summary is not None:
            checked(RunSummary, summary, "summary")
        run_id = uuid.uuid4().hex
        run_dir = self.home / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        now = utcnow()
        row = RunRow(
            id=run_id,
            name=name,
            created_at=now,
            updated_at=now,
            status=status,
            progress=1.0 if status == "done" else 0.0,
            message=message,
            method=method,
            columns=jsonable(columns),
            summary=summary,
            responses=jsonable(responses),
            run_dir=str(run_dir),
            owner=self.server_id if status in _LIVE_JOB else None,
            heartbeat_at=now if status in _LIVE_JOB else None,
        )
        try:
            with self._tx() as s:
                s.add(row)
        except Exception:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return _run(row)

    def get_run(self, run_id: str) -> Run:
        run_id = _checked_run_id(run_id)
        with self._tx() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found; list runs with GET /api/runs")
            return _run(row)

    def list_runs(self) -> list[Run]:
        """All runs, newest first."""
        with self._tx() as s:
            rows = s.scalars(select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id))
            return [_run(r) for r in rows]

    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Set job state or results: status, progress, message, summary, responses, columns."""
        allowed = {"status", "progress", "message", "summary", "responses", "columns", "method"}
        unknown = set(fields) - allowed
        if unknown:
            raise SpecError(
                f"cannot update run field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
            )
        if "status" in fields and fields["status"] not in RUN_STATUSES:
            raise SpecError(f"status {fields['status']!r} is unknown; use one of {RUN_STATUSES}")
        for key in ("summary", "responses", "columns"):
            if key in fields:
                fields[key] = jsonable(fields[key])
                check_document(fields[key], key)
        run_id = _checked_run_id(run_id)
        with self._tx() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            if row.owner == self.server_id:
                row.heartbeat_at = row.updated_at
            s.flush()
            return _run(row)

    def _move(self, run_id: str, sources: tuple[str, ...], **values: Any) -> Run | None:
        """Set `values` on the run if its status is one of `sources`, in one conditional
        UPDATE; the run as it is now, or None when its status was another."""
        run_id = _checked_run_id(run_id)
        now = utcnow()
        with self._tx() as s:
            result = s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status.in_(sources))
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
            moved = bool(result.rowcount)
        return self.get_run(run_id) if moved else None

    def start_job(self, run_id: str) -> Run | None:
        """queued -> running, for the job that fits the run; None when the run is no longer
        queued (cancelled before it started)."""
        return self._move(run_id, ("queued",), status="running", owner=self.server_id,
                          heartbeat_at=utcnow())  # fmt: skip

    def finish_job(self, run_id: str, **fields: Any) -> Run | None:
        """running -> done with the results in `fields` (summary, responses, message,
        progress); None when a cancel was asked for meanwhile (the run is left as it is)."""
        for key in ("summary", "responses"):
            if key in fields:
                fields[key] = jsonable(fields[key])
                check_document(fields[key], key)
        return self._move(run_id, ("running",), status="done", **fields)

    def request_cancel(self, run_id: str) -> Run:
        """Ask a fit job to stop: a queued one is cancelled at once, a running one becomes
        "cancelling" (its job stops at the next chunk and ends "cancelled"); a cancelling or
        cancelled run is returned as it is. A done or failed run cannot be cancelled
        (ConflictError)."""
        run = self._move(run_id, ("queued",), status="cancelled",
                         message="cancelled before the fit started; retry to fit it")  # fmt: skip
        if run is None:
            run = self._move(run_id, ("running",), status="cancelling",
                             message="cancel requested; stopping at the next step")  # fmt: skip
        if run is not None:
            return run
        run = self.get_run(run_id)
        if run.status in ("cancelling", "cancelled"):  # asked twice: the same answer
            return run
        raise ConflictError(
            f"run {run.name!r} is {run.status}; only a queued or running fit can be cancelled"
        )

    def cancelled(self, run_id: str, message: str) -> Run | None:
        """cancelling (or queued / running) -> cancelled, with `message`."""
        return self._move(run_id, CANCELLABLE, status="cancelled", message=message)

    def requeue_run(self, run_id: str, message: str = "queued (retry)") -> Run:
        """A failed or cancelled run back in the queue, owned by this store, its results
        cleared; any other run: ConflictError naming its status."""
        now = utcnow()
        run = self._move(run_id, RETRYABLE, status="queued", progress=0.0, message=message,
                         summary=None, responses=None, owner=self.server_id,
                         heartbeat_at=now)  # fmt: skip
        if run is not None:
            return run
        run = self.get_run(run_id)
        what = "it is still fitting; cancel it first" if run.status in _LIVE_JOB else "it is done"
        raise ConflictError(
            f"run {run.name!r} is {run.status}; only a failed or cancelled fit can be retried"
            f" ({what})"
        )

    def beat(self) -> int:
        """Say that this store's server still works on its queued and running jobs."""
        with self._tx() as s:
            result = s.execute(
                update(RunRow)
                .where(RunRow.owner == self.server_id, RunRow.status.in_(_LIVE_JOB))
                .values(heartbeat_at=utcnow())
            )
            return result.rowcount or 0

    def fail_interrupted(
        self,
        message: str | None = None,
        *,
        grace_seconds: float = HEARTBEAT_GRACE_SECONDS,
    ) -> int:
        """Mark as failed the queued / running jobs no live server works on: those of other
        servers whose heartbeat is older than `grace_seconds` (jobs from before heartbeats:
        their last update); such a job whose cancel was asked for ends cancelled. This
        store's own jobs and live servers' jobs are left alone. Returns how many ended."""
        if message is None:
            message = (
                "interrupted: the server working on the job stopped (no heartbeat for"
                f" {grace_seconds:g} s); retry the run, or upload the data again to refit"
            )
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        last = func.coalesce(RunRow.updated_at, RunRow.created_at)
        lapsed = or_(
            RunRow.heartbeat_at < cutoff,
            and_(RunRow.heartbeat_at.is_(None), or_(last.is_(None), last < cutoff)),
        )
        others = or_(RunRow.owner.is_(None), RunRow.owner != self.server_id)
        with self._tx() as s:
            # a job whose cancel was asked for ends as the user wanted: cancelled
            stopped = s.execute(
                update(RunRow)
                .where(RunRow.status == "cancelling", others, lapsed)
                .values(
                    status="cancelled",
                    message="cancelled (the server working on it stopped); retry to fit it",
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            result = s.execute(
                update(RunRow)
                .where(RunRow.status.in_(("queued", "running")), others, lapsed)
                .values(status="failed", message=message, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return (result.rowcount or 0) + (stopped.rowcount or 0)

    # ----------------------------------------------------------- scenarios
    def save_scenario(
        self,
        run_id: str,
        name: str,
        *,
        problem: dict[str, Any],
        plan: dict[str, Any] | None = None,
    ) -> Scenario:
        """Save a plan under a name (unique among the run's live scenarios); the problem and
        plan are checked (`ScenarioProblem`, `ScenarioPlan`) and stored as given."""
        name = clean_name(name, "scenario name")
        if not isinstance(problem, dict):
            raise SpecError("scenario problem must be a mapping (the YAML problem file's content)")
        run = self.get_run(run_id)
        problem = checked(ScenarioProblem, jsonable(problem), "problem")
        plan = jsonable(plan)
        if plan is not None:
            if not isinstance(plan, dict):
                raise SpecError("scenario plan must be a mapping (the solved plan) or null")
            checked(ScenarioPlan, plan, "plan")
        now = utcnow()
        row = ScenarioRow(
            run_id=run.id, name=name, created_at=now, updated_at=now, problem=problem, plan=plan
        )
        try:
            with self._tx() as s:
                s.add(row)
                s.flush()
                s.add(ScenarioEventRow(scenario_id=row.id, action="create", name=name, at=now))
        except IntegrityError as exc:
            raise ConflictError(
                f"a scenario named {name!r} already exists for this run; pick another name"
                " or delete the old one"
            ) from exc
        return _scenario(row)

    @staticmethod
    def _live(s: Session, scenario_id: Any) -> ScenarioRow:
        sid = _scenario_id(scenario_id)
        row = s.get(ScenarioRow, sid)
        if row is None:
            raise NotFoundError(f"scenario {sid} not found; list with GET /api/scenarios")
        if row.deleted_at is not None:
            when = _aware(row.deleted_at).strftime("%Y-%m-%d %H:%M UTC")
            raise NotFoundError(
                f"scenario {sid} ({row.name!r}) was deleted on {when};"
                f" its history: GET /api/scenarios/{sid}/history"
            )
        return row

    def get_scenario(self, scenario_id: int) -> Scenario:
        with self._tx() as s:
            return _scenario(self._live(s, scenario_id))

    def list_scenarios(self, run_id: str | None = None) -> list[Scenario]:
        """Saved scenarios (of one run, or all; deleted ones left out), oldest first."""
        with self._tx() as s:
            q = (
                select(ScenarioRow)
                .where(ScenarioRow.deleted_at.is_(None))
                .order_by(ScenarioRow.created_at, ScenarioRow.id)
            )
            if run_id is not None:
                try:
                    q = q.where(ScenarioRow.run_id == _checked_run_id(run_id))
                except NotFoundError:
                    return []  # no run has such an id
            return [_scenario(r) for r in s.scalars(q)]

    def rename_scenario(self, scenario_id: int, name: str) -> Scenario:
        name = clean_name(name, "scenario name")
        try:
            with self._tx() as s:
                row = self._live(s, scenario_id)
                previous, row.name = row.name, name
                row.updated_at = utcnow()
                s.flush()
                if previous != name:
                    s.add(
                        ScenarioEventRow(
                            scenario_id=row.id,
                            action="rename",
                            name=name,
                            previous_name=previous,
                            at=row.updated_at,
                        )
                    )
                return _scenario(row)
        except IntegrityError as exc:
            raise ConflictError(f"a scenario named {name!r} already exists for this run") from exc

    def delete_scenario(self, scenario_id: int) -> None:
        """Delete a scenario: it leaves every list, its row and history stay."""
        with self._tx() as s:
            row = self._live(s, scenario_id)
            row.deleted_at = row.updated_at = utcnow()
            s.add(
                ScenarioEventRow(
                    scenario_id=row.id, action="delete", name=row.name, at=row.deleted_at
                )
            )

    def scenario_history(self, scenario_id: int) -> list[ScenarioEvent]:
        """Every create, rename and delete of a scenario (deleted ones too), oldest first."""
        sid = _scenario_id(scenario_id)
        with self._tx() as s:
            if s.get(ScenarioRow, sid) is None:
                raise NotFoundError(f"scenario {sid} not found; list with GET /api/scenarios")
            rows = s.scalars(
                select(ScenarioEventRow)
                .where(ScenarioEventRow.scenario_id == sid)
                .order_by(ScenarioEventRow.at, ScenarioEventRow.id)
            )
            return [
                ScenarioEvent(r.scenario_id, r.action, r.name, r.previous_name, _aware(r.at))
                for r in rows
            ]
