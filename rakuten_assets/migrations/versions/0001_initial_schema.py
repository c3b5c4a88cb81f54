"""products, loads audit, row history and promotion decisions

Revision ID: 0001
Revises:
Create Date: 2026-11-26
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
        "data_loads",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("partition_key", sa.String(length=32), nullable=False),
        sa.Column("slice_index", sa.Integer(), nullable=False),
        sa.Column("target_pct", sa.Float(), nullable=False),
        sa.Column("start_rank", sa.Integer(), nullable=False),
        sa.Column("end_rank", sa.Integer(), nullable=False),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("catalog_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_data_loads")),
    )
    with op.batch_alter_table("data_loads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_loads_partition_key"), ["partition_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_data_loads_status"), ["status"], unique=False)

    op.create_table(
        "model_promotions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("candidate_version", sa.Integer(), nullable=False),
        sa.Column("production_version", sa.Integer(), nullable=True),
        sa.Column("candidate_weighted_f1", sa.Float(), nullable=True),
        sa.Column("production_weighted_f1", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("partition_key", sa.String(length=32), nullable=True),
        sa.Column("holdout_hash", sa.String(length=64), nullable=True),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("mlflow_run_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_promotions")),
    )
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_promotions_model_name_decided_at"),
            ["model_name", "decided_at"],
            unique=False,
        )

    op.create_table(
        "product_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_row_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["data_loads.batch_id"],
            name=op.f("fk_product_history_batch_id_data_loads"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_history")),
    )
    with op.batch_alter_table("product_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_history_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_product_history_product_row_id"), ["product_row_id"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("product_row_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("designation", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("productid", sa.BigInteger(), nullable=False),
        sa.Column("imageid", sa.BigInteger(), nullable=False),
        sa.Column("prdtypecode", sa.Integer(), nullable=False),
        sa.Column("load_rank", sa.Integer(), nullable=False),
        sa.Column("slice_index", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["data_loads.batch_id"], name=op.f("fk_products_batch_id_data_loads")
        ),
        sa.PrimaryKeyConstraint("product_row_id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_load_rank"), ["load_rank"], unique=True)
        batch_op.create_index(batch_op.f("ix_products_slice_index"), ["slice_index"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_slice_index"))
        batch_op.drop_index(batch_op.f("ix_products_load_rank"))

    op.drop_table("products")
    with op.batch_alter_table("product_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_history_product_row_id"))
        batch_op.drop_index(batch_op.f("ix_product_history_batch_id"))

    op.drop_table("product_history")
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_promotions_model_name_decided_at"))

    op.drop_table("model_promotions")
    with op.batch_alter_table("data_loads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_loads_status"))
        batch_op.drop_index(batch_op.f("ix_data_loads_partition_key"))

    op.drop_table("data_loads")
