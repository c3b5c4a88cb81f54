"""The prediction log survives its database going away in the middle of traffic.

The log goes to a private PostgreSQL instance that the test creates (initdb) and then stops and
starts (pg_ctl) while clients predict. initdb/pg_ctl refuse to run as root, hence `runuser`.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.processes import free_port
from rakuten_assets_tests.test_predictions import AT, make_record, stored_rows
from rakuten_assets_tests.test_serving_support import (
    Traffic,
    api_env,
    api_server,
    build_registry,
    logged_ids,
)
from serving.prediction_log import PredictionLogger

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class PrivatePostgres:
    def __init__(self, port: int) -> None:
        # Under /tmp (not pytest's 0700 tmp dir): the postgres user must reach its data dir.
        self.dir = Path(tempfile.mkdtemp(prefix="rakuten-pg-", dir="/tmp"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120
        )

    def init(self) -> None:
        assert PG_BIN is not None
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        assert PG_BIN is not None
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-o", options,
            "-l", str(self.dir / "postgres.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        assert PG_BIN is not None
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    if PG_BIN is None or shutil.which("runuser") is None:
        pytest.fail("initdb/pg_ctl (/usr/lib/postgresql/*/bin) and runuser are needed here")
    pg = PrivatePostgres(free_port())
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        get_engine.cache_clear()
        pg.remove()


def _metric(url: str, name: str) -> float:
    families = text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
    return sum(
        s.value for f in families if f.name == name for s in f.samples if s.name.endswith("_total")
    )


@pytest.mark.postgres
def test_database_outage_mid_traffic_loses_and_duplicates_nothing(
    tmp_path: Path, small_split: SplitCatalog, private_pg: PrivatePostgres
) -> None:
    reg = build_registry(tmp_path / "registry", small_split, versions=1)
    sqlalchemy_url = private_pg.url.replace("postgresql://", "postgresql+psycopg://")
    upgrade_schema(get_engine(sqlalchemy_url))
    env = api_env(tmp_path / "var", reg.tracking_uri, private_pg.url)
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        with Traffic(url) as traffic:
            traffic.wait_for(200)
            private_pg.stop()
            traffic.wait_for(300)  # predictions go on while the database is down
            ready = httpx.get(f"{url}/ready").json()
            assert ready["database"]["ok"] is False
            assert ready["prediction_log"]["spool_bytes"] > 0
            private_pg.start()
            traffic.wait_for(300)
        assert traffic.failures == []
        assert _metric(url, "rakuten_prediction_log_spooled") > 0
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/ready").json()["prediction_log"]["spool_bytes"] > 0:
            assert time.monotonic() < deadline, "the spool was not replayed"
            time.sleep(0.2)
        assert _metric(url, "rakuten_prediction_log_replayed") > 0
    # The API stopped gracefully: its queue is flushed, every answer has exactly one row.
    stored = logged_ids(sqlalchemy_url)
    assert len(stored) == len(set(stored))
    assert set(stored) == set(traffic.ok_ids)
    assert len(stored) == len(traffic.ok_ids)
    with psycopg.connect(private_pg.url) as conn:
        assert conn.execute("SELECT count(*) FROM prediction_log").fetchone() == (len(stored),)


def _logger(engine: Engine, spool_dir: Path) -> PredictionLogger:
    return PredictionLogger(engine, spool_dir, queue_size=100, batch_size=10, flush_seconds=0.05)


def test_records_spooled_while_the_database_is_away_are_replayed_whole(
    tmp_path: Path, engine: Engine
) -> None:
    records = [
        make_record(f"p-{i}", predicted_at=AT.replace(minute=i), unknown_token_share=None)
        for i in range(25)
    ]
    # Nothing listens on that port: every insert fails as when the database is down.
    away = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
    logger = _logger(away, tmp_path / "spool")
    logger.start()
    for record in records:
        logger.log(record)
    logger.stop()
    assert logger.database_status.ok is False
    assert logger.spool_bytes() > 0
    assert stored_rows(engine) == {}

    # The next process (same spool directory) replays it at start-up.
    replayer = _logger(engine, tmp_path / "spool")
    replayer.start()
    replayer.stop()
    assert replayer.spool_bytes() == 0
    assert stored_rows(engine) == {r.prediction_id: r.as_row() for r in records}
