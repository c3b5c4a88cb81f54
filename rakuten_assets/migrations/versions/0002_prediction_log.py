"""prediction log of the API and the operator actions of its control endpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_log",
        sa.Column("prediction_id", sa.String(length=36), nullable=False),
        sa.Column("predicted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("text_length", sa.Integer(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("has_description", sa.Boolean(), nullable=False),
        sa.Column("predicted_code", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("top_k", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("productid", sa.BigInteger(), nullable=True),
        sa.Column("imageid", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_prediction_log")),
    )
    with op.batch_alter_table("prediction_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prediction_log_predicted_at"), ["predicted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prediction_log_model_version_predicted_at"),
            ["model_version", "predicted_at"],
            unique=False,
        )

    op.create_table(
        "api_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("partition_key", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_actions")),
    )
    with op.batch_alter_table("api_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_actions_requested_at"), ["requested_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_actions_requested_at"))

    op.drop_table("api_actions")
    with op.batch_alter_table("prediction_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prediction_log_model_version_predicted_at"))
        batch_op.drop_index(batch_op.f("ix_prediction_log_predicted_at"))

    op.drop_table("prediction_log")
