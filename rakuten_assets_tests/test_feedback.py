"""Late labels of served predictions, and the realised scores in the daily report."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from rakuten_assets.db import prediction_feedback
from rakuten_assets.drift.report import compute_report
from rakuten_assets.drift.storage import get_report, store_report
from rakuten_assets.feedback import (
    ConflictingLabels,
    Label,
    UnknownPredictions,
    realised_scores,
    record_feedback,
)
from rakuten_assets.predictions import insert_records
from rakuten_assets_tests.test_drift_report import PARAMETERS, paris, record

DAY = date(2026, 5, 12)


def _labels(engine: Engine) -> dict[str, int]:
    query = select(prediction_feedback.c.prediction_id, prediction_feedback.c.prdtypecode)
    with engine.connect() as conn:
        return {str(i): int(code) for i, code in conn.execute(query)}


@pytest.fixture
def logged(engine: Engine) -> list[str]:
    """Six predictions of DAY: three of version 1 (all 1280), three of version 2 (all 2583)."""
    records = [record(paris(DAY, 9 + i), code=1280, version=1) for i in range(3)]
    records += [record(paris(DAY, 15 + i), code=2583, version=2) for i in range(3)]
    insert_records(engine, records)
    return [r.prediction_id for r in records]


def test_labels_are_recorded_once_and_a_repeat_changes_nothing(
    engine: Engine, logged: list[str]
) -> None:
    first = record_feedback(engine, [Label(logged[0], 1280), Label(logged[1], 10)])
    assert (first.recorded, first.unchanged) == (2, 0)
    again = record_feedback(engine, [Label(logged[0], 1280), Label(logged[2], 1280)])
    assert (again.recorded, again.unchanged) == (1, 1)
    # The same label twice in one call counts once.
    twice = record_feedback(engine, [Label(logged[3], 2583), Label(logged[3], 2583)])
    assert (twice.recorded, twice.unchanged) == (1, 0)
    assert _labels(engine) == {logged[0]: 1280, logged[1]: 10, logged[2]: 1280, logged[3]: 2583}


def test_bad_calls_are_refused_whole(engine: Engine, logged: list[str]) -> None:
    record_feedback(engine, [Label(logged[0], 1280)])
    with pytest.raises(UnknownPredictions, match="1 unknown prediction_id") as unknown:
        record_feedback(engine, [Label(logged[1], 1280), Label("no-such-id", 1280)])
    assert unknown.value.ids == ["no-such-id"]
    with pytest.raises(ConflictingLabels, match="stored 1280, sent 40"):
        record_feedback(engine, [Label(logged[2], 1280), Label(logged[0], 40)])
    with pytest.raises(ValueError, match="item 1: prdtypecode 1234 is not a known"):
        record_feedback(engine, [Label(logged[2], 1280), Label(logged[3], 1234)])
    with pytest.raises(ValueError, match="labelled twice in the call, 1280 and 40"):
        record_feedback(engine, [Label(logged[2], 1280), Label(logged[2], 40)])
    # Nothing of the refused calls was written (logged[1] and logged[2] stay unlabelled).
    assert _labels(engine) == {logged[0]: 1280}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(prediction_feedback)).scalar() == 1


def test_realised_scores_per_day_and_model_version_are_in_the_daily_report(
    engine: Engine, logged: list[str]
) -> None:
    start, end = paris(DAY), paris(date(2026, 5, 13))
    assert realised_scores(engine, start, end) is None
    # Version 1: 2 of 3 right; version 2: 1 labelled, wrong.
    record_feedback(
        engine,
        [Label(logged[0], 1280), Label(logged[1], 1280), Label(logged[2], 10),
         Label(logged[3], 40)],
    )  # fmt: skip
    scores = realised_scores(engine, start, end)
    assert scores is not None
    assert scores.overall.rows == 4
    assert scores.overall.accuracy == 0.5
    assert scores.by_model_version[1].accuracy == pytest.approx(2 / 3, abs=1e-6)
    assert scores.by_model_version[2].accuracy == 0.0
    assert scores.by_model_version[2].weighted_f1 == 0.0
    # weighted F1 of version 1: class 1280 (support 2) F1 0.8, class 10 (support 1) F1 0.
    assert scores.by_model_version[1].weighted_f1 == pytest.approx(2 / 3 * 0.8, abs=1e-6)
    assert realised_scores(engine, end, paris(date(2026, 5, 14))) is None

    report = compute_report(engine, DAY, PARAMETERS)
    assert report.realised == scores
    assert report.performance is None  # 6 predictions: below the 100 an estimate needs
    store_report(engine, report)
    stored = get_report(engine, DAY)
    assert stored is not None
    assert stored.realised == scores
