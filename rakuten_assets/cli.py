"""`rakuten`: the operator's command line (the Makefile verbs are thin wrappers over it)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import pandas as pd

from rakuten_assets.calendar import (
    DAILY_DRIFT_JOB,
    MODEL_PROMOTION,
    MODEL_QUALITY_CHECK,
    WEEKLY_JOB,
    Calendar,
)
from rakuten_assets.settings import PROJECT_ROOT, Settings, get_settings


def _settings() -> Settings:
    return get_settings()


def _engine(settings: Settings) -> Any:
    from rakuten_assets.db import get_engine

    return get_engine(settings.sqlalchemy_url)


def _defs() -> Any:
    from rakuten_assets.definitions import defs

    return defs


def _say(message: str) -> None:
    click.echo(click.style("==> ", fg="cyan", bold=True) + message, err=True)


def _init(settings: Settings) -> None:
    from rakuten_assets import registry
    from rakuten_assets.db import get_engine, upgrade_schema
    from rakuten_assets.runner import ensure_dagster_home

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(settings.sqlalchemy_url)
    upgrade_schema(engine)
    client = registry.configure(settings.tracking_uri)
    artifact_root = settings.mlflow_artifact_root if settings.mlflow_is_local else None
    registry.ensure_experiment(client, settings.mlflow_experiment, artifact_root)
    ensure_dagster_home(settings)


class _Group(click.Group):
    """Turns the errors an operator can fix into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        from rakuten_assets.data.catalog import CatalogError
        from rakuten_assets.db import SchemaMissingError
        from rakuten_assets.operations.actions import OperationError

        try:
            return super().invoke(ctx)
        except (CatalogError, SchemaMissingError, LookupError, OperationError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Operate the Rakuten product-classification platform."""
    # dagster-mlflow is marked beta; we pin it, so its notice is noise on every command.
    warnings.filterwarnings("ignore", message=r".* is currently in beta")


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema, the MLflow experiment and the Dagster home."""
    settings = _settings()
    _init(settings)
    url = _engine(settings).url.render_as_string(hide_password=True)
    _say(f"schema at head on {url}; MLflow at {settings.tracking_uri}")


def _ensure_catalog(settings: Settings, force: bool = False) -> None:
    from rakuten_assets.data.catalog import CatalogError, read_manifest
    from rakuten_assets.runner import materialize

    try:
        read_manifest(settings.catalog_dir)
        if not force:
            return
    except CatalogError:
        pass
    _say("building the product catalog and its golden holdout")
    materialize(_defs(), ["product_catalog"], settings=settings, log_level="WARNING")


@main.command("generate-dataset")
@click.option(
    "--csv-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the catalog as challenge-format CSVs (X_train_update.csv, Y_train_*.csv).",
)
def generate_dataset(csv_dir: Path | None) -> None:
    """Materialise `product_catalog` (synthetic unless CATALOG_X_PATH/CATALOG_Y_PATH are set)."""
    settings = _settings()
    _init(settings)
    started = time.perf_counter()
    _ensure_catalog(settings, force=True)
    from rakuten_assets.data.catalog import read_manifest

    manifest = read_manifest(settings.catalog_dir)
    _say(
        f"catalog: {manifest['pool_rows']} pool rows + {manifest['holdout_rows']} golden holdout "
        f"rows from {manifest['source']} in {time.perf_counter() - started:.1f} s"
    )
    if csv_dir is not None:
        from rakuten_assets.data.catalog import read_holdout, read_pool

        frame = pd.concat([read_pool(settings.catalog_dir), read_holdout(settings.catalog_dir)])
        frame = frame.sort_index()
        csv_dir.mkdir(parents=True, exist_ok=True)
        frame[["designation", "description", "productid", "imageid"]].to_csv(
            csv_dir / "X_train_update.csv", index_label=""
        )
        frame[["prdtypecode"]].to_csv(csv_dir / "Y_train_CVw08PX.csv", index_label="")
        _say(f"wrote {len(frame)} rows to {csv_dir}/X_train_update.csv and Y_train_CVw08PX.csv")


@main.command("load-data")
def load_data() -> None:
    """Load the next weekly slice (40 %, then +3 % a week) through the `product_slice` asset."""
    from rakuten_assets.data.loader import next_slice_index
    from rakuten_assets.runner import materialize

    settings = _settings()
    _init(settings)
    _ensure_catalog(settings)
    index = next_slice_index(_engine(settings))
    key = Calendar.from_settings(settings).partition_key_for(index)
    _say(f"loading slice {index} (partition {key})")
    materialize(_defs(), ["product_slice"], settings=settings, partition_key=key)
    _print_loads(settings, limit=1)


def _latest_partition(settings: Settings) -> str:
    from rakuten_assets.data.loader import next_slice_index

    index = next_slice_index(_engine(settings)) - 1
    if index < 0:
        raise click.ClickException("no data loaded yet: run `rakuten load-data` first")
    return Calendar.from_settings(settings).partition_key_for(index)


@main.command("train-model")
@click.option("--promote", is_flag=True, help="Also run the promotion gate on the candidate.")
def train_model(promote: bool) -> None:
    """Train, log and evaluate a candidate on everything loaded so far (optionally promote it)."""
    from rakuten_assets.runner import TRAINING_ASSETS, materialize

    settings = _settings()
    _init(settings)
    key = _latest_partition(settings)
    selection = [*TRAINING_ASSETS, *([MODEL_PROMOTION] if promote else [])]
    _say(f"training on partition {key}: {', '.join(selection)}")
    result = materialize(_defs(), selection, settings=settings, partition_key=key)
    evaluation = result.output_for_node("model_evaluation")
    click.echo(json.dumps(evaluation, indent=2, default=str))
    if promote:
        _print_decisions(settings, limit=1)


@main.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(path_type=Path))
@click.option("--folds", default=5, show_default=True, type=int)
def evaluate(csv_path: Path, folds: int) -> None:
    """Stratified k-fold CV of the training pipeline on a labelled CSV; prints one JSON object."""
    from rakuten_assets.data.catalog import CatalogError, read_labelled_csv
    from rakuten_assets.training.evaluation import cross_validate
    from rakuten_assets.training.model import ModelParams

    try:
        frame = read_labelled_csv(csv_path)
        _say(f"{folds}-fold cross-validation on {len(frame)} rows of {csv_path}")
        result = cross_validate(frame, ModelParams(), folds=folds)
    except (CatalogError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False) if not frame.empty else "(none)"


