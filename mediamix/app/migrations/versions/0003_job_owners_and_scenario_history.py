"""Job owners with a heartbeat; scenarios with updated_at, soft delete and an audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.add_column("runs", sa.Column("owner", sa.String(32), nullable=True))
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scenarios", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scenarios", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    # A deleted scenario keeps its row, so its name must not block a new one: the unique
    # rule moves from a constraint to an index over the live rows (SQLite rebuilds the table).
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_constraint("uq_scenarios_run_name", type_="unique")
    op.create_index(
        "uq_scenarios_run_name_live",
        "scenarios",
        ["run_id", "name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "scenario_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "scenario_id",
            sa.Integer(),
            sa.ForeignKey("scenarios.id", name="fk_scenario_events_scenario_id"),
            nullable=False,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("previous_name", sa.String(200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scenario_events_scenario_id", "scenario_events", ["scenario_id"])


def downgrade() -> None:
    op.drop_index("ix_scenario_events_scenario_id", table_name="scenario_events")
    op.drop_table("scenario_events")
    op.drop_index("uq_scenarios_run_name_live", table_name="scenarios")
    op.execute("DELETE FROM scenarios WHERE deleted_at IS NOT NULL")
    with op.batch_alter_table("scenarios") as batch:
        batch.create_unique_constraint("uq_scenarios_run_name", ["run_id", "name"])
        batch.drop_column("deleted_at")
        batch.drop_column("updated_at")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
