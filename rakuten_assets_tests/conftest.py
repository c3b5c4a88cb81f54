"""Shared fixtures: real databases (SQLite files and fresh PostgreSQL databases), small catalogs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine

from rakuten_assets.data.catalog import SplitCatalog, normalise_catalog, split_catalog
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.processes import scratch_postgres_database

PG_ADMIN_DSN = os.environ.get(
    "TEST_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
PG_URL_BASE = os.environ.get("TEST_PG_URL_BASE", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(autouse=True)
def _isolated_mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mlflow.set_tracking_uri`` exports MLFLOW_TRACKING_URI; one test must not see another's."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on 127.0.0.1:5432, dropped afterwards."""
    if not _pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (the suite needs it)")
    with scratch_postgres_database(PG_ADMIN_DSN, PG_URL_BASE, "rakuten_test") as url:
        try:
            yield url
        finally:
            get_engine.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rakuten.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database (schema at head)."""
    engine = get_engine(db_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def small_catalog() -> pd.DataFrame:
    return normalise_catalog(generate_catalog(2_700, seed=7), "synthetic test catalog")


@pytest.fixture(scope="session")
def small_split(small_catalog: pd.DataFrame) -> SplitCatalog:
    return split_catalog(small_catalog, holdout_fraction=0.1, seed=42)


#: `make test-api` / `make test-monitoring` / `make test-pipeline` select by these markers, given
#: by test file (the original system's three suites); a file in neither list is pipeline.
_AREAS = (
    ("monitoring", ("test_drift", "test_monitoring")),
    (
        "api",
        (
            "test_serving",
            "test_make_serve",
            "test_trigger_retrain",
            "test_rollback",
            "test_launcher",
            "test_operations",
            "test_predictions",
        ),
    ),
)
#: Under `pytest -n 2 --dist loadgroup` (make test) the tests of one group run on the same worker,
#: one after the other: these race several server processes against each other and must not
#: share the two cores with one another.
_RACING_PROCESSES = (
    "test_serving_workers",
    "test_rollback_concurrency",
    "test_serving_faults",
    "test_monitoring_live",
)


def _area(module: str) -> str:
    return next(
        (area for area, prefixes in _AREAS if module.startswith(prefixes)),
        "pipeline",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        item.add_marker(getattr(pytest.mark, _area(module)))
        if module in _RACING_PROCESSES:
            item.add_marker(pytest.mark.xdist_group("racing_processes"))