def _print_loads(settings: Settings, limit: int = 10) -> None:
    from rakuten_assets.operations import reports

    click.echo(_table(reports.load_history(_engine(settings), limit)))


def _print_decisions(settings: Settings, limit: int = 10) -> None:
    from rakuten_assets.operations import reports

    engine = _engine(settings)
    click.echo(_table(reports.promotion_history(engine, settings.registered_model_name, limit)))


@main.command("status")
def status() -> None:
    """Loads, products, the Production model and the latest promotion decisions."""
    from rakuten_assets import registry
    from rakuten_assets.db import require_schema
    from rakuten_assets.operations import reports

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    click.echo("Loads (newest first):")
    _print_loads(settings)
    name = settings.registered_model_name
    model = reports.model_status(registry.configure(settings.tracking_uri), engine, name)

    def version(number: int | None) -> str:
        return f"v{number}" if number is not None else "none"

    click.echo(
        f"\nProduction model: {name} v{model.production_version or '-'}  "
        f"(tracking: {settings.tracking_uri})\nRollback target: {version(model.rollback_target)}"
        f"\nRoll-forward target: {version(model.roll_forward_target)}\n\nPromotion decisions:"
    )
    _print_decisions(settings)


def _weekly_summary(settings: Settings, keys: list[str]) -> pd.DataFrame:
    from rakuten_assets.operations import reports

    return reports.weekly_summary(_engine(settings), settings.registered_model_name, keys)


def _failed_only_on_quality_gate(result: Any) -> bool:
    """True when the run stopped because the blocking F1 check rejected the candidate."""

    def reason(event: Any) -> str:
        error = getattr(event.event_specific_data, "error", None)
        return error.message if error is not None else ""

    failures = [e for e in result.all_events if e.is_step_failure]
    return bool(failures) and all(MODEL_QUALITY_CHECK in reason(e) for e in failures)


