"""Dagster partitions of the calendar: weekly partition ``k`` loads slice ``k``."""

from __future__ import annotations

from functools import cache

import dagster as dg

from rakuten_assets import calendar


@cache
def weekly_partitions() -> dg.WeeklyPartitionsDefinition:
    """Mondays at 07:05 in the pipeline's time zone; Settings are read when definitions load."""
    cal = calendar.Calendar.from_settings()
    return dg.WeeklyPartitionsDefinition(
        start_date=cal.pipeline_start.isoformat(),
        day_offset=calendar.WEEKLY_DAY_OFFSET,
        hour_offset=calendar.WEEKLY_HOUR_OFFSET,
        minute_offset=calendar.WEEKLY_MINUTE_OFFSET,
        timezone=cal.timezone,
    )
