"""drift rollups split by model version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _daily(with_version: bool) -> None:
    keys = [
        "timezone",
        "local_day",
        "signal",
        *(["model_version"] if with_version else []),
        "value",
    ]
    op.create_table(
        "prediction_log_daily",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        *(
            [sa.Column("model_version", sa.Integer(), autoincrement=False, nullable=False)]
            if with_version
            else []
        ),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name=op.f("pk_prediction_log_daily")),
    )


def _rebuild(with_version: bool) -> None:
    # The rollups are derived data: emptied here (headers included, so every day counts as
    # never built), the next report rebuilds the days it reads from prediction_log.
    op.drop_table("prediction_log_daily")
    _daily(with_version)
    op.execute(sa.text("DELETE FROM prediction_log_rollups"))


def upgrade() -> None:
    _rebuild(with_version=True)


def downgrade() -> None:
    _rebuild(with_version=False)
