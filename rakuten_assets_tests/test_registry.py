"""Promotion rules, stage tags, alias moves and the rollback target, on a real MLflow store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from rakuten_assets import registry
from rakuten_assets.training.evaluation import score_model
from rakuten_assets.training.model import ModelParams, fit


@pytest.mark.parametrize(
    ("candidate", "production", "promote", "reason"),
    [
        (0.74, None, False, "below the threshold 0.75"),
        (0.7499, 0.60, False, "below the threshold 0.75"),
        (0.75, None, True, "no Production model exists"),
        (0.80, 0.80, False, "not better than Production (0.8000)"),
        (0.80, 0.81, False, "not better than Production"),
        (0.8001, 0.80, True, "better than Production (0.8000) on the same golden holdout"),
    ],
)
def test_promotion_gate(
    candidate: float, production: float | None, promote: bool, reason: str
) -> None:
    decision = registry.decide(candidate, production, 0.75)
    assert decision.promote is promote
    assert reason in decision.reason


def _decide(engine: Engine, version: int, decision: str, production: int | None = None) -> None:
    registry.record_decision(
        engine,
        model_name="m",
        candidate_version=version,
        production_version=production,
        decision=decision,
        reason="test",
        actor="test",
    )


def test_rollback_target_skips_rejected_candidates(engine: Engine) -> None:
    assert registry.rollback_target(engine, "m") is None
    _decide(engine, 1, "promoted")
    assert registry.rollback_target(engine, "m") is None
    _decide(engine, 2, "rejected", 1)
    _decide(engine, 3, "promoted", 1)
    _decide(engine, 4, "rejected", 3)
    _decide(engine, 5, "rejected", 3)
    # the highest non-Production version is 5, a rejected candidate: never a rollback target
    assert registry.rollback_target(engine, "m") == 1
    _decide(engine, 6, "promoted", 3)
    assert registry.production_lineage(engine, "m") == [1, 3, 6]
    assert registry.rollback_target(engine, "m") == 3
    _decide(engine, 3, "rolled_back", 6)
    # after rolling back to 3, the next rollback goes to the Production before 3
    assert registry.rollback_target(engine, "m") == 1
    assert registry.rollback_target(engine, "other") is None


def test_last_promotion_time_ignores_rejections_and_rollbacks(engine: Engine) -> None:
    assert registry.last_promotion_time(engine, "m") is None
    first = datetime(2026, 1, 5, 7, 5, tzinfo=UTC)
    registry.record_decision(
        engine,
        model_name="m",
        candidate_version=1,
        decision="promoted",
        decided_at=first,
        reason="gate",
        actor="test",
    )
    for version, decision in ((2, "rejected"), (1, "rolled_back")):
        registry.record_decision(
            engine,
            model_name="m",
            candidate_version=version,
            decision=decision,
            decided_at=first + timedelta(days=version),
            reason="test",
            actor="test",
        )
    assert registry.last_promotion_time(engine, "m") == first
    assert registry.last_promotion_time(engine, "other") is None


@pytest.fixture
def mlflow_store(tmp_path: Path) -> MlflowClient:
    client = registry.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = registry.ensure_experiment(client, "test", tmp_path / "artifacts")
    mlflow.set_experiment(experiment_id=experiment)
    return client


def _register(small_split, client: MlflowClient) -> int:  # type: ignore[no-untyped-def]
    train = small_split.pool.head(600)
    model = fit(train, ModelParams(max_iter=50))
    scores = score_model(model, small_split.holdout)
    with mlflow.start_run():
        candidate = registry.log_candidate(
            model=model,
            model_name="rakuten_classifier",
            params={"C": 5},
            validation=scores,
            input_example=train,
            data_version={
                "batch_id": "b",
                "dataset_hash": "h",
                "partition_key": "2026-01-05",
                "loaded_pct": 40.0,
                "train_rows": len(train),
            },
            train_seconds=1.0,
        )
    return candidate.version


def test_logged_model_reloads_and_predicts_raw_fields(
    mlflow_store: MlflowClient, small_split
) -> None:  # type: ignore[no-untyped-def]
    version = _register(small_split, mlflow_store)
    model = registry.load_model("rakuten_classifier", version)
    raw = pd.DataFrame({"designation": ["Coussin d&eacute;co <b>lin</b>"], "description": [None]})
    assert int(model.predict(raw)[0]) in small_split.pool["prdtypecode"].unique()
    mv = mlflow_store.get_model_version("rakuten_classifier", str(version))
    assert mv.tags[registry.STAGE_TAG] == registry.Stage.STAGING
    run = mlflow_store.get_run(mv.run_id)
    assert {"git_sha", "data.batch_id", "data.dataset_hash"} <= set(run.data.tags)
    artifacts = {a.path for a in mlflow_store.list_artifacts(mv.run_id, "validation")}
    assert "validation/confusion_matrix.png" in artifacts
    assert "validation/classification_report.txt" in artifacts


def test_alias_and_stage_tags_follow_promotions_and_rollback(
    mlflow_store: MlflowClient,
    engine: Engine,
    small_split,  # type: ignore[no-untyped-def]
) -> None:
    v1 = _register(small_split, mlflow_store)
    v2 = _register(small_split, mlflow_store)
    assert registry.production_version(mlflow_store, "rakuten_classifier") is None
    assert registry.set_production(mlflow_store, "rakuten_classifier", v1) is None
    _decide_real(engine, v1, "promoted")
    assert registry.set_production(mlflow_store, "rakuten_classifier", v2) == v1
    _decide_real(engine, v2, "promoted")

    def stage(version: int) -> str:
        mv = mlflow_store.get_model_version("rakuten_classifier", str(version))
        return str(mv.tags[registry.STAGE_TAG])

    current = registry.production_version(mlflow_store, "rakuten_classifier")
    assert current is not None
    assert int(current.version) == v2
    assert (stage(v1), stage(v2)) == ("Archived", "Production")

    moved = registry.rollback(
        mlflow_store, engine, "rakuten_classifier", actor="alice", reason="drift"
    )
    assert (moved.previous_version, moved.target_version) == (v2, v1)
    current = registry.production_version(mlflow_store, "rakuten_classifier")
    assert current is not None
    assert int(current.version) == v1
    assert (stage(v1), stage(v2)) == ("Production", "Archived")
    last = registry.promotion_history(engine, "rakuten_classifier").iloc[-1]
    assert (last["decision"], last["actor"], last["reason"]) == ("rolled_back", "alice", "drift")
    with pytest.raises(LookupError, match="no rollback target"):
        registry.rollback(mlflow_store, engine, "rakuten_classifier", actor="a", reason="r")


def _decide_real(engine: Engine, version: int, decision: str) -> None:
    registry.record_decision(
        engine,
        model_name="rakuten_classifier",
        candidate_version=version,
        decision=decision,
        reason="test",
        actor="test",
    )


def test_rejected_candidate_keeps_its_reason(mlflow_store: MlflowClient, small_split) -> None:  # type: ignore[no-untyped-def]
    version = _register(small_split, mlflow_store)
    registry.reject(mlflow_store, "rakuten_classifier", version, "weighted F1 0.70 is below")
    mv = mlflow_store.get_model_version("rakuten_classifier", str(version))
    assert mv.tags[registry.STAGE_TAG] == "None"
    assert mv.tags["rejection_reason"] == "weighted F1 0.70 is below"


def test_roll_forward_target_undoes_rollbacks_until_a_new_promotion(engine: Engine) -> None:
    for version in (1, 2, 3):
        _decide(engine, version, "promoted")
    assert registry.roll_forward_target(engine, "m") is None
    _decide(engine, 2, "rolled_back", 3)
    _decide(engine, 1, "rolled_back", 2)
    assert registry.production_lineage(engine, "m") == [1]
    assert registry.roll_forward_target(engine, "m") == 2
    _decide(engine, 2, "rolled_forward", 1)
    assert registry.production_lineage(engine, "m") == [1, 2]
    assert registry.roll_forward_target(engine, "m") == 3
    assert registry.rollback_target(engine, "m") == 1
    _decide(engine, 4, "rejected", 2)
    # A rejected candidate changes nothing; a promotion makes the undone versions history.
    assert registry.roll_forward_target(engine, "m") == 3
    _decide(engine, 5, "promoted", 2)
    assert registry.roll_forward_target(engine, "m") is None
    assert registry.production_lineage(engine, "m") == [1, 2, 5]


def _evidence(version: int, f1: float, production: int | None, production_f1: float | None):  # type: ignore[no-untyped-def]
    return registry.GateEvidence(
        candidate_version=version,
        production_version=production,
        candidate_weighted_f1=f1,
        production_weighted_f1=production_f1,
        holdout_hash="hash",
        mlflow_run_id=None,
    )


def test_apply_gate_promotes_or_rejects_with_a_row_and_tags(
    mlflow_store: MlflowClient,
    engine: Engine,
    small_split,  # type: ignore[no-untyped-def]
) -> None:
    name = "rakuten_classifier"
    v1 = _register(small_split, mlflow_store)
    v2 = _register(small_split, mlflow_store)
    first = registry.apply_gate(
        mlflow_store, engine, name, _evidence(v1, 0.8, None, None), registry.GateRun(0.75, "pipe")
    )
    assert first.promote is True
    worse = registry.apply_gate(
        mlflow_store,
        engine,
        name,
        _evidence(v2, 0.79, v1, 0.8),
        registry.GateRun(0.75, "alice", partition_key="2026-01-12"),
    )
    assert worse.promote is False
    current = registry.production_version(mlflow_store, name)
    assert current is not None
    assert int(current.version) == v1
    tags = mlflow_store.get_model_version(name, str(v2)).tags
    assert tags[registry.STAGE_TAG] == registry.Stage.NONE
    assert tags["rejection_reason"] == tags["promotion_reason"] == worse.reason
    history = registry.promotion_history(engine, name)
    assert list(history["decision"]) == ["promoted", "rejected"]
    assert list(history["actor"]) == ["pipe", "alice"]
    assert history.iloc[1]["partition_key"] == "2026-01-12"
    assert history.iloc[1]["production_weighted_f1"] == 0.8
    assert registry.production_lineage(engine, name) == [v1]
