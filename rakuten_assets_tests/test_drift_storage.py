"""Stored drift reports: the upsert, the readers the API, the CLI, the gauges and the sensor use."""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta

import pytest
from sqlalchemy import Engine, update

from rakuten_assets.db import drift_reports
from rakuten_assets.drift.report import DriftReport, compute_report
from rakuten_assets.drift.rollups import SIGNAL_NAMES
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.storage import (
    critical_reports_since,
    get_report,
    latest_reports,
    newest_report,
    report_summary,
    report_summary_by_id,
    report_to_dict,
    store_report,
)
from rakuten_assets_tests.test_drift_report import DAY, PARAMETERS, log, parameters, spread


def test_store_report_upserts_by_date_keeping_the_id(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10))
    log(engine, spread(DAY - timedelta(days=6), 7, 20))
    first = compute_report(engine, DAY, parameters(binning="quantile"))
    report_id = store_report(engine, first, dagster_run_id="run-1")
    assert get_report(engine, DAY) == dataclasses.replace(
        first, id=report_id, dagster_run_id="run-1"
    )

    log(engine, spread(DAY - timedelta(days=6), 7, 20), code=10)  # the day is recomputed
    second = compute_report(engine, DAY, PARAMETERS)
    assert store_report(engine, second) == report_id
    stored = get_report(engine, DAY)
    assert stored == dataclasses.replace(second, id=report_id, dagster_run_id=None)
    assert stored.current_count == 280

    other_day = DAY - timedelta(days=1)
    other_id = store_report(engine, compute_report(engine, other_day, PARAMETERS))
    assert other_id != report_id
    assert [r.report_date for r in latest_reports(engine, limit=5)] == [DAY, other_day]
    assert [r.id for r in latest_reports(engine, limit=1)] == [report_id]
    assert get_report(engine, DAY - timedelta(days=2)) is None


def test_reports_serialise_to_plain_json(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10))
    log(engine, spread(DAY - timedelta(days=6), 7, 20), length=90)
    report = compute_report(engine, DAY, parameters(binning="quantile"))
    document = report_to_dict(report)
    assert document["severity"] == str(report.severity)
    assert document["parameters"]["binning"] == "quantile"
    assert {s["name"] for s in document["signals"]} == set(SIGNAL_NAMES)
    text_length = next(s for s in document["signals"] if s["name"] == "text_length")
    assert text_length["edges"][0] is None  # -inf: JSON has no infinity
    assert text_length["edges"][-1] is None


def _stored(engine: Engine, report: DriftReport, days_before: int, severity: Severity) -> int:
    """A copy of ``report`` stored for another date with another severity."""
    copy = dataclasses.replace(
        report, report_date=DAY - timedelta(days=days_before), severity=severity
    )
    return store_report(engine, copy)


@pytest.fixture
def empty_report(engine: Engine) -> DriftReport:
    return compute_report(engine, DAY, PARAMETERS)  # no traffic: insufficient data, OK


def test_latest_reports_filter_by_severity_newest_first(
    engine: Engine, empty_report: DriftReport
) -> None:
    assert newest_report(engine) is None
    assert latest_reports(engine) == []
    ids = {
        days: _stored(engine, empty_report, days, severity)
        for days, severity in [(3, Severity.CRITICAL), (2, Severity.OK), (1, Severity.CRITICAL)]
    }
    critical = latest_reports(engine, 10, severity=Severity.CRITICAL)
    assert [r.id for r in critical] == [ids[1], ids[3]]
    assert all(r.severity is Severity.CRITICAL for r in critical)
    assert [r.id for r in latest_reports(engine, 1, severity=Severity.CRITICAL)] == [ids[1]]
    assert latest_reports(engine, 10, severity=Severity.ALERT) == []
    assert [r.id for r in latest_reports(engine, 10)] == [ids[1], ids[2], ids[3]]
    newest = newest_report(engine)
    assert newest is not None
    assert (newest.id, newest.report_date) == (ids[1], DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="limit must be at least 1"):
        latest_reports(engine, 0)


def test_a_summary_is_the_stored_columns_and_signal_results(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10))
    log(engine, spread(DAY - timedelta(days=6), 7, 20), length=90)
    report = compute_report(engine, DAY, PARAMETERS)
    report_id = store_report(engine, report)
    summary = report_summary(engine, DAY)
    assert summary is not None
    assert summary == report_summary_by_id(engine, report_id)
    assert (summary.id, summary.report_date, summary.status) == (report_id, DAY, report.status)
    assert (summary.severity, summary.driving_signal) == (report.severity, report.driving_signal)
    assert (summary.current_count, summary.reference_count) == (140, 300)
    assert summary.computed_at == report.computed_at
    assert summary.computed_at.tzinfo is UTC
    assert (summary.current_start, summary.current_end) == (
        report.current_start,
        report.current_end,
    )
    assert summary.current_days == 7
    assert list(summary.signals) == list(SIGNAL_NAMES)
    text_length = report.signal("text_length")
    assert summary.signals["text_length"]["psi"] == text_length.psi
    assert summary.signals["text_length"]["severity"] == text_length.severity
    assert report_summary(engine, DAY - timedelta(days=1)) is None
    assert report_summary_by_id(engine, report_id + 1) is None


def test_critical_reports_since_a_cursor(engine: Engine, empty_report: DriftReport) -> None:
    nothing = critical_reports_since(engine, None)
    assert (nothing.reports, nothing.seen_until) == ([], None)

    first = _stored(engine, empty_report, 3, Severity.CRITICAL)
    _stored(engine, empty_report, 2, Severity.ALERT)
    found = critical_reports_since(engine, None)
    assert [r.id for r in found.reports] == [first]
    assert found.seen_until == empty_report.computed_at  # every copy has its computed_at

    later = empty_report.computed_at + timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(
            update(drift_reports).where(drift_reports.c.id == first).values(computed_at=later)
        )
    again = critical_reports_since(engine, found.seen_until)
    assert [(r.id, r.computed_at) for r in again.reports] == [(first, later)]
    assert again.seen_until == later
    assert critical_reports_since(engine, again.seen_until).reports == []


def test_a_document_of_an_unknown_version_is_refused(
    engine: Engine, empty_report: DriftReport
) -> None:
    store_report(engine, empty_report)
    with engine.begin() as conn:
        conn.execute(update(drift_reports).values(signals={"version": 99, "signals": []}))
    with pytest.raises(ValueError, match="unknown version"):
        get_report(engine, DAY)
    summary = report_summary(engine, DAY)  # the columns stay readable
    assert summary is not None
    assert summary.signals == {}
