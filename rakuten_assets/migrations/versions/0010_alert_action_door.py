"""the door (api, cli, ui) an action on an alert came through

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this revision came from any door: they stay NULL (unknown).
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("door", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.drop_column("door")
