"""Production's realised performance on each new weekly slice; alerts without a drift report

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "realised_performance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partition_key", sa.String(length=32), nullable=False),
        sa.Column("slice_index", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("weighted_f1", sa.Float(), nullable=False),
        sa.Column("macro_f1", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("per_class_f1", sa.JSON(), nullable=False),
        sa.Column("holdout_weighted_f1", sa.Float(), nullable=True),
        sa.Column("drop", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realised_performance")),
    )
    op.create_index(
        op.f("ix_realised_performance_partition_key"),
        "realised_performance",
        ["partition_key"],
        unique=True,
    )
    # A realised-F1 drop raises an alert of the same lifecycle, without a drift report.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("report_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM alert_actions WHERE alert_id IN "
            "(SELECT id FROM alerts WHERE report_id IS NULL)"
        )
    )
    op.execute(sa.text("DELETE FROM alerts WHERE report_id IS NULL"))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("report_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_realised_performance_partition_key"), table_name="realised_performance")
    op.drop_table("realised_performance")
