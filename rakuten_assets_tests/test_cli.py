"""`rakuten demo` and the operator verbs, run as a user runs them (subprocesses, real stores)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine, func, select

from rakuten_assets.db import (
    alerts,
    data_loads,
    drift_reports,
    model_promotions,
    prediction_log,
    product_history,
    products,
)
from rakuten_assets.processes import free_port, mlflow_server, run_command, running

BIN = Path(sys.executable).parent
SMALL = {"SYNTHETIC_ROWS": "3000", "MIN_WEIGHTED_F1": "0.30"}


def rakuten(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_HOME"))}
    return run_command([str(BIN / "rakuten"), *args], env={**clean, **env}, timeout=timeout)


def _counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        counts = {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (
                products,
                product_history,
                data_loads,
                model_promotions,
                prediction_log,
                drift_reports,
                alerts,
            )
        }
    engine.dispose()
    return counts


def _table_rows(stdout: str, header_start: str) -> tuple[str, list[str]]:
    """The header and the data rows of the markdown table whose header starts with ``header_start``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return lines[start], rows


def test_demo_runs_twice_without_duplicating_anything(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "var"), **SMALL}
    first = rakuten("demo", "--weeks", "2", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    header, rows = _table_rows(first.stdout, "| week")
    for column in ("% loaded", "rows", "candidate F1", "Production F1", "decision", "reason"):
        assert column in header
    assert len(rows) == 2
    assert "|         40 |" in rows[0]
    assert "|         43 |" in rows[1]
    assert "promoted" in rows[0]
    assert "make dev" in first.stdout
    assert "make mlflow-ui" in first.stdout

    # Then the drift part: traffic drifting in its last week, the daily check for the last days.
    header, days = _table_rows(first.stdout, "| date")
    for column in ("status", "severity", "driven by", "current", "reference", "open alerts"):
        assert column in header
    assert len(days) == 9
    assert "| OK " in days[0]  # before the drift
    assert any("CRITICAL" in day or "ALERT" in day for day in days[-6:])
    assert "drift detected on" in first.stderr
    # Model health next to drift: the estimate and the realised F1 of 1 day's labels in 5.
    for column in ("estimated F1", "realised F1"):
        assert column in header
    assert all("(n=100)" in day for day in days)  # 500 predictions a day, 100 labelled
    assert "model health from" in first.stderr
    assert "recommended action: retrain or roll back" in first.stdout

    url = f"sqlite:///{tmp_path / 'var' / 'rakuten.db'}"
    before = _counts(url)
    second = rakuten("demo", "--weeks", "2", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count("already decided, skipped") == 2
    assert "(0 new)" in second.stderr  # the same traffic is not logged twice
    assert "(0 new, 3700 already there)" in second.stderr  # nor its labels
    assert _counts(url) == before
    runs = list((tmp_path / "var" / "dagster").glob("storage/*"))
    assert runs, "the demo's runs are recorded in the project's Dagster instance"

    status = rakuten("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "Production model: rakuten_classifier v" in status.stdout
    alerts = rakuten("view-alerts", "--status", "open", env=env)
    assert alerts.returncode == 0, alerts.stderr
    assert "retrain or roll back" in alerts.stdout
    reports = rakuten("view-drift-reports", "--limit", "3", env=env)
    assert reports.returncode == 0, reports.stderr
    assert "PSI unknown_token_share" in reports.stdout
    cleared = rakuten("clear-alerts", "--actor", "tester", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert "resolved" in cleared.stderr
    assert "(none)" in rakuten("view-alerts", "--status", "open", env=env).stdout
    future = rakuten("check-drift", "--date", "2999-01-01", env=env)
    assert future.returncode == 1
    assert "no drift report for 2999-01-01 yet" in future.stderr
    assert "Traceback" not in future.stderr


def test_load_train_and_promote_verbs(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "var"), **SMALL}
    assert rakuten("init-db", env=env).returncode == 0
    untrained = rakuten("train-model", env=env)
    assert untrained.returncode == 1
    assert "no data loaded yet" in untrained.stderr
    load = rakuten("load-data", env=env)
    assert load.returncode == 0, load.stderr[-3000:]
    assert re.search(r"\| 2026-01-05 +\| +0 \| +40 \| +\d+ \| +\d+ \| completed", load.stdout)
    train = rakuten("train-model", "--promote", env=env)
    assert train.returncode == 0, train.stderr[-3000:]
    assert '"candidate_version": 1' in train.stdout
    assert "promoted" in train.stdout
    url = f"sqlite:///{tmp_path / 'var' / 'rakuten.db'}"
    assert _counts(url)["model_promotions"] == 1


@pytest.mark.postgres
def test_the_same_demo_runs_on_postgresql_and_an_mlflow_server(tmp_path: Path, pg_url: str) -> None:
    with mlflow_server(tmp_path) as tracking:
        database_url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        env = {
            "DATA_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
            "MLFLOW_TRACKING_URI": tracking,
            **SMALL,
        }
        result = rakuten("demo", "--weeks", "2", "--no-drift", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(_table_rows(result.stdout, "| week")[1]) == 2
        client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
        production = client.get_model_version_by_alias("rakuten_classifier", "production")
        assert production.tags["stage"] == "Production"
        assert not (tmp_path / "var" / "mlflow.db").exists()  # nothing went to the local store
    counts = _counts(database_url)
    assert counts["model_promotions"] == 2
    assert counts["products"] == counts["product_history"] > 0


def test_trigger_pipeline_launches_a_run_on_the_webserver(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "DATA_DIR": str(tmp_path / "var"),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "DAGSTER_URL": f"http://127.0.0.1:{port}",
        **SMALL,
    }
    uninitialised = rakuten("trigger-pipeline", env=env)
    assert uninitialised.returncode == 1
    assert "has no schema; run `rakuten init-db`" in uninitialised.stderr
    assert "Traceback" not in uninitialised.stderr

    assert rakuten("generate-dataset", env=env).returncode == 0
    down = rakuten("trigger-pipeline", env=env)
    assert down.returncode == 1
    assert "Is the Dagster webserver running" in down.stderr
    command = [
        str(BIN / "dagster-webserver"), "-w", str(Path(__file__).parents[1] / "workspace.yaml"),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    with running(
        command,
        health_url=f"http://127.0.0.1:{port}/server_info",
        log_path=tmp_path / "webserver.log",
        env=env,
        timeout=180,
    ):
        launched = rakuten("trigger-pipeline", env=env)
        assert launched.returncode == 0, launched.stderr[-3000:]
        run_id = re.search(
            r"launched run ([0-9a-f-]{36}) for partition 2026-01-05", launched.stderr
        )
        assert run_id, launched.stderr
        status = _wait_for_run(f"http://127.0.0.1:{port}/graphql", run_id.group(1))
    assert status == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
    counts = _counts(f"sqlite:///{tmp_path / 'var' / 'rakuten.db'}")
    assert counts["model_promotions"] == 1


def _wait_for_run(graphql: str, run_id: str, timeout: float = 300) -> str:
    import time

    import httpx

    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.post(graphql, json={"query": query, "variables": {"id": run_id}}, timeout=30)
        status = str(answer.json()["data"]["runOrError"].get("status"))
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status
        time.sleep(1)
    return "TIMEOUT"
