"""The daily drift report: the current window of logged predictions against its reference.

Per signal PSI, KS or Chi² and JS (:mod:`~rakuten_assets.drift.stats`); a signal's severity needs
magnitude (PSI) and significance (its test); the report's is the worst signal's. Below
``min_samples`` rows in either window: status ``insufficient_data``. The model-dependent signals
compare the current window's main model version with itself when both windows have enough of
its rows (:class:`Comparison`). Why, and how the counts come from daily rollups in the
database: docs/drift.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine

from rakuten_assets.drift.performance import DayEstimate, estimate_day
from rakuten_assets.drift.rollups import (
    CLASS_SIGNAL,
    MODEL_DEPENDENT_SIGNALS,
    NUMERIC_SIGNAL_NAMES,
    WindowCounts,
    log_counts,
    refresh_rollups,
    rollup_counts,
)
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.stats import (
    BINNINGS,
    Binning,
    SignalResult,
    compare_categorical,
    compare_numeric,
)
from rakuten_assets.drift.windows import (
    ReportWindows,
    check_days,
    day_bounds,
    report_days,
    report_windows,
)
from rakuten_assets.feedback import RealisedScores, realised_scores

if TYPE_CHECKING:
    from rakuten_assets.settings import Settings

ReportStatus = Literal["ok", "insufficient_data"]
STATUS_OK: ReportStatus = "ok"
STATUS_INSUFFICIENT_DATA: ReportStatus = "insufficient_data"


@dataclass(frozen=True)
class DriftParameters:
    """How a report is computed (stored with it, so old reports stay interpretable).

    No defaults here: the values come from the settings (:meth:`from_settings`), or from the
    stored report they were computed with.
    """

    current_days: int
    reference_days: int
    min_samples: int
    timezone: str
    bins: int
    binning: Binning
    #: Fewest rows of the current window's main model version in each window for the
    #: model-dependent signals to compare that version with itself (never fewer than
    #: ``min_samples``). None: every version together (reports stored before the split).
    min_rows_per_version: int | None

    def __post_init__(self) -> None:
        check_days(self.current_days, self.reference_days)
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, got {self.min_samples}")
        if self.min_rows_per_version is not None and self.min_rows_per_version < 1:
            raise ValueError(
                f"min_rows_per_version must be at least 1, got {self.min_rows_per_version}"
            )
        if self.bins < 1:
            raise ValueError(f"bins must be at least 1, got {self.bins}")
        if self.binning not in BINNINGS:
            raise ValueError(
                f"unknown binning {self.binning!r}; expected one of {', '.join(BINNINGS)}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftParameters:
        """The parameters the settings give (DRIFT_*, PIPELINE_TIMEZONE)."""
        return cls(
            current_days=settings.drift_current_days,
            reference_days=settings.drift_reference_days,
            min_samples=settings.drift_min_samples,
            timezone=settings.pipeline_timezone,
            bins=settings.drift_bins,
            binning=settings.drift_binning,
            min_rows_per_version=settings.drift_min_rows_per_version,
        )

    def windows(self, report_date: date) -> ReportWindows:
        return report_windows(
            report_date,
            current_days=self.current_days,
            reference_days=self.reference_days,
            timezone=self.timezone,
        )

    def days(self, report_date: date) -> list[date]:
        """The local days of both windows, oldest first (the rollups a report reads)."""
        return report_days(
            report_date, current_days=self.current_days, reference_days=self.reference_days
        )


ComparisonMode = Literal["same_version", "all_versions"]
SAME_VERSION: ComparisonMode = "same_version"
ALL_VERSIONS: ComparisonMode = "all_versions"


@dataclass(frozen=True)
class Comparison:
    """Which rows the model-dependent signals compared (input-only signals use every row).

    ``same_version``: the rows of ``model_version`` in both windows; ``all_versions``: every
    row, ``reason`` saying why the version could not be compared with itself.
    """

    mode: ComparisonMode
    model_version: int | None = None
    reason: str | None = None
    #: Rows of ``model_version`` in each window (None when no version served the window).
    reference_rows: int | None = None
    current_rows: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Comparison:
        return cls(**document)


def _too_few_rows(
    parameters: DriftParameters, version: int, reference_rows: int, current_rows: int
) -> str | None:
    """Why ``version`` cannot be compared with itself, or None when it can."""
    if parameters.min_rows_per_version is None:
        return "split by model version disabled"
    minimum = max(parameters.min_rows_per_version, parameters.min_samples)
    too_few = [
        f"{count} rows in the {window} window"
        for window, count in (("reference", reference_rows), ("current", current_rows))
        if count < minimum
    ]
    if not too_few:
        return None
    return f"model version {version} has {' and '.join(too_few)} (minimum {minimum})"


def choose_comparison(
    parameters: DriftParameters, reference: WindowCounts, current: WindowCounts
) -> Comparison:
    """Same version when the current window's main version (most rows, ties: newest) has at
    least ``min_rows_per_version`` (and ``min_samples``) rows in both windows, or served both
    windows alone; else all rows."""
    main = max(current.model_versions.items(), key=lambda item: (item[1], item[0]), default=None)
    if main is None:
        return Comparison(ALL_VERSIONS, reason="no predictions in the current window")
    version, current_rows = main
    reference_rows = reference.model_versions.get(version, 0)
    alone = set(reference.model_versions) | set(current.model_versions) == {version}
    reason = None if alone else _too_few_rows(parameters, version, reference_rows, current_rows)
    return Comparison(
        ALL_VERSIONS if reason else SAME_VERSION,
        model_version=version,
        reason=reason,
        reference_rows=reference_rows,
        current_rows=current_rows,
    )


@dataclass(frozen=True)
class DriftReport:
    """One drift report: what ``drift_reports`` stores, with the per-signal results parsed."""

    report_date: date
    status: ReportStatus
    severity: Severity
    #: The signal that set the severity (None when no signal was computed).
    driving_signal: str | None
    #: Computed signals, in :data:`~rakuten_assets.drift.rollups.SIGNAL_NAMES` order.
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
    parameters: DriftParameters
    #: Set when read back from storage (:mod:`~rakuten_assets.drift.storage`).
    id: int | None = None
    dagster_run_id: str | None = None
    #: The label-free performance estimate (CBPE) of the report date's own predictions; None
    #: below ``min_samples`` of them (:mod:`~rakuten_assets.drift.performance`).
    performance: DayEstimate | None = None
    #: The realised scores of the report date's predictions that got a label by the time the
    #: report was computed (:mod:`~rakuten_assets.feedback`); None without any label.
    realised: RealisedScores | None = None
    #: The rows the model-dependent signals compared; None for reports stored before the split.
    comparison: Comparison | None = None

    def signal(self, name: str) -> SignalResult:
        """The result of one signal; KeyError (listing what exists) when it was not computed."""
        for result in self.signals:
            if result.name == name:
                return result
        reason = self.skipped_signals.get(name, f"status is {self.status}")
        raise KeyError(f"signal {name!r} not in report {self.report_date} ({reason})")


def _numeric_signals(
    parameters: DriftParameters,
    reference: WindowCounts,
    current: WindowCounts,
    comparison: Comparison,
) -> tuple[list[SignalResult], dict[str, str]]:
    """The numeric signals' results, and the reasons of those skipped for lack of values."""
    results: list[SignalResult] = []
    skipped: dict[str, str] = {}
    minimum = parameters.min_samples
    for name in NUMERIC_SIGNAL_NAMES:
        version = _version_of(name, comparison)
        ref, cur = reference.numeric(name, version), current.numeric(name, version)
        if ref is None or cur is None or min(ref.n, cur.n) < minimum:
            too_few = [
                f"{0 if sample is None else sample.n} rows with a value in the {window} window"
                for window, sample in (("reference", ref), ("current", cur))
                if sample is None or sample.n < minimum
            ]
            skipped[name] = f"{' and '.join(too_few)} (minimum {minimum})"
            continue
        results.append(
            compare_numeric(name, ref, cur, bins=parameters.bins, binning=parameters.binning)
        )
    return results, skipped


