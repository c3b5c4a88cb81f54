"""What the routers share: settings, the served model, the micro-batcher, the prediction log,
the drift gauges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from rakuten_assets.settings import Settings
from serving.batching import MicroBatcher
from serving.drift_metrics import DriftCollector
from serving.model_store import ModelStore
from serving.prediction_log import PredictionLogger


@dataclass
class ServingState:
    settings: Settings
    engine: Engine
    store: ModelStore
    batcher: MicroBatcher
    prediction_log: PredictionLogger
    drift_gauges: DriftCollector
