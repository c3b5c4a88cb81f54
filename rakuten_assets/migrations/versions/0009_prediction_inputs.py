"""captured inputs of served predictions; shadow scoring recorded with promotion decisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_inputs",
        sa.Column("prediction_id", sa.String(length=36), nullable=False),
        sa.Column("predicted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("designation", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_prediction_inputs")),
    )
    op.create_index(
        op.f("ix_prediction_inputs_predicted_at"), "prediction_inputs", ["predicted_at"]
    )
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shadow", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.drop_column("shadow")
    op.drop_index(op.f("ix_prediction_inputs_predicted_at"), table_name="prediction_inputs")
    op.drop_table("prediction_inputs")
