"""Dagster partitions of the calendar, put on the assets when the definitions are built.

The assets are declared without partitions (their start dates and time zone are settings, and
nothing reads the settings at import time); :func:`partitioned` gives each module's
``WEEKLY_ASSETS`` / ``DAILY_ASSETS`` their partitions for one :class:`Calendar`.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from rakuten_assets import calendar
from rakuten_assets.calendar import Calendar


def weekly_partitions(cal: Calendar) -> dg.WeeklyPartitionsDefinition:
    """Mondays at 07:05 in the pipeline's time zone: partition ``k`` loads slice ``k``."""
    return dg.WeeklyPartitionsDefinition(
        start_date=cal.pipeline_start.isoformat(),
        day_offset=calendar.WEEKLY_DAY_OFFSET,
        hour_offset=calendar.WEEKLY_HOUR_OFFSET,
        minute_offset=calendar.WEEKLY_MINUTE_OFFSET,
        timezone=cal.timezone,
    )


def daily_partitions(cal: Calendar) -> dg.DailyPartitionsDefinition:
    """One partition per day from the drift start date; its schedule runs at 01:00 the day
    after (``0 1 * * *``), when the day is complete."""
    return dg.DailyPartitionsDefinition(
        start_date=cal.drift_start.isoformat(),
        hour_offset=calendar.DAILY_HOUR_OFFSET,
        timezone=cal.timezone,
    )


def partitioned(
    partitions_def: dg.PartitionsDefinition, assets: Iterable[dg.AssetsDefinition]
) -> list[dg.AssetsDefinition]:
    """``assets`` with ``partitions_def`` on every asset they produce."""
    return [
        asset.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=partitions_def))
        for asset in assets
    ]
