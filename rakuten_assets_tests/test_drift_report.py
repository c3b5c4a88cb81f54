"""Drift reports over a real prediction log, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import Engine

from rakuten_assets.categories import category_label
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.drift.report import (
    STATUS_INSUFFICIENT_DATA,
    STATUS_OK,
    DriftParameters,
    compute_report,
    driving,
)
from rakuten_assets.drift.rollups import CLASS_SIGNAL, SIGNAL_NAMES
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.stats import compare_categorical, compare_numeric
from rakuten_assets.drift.storage import get_report, store_report
from rakuten_assets.predictions import (
    PredictionRecord,
    RankedClass,
    insert_records,
    prediction_record,
)
from rakuten_assets.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 11, 25)
_ids = itertools.count()

#: The parameters of the default settings, whatever the environment says: 7 current days, 30
#: reference days, 100 rows at least, Europe/Paris, 10 equal-width bins.
PARAMETERS = DriftParameters.from_settings(Settings.model_construct())


def parameters(**changes: Any) -> DriftParameters:
    """:data:`PARAMETERS` with ``changes``."""
    return dataclasses.replace(PARAMETERS, **changes)


def paris(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def record(
    at: datetime,
    *,
    length: int = 40,
    words: int = 1,
    confidence: float = 0.8,
    code: int = 1280,
    unknown: float | None = 0.1,
    version: int = 3,
) -> PredictionRecord:
    """A ``prediction_log`` record built by the API's own code, stamped in UTC as the API does."""
    # ``words`` words, ``length`` characters in all (word_count is len(str.split())).
    size = (length - words + 1) // words
    designation = " ".join(["x" * size] * words)
    designation += "y" * (length - len(designation))
    return prediction_record(
        prediction_id=f"p-{next(_ids)}",
        predicted_at=at.astimezone(UTC),
        model_version=version,
        designation=designation,
        description=None,
        ranked=[RankedClass(code, category_label(code), confidence)],
        latency_ms=1.0,
        unknown_token_share=unknown,
    )


def log(
    engine: Engine, at: datetime | Iterable[datetime], *, count: int = 1, **fields: Any
) -> None:
    """Log ``count`` predictions per timestamp."""
    stamps = [at] if isinstance(at, datetime) else list(at)
    insert_records(engine, [record(stamp, **fields) for stamp in stamps for _ in range(count)])


def spread(start: date, days: int, per_day: int) -> list[datetime]:
    """``per_day`` timestamps on each of ``days`` days from ``start`` (local time)."""
    return [
        paris(start + timedelta(days=d)) + timedelta(minutes=int(m))
        for d in range(days)
        for m in np.linspace(1, 1_438, per_day)
    ]


def test_window_boundaries_are_half_open(engine: Engine) -> None:
    current_start_day = DAY - timedelta(days=6)
    reference_start_day = current_start_day - timedelta(days=30)
    tick = timedelta(microseconds=1)
    log(engine, paris(DAY + timedelta(days=1)), count=3)  # D+1 00:00: after the current window
    log(engine, paris(DAY + timedelta(days=1)) - tick, count=2)  # last instant of D: current
    log(engine, paris(current_start_day), count=5)  # D-6 00:00: current
    log(engine, paris(current_start_day) - tick, count=7)  # just before: reference
    log(engine, paris(reference_start_day), count=11)  # D-36 00:00: reference
    log(engine, paris(reference_start_day) - tick, count=13)  # just before: neither
    report = compute_report(engine, DAY, parameters(min_samples=1))
    assert (report.current_count, report.reference_count) == (2 + 5, 7 + 11)
    assert report.status == STATUS_OK


# --- status and severity ----------------------------------------------------------------------


def test_below_min_samples_the_report_is_insufficient_data_not_an_error(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=20), days=10, per_day=20))  # 200 reference rows
    log(engine, spread(DAY - timedelta(days=2), days=3, per_day=20), code=10)  # 60 current rows
    report = compute_report(engine, DAY, PARAMETERS)
    assert report.status == STATUS_INSUFFICIENT_DATA
    assert report.severity is Severity.OK
    assert (report.signals, report.driving_signal) == ((), None)
    assert (report.current_count, report.reference_count) == (60, 200)
    report_id = store_report(engine, report)
    stored = get_report(engine, DAY)
    assert stored is not None
    assert stored.status == STATUS_INSUFFICIENT_DATA
    assert stored.id == report_id


