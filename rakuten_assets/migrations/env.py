"""Alembic environment: migrations run on the connection given by ``upgrade_schema``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rakuten_assets.db import metadata
from rakuten_assets.settings import get_settings

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic upgrade head` from the command line
    with create_engine(get_settings().sqlalchemy_url).begin() as conn:
        _run(conn)