#: The demo's traffic: 37 days (30 of reference, then a week), drift from day 31.
DEMO_TRAFFIC_DAYS = 37
DEMO_DRIFT_FROM = 31
DEMO_DRIFT_PROFILE = "new_vocabulary"
#: Drift reports the demo prints: two quiet days, then the drifted week.
DEMO_REPORT_DAYS = 9


def _demo_drift(settings: Settings) -> None:
    """Traffic drifting in its last week, then the daily drift check for the last days."""
    from rakuten_assets.drift.alerts import list_alerts

    click.echo()
    _say(
        f"drift: {DEMO_TRAFFIC_DAYS} days of traffic, {DEMO_DRIFT_PROFILE} from day "
        f"{DEMO_DRIFT_FROM} (unseen brands and product names)"
    )
    summary = _simulate(
        settings,
        days=DEMO_TRAFFIC_DAYS,
        drift_from=DEMO_DRIFT_FROM,
        profile=DEMO_DRIFT_PROFILE,
        per_day=500,
        # Traffic up to the newest day that already has a daily drift partition.
        end_date=_last_report_date(),
        seed=None,
    )
    _say(f"{summary.rows} predictions logged ({summary.inserted} new) in {summary.seconds:.0f} s")
    dates = [d.day.isoformat() for d in summary.days][-DEMO_REPORT_DAYS:]
    _say(f"daily_drift_check for {dates[0]} .. {dates[-1]} (7-day window vs the 30 days before)")
    table = run_drift_checks(settings, dates)
    click.echo()
    click.echo(_table(table))
    flagged = table[table["severity"].isin(["ALERT", "CRITICAL"])]
    if flagged.empty:
        _say("no drift at ALERT or worse in these days")
        return
    first = flagged.iloc[0]
    _say(f"drift detected on {first['date']}: {first['severity']}, driven by {first['driven by']}")
    for alert in list_alerts(_engine(settings), status="open", limit=5):
        click.echo(
            f"  alert #{alert['id']} {alert['severity']} {alert['signal']} "
            f"({alert['report_date']}): recommended action: {alert['recommended_action']}"
        )


@main.command("demo")
@click.option("--weeks", default=5, show_default=True, type=click.IntRange(1, 30))
@click.option(
    "--drift/--no-drift",
    default=True,
    show_default=True,
    help="Then simulate traffic that drifts in its last week and run the daily drift check.",
)
def demo(weeks: int, drift: bool) -> None:
    """Run `weekly_ml_pipeline` for the first weeks through Dagster, then simulate 37 days of
    traffic drifting in the last week and run `daily_drift_check`; print what happened."""
    from rakuten_assets.runner import run_job

    settings = _settings()
    started = time.perf_counter()
    _say(f"initialising the embedded stores under {settings.data_dir}")
    _init(settings)
    _ensure_catalog(settings)
    defs = _defs()
    calendar = Calendar.from_settings(settings)
    keys = [calendar.partition_key_for(i) for i in range(weeks)]
    done = set(_weekly_summary(settings, keys).query("decision != '-'")["week"])
    for number, key in enumerate(keys, start=1):
        if key in done:
            _say(f"week {number}/{weeks} ({key}): already decided, skipped")
            continue
        _say(f"week {number}/{weeks} ({key}): load slice -> train -> evaluate -> promote")
        t0 = time.perf_counter()
        result = run_job(
            defs, WEEKLY_JOB, key, settings=settings, log_level="CRITICAL", progress=_say
        )
        outcome = "succeeded" if result.success else "FAILED"
        _say(
            f"week {number}/{weeks}: Dagster run {result.run_id} {outcome} in {time.perf_counter() - t0:.0f} s"
        )
        if not result.success and not _failed_only_on_quality_gate(result):
            failure = next((e for e in result.all_events if e.is_failure), None)
            message = failure.message if failure else "see the Dagster UI"
            raise click.ClickException(f"{WEEKLY_JOB} failed for {key}: {message}")
    click.echo()
    click.echo(_table(_weekly_summary(settings, keys)))
    if drift:
        _demo_drift(settings)
    click.echo(f"\nDone in {time.perf_counter() - started:.0f} s. Look around:")
    click.echo("  make dev        # Dagster UI on http://127.0.0.1:3000 (runs, assets, checks)")
    click.echo("  make mlflow-ui  # MLflow UI on http://127.0.0.1:5000 (runs, registry)")
    click.echo("  make status     # loads, Production model, promotion decisions")
    if drift:
        click.echo("  make view-alerts / make view-drift-reports   # what the drift check found")
        click.echo(
            "  make serve      # the API; POST /api/alerts/{id}/acknowledge, /api/rollback-model"
        )