def test_an_empty_log_gives_an_insufficient_data_report(engine: Engine) -> None:
    report = compute_report(engine, DAY, PARAMETERS)
    assert (report.status, report.current_count, report.model_version) == (
        STATUS_INSUFFICIENT_DATA,
        0,
        None,
    )


def test_identical_windows_are_ok(engine: Engine) -> None:
    for length, code, conf in [(30, 10, 0.9), (80, 40, 0.6), (200, 2583, 0.75)]:
        log(
            engine,
            spread(DAY - timedelta(days=36), 37, 10),
            length=length,
            code=code,
            confidence=conf,
        )
    report = compute_report(engine, DAY, PARAMETERS)
    assert report.status == STATUS_OK
    assert [s.name for s in report.signals] == list(SIGNAL_NAMES)
    assert report.severity is Severity.OK
    assert all(s.psi < 0.1 and not s.flagged for s in report.signals)
    assert report.driving_signal in SIGNAL_NAMES  # the closest to drifting, even when OK


def test_a_new_class_in_the_current_window_is_critical(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10), code=1280)
    log(engine, spread(DAY - timedelta(days=36), 30, 10), code=10)
    log(engine, spread(DAY - timedelta(days=6), 7, 20), code=1280)
    log(engine, spread(DAY - timedelta(days=6), 7, 20), code=2905)  # never seen before
    report = compute_report(engine, DAY, PARAMETERS)
    classes = report.signal(CLASS_SIGNAL)
    assert classes.categories == (10, 1280, 2905)
    assert classes.reference_share[2] == 0.0
    assert classes.flagged
    assert classes.severity is Severity.CRITICAL
    assert (report.severity, report.driving_signal) == (Severity.CRITICAL, CLASS_SIGNAL)


def test_a_psi_the_test_does_not_confirm_is_capped_at_warning(engine: Engine) -> None:
    # 20 rows per window: text length 50/50 -> 20/80 between 10 and 20 characters (PSI 0.42,
    # CRITICAL by PSI alone) that KS on 20 vs 20 rows does not confirm. The rest is identical.
    reference = spread(DAY - timedelta(days=30), 20, 1)
    current = spread(DAY - timedelta(days=5), 5, 4)
    log(engine, reference[:10], length=10)
    log(engine, reference[10:], length=20)
    log(engine, current[:4], length=10)
    log(engine, current[4:], length=20)
    report = compute_report(engine, DAY, parameters(min_samples=20))
    text_length = report.signal("text_length")
    assert text_length.psi_severity is Severity.CRITICAL
    assert not text_length.flagged
    assert text_length.severity is Severity.WARNING
    assert (report.severity, report.driving_signal) == (Severity.WARNING, "text_length")


def test_null_unknown_token_shares_are_left_out_of_that_signal_only(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10), unknown=None)  # before migration 0003
    log(engine, spread(DAY - timedelta(days=36), 30, 10), unknown=0.2)
    log(engine, spread(DAY - timedelta(days=6), 7, 30), unknown=0.2)
    report = compute_report(engine, DAY, PARAMETERS)
    assert report.reference_count == 600
    assert report.signal("unknown_token_share").reference_count == 300
    assert report.signal("text_length").reference_count == 600


def test_a_signal_without_enough_values_is_skipped_with_the_reason(engine: Engine) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10), unknown=None)
    log(engine, spread(DAY - timedelta(days=6), 7, 30), unknown=0.2)
    report = compute_report(engine, DAY, PARAMETERS)
    assert report.status == STATUS_OK
    assert "unknown_token_share" not in [s.name for s in report.signals]
    assert report.skipped_signals == {
        "unknown_token_share": "0 rows with a value in the reference window (minimum 100)"
    }
    with pytest.raises(KeyError, match="0 rows with a value"):
        report.signal("unknown_token_share")


def test_the_model_version_is_the_one_that_served_most_of_the_current_window(
    engine: Engine,
) -> None:
    log(engine, spread(DAY - timedelta(days=36), 30, 10), version=1)
    log(engine, spread(DAY - timedelta(days=6), 7, 10), version=1)
    log(engine, spread(DAY - timedelta(days=3), 4, 20), version=2)
    assert compute_report(engine, DAY, PARAMETERS).model_version == 2


