"""true product types of served predictions (late labels)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_feedback",
        sa.Column("prediction_id", sa.String(length=36), nullable=False),
        sa.Column("prdtypecode", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_prediction_feedback")),
    )


def downgrade() -> None:
    op.drop_table("prediction_feedback")