@main.command("dev")
@click.option("--port", default=3000, show_default=True, type=int)
def dev(port: int) -> None:
    """Start `dagster dev` (webserver + daemon) on the code location."""
    from rakuten_assets.runner import ensure_dagster_home

    settings = _settings()
    _init(settings)
    home = ensure_dagster_home(settings)
    _say(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={home})")
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)]
    os.execvpe(dagster, command, os.environ)


@main.command("mlflow-ui")
@click.option("--port", default=5000, show_default=True, type=int)
def mlflow_ui(port: int) -> None:
    """Start the MLflow UI on the tracking store of the settings."""
    settings = _settings()
    if not settings.mlflow_is_local:
        raise click.ClickException(
            f"MLflow is a server already: open {settings.mlflow_tracking_uri}"
        )
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    command = [
        mlflow, "ui", "--backend-store-uri", settings.tracking_uri,
        "--default-artifact-root", settings.mlflow_artifact_root.resolve().as_uri(),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    _say(f"MLflow UI on http://127.0.0.1:{port}")
    os.execvp(mlflow, command)


def _platform(settings: Settings) -> Any:
    from rakuten_assets.db import require_schema
    from rakuten_assets.operations.actions import Platform

    engine = _engine(settings)
    require_schema(engine)
    return Platform.from_settings(settings, engine)


def _request(actor: str, reason: str, alert_id: int | None = None) -> Any:
    from rakuten_assets.operations.audit import Door, Request

    return Request(actor=actor, reason=reason, door=Door.CLI, alert_id=alert_id)


_ACTOR = click.option(
    "--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER"
)


def _operator_options(reason: str) -> Any:
    """--actor and --reason, recorded with the action (as the API's body fields)."""

    def decorate(command: Any) -> Any:
        return _ACTOR(click.option("--reason", default=reason, show_default=True)(command))

    return decorate


_ALERT_ID = click.option(
    "--alert-id", type=click.IntRange(1), help="The drift alert this action answers."
)
_EXPECTED_VERSION = click.option(
    "--expected-version",
    type=click.IntRange(1),
    help="Act only if Production is still this version (refused otherwise).",
)


@main.command("trigger-pipeline")
@click.option("--partition", help="Weekly partition key (default: the next week to load).")
@_operator_options("retrain requested from the CLI")
@_ALERT_ID
def trigger_pipeline(partition: str | None, actor: str, reason: str, alert_id: int | None) -> None:
    """Launch `weekly_ml_pipeline` on the running Dagster webserver (DAGSTER_URL); refused while
    a weekly run is queued or running (the same checks and audit row as the API's retrain)."""
    from rakuten_assets.operations import actions

    settings = _settings()
    launched = actions.trigger_retrain(
        _platform(settings), _request(actor, reason, alert_id), partition
    )
    _say(
        f"launched run {launched.run_id} for partition {launched.partition_key}: {launched.run_url}"
    )


@main.command("rollback")
@_operator_options("rollback requested from the CLI")
@_ALERT_ID
@_EXPECTED_VERSION
def rollback(actor: str, reason: str, alert_id: int | None, expected_version: int | None) -> None:
    """Move Production back to the previous Production version of the promotion history."""
    from rakuten_assets.operations import actions

    moved = actions.rollback(
        _platform(_settings()), _request(actor, reason, alert_id), expected_version
    )
    _say(f"Production rolled back from v{moved.previous_version} to v{moved.target_version}")


@main.command("roll-forward")
@_operator_options("roll-forward requested from the CLI")
@_EXPECTED_VERSION
def roll_forward(actor: str, reason: str, expected_version: int | None) -> None:
    """Undo the last rollback: Production goes back to the version it was rolled back from."""
    from rakuten_assets.operations import actions

    moved = actions.roll_forward(_platform(_settings()), _request(actor, reason), expected_version)
    _say(f"Production rolled forward from v{moved.previous_version} to v{moved.target_version}")


@main.command("rerun-gate")
@click.argument("version", type=click.IntRange(1))
@_operator_options("promotion gate re-run from the CLI")
def rerun_gate(version: int, actor: str, reason: str) -> None:
    """Score VERSION and Production on the golden holdout again and apply the promotion gate."""
    from rakuten_assets.operations import actions

    result = actions.rerun_gate(_platform(_settings()), _request(actor, reason), version)
    _say(f"v{version}: {'promoted' if result.promoted else 'rejected'}: {result.reason}")


@main.command("action-history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
def action_history(limit: int) -> None:
    """Operator actions (retrain, rollback, ...) from the API and the CLI, newest first."""
    from dataclasses import asdict

    from rakuten_assets.db import require_schema
    from rakuten_assets.operations.audit import action_history as history

    engine = _engine(_settings())
    require_schema(engine)
    click.echo(_table(pd.DataFrame([asdict(a) for a in history(engine, limit)])))


@main.command("serve")
@click.option("--host", help="Interface to bind (default: API_HOST).")
@click.option("--port", type=int, help="Port (default: API_PORT, 8000).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the Production model over HTTP (the FastAPI app under uvicorn)."""
    from sqlalchemy.exc import OperationalError

    from rakuten_assets.db import upgrade_schema

    settings = _settings()
    # The schema (prediction_log) is migrated once here, not by each of several workers. Only
    # the database: the API must start (from its last good model copy) while MLflow is down.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade_schema(_engine(settings))
    except OperationalError as exc:
        _say(f"database unreachable, predictions are spooled until it is back: {exc.orig}")
    env = dict(os.environ)
    if settings.prometheus_multiproc_dir is None:
        # `PROMETHEUS_MULTIPROC_DIR=` (empty, as in a copied .env.example) means unset; left in
        # the environment, prometheus-client would write its files into the working directory.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers > 1 and settings.prometheus_multiproc_dir is None:
        # prometheus-client aggregates the workers' metrics through files in this directory;
        # it must be empty at start, or old workers' counters would be added in.
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn = shutil.which("uvicorn", path=str(Path(sys.executable).parent)) or "uvicorn"
    bind_host, bind_port = host or settings.api_host, port or settings.api_port
    command = [
        uvicorn, "serving.app:create_app", "--factory",
        "--host", bind_host, "--port", str(bind_port), "--workers", str(workers),
        "--no-server-header",
    ]  # fmt: skip
    _say(f"prediction API on http://{bind_host}:{bind_port} (docs at /docs)")
    os.execvpe(uvicorn, command, env)


def _simulate(
    settings: Settings,
    *,
    days: int,
    drift_from: int | None,
    profile: str | None,
    per_day: int,
    end_date: date | None,
    seed: int | None,
) -> Any:
    """Log simulated traffic scored by the Production model (see `simulate-traffic`)."""
    from rakuten_assets import registry
    from rakuten_assets.drift import simulate

    name = settings.registered_model_name
    current = registry.production_version(registry.configure(settings.tracking_uri), name)
    if current is None:
        raise click.ClickException(
            f"no Production version of {name} in the registry at {settings.tracking_uri}: "
            "run `make demo` or `rakuten train-model --promote` first"
        )
    version = int(current.version)
    pipeline = registry.load_model(name, version)
    last_day = end_date or simulate.yesterday(settings.pipeline_timezone)
    seed = simulate.DEFAULT_SEED if seed is None else seed
    drift = f"; {profile} drift from day {drift_from}" if profile else ""
    _say(
        f"simulating {days} days x {per_day} predictions ending {last_day} "
        f"({settings.pipeline_timezone}) with {name} v{version}, seed {seed}{drift}"
    )
    try:
        return simulate.simulate_traffic(
            _engine(settings),
            pipeline,
            version,
            days=days,
            end_date=last_day,
            per_day=per_day,
            drift_from=drift_from,
            profile=profile,
            seed=seed,
            timezone=settings.pipeline_timezone,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("simulate-traffic")
@click.option("--days", required=True, type=click.IntRange(1, 3_660), help="Days to simulate.")
@click.option(
    "--drift-from",
    type=click.IntRange(min=1),
    help="1-based simulated day from which the drift applies "
    "(--days 37 --drift-from 31: drift in the last week).",
)
@click.option(
    "--drift-profile",
    # The names of rakuten_assets.drift.simulate.PROFILES (a test keeps them equal); not
    # imported here, so that `rakuten --help` does not load scikit-learn and MLflow.
    type=click.Choice(["class_shift", "new_vocabulary", "longer_texts"]),
    help="What drifts from --drift-from on (default with --drift-from: class_shift).",
)
@click.option(
    "--per-day",
    default=500,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Predictions per simulated day.",
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last simulated day (default: yesterday in PIPELINE_TIMEZONE, the day the next "
    "daily drift check reports on).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Traffic seed (default: a fixed one); the same seed and days give the same rows, "
    "and a rerun adds nothing.",
)
def simulate_traffic_command(
    days: int,
    drift_from: int | None,
    drift_profile: str | None,
    per_day: int,
    end_date: Any,  # a datetime (click.DateTime) or None
    seed: int | None,
) -> None:
    """Log days of predictions of the Production model on new listings, optionally drifting."""
    if drift_profile is not None and drift_from is None:
        raise click.UsageError("--drift-profile needs --drift-from DAY, the first drifted day")
    if drift_from is not None and drift_from > days:
        raise click.UsageError(f"--drift-from {drift_from} is after the last simulated day {days}")
    settings = _settings()
    _init(settings)
    summary = _simulate(
        settings,
        days=days,
        drift_from=drift_from,
        profile=(drift_profile or "class_shift") if drift_from is not None else None,
        per_day=per_day,
        end_date=end_date.date() if end_date is not None else None,
        seed=seed,
    )
    click.echo(_table(summary.as_frame()))
    _say(
        f"{summary.rows} predictions logged in {summary.seconds:.1f} s, "
        f"{summary.inserted} of them new"
    )
    if summary.inserted < summary.rows:
        _say(
            f"{summary.rows - summary.inserted} were already in the log from an earlier run "
            "with this seed and were kept as they were; use another --seed to add traffic"
        )


# --- drift monitoring -----------------------------------------------------------------------


def _last_report_date() -> date:
    """The newest day with a `daily_drift_check` partition: the day before today, from 01:00
    (the schedule's hour) on; before 01:00, the day before that."""
    calendar = Calendar.from_settings(_settings())
    key = calendar.last_daily_partition_key()
    if key is None:
        raise click.ClickException(
            f"no daily drift partition yet: DRIFT_START_DATE ({calendar.drift_start}) has not ended"
        )
    return date.fromisoformat(key)


def _report_dates(date_: Any, days: int) -> list[str]:
    """``days`` report dates ending at ``date_`` (default: the last complete partition)."""
    from datetime import timedelta

    last_possible = _last_report_date()
    last = date_.date() if date_ is not None else last_possible
    if last > last_possible:
        raise click.ClickException(
            f"no drift report for {last} yet: its day is not over (reports run at 01:00 the next "
            f"day); the latest possible report date is {last_possible}"
        )
    return [(last - timedelta(days=n)).isoformat() for n in reversed(range(days))]


def run_drift_checks(settings: Settings, dates: list[str]) -> pd.DataFrame:
    """Run `daily_drift_check` in-process for each date; one summary row per report."""
    from rakuten_assets.drift.alerts import AlertStatus, list_alerts
    from rakuten_assets.drift.storage import report_summary
    from rakuten_assets.runner import run_job

    defs = _defs()
    engine = _engine(settings)
    rows = []
    for key in dates:
        result = run_job(defs, DAILY_DRIFT_JOB, key, settings=settings, log_level="CRITICAL")
        if not result.success:
            failure = next((e for e in result.all_events if e.is_failure), None)
            message = failure.message if failure else "see the Dagster UI"
            raise click.ClickException(f"{DAILY_DRIFT_JOB} failed for {key}: {message}")
        report = report_summary(engine, date.fromisoformat(key))
        if report is None:
            raise click.ClickException(f"{DAILY_DRIFT_JOB} for {key} stored no drift report")
        raised = list_alerts(engine, status=AlertStatus.OPEN, report_id=report.id)
        rows.append(
            {
                "date": key,
                "status": report.status,
                "severity": str(report.severity),
                "driven by": report.driving_signal or "-",
                "current": report.current_count,
                "reference": report.reference_count,
                "open alerts": ", ".join(
                    f"#{a['id']} {a['signal']} ({a['severity']})" for a in reversed(raised)
                )
                or "-",
            }
        )
    return pd.DataFrame(rows)


@main.command("check-drift")
@click.option(
    "--date",
    "date_",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Report date (default: yesterday in PIPELINE_TIMEZONE).",
)
@click.option(
    "--days",
    default=1,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Reports ending there.",
)
def check_drift(date_: Any, days: int) -> None:
    """Run `daily_drift_check` in-process (report + alerts) and print severity per day."""
    settings = _settings()
    _init(settings)
    click.echo(_table(run_drift_checks(settings, _report_dates(date_, days))))


@main.command("trigger-drift-check")
@click.option(
    "--date",
    "date_",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Report date (default: yesterday in PIPELINE_TIMEZONE).",
)
def trigger_drift_check(date_: Any) -> None:
    """Launch `daily_drift_check` on the running Dagster webserver (DAGSTER_URL)."""
    from rakuten_assets.launcher import DagsterUnavailableError, launch_run

    settings = _settings()
    (key,) = _report_dates(date_, 1)
    try:
        run_id = launch_run(settings.dagster_url, DAILY_DRIFT_JOB, key)
    except DagsterUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"launched run {run_id} for {key}: {settings.dagster_url}/runs/{run_id}")


@main.command("view-drift-reports")
@click.option("--limit", default=14, show_default=True, type=click.IntRange(1, 1_000))
def view_drift_reports(limit: int) -> None:
    """The latest drift reports, newest first, with PSI per signal."""
    from rakuten_assets.db import require_schema
    from rakuten_assets.drift.storage import latest_reports

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    rows = []
    for report in latest_reports(engine, limit):
        row = {
            "date": report.report_date.isoformat(),
            "status": report.status,
            "severity": str(report.severity),
            "driven by": report.driving_signal or "-",
            "current": report.current_count,
            "reference": report.reference_count,
        }
        row |= {f"PSI {s.name}": round(s.psi, 3) for s in report.signals}
        rows.append(row)
    click.echo(_table(pd.DataFrame(rows)))


@main.command("view-alerts")
@click.option(
    "--status",
    "status_",
    type=click.Choice(["open", "acknowledged", "resolved"]),
    help="Only alerts in this state (default: all).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def view_alerts(status_: str | None, limit: int) -> None:
    """Drift alerts, newest first, with their recommended action."""
    from rakuten_assets.db import require_schema
    from rakuten_assets.drift.alerts import list_alerts

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    columns = ["id", "report_date", "signal", "severity", "status", "recommended_action", "actions"]
    frame = pd.DataFrame(list_alerts(engine, status=status_, limit=limit))
    click.echo(_table(frame[columns] if not frame.empty else frame))


def _alert_action(
    action: Callable[..., dict[str, Any]], alert_id: int, actor: str, note: str
) -> None:
    alert = action(_platform(_settings()).engine, alert_id, actor, note)
    _say(f"alert {alert_id} is {alert['status']}")


@main.command("acknowledge-alert")
@click.argument("alert_id", type=click.IntRange(1))
@_ACTOR
@click.option("--note", default="", help="What you saw or will do.")
def acknowledge_alert(alert_id: int, actor: str, note: str) -> None:
    """Acknowledge an open alert (recorded with who and why)."""
    from rakuten_assets.operations.actions import acknowledge_alert

    _alert_action(acknowledge_alert, alert_id, actor, note)


@main.command("resolve-alert")
@click.argument("alert_id", type=click.IntRange(1))
@_ACTOR
@click.option("--note", default="", help="Why it is over.")
def resolve_alert(alert_id: int, actor: str, note: str) -> None:
    """Resolve one open or acknowledged alert (recorded with who and why)."""
    from rakuten_assets.operations.actions import resolve_alert

    _alert_action(resolve_alert, alert_id, actor, note)


@main.command("clear-alerts")
@_ACTOR
@click.option("--note", default="cleared from the CLI", show_default=True)
def clear_alerts(actor: str, note: str) -> None:
    """Resolve every open or acknowledged alert (recorded with who and why)."""
    from rakuten_assets.operations import actions

    resolved = actions.resolve_all_alerts(_platform(_settings()).engine, actor, note=note)
    _say(f"resolved {len(resolved)} alert(s)" + (f": {resolved}" if resolved else ""))


if __name__ == "__main__":
    main()
