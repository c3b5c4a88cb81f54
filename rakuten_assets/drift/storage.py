"""The ``drift_reports`` table: storing reports, reading them back, and their JSON document.

The one module with SQL on ``drift_reports``. Readers return :class:`DriftReport` (the whole
report, parsed) or :class:`ReportSummary` (its columns and the stored per-signal results, which
is what alerts, sensors and summaries need).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rakuten_assets.db import drift_reports
from rakuten_assets.drift.performance import DayEstimate
from rakuten_assets.drift.report import Comparison, DriftParameters, DriftReport, ReportStatus
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.stats import SignalResult
from rakuten_assets.feedback import RealisedScores

#: Version of the document stored in ``drift_reports.signals``.
DOCUMENT_VERSION = 1


# --- the JSON document ----------------------------------------------------------------------------


def signal_to_json(result: SignalResult) -> dict[str, Any]:
    """One signal's result as stored (JSON has no infinity: open quantile edges become null)."""
    document = asdict(result)
    for key, value in document.items():
        if isinstance(value, tuple):
            document[key] = list(value)
    if result.edges is not None:
        document["edges"] = [e if math.isfinite(e) else None for e in result.edges]
    return document


def signal_from_json(document: Mapping[str, Any]) -> SignalResult:
    values = dict(document)
    for key in ("psi_severity", "severity"):
        values[key] = Severity(values[key])
    for key in ("reference_share", "current_share", "categories"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    if values.get("edges") is not None:
        edges = values["edges"]
        last = len(edges) - 1
        values["edges"] = tuple(
            (-math.inf if i == 0 else math.inf) if e is None else float(e)
            for i, e in enumerate(edges)
        )
        if None in edges[1:last]:
            raise ValueError(f"signal {values['name']!r}: stored inner bin edges are null")
    return SignalResult(**values)


def report_document(report: DriftReport) -> dict[str, Any]:
    """The JSON document stored in ``drift_reports.signals``."""
    return {
        "version": DOCUMENT_VERSION,
        "parameters": asdict(report.parameters),
        "signals": [signal_to_json(s) for s in report.signals],
        "skipped": dict(report.skipped_signals),
        # Optional key: reports stored before the estimate existed have none.
        "performance": report.performance.to_json() if report.performance else None,
        "realised": report.realised.to_json() if report.realised else None,
        # Optional key: reports stored before the split by model version have none.
        "comparison": report.comparison.to_json() if report.comparison else None,
    }


def report_to_dict(report: DriftReport) -> dict[str, Any]:
    """A JSON-ready view of the whole report (for the API and the UI)."""
    return {
        "id": report.id,
        "report_date": report.report_date.isoformat(),
        "status": report.status,
        "severity": str(report.severity),
        "driving_signal": report.driving_signal,
        "reference_count": report.reference_count,
        "current_count": report.current_count,
        "reference_start": report.reference_start.isoformat(),
        "reference_end": report.reference_end.isoformat(),
        "current_start": report.current_start.isoformat(),
        "current_end": report.current_end.isoformat(),
        "computed_at": report.computed_at.isoformat(),
        "duration_s": report.duration_s,
        "model_version": report.model_version,
        "dagster_run_id": report.dagster_run_id,
        **report_document(report),
    }


def signal_results(document: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The per-signal results of a stored document, by signal name (as stored, unparsed)."""
    return {str(s["name"]): s for s in (document or {}).get("signals", [])}


# --- writing --------------------------------------------------------------------------------------


def store_report(engine: Engine, report: DriftReport, dagster_run_id: str | None = None) -> int:
    """Insert the report, or replace the one of the same date keeping its id; return the id.

    Keeping the id matters: alerts point at it.
    """
    document = report_document(report)
    # Fail here, with the report in hand, rather than as a database error on PostgreSQL JSON.
    json.dumps(document, allow_nan=False)
    values: dict[str, Any] = {
        "report_date": report.report_date,
        "computed_at": report.computed_at,
        "current_start": report.current_start,
        "current_end": report.current_end,
        "reference_start": report.reference_start,
        "reference_end": report.reference_end,
        "reference_count": report.reference_count,
        "current_count": report.current_count,
        "status": report.status,
        "severity": str(report.severity),
        "driving_signal": report.driving_signal,
        "signals": document,
        "model_version": report.model_version,
        "dagster_run_id": dagster_run_id,
        "duration_s": report.duration_s,
    }
    with engine.begin() as conn:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            stmt: Any = pg_insert(drift_reports)
        elif dialect == "sqlite":
            stmt = sqlite_insert(drift_reports)
        else:
            raise NotImplementedError(f"drift reports support PostgreSQL and SQLite, not {dialect}")
        stmt = stmt.values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[drift_reports.c.report_date],
            set_={name: stmt.excluded[name] for name in values if name != "report_date"},
        ).returning(drift_reports.c.id)
        return int(conn.execute(stmt).scalar_one())


# --- whole reports --------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _from_row(row: Any) -> DriftReport:
    document = row.signals
    if not isinstance(document, Mapping) or document.get("version") != DOCUMENT_VERSION:
        raise ValueError(
            f"drift report {row.report_date} (id {row.id}) has a signals document of an unknown "
            f"version ({document.get('version') if isinstance(document, Mapping) else document!r})"
        )
    return DriftReport(
        report_date=row.report_date,
        status=cast(ReportStatus, row.status),
        severity=Severity(row.severity),
        driving_signal=row.driving_signal,
        signals=tuple(signal_from_json(s) for s in document["signals"]),
        skipped_signals=dict(document["skipped"]),
        reference_count=row.reference_count,
        current_count=row.current_count,
        reference_start=_utc(row.reference_start),
        reference_end=_utc(row.reference_end),
        current_start=_utc(row.current_start),
        current_end=_utc(row.current_end),
        computed_at=_utc(row.computed_at),
        duration_s=row.duration_s,
        model_version=row.model_version,
        # Reports stored before the split by model version compared every version together.
        parameters=DriftParameters(**{"min_rows_per_version": None, **document["parameters"]}),
        id=row.id,
        dagster_run_id=row.dagster_run_id,
        performance=(
            DayEstimate.from_json(document["performance"]) if document.get("performance") else None
        ),
        realised=(
            RealisedScores.from_json(document["realised"]) if document.get("realised") else None
        ),
        comparison=(
            Comparison.from_json(document["comparison"]) if document.get("comparison") else None
        ),
    )


def _one(engine: Engine, condition: ColumnElement[bool]) -> Row[Any] | None:
    with engine.connect() as conn:
        return conn.execute(select(drift_reports).where(condition)).one_or_none()


def get_report(engine: Engine, report_date: date) -> DriftReport | None:
    """The stored report of one date, or None."""
    row = _one(engine, drift_reports.c.report_date == report_date)
    return None if row is None else _from_row(row)


def latest_reports(
    engine: Engine, limit: int = 30, *, severity: Severity | None = None
) -> list[DriftReport]:
    """The ``limit`` most recent reports (only those of ``severity`` if given), newest first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = select(drift_reports).order_by(drift_reports.c.report_date.desc()).limit(limit)
    if severity is not None:
        query = query.where(drift_reports.c.severity == Severity(severity).value)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_from_row(row) for row in rows]


def newest_report(engine: Engine) -> DriftReport | None:
    """The report of the most recent date, or None when there is none."""
    reports = latest_reports(engine, 1)
    return reports[0] if reports else None


# --- summaries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSummary:
    """A stored report's columns, and its per-signal results as stored (by signal name)."""

    id: int
    report_date: date
    computed_at: datetime
    status: ReportStatus
    severity: Severity
    driving_signal: str | None
    reference_count: int
    current_count: int
    current_start: datetime
    current_end: datetime
    model_version: int | None
    signals: Mapping[str, Mapping[str, Any]]

    @property
    def current_days(self) -> int:
        """Local days in the current window (rounded: a daylight-saving change moves an hour)."""
        return round((self.current_end - self.current_start) / timedelta(days=1))


def _summary(row: Any) -> ReportSummary:
    return ReportSummary(
        id=int(row.id),
        report_date=row.report_date,
        computed_at=_utc(row.computed_at),
        status=cast(ReportStatus, row.status),
        severity=Severity(row.severity),
        driving_signal=row.driving_signal,
        reference_count=int(row.reference_count),
        current_count=int(row.current_count),
        current_start=_utc(row.current_start),
        current_end=_utc(row.current_end),
        model_version=row.model_version,
        signals=signal_results(row.signals),
    )


def report_summary(engine: Engine, report_date: date) -> ReportSummary | None:
    """The summary of the stored report of one date, or None."""
    row = _one(engine, drift_reports.c.report_date == report_date)
    return None if row is None else _summary(row)


def report_summary_by_id(engine: Engine, report_id: int) -> ReportSummary | None:
    """The summary of the stored report with that id, or None."""
    row = _one(engine, drift_reports.c.id == report_id)
    return None if row is None else _summary(row)


@dataclass(frozen=True)
class CriticalReports:
    """The CRITICAL reports computed in a period, and where the period ended."""

    #: Oldest ``computed_at`` first.
    reports: list[ReportSummary]
    #: The newest ``computed_at`` of any report when they were read (None: no report at all):
    #: the next period starts after it.
    seen_until: datetime | None


def critical_reports_since(engine: Engine, since: datetime | None) -> CriticalReports:
    """The CRITICAL reports computed after ``since`` (all when None), up to the newest report.

    The newest ``computed_at`` is read first and bounds the query, so a report stored between
    the two statements is left for the next period instead of being skipped.
    """
    computed_at = drift_reports.c.computed_at
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(computed_at))).scalar()
        if newest is None:
            return CriticalReports(reports=[], seen_until=None)
        query = (
            select(drift_reports)
            .where(drift_reports.c.severity == Severity.CRITICAL.value, computed_at <= newest)
            .order_by(computed_at)
        )
        if since is not None:
            query = query.where(computed_at > since)
        rows = conn.execute(query).all()
    return CriticalReports(reports=[_summary(row) for row in rows], seen_until=_utc(newest))
