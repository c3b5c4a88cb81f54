"""The Alembic migrations build exactly the schema the code describes, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from rakuten_assets.db import current_revision, get_engine, metadata, upgrade_schema


def test_migrations_match_the_code_schema(db_url: str) -> None:
    engine = get_engine(db_url)
    upgrade_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(engine) is not None
    tables = set(inspect(engine).get_table_names())
    assert {"products", "data_loads", "product_history", "model_promotions"} <= tables


def test_upgrade_twice_is_a_no_op_and_downgrade_drops_everything(db_url: str) -> None:
    engine = get_engine(db_url)
    upgrade_schema(engine)
    upgrade_schema(engine)
    from alembic import command
    from alembic.config import Config

    from rakuten_assets.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
