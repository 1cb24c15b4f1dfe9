"""Runs and scenarios.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("run_dir", sa.Text(), nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("runs.id", name="fk_scenarios_run_id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.UniqueConstraint("run_id", "name", name="uq_scenarios_run_name"),
    )
    op.create_index("ix_scenarios_run_id", "scenarios", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_scenarios_run_id", table_name="scenarios")
    op.drop_table("scenarios")
    op.drop_table("runs")
