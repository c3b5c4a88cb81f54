"""The served model: loaded from the registry's Production alias, kept on disk, hot-swapped.

``ModelStore.current`` is one immutable :class:`LoadedModel`; a reload builds the new one off
the request path and replaces the reference in one assignment, so a request scores with either
the old or the new model, never a mix. Every model loaded from the registry is also kept under
``DATA_DIR/serving/models`` (the *last good copy*), which is what a restart serves while the
registry is unreachable.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from rakuten_assets import registry
from rakuten_assets.settings import Settings
from rakuten_assets.training.inference import Scorer, scorer_for
from serving import metrics

log = logging.getLogger("serving.model")

POINTER = "current.json"
META = "serving_meta.json"
#: Local copies kept besides the current one (older ones are deleted).
KEEP_COPIES = 3


@dataclass
class Reachability:
    """The outcome of the last contact with an external service (for ``/ready``)."""

    ok: bool | None = None
    detail: str = "not checked yet"
    checked_at: datetime | None = None

    def record(self, ok: bool, detail: str) -> None:
        self.ok, self.detail, self.checked_at = ok, detail, datetime.now(UTC)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "detail": self.detail,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


@dataclass(frozen=True)
class LoadedModel:
    """One model ready to score, with what ``/model`` reports about it."""

    pipeline: Any
    version: int
    run_id: str
    model_name: str
    trained_at: str | None
    holdout_weighted_f1: float | None
    data_version: dict[str, Any] | None
    source: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: How rows are scored: the lean path derived from ``pipeline`` when it has one.
    scorer: Scorer = field(init=False)
    #: The model's class labels, in the order of a probability row.
    classes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scorer", scorer_for(self.pipeline))
        object.__setattr__(self, "classes", np.asarray(self.scorer.classes_))

    def predict_proba(self, rows: Sequence[tuple[str, str | None]]) -> np.ndarray:
        return self.scorer.predict_proba(rows)

    def describe(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "version": self.version,
            "run_id": self.run_id,
            "trained_at": self.trained_at,
            "holdout_weighted_f1": self.holdout_weighted_f1,
            "data_version": self.data_version,
            "source": self.source,
            "loaded_at": self.loaded_at.isoformat(),
            "classes": len(self.classes),
        }


def _load_pipeline(path: Path) -> Any:
    # mlflow prepends the model's logged code dir to sys.path on every load; our own package is
    # already imported, so undo it rather than let sys.path grow with each hot reload.
    saved = list(sys.path)
    try:
        return mlflow.sklearn.load_model(str(path))
    finally:
        sys.path[:] = saved


def _freeze_long_lived_objects() -> None:
    """Keep the served model and the imported libraries out of full garbage collections.

    Together they are ~210,000 GC-tracked objects; one full collection walked them all in
    ~115 ms while requests waited (the p99 under load fell from 170-300 ms to ~70 ms with
    this, bench/serving.py). Unfreezing first lets a replaced model be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with tmp.open("w") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class ModelStore:
    """Holds the served model; a watcher thread follows the registry's Production alias."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model_name = settings.registered_model_name
        self.copies_dir = settings.data_dir / "serving" / "models"
        self.current: LoadedModel | None = None
        self.registry_status = Reachability()
        self._reload_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: MlflowClient | None = None

    # --- registry ---------------------------------------------------------------------------

    def registry_client(self) -> MlflowClient:
        if self._client is None:
            self._client = registry.configure(self.settings.tracking_uri)
        return self._client

    def sync(self) -> bool:
        """Serve the registry's current Production version; True when the model was swapped."""
        with self._reload_lock:
            client = self.registry_client()
            try:
                production = registry.production_version(client, self.model_name)
            except Exception as exc:
                # Any failure here (connection refused, timeout, server error) means the same
                # thing for serving: keep the current model and say so in /ready.
                self.registry_status.record(False, f"{type(exc).__name__}: {exc}"[:500])
                raise
            if production is None:
                self.registry_status.record(
                    True, f"{self.model_name} has no version with the alias production"
                )
                return False
            version = int(production.version)
            self.registry_status.record(True, f"Production is version {version}")
            if self.current is not None and self.current.version == version:
                return False
            loaded = self._load_version(client, version)
            self._swap(loaded)
            return True

    def _load_version(self, client: MlflowClient, version: int) -> LoadedModel:
        directory = self.copies_dir / f"v{version}"
        if not (directory / META).exists():
            self._download(client, version, directory)
        loaded = self._from_copy(directory, source="registry")
        _write_json_atomically(self.copies_dir / POINTER, {"version": version})
        self._prune(keep=version)
        return loaded

    def _download(self, client: MlflowClient, version: int, directory: Path) -> None:
        mv = client.get_model_version(self.model_name, str(version))
        run = client.get_run(mv.run_id) if mv.run_id else None
        started = run.info.start_time if run is not None else None
        meta = {
            "version": version,
            "run_id": mv.run_id,
            "model_name": self.model_name,
            "trained_at": (
                datetime.fromtimestamp(started / 1000, UTC).isoformat() if started else None
            ),
            "holdout_weighted_f1": (
                run.data.metrics.get("holdout_weighted_f1") if run is not None else None
            ),
            "data_version": json.loads(mv.tags["data_version"])
            if "data_version" in mv.tags
            else None,
        }
        self.copies_dir.mkdir(parents=True, exist_ok=True)
        # Download next to the final place and rename: a crash (or another worker doing the
        # same) never leaves a half-written copy under the name a restart would trust.
        staging = self.copies_dir / f".download-{uuid.uuid4().hex}"
        try:
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.model_name}/{version}",
                dst_path=str(staging),
                tracking_uri=self.settings.tracking_uri,
                registry_uri=self.settings.tracking_uri,
            )
            _write_json_atomically(staging / META, meta)
            try:
                staging.rename(directory)
            except OSError:
                if not (directory / META).exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _from_copy(self, directory: Path, *, source: str) -> LoadedModel:
        meta = json.loads((directory / META).read_text())
        pipeline = _load_pipeline(directory)
        return LoadedModel(
            pipeline=pipeline,
            version=int(meta["version"]),
            run_id=str(meta["run_id"]),
            model_name=str(meta["model_name"]),
            trained_at=meta.get("trained_at"),
            holdout_weighted_f1=meta.get("holdout_weighted_f1"),
            data_version=meta.get("data_version"),
            source=source,
        )

    def _prune(self, keep: int) -> None:
        copies = sorted(
            (p for p in self.copies_dir.glob("v*") if p.name[1:].isdigit()),
            key=lambda p: int(p.name[1:]),
        )
        old = [p for p in copies if int(p.name[1:]) != keep][:-KEEP_COPIES]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)

    def _swap(self, loaded: LoadedModel) -> None:
        previous = self.current
        # A single reference assignment: requests read `current` once per model call.
        self.current = loaded
        _freeze_long_lived_objects()
        if previous is not None:
            metrics.MODEL_INFO.labels(str(previous.version), previous.run_id, previous.source).set(
                0
            )
        metrics.MODEL_INFO.labels(str(loaded.version), loaded.run_id, loaded.source).set(1)
        metrics.MODEL_VERSION.set(loaded.version)
        metrics.MODEL_LOAD_TIMESTAMP.set(loaded.loaded_at.timestamp())
        metrics.MODEL_RELOADS.labels("swapped").inc()
        log.info(
            "serving %s v%s (run %s, from %s)%s",
            loaded.model_name,
            loaded.version,
            loaded.run_id,
            loaded.source,
            f", replacing v{previous.version}" if previous else "",
        )

    # --- start-up ---------------------------------------------------------------------------

    def load_local_copy(self) -> bool:
        """Serve the last good copy on disk (used when the registry is unreachable)."""
        pointer = self.copies_dir / POINTER
        if not pointer.exists():
            return False
        version = int(json.loads(pointer.read_text())["version"])
        directory = self.copies_dir / f"v{version}"
        if not (directory / META).exists():
            log.error("the last good copy v%s is missing from %s", version, directory)
            return False
        self._swap(self._from_copy(directory, source="local copy"))
        return True

    def load_initial(self) -> None:
        """Production from the registry, else the last good copy, else nothing (503s)."""
        try:
            self.sync()
        except Exception as exc:
            log.warning("registry unreachable at start-up (%s); trying the last good copy", exc)
        if self.current is None and not self.load_local_copy():
            log.error(
                "no model to serve: no Production version in the registry at %s and no local "
                "copy under %s; predictions answer 503 until one is promoted",
                self.settings.tracking_uri,
                self.copies_dir,
            )

    # --- watcher ----------------------------------------------------------------------------

    def start_watcher(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._thread.start()

    def stop_watcher(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.api_model_poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sync()
            except Exception as exc:
                metrics.MODEL_RELOADS.labels("failed").inc()
                log.warning("model refresh failed, still serving the current model: %s", exc)
