"""The single Dagster entry point of the `rakuten_assets` code location."""

from __future__ import annotations

import dagster as dg

from rakuten_assets.defs import ingestion, training
from rakuten_assets.defs.jobs import weekly_ml_pipeline, weekly_ml_pipeline_schedule
from rakuten_assets.defs.resources import build_resources
from rakuten_assets.settings import get_settings

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, training]),
    asset_checks=[],
    jobs=[weekly_ml_pipeline],
    schedules=[weekly_ml_pipeline_schedule],
    resources=build_resources(get_settings()),
)
