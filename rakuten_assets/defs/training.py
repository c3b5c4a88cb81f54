"""Group `training`: training set, candidate model, evaluation on the golden holdout, promotion."""

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import mlflow
import pandas as pd
from sqlalchemy import select

from rakuten_assets import registry, shadow
from rakuten_assets.calendar import MODEL_QUALITY_CHECK, WEEKLY_JOB, Calendar
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data import catalog as cat
from rakuten_assets.data.loader import read_loaded, target_pct
from rakuten_assets.db import data_loads
from rakuten_assets.defs.health import production_realised_performance
from rakuten_assets.defs.ingestion import class_distribution_markdown, product_slice
from rakuten_assets.defs.resources import (
    CatalogResource,
    DatabaseResource,
    MlflowTracking,
    ModelRegistryResource,
)
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.calibration import calibrate
from rakuten_assets.training.evaluation import (
    Scores,
    score_model,
    split_train_validation,
    top_confusions,
)
from rakuten_assets.training.model import ModelParams, fit


@dataclass
class TrainingSet:
    """Loaded products up to a week, split into train / validation before any rebalancing."""

    train: pd.DataFrame
    validation: pd.DataFrame
    partition_key: str
    batch_id: str
    dataset_hash: str
    loaded_pct: float


class ModelConfig(dg.Config):
    """Hyper-parameters of the candidate model, editable in the launchpad.

    The same fields and defaults as ``ModelParams`` (chosen by ``bench/model_selection.py``),
    which validates them; a test keeps the two in step.
    """

    word_ngram_max: int = 1
    word_min_df: int = 2
    word_max_features: int | None = None
    description_max_chars: int = 0
    char_field: str = "title"
    char_ngram_min: int = 3
    char_ngram_max: int = 4
    char_min_df: int = 2
    char_max_features: int = 30_000
    C: float = 2.0
    solver: str = "sag"
    max_iter: int = 10
    tol: float = 1e-4
    rebalance: str = "class_weight"
    oversample_floor: float = 0.3
    seed: int = 42

    def params(self) -> ModelParams:
        return ModelParams.model_validate(self.model_dump())


def dataset_hash(frame: pd.DataFrame) -> str:
    ids = frame.index.to_numpy().astype("int64").tobytes()
    labels = frame["prdtypecode"].to_numpy().astype("int64").tobytes()
    return hashlib.sha256(ids + labels).hexdigest()


@dg.asset(
    group_name="training",
    kinds={"pandas", "scikitlearn"},
    # Production scores the new slice before these rows train anything.
    deps=[product_slice, production_realised_performance],
)
def training_set(
    context: dg.AssetExecutionContext, database: DatabaseResource, catalog: CatalogResource
) -> dg.Output[TrainingSet]:
    """Everything loaded up to this week, split into train and validation parts.

    The split is stratified and comes before any rebalancing, so no copy of a validation row can
    leak into training (a flaw of the original system).
    """
    index = Calendar.from_settings().slice_index(context.partition_key)
    frame = read_loaded(database.engine, index)
    if frame.empty:
        raise ValueError(
            f"no products loaded up to partition {context.partition_key}; "
            "materialise product_slice for this week first"
        )
    with database.engine.connect() as conn:
        batch_id = conn.execute(
            select(data_loads.c.batch_id)
            .where(data_loads.c.slice_index <= index, data_loads.c.status == "completed")
            .order_by(data_loads.c.slice_index.desc(), data_loads.c.completed_at.desc())
            .limit(1)
        ).scalar_one()
    train, validation = split_train_validation(frame, catalog.validation_fraction, catalog.seed)
    data = TrainingSet(
        train=train,
        validation=validation,
        partition_key=context.partition_key,
        batch_id=str(batch_id),
        dataset_hash=dataset_hash(frame),
        loaded_pct=target_pct(index, catalog.initial_pct, catalog.increment_pct),
    )
    return dg.Output(
        data,
        metadata={
            "rows": len(frame),
            "train_rows": len(train),
            "validation_rows": len(validation),
            "classes": int(frame["prdtypecode"].nunique()),
            "loaded_pct": dg.MetadataValue.float(data.loaded_pct),
            "batch_id": data.batch_id,
            "dataset_hash": data.dataset_hash,
            "class_distribution": dg.MetadataValue.md(
                class_distribution_markdown(frame["prdtypecode"])
            ),
        },
    )


