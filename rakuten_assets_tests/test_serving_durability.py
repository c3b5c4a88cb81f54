"""An answered prediction is on disk before its answer: a SIGKILL loses none, duplicates none.

The journal of ``serving.prediction_log`` is tested through the real API under uvicorn (killed
with SIGKILL under load, then restarted on the same data directory) and, for its compaction and
its one-file-per-outage spool, through ``PredictionLogger`` on a real database.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.processes import free_port
from rakuten_assets_tests.test_predictions import AT, make_record, stored_rows
from rakuten_assets_tests.test_serving_support import (
    Traffic,
    api_env,
    api_server,
    build_registry,
    logged_ids,
)
from serving import prediction_log
from serving.prediction_log import PredictionLogger


def test_sigkill_under_load_loses_no_answered_prediction(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    reg = build_registry(tmp_path / "registry", small_split, versions=1)
    env = api_env(tmp_path / "var", reg.tracking_uri, reg.database_url)
    with (
        api_server(env, tmp_path / "api-1.log") as (url, pid),
        Traffic(url, threads=6, batch_every=7, batch_items=4, until_disconnected=True) as clients,
    ):
        clients.wait_for(300)
        os.killpg(pid, signal.SIGKILL)
    assert clients.failures == []
    answered = list(clients.ok_ids)
    assert len(set(answered)) == len(answered)
    spool = tmp_path / "var" / "serving" / "spool"
    assert list(spool.glob("*.jsonl")), "the killed process left its journal"

    # The next start replays the journal it finds, then compacts it.
    with api_server(env, tmp_path / "api-2.log") as (url, _pid):
        deadline = time.monotonic() + 60
        while set(answered) - set(logged_ids(reg.database_url)):
            assert time.monotonic() < deadline, "the journal was not replayed"
            time.sleep(0.2)
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/ready").json()["prediction_log"]["spool_bytes"] > 0:
            assert time.monotonic() < deadline, "the replayed journal was not compacted"
            time.sleep(0.2)
    stored = logged_ids(reg.database_url)
    assert len(stored) == len(set(stored))
    assert set(answered) <= set(stored)
    # Rows beyond the answers are requests journalled when the process died, before their
    # answer was sent: at most one group commit per in-flight request.
    assert len(stored) - len(answered) <= 6 * 4


def _logger(engine: Engine, spool_dir: Path) -> PredictionLogger:
    return PredictionLogger(engine, spool_dir, queue_size=100, batch_size=10, flush_seconds=0.05)


def test_journal_is_compacted_once_its_records_are_in_the_database(
    tmp_path: Path, engine: Engine
) -> None:
    logger = _logger(engine, tmp_path / "spool")
    logger.start()
    records = [make_record(f"c-{i}", predicted_at=AT.replace(minute=i)) for i in range(30)]
    logger.log_many(records[:10])
    assert logger.spool_bytes() > 0  # on disk as soon as log_many returns
    for record in records[10:]:
        logger.log(record)
    deadline = time.monotonic() + 30
    while logger.spool_bytes() > 0:
        assert time.monotonic() < deadline, "the journal was never compacted"
        time.sleep(0.05)
    assert stored_rows(engine) == {r.prediction_id: r.as_row() for r in records}
    logger.stop()
    assert list((tmp_path / "spool").glob("*.jsonl")) == []


def test_one_outage_leaves_one_spool_file(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Retry every 20 ms: many failed replay attempts during the outage below.
    monkeypatch.setattr(prediction_log, "RETRY_SECONDS", 0.02)
    away = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
    logger = _logger(away, tmp_path / "spool")
    logger.start()
    records = [make_record(f"o-{i}", predicted_at=AT.replace(second=i)) for i in range(40)]
    for record in records:
        logger.log(record)
        time.sleep(0.01)
    logger.stop()
    assert logger.database_status.ok is False
    assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 1

    replayer = _logger(engine, tmp_path / "spool")
    replayer.start()
    replayer.stop()
    assert list((tmp_path / "spool").glob("*.jsonl")) == []
    assert stored_rows(engine) == {r.prediction_id: r.as_row() for r in records}
