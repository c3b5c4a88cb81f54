"""One typed settings object for every part of the platform, fed by environment variables.

Defaults need no setup: a SQLite product database, Dagster storage under ``var/dagster`` and an
MLflow SQLite backend with a local artifact directory, all inside the project's ``var/`` dir.
Set ``DATABASE_URL`` / ``MLFLOW_TRACKING_URI`` to use PostgreSQL and an MLflow server.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Platform settings; every field maps to the upper-case environment variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="Deployment mode; production refuses placeholder secrets."
    )
    data_dir: Path = Field(PROJECT_ROOT / "var", description="Root of all local state.")

    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the product database; empty = SQLite in DATA_DIR.",
    )
    mlflow_tracking_uri: str = Field(
        "", description="MLflow tracking URI; empty = SQLite backend in DATA_DIR."
    )
    mlflow_experiment: str = Field(
        "rakuten_weekly_training",
        description="MLflow experiment that receives the weekly training runs.",
    )
    mlflow_ui_url: str = Field(
        "http://127.0.0.1:5000", description="Base URL used to link runs in Dagster metadata."
    )
    registered_model_name: str = Field(
        "rakuten_classifier",
        description="MLflow registered model holding every candidate and the Production one.",
    )

    # Catalog source: the real challenge files when both are set, else the synthetic generator.
    catalog_x_path: Path | None = Field(None, description="Path of X_train_update.csv.")
    catalog_y_path: Path | None = Field(None, description="Path of Y_train_CVw08PX.csv.")
    synthetic_rows: int = Field(
        84_916, ge=27, description="Rows of the synthetic catalog, used when no real files are set."
    )
    random_seed: int = Field(
        42,
        description="Seed of the synthetic catalog, golden holdout, load order and validation split.",
    )
    holdout_fraction: float = Field(
        0.10, gt=0.0, lt=0.5, description="Share of the catalog frozen as the golden holdout."
    )

    # Incremental loads: 40 % first, then +3 % per weekly partition, capped at 100 %.
    initial_load_pct: float = Field(
        40.0, gt=0.0, le=100.0, description="Percentage of the pool loaded by the first week."
    )
    weekly_increment_pct: float = Field(
        3.0, gt=0.0, le=100.0, description="Percentage points added by each later week."
    )
    pipeline_start_date: str = Field(
        "2026-01-05", description="First weekly partition (a Monday, Europe/Paris)."
    )
    pipeline_timezone: str = Field(
        "Europe/Paris", description="Time zone of the weekly partitions and schedules."
    )

    # Promotion gate.
    min_weighted_f1: float = Field(
        0.75, ge=0.0, le=1.0, description="Promotion gate: minimum weighted F1 on the holdout."
    )
    validation_fraction: float = Field(
        0.15,
        gt=0.0,
        lt=0.5,
        description="Share of loaded rows kept for validation, split off before rebalancing.",
    )

    dagster_url: str = Field("http://127.0.0.1:3000", description="Dagster webserver URL.")
    dagster_ui_url: str = Field(
        "",
        description="Dagster webserver URL as a browser opens it (the control room's links); "
        "empty = DAGSTER_URL.",
    )

    # Prediction API (serving/).
    api_host: str = Field("127.0.0.1", description="Interface `rakuten serve` binds the API to.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the prediction API.")
    api_admin_token: SecretStr | None = Field(
        None,
        description="Bearer token of the API's control endpoints (retrain, rollback); "
        "required outside development, at least 16 characters.",
    )
    api_client_token: SecretStr | None = Field(
        None, description="Bearer token required by /predict when set; empty = open predictions."
    )
    api_model_poll_seconds: float = Field(
        10.0, gt=0.0, description="How often the API checks the registry for a new Production."
    )
    api_registry_timeout_seconds: float = Field(
        5.0, gt=0.0, description="Timeout of one MLflow registry request made by the API."
    )
    api_max_batch_items: int = Field(
        1_000, ge=1, description="Maximum number of items of one /predict/batch call."
    )
    api_max_body_bytes: int = Field(
        1_048_576, ge=1_024, description="Largest request body the API accepts (413 above)."
    )
    api_max_field_chars: int = Field(
        20_000, ge=100, description="Longest designation or description accepted (413 above)."
    )
    api_microbatch_max_size: int = Field(
        64, ge=1, description="Most single predictions the API scores in one model call."
    )
    api_microbatch_max_wait_ms: float = Field(
        1.0,
        ge=0.0,
        description="How long a single prediction may wait for others to share its model call.",
    )
    api_log_queue_size: int = Field(
        100_000,
        ge=1,
        description="Prediction-log records held in memory before they go to the spool file.",
    )
    api_log_batch_size: int = Field(
        1_000, ge=1, description="Most prediction-log rows written in one database insert."
    )
    api_log_flush_seconds: float = Field(
        0.5, gt=0.0, description="Longest time a prediction-log record waits before its insert."
    )
    prometheus_multiproc_dir: Path | None = Field(
        None,
        description="Directory of prometheus-client's multiprocess mode, for several API "
        "workers (read by prometheus-client itself; `rakuten serve --workers N` sets it).",
    )

    # Control room (ui/, Streamlit).
    api_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL of the prediction API that the control room calls (health, predict).",
    )
    grafana_url: str = Field(
        "http://127.0.0.1:3001", description="Grafana URL the control room links to."
    )
    ui_port: int = Field(
        8501, ge=1, le=65535, description="Port of the control room (`rakuten ui`)."
    )
    ui_request_timeout_seconds: float = Field(
        5.0, gt=0.0, description="Timeout of one control-room call to the API or Dagster."
    )

    # Drift monitoring and alerts.
    drift_current_days: int = Field(
        7, ge=1, description="Days of logged predictions in a drift report's current window."
    )
    drift_reference_days: int = Field(
        30, ge=1, description="Days before the current window that form the reference window."
    )
    drift_min_samples: int = Field(
        100,
        ge=1,
        description="Fewest predictions per window for a meaningful report "
        "(below: status insufficient_data).",
    )
    drift_min_rows_per_version: int = Field(
        500,
        ge=1,
        description="Fewest predictions of the current window's main model version in each "
        "window for confidence, class mix and unknown-token share to compare that version "
        "with itself (below: every version's rows, and the report says why).",
    )
    drift_bins: int = Field(10, ge=2, le=1_000, description="PSI bins of the numeric signals.")
    drift_binning: Literal["equal_width", "quantile"] = Field(
        "equal_width",
        description="PSI bins: equal width over both windows' range, or reference quantiles.",
    )
    drift_start_date: str = Field(
        "2026-01-01", description="First daily partition of the drift check (YYYY-MM-DD)."
    )
    alert_cooldown_days: int = Field(
        3,
        ge=0,
        description="An alert on a signal is not raised again within this many days of an "
        "open or acknowledged one, unless its severity rises.",
    )
    realised_f1_max_drop: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Alert when Production's weighted F1 on a new weekly slice (rows it never "
        "saw) is more than this below its own golden-holdout score.",
    )
    drift_auto_retrain: bool = Field(
        False,
        description="When true, a CRITICAL drift report launches weekly_ml_pipeline by itself; "
        "otherwise the alert recommends it to an operator.",
    )
    alert_webhook_url: str | None = Field(
        None, description="URL that receives a JSON POST for each new alert; empty = none."
    )
    alert_webhook_attempts: int = Field(
        3, ge=1, le=10, description="Delivery attempts of one alert webhook call."
    )
    alert_webhook_timeout_seconds: float = Field(
        5.0, gt=0.0, description="Timeout of one webhook delivery attempt."
    )

    # Input capture and shadow scoring of a candidate before the promotion gate.
    capture_inputs: bool = Field(
        False,
        description="Store the designation and description of every served prediction "
        "(table prediction_inputs) so that a candidate can be shadow-scored on real traffic. "
        "PERSONAL-DATA RELEVANT: merchants' free text may name people; off by default, on in "
        "the demo.",
    )
    capture_retention_days: int = Field(
        7,
        ge=1,
        description="Days captured inputs are kept (personal-data relevant); the API's log "
        "writer deletes older ones, whether capture is on or off.",
    )
    shadow_days: int = Field(
        7, ge=1, description="Days of captured traffic a candidate is shadow-scored on."
    )
    shadow_min_agreement: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="When set, the promotion gate also requires the candidate to agree with "
        "Production on at least this share of the captured traffic; empty = not part of the gate.",
    )

    @field_validator("database_url", "mlflow_tracking_uri")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator(
        "alert_webhook_url", "prometheus_multiproc_dir", "shadow_min_agreement", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("api_admin_token", "api_client_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        # `API_ADMIN_TOKEN=` (as in a copied .env.example) means "not set", not "the empty token".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _dagster_ui_defaults_to_dagster(self) -> Settings:
        # In compose DAGSTER_URL is the service's internal name, which a browser cannot open.
        if not self.dagster_ui_url.strip():
            self.dagster_ui_url = self.dagster_url
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The product database URL, normalised to the psycopg 3 driver for PostgreSQL."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'rakuten.db'}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.data_dir / 'mlflow.db'}"

    @property
    def mlflow_is_local(self) -> bool:
        """A local store (SQLite / files): we choose the artifact root, not a server."""
        return not self.tracking_uri.startswith(("http://", "https://", "databricks"))

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.data_dir / "mlartifacts"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalog"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
