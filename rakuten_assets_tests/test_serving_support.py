"""Shared helpers of the serving tests: a real registry with real models, the API as a process.

(Named test_serving_* so it sits with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
from sqlalchemy import func, select

from rakuten_assets import registry
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, prediction_log, upgrade_schema
from rakuten_assets.processes import free_port, running
from rakuten_assets.training.evaluation import score_model
from rakuten_assets.training.model import ModelParams, fit

BIN = Path(sys.executable).parent
ADMIN_TOKEN = "admin-token-0123456789abcdef"
MODEL = "rakuten_classifier"


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    database_url: str
    versions: tuple[int, ...]


def register_version(small_split: SplitCatalog, rows: int, seed: int) -> int:
    """Train with the real pipeline code and log the model as a new registry version."""
    train = small_split.pool.sample(n=rows, random_state=seed)
    model = fit(train, ModelParams(max_iter=50))
    with mlflow.start_run():
        candidate = registry.log_candidate(
            model=model,
            model_name=MODEL,
            params={"rows": rows},
            validation=score_model(model, small_split.holdout),
            input_example=train,
            data_version={
                "batch_id": f"batch-{seed}",
                "dataset_hash": f"hash-{seed}",
                "partition_key": "2026-01-05",
                "loaded_pct": 40.0,
                "train_rows": rows,
            },
            train_seconds=1.0,
        )
        mlflow.log_metric(
            "holdout_weighted_f1", score_model(model, small_split.holdout).weighted_f1
        )
    return candidate.version


def promote(tracking_uri: str, database_url: str, version: int) -> None:
    """What `model_promotion` does: the alias, the stage tags and a `promoted` history row."""
    client = registry.configure(tracking_uri)
    previous = registry.set_production(client, MODEL, version)
    registry.record_decision(
        get_engine(database_url),
        model_name=MODEL,
        candidate_version=version,
        production_version=previous,
        decision="promoted",
        reason="test",
        actor="test",
    )


def build_registry(root: Path, small_split: SplitCatalog, versions: int) -> Registry:
    """A local MLflow store with ``versions`` models (the first one in Production)."""
    root.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    database_url = f"sqlite:///{root / 'rakuten.db'}"
    upgrade_schema(get_engine(database_url))
    client = registry.configure(tracking_uri)
    experiment = registry.ensure_experiment(client, "serving-tests", root / "artifacts")
    mlflow.set_experiment(experiment_id=experiment)
    numbers = tuple(register_version(small_split, 500 + 100 * i, seed=i) for i in range(versions))
    promote(tracking_uri, database_url, numbers[0])
    return Registry(tracking_uri, database_url, numbers)


def api_env(data_dir: Path, tracking_uri: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "DATABASE_URL": database_url,
        "API_ADMIN_TOKEN": ADMIN_TOKEN,
        "API_MODEL_POLL_SECONDS": "0.5",
        **extra,
    }


@contextmanager
def api_server(
    env: dict[str, str], log_path: Path, *, workers: int = 1, port: int | None = None
) -> Iterator[tuple[str, int]]:
    """The API under uvicorn in its own process group (on ``port``, else a free one); yields
    (base URL, uvicorn's PID)."""
    port = port or free_port()
    command = [
        str(BIN / "uvicorn"), "serving.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    with running(
        command, health_url=f"http://127.0.0.1:{port}/health", log_path=log_path, env=env
    ) as process:
        yield f"http://127.0.0.1:{port}", process.pid


def stop_gracefully(pid: int) -> None:
    """SIGTERM, as a process manager stops the API (runs the lifespan shutdown)."""
    os.killpg(pid, signal.SIGTERM)


def logged_ids(database_url: str) -> list[str]:
    engine = get_engine(database_url)
    with engine.connect() as conn:
        return [str(r) for r in conn.execute(select(prediction_log.c.prediction_id)).scalars()]


def count_logged(database_url: str) -> int:
    engine = get_engine(database_url)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(prediction_log)).scalar_one())


class Traffic:
    """Client threads calling /predict, and /predict/batch every ``batch_every``-th call, until
    the block ends; the ids of every 200 (``ok_ids``) and the text of every other answer.

    With ``until_disconnected`` a thread stops quietly when the server goes away (a test that
    kills it); otherwise a lost connection fails the thread, and the test sees fewer answers.
    ``pause`` (seconds) paces each thread, for tests that need steady traffic, not load.
    """

    def __init__(
        self,
        url: str,
        *,
        threads: int = 3,
        batch_every: int = 10,
        batch_items: int = 5,
        until_disconnected: bool = False,
        pause: float = 0.0,
    ) -> None:
        self.url = url
        self._pause = pause
        self.ok_ids: list[str] = []
        self.failures: list[str] = []
        self._batch_every = batch_every
        self._batch_items = batch_items
        self._until_disconnected = until_disconnected
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _post(self, client: httpx.Client, index: int, n: int) -> tuple[httpx.Response, list[str]]:
        if n % self._batch_every == 0:
            items = [{"designation": f"lot {index}-{n}-{k}"} for k in range(self._batch_items)]
            answer = client.post(f"{self.url}/predict/batch", json={"items": items})
            return answer, [p["prediction_id"] for p in answer.json().get("predictions", [])]
        answer = client.post(f"{self.url}/predict", json={"designation": f"coussin {index}-{n}"})
        return answer, [answer.json().get("prediction_id")]

    def _run(self, index: int) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                try:
                    answer, ids = self._post(client, index, n)
                except httpx.TransportError:
                    if self._until_disconnected:
                        return  # the server is gone: whatever it answered so far counts
                    raise
                with self._lock:
                    if answer.status_code == 200:
                        self.ok_ids.extend(ids)
                    else:
                        self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                if self._pause:
                    self._stop.wait(self._pause)

    def wait_for(self, more: int, timeout: float = 120) -> None:
        """Until ``more`` answers beyond those received so far."""
        target = len(self.ok_ids) + more
        deadline = time.monotonic() + timeout
        while len(self.ok_ids) < target:
            assert time.monotonic() < deadline, f"traffic stalled at {len(self.ok_ids)}"
            time.sleep(0.02)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread did not stop"
