"""Production's realised performance on each new weekly slice: labelled rows it never saw.

Every weekly slice arrives labelled. Before training uses it, the current Production model
scores it: weighted and macro F1, accuracy, per-class F1, and the drop from the model's own
golden-holdout score. The one module with SQL on ``realised_performance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rakuten_assets.db import realised_performance
from rakuten_assets.training.evaluation import score_model


@dataclass(frozen=True)
class SlicePerformance:
    """One week's realised scores of the Production model on the new slice."""

    partition_key: str
    slice_index: int
    model_version: int
    rows: int
    weighted_f1: float
    macro_f1: float
    accuracy: float
    per_class_f1: Mapping[int, float] = field(repr=False)
    #: The model's weighted F1 on the golden holdout (None: not recorded for that version).
    holdout_weighted_f1: float | None
    computed_at: datetime
    dagster_run_id: str | None = None
    id: int | None = None

    @property
    def drop(self) -> float | None:
        """Holdout weighted F1 minus the slice's (positive: worse on the new rows)."""
        if self.holdout_weighted_f1 is None:
            return None
        return round(self.holdout_weighted_f1 - self.weighted_f1, 6)

    def to_json(self) -> dict[str, Any]:
        return {
            "partition_key": self.partition_key,
            "slice_index": self.slice_index,
            "model_version": self.model_version,
            "rows": self.rows,
            "weighted_f1": self.weighted_f1,
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "per_class_f1": {str(c): f for c, f in self.per_class_f1.items()},
            "holdout_weighted_f1": self.holdout_weighted_f1,
            "drop": self.drop,
            "computed_at": self.computed_at.isoformat(),
        }


def score_slice(
    model: Any,
    frame: pd.DataFrame,
    *,
    partition_key: str,
    slice_index: int,
    model_version: int,
    holdout_weighted_f1: float | None,
) -> SlicePerformance:
    """Score ``model`` (the Production version ``model_version``) on one slice's rows."""
    if frame.empty:
        raise ValueError(
            f"slice {slice_index} ({partition_key}) has no rows: load it (product_slice) first"
        )
    scores = score_model(model, frame)
    return SlicePerformance(
        partition_key=partition_key,
        slice_index=slice_index,
        model_version=model_version,
        rows=scores.rows,
        weighted_f1=round(scores.weighted_f1, 6),
        macro_f1=round(scores.macro_f1, 6),
        accuracy=round(scores.accuracy, 6),
        per_class_f1={c: round(f, 6) for c, f in scores.per_class_f1.items()},
        holdout_weighted_f1=holdout_weighted_f1,
        computed_at=datetime.now(UTC),
    )


def store(engine: Engine, performance: SlicePerformance, dagster_run_id: str | None = None) -> int:
    """Insert the week's row, or replace the one of the same partition keeping its id."""
    values: dict[str, Any] = {
        "partition_key": performance.partition_key,
        "slice_index": performance.slice_index,
        "model_version": performance.model_version,
        "rows": performance.rows,
        "weighted_f1": performance.weighted_f1,
        "macro_f1": performance.macro_f1,
        "accuracy": performance.accuracy,
        "per_class_f1": {str(c): f for c, f in performance.per_class_f1.items()},
        "holdout_weighted_f1": performance.holdout_weighted_f1,
        "drop": performance.drop,
        "computed_at": performance.computed_at,
        "dagster_run_id": dagster_run_id,
    }
    insert: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(realised_performance).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[realised_performance.c.partition_key],
        set_={name: statement.excluded[name] for name in values if name != "partition_key"},
    ).returning(realised_performance.c.id)
    with engine.begin() as conn:
        return int(conn.execute(statement).scalar_one())


def _from_row(row: Any) -> SlicePerformance:
    computed_at = row.computed_at
    return SlicePerformance(
        partition_key=row.partition_key,
        slice_index=row.slice_index,
        model_version=row.model_version,
        rows=row.rows,
        weighted_f1=row.weighted_f1,
        macro_f1=row.macro_f1,
        accuracy=row.accuracy,
        per_class_f1={int(c): float(f) for c, f in row.per_class_f1.items()},
        holdout_weighted_f1=row.holdout_weighted_f1,
        # SQLite returns naive datetimes; everything is stored in UTC.
        computed_at=computed_at if computed_at.tzinfo else computed_at.replace(tzinfo=UTC),
        dagster_run_id=row.dagster_run_id,
        id=row.id,
    )


def history(engine: Engine, limit: int = 52) -> list[SlicePerformance]:
    """The ``limit`` most recent weeks, newest first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = (
        select(realised_performance)
        .order_by(realised_performance.c.slice_index.desc(), realised_performance.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_from_row(row) for row in conn.execute(query)]
