"""Scoring in batches: micro-batching of concurrent single predictions, one pass per batch.

sklearn pays a fixed cost per call that dwarfs the per-row cost of our TF-IDF + LogReg model,
and every per-request step on the event loop holds the GIL while other requests wait. So
concurrent ``/predict`` calls wait on one asyncio queue; one consumer takes whatever is queued
(up to ``max_size``, waiting at most ``max_wait`` for company) and hands the batch to a worker
thread, which does everything that can be done once per batch (:func:`score`): the model call,
the ranking, the unknown-token share, the log records, each answer's JSON, then the journal
write of the batch's records (one ``fdatasync``, in that same thread: a hand-off to the journal
thread and back cost more than the sync) and the metrics. Only then are the requests answered;
the event loop itself only queues the requests, hands the batch over and sets the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from rakuten_assets.predictions import (
    PredictionRecord,
    prediction_record,
    rank_rows,
    unknown_shares,
)
from rakuten_assets.training.inference import LeanScorer
from serving import metrics
from serving.model_store import LoadedModel, ModelStore
from serving.prediction_log import PredictionLogger


class NoModelError(RuntimeError):
    """No model is loaded yet (nothing in the registry and no local copy)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One listing to classify, as a request brought it."""

    designation: str
    description: str | None
    top_k: int
    productid: int | None = None
    imageid: int | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    """One answered prediction: its JSON body (a ``schemas.Prediction``) and its log record."""

    body: bytes
    record: PredictionRecord


def score(
    model: LoadedModel, items: Sequence[Item], started: Sequence[float], capture: bool = False
) -> list[Scored]:
    """Score the items with one model call; ``started[i]`` is when item i's request arrived.

    ``capture`` (CAPTURE_INPUTS) keeps the input texts in the log records. Runs off the event
    loop. The answers are serialised here, once, from values that are
    valid by construction (model classes, probabilities, fresh UUIDs).
    """
    rows = [(item.designation, item.description) for item in items]
    scorer = model.scorer
    shares: Sequence[float | None] | None
    if isinstance(scorer, LeanScorer):  # the unknown-token shares come from the same pass
        probabilities, shares = scorer.score(rows)
    else:
        probabilities = scorer.predict_proba(rows)
        shares = unknown_shares(model.pipeline, rows)
    predicted_at = datetime.now(UTC)
    done = time.perf_counter()
    rankings = rank_rows(probabilities, model.classes, [item.top_k for item in items])
    scored = []
    for i, (item, ranked, arrived) in enumerate(zip(items, rankings, started, strict=True)):
        best = ranked[0]
        prediction_id = str(uuid.uuid4())
        body = {
            "prediction_id": prediction_id,
            "prdtypecode": best.prdtypecode,
            "label": best.label,
            "confidence": best.probability,
            "top_k": [
                {"prdtypecode": r.prdtypecode, "label": r.label, "probability": r.probability}
                for r in ranked
            ],
            "model_version": model.version,
        }
        record = prediction_record(
            prediction_id=prediction_id,
            predicted_at=predicted_at,
            model_version=model.version,
            designation=item.designation,
            description=item.description,
            ranked=ranked,
            latency_ms=(done - arrived) * 1000,
            unknown_token_share=shares[i] if shares is not None else None,
            productid=item.productid,
            imageid=item.imageid,
            capture=capture,
        )
        scored.append(Scored(_json(body), record))
    return scored


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def batch_body(model_version: int, scored: Sequence[Scored]) -> bytes:
    """The JSON of a ``schemas.BatchPrediction`` from the items' own answers."""
    return b'{"model_version":%d,"predictions":[%b]}' % (
        model_version,
        b",".join(s.body for s in scored),
    )