def _version_of(signal: str, comparison: Comparison) -> int | None:
    """The model version whose rows ``signal`` compares (None: every row)."""
    if comparison.mode == SAME_VERSION and signal in MODEL_DEPENDENT_SIGNALS:
        return comparison.model_version
    return None


def driving(signals: Sequence[SignalResult]) -> SignalResult | None:
    """The signal that sets a report's severity: the worst, ties broken by the higher PSI."""
    return max(signals, key=lambda s: (s.severity.rank, s.psi), default=None)


def _report(
    report_date: date,
    parameters: DriftParameters,
    windows: ReportWindows,
    reference: WindowCounts,
    current: WindowCounts,
    started: float,
    engine: Engine,
) -> DriftReport:
    signals: list[SignalResult] = []
    skipped: dict[str, str] = {}
    minimum = parameters.min_samples
    enough = reference.total >= minimum and current.total >= minimum
    comparison = choose_comparison(parameters, reference, current)
    if enough:
        signals, skipped = _numeric_signals(parameters, reference, current, comparison)
        version = _version_of(CLASS_SIGNAL, comparison)
        signals.append(
            compare_categorical(CLASS_SIGNAL, reference.classes(version), current.classes(version))
        )
    # Model health next to drift: both read the report date's own predictions.
    performance = estimate_day(engine, report_date, parameters.timezone, minimum)
    realised = realised_scores(engine, *day_bounds(report_date, parameters.timezone))
    worst = driving(signals)
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
        model_version=comparison.model_version,
        parameters=parameters,
        performance=performance,
        realised=realised,
        comparison=comparison,
    )


def compute_report(engine: Engine, report_date: date, parameters: DriftParameters) -> DriftReport:
    """Compare the current window of ``prediction_log`` with its reference.

    The report itself is not stored (:func:`~rakuten_assets.drift.storage.store_report` does
    that), but the daily rollups of the windows' days are refreshed first
    (:func:`~rakuten_assets.drift.rollups.refresh_rollups`): this writes to the database.
    """
    started = time.perf_counter()
    windows = parameters.windows(report_date)
    days = parameters.days(report_date)
    refresh_rollups(engine, days, parameters.timezone)
    reference, current = rollup_counts(
        engine, parameters.timezone, days, days[parameters.reference_days]
    )
    return _report(report_date, parameters, windows, reference, current, started, engine)


def compute_report_from_log(
    engine: Engine, report_date: date, parameters: DriftParameters
) -> DriftReport:
    """:func:`compute_report` straight from every ``prediction_log`` row of both windows.

    Same report, bit for bit, but it reads every row (4 GROUP BYs per window) and writes
    nothing. Kept as the reference the rollups are tested and benchmarked against.
    """
    started = time.perf_counter()
    windows = parameters.windows(report_date)
    reference, current = log_counts(engine, windows)
    return _report(report_date, parameters, windows, reference, current, started, engine)
