"""Predictions as the domain sees them: ranked classes, the prediction-log record, its insert.

The API and the traffic simulator both rank, measure (text signals, unknown-token share) and
log through this module, so every producer of ``prediction_log`` rows measures the drift
signals the same way.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.db import prediction_inputs, prediction_log
from rakuten_assets.training.inference import LeanScorer, UnsupportedModel, lean_scorer
from rakuten_assets.training.text import clean_text

#: How many ranked classes a prediction returns and logs unless asked otherwise.
DEFAULT_TOP_K: Final = 3
#: Rows per insert transaction.
INSERT_CHUNK: Final = 2_000


@dataclass(frozen=True, slots=True)
class RankedClass:
    """A product type and its probability for one listing."""

    prdtypecode: int
    label: str
    probability: float


def rank(
    probabilities: npt.NDArray[np.floating[Any]], classes: Sequence[Any] | np.ndarray, k: int
) -> list[RankedClass]:
    """The ``k`` most probable classes of one probability row, best first.

    Ties keep the model's class order. Probabilities are rounded to 6 decimals, as answered and
    logged.
    """
    ranked = []
    for i in np.argsort(-probabilities, kind="stable")[:k]:
        code = int(classes[i])
        label = CATEGORY_LABELS.get(code, str(code))
        ranked.append(RankedClass(code, label, round(float(probabilities[i]), 6)))
    return ranked


def rank_rows(
    probabilities: npt.NDArray[np.floating[Any]],
    classes: Sequence[Any] | np.ndarray,
    ks: Sequence[int],
) -> list[list[RankedClass]]:
    """``rank`` of every row of ``probabilities`` (row i to ``ks[i]`` classes), one sort for all."""
    if len(ks) == 0:
        return []
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, : max(ks)]
    codes = [int(code) for code in classes]
    labels = [CATEGORY_LABELS.get(code, str(code)) for code in codes]
    ranked = []
    for row, top, k in zip(probabilities, order.tolist(), ks, strict=True):
        ranked.append([RankedClass(codes[i], labels[i], round(float(row[i]), 6)) for i in top[:k]])
    return ranked


@dataclass(frozen=True)
class VocabularyProbe:
    """The word vocabulary of a fitted model and the function that tokenizes like it does.

    Text length and word count miss a change of vocabulary (new brands, new product lines with
    titles of the usual length); the share of tokens the model never saw catches it, for one
    dictionary lookup per token. The tokens are the single words of the model's word
    vectorizer's own analysis (its preprocessing, tokenizer and stop words; word n-grams left
    out), so the share means "unknown to this model". For a model the lean scorer serves,
    :func:`unknown_share` takes them from the scorer's pass over the model's own cleaned field
    (``LeanScorer.unknown_shares``); this probe, over ``designation . description`` cleaned by
    ``clean_text``, is for any other model with a word vectorizer.
    """

    vocabulary: frozenset[str]
    tokenize: Callable[[str], list[str]]

    def unknown_share(self, designation: str, description: str | None) -> float:
        """Share of word tokens of ``designation . description`` unknown to the model (0..1).

        A text without any token counts as 0.0 (nothing unknown in it).
        """
        text = f"{clean_text(designation)} . {clean_text(description or '')}"
        tokens = self.tokenize(text)
        if not tokens:
            return 0.0
        unknown = sum(1 for token in tokens if token not in self.vocabulary)
        return round(unknown / len(tokens), 6)


def _word_vectorizer(model: Any) -> TfidfVectorizer | None:
    """The first fitted word-level TfidfVectorizer inside ``model`` (pipelines, column blocks)."""
    if isinstance(model, TfidfVectorizer):
        fitted = hasattr(model, "vocabulary_")
        return model if fitted and model.analyzer == "word" else None
    if isinstance(model, Pipeline):
        children: Sequence[Any] = [step for _, step in model.steps]
    elif isinstance(model, ColumnTransformer) and hasattr(model, "transformers_"):
        children = [transformer for _, transformer, _ in model.transformers_]
    else:
        return None
    for child in children:
        found = _word_vectorizer(child)
        if found is not None:
            return found
    return None


_PROBES: weakref.WeakKeyDictionary[Any, VocabularyProbe | None] = weakref.WeakKeyDictionary()
_LEAN: weakref.WeakKeyDictionary[Any, LeanScorer | None] = weakref.WeakKeyDictionary()
T = TypeVar("T")


def _memoised(cache: weakref.WeakKeyDictionary[Any, T], model: Any, build: Callable[[Any], T]) -> T:
    """``build(model)`` once per model object (a None result included)."""
    try:
        return cache[model]
    except KeyError:
        pass
    cache[model] = value = build(model)
    return value


def _build_probe(model: Any) -> VocabularyProbe | None:
    vectorizer = _word_vectorizer(model)
    if vectorizer is None:
        return None
    analyze = vectorizer.build_analyzer()
    # Single words only: with word n-grams the vocabulary also holds "a b" entries, and a
    # token is "known" when the single word is.
    vocabulary = frozenset(term for term in vectorizer.vocabulary_ if " " not in term)
    return VocabularyProbe(
        vocabulary, lambda text: [term for term in analyze(text) if " " not in term]
    )


def probe_for(model: Any) -> VocabularyProbe | None:
    """The probe of a fitted model (built once per model object); None without a word block."""
    return _memoised(_PROBES, model, _build_probe)


def _build_lean(model: Any) -> LeanScorer | None:
    try:
        return lean_scorer(model)
    except UnsupportedModel:
        return None


def unknown_shares(model: Any, rows: Sequence[tuple[str, str | None]]) -> list[float | None]:
    """Share of each listing's word tokens that ``model`` never saw; None without a word block.

    The lean scorer's definition (``LeanScorer.unknown_shares``, one pass over all the rows)
    for a model it serves, the probe's (``VocabularyProbe``) for any other."""
    scorer = _memoised(_LEAN, model, _build_lean)
    if scorer is not None:
        shares = scorer.unknown_shares(rows)
        return list(shares) if shares is not None else [None] * len(rows)
    probe = probe_for(model)
    return [probe.unknown_share(d, e) if probe is not None else None for d, e in rows]