@dg.asset(
    group_name="training",
    kinds={"scikitlearn", "mlflow"},
)
def candidate_model(
    context: dg.AssetExecutionContext,
    config: ModelConfig,
    training_set: TrainingSet,
    model_registry: ModelRegistryResource,
    mlflow_tracking: MlflowTracking,
) -> dg.Output[dict[str, Any]]:
    """This week's candidate: TF-IDF + LogisticRegression trained on the loaded products.

    Its probabilities are calibrated on the validation split (temperature scaling: the same
    predictions, confidences that mean what they say). One MLflow run (params, validation
    metrics, calibration, classification report, confusion matrix, git
    sha, data version) and a new version of `rakuten_classifier` in the registry, in Staging.
    """
    params = config.params()
    tracking = mlflow_tracking.start_run(context)
    started = time.perf_counter()
    try:
        model = fit(training_set.train, params)
        calibration = calibrate(model, training_set.validation)
        train_seconds = time.perf_counter() - started
        validation = score_model(model, training_set.validation)
        mlflow.set_tags(
            {"dagster_partition": context.partition_key, "dagster_asset": "candidate_model"}
        )
        mlflow.log_metrics(calibration.metrics())
        registered = registry.log_candidate(
            model=model,
            model_name=model_registry.model_name,
            params=params.model_dump(),
            validation=validation,
            input_example=training_set.validation,
            data_version={
                "batch_id": training_set.batch_id,
                "dataset_hash": training_set.dataset_hash,
                "partition_key": training_set.partition_key,
                "loaded_pct": training_set.loaded_pct,
                "train_rows": len(training_set.train),
            },
            train_seconds=train_seconds,
        )
    except BaseException:
        tracking.cleanup_on_error()
        raise
    mlflow.end_run()
    value = {
        "version": registered.version,
        "run_id": registered.run_id,
        "model_uri": registered.model_uri,
        "validation": validation.summary(),
        "partition_key": context.partition_key,
    }
    return dg.Output(
        value,
        metadata={
            "model_version": registered.version,
            "mlflow_run": dg.MetadataValue.url(model_registry.run_url(registered.run_id)),
            "registry_version": dg.MetadataValue.url(
                model_registry.version_url(registered.version)
            ),
            "validation_weighted_f1": dg.MetadataValue.float(round(validation.weighted_f1, 4)),
            "validation_macro_f1": dg.MetadataValue.float(round(validation.macro_f1, 4)),
            "calibration_temperature": dg.MetadataValue.float(round(calibration.temperature, 4)),
            "validation_ece_before": dg.MetadataValue.float(round(calibration.ece_before, 4)),
            "validation_ece_after": dg.MetadataValue.float(round(calibration.ece_after, 4)),
            "train_rows": len(training_set.train),
            "train_seconds": dg.MetadataValue.float(round(train_seconds, 1)),
        },
    )


def per_class_markdown(candidate: Scores, production: Scores | None) -> str:
    codes = list(candidate.labels)
    frame = pd.DataFrame(
        {
            "prdtypecode": codes,
            "category": [CATEGORY_LABELS.get(code, "?") for code in codes],
            "candidate F1": [candidate.per_class_f1[code] for code in codes],
            "Production F1": [
                f"{production.per_class_f1.get(code, 0.0):.3f}" if production else "-"
                for code in codes
            ],
        }
    )
    return markdown_table(frame, floatfmt=".3f")


