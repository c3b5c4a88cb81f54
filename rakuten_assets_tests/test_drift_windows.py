"""The windows of a drift report: local days of its timezone as half-open UTC ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rakuten_assets.drift.windows import day_bounds, report_days, report_windows
from rakuten_assets_tests.test_drift_report import DAY, paris

PARIS = "Europe/Paris"
WINDOWS: dict[str, Any] = {"current_days": 7, "reference_days": 30, "timezone": PARIS}


def test_windows_are_local_days_converted_to_utc() -> None:
    windows = report_windows(DAY, **WINDOWS)
    assert windows.current_end == paris(date(2026, 11, 26)).astimezone(UTC)
    assert windows.current_start == paris(date(2026, 11, 19)).astimezone(UTC)
    assert windows.reference_end == windows.current_start
    assert windows.reference_start == paris(date(2026, 10, 20)).astimezone(UTC)
    assert windows.current_end.tzinfo is UTC
    assert windows.current_end == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)


def test_windows_across_the_daylight_saving_change_keep_local_midnights() -> None:
    # Paris moves to summer time on 2026-03-29: that local day has 23 hours.
    windows = report_windows(date(2026, 3, 29), current_days=7, reference_days=30, timezone=PARIS)
    assert windows.current_end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # CEST midnight
    assert windows.current_start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)  # CET midnight
    assert windows.current_end - windows.current_start == timedelta(days=7, hours=-1)


def test_windows_are_configurable() -> None:
    windows = report_windows(DAY, current_days=1, reference_days=2, timezone="UTC")
    assert windows.current_start == datetime(2026, 11, 25, tzinfo=UTC)
    assert windows.reference_start == datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"report_date": datetime(2026, 11, 25, 3, 0)}, TypeError, "must be a date"),
        ({"report_date": DAY, "current_days": 0}, ValueError, "current_days=0"),
        ({"report_date": DAY, "reference_days": 0}, ValueError, "reference_days=0"),
    ],
)
def test_windows_refuse_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        report_windows(**(WINDOWS | kwargs))


def test_report_days_are_the_reference_days_then_the_current_ones() -> None:
    days = report_days(DAY, current_days=2, reference_days=3)
    assert days == [DAY - timedelta(days=n) for n in (4, 3, 2, 1, 0)]
    with pytest.raises(ValueError, match="at least one day"):
        report_days(DAY, current_days=1, reference_days=0)


def test_a_local_day_has_23_or_25_hours_on_daylight_saving_changes() -> None:
    start, end = day_bounds(date(2026, 3, 29), PARIS)
    assert (start, end - start) == (paris(date(2026, 3, 29)).astimezone(UTC), timedelta(hours=23))
    start, end = day_bounds(date(2026, 10, 25), PARIS)
    assert end - start == timedelta(hours=25)
    assert day_bounds(DAY, "UTC") == (
        datetime(2026, 11, 25, tzinfo=UTC),
        datetime(2026, 11, 26, tzinfo=UTC),
    )