def unknown_share(model: Any, designation: str, description: str | None) -> float | None:
    """``unknown_shares`` of one listing."""
    return unknown_shares(model, [(designation, description)])[0]


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One row of ``prediction_log``: what a model predicted for a listing, when, how fast."""

    prediction_id: str
    #: Timezone-aware, in UTC.
    predicted_at: datetime
    model_version: int
    text_length: int
    word_count: int
    has_description: bool
    predicted_code: int
    confidence: float
    #: ``(prdtypecode, probability)`` pairs, best first.
    top_k: tuple[tuple[int, float], ...]
    latency_ms: float
    unknown_token_share: float | None
    productid: int | None = None
    imageid: int | None = None
    #: ``(designation, description)`` as sent, only when CAPTURE_INPUTS is on (personal-data
    #: relevant): stored in ``prediction_inputs``, never in ``prediction_log``.
    captured_input: tuple[str, str | None] | None = None

    def as_row(self) -> dict[str, Any]:
        """The column values of this record's ``prediction_log`` row."""
        return {
            "prediction_id": self.prediction_id,
            "predicted_at": self.predicted_at,
            "model_version": self.model_version,
            "text_length": self.text_length,
            "word_count": self.word_count,
            "has_description": self.has_description,
            "predicted_code": self.predicted_code,
            "confidence": self.confidence,
            "top_k": [[code, probability] for code, probability in self.top_k],
            "latency_ms": self.latency_ms,
            "productid": self.productid,
            "imageid": self.imageid,
            "unknown_token_share": self.unknown_token_share,
        }

    def input_row(self) -> dict[str, Any] | None:
        """The ``prediction_inputs`` row of a captured record (None when not captured)."""
        if self.captured_input is None:
            return None
        designation, description = self.captured_input
        return {
            "prediction_id": self.prediction_id,
            "predicted_at": self.predicted_at,
            "designation": designation,
            "description": description,
        }

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values (``predicted_at`` in ISO 8601 with its offset)."""
        values = self.as_row() | {"predicted_at": self.predicted_at.isoformat()}
        if self.captured_input is not None:  # absent otherwise: journal lines stay small
            values["captured_input"] = list(self.captured_input)
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> PredictionRecord:
        """The record that ``to_json`` gave ``values``."""
        predicted_at = datetime.fromisoformat(values["predicted_at"])
        return cls(
            **{
                **values,
                "predicted_at": _utc(predicted_at, f"record {values['prediction_id']}"),
                "top_k": tuple((int(code), float(p)) for code, p in values["top_k"]),
                "captured_input": _captured(values.get("captured_input")),
            }
        )


def _captured(value: Sequence[Any] | None) -> tuple[str, str | None] | None:
    if value is None:
        return None
    designation, description = value
    return str(designation), description


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(
            f"{what}: predicted_at {moment.isoformat()} has no time zone; pass an aware "
            "datetime (e.g. datetime.now(UTC))"
        )
    # SQLite keeps the wall-clock time and drops the offset: a local time would land hours
    # off in the drift windows.
    return moment.astimezone(UTC)


def prediction_record(
    *,
    prediction_id: str,
    predicted_at: datetime,
    model_version: int,
    designation: str,
    description: str | None,
    ranked: Sequence[RankedClass],
    latency_ms: float,
    unknown_token_share: float | None,
    productid: int | None = None,
    imageid: int | None = None,
    capture: bool = False,
) -> PredictionRecord:
    """The log record of one prediction; ``ranked`` is its ranking, best first (``rank``).

    The text signals of drift monitoring (length, words, description present) are measured
    here, from the raw fields. ``capture`` (CAPTURE_INPUTS) keeps the texts themselves too.
    """
    if not ranked:
        raise ValueError(f"prediction {prediction_id}: a record needs at least one ranked class")
    text = designation + (" " + description if description else "")
    best = ranked[0]
    return PredictionRecord(
        prediction_id=prediction_id,
        predicted_at=_utc(predicted_at, f"prediction {prediction_id}"),
        model_version=model_version,
        text_length=len(text),
        word_count=len(text.split()),
        has_description=bool(description and description.strip()),
        predicted_code=best.prdtypecode,
        confidence=best.probability,
        top_k=tuple((r.prdtypecode, r.probability) for r in ranked),
        latency_ms=round(latency_ms, 3),
        unknown_token_share=unknown_token_share,
        productid=productid,
        imageid=imageid,
        captured_input=(designation, description) if capture else None,
    )


def insert_records(
    engine: Engine, records: Sequence[PredictionRecord], *, chunk_size: int = INSERT_CHUNK
) -> int:
    """Insert the records, one transaction per chunk; returns how many were new.

    The captured inputs of a chunk go to ``prediction_inputs`` in the same transaction. A
    ``prediction_id`` already logged is skipped, not an error: replaying a batch whose commit
    went through is harmless.
    """
    dialect = engine.dialect.name
    if dialect == "postgresql":
        insert: Any = pg_insert
    elif dialect == "sqlite":
        insert = sqlite_insert
    else:
        raise NotImplementedError(
            f"prediction log inserts support PostgreSQL and SQLite, not {dialect}"
        )
    statement = (
        insert(prediction_log)
        .on_conflict_do_nothing(index_elements=["prediction_id"])
        .returning(prediction_log.c.prediction_id)
    )
    inputs_statement = insert(prediction_inputs).on_conflict_do_nothing(
        index_elements=["prediction_id"]
    )
    inserted = 0
    for start in range(0, len(records), chunk_size):
        chunk = records[start : start + chunk_size]
        rows = [record.as_row() for record in chunk]
        inputs = [row for record in chunk if (row := record.input_row()) is not None]
        with engine.begin() as conn:
            # RETURNING lists the rows written: the rowcount of a multi-row insert is -1 on
            # PostgreSQL.
            inserted += len(conn.execute(statement, rows).all())
            if inputs:
                conn.execute(inputs_statement, inputs)
    return inserted


def purge_inputs(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Delete the captured inputs older than ``retention_days``; returns how many went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with engine.begin() as conn:
        result = conn.execute(
            delete(prediction_inputs).where(prediction_inputs.c.predicted_at < cutoff)
        )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class LogSummary:
    """What the prediction log holds, counted in the database."""

    total: int
    last_predicted_at: datetime | None
    #: Predictions per serving model version.
    by_model_version: dict[int, int]


def log_summary(engine: Engine) -> LogSummary:
    """Row count, newest prediction and rows per model version (one GROUP BY, no row read)."""
    query = select(
        prediction_log.c.model_version, func.count(), func.max(prediction_log.c.predicted_at)
    ).group_by(prediction_log.c.model_version)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    newest = max((row[2] for row in rows if row[2] is not None), default=None)
    if newest is not None and newest.tzinfo is None:  # SQLite: written in UTC, read back naive
        newest = newest.replace(tzinfo=UTC)
    return LogSummary(
        total=sum(int(row[1]) for row in rows),
        last_predicted_at=newest,
        by_model_version={int(row[0]): int(row[1]) for row in rows},
    )
