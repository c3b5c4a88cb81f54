"""What the registry holds, as an operator reads it: each version with its stage, aliases,
scores, data version and git sha, and a chosen version's per-class F1, confusion matrix and
shadow report."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from rakuten_assets.registry import PRODUCTION_ALIAS, STAGE_TAG
from rakuten_assets.shadow import REPORT_ARTIFACT, ShadowReport

#: Where the training run keeps what the Models page shows (see `registry.log_candidate` and
#: the `model_evaluation` asset).
PER_CLASS_F1_ARTIFACT = "validation/per_class_f1.json"
CONFUSION_ARTIFACTS = ("holdout/confusion_matrix.png", "validation/confusion_matrix.png")


@dataclass(frozen=True)
class VersionSummary:
    version: int
    stage: str
    aliases: tuple[str, ...]
    created_at: datetime
    run_id: str | None
    #: Scores on the golden holdout (None for a version never evaluated there).
    holdout_weighted_f1: float | None
    holdout_macro_f1: float | None
    #: Scores on the week's validation split.
    val_weighted_f1: float | None
    val_macro_f1: float | None
    data_version: dict[str, Any]
    git_sha: str | None

    @property
    def is_production(self) -> bool:
        return PRODUCTION_ALIAS in self.aliases


def _metric(metrics: dict[str, float], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if value is not None else None


def model_versions(client: MlflowClient, model_name: str) -> list[VersionSummary]:
    """Every version of ``model_name``, newest first (two registry calls, one run per version)."""
    try:
        # Search results leave the aliases out: the registered model has them all.
        aliases = dict(client.get_registered_model(model_name).aliases)
        # MLflow's filter grammar quotes values with single quotes; a name cannot contain one.
        found = client.search_model_versions(f"name = '{model_name}'")
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise
    summaries = []
    for version in sorted(found, key=lambda v: int(v.version), reverse=True):
        metrics: dict[str, float] = {}
        run_tags: dict[str, str] = {}
        if version.run_id:
            run = client.get_run(version.run_id)
            metrics, run_tags = dict(run.data.metrics), dict(run.data.tags)
        summaries.append(
            VersionSummary(
                version=int(version.version),
                stage=str(version.tags.get(STAGE_TAG, "None")),
                aliases=tuple(
                    sorted(a for a, v in aliases.items() if str(v) == str(version.version))
                ),
                created_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
                run_id=version.run_id or None,
                holdout_weighted_f1=_metric(metrics, "holdout_weighted_f1"),
                holdout_macro_f1=_metric(metrics, "holdout_macro_f1"),
                val_weighted_f1=_metric(metrics, "val_weighted_f1"),
                val_macro_f1=_metric(metrics, "val_macro_f1"),
                data_version=json.loads(version.tags.get("data_version", "{}")),
                git_sha=run_tags.get("git_sha"),
            )
        )
    return summaries


def per_class_f1(client: MlflowClient, run_id: str) -> dict[int, float]:
    """The per-class F1 the training run logged (empty when it logged none)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, PER_CLASS_F1_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return {}
        return {int(k): float(v) for k, v in json.loads(Path(path).read_text()).items()}


def confusion_image(client: MlflowClient, run_id: str) -> bytes | None:
    """The run's confusion matrix image (holdout if evaluated there, else validation)."""
    with tempfile.TemporaryDirectory() as tmp:
        for artifact in CONFUSION_ARTIFACTS:
            try:
                return Path(client.download_artifacts(run_id, artifact, tmp)).read_bytes()
            except (MlflowException, OSError):
                continue
    return None


def shadow_report(client: MlflowClient, run_id: str) -> ShadowReport | None:
    """The shadow report of the gate that evaluated this run (None when there was none)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, REPORT_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return None
        return ShadowReport.from_json(json.loads(Path(path).read_text()))
