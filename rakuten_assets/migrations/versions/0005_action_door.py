"""the door (api, cli) an operator action came through

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every action recorded before this revision came through the API.
    with op.batch_alter_table("api_actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("door", sa.String(length=16), server_default="api", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_actions", schema=None) as batch_op:
        batch_op.drop_column("door")