def observe(scored: Sequence[Scored]) -> None:
    """The per-prediction metrics of a journalled batch, counted once per predicted class.

    Called after the journal write: a prediction that was never answered (the write failed) is
    not counted either."""
    for code, count in Counter(s.record.predicted_code for s in scored).items():
        metrics.PREDICTIONS.labels(str(code)).inc(count)
    for s in scored:
        metrics.CONFIDENCE.observe(s.record.confidence)
        metrics.TEXT_LENGTH.observe(s.record.text_length)
        if s.record.unknown_token_share is not None:
            metrics.UNKNOWN_TOKEN_SHARE.observe(s.record.unknown_token_share)


@dataclass(eq=False, slots=True)
class _Pending:
    item: Item
    started: float
    future: asyncio.Future[tuple[LoadedModel, Scored]]


class MicroBatcher:
    def __init__(
        self,
        store: ModelStore,
        prediction_log: PredictionLogger,
        *,
        max_size: int,
        max_wait_seconds: float,
        capture_inputs: bool = False,
    ) -> None:
        self.store = store
        self.capture_inputs = capture_inputs
        self.prediction_log = prediction_log
        self.max_size = max_size
        self.max_wait = max_wait_seconds
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: The batch being scored and journalled, and its job.
        self._in_flight: tuple[LoadedModel, list[_Pending], asyncio.Future[list[Scored]]] | None = (
            None
        )
        # One thread: batches are scored one after the other while the next one fills up.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="micro-batch")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight is not None:  # scored while we stopped: answered once on disk
            model, batch, job = self._in_flight
            self._in_flight = None
            await _settle(model, batch, job)
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(NoModelError("the service is shutting down"))
        self._executor.shutdown(wait=True)

    async def predict(self, item: Item, started: float) -> tuple[LoadedModel, Scored]:
        """One listing's answer once its log record is on disk, and the model that scored it."""
        future: asyncio.Future[tuple[LoadedModel, Scored]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_Pending(item, started, future))
        return await future

    def _drain_into(self, batch: list[_Pending]) -> None:
        while len(batch) < self.max_size:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            # Let the requests that arrived in the same loop iteration join first.
            await asyncio.sleep(0)
            self._drain_into(batch)
            if len(batch) < self.max_size and self.max_wait > 0:
                await asyncio.sleep(self.max_wait)
                self._drain_into(batch)
            batch = [p for p in batch if not p.future.done()]  # cancelled by a disconnect
            if not batch:
                continue
            model = self.store.current  # read once: the whole batch uses the same model
            if model is None:
                _fail(batch, NoModelError("no model loaded"))
                continue
            metrics.BATCH_SIZE.observe(len(batch))
            job = loop.run_in_executor(
                self._executor,
                self._score_and_journal,
                model,
                [p.item for p in batch],
                [p.started for p in batch],
            )
            self._in_flight = (model, batch, job)
            # Shielded: a stop while the batch is scored lets ``stop`` answer it once journalled.
            await _settle(model, batch, asyncio.shield(job))
            self._in_flight = None

    def _score_and_journal(
        self, model: LoadedModel, items: list[Item], started: list[float]
    ) -> list[Scored]:
        """The batch scored, its records on disk (one sync) and counted: all in the batch
        thread, so the event loop only hands the batch over and hands the answers out."""
        scored = score(model, items, started, self.capture_inputs)
        self.prediction_log.append([s.record for s in scored])
        # After the journal write: a prediction that is never answered is not counted either.
        observe(scored)
        now = time.perf_counter()
        histogram = metrics.LATENCY.labels("predict")
        for arrived in started:
            histogram.observe(now - arrived)
        return scored


async def _settle(
    model: LoadedModel, batch: list[_Pending], job: asyncio.Future[list[Scored]]
) -> None:
    """Answer the batch with what its job scored and journalled, or with the job's error."""
    try:
        scored = await job
    except Exception as exc:
        _fail(batch, exc)
        return
    for pending, answer in zip(batch, scored, strict=True):
        if not pending.future.done():
            pending.future.set_result((model, answer))


def _fail(batch: list[_Pending], exc: Exception) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(exc)
