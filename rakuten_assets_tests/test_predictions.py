"""Ranking, the prediction-log record and its insert (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sqlalchemy import Engine, func, select

from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import prediction_log
from rakuten_assets.predictions import (
    PredictionRecord,
    RankedClass,
    insert_records,
    prediction_record,
    probe_for,
    rank,
    rank_rows,
    unknown_share,
)
from rakuten_assets.training.model import ModelParams, fit

AT = datetime(2026, 3, 10, 9, 30, 15, 123456, tzinfo=UTC)


def make_record(prediction_id: str = "p-1", **overrides: Any) -> PredictionRecord:
    values: dict[str, Any] = {
        "prediction_id": prediction_id,
        "predicted_at": AT,
        "model_version": 4,
        "designation": "Coussin déco en lin",
        "description": "<p>Housse &amp; coton</p>",
        "ranked": [RankedClass(1920, CATEGORY_LABELS[1920], 0.7), RankedClass(10, "x", 0.2)],
        "latency_ms": 2.5,
        "unknown_token_share": 0.25,
        "productid": 3804725264,
        "imageid": 1263597046,
    }
    return prediction_record(**(values | overrides))


# --- ranking ------------------------------------------------------------------------------------


def test_rank_gives_the_k_most_probable_classes_best_first_with_their_labels() -> None:
    ranked = rank(np.array([0.1, 0.6, 0.3]), np.array([10, 1920, 2583]), 2)
    assert ranked == [
        RankedClass(1920, CATEGORY_LABELS[1920], 0.6),
        RankedClass(2583, CATEGORY_LABELS[2583], 0.3),
    ]
    assert all(type(r.prdtypecode) is int and type(r.probability) is float for r in ranked)


def test_rank_keeps_the_model_order_on_ties() -> None:
    ranked = rank(np.array([0.25, 0.25, 0.5]), [2583, 10, 40], 3)
    assert [r.prdtypecode for r in ranked] == [40, 2583, 10]


@pytest.mark.parametrize("k", [3, 27])
def test_rank_with_k_at_or_over_the_number_of_classes_ranks_them_all(k: int) -> None:
    assert len(rank(np.array([0.2, 0.5, 0.3]), [10, 40, 50], k)) == 3


def test_rank_rows_ranks_each_row_as_rank_does() -> None:
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(5), size=40)
    probabilities[0] = [0.25, 0.25, 0.5, 0.0, 0.0]  # a tie keeps the model order
    classes = np.array([2583, 10, 40, 1920, 99])
    ks = [int(k) for k in rng.integers(1, 7, size=40)]
    assert rank_rows(probabilities, classes, ks) == [
        rank(row, classes, k) for row, k in zip(probabilities, ks, strict=True)
    ]
    assert rank_rows(probabilities[:0], classes, []) == []


def test_rank_rounds_to_six_decimals_and_names_an_unknown_code_by_its_number() -> None:
    (best,) = rank(np.array([0.1234567, 0.0]), [99, 10], 1)
    assert best == RankedClass(99, "99", 0.123457)


# --- unknown-token share ------------------------------------------------------------------------


def _fitted(analyzer: str, ngram_range: tuple[int, int] = (1, 1)) -> Pipeline:
    pipeline = Pipeline([("words", TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range))])
    return pipeline.fit(["coussin lin lavé", "livre roman policier"])


def test_unknown_share_counts_the_tokens_missing_from_the_model_vocabulary() -> None:
    pipeline = _fitted("word")
    assert unknown_share(pipeline, "Coussin velours", None) == 0.5
    assert unknown_share(pipeline, "Coussin", "<b>lin</b> roman") == 0.0
    assert unknown_share(pipeline, "abc def ghi", "") == 1.0


def test_unknown_share_is_none_for_a_model_without_a_word_vocabulary() -> None:
    assert unknown_share(_fitted("char"), "Coussin velours", None) is None
    assert probe_for(Pipeline([("words", TfidfVectorizer())])) is None  # not fitted


def test_word_pairs_of_the_vocabulary_are_not_tokens() -> None:
    probe = probe_for(_fitted("word", ngram_range=(1, 2)))
    assert probe is not None
    assert probe.vocabulary == {"coussin", "lin", "lavé", "livre", "roman", "policier"}
    assert probe.unknown_share("Lin coussin", None) == 0.0


def test_the_unknown_share_finds_the_word_block_inside_the_served_model(
    small_split: SplitCatalog,
) -> None:
    pipeline = fit(small_split.pool.head(600), ModelParams(max_iter=20))
    probe = probe_for(pipeline)
    assert probe is not None
    assert "coussin" in probe.vocabulary
    assert probe_for(pipeline) is probe  # built once per model
    assert unknown_share(pipeline, "Coussin zzqxv", None) == 0.5


# --- the record ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("designation", "description", "length", "words", "has_description"),
    [
        ("Coussin lin", None, 11, 2, False),
        ("Coussin lin", "", 11, 2, False),
        ("Coussin", "   ", 11, 1, False),
        ("Coussin", "<p>Housse lin</p>", 25, 3, True),
        ("mot " * 50_000, None, 200_000, 50_000, False),
    ],
)
def test_the_record_measures_the_text_signals_from_the_raw_fields(
    designation: str, description: str | None, length: int, words: int, has_description: bool
) -> None:
    record = make_record(designation=designation, description=description)
    assert (record.text_length, record.word_count, record.has_description) == (
        length,
        words,
        has_description,
    )


def test_the_record_takes_code_confidence_and_top_k_from_the_ranking() -> None:
    record = make_record(latency_ms=1.23456)
    assert (record.predicted_code, record.confidence) == (1920, 0.7)
    assert record.top_k == ((1920, 0.7), (10, 0.2))
    assert record.latency_ms == 1.235
    assert (record.model_version, record.productid, record.imageid) == (4, 3804725264, 1263597046)


def test_the_record_is_stamped_in_utc_at_the_same_instant() -> None:
    paris = datetime(2026, 3, 10, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
    record = make_record(predicted_at=paris)
    assert record.predicted_at.tzinfo is UTC
    assert record.predicted_at == paris
    assert record.predicted_at.hour == 9


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="p-9: predicted_at 2026-03-10T09:30:00 has no time zone"):
        make_record("p-9", predicted_at=datetime(2026, 3, 10, 9, 30))


def test_a_record_without_a_ranked_class_is_refused() -> None:
    with pytest.raises(ValueError, match="p-1: a record needs at least one ranked class"):
        make_record(ranked=[])


def test_the_json_form_round_trips() -> None:
    record = make_record(unknown_token_share=None, productid=None)
    line = json.dumps(record.to_json())
    assert json.loads(line)["predicted_at"] == "2026-03-10T09:30:15.123456+00:00"
    assert PredictionRecord.from_json(json.loads(line)) == record


def test_a_json_record_written_before_the_typed_record_still_reads() -> None:
    # A line of a spool file written by the dict-based record builder (same keys, same values).
    line = (
        '{"prediction_id":"0b6c7a3e-3c4f-4d0e-9b8e-1f2a3b4c5d6e",'
        '"predicted_at":"2026-03-10T09:30:15.123456+00:00","model_version":4,"text_length":42,'
        '"word_count":7,"has_description":true,"predicted_code":1920,"confidence":0.7,'
        '"top_k":[[1920,0.7],[10,0.2]],"latency_ms":2.5,"productid":3804725264,'
        '"imageid":null,"unknown_token_share":0.25}'
    )
    record = PredictionRecord.from_json(json.loads(line))
    assert record == PredictionRecord(
        prediction_id="0b6c7a3e-3c4f-4d0e-9b8e-1f2a3b4c5d6e",
        predicted_at=AT,
        model_version=4,
        text_length=42,
        word_count=7,
        has_description=True,
        predicted_code=1920,
        confidence=0.7,
        top_k=((1920, 0.7), (10, 0.2)),
        latency_ms=2.5,
        unknown_token_share=0.25,
        productid=3804725264,
        imageid=None,
    )


def test_a_json_record_without_a_time_zone_is_refused() -> None:
    values = make_record().to_json() | {"predicted_at": "2026-03-10T09:30:15"}
    with pytest.raises(ValueError, match=r"record p-1: predicted_at .* has no time zone"):
        PredictionRecord.from_json(values)


# --- insert -------------------------------------------------------------------------------------


def stored_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(prediction_log)).mappings().all()
    stored = {}
    for row in rows:
        values = dict(row)
        # SQLite hands back naive datetimes (stored in UTC), PostgreSQL aware ones.
        if values["predicted_at"].tzinfo is None:
            values["predicted_at"] = values["predicted_at"].replace(tzinfo=UTC)
        stored[values["prediction_id"]] = values
    return stored


def test_inserted_records_read_back_as_their_rows(engine: Engine) -> None:
    records = [
        make_record("p-1"),
        make_record("p-2", predicted_at=AT + timedelta(hours=1), description=None, productid=None),
        make_record("p-3", unknown_token_share=None),
    ]
    assert insert_records(engine, records) == 3
    assert stored_rows(engine) == {r.prediction_id: r.as_row() for r in records}


def test_an_id_already_logged_is_skipped_and_not_counted(engine: Engine) -> None:
    first = make_record("p-1", model_version=1)
    assert insert_records(engine, [first, make_record("p-2")]) == 2
    again = [make_record("p-1", model_version=9), make_record("p-2"), make_record("p-3")]
    assert insert_records(engine, again) == 1
    assert insert_records(engine, again) == 0
    stored = stored_rows(engine)
    assert sorted(stored) == ["p-1", "p-2", "p-3"]
    assert stored["p-1"]["model_version"] == 1  # the first row stays


def test_chunks_are_inserted_in_turn_and_counted_together(engine: Engine) -> None:
    insert_records(engine, [make_record("p-2")])
    records = [make_record(f"p-{i}") for i in range(5)]
    assert insert_records(engine, records, chunk_size=2) == 4
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(prediction_log)).scalar_one() == 5


def test_no_records_insert_nothing(engine: Engine) -> None:
    assert insert_records(engine, []) == 0
    assert stored_rows(engine) == {}
