"""The single Dagster entry point of the `rakuten_assets` code location."""

from __future__ import annotations

import dagster as dg

from rakuten_assets.defs import drift, health, ingestion, training
from rakuten_assets.defs.jobs import (
    daily_drift_check,
    daily_drift_check_schedule,
    weekly_ml_pipeline,
    weekly_ml_pipeline_schedule,
)
from rakuten_assets.defs.resources import build_resources
from rakuten_assets.settings import get_settings

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, health, training, drift]),
    asset_checks=[],
    jobs=[weekly_ml_pipeline, daily_drift_check],
    schedules=[weekly_ml_pipeline_schedule, daily_drift_check_schedule],
    sensors=[drift.drift_retrain_sensor],
    resources=build_resources(get_settings()),
)
