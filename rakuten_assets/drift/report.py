"""The daily drift report: the last days of logged predictions against the days before them.

**Windows.** For report date D in ``timezone`` (Europe/Paris): current = the ``current_days``
(7) days ending with D, i.e. [D-6 00:00, D+1 00:00) local time; reference = the
``reference_days`` (30) days before it, [D-36 00:00, D-6 00:00). Both half-open, so a row at
midnight belongs to exactly one day, and converted to UTC before querying (local midnights keep
a "day" a day across daylight-saving changes).

**Signals.** ``text_length``, ``word_count``, ``confidence``, ``unknown_token_share`` (numeric:
PSI, KS, JS) and ``predicted_class`` (categorical: PSI over class proportions, Chi², JS); see
:mod:`rakuten_assets.drift.stats`. Rows whose ``unknown_token_share`` is NULL (logged before the
column existed, or by a model without a word vocabulary) are left out of that signal only; if
too few remain, the signal is skipped with the reason, not the report.

**Severity.** A signal's severity is the severity of its PSI when its test (KS or Chi²)
confirms the drift at p < 0.05, and at most WARNING when it does not: PSI alone on small samples
is noise, a test alone on a million rows flags trivial shifts, so an ALERT needs magnitude *and*
significance. The report's severity is the worst signal's; ``driving_signal`` names that signal
(ties: the higher PSI). It is set whenever signals were computed, also when all are OK (then it
is the signal closest to drifting). Below ``min_samples`` rows in either window the report has
status ``insufficient_data``, severity OK and no signals, and is stored all the same.

**Aggregation in the database.** No row is fetched: per window, the class counts come from a
GROUP BY on the class (and model version); the integer signals from a GROUP BY on their value;
the float signals (``confidence``, ``unknown_token_share``, both in [0, 1]) from a GROUP BY on the bucket ``floor(value * 1000)``,
i.e. each value counts as its 0.001 floor (resolution 0.001: far below any bin width PSI uses,
it bounds the groups to 1,001 per window, and it moves PSI by less than 0.001 at 1M rows). The
floor is exact on both databases, so both give identical numbers (see :func:`bucket`; a plain
CAST to integer would not: PostgreSQL rounds where SQLite truncates). The statistics then work
on (value, count) pairs (:class:`~rakuten_assets.drift.stats.ValueCounts`), never on every row.
Four queries per window: classes (with model versions), text length with word count, and one
per float signal. Measured at 1M rows, wider GROUP BYs (SQLite has no hash aggregation: it sorts
every row, so wider keys cost more), one query over both windows and GROUPING SETS on PostgreSQL
were all slower. SQLite's sort is most of a report's time there (see ``bench/drift.py``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rakuten_assets.db import drift_reports, prediction_log
from rakuten_assets.drift.stats import (
    BINNINGS,
    DEFAULT_BINS,
    Binning,
    Severity,
    SignalResult,
    ValueCounts,
    compare_categorical,
    compare_numeric,
)

ReportStatus = Literal["ok", "insufficient_data"]
STATUS_OK: ReportStatus = "ok"
STATUS_INSUFFICIENT_DATA: ReportStatus = "insufficient_data"

DEFAULT_CURRENT_DAYS = 7
DEFAULT_REFERENCE_DAYS = 30
DEFAULT_MIN_SAMPLES = 100
DEFAULT_TIMEZONE = "Europe/Paris"
#: Float signals are grouped by ``floor(value * FLOAT_BUCKETS)``: a resolution of 0.001.
FLOAT_BUCKETS = 1000
#: Version of the document stored in ``drift_reports.signals``.
DOCUMENT_VERSION = 1

CLASS_SIGNAL = "predicted_class"


@dataclass(frozen=True)
class _NumericSignal:
    name: str
    column: ColumnElement[Any]
    #: Float column grouped by 0.001 bucket (else: an integer column grouped by value).
    bucketed: bool


_TEXT_LENGTH = _NumericSignal("text_length", prediction_log.c.text_length, bucketed=False)
_WORD_COUNT = _NumericSignal("word_count", prediction_log.c.word_count, bucketed=False)
_CONFIDENCE = _NumericSignal("confidence", prediction_log.c.confidence, bucketed=True)
_UNKNOWN = _NumericSignal(
    "unknown_token_share", prediction_log.c.unknown_token_share, bucketed=True
)
_NUMERIC_SIGNALS = (_TEXT_LENGTH, _WORD_COUNT, _CONFIDENCE, _UNKNOWN)
#: Signals read by one GROUP BY per window. Text length and word count share theirs (about
#: 20k distinct pairs; 30 % cheaper on SQLite than two queries); pairing others would return
#: nearly a row per prediction.
_NUMERIC_QUERIES = ((_TEXT_LENGTH, _WORD_COUNT), (_CONFIDENCE,), (_UNKNOWN,))
#: Every signal of a report, in report order.
SIGNAL_NAMES: tuple[str, ...] = (*(s.name for s in _NUMERIC_SIGNALS), CLASS_SIGNAL)


@dataclass(frozen=True)
class ReportWindows:
    """The two half-open windows of a report date, in UTC."""

    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime


def report_windows(
    report_date: date,
    *,
    current_days: int = DEFAULT_CURRENT_DAYS,
    reference_days: int = DEFAULT_REFERENCE_DAYS,
    timezone: str = DEFAULT_TIMEZONE,
) -> ReportWindows:
    """Current = ``current_days`` local days ending with ``report_date``; reference before it."""
    if isinstance(report_date, datetime):
        raise TypeError(
            f"report_date must be a date, not the datetime {report_date!r}: the windows are "
            "whole local days; pass report_date.date() (in the report's timezone)"
        )
    if current_days < 1 or reference_days < 1:
        raise ValueError(
            f"windows need at least one day each, got current_days={current_days}, "
            f"reference_days={reference_days}"
        )
    zone = ZoneInfo(timezone)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, clock(0), tzinfo=zone).astimezone(UTC)

    current_start_day = report_date - timedelta(days=current_days - 1)
    return ReportWindows(
        reference_start=midnight(current_start_day - timedelta(days=reference_days)),
        reference_end=midnight(current_start_day),
        current_start=midnight(current_start_day),
        current_end=midnight(report_date + timedelta(days=1)),
    )


@dataclass(frozen=True)
class DriftParameters:
    """How a report was computed (stored with it, so old reports stay interpretable)."""

    current_days: int = DEFAULT_CURRENT_DAYS
    reference_days: int = DEFAULT_REFERENCE_DAYS
    min_samples: int = DEFAULT_MIN_SAMPLES
    timezone: str = DEFAULT_TIMEZONE
    bins: int = DEFAULT_BINS
    binning: Binning = "equal_width"


@dataclass(frozen=True)
class DriftReport:
    """One drift report: what ``drift_reports`` stores, with the per-signal results parsed."""

    report_date: date
    status: ReportStatus
    severity: Severity
    #: The signal that set the severity (None when no signal was computed).
    driving_signal: str | None
    #: Computed signals, in :data:`SIGNAL_NAMES` order.
    signals: tuple[SignalResult, ...]
    #: Signals that could not be computed, with the reason (e.g. too few non-NULL values).
    skipped_signals: Mapping[str, str]
    reference_count: int
    current_count: int
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime
    computed_at: datetime
    duration_s: float
    #: The model version that served most predictions of the current window (ties: newest).
    model_version: int | None
    parameters: DriftParameters = field(default_factory=DriftParameters)
    #: Set once stored (:func:`store_report`) or when read back.
    id: int | None = None
    dagster_run_id: str | None = None

    def signal(self, name: str) -> SignalResult:
        """The result of one signal; KeyError (listing what exists) when it was not computed."""
        for result in self.signals:
            if result.name == name:
                return result
        reason = self.skipped_signals.get(name, f"status is {self.status}")
        raise KeyError(f"signal {name!r} not in report {self.report_date} ({reason})")

    def signals_document(self) -> dict[str, Any]:
        """The JSON document stored in ``drift_reports.signals``."""
        return {
            "version": DOCUMENT_VERSION,
            "parameters": asdict(self.parameters),
            "signals": [_signal_to_json(s) for s in self.signals],
            "skipped": dict(self.skipped_signals),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole report (for the API and the UI)."""
        return {
            "id": self.id,
            "report_date": self.report_date.isoformat(),
            "status": self.status,
            "severity": str(self.severity),
            "driving_signal": self.driving_signal,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "reference_start": self.reference_start.isoformat(),
            "reference_end": self.reference_end.isoformat(),
            "current_start": self.current_start.isoformat(),
            "current_end": self.current_end.isoformat(),
            "computed_at": self.computed_at.isoformat(),
            "duration_s": self.duration_s,
            "model_version": self.model_version,
            "dagster_run_id": self.dagster_run_id,
            **self.signals_document(),
        }


