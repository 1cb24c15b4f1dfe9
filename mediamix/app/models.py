"""Database tables of the planner's store (SQLAlchemy 2.x declarative models).

The tables here are the current schema; `mediamix/app/migrations` holds the Alembic
revisions that build it step by step, so an existing store is upgraded in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base; `Base.metadata` is the schema the migrations build."""


class RunRow(Base):
    """A fitted (or fitting) model: its state as a background job and its results."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    progress: Mapped[float] = mapped_column(
        Float, nullable=False, default=0.0, server_default=text("0")
    )
    message: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    method: Mapped[str] = mapped_column(String(16), nullable=False, default="svi")
    columns: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    responses: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    run_dir: Mapped[str] = mapped_column(Text, nullable=False)
    # The server working on a queued or running job, and when it last said it still is.
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ScenarioRow(Base):
    """A saved plan: the problem as the CLI's YAML problem file, and the solved plan.

    Deleting one sets `deleted_at` (the row stays); names are unique among the live
    scenarios of a run."""

    __tablename__ = "scenarios"
    __table_args__ = (
        Index(
            "uq_scenarios_run_name_live",
            "run_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.id", name="fk_scenarios_run_id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    problem: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ScenarioEventRow(Base):
    """The audit log of scenarios: each create, rename and delete with its time."""

    __tablename__ = "scenario_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("scenarios.id", name="fk_scenario_events_scenario_id"),
        nullable=False,
        index=True,
    )
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    previous_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
