"""The calendar: weekly keys <-> slices, the newest daily drift partition, names defined once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rakuten_assets import calendar
from rakuten_assets.calendar import Calendar
from rakuten_assets.definitions import build_defs
from rakuten_assets.defs.partitions import daily_partitions, weekly_partitions
from rakuten_assets.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
CAL = Calendar(date(2026, 1, 5), date(2026, 1, 1), "Europe/Paris")
defs = build_defs()


def test_partition_keys_map_to_slices() -> None:
    cal = Calendar.from_settings()
    assert cal.slice_index(cal.partition_key_for(0)) == 0
    assert cal.slice_index(cal.partition_key_for(20)) == 20
    assert cal.partition_key_for(1) == "2026-01-12"


@pytest.mark.parametrize("key", ["2026-01-04", "2026-01-06", "2025-12-29", "2026-01-13"])
def test_a_key_that_is_not_a_week_of_the_pipeline_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="is not a weekly partition starting 2026-01-05"):
        CAL.slice_index(key)


def test_a_negative_slice_has_no_key() -> None:
    with pytest.raises(ValueError, match="slice index must be >= 0"):
        CAL.partition_key_for(-1)


def test_the_calendar_follows_the_settings_it_is_built_from() -> None:
    cal = Calendar.from_settings(
        Settings(
            pipeline_start_date="2027-03-01",
            drift_start_date="2027-02-01",
            pipeline_timezone="UTC",
        )
    )
    assert cal == Calendar(date(2027, 3, 1), date(2027, 2, 1), "UTC")
    assert cal.partition_key_for(2) == "2027-03-15"


def test_the_dagster_weekly_partitions_are_the_calendar_weeks() -> None:
    cal = Calendar.from_settings()
    keys = weekly_partitions(cal).get_partition_keys(current_time=datetime(2026, 7, 1, tzinfo=UTC))
    assert keys[:21] == [cal.partition_key_for(i) for i in range(21)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 10, 0, 59, tzinfo=PARIS), "2026-03-08"),
        (datetime(2026, 3, 10, 1, 0, tzinfo=PARIS), "2026-03-09"),
        (datetime(2026, 3, 10, 23, 59, tzinfo=PARIS), "2026-03-09"),
        # 00:30 UTC is 01:30 in Paris (winter): the 9th is complete there.
        (datetime(2026, 3, 10, 0, 30, tzinfo=UTC), "2026-03-09"),
        # Summer time: 23:30 UTC on the 9th is 01:30 on the 10th in Paris.
        (datetime(2026, 7, 9, 23, 30, tzinfo=UTC), "2026-07-09"),
        (datetime(2026, 1, 2, 1, 0, tzinfo=PARIS), "2026-01-01"),
        (datetime(2026, 1, 2, 0, 59, tzinfo=PARIS), None),
        (datetime(2025, 6, 1, tzinfo=PARIS), None),
    ],
)
def test_newest_daily_partition_is_the_one_dagster_has(now: datetime, expected: str | None) -> None:
    assert CAL.last_daily_partition_key(now) == expected
    # The Dagster definition the drift job runs on agrees (same start and time zone here).
    keys = daily_partitions(CAL).get_partition_keys(current_time=now)
    assert (keys[-1] if keys else None) == expected


def test_job_and_check_names_are_the_ones_the_definitions_use() -> None:
    assert defs.resolve_job_def(calendar.WEEKLY_JOB).name == "weekly_ml_pipeline"
    assert defs.resolve_job_def(calendar.DAILY_DRIFT_JOB).name == "daily_drift_check"
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    names = {
        calendar.PRODUCT_CATALOG,
        calendar.PRODUCT_SLICE,
        calendar.MODEL_PROMOTION,
        calendar.DRIFT_REPORT,
        calendar.DRIFT_ALERT,
    }
    assert names <= keys
    graph = defs.resolve_asset_graph()
    checks = {check.name for check in graph.asset_check_keys}
    assert calendar.MODEL_QUALITY_CHECK in checks