# --- computing --------------------------------------------------------------------------------


def bucket(expression: ColumnElement[float], dialect: str) -> ColumnElement[Any]:
    """``floor(expression)``, exact on both databases (for the 0.001 buckets of float signals).

    PostgreSQL's ``floor``; on SQLite ``CAST(x AS INTEGER)`` (which truncates towards zero) minus
    one where that rounded up, i.e. for negative non-integers. It needs no math-function build
    of SQLite, and costs half of SQLite's own ``floor()`` per row (measured at 1M rows).
    """
    if dialect == "sqlite":
        truncated = sa.cast(expression, sa.Integer)
        return truncated - sa.cast(expression < truncated, sa.Integer)
    return func.floor(expression)


def _in_window(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(prediction_log.c.predicted_at >= start, prediction_log.c.predicted_at < end)


@dataclass(frozen=True)
class _ClassCounts:
    classes: dict[int, int]
    model_versions: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.classes.values())


def _class_counts(conn: Connection, start: datetime, end: datetime) -> _ClassCounts:
    code, version = prediction_log.c.predicted_code, prediction_log.c.model_version
    stmt = select(code, version, func.count()).where(_in_window(start, end)).group_by(code, version)
    classes: dict[int, int] = {}
    versions: dict[int, int] = {}
    for predicted_code, model_version, count in conn.execute(stmt):
        classes[int(predicted_code)] = classes.get(int(predicted_code), 0) + int(count)
        versions[int(model_version)] = versions.get(int(model_version), 0) + int(count)
    return _ClassCounts(classes, versions)


