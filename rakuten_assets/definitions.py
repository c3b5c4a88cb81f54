"""The single Dagster entry point of the `rakuten_assets` code location.

Nothing is read from the settings at import time: Dagster calls :func:`defs` when it loads the
code location, and the partitions (start dates and time zone are settings) are built then.
"""

from __future__ import annotations

import dagster as dg

from rakuten_assets.calendar import Calendar
from rakuten_assets.defs import drift, health, ingestion, training
from rakuten_assets.defs.jobs import build_jobs
from rakuten_assets.defs.partitions import daily_partitions, partitioned, weekly_partitions
from rakuten_assets.defs.resources import build_resources
from rakuten_assets.settings import Settings, get_settings


def build_assets(cal: Calendar) -> list[dg.AssetsDefinition]:
    """Every asset of the location, with the partitions of ``cal``."""
    weekly = [
        ingestion.product_slice,
        health.production_realised_performance,
        training.training_set,
        training.candidate_model,
        training.model_evaluation,
        training.model_promotion,
    ]
    daily = [drift.drift_report, drift.drift_alert]
    return [
        ingestion.product_catalog,
        *partitioned(weekly_partitions(cal), weekly),
        *partitioned(daily_partitions(cal), daily),
    ]


def build_defs(settings: Settings | None = None) -> dg.Definitions:
    """The location's definitions for ``settings`` (the process's settings by default)."""
    settings = settings or get_settings()
    cal = Calendar.from_settings(settings)
    jobs = build_jobs(cal)
    return dg.Definitions(
        assets=build_assets(cal),
        jobs=[jobs.weekly, jobs.daily],
        schedules=jobs.schedules,
        sensors=[drift.drift_retrain_sensor],
        resources=build_resources(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs()
