"""daily rollups of the prediction log for the drift report

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_log_daily",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "timezone", "local_day", "signal", "value", name=op.f("pk_prediction_log_daily")
        ),
    )
    op.create_table(
        "prediction_log_rollups",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("source_rows", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("timezone", "local_day", name=op.f("pk_prediction_log_rollups")),
    )


def downgrade() -> None:
    # The rollups are derived data: dropping them loses nothing prediction_log cannot rebuild.
    op.drop_table("prediction_log_rollups")
    op.drop_table("prediction_log_daily")
