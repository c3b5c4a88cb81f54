"""The daily rollups behind the drift report: same numbers as the log, kept up to date, reused."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, literal, select

from rakuten_assets.db import prediction_log, prediction_log_daily, prediction_log_rollups
from rakuten_assets.drift.report import (
    STATUS_INSUFFICIENT_DATA,
    DriftReport,
    compute_report,
    compute_report_from_log,
)
from rakuten_assets.drift.rollups import CLASS_SIGNAL, FLOAT_BUCKETS, bucket, refresh_rollups
from rakuten_assets.drift.stats import Binning
from rakuten_assets.drift.windows import day_bounds
from rakuten_assets.predictions import insert_records
from rakuten_assets_tests.test_drift_report import (
    DAY,
    PARAMETERS,
    _traffic,
    log,
    parameters,
    paris,
    record,
    spread,
)

PARIS = "Europe/Paris"


def assert_same_report(actual: DriftReport, expected: DriftReport) -> None:
    """Equal in every field but when it was computed and how long it took."""
    timing = {"computed_at": expected.computed_at, "duration_s": expected.duration_s}
    assert dataclasses.replace(actual, **timing) == expected


def headers(engine: Engine, timezone: str = PARIS) -> dict[date, tuple[int, datetime]]:
    """Each rolled-up day of ``timezone``: (source rows, built at)."""
    header = prediction_log_rollups.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(header.local_day, header.source_rows, header.built_at).where(
                header.timezone == timezone
            )
        ).all()
    return {day: (source_rows, built_at) for day, source_rows, built_at in rows}


def rollup_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(prediction_log_daily)).scalar_one()
        )


def varied_traffic(seed: int = 1) -> list[dict[str, Any]]:
    """Rows around and inside DAY's windows: NULL shares, two model versions, exact midnights.

    The reference window holds the end of summer time in Paris (2026-10-25, a 25-hour day).
    """
    windows = PARAMETERS.windows(DAY)
    start = windows.reference_start - timedelta(days=2)  # some rows before the windows
    rows = _traffic(seed, 1_200, start, 40)  # and some after them
    current = _traffic(seed + 1, 500, windows.current_start, 7)
    for row in current:  # a drift: longer texts
        row["length"] += 40
    for index, row in enumerate(rows + current):
        row["version"] = 4 if index % 3 == 0 else 5
    edges = [
        {"at": paris(day), "code": 2905} for day in [*PARAMETERS.days(DAY), DAY + timedelta(days=1)]
    ]
    return rows + current + edges


@pytest.mark.parametrize("binning", ["equal_width", "quantile"])
def test_the_report_from_rollups_is_the_report_from_the_log(
    engine: Engine, binning: Binning
) -> None:
    insert_records(engine, [record(**row) for row in varied_traffic()])
    from_log = compute_report_from_log(engine, DAY, parameters(binning=binning))
    assert from_log.signal("text_length").flagged  # a report with something in it
    assert rollup_rows(engine) == 0  # the reference computation writes nothing

    assert_same_report(compute_report(engine, DAY, parameters(binning=binning)), from_log)
    built = headers(engine)
    assert sorted(built) == PARAMETERS.days(DAY)
    with engine.connect() as conn:
        for day, (source_rows, _) in built.items():
            logged = conn.execute(
                select(func.count())
                .select_from(prediction_log)
                .where(
                    prediction_log.c.predicted_at >= day_bounds(day, PARIS)[0],
                    prediction_log.c.predicted_at < day_bounds(day, PARIS)[1],
                )
            ).scalar_one()
            assert source_rows == logged > 0


def test_late_rows_change_the_next_report_as_a_fresh_computation_would(engine: Engine) -> None:
    insert_records(engine, [record(**row) for row in varied_traffic()])
    first = compute_report(engine, DAY, PARAMETERS)
    before = headers(engine)

    # The API replays its spool file: rows of a closed reference day and of a current day.
    late_reference_day, late_current_day = DAY - timedelta(days=20), DAY - timedelta(days=2)
    log(engine, paris(late_reference_day, 13), count=40, code=40, length=300, unknown=None)
    log(engine, paris(late_current_day, 9), count=60, code=2905, confidence=0.31)
    second = compute_report(engine, DAY, PARAMETERS)

    assert_same_report(second, compute_report_from_log(engine, DAY, PARAMETERS))
    assert second.reference_count == first.reference_count + 40
    assert second.current_count == first.current_count + 60
    assert second.signal(CLASS_SIGNAL) != first.signal(CLASS_SIGNAL)
    after = headers(engine)
    rebuilt = {day for day in after if after[day] != before[day]}
    assert rebuilt == {late_reference_day, late_current_day}
    assert after[late_current_day][0] == before[late_current_day][0] + 60


def test_a_day_whose_rows_were_deleted_is_rebuilt(engine: Engine) -> None:
    insert_records(engine, [record(**row) for row in varied_traffic()])
    compute_report(engine, DAY, PARAMETERS)
    start, end = day_bounds(DAY - timedelta(days=3), PARIS)
    with engine.begin() as conn:
        conn.execute(
            delete(prediction_log).where(
                prediction_log.c.predicted_at >= start, prediction_log.c.predicted_at < end
            )
        )
    assert refresh_rollups(engine, PARAMETERS.days(DAY), PARIS) == [DAY - timedelta(days=3)]
    assert headers(engine)[DAY - timedelta(days=3)][0] == 0
    assert_same_report(
        compute_report(engine, DAY, PARAMETERS), compute_report_from_log(engine, DAY, PARAMETERS)
    )


def test_the_next_daily_report_aggregates_only_its_new_day(engine: Engine) -> None:
    yesterday = DAY - timedelta(days=1)
    log(engine, spread(DAY - timedelta(days=37), 37, 12))  # up to yesterday, 12 rows a day
    compute_report(engine, yesterday, PARAMETERS)
    before = headers(engine)
    assert sorted(before) == PARAMETERS.days(yesterday)

    log(engine, spread(DAY, 1, 30), length=120)  # the report day fills
    report = compute_report(engine, DAY, PARAMETERS)
    after = headers(engine)
    assert {day for day in after if after[day] != before.get(day)} == {DAY}
    assert after[DAY][0] == 30
    assert_same_report(report, compute_report_from_log(engine, DAY, PARAMETERS))
    # Nothing changed since: a re-run of the same report rebuilds nothing.
    assert refresh_rollups(engine, PARAMETERS.days(DAY), PARIS) == []
    assert headers(engine) == after


def test_two_timezones_keep_separate_rollups(engine: Engine) -> None:
    insert_records(engine, [record(**row) for row in varied_traffic()])
    # 23:30 UTC is already the next day in Tokyo (UTC+9): the two rollups of that day differ.
    late_evening = datetime.combine(DAY - timedelta(days=4), datetime.min.time(), UTC)
    log(engine, late_evening + timedelta(hours=23, minutes=30), count=50, code=10)
    for timezone in ("UTC", "Asia/Tokyo", PARIS):
        assert_same_report(
            compute_report(engine, DAY, parameters(timezone=timezone)),
            compute_report_from_log(engine, DAY, parameters(timezone=timezone)),
        )
    utc, tokyo = headers(engine, "UTC"), headers(engine, "Asia/Tokyo")
    assert sorted(utc) == sorted(tokyo) == PARAMETERS.days(DAY)
    assert utc[DAY - timedelta(days=4)][0] != tokyo[DAY - timedelta(days=4)][0]
    assert sum(rows for rows, _ in utc.values()) != sum(rows for rows, _ in tokyo.values())


def test_insufficient_data_from_rollups(engine: Engine) -> None:
    assert compute_report(engine, DAY, PARAMETERS).status == STATUS_INSUFFICIENT_DATA
    assert (rollup_rows(engine), headers(engine)) == (0, {})  # empty days write nothing

    log(engine, spread(DAY - timedelta(days=20), days=10, per_day=20))  # 200 reference rows
    log(engine, spread(DAY - timedelta(days=2), days=3, per_day=20), code=10)  # 60 current rows
    report = compute_report(engine, DAY, PARAMETERS)
    assert report.status == STATUS_INSUFFICIENT_DATA
    assert (report.current_count, report.reference_count, report.signals) == (60, 200, ())
    assert_same_report(report, compute_report_from_log(engine, DAY, PARAMETERS))
    assert len(headers(engine)) == 13


def test_concurrent_reports_rebuild_the_same_days_without_colliding(engine: Engine) -> None:
    insert_records(engine, [record(**row) for row in varied_traffic()])
    days = PARAMETERS.days(DAY)
    start = threading.Barrier(3)
    errors: list[Exception] = []

    def refresh() -> None:
        start.wait()
        try:
            refresh_rollups(engine, days, PARIS)
        except Exception as exc:  # collected: the test fails on any
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert refresh_rollups(engine, days, PARIS) == []
    assert_same_report(
        compute_report(engine, DAY, PARAMETERS), compute_report_from_log(engine, DAY, PARAMETERS)
    )


# --- the bucketing is exact and identical on both databases -----------------------------------


BUCKET_CASES = [
    0.0,
    0.001,
    0.1,
    0.3,
    0.857,
    0.8567,
    0.0009999,
    0.999,
    1.0,
    0.1 + 0.2,
    -0.0005,
    -1.0,
]


def test_the_float_bucket_is_floor_on_both_databases(engine: Engine) -> None:
    # 0.8567 * 1000 = 856.7: a CAST that rounds (PostgreSQL's) would give 857; -0.0005 * 1000:
    # a CAST that truncates (SQLite's) would give 0, not -1.
    with engine.connect() as conn:
        buckets = [bucket(literal(v) * FLOAT_BUCKETS, conn.dialect.name) for v in BUCKET_CASES]
        got = list(conn.execute(select(*buckets)).one())
    assert got == [np.floor(v * FLOAT_BUCKETS) for v in BUCKET_CASES]