def _values(
    conn: Connection, signals: Sequence[_NumericSignal], start: datetime, end: datetime
) -> dict[str, ValueCounts | None]:
    """Each signal's values in the window (floats at their 0.001 floor); None where empty.

    One GROUP BY over all ``signals`` together; each one's counts are its margin. Rows where
    any of them is NULL are left out.
    """
    dialect = conn.dialect.name
    keys = [
        (bucket(s.column * FLOAT_BUCKETS, dialect) if s.bucketed else s.column).label(s.name)
        for s in signals
    ]
    stmt = (
        select(*keys, func.count().label("n"))
        .where(_in_window(start, end), *(s.column.is_not(None) for s in signals))
        .group_by(*keys)
    )
    rows = np.array(conn.execute(stmt).all(), dtype=np.float64).reshape(-1, len(signals) + 1)
    counts = rows[:, -1]
    result: dict[str, ValueCounts | None] = {}
    for position, signal in enumerate(signals):
        if not rows.size:
            result[signal.name] = None
            continue
        values, inverse = np.unique(rows[:, position], return_inverse=True)
        margin = np.bincount(inverse, weights=counts).astype(np.int64)
        result[signal.name] = ValueCounts(
            values / FLOAT_BUCKETS if signal.bucketed else values, margin
        )
    return result


def _validate(min_samples: int, bins: int, binning: str) -> None:
    if min_samples < 1:
        raise ValueError(f"min_samples must be at least 1, got {min_samples}")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if binning not in BINNINGS:
        raise ValueError(f"unknown binning {binning!r}; expected one of {', '.join(BINNINGS)}")


def _numeric_signals(
    conn: Connection,
    parameters: DriftParameters,
    ref_window: tuple[datetime, datetime],
    cur_window: tuple[datetime, datetime],
) -> tuple[list[SignalResult], dict[str, str]]:
    """The numeric signals' results, and the reasons of those skipped for lack of values."""
    reference: dict[str, ValueCounts | None] = {}
    current: dict[str, ValueCounts | None] = {}
    for group in _NUMERIC_QUERIES:
        reference.update(_values(conn, group, *ref_window))
        current.update(_values(conn, group, *cur_window))
    results: list[SignalResult] = []
    skipped: dict[str, str] = {}
    minimum = parameters.min_samples
    for signal in _NUMERIC_SIGNALS:
        ref, cur = reference[signal.name], current[signal.name]
        if ref is None or cur is None or min(ref.n, cur.n) < minimum:
            too_few = [
                f"{0 if sample is None else sample.n} rows with a value in the {name} window"
                for name, sample in (("reference", ref), ("current", cur))
                if sample is None or sample.n < minimum
            ]
            skipped[signal.name] = f"{' and '.join(too_few)} (minimum {minimum})"
            continue
        results.append(
            compare_numeric(signal.name, ref, cur, bins=parameters.bins, binning=parameters.binning)
        )
    return results, skipped


