"""Production's realised performance on a new weekly slice: scores, storage, alert, gauges."""

from __future__ import annotations

from datetime import date

import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import Engine

from rakuten_assets import realised
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.drift import alerts
from rakuten_assets.training.evaluation import score_model
from rakuten_assets.training.model import ModelParams, fit
from serving.drift_metrics import DriftCollector

MODEL_NAME = "rakuten_classifier"

WEEK = "2026-01-05"


@pytest.fixture(scope="module")
def model(small_split: SplitCatalog) -> Pipeline:
    return fit(small_split.pool, ModelParams(max_iter=10))


def _scored(
    model: Pipeline, small_split: SplitCatalog, **changes: object
) -> realised.SlicePerformance:
    values: dict[str, object] = {
        "partition_key": WEEK, "slice_index": 1, "model_version": 3, "holdout_weighted_f1": 0.9,
    }  # fmt: skip
    return realised.score_slice(model, small_split.holdout, **(values | changes))  # type: ignore[arg-type]


def test_a_slice_is_scored_stored_and_replaced_on_a_rerun(
    engine: Engine, model: Pipeline, small_split: SplitCatalog
) -> None:
    week = _scored(model, small_split)
    expected = score_model(model, small_split.holdout)
    assert week.rows == len(small_split.holdout)
    assert week.weighted_f1 == pytest.approx(expected.weighted_f1, abs=1e-6)
    assert week.macro_f1 == pytest.approx(expected.macro_f1, abs=1e-6)
    assert week.per_class_f1 == pytest.approx(expected.per_class_f1, abs=1e-6)
    assert week.drop == pytest.approx(0.9 - week.weighted_f1, abs=1e-6)
    first = realised.store(engine, week, dagster_run_id="run-1")
    again = realised.store(engine, _scored(model, small_split, model_version=4), "run-2")
    assert again == first  # the same week, replaced
    realised.store(engine, _scored(model, small_split, partition_key="2026-01-12", slice_index=2))
    [newest, older] = realised.history(engine)
    assert (newest.slice_index, older.slice_index) == (2, 1)
    assert older.model_version == 4
    assert older.dagster_run_id == "run-2"
    assert older.per_class_f1 == week.per_class_f1
    assert older.drop == week.drop

    metrics = DriftCollector(engine, MODEL_NAME, cache_seconds=0).render().decode()
    assert f"rakuten_realised_weighted_f1 {newest.weighted_f1}" in metrics
    assert f"rakuten_realised_f1_drop {newest.drop}" in metrics


def test_edge_cases(engine: Engine, model: Pipeline, small_split: SplitCatalog) -> None:
    with pytest.raises(ValueError, match="has no rows"):
        realised.score_slice(
            model, small_split.holdout.head(0), partition_key=WEEK, slice_index=1,
            model_version=1, holdout_weighted_f1=None,
        )  # fmt: skip
    unknown = _scored(model, small_split, holdout_weighted_f1=None)
    assert unknown.drop is None
    realised.store(engine, unknown)
    assert realised.history(engine)[0].holdout_weighted_f1 is None
    with pytest.raises(ValueError, match="limit"):
        realised.history(engine, 0)


def test_a_drop_beyond_the_setting_raises_one_alert_with_the_drift_lifecycle(
    engine: Engine,
) -> None:
    def drop(day: date, f1: float) -> dict[str, object] | None:
        return alerts.raise_realised_drop_alert(
            engine, slice_date=day, model_version=3, weighted_f1=f1,
            holdout_weighted_f1=0.85, max_drop=0.05,
        )  # fmt: skip

    assert drop(date(2026, 1, 5), 0.81) is None  # -0.04: within the limit
    raised = drop(date(2026, 1, 12), 0.78)  # -0.07
    assert raised is not None
    assert raised["severity"] == "ALERT"
    assert raised["report_id"] is None
    assert "0.780 against 0.850" in str(raised["message"])
    assert drop(date(2026, 1, 12), 0.70) is None  # the same week again: idempotent
    critical = drop(date(2026, 1, 19), 0.70)  # -0.15: beyond twice the limit
    assert critical is not None
    assert critical["severity"] == "CRITICAL"
    assert alerts.active_alert_count(engine) == 2
    acknowledged = alerts.record_action(
        engine, int(critical["id"]), "acknowledge", "ops", door="cli"
    )
    assert acknowledged["status"] == "acknowledged"
    assert alerts.resolve_alerts(engine, "ops", door="cli", alert_ids=[int(raised["id"])])
    assert alerts.active_alert_count(engine) == 1
