"""Late labels of served predictions (``prediction_feedback``), and the realised performance.

A client that learns the true product type of a listing it had classified sends it back with
the ``prediction_id`` it got. One label per prediction: sending the same label again changes
nothing; a different label for an already-labelled prediction is refused (a conflict, not a
silent overwrite). The one module with SQL on ``prediction_feedback``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sklearn.metrics import accuracy_score, f1_score
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rakuten_assets.categories import CATEGORY_CODES
from rakuten_assets.db import prediction_feedback, prediction_log

#: Ids per ``IN (...)`` lookup (SQLite's default limit of bound parameters is far above).
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Label:
    """The true product type of one logged prediction."""

    prediction_id: str
    prdtypecode: int


class UnknownPredictions(LookupError):
    """Labels for prediction ids that are not in the prediction log (nothing was recorded)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        shown = ", ".join(self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(f"{len(self.ids)} unknown prediction_id(s): {shown}")


class ConflictingLabels(ValueError):
    """A prediction already labelled with another code (nothing was recorded)."""

    def __init__(self, conflicts: Mapping[str, tuple[int, int]]) -> None:
        self.conflicts = dict(conflicts)
        first, (stored, given) = next(iter(self.conflicts.items()))
        super().__init__(
            f"{len(self.conflicts)} prediction(s) already labelled with another code, e.g. "
            f"{first}: stored {stored}, sent {given}"
        )


@dataclass(frozen=True)
class FeedbackResult:
    """What a call recorded: new labels, and labels that were already there (same code)."""

    recorded: int
    unchanged: int


def check_labels(labels: Sequence[Label]) -> list[Label]:
    """The labels without repeats; ValueError naming the item for a bad code or a contradiction."""
    unique: dict[str, Label] = {}
    for index, label in enumerate(labels):
        if label.prdtypecode not in CATEGORY_CODES:
            raise ValueError(
                f"item {index}: prdtypecode {label.prdtypecode} is not a known product type"
            )
        seen = unique.setdefault(label.prediction_id, label)
        if seen.prdtypecode != label.prdtypecode:
            raise ValueError(
                f"item {index}: prediction {label.prediction_id} is labelled twice in the call, "
                f"{seen.prdtypecode} and {label.prdtypecode}"
            )
    return list(unique.values())


def _lookup(conn: Connection, column: Any, value: Any, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        query = select(column, value).where(column.in_(ids[start : start + _LOOKUP_CHUNK]))
        found.update({str(i): v for i, v in conn.execute(query)})
    return found


def record_feedback(
    engine: Engine, labels: Sequence[Label], *, now: datetime | None = None
) -> FeedbackResult:
    """Record the labels, all or none: unknown ids or conflicting labels raise, writing nothing."""
    unique = check_labels(labels)
    ids = [label.prediction_id for label in unique]
    received_at = now or datetime.now(UTC)
    insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as conn:
        logged = _lookup(conn, prediction_log.c.prediction_id, prediction_log.c.model_version, ids)
        missing = [i for i in ids if i not in logged]
        if missing:
            raise UnknownPredictions(missing)
        stored = _lookup(
            conn, prediction_feedback.c.prediction_id, prediction_feedback.c.prdtypecode, ids
        )
        conflicts = {
            label.prediction_id: (int(stored[label.prediction_id]), label.prdtypecode)
            for label in unique
            if label.prediction_id in stored and stored[label.prediction_id] != label.prdtypecode
        }
        if conflicts:
            raise ConflictingLabels(conflicts)
        new = [
            {"prediction_id": label.prediction_id, "prdtypecode": label.prdtypecode,
             "received_at": received_at}
            for label in unique
            if label.prediction_id not in stored
        ]  # fmt: skip
        recorded = 0
        if new:
            statement = (
                insert(prediction_feedback)
                .on_conflict_do_nothing(index_elements=["prediction_id"])
                .returning(prediction_feedback.c.prediction_id)
            )
            recorded = len(conn.execute(statement, new).all())
    return FeedbackResult(recorded=recorded, unchanged=len(unique) - recorded)


# --- realised performance ------------------------------------------------------------------


@dataclass(frozen=True)
class RealisedPerformance:
    """Scores of the labelled predictions of a set (``rows`` of them had a label)."""

    rows: int
    weighted_f1: float
    macro_f1: float
    accuracy: float

    @classmethod
    def of(cls, truth: Sequence[int], predicted: Sequence[int]) -> RealisedPerformance:
        return cls(
            rows=len(truth),
            weighted_f1=round(float(f1_score(truth, predicted, average="weighted")), 6),
            macro_f1=round(float(f1_score(truth, predicted, average="macro")), 6),
            accuracy=round(float(accuracy_score(truth, predicted)), 6),
        )


@dataclass(frozen=True)
class RealisedScores:
    """Realised performance of a period's labelled predictions, overall and per model version."""

    overall: RealisedPerformance
    by_model_version: Mapping[int, RealisedPerformance]

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": asdict(self.overall),
            "by_model_version": {str(v): asdict(p) for v, p in self.by_model_version.items()},
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> RealisedScores:
        return cls(
            overall=RealisedPerformance(**values["overall"]),
            by_model_version={
                int(v): RealisedPerformance(**p) for v, p in values["by_model_version"].items()
            },
        )


def realised_scores(engine: Engine, start: datetime, end: datetime) -> RealisedScores | None:
    """Scores of the predictions made in ``[start, end)`` that got a label; None if none did."""
    log, labels = prediction_log.c, prediction_feedback.c
    query = (
        select(log.model_version, log.predicted_code, labels.prdtypecode)
        .join_from(prediction_log, prediction_feedback, log.prediction_id == labels.prediction_id)
        .where(log.predicted_at >= start, log.predicted_at < end)
    )
    by_version: dict[int, tuple[list[int], list[int]]] = {}
    with engine.connect() as conn:
        for version, predicted, truth in conn.execute(query):
            pair = by_version.setdefault(int(version), ([], []))
            pair[0].append(int(truth))
            pair[1].append(int(predicted))
    if not by_version:
        return None
    truth = [t for pair in by_version.values() for t in pair[0]]
    predicted = [p for pair in by_version.values() for p in pair[1]]
    return RealisedScores(
        overall=RealisedPerformance.of(truth, predicted),
        by_model_version={
            version: RealisedPerformance.of(*pair) for version, pair in sorted(by_version.items())
        },
    )
