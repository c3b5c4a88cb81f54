"""Weekly partitions of the training pipeline: partition ``k`` loads slice ``k``."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
from sqlalchemy import Engine

from rakuten_assets.data.loader import next_slice_index
from rakuten_assets.settings import get_settings

_settings = get_settings()
PIPELINE_START = date.fromisoformat(_settings.pipeline_start_date)

#: Mondays at 07:05 Europe/Paris, like the original weekly DAG (`5 7 * * 1`).
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=_settings.pipeline_start_date,
    day_offset=1,
    hour_offset=7,
    minute_offset=5,
    timezone=_settings.pipeline_timezone,
)


def slice_index(partition_key: str) -> int:
    """Weeks between the first partition and ``partition_key`` (0 for the first week)."""
    days = (date.fromisoformat(partition_key) - PIPELINE_START).days
    if days < 0 or days % 7:
        raise ValueError(
            f"partition key {partition_key!r} is not a weekly partition starting "
            f"{PIPELINE_START.isoformat()} (a Monday every 7 days)"
        )
    return days // 7


def partition_key_for(index: int) -> str:
    """The weekly partition key that loads slice ``index``."""
    if index < 0:
        raise ValueError(f"slice index must be >= 0, got {index}")
    return (PIPELINE_START + timedelta(weeks=index)).isoformat()


def next_partition_key(engine: Engine) -> str:
    """The weekly partition that loads the next slice: what a retrain launched now runs (the
    API, the CLI and the drift sensor), so the new candidate sees data Production has not."""
    return partition_key_for(next_slice_index(engine))
