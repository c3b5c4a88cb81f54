"""Shared helpers of the serving tests: a real registry with real models, the API as a process.

(Named test_serving_* so it sits with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
    env: dict[str, str], log_path: Path, *, workers: int = 1
) -> Iterator[tuple[str, int]]:
    """The API under uvicorn in its own process group; yields (base URL, uvicorn's PID)."""
    port = free_port()
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
