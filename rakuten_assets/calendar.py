"""The pipeline's calendar: weekly slice partitions, daily drift partitions, and the names of the
jobs, assets and checks that several places use (defined once, here).

Dates come from Settings when a :class:`Calendar` is built, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from rakuten_assets.data.loader import next_slice_index
from rakuten_assets.settings import Settings, get_settings

WEEKLY_JOB = "weekly_ml_pipeline"
DAILY_DRIFT_JOB = "daily_drift_check"

PRODUCT_CATALOG = "product_catalog"
PRODUCT_SLICE = "product_slice"
MODEL_PROMOTION = "model_promotion"
DRIFT_REPORT = "drift_report"
DRIFT_ALERT = "drift_alert"

#: The blocking asset check of `model_evaluation` (the promotion gate's threshold).
MODEL_QUALITY_CHECK = "candidate_weighted_f1_above_threshold"

#: Weekly partitions: Mondays, the schedule at 07:05 (`5 7 * * 1`, like the original DAG).
WEEKLY_DAY_OFFSET = 1
WEEKLY_HOUR_OFFSET = 7
WEEKLY_MINUTE_OFFSET = 5
#: Daily partition ``D`` ends at 01:00 on ``D + 1`` (`0 1 * * *`), when ``D`` is complete.
DAILY_HOUR_OFFSET = 1


@dataclass(frozen=True)
class Calendar:
    """The first weekly and daily partitions and their time zone."""

    pipeline_start: date
    drift_start: date
    timezone: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Calendar:
        settings = settings or get_settings()
        return cls(
            pipeline_start=date.fromisoformat(settings.pipeline_start_date),
            drift_start=date.fromisoformat(settings.drift_start_date),
            timezone=settings.pipeline_timezone,
        )

    def slice_index(self, partition_key: str) -> int:
        """Weeks between the first partition and ``partition_key`` (0 for the first week)."""
        days = (date.fromisoformat(partition_key) - self.pipeline_start).days
        if days < 0 or days % 7:
            raise ValueError(
                f"partition key {partition_key!r} is not a weekly partition starting "
                f"{self.pipeline_start.isoformat()} (a Monday every 7 days)"
            )
        return days // 7

    def partition_key_for(self, index: int) -> str:
        """The weekly partition key that loads slice ``index``."""
        if index < 0:
            raise ValueError(f"slice index must be >= 0, got {index}")
        return (self.pipeline_start + timedelta(weeks=index)).isoformat()

    def next_partition_key(self, engine: Engine) -> str:
        """The weekly partition that loads the next slice: what a retrain launched now runs (the
        API, the CLI and the drift sensor), so the new candidate sees data Production has not."""
        return self.partition_key_for(next_slice_index(engine))

    def last_daily_partition_key(self, now: datetime | None = None) -> str | None:
        """The newest complete daily drift partition at ``now`` (default: now): the day before
        today from 01:00 on, the day before that earlier; None before the first one ends."""
        zone = ZoneInfo(self.timezone)
        local = (now or datetime.now(zone)).astimezone(zone)
        day = (local - timedelta(hours=DAILY_HOUR_OFFSET)).date() - timedelta(days=1)
        return day.isoformat() if day >= self.drift_start else None
