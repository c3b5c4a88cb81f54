"""Every prediction as a row of ``prediction_log``, written off the request path, never lost.

Requests put a record on a bounded in-memory queue; one thread inserts them in batches. When
the database fails, the batch is appended to a local JSONL spool file (flushed and fsync'ed)
instead, and replayed once the database answers again. Inserts are insert-or-ignore on the
primary key ``prediction_id``, so a batch whose commit succeeded but whose acknowledgement was
lost (then spooled and replayed) is not written twice. If the queue is full, the record goes
straight to the spool: slower for that request, but nothing is dropped. Stopping drains the
queue. Several processes (uvicorn workers) may share one spool directory: appends and claims
of a spool file are serialised with ``flock``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.db import prediction_log
from serving import metrics
from serving.model_store import Reachability

log = logging.getLogger("serving.prediction_log")

SPOOL_NAME = "prediction_log.spool.jsonl"
#: How long to wait before trying a database that just failed again.
RETRY_SECONDS = 1.0
#: How often an idle logger checks that the database still answers (for /ready).
PING_SECONDS = 5.0
REPLAY_CHUNK = 2_000


def insert_ignoring_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert rows; a ``prediction_id`` already present is skipped, not an error."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(prediction_log).on_conflict_do_nothing(
            index_elements=["prediction_id"]
        )
    elif dialect == "sqlite":
        stmt = sqlite_insert(prediction_log).on_conflict_do_nothing(
            index_elements=["prediction_id"]
        )
    else:
        raise NotImplementedError(
            f"prediction log inserts support PostgreSQL and SQLite, not {dialect}"
        )
    conn.execute(stmt, rows)


def prediction_record(
    *,
    prediction_id: str,
    predicted_at: datetime,
    model_version: int,
    designation: str,
    description: str | None,
    predicted_code: int,
    confidence: float,
    top_k: list[tuple[int, float]],
    latency_ms: float,
    unknown_token_share: float | None,
    productid: int | None = None,
    imageid: int | None = None,
) -> dict[str, Any]:
    """One ``prediction_log`` record (JSON-ready), built the same way by the API and the simulator.

    The text signals of drift monitoring are computed here, from the raw fields, so that every
    producer of log rows measures them identically.
    """
    text = designation + (" " + description if description else "")
    return {
        "prediction_id": prediction_id,
        # Always UTC: SQLite keeps the wall-clock time and drops the offset, so a local time
        # would land hours off in the drift windows.
        "predicted_at": predicted_at.astimezone(UTC).isoformat(),
        "model_version": model_version,
        "text_length": len(text),
        "word_count": len(text.split()),
        "has_description": bool(description and description.strip()),
        "predicted_code": predicted_code,
        "confidence": confidence,
        "top_k": [[code, probability] for code, probability in top_k],
        "latency_ms": round(latency_ms, 3),
        "productid": productid,
        "imageid": imageid,
        "unknown_token_share": unknown_token_share,
    }


def _as_row(record: dict[str, Any]) -> dict[str, Any]:
    row = dict(record)
    row["predicted_at"] = datetime.fromisoformat(record["predicted_at"])
    return row


@contextmanager
def _locked(path: Path, mode: str, *, blocking: bool = True) -> Iterator[IO[str] | None]:
    handle = path.open(mode)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield handle
    finally:
        handle.close()  # closing releases the lock


class PredictionLogger:
    """Bounded queue -> batched inserts, with a spool file while the database is away."""

    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
    ) -> None:
        self.engine = engine
        self.spool_dir = spool_dir
        self.spool_path = spool_dir / SPOOL_NAME
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.database_status = Reachability()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._spool_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_failure = 0.0
        self._last_contact = 0.0

    # --- producer side (request path) -------------------------------------------------------

    def log(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._append_to_spool([record])

    def depth(self) -> int:
        return self._queue.qsize()

    def spool_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._spool_files(include_claimed=True))

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Flush everything queued (to the database, or the spool file) and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        # Anything the thread could not take in time must still reach disk.
        leftovers = self._drain(self._queue.qsize())
        if leftovers:
            self._append_to_spool(leftovers)

    # --- consumer thread --------------------------------------------------------------------

    def _drain(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _take(self) -> list[dict[str, Any]]:
        try:
            first = self._queue.get(timeout=self.flush_seconds)
        except queue.Empty:
            return []
        return [first, *self._drain(self.batch_size - 1)]

    def _run(self) -> None:
        self._replay()  # leftovers of an earlier run (or another worker)
        while True:
            stopping = self._stop.is_set()
            batch = self._take() if not stopping else self._drain(self.batch_size)
            metrics.LOG_QUEUE_DEPTH.set(self._queue.qsize())
            if batch:
                self._write(batch)
            now = time.monotonic()
            if not stopping and now - self._last_failure >= RETRY_SECONDS:
                if self._spool_files(include_claimed=True):
                    self._replay()
                elif not batch and now - self._last_contact >= PING_SECONDS:
                    self._ping()
            if stopping and self._queue.empty():
                metrics.LOG_QUEUE_DEPTH.set(0)
                return

    def _database_down(self, exc: Exception) -> None:
        self._last_failure = time.monotonic()
        detail = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        if self.database_status.ok is not False:
            log.warning("prediction log: database unreachable, spooling records (%s)", detail)
        self.database_status.record(False, detail[:500])

    def _database_up(self) -> None:
        self._last_contact = time.monotonic()
        if self.database_status.ok is False:
            log.info("prediction log: database reachable again")
        self.database_status.record(True, "inserts succeed")

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if time.monotonic() - self._last_failure < RETRY_SECONDS:
            # The database failed a moment ago: do not make every batch wait for its errors.
            self._append_to_spool(batch)
            return
        try:
            with self.engine.begin() as conn:
                insert_ignoring_duplicates(conn, [_as_row(r) for r in batch])
        except SQLAlchemyError as exc:
            self._database_down(exc)
            self._append_to_spool(batch)
            return
        self._database_up()
        metrics.LOG_WRITTEN.inc(len(batch))

    def _ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            self._database_down(exc)
        else:
            self._database_up()

    # --- spool ------------------------------------------------------------------------------

    def _spool_files(self, *, include_claimed: bool) -> list[Path]:
        files = [p for p in [self.spool_path] if p.exists() and p.stat().st_size > 0]
        if include_claimed:
            files += sorted(self.spool_dir.glob("replaying-*.jsonl"))
        return files

    def _append_to_spool(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        if not lines:
            return
        count = lines.count("\n")
        with self._spool_lock:
            while True:
                with _locked(self.spool_path, "a") as handle:
                    assert handle is not None
                    # A replayer may have renamed the file between our open and our lock: then
                    # our handle points at the claimed file; append to a fresh one instead.
                    if os.fstat(handle.fileno()).st_ino != _inode(self.spool_path):
                        continue
                    handle.write(lines)
                    handle.flush()
                    os.fsync(handle.fileno())
                    break
        metrics.LOG_SPOOLED.inc(count)

    def _claim_spool(self) -> None:
        """Rename the live spool file so that new appends go to a fresh one."""
        if not self.spool_path.exists():
            return
        with self._spool_lock, _locked(self.spool_path, "a") as handle:
            assert handle is not None
            if os.fstat(handle.fileno()).st_ino != _inode(self.spool_path):
                return  # someone else claimed it first
            if os.fstat(handle.fileno()).st_size == 0:
                return
            os.rename(self.spool_path, self.spool_dir / f"replaying-{uuid.uuid4().hex}.jsonl")

    def _replay(self) -> None:
        try:
            self._claim_spool()
        except FileNotFoundError:
            return
        for path in self._spool_files(include_claimed=True):
            if path == self.spool_path:
                continue
            try:
                self._replay_file(path)
            except SQLAlchemyError as exc:
                self._database_down(exc)
                return
            except FileNotFoundError:
                continue  # replayed by another worker meanwhile

    def _replay_file(self, path: Path) -> None:
        with _locked(path, "r", blocking=False) as handle:
            if handle is None:
                return  # another worker is replaying it
            records = []
            for number, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    # Only a crash in the middle of an append leaves a partial last line.
                    log.error("prediction log spool %s: dropping torn line %d", path, number)
                    continue
                records.append(json.loads(line))
            for start in range(0, len(records), REPLAY_CHUNK):
                chunk = records[start : start + REPLAY_CHUNK]
                with self.engine.begin() as conn:
                    insert_ignoring_duplicates(conn, [_as_row(r) for r in chunk])
            path.unlink()
        self._database_up()
        metrics.LOG_REPLAYED.inc(len(records))
        log.info("prediction log: replayed %d spooled records from %s", len(records), path.name)


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1
