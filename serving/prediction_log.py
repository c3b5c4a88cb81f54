"""Every prediction as a row of ``prediction_log``: on local disk before its answer leaves.

Records (``rakuten_assets.predictions``, which also owns the insert) are first appended to a
local *journal* and fsync'ed; only then is the prediction answered. A caller that already
batches (the API's micro-batch thread) appends its batch itself with one ``fdatasync``
(``append``); other threads share one (``log_many``: the journal thread writes whatever the
waiting callers handed it, then releases them all). The same records also go to a bounded in-memory queue that one
thread inserts in batches (insert-or-ignore on the primary key ``prediction_id``, so a record
inserted twice is stored once).

The journal of a process is a *segment* file under the spool directory, held with an exclusive
``flock`` for the life of the process (the kernel drops the lock when the process dies, even by
SIGKILL). Once every record of a segment is in the database it is compacted (truncated, or
deleted when sealed). A record whose insert failed (database away) or that found the memory
queue full stays in its segment, which is then *dirty*: it is replayed whole from disk once the
database answers, sealed only at that moment, so one outage leaves one file per process. At
start-up, and every few seconds, a process replays the segments nobody holds a lock on
(left by a process that died, or by another uvicorn worker that stopped): that is the
recovery after a crash. A torn last line (a crash in the middle of an append, before the
fsync, so before the answer) is skipped.
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.predictions import PredictionRecord, insert_records, purge_inputs
from serving import metrics
from serving.model_store import Reachability

log = logging.getLogger("serving.prediction_log")

#: Every ``*.jsonl`` file of the spool directory is a journal segment (or a spool file of an
#: earlier version, replayed the same way).
SEGMENT_GLOB = "*.jsonl"
#: A clean segment is sealed (and a new one started) past this size, so that it can be deleted
#: once inserted even when the database never catches up with the appends completely.
SEGMENT_BYTES = 8 * 1024 * 1024
#: How long to wait before trying a database that just failed again.
RETRY_SECONDS = 1.0
#: How often an idle logger checks that the database still answers (for /ready), and looks for
#: segments left by processes that stopped.
PING_SECONDS = 5.0
#: How long the writer waits for more records to share an insert with the first one.
INSERT_GATHER_SECONDS = 0.1
#: How often the writer deletes captured inputs past their retention (and once at start).
PURGE_SECONDS = 3600.0


@dataclass(eq=False)
class _Segment:
    """One journal file of this process, and what became of its records."""

    path: Path
    handle: IO[bytes]
    appended: int = 0
    inserted: int = 0
    #: Some record of it did not reach the database from memory: replay the file.
    dirty: bool = False
    sealed: bool = False

    def close(self) -> None:
        self.handle.close()  # closing releases the lock


@dataclass(eq=False)
class _Entry:
    record: PredictionRecord
    segment: _Segment


@dataclass(eq=False)
class _Commit:
    """Records waiting for the journal thread, and how to tell their producer it is done."""

    records: Sequence[PredictionRecord]
    done: threading.Event
    error: BaseException | None = field(default=None)


def _encode(records: Iterable[PredictionRecord]) -> bytes:
    return "".join(json.dumps(r.to_json(), separators=(",", ":")) + "\n" for r in records).encode()


class PredictionLogger:
    """Journal on local disk (group commit) -> bounded queue -> batched database inserts."""

    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
        capture_retention_days: int | None = None,
    ) -> None:
        self.engine = engine
        #: Captured inputs older than this are deleted by the consumer thread (None: never).
        self.capture_retention_days = capture_retention_days
        self._last_purge: float | None = None
        self.spool_dir = spool_dir
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.database_status = Reachability()
        self._queue: queue.Queue[_Entry] = queue.Queue(maxsize=queue_size)
        self._commits: queue.SimpleQueue[_Commit | None] = queue.SimpleQueue()
        #: Held while the active segment is appended to, sealed or truncated.
        self._journal_lock = threading.Lock()
        self._active: _Segment | None = None
        self._sealed: list[_Segment] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._journal_thread: threading.Thread | None = None
        self._last_failure = 0.0
        self._last_contact = 0.0
        self._last_orphan_scan = 0.0

    # --- producer side (request path) -------------------------------------------------------

    def log(self, record: PredictionRecord) -> None:
        """Journal one record (fsync'ed when this returns) and queue its insert."""
        self.log_many([record])

    def log_many(self, records: Sequence[PredictionRecord]) -> None:
        """Journal the records from any thread; durable on disk when this returns."""
        if not records:
            return
        if self._journal_thread is None:  # not started (or stopped): append directly
            self._append(records)
            return
        done = threading.Event()
        commit = _Commit(records, done=done)
        self._commits.put(commit)
        done.wait()
        if commit.error is not None:
            raise commit.error

    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Journal the records in the calling thread (write and ``fdatasync``); durable after.

        For a caller that already batches its records (the micro-batch thread): no hand-off to
        the journal thread and back, one sync for the whole batch all the same."""
        if records:
            self._append(records)

    def depth(self) -> int:
        return self._queue.qsize()

    def spool_bytes(self) -> int:
        """Bytes of journal on disk whose records are not all known to be in the database."""
        total = 0
        for path in self.spool_dir.glob(SEGMENT_GLOB):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue  # compacted meanwhile
        return total

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._active = self._new_segment()
        self._journal_thread = threading.Thread(
            target=self._journal_loop, name="prediction-journal", daemon=True
        )
        self._journal_thread.start()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Insert everything queued (what cannot be stays in the journal) and stop the threads."""
        if self._journal_thread is not None:
            self._commits.put(None)
            self._journal_thread.join(timeout=timeout)
            self._journal_thread = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        with self._journal_lock:
            segments = [*self._sealed, *([self._active] if self._active else [])]
            self._active, self._sealed = None, []
        for segment in segments:
            # Records still queued (a thread that did not finish in time) are on disk anyway.
            if not segment.dirty and segment.inserted >= segment.appended:
                segment.path.unlink(missing_ok=True)
            segment.close()

    # --- journal ----------------------------------------------------------------------------

    def _new_segment(self) -> _Segment:
        path = self.spool_dir / f"journal-{os.getpid()}-{uuid.uuid4().hex}.jsonl"
        handle = path.open("ab")
        fcntl.flock(handle, fcntl.LOCK_EX)
        return _Segment(path, handle)

    def _append(self, records: Sequence[PredictionRecord]) -> None:
        """Write and fsync the records in the active segment, then queue their inserts."""
        payload = _encode(records)
        with self._journal_lock:
            segment = self._active
            if segment is None:  # not started: a segment for this call only
                segment = self._new_segment()
                try:
                    segment.handle.write(payload)
                    segment.handle.flush()
                    os.fsync(segment.handle.fileno())
                finally:
                    segment.close()
                metrics.LOG_SPOOLED.inc(len(records))
                return
            segment.handle.write(payload)
            segment.handle.flush()
            os.fdatasync(segment.handle.fileno())
            segment.appended += len(records)
        for record in records:
            try:
                self._queue.put_nowait(_Entry(record, segment))
            except queue.Full:
                segment.dirty = True  # it is on disk: replayed from there
                metrics.LOG_SPOOLED.inc()

    def _journal_loop(self) -> None:
        while True:
            first = self._commits.get()
            commits = [first]
            while True:  # everyone who queued meanwhile shares this fsync
                try:
                    commits.append(self._commits.get_nowait())
                except queue.Empty:
                    break
            stopping = any(c is None for c in commits)
            waiting = [c for c in commits if c is not None]
            if waiting:
                error: BaseException | None = None
                try:
                    self._append([r for c in waiting for r in c.records])
                except BaseException as exc:  # reported to every producer of the group
                    log.exception("prediction log: journal append failed")
                    error = exc
                for commit in waiting:
                    commit.error = error
                    commit.done.set()
            if stopping:
                return

    # --- consumer thread --------------------------------------------------------------------

    def _drain(self, limit: int) -> list[_Entry]:
        batch: list[_Entry] = []
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _take(self) -> list[_Entry]:
        try:
            first = self._queue.get(timeout=self.flush_seconds)
        except queue.Empty:
            return []
        if self._queue.qsize() < self.batch_size - 1:
            # The records are on disk already: gather a few more for the same insert (each
            # insert and commit has a fixed cost that a trickle of records would pay each).
            self._stop.wait(min(self.flush_seconds, INSERT_GATHER_SECONDS))
        return [first, *self._drain(self.batch_size - 1)]

    def _run(self) -> None:
        self._replay_orphans()  # leftovers of an earlier run (or a stopped worker)
        while True:
            stopping = self._stop.is_set()
            batch = self._take() if not stopping else self._drain(self.batch_size)
            metrics.LOG_QUEUE_DEPTH.set(self._queue.qsize())
            if batch:
                self._write(batch)
            now = time.monotonic()
            if now - self._last_failure >= RETRY_SECONDS:
                if self._has_dirty():
                    self._replay_own()
                elif not stopping and not batch and now - self._last_contact >= PING_SECONDS:
                    self._ping()
                if not stopping and now - self._last_orphan_scan >= PING_SECONDS:
                    self._replay_orphans()
                if not stopping:
                    self._purge_inputs(now)
            self._compact()
            if stopping and self._queue.empty():
                metrics.LOG_QUEUE_DEPTH.set(0)
                return

    def _database_down(self, exc: Exception) -> None:
        self._last_failure = time.monotonic()
        detail = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        if self.database_status.ok is not False:
            log.warning(
                "prediction log: database unreachable, keeping records on disk (%s)", detail
            )
        self.database_status.record(False, detail[:500])

    def _database_up(self) -> None:
        self._last_contact = time.monotonic()
        if self.database_status.ok is False:
            log.info("prediction log: database reachable again")
        self.database_status.record(True, "inserts succeed")

    def _spooled(self, batch: list[_Entry]) -> None:
        for entry in batch:
            entry.segment.dirty = True
        metrics.LOG_SPOOLED.inc(len(batch))

    def _write(self, batch: list[_Entry]) -> None:
        if time.monotonic() - self._last_failure < RETRY_SECONDS:
            # The database failed a moment ago: do not make every batch wait for its errors.
            self._spooled(batch)
            return
        try:
            inserted = insert_records(self.engine, [entry.record for entry in batch])
        except SQLAlchemyError as exc:
            self._database_down(exc)
            self._spooled(batch)
            return
        self._database_up()
        for entry in batch:
            entry.segment.inserted += 1
        metrics.LOG_WRITTEN.inc(inserted)

    def _purge_inputs(self, now: float) -> None:
        """Delete captured inputs past their retention, at most every ``PURGE_SECONDS``."""
        if self.capture_retention_days is None:
            return
        if self._last_purge is not None and now - self._last_purge < PURGE_SECONDS:
            return
        self._last_purge = now
        try:
            deleted = purge_inputs(self.engine, self.capture_retention_days)
        except SQLAlchemyError as exc:
            self._database_down(exc)
            self._last_purge = None  # try again once the database answers
            return
        if deleted:
            log.info("prediction log: deleted %d captured inputs past retention", deleted)

    def _ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            self._database_down(exc)
            return False
        self._database_up()
        return True

    # --- compaction and replay (consumer thread) --------------------------------------------

    def _has_dirty(self) -> bool:
        return any(s.dirty for s in self._sealed) or bool(self._active and self._active.dirty)

    def _compact(self) -> None:
        """Drop what the database holds: sealed segments whole, the active one by truncation."""
        for segment in [s for s in self._sealed if not s.dirty and s.inserted >= s.appended]:
            segment.path.unlink(missing_ok=True)
            segment.close()
            self._sealed.remove(segment)
        with self._journal_lock:
            active = self._active
            if active is None or active.dirty:
                return
            size = os.fstat(active.handle.fileno()).st_size
            if size == 0:
                return
            if active.inserted >= active.appended:
                # Every record of it is in the database: nothing to replay if we die now.
                active.handle.truncate(0)
                active.appended = active.inserted = 0
            elif size >= SEGMENT_BYTES:
                self._seal_active()

    def _seal_active(self) -> None:
        """Start a new active segment (caller holds the journal lock)."""
        assert self._active is not None
        self._active.sealed = True
        self._sealed.append(self._active)
        self._active = self._new_segment()

    def _replay_own(self) -> None:
        """Replay this process's dirty segments once the database answers; seal the active one."""
        if not self._ping():
            return
        with self._journal_lock:
            if self._active is not None and self._active.dirty:
                self._seal_active()
        for segment in [s for s in self._sealed if s.dirty]:
            try:
                self._replay_file(segment.path)
            except SQLAlchemyError as exc:
                self._database_down(exc)
                return
            segment.path.unlink(missing_ok=True)
            segment.close()
            self._sealed.remove(segment)

    def _replay_orphans(self) -> None:
        """Replay the segments no live process holds (a crashed or stopped one left them)."""
        self._last_orphan_scan = time.monotonic()
        mine = {s.path for s in self._sealed} | ({self._active.path} if self._active else set())
        for path in sorted(self.spool_dir.glob(SEGMENT_GLOB)):
            if path in mine:
                continue
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                continue  # replayed by another worker meanwhile
            try:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process's journal, or another worker replays it
                if os.fstat(handle.fileno()).st_nlink == 0:
                    continue  # replayed and deleted between our open and our lock
                try:
                    self._replay_file(path)
                except SQLAlchemyError as exc:
                    self._database_down(exc)
                    return
                path.unlink(missing_ok=True)
            finally:
                handle.close()

    def _replay_file(self, path: Path) -> None:
        """Insert every record of a journal file the caller has locked (and deletes after)."""
        with path.open("rb") as reader:
            lines = reader.read().split(b"\n")
        # The last element is b"" after a complete last line; anything else is a torn append.
        if lines[-1]:
            log.error(
                "prediction log journal %s: skipping a torn last line (%d bytes)",
                path.name,
                len(lines[-1]),
            )
        records = [PredictionRecord.from_json(json.loads(line)) for line in lines[:-1] if line]
        if records:
            insert_records(self.engine, records)
            metrics.LOG_REPLAYED.inc(len(records))
            log.info("prediction log: replayed %d records from %s", len(records), path.name)
        self._database_up()