def test_invalid_parameters_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="min_samples"):
        compute_report(engine, DAY, parameters(min_samples=0))
    with pytest.raises(ValueError, match="unknown binning"):
        compute_report(engine, DAY, parameters(binning="fancy"))


# --- the database aggregation gives the numbers of the statistics on the raw rows -------------


def _traffic(seed: int, n: int, start: datetime, days: int) -> list[dict[str, Any]]:
    """``n`` rows of varied values over ``days`` days (keyword arguments of :func:`record`)."""
    rng = np.random.default_rng(seed)
    confidence = rng.beta(5, 2, n)
    # Three or four decimals (the API rounds to four), so many sit exactly on 0.001 buckets.
    confidence = np.where(rng.random(n) < 0.5, np.round(confidence, 3), np.round(confidence, 4))
    unknown = np.round(rng.beta(1.5, 10, n), 4)
    return [
        {
            "at": start + timedelta(seconds=float(seconds)),
            "length": int(length),
            "words": int(words),
            "confidence": float(conf),
            "code": int(code),
            "unknown": None if missing else float(share),
        }
        for seconds, length, words, conf, code, share, missing in zip(
            rng.uniform(0, days * 86_400, n),
            rng.integers(20, 400, n),
            rng.integers(1, 8, n),
            confidence,
            rng.choice([10, 40, 1280, 2583], n, p=[0.1, 0.2, 0.3, 0.4]),
            unknown,
            rng.random(n) < 0.05,
            strict=True,
        )
    ]


def test_sqlite_and_postgresql_give_the_same_numbers_as_the_raw_statistics(
    tmp_path: Path, pg_url: str
) -> None:
    windows = PARAMETERS.windows(DAY)
    reference = _traffic(1, 1_500, windows.reference_start, 30)
    current = _traffic(2, 600, windows.current_start, 7)
    for row in current:  # a drift: longer texts, lower confidence
        row["length"] += 60
        row["confidence"] = round(row["confidence"] * 0.9, 4)
    reports = {}
    for name, url in [("sqlite", f"sqlite:///{tmp_path / 'drift.db'}"), ("postgresql", pg_url)]:
        engine = get_engine(url)
        upgrade_schema(engine)
        insert_records(engine, [record(**row) for row in reference + current])
        reports[name] = compute_report(engine, DAY, parameters(binning="quantile"))
        engine.dispose()
    assert reports["sqlite"].signals == reports["postgresql"].signals

    def column(rows: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.array([r[key] for r in rows if r[key] is not None], dtype=float)

    expected = [
        compare_numeric(
            name, column(reference, key), column(current, key), bins=10, binning="quantile"
        )
        for name, key in [("text_length", "length"), ("word_count", "words")]
    ]
    for name, key in [("confidence", "confidence"), ("unknown_token_share", "unknown")]:
        # The database counts each value at its 0.001 floor.
        ref, cur = (np.floor(column(rows, key) * 1000) / 1000 for rows in (reference, current))
        expected.append(compare_numeric(name, ref, cur, bins=10, binning="quantile"))
    reference_classes, current_classes = (
        {
            int(code): int(n)
            for code, n in zip(*np.unique(column(rows, "code"), return_counts=True), strict=True)
        }
        for rows in (reference, current)
    )
    expected.append(compare_categorical(CLASS_SIGNAL, reference_classes, current_classes))
    assert reports["postgresql"].signals == tuple(expected)
    assert reports["postgresql"].signal("text_length").flagged


def test_the_driving_signal_is_the_worst_then_the_highest_psi() -> None:
    small = compare_numeric(
        "text_length",
        [10.0] * 10 + [20.0] * 10,
        [10.0] * 2 + [20.0] * 18,
        bins=10,
        binning="equal_width",
    )
    assert (small.severity, small.psi > 0.5) == (Severity.WARNING, True)  # capped, PSI 0.9
    confirmed = compare_categorical("predicted_class", {10: 600, 40: 400}, {10: 370, 40: 630})
    assert confirmed.severity is Severity.ALERT  # PSI 0.2-0.3 with Chi² p < 0.05
    assert driving([small, confirmed]) is confirmed  # severity first, whatever the PSI
    mild = compare_categorical("predicted_class", {10: 500, 40: 500}, {10: 500, 40: 500})
    assert driving([mild, small]) is small
    assert driving([]) is None
