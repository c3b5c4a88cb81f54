"""Product database schema (SQLAlchemy Core) and engine helpers.

The schema is created and upgraded by the Alembic migrations in ``rakuten_assets/migrations``;
the tables here are the single description of it that the code uses, and a test checks that the
migrations produce exactly this schema on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: One row per load attempt of a weekly slice (the audit trail).
data_loads = Table(
    "data_loads",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("partition_key", String(32), nullable=False),
    Column("slice_index", Integer, nullable=False),
    Column("target_pct", Float, nullable=False),
    Column("start_rank", Integer, nullable=False),
    Column("end_rank", Integer, nullable=False),
    Column("rows_inserted", Integer, nullable=False, default=0),
    Column("rows_total", Integer),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("catalog_hash", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("duration_s", Float),
    Index(None, "partition_key"),
    Index(None, "status"),
)

#: The labelled products loaded so far (never the golden holdout).
products = Table(
    "products",
    metadata,
    Column("product_row_id", Integer, primary_key=True, autoincrement=False),
    Column("designation", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("productid", BigInteger, nullable=False),
    Column("imageid", BigInteger, nullable=False),
    Column("prdtypecode", Integer, nullable=False),
    Column("load_rank", Integer, nullable=False),
    Column("slice_index", Integer, nullable=False),
    Column("batch_id", String(36), ForeignKey("data_loads.batch_id"), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Index(None, "slice_index"),
    Index(None, "load_rank", unique=True),
)

#: Per-row history: which load inserted which product, and when.
product_history = Table(
    "product_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_row_id", Integer, nullable=False),
    Column("batch_id", String(36), ForeignKey("data_loads.batch_id"), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index(None, "product_row_id"),
    Index(None, "batch_id"),
)

#: Every promotion decision (and rollback) of the model registry.
model_promotions = Table(
    "model_promotions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(128), nullable=False),
    Column("candidate_version", Integer, nullable=False),
    Column("production_version", Integer),
    Column("candidate_weighted_f1", Float),
    Column("production_weighted_f1", Float),
    Column("threshold", Float),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("partition_key", String(32)),
    Column("holdout_hash", String(64)),
    Column("dagster_run_id", String(64)),
    Column("mlflow_run_id", String(64)),
    Column("actor", String(128), nullable=False),
    #: The candidate's shadow scoring on captured traffic (``rakuten_assets.shadow``), if any.
    Column("shadow", JSON),
    Index(None, "model_name", "decided_at"),
)

#: One row per prediction served by the API (written off the request path; see serving/).
#: ``prediction_id`` is the primary key so that replaying the API's spool file is idempotent.
prediction_log = Table(
    "prediction_log",
    metadata,
    Column("prediction_id", String(36), primary_key=True),
    Column("predicted_at", DateTime(timezone=True), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("text_length", Integer, nullable=False),
    Column("word_count", Integer, nullable=False),
    Column("has_description", Boolean, nullable=False),
    Column("predicted_code", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("top_k", JSON, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("productid", BigInteger),
    Column("imageid", BigInteger),
    #: Share of the input's word tokens missing from the serving model's vocabulary (0..1);
    #: NULL for rows logged before migration 0003.
    Column("unknown_token_share", Float),
    Index(None, "predicted_at"),
    Index(None, "model_version", "predicted_at"),
)

#: The input texts of served predictions, kept only when CAPTURE_INPUTS is on and only for
#: CAPTURE_RETENTION_DAYS (personal-data relevant). Written in the same transaction as their
#: ``prediction_log`` rows; read by the shadow scoring of a candidate (``rakuten_assets.shadow``).
prediction_inputs = Table(
    "prediction_inputs",
    metadata,
    Column("prediction_id", String(36), primary_key=True),
    Column("predicted_at", DateTime(timezone=True), nullable=False),
    Column("designation", Text, nullable=False),
    Column("description", Text),
    Index(None, "predicted_at"),
)

#: True product types that arrived after the prediction (``POST /api/feedback``): one label per
#: logged prediction, written by ``rakuten_assets.feedback``. No foreign key: the log may be
#: pruned without touching the labels.
prediction_feedback = Table(
    "prediction_feedback",
    metadata,
    Column("prediction_id", String(36), primary_key=True),
    Column("prdtypecode", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

#: Production scored on each new weekly slice before training uses it (its realised
#: performance on rows it never saw), written by ``rakuten_assets.realised``.
realised_performance = Table(
    "realised_performance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partition_key", String(32), nullable=False),
    Column("slice_index", Integer, nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("weighted_f1", Float, nullable=False),
    Column("macro_f1", Float, nullable=False),
    Column("accuracy", Float, nullable=False),
    #: ``{prdtypecode: F1}`` of the slice.
    Column("per_class_f1", JSON, nullable=False),
    #: The model's weighted F1 on the golden holdout, and that minus the slice's.
    Column("holdout_weighted_f1", Float),
    Column("drop", Float),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("dagster_run_id", String(64)),
    Index(None, "partition_key", unique=True),
)

#: Daily rollups of ``prediction_log`` for the drift report: per local day (of ``timezone``),
#: signal and serving model version, how many predictions had each value (float signals by
#: 0.001 bucket, see ``drift/rollups.py``). A report sums 37 days of these instead of reading
#: every logged row, and can compare a model version with itself.
prediction_log_daily = Table(
    "prediction_log_daily",
    metadata,
    Column("timezone", String(64), primary_key=True),
    Column("local_day", Date, primary_key=True),
    Column("signal", String(32), primary_key=True),
    Column("model_version", Integer, primary_key=True, autoincrement=False),
    Column("value", Integer, primary_key=True, autoincrement=False),
    Column("count", Integer, nullable=False),
)

#: One row per rolled-up day: how many ``prediction_log`` rows its rollup was built from, and
#: when. A day whose row count no longer matches (late rows, the day still filling) is rebuilt.
prediction_log_rollups = Table(
    "prediction_log_rollups",
    metadata,
    Column("timezone", String(64), primary_key=True),
    Column("local_day", Date, primary_key=True),
    Column("source_rows", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("duration_s", Float, nullable=False),
)

#: Operator actions (retrain, rollback, roll-forward, re-gate) from the API, the CLI or the UI, with
#: their outcome, refusals included (written by `rakuten_assets.operations`).
api_actions = Table(
    "api_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("target_version", Integer),
    Column("previous_version", Integer),
    Column("dagster_run_id", String(64)),
    Column("partition_key", String(32)),
    Column("detail", Text),
    #: The drift alert this action answers, when it answers one.
    Column("alert_id", Integer, ForeignKey("alerts.id")),
    #: Where the action came from: "api", "cli" or "ui" (the control room).
    Column("door", String(16), nullable=False, server_default="api"),
    Index(None, "requested_at"),
)

#: One drift report per report date (a re-run of the same day replaces it, keeping its id).
drift_reports = Table(
    "drift_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_date", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("current_start", DateTime(timezone=True), nullable=False),
    Column("current_end", DateTime(timezone=True), nullable=False),
    Column("reference_start", DateTime(timezone=True), nullable=False),
    Column("reference_end", DateTime(timezone=True), nullable=False),
    Column("reference_count", Integer, nullable=False),
    Column("current_count", Integer, nullable=False),
    #: ``ok`` (a full report) or ``insufficient_data`` (below the minimum sample size).
    Column("status", String(24), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("driving_signal", String(32)),
    #: Per-signal results: PSI, test statistic and p-value, flagged, severity, JS distance.
    Column("signals", JSON, nullable=False),
    Column("model_version", Integer),
    Column("dagster_run_id", String(64)),
    Column("duration_s", Float),
    Index(None, "report_date", unique=True),
)

#: Drift alerts raised from reports (open -> acknowledged -> resolved).
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: NULL for an alert raised by something other than a drift report (a realised-F1 drop).
    Column("report_id", Integer, ForeignKey("drift_reports.id")),
    Column("report_date", Date, nullable=False),
    Column("signal", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("recommended_action", Text, nullable=False),
    Column("psi", Float),
    Column("p_value", Float),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "signal", "report_date"),
    Index(None, "status"),
)

#: What operators (or the platform) did about an alert: who, when, what.
alert_actions = Table(
    "alert_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("details", JSON),
    # api, cli or ui; NULL for actions recorded before the door was kept (revision 0009).
    Column("door", String(16)),
    Index(None, "alert_id"),
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the API read while a load writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@cache
def get_engine(url: str) -> Engine:
    """A pooled engine per URL (SQLite files get WAL mode and foreign keys)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaMissingError(RuntimeError):
    """The product database has not been initialised."""


def require_schema(engine: Engine) -> None:
    """Raise a clear error when the database has not been initialised."""
    if "data_loads" not in inspect(engine).get_table_names():
        raise SchemaMissingError(
            f"the product database at {engine.url.render_as_string(hide_password=True)} has no "
            "schema; run `rakuten init-db` (or `make init-db`) first"
        )
