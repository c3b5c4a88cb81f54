"""The two windows of a drift report: whole local days of its timezone, half-open, in UTC.

For report date D: current = the ``current_days`` days ending with D, reference = the
``reference_days`` days before them (see docs/drift.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ReportWindows:
    """The two half-open windows of a report date, in UTC."""

    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock(0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """One local day of ``timezone`` as a half-open UTC range (23 or 25 hours on DST changes)."""
    zone = ZoneInfo(timezone)
    return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)


def check_days(current_days: int, reference_days: int) -> None:
    """Refuse windows without a day (ValueError)."""
    if current_days < 1 or reference_days < 1:
        raise ValueError(
            f"windows need at least one day each, got current_days={current_days}, "
            f"reference_days={reference_days}"
        )


def report_days(report_date: date, *, current_days: int, reference_days: int) -> list[date]:
    """The local days both windows cover, oldest first: ``reference_days``, then ``current_days``."""
    check_days(current_days, reference_days)
    first = report_date - timedelta(days=current_days + reference_days - 1)
    return [first + timedelta(days=n) for n in range(current_days + reference_days)]


def report_windows(
    report_date: date, *, current_days: int, reference_days: int, timezone: str
) -> ReportWindows:
    """Current = ``current_days`` local days ending with ``report_date``; reference before it."""
    if isinstance(report_date, datetime):
        raise TypeError(
            f"report_date must be a date, not the datetime {report_date!r}: the windows are "
            "whole local days; pass report_date.date() (in the report's timezone)"
        )
    check_days(current_days, reference_days)
    zone = ZoneInfo(timezone)
    current_start_day = report_date - timedelta(days=current_days - 1)
    return ReportWindows(
        reference_start=_midnight(current_start_day - timedelta(days=reference_days), zone),
        reference_end=_midnight(current_start_day, zone),
        current_start=_midnight(current_start_day, zone),
        current_end=_midnight(report_date + timedelta(days=1), zone),
    )
