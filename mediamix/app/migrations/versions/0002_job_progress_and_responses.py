"""Job progress on runs, the data columns used, and the fitted response curves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild), which SQLite and PostgreSQL both do in place.
    op.add_column("runs", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "runs", sa.Column("progress", sa.Float(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column("runs", sa.Column("message", sa.Text(), nullable=False, server_default=""))
    op.add_column("runs", sa.Column("columns", sa.JSON(), nullable=True))
    op.add_column("runs", sa.Column("responses", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("responses")
        batch.drop_column("columns")
        batch.drop_column("message")
        batch.drop_column("progress")
        batch.drop_column("updated_at")