@dg.asset(
    group_name="training",
    kinds={"scikitlearn", "mlflow"},
    check_specs=[
        dg.AssetCheckSpec(
            MODEL_QUALITY_CHECK,
            asset="model_evaluation",
            blocking=True,
            description="Candidate weighted F1 on the golden holdout >= the promotion threshold.",
        )
    ],
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    candidate_model: dict[str, Any],
    catalog: CatalogResource,
    database: DatabaseResource,
    model_registry: ModelRegistryResource,
) -> Iterator[dg.Output[dict[str, Any]] | dg.AssetCheckResult]:
    """Candidate and current Production scored on the same frozen golden holdout.

    Weighted F1 (the gate metric), macro F1, accuracy and per-class F1 for both, so the
    promotion decision compares like with like.
    """
    client = model_registry.client()
    holdout = cat.read_holdout(catalog.directory)
    holdout_hash = str(cat.read_manifest(catalog.directory)["holdout_hash"])
    version = int(candidate_model["version"])
    scored = registry.score_against_production(client, model_registry.model_name, version, holdout)
    candidate, production = scored.candidate, scored.production
    run_id = str(candidate_model["run_id"])
    for key, value in candidate.summary().items():
        client.log_metric(run_id, f"holdout_{key}", float(value))
    if production is not None:
        client.log_metric(run_id, "production_holdout_weighted_f1", production.weighted_f1)
    client.log_text(run_id, candidate.report, "holdout/classification_report.txt")
    registry.log_confusion_matrix(run_id, candidate, "holdout/confusion_matrix.png")
    shadow_report = shadow.shadow_score(
        database.engine,
        client,
        model_registry.model_name,
        version,
        days=model_registry.shadow_days,
        retention_days=model_registry.capture_retention_days,
    )
    if shadow_report is not None:
        shadow.log_to_mlflow(client, run_id, shadow_report)

    evaluation: dict[str, Any] = {
        "candidate_version": version,
        "run_id": run_id,
        "production_version": scored.production_version,
        "candidate": candidate.summary(),
        "production": production.summary() if production else None,
        "holdout_hash": holdout_hash,
        "shadow": shadow_report.to_json() if shadow_report is not None else None,
    }
    threshold = model_registry.min_weighted_f1
    passed = candidate.weighted_f1 >= threshold
    if not passed:
        registry.record_rejection(
            client,
            database.engine,
            model_registry.model_name,
            registry.GateEvidence.from_evaluation(evaluation),
            registry.GateRun(threshold, WEEKLY_JOB, context.partition_key, context.run_id),
            registry.decide(candidate.weighted_f1, None, threshold).reason,
        )
    comparison = pd.DataFrame(
        {"candidate": candidate.summary(), "production": production.summary() if production else {}}
    )
    check = dg.AssetCheckResult(
        check_name=MODEL_QUALITY_CHECK,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "weighted_f1": dg.MetadataValue.float(round(candidate.weighted_f1, 4)),
            "threshold": dg.MetadataValue.float(threshold),
        },
    )
    yield dg.Output(
        evaluation,
        metadata={
            "candidate_version": version,
            "production_version": evaluation["production_version"] or "none",
            "candidate_weighted_f1": dg.MetadataValue.float(round(candidate.weighted_f1, 4)),
            "candidate_macro_f1": dg.MetadataValue.float(round(candidate.macro_f1, 4)),
            "candidate_accuracy": dg.MetadataValue.float(round(candidate.accuracy, 4)),
            "production_weighted_f1": dg.MetadataValue.float(
                round(production.weighted_f1, 4) if production else float("nan")
            ),
            "holdout_rows": candidate.rows,
            "comparison": dg.MetadataValue.md(comparison.to_markdown()),
            "per_class_f1": dg.MetadataValue.md(per_class_markdown(candidate, production)),
            "top_confusions": dg.MetadataValue.md(markdown_table(top_confusions(candidate))),
            "mlflow_run": dg.MetadataValue.url(model_registry.run_url(run_id)),
            **shadow_metadata(shadow_report),
        },
    )
    yield check


def shadow_metadata(report: shadow.ShadowReport | None) -> dict[str, Any]:
    """Dagster metadata of the shadow scoring on captured traffic (or why there is none)."""
    if report is None:
        return {"shadow_rows": 0, "shadow": "no captured traffic in the window (CAPTURE_INPUTS)"}
    agreement = report.agreement
    return {
        "shadow_rows": report.rows,
        "shadow_window": f"{report.start:%Y-%m-%d %H:%M} .. {report.end:%Y-%m-%d %H:%M} UTC",
        "shadow_agreement": dg.MetadataValue.float(
            agreement if agreement is not None else float("nan")
        ),
        "shadow_estimated_weighted_f1": dg.MetadataValue.float(
            report.candidate_estimate.expected_weighted_f1
        ),
        "shadow_top_disagreements": dg.MetadataValue.md(shadow.disagreements_markdown(report)),
    }


@dg.asset(
    group_name="training",
    kinds={"mlflow"},
)
def model_promotion(
    context: dg.AssetExecutionContext,
    model_evaluation: dict[str, Any],
    database: DatabaseResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """The decision: Production when weighted F1 >= 0.75 and better than the current Production.

    Both were scored on the same golden holdout. The alias `production` moves and the previous
    version becomes Archived; a rejected candidate keeps its reason. Each decision is a row of
    `model_promotions` and tags on the MLflow version.
    """
    client = model_registry.client()
    evidence = registry.GateEvidence.from_evaluation(model_evaluation)
    gate = registry.GateRun(
        model_registry.min_weighted_f1,
        WEEKLY_JOB,
        context.partition_key,
        context.run_id,
        min_agreement=model_registry.shadow_min_agreement,
    )
    decision = registry.apply_gate(
        client, database.engine, model_registry.model_name, evidence, gate
    )
    current = registry.production_version(client, model_registry.model_name)
    return dg.MaterializeResult(
        metadata={
            "decision": "promoted" if decision.promote else "rejected",
            "reason": decision.reason,
            "candidate_version": evidence.candidate_version,
            "candidate_weighted_f1": dg.MetadataValue.float(evidence.candidate_weighted_f1),
            "previous_production_version": evidence.production_version or "none",
            "production_version_now": int(current.version) if current else "none",
            "shadow_min_agreement": (
                "not part of the gate"
                if gate.min_agreement is None
                else dg.MetadataValue.float(gate.min_agreement)
            ),
            **shadow_metadata(
                shadow.ShadowReport.from_json(evidence.shadow) if evidence.shadow else None
            ),
            "registry_version": dg.MetadataValue.url(
                model_registry.version_url(evidence.candidate_version)
            ),
        }
    )
