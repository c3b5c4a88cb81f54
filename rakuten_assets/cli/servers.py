"""Verbs that start a server in the foreground: Dagster, the MLflow UI, the prediction API, the
control room."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from rakuten_assets.cli._base import (
    _engine,
    _init,
    _say,
    _settings,
    main,
)
from rakuten_assets.settings import PROJECT_ROOT


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
        # No access log: it cost 8-20 % of the CPU of a prediction (docs/serving.md); every
        # answer is counted in rakuten_http_requests_total and errors are logged by the app.
        "--no-server-header", "--no-access-log",
    ]  # fmt: skip
    _say(f"prediction API on http://{bind_host}:{bind_port} (docs at /docs)")
    os.execvpe(uvicorn, command, env)


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """`streamlit run` of the control room, headless, with no error details on the screen."""
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    return [
        streamlit, "run", str(PROJECT_ROOT / "ui" / "streamlit_app.py"),
        "--server.port", str(port), "--server.address", address, "--server.headless", "true",
        "--client.showErrorDetails", "none", "--client.toolbarMode", "minimal",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


@main.command("ui")
@click.option("--port", type=int, help="Port (default: UI_PORT, 8501).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
def ui(port: int | None, host: str) -> None:
    """Start the operators' control room (Streamlit) on the stores of the settings."""
    settings = _settings()
    command = streamlit_command(port or settings.ui_port, host)
    _say(f"control room on http://{host}:{port or settings.ui_port}")
    os.execvp(command[0], command)
