"""Typed Dagster resources, filled from the shared settings object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_mlflow.resources import MlFlow
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from rakuten_assets import registry
from rakuten_assets.db import get_engine
from rakuten_assets.drift.report import DriftParameters
from rakuten_assets.settings import Settings


class DatabaseResource(dg.ConfigurableResource):
    """The product database (SQLite by default, PostgreSQL when DATABASE_URL says so)."""

    url: str

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)


class CatalogResource(dg.ConfigurableResource):
    """Where the catalog comes from and how it is split and loaded."""

    catalog_dir: str
    x_path: str | None = None
    y_path: str | None = None
    synthetic_rows: int = 84_916
    seed: int = 42
    holdout_fraction: float = 0.10
    initial_pct: float = 40.0
    increment_pct: float = 3.0
    validation_fraction: float = 0.15

    @property
    def directory(self) -> Path:
        return Path(self.catalog_dir)


class ModelRegistryResource(dg.ConfigurableResource):
    """The MLflow registry of `rakuten_classifier` and the promotion threshold."""

    tracking_uri: str
    model_name: str = "rakuten_classifier"
    experiment_name: str = "rakuten_weekly_training"
    artifact_root: str | None = None
    ui_url: str = "http://127.0.0.1:5000"
    min_weighted_f1: float = 0.75
    #: Production's weighted F1 on a new slice may fall this far below its holdout score.
    max_realised_f1_drop: float = 0.05
    #: Shadow scoring before the gate: days of captured traffic, their retention, and the
    #: least agreement with Production the gate requires (None: not part of the gate).
    shadow_days: int = 7
    capture_retention_days: int = 7
    shadow_min_agreement: float | None = None

    def client(self) -> MlflowClient:
        return registry.configure(self.tracking_uri)

    def experiment_id(self) -> str:
        root = Path(self.artifact_root) if self.artifact_root else None
        return registry.ensure_experiment(self.client(), self.experiment_name, root)

    def run_url(self, run_id: str) -> str:
        experiment = self.experiment_id()
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"

    def version_url(self, version: int) -> str:
        return f"{self.ui_url.rstrip('/')}/#/models/{self.model_name}/versions/{version}"


class DriftMonitorResource(dg.ConfigurableResource):
    """Windows, bins and thresholds of the daily drift check, and where its alerts go.

    No defaults of its own: :meth:`from_settings` fills every field from the settings.
    """

    current_days: int
    reference_days: int
    min_samples: int
    bins: int
    binning: str
    timezone: str
    min_rows_per_version: int
    cooldown_days: int
    auto_retrain: bool
    webhook_url: str | None
    webhook_attempts: int
    webhook_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftMonitorResource:
        return cls(
            **asdict(DriftParameters.from_settings(settings)),
            cooldown_days=settings.alert_cooldown_days,
            auto_retrain=settings.drift_auto_retrain,
            webhook_url=settings.alert_webhook_url,
            webhook_attempts=settings.alert_webhook_attempts,
            webhook_timeout_seconds=settings.alert_webhook_timeout_seconds,
        )

    @property
    def parameters(self) -> DriftParameters:
        """How the report is computed: this resource's fields of that name (a bad binning or
        window fails here, with its name)."""
        return DriftParameters(**{f.name: getattr(self, f.name) for f in fields(DriftParameters)})


@dataclass
class _TrackingContext:
    """The fields dagster-mlflow's ``MlFlow`` reads from its (legacy) init context."""

    log: Any
    dagster_run: Any
    run_id: str
    resource_config: dict[str, Any]


class MlflowTracking(dg.ConfigurableResource):
    """dagster-mlflow's tracking, typed: one MLflow run per Dagster run, tagged with its run id.

    The experiment is created first (with our artifact root for local stores), which the plain
    ``mlflow_tracking`` resource cannot do.
    """

    tracking_uri: str
    experiment_name: str = "rakuten_weekly_training"
    artifact_root: str | None = None

    def start_run(self, context: dg.AssetExecutionContext) -> MlFlow:
        """Start (or resume, for this Dagster run) the MLflow run and make it active."""
        client = registry.configure(self.tracking_uri)
        root = Path(self.artifact_root) if self.artifact_root else None
        registry.ensure_experiment(client, self.experiment_name, root)
        config = {
            "experiment_name": self.experiment_name,
            "mlflow_tracking_uri": self.tracking_uri,
            "parent_run_id": None,
            "mlflow_run_id": None,
            "env": {},
            "env_to_tag": None,
            "extra_tags": {"dagster_job": context.job_name},
        }
        return MlFlow(_TrackingContext(context.log, context.run, context.run_id, config))


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource of the code location, from one settings object."""
    is_file_store = settings.mlflow_is_local
    return {
        "database": DatabaseResource(url=settings.sqlalchemy_url),
        "catalog": CatalogResource(
            catalog_dir=str(settings.catalog_dir),
            x_path=str(settings.catalog_x_path) if settings.catalog_x_path else None,
            y_path=str(settings.catalog_y_path) if settings.catalog_y_path else None,
            synthetic_rows=settings.synthetic_rows,
            seed=settings.random_seed,
            holdout_fraction=settings.holdout_fraction,
            initial_pct=settings.initial_load_pct,
            increment_pct=settings.weekly_increment_pct,
            validation_fraction=settings.validation_fraction,
        ),
        "model_registry": ModelRegistryResource(
            tracking_uri=settings.tracking_uri,
            model_name=settings.registered_model_name,
            experiment_name=settings.mlflow_experiment,
            artifact_root=str(settings.mlflow_artifact_root) if is_file_store else None,
            ui_url=settings.mlflow_ui_url,
            min_weighted_f1=settings.min_weighted_f1,
            max_realised_f1_drop=settings.realised_f1_max_drop,
            shadow_days=settings.shadow_days,
            capture_retention_days=settings.capture_retention_days,
            shadow_min_agreement=settings.shadow_min_agreement,
        ),
        "mlflow_tracking": MlflowTracking(
            tracking_uri=settings.tracking_uri,
            experiment_name=settings.mlflow_experiment,
            artifact_root=str(settings.mlflow_artifact_root) if is_file_store else None,
        ),
        "drift": DriftMonitorResource.from_settings(settings),
        "io_manager": dg.FilesystemIOManager(base_dir=str(settings.data_dir / "dagster_storage")),
    }