def driving(signals: Sequence[SignalResult]) -> SignalResult | None:
    """The signal that sets a report's severity: the worst, ties broken by the higher PSI."""
    return max(signals, key=lambda s: (s.severity.rank, s.psi), default=None)


def compute_report(
    engine: Engine,
    report_date: date,
    *,
    current_days: int = DEFAULT_CURRENT_DAYS,
    reference_days: int = DEFAULT_REFERENCE_DAYS,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    timezone: str = DEFAULT_TIMEZONE,
    bins: int = DEFAULT_BINS,
    binning: Binning = "equal_width",
) -> DriftReport:
    """Compare the current window of ``prediction_log`` with its reference (nothing stored)."""
    started = time.perf_counter()
    _validate(min_samples, bins, binning)
    parameters = DriftParameters(current_days, reference_days, min_samples, timezone, bins, binning)
    windows = report_windows(
        report_date, current_days=current_days, reference_days=reference_days, timezone=timezone
    )
    ref_window = (windows.reference_start, windows.reference_end)
    cur_window = (windows.current_start, windows.current_end)
    signals: list[SignalResult] = []
    skipped: dict[str, str] = {}
    with engine.connect() as conn:
        reference = _class_counts(conn, *ref_window)
        current = _class_counts(conn, *cur_window)
        enough = reference.total >= min_samples and current.total >= min_samples
        if enough:
            signals, skipped = _numeric_signals(conn, parameters, ref_window, cur_window)
            signals.append(compare_categorical(CLASS_SIGNAL, reference.classes, current.classes))
    worst = driving(signals)
    model_version = max(
        current.model_versions.items(), key=lambda item: (item[1], item[0]), default=None
    )
    return DriftReport(
        report_date=report_date,
        status=STATUS_OK if enough else STATUS_INSUFFICIENT_DATA,
        severity=worst.severity if worst is not None else Severity.OK,
        driving_signal=worst.name if worst is not None else None,
        signals=tuple(signals),
        skipped_signals=skipped,
        reference_count=reference.total,
        current_count=current.total,
        reference_start=windows.reference_start,
        reference_end=windows.reference_end,
        current_start=windows.current_start,
        current_end=windows.current_end,
        computed_at=datetime.now(UTC),
        duration_s=time.perf_counter() - started,
        model_version=model_version[0] if model_version is not None else None,
        parameters=parameters,
    )


# --- storing and reading ----------------------------------------------------------------------


def _signal_to_json(result: SignalResult) -> dict[str, Any]:
    document = asdict(result)
    for key, value in document.items():
        if isinstance(value, tuple):
            document[key] = list(value)
    if result.edges is not None:
        # JSON has no infinity: the open outer edges of quantile bins are stored as null.
        document["edges"] = [e if math.isfinite(e) else None for e in result.edges]
    return document


def _signal_from_json(document: Mapping[str, Any]) -> SignalResult:
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


def store_report(engine: Engine, report: DriftReport, dagster_run_id: str | None = None) -> int:
    """Insert the report, or replace the one of the same date keeping its id; return the id.

    Keeping the id matters: alerts point at it.
    """
    document = report.signals_document()
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
        signals=tuple(_signal_from_json(s) for s in document["signals"]),
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
        parameters=DriftParameters(**document["parameters"]),
        id=row.id,
        dagster_run_id=row.dagster_run_id,
    )


def get_report(engine: Engine, report_date: date) -> DriftReport | None:
    """The stored report of one date, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(drift_reports).where(drift_reports.c.report_date == report_date)
        ).one_or_none()
    return None if row is None else _from_row(row)


def latest_reports(engine: Engine, limit: int = 30) -> list[DriftReport]:
    """The ``limit`` most recent reports, newest report date first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(drift_reports).order_by(drift_reports.c.report_date.desc()).limit(limit)
        ).all()
    return [_from_row(row) for row in rows]
