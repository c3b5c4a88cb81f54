"""Drift split by model version: a promotion is not drift, and a report says what it compared."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from rakuten_assets.db import drift_reports
from rakuten_assets.drift.report import (
    ALL_VERSIONS,
    SAME_VERSION,
    Comparison,
    compute_report,
    compute_report_from_log,
)
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.storage import get_report, report_to_dict, store_report
from rakuten_assets.predictions import PredictionRecord, insert_records
from rakuten_assets_tests.test_drift_report import DAY, parameters, record, spread
from rakuten_assets_tests.test_drift_rollups import assert_same_report

PER_DAY = 40
#: The same inputs every day, whichever model serves them: nothing but the model changes.
LENGTHS = np.linspace(20, 400, PER_DAY).astype(int)
#: What each model makes of them: version 2 is less sure, sees other classes and knows fewer
#: words (its vocabulary differs). Each version's outputs are the same every day.
OUTPUTS = {
    1: (np.linspace(0.70, 0.99, PER_DAY), [1280] * 24 + [2583] * 16, 0.05),
    2: (np.linspace(0.40, 0.80, PER_DAY), [1280] * 10 + [2583] * 20 + [10] * 10, 0.25),
}
SPLIT = parameters(min_rows_per_version=200)
UNSPLIT = parameters(min_rows_per_version=None)
MODEL_DEPENDENT = ("confidence", "predicted_class", "unknown_token_share")


def served(first: date, days: int, version: int) -> list[PredictionRecord]:
    """``PER_DAY`` predictions a day for ``days`` days from ``first``, all by ``version``."""
    confidences, codes, unknown = OUTPUTS[version]
    stamps = spread(first, days, PER_DAY)
    outputs = itertools.cycle(zip(LENGTHS, confidences, codes, strict=True))
    return [
        record(
            stamp,
            length=int(length),
            confidence=float(confidence),
            code=code,
            unknown=unknown,
            version=version,
        )
        for stamp, (length, confidence, code) in zip(stamps, outputs, strict=False)
    ]


def promoted(engine: Engine, days_before: int) -> None:
    """Version 1 served the 37 days of DAY's windows until version 2 took over
    ``days_before`` days before DAY (inclusive of that day)."""
    first = DAY - timedelta(days=36)
    promotion = DAY - timedelta(days=days_before)
    insert_records(engine, served(first, (promotion - first).days, 1))
    insert_records(engine, served(promotion, days_before + 1, 2))


@pytest.mark.parametrize(
    ("days_before", "compared"),
    [
        (1, 1),  # inside the current window: version 1 still served most of it
        (16, 2),  # inside the reference window: version 2 served all the current one
    ],
)
def test_a_promotion_without_input_change_is_not_drift(
    engine: Engine, days_before: int, compared: int
) -> None:
    promoted(engine, days_before)
    unsplit = compute_report(engine, DAY, UNSPLIT)
    split = compute_report(engine, DAY, SPLIT)

    # All versions together, the new model looks like drift of every model-dependent signal.
    assert unsplit.comparison is not None
    assert unsplit.comparison.mode == ALL_VERSIONS
    assert unsplit.comparison.reason == "split by model version disabled"
    assert unsplit.severity >= Severity.ALERT
    assert unsplit.driving_signal in MODEL_DEPENDENT
    assert all(unsplit.signal(name).flagged for name in MODEL_DEPENDENT)

    # Like with like: the same model on the same inputs has not drifted.
    assert split.comparison is not None
    assert split.comparison.mode == SAME_VERSION
    assert split.comparison.model_version == compared == split.model_version
    assert split.comparison.reason is None
    assert split.severity == Severity.OK
    for name in MODEL_DEPENDENT:
        assert split.signal(name).psi < 0.01
        assert not split.signal(name).flagged
        assert split.signal(name).reference_count == split.comparison.reference_rows
        assert split.signal(name).current_count == split.comparison.current_rows
    # Input-only signals keep every row of both windows.
    for name in ("text_length", "word_count"):
        assert split.signal(name).reference_count == split.reference_count
        assert split.signal(name).current_count == split.current_count
    assert split.reference_count == 30 * PER_DAY
    assert split.current_count == 7 * PER_DAY

    # The rollups split by version give the numbers of the rows themselves.
    assert_same_report(split, compute_report_from_log(engine, DAY, SPLIT))


def test_a_version_with_too_few_reference_rows_falls_back_to_all_rows_and_says_so(
    engine: Engine,
) -> None:
    promoted(engine, days_before=8)  # version 2: 2 reference days (80 rows), 7 current days
    report = compute_report(engine, DAY, SPLIT)

    assert report.comparison == Comparison(
        ALL_VERSIONS,
        model_version=2,
        reason="model version 2 has 80 rows in the reference window (minimum 200)",
        reference_rows=80,
        current_rows=7 * PER_DAY,
    )
    # Every row compared, as without the split: the change of model is flagged.
    unsplit = compute_report(engine, DAY, UNSPLIT)
    assert report.signals == unsplit.signals
    assert report.severity >= Severity.ALERT

    # The comparison is stored with the report and is part of its JSON.
    store_report(engine, report)
    stored = get_report(engine, DAY)
    assert stored is not None
    assert stored.comparison == report.comparison
    assert report_to_dict(stored)["comparison"] == {
        "mode": "all_versions",
        "model_version": 2,
        "reason": "model version 2 has 80 rows in the reference window (minimum 200)",
        "reference_rows": 80,
        "current_rows": 280,
    }


def test_one_version_in_both_windows_is_a_same_version_comparison_whatever_its_rows(
    engine: Engine,
) -> None:
    insert_records(engine, served(DAY - timedelta(days=36), 37, 1))
    report = compute_report(engine, DAY, parameters(min_rows_per_version=10_000))
    assert report.comparison == Comparison(
        SAME_VERSION, model_version=1, reference_rows=30 * PER_DAY, current_rows=7 * PER_DAY
    )


def test_an_empty_current_window_says_no_version_was_compared(engine: Engine) -> None:
    report = compute_report(engine, DAY, SPLIT)
    assert report.comparison == Comparison(
        ALL_VERSIONS, reason="no predictions in the current window"
    )


def test_a_report_stored_before_the_split_reads_back_without_a_comparison(
    engine: Engine,
) -> None:
    insert_records(engine, served(DAY - timedelta(days=36), 37, 1))
    store_report(engine, compute_report(engine, DAY, UNSPLIT))
    with engine.begin() as conn:  # the document as the code before the split wrote it
        document = dict(conn.execute(drift_reports.select()).one().signals)
        document.pop("comparison")
        document["parameters"] = {
            k: v for k, v in document["parameters"].items() if k != "min_rows_per_version"
        }
        conn.execute(drift_reports.update().values(signals=document))
    stored = get_report(engine, DAY)
    assert stored is not None
    assert stored.comparison is None
    assert stored.parameters.min_rows_per_version is None


def test_min_rows_per_version_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_rows_per_version must be at least 1"):
        parameters(min_rows_per_version=0)
