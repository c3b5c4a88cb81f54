"""Micro-batching of concurrent single predictions.

sklearn pays a fixed cost per ``predict_proba`` call (DataFrame, pipeline dispatch, sparse
matrix set-up) that dwarfs the per-row cost of our TF-IDF + LogReg model. Concurrent
``/predict`` calls therefore wait on one asyncio queue; one consumer takes whatever is queued
(up to ``max_size``, waiting at most ``max_wait`` for company) and scores it in one call on a
worker thread, so the event loop keeps accepting requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from serving import metrics
from serving.model_store import LoadedModel, ModelStore


class NoModelError(RuntimeError):
    """No model is loaded yet (nothing in the registry and no local copy)."""


@dataclass
class _Pending:
    row: tuple[str, str | None]
    future: asyncio.Future[tuple[LoadedModel, np.ndarray]]


class MicroBatcher:
    def __init__(self, store: ModelStore, *, max_size: int, max_wait_seconds: float) -> None:
        self.store = store
        self.max_size = max_size
        self.max_wait = max_wait_seconds
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # One thread: batches are scored one after the other while the next one fills up.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="micro-batch")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(NoModelError("the service is shutting down"))
        self._executor.shutdown(wait=True)

    async def predict(
        self, designation: str, description: str | None
    ) -> tuple[LoadedModel, np.ndarray]:
        """Class probabilities of one listing, and the model that computed them."""
        future: asyncio.Future[tuple[LoadedModel, np.ndarray]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_Pending((designation, description), future))
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
                for pending in batch:
                    pending.future.set_exception(NoModelError("no model loaded"))
                continue
            rows = [p.row for p in batch]
            metrics.BATCH_SIZE.observe(len(rows))
            try:
                probabilities = await loop.run_in_executor(
                    self._executor, model.predict_proba, rows
                )
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, row in zip(batch, probabilities, strict=True):
                if not pending.future.done():
                    pending.future.set_result((model, row))
