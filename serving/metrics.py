"""Prometheus metrics of the prediction API (prefix ``rakuten_``).

With several uvicorn workers, prometheus-client's multiprocess mode is on when
``PROMETHEUS_MULTIPROC_DIR`` is set (it reads the variable itself, at import): every worker
writes its values to files there and ``/metrics`` aggregates them with ``MultiProcessCollector``.
Gauges therefore declare how workers combine (``livesum`` for queue depth, ``livemax`` for the
model version and load time).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from rakuten_assets.categories import CATEGORY_LABELS


def check_multiprocess_dir() -> None:
    """Refuse a PROMETHEUS_MULTIPROC_DIR that is set but unusable.

    prometheus-client switches to multiprocess mode as soon as the variable *exists*: set but
    empty, every worker writes its files into its working directory and ``/metrics`` would
    show only the answering worker's counts. Better not to start than to report wrong numbers.
    """
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if value is None:
        return
    if not value.strip() or not Path(value).is_dir():
        raise RuntimeError(
            f"PROMETHEUS_MULTIPROC_DIR={value!r} is not a directory: unset it (one worker), or "
            "point it at an existing, empty directory (`rakuten serve --workers N` makes one "
            "under DATA_DIR when the variable is unset)"
        )


# Before the first metric: constructing one already creates its file in the directory.
check_multiprocess_dir()

PREDICTIONS = Counter(
    "rakuten_predictions", "Predictions served, by predicted product-type code.", ["prdtypecode"]
)
LATENCY = Histogram(
    "rakuten_prediction_latency_seconds",
    "Time from a prediction request's arrival to its answer (single and batch calls).",
    ["endpoint"],
    buckets=(0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CONFIDENCE = Histogram(
    "rakuten_prediction_confidence",
    "Probability of the predicted class.",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
TEXT_LENGTH = Histogram(
    "rakuten_input_text_length_chars",
    "Characters of designation + description of each predicted item.",
    buckets=(10, 25, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 40_000),
)
UNKNOWN_TOKEN_SHARE = Histogram(
    "rakuten_unknown_token_share",
    "Share of each predicted item's word tokens unknown to the served model's vocabulary.",
    buckets=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
)
BATCH_SIZE = Histogram(
    "rakuten_model_batch_size",
    "Items scored per model call (micro-batches of single predictions, and batch calls).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024),
)
MODEL_VERSION = Gauge(
    "rakuten_model_version",
    "Registry version of the model being served (0 = none).",
    multiprocess_mode="livemax",
)
MODEL_INFO = Gauge(
    "rakuten_model_info",
    "1 for the model being served, with its version and MLflow run id.",
    ["version", "run_id", "source"],
    multiprocess_mode="livemax",
)
MODEL_LOAD_TIMESTAMP = Gauge(
    "rakuten_model_load_timestamp_seconds",
    "Unix time the served model was loaded.",
    multiprocess_mode="livemax",
)
ERRORS = Counter("rakuten_errors", "Requests answered with an error, by type.", ["type"])
LOG_QUEUE_DEPTH = Gauge(
    "rakuten_prediction_log_queue_depth",
    "Prediction-log records waiting in memory for their database insert.",
    multiprocess_mode="livesum",
)
LOG_WRITTEN = Counter("rakuten_prediction_log_written", "Prediction-log rows inserted.")
LOG_SPOOLED = Counter(
    "rakuten_prediction_log_spooled",
    "Prediction-log records written to the local spool file (database unreachable).",
)
LOG_REPLAYED = Counter(
    "rakuten_prediction_log_replayed",
    "Spooled prediction-log records replayed into the database.",
)
HTTP_REQUESTS = Counter(
    "rakuten_http_requests",
    "HTTP requests answered, by route template (`unmatched` for unknown paths) and status code.",
    ["route", "status"],
)
MODEL_RELOADS = Counter(
    "rakuten_model_reloads", "Model swaps and failed reload attempts.", ["outcome"]
)


class CategoryInfoCollector(Collector):
    """``rakuten_category_info``: one constant series per product-type code carrying its label,
    so that a dashboard can show names next to codes (``* on (prdtypecode) group_left(category)``).
    Static, hence identical in every worker and outside multiprocess bookkeeping."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "rakuten_category_info",
            "1 for each product-type code, labelled with its category name.",
            labels=["prdtypecode", "category"],
        )
        for code, label in sorted(CATEGORY_LABELS.items()):
            family.add_metric([str(code), label], 1)
        yield family


CATEGORY_INFO = CategoryInfoCollector()
REGISTRY.register(CATEGORY_INFO)


def multiprocess_dir() -> str | None:
    # prometheus-client itself decides from this variable (at import); so do we, consistently.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> tuple[bytes, str]:
    """The exposition text of every metric (all workers' in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(CATEGORY_INFO)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Forget a stopped worker's live gauges (called at shutdown in multiprocess mode)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
