"""Every prediction as a row of ``prediction_log``, written off the request path, never lost.

Requests put a record (``rakuten_assets.predictions``, which also owns the insert) on a
bounded in-memory queue; one thread inserts them in batches. When the database fails, the batch
is appended to a local JSONL spool file (flushed and fsync'ed) instead, and replayed once the
database answers again. Inserts are insert-or-ignore on the primary key ``prediction_id``, so a
batch whose commit succeeded but whose acknowledgement was lost (then spooled and replayed) is
not written twice. If the queue is full, the record goes straight to the spool: slower for that
request, but nothing is dropped. Stopping drains the queue. Several processes (uvicorn workers)
may share one spool directory: appends and claims of a spool file are serialised with ``flock``.
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
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.predictions import PredictionRecord, insert_records
from serving import metrics
from serving.model_store import Reachability

log = logging.getLogger("serving.prediction_log")

SPOOL_NAME = "prediction_log.spool.jsonl"
#: How long to wait before trying a database that just failed again.
RETRY_SECONDS = 1.0
#: How often an idle logger checks that the database still answers (for /ready).
PING_SECONDS = 5.0


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
        self._queue: queue.Queue[PredictionRecord] = queue.Queue(maxsize=queue_size)
        self._spool_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_failure = 0.0
        self._last_contact = 0.0

    # --- producer side (request path) -------------------------------------------------------

    def log(self, record: PredictionRecord) -> None:
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

    def _drain(self, limit: int) -> list[PredictionRecord]:
        batch: list[PredictionRecord] = []
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _take(self) -> list[PredictionRecord]:
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

    def _write(self, batch: list[PredictionRecord]) -> None:
        if time.monotonic() - self._last_failure < RETRY_SECONDS:
            # The database failed a moment ago: do not make every batch wait for its errors.
            self._append_to_spool(batch)
            return
        try:
            insert_records(self.engine, batch)
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

    def _append_to_spool(self, records: Iterable[PredictionRecord]) -> None:
        lines = "".join(json.dumps(r.to_json(), separators=(",", ":")) + "\n" for r in records)
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
                records.append(PredictionRecord.from_json(json.loads(line)))
            insert_records(self.engine, records)
            path.unlink()
        self._database_up()
        metrics.LOG_REPLAYED.inc(len(records))
        log.info("prediction log: replayed %d spooled records from %s", len(records), path.name)


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1
