"""The planner's store: runs and saved scenarios in a real database.

SQLite in a file under the data directory by default; PostgreSQL (or any SQLAlchemy URL)
when `MEDIAMIX_DATABASE_URL` is set. Opening a store upgrades its schema with the Alembic
revisions shipped in `mediamix/app/migrations`, so saved runs and scenarios survive an
upgrade of the package. Run directories are named by the server (a random id under
`<home>/runs/`); names typed by users are stored as data and never become paths.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mediamix.app.models import RunRow, ScenarioRow, utcnow
from mediamix.errors import ConflictError, NotFoundError, SpecError
from mediamix.jsonable import jsonable

ENV_HOME = "MEDIAMIX_HOME"
ENV_DATABASE_URL = "MEDIAMIX_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
RUN_STATUSES = ("queued", "running", "done", "failed")
MAX_NAME_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "problem": self.problem,
            "plan": self.plan,
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
    return Run(
        id=row.id,
        name=row.name,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        status=row.status,
        progress=float(row.progress or 0.0),
        message=row.message or "",
        method=row.method,
        columns=row.columns,
        summary=row.summary,
        responses=row.responses,
        run_dir=Path(row.run_dir),
    )


def _scenario(row: ScenarioRow) -> Scenario:
    return Scenario(
        id=row.id,
        run_id=row.run_id,
        name=row.name,
        created_at=_aware(row.created_at),
        problem=row.problem,
        plan=row.plan,
    )


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
    return create_engine(url, pool_pre_ping=True)


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
        """Add a run; its directory `<home>/runs/<id>` is created here, named by the id."""
        if status not in RUN_STATUSES:
            raise SpecError(f"status {status!r} is unknown; use one of {', '.join(RUN_STATUSES)}")
        name = clean_name(name, "run name")
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
            summary=jsonable(summary),
            responses=jsonable(responses),
            run_dir=str(run_dir),
        )
        try:
            with self._tx() as s:
                s.add(row)
        except Exception:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return _run(row)

    def get_run(self, run_id: str) -> Run:
        with self._tx() as s:
            row = s.get(RunRow, str(run_id))
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
        with self._tx() as s:
            row = s.get(RunRow, str(run_id))
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            for key, value in fields.items():
                if key in ("summary", "responses", "columns"):
                    value = jsonable(value)
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.flush()
            return _run(row)

    def fail_interrupted(
        self, message: str = "interrupted: the server stopped during the job"
    ) -> int:
        """Mark queued/running runs as failed (after a restart no thread works on them)."""
        with self._tx() as s:
            rows = s.scalars(select(RunRow).where(RunRow.status.in_(("queued", "running"))))
            n = 0
            for row in rows:
                row.status, row.message, row.updated_at = "failed", message, utcnow()
                n += 1
            return n

    # ----------------------------------------------------------- scenarios
    def save_scenario(
        self,
        run_id: str,
        name: str,
        *,
        problem: dict[str, Any],
        plan: dict[str, Any] | None = None,
    ) -> Scenario:
        """Save a plan under a name (unique per run)."""
        name = clean_name(name, "scenario name")
        if not isinstance(problem, dict):
            raise SpecError("scenario problem must be a mapping (the YAML problem file's content)")
        self.get_run(run_id)
        row = ScenarioRow(
            run_id=run_id,
            name=name,
            created_at=utcnow(),
            problem=jsonable(problem),
            plan=jsonable(plan),
        )
        try:
            with self._tx() as s:
                s.add(row)
        except IntegrityError as exc:
            raise ConflictError(
                f"a scenario named {name!r} already exists for this run; pick another name"
                " or delete the old one"
            ) from exc
        return _scenario(row)

    def get_scenario(self, scenario_id: int) -> Scenario:
        with self._tx() as s:
            row = s.get(ScenarioRow, int(scenario_id))
            if row is None:
                raise NotFoundError(
                    f"scenario {scenario_id} not found; list with GET /api/scenarios"
                )
            return _scenario(row)

    def list_scenarios(self, run_id: str | None = None) -> list[Scenario]:
        """Saved scenarios (of one run, or all), oldest first."""
        with self._tx() as s:
            q = select(ScenarioRow).order_by(ScenarioRow.created_at, ScenarioRow.id)
            if run_id is not None:
                q = q.where(ScenarioRow.run_id == run_id)
            return [_scenario(r) for r in s.scalars(q)]

    def rename_scenario(self, scenario_id: int, name: str) -> Scenario:
        name = clean_name(name, "scenario name")
        try:
            with self._tx() as s:
                row = s.get(ScenarioRow, int(scenario_id))
                if row is None:
                    raise NotFoundError(f"scenario {scenario_id} not found")
                row.name = name
                s.flush()
                return _scenario(row)
        except IntegrityError as exc:
            raise ConflictError(f"a scenario named {name!r} already exists for this run") from exc

    def delete_scenario(self, scenario_id: int) -> None:
        with self._tx() as s:
            row = s.get(ScenarioRow, int(scenario_id))
            if row is None:
                raise NotFoundError(f"scenario {scenario_id} not found")
            s.delete(row)
