"""`POST /api/trigger-retrain` against a live `dagster-webserver` (its own DAGSTER_HOME).

With the QueuedRunCoordinator and no daemon, a launched run stays QUEUED: the "already running"
answer is then deterministic. With the default coordinator the webserver executes the run on a
tiny catalog, and the API ends up serving the model that run promoted.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.processes import free_port, run_command, running
from rakuten_assets_tests.test_serving_support import ADMIN_TOKEN, api_env, api_server

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: A catalog small enough for one weekly run in a test, a gate it can pass.
SMALL = {"SYNTHETIC_ROWS": "3000", "MIN_WEIGHTED_F1": "0.30"}

QUEUED_INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster
  class: QueuedRunCoordinator
"""
# Launches the run as soon as it is submitted (Dagster's own default is the queued one). The
# class is not exported at dagster's top level; this is the module path runner.py uses too.
IMMEDIATE_INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""

RUN_QUERY = """
query($id: ID!) { runOrError(runId: $id) {
  __typename ... on Run { jobName status tags { key value } } } }
"""
COUNT_QUERY = (
    '{ runsOrError(filter: {pipelineName: "weekly_ml_pipeline"}) { ... on Runs { count } } }'
)


def _stores(data_dir: Path) -> dict[str, str]:
    """The embedded stores of DATA_DIR, spelled out so an inherited variable cannot override them."""
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'rakuten.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{data_dir / 'mlflow.db'}",
        **SMALL,
    }


@contextmanager
def dagster_webserver(
    tmp_path: Path, instance_yaml: str, env: dict[str, str]
) -> Iterator[tuple[str, dict[str, str]]]:
    """A webserver on the project's code location with a fresh instance; yields (URL, env)."""
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "DAGSTER_HOME": str(home), "DAGSTER_URL": url}
    command = [
        str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    with running(
        command,
        health_url=f"{url}/server_info",
        log_path=tmp_path / "webserver.log",
        env=env,
        cwd=ROOT,
        timeout=180,
    ):
        yield url, env


def _run(dagster_url: str, run_id: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{dagster_url}/graphql",
        json={"query": RUN_QUERY, "variables": {"id": run_id}},
        timeout=30,
    )
    run: dict[str, Any] = answer.json()["data"]["runOrError"]
    assert run["__typename"] == "Run", run
    return run


def _retrain(api: str, **body: str) -> httpx.Response:
    payload = {"actor": "alice", "reason": "drift alert", **body}
    return httpx.post(f"{api}/api/trigger-retrain", json=payload, headers=HEADERS, timeout=60)


def test_retrain_queues_one_run_and_refuses_a_second(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    stores = _stores(data_dir)
    upgrade_schema(get_engine(stores["DATABASE_URL"]))
    with (
        dagster_webserver(tmp_path, QUEUED_INSTANCE, stores) as (dagster, env),
        api_server(
            api_env(data_dir, stores["MLFLOW_TRACKING_URI"], stores["DATABASE_URL"], **env),
            tmp_path / "api.log",
        ) as (api, _pid),
    ):
        launched = _retrain(api)
        assert launched.status_code == 202, launched.text
        body = launched.json()
        run_id = body["run_id"]
        # Nothing loaded yet: the default partition is the first week.
        assert body["partition_key"] == "2026-01-05"
        assert body["run_url"] == f"{dagster}/runs/{run_id}"
        run = _run(dagster, run_id)
        assert run["jobName"] == "weekly_ml_pipeline"
        assert run["status"] == "QUEUED"  # no daemon: it stays queued
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/partition"] == "2026-01-05"
        assert tags["launched_by"] == "api:alice"

        second = _retrain(api, partition_key="2026-01-12")
        assert second.status_code == 409, second.text
        assert f"{run_id} (QUEUED)" in second.json()["detail"]
        count = httpx.post(f"{dagster}/graphql", json={"query": COUNT_QUERY}, timeout=30)
        assert count.json()["data"]["runsOrError"]["count"] == 1

        history = httpx.get(f"{api}/api/action-history", headers=HEADERS).json()["actions"]
    conflict, done = history[0], history[1]
    assert (done["action"], done["outcome"], done["actor"]) == ("retrain", "launched", "alice")
    assert (done["dagster_run_id"], done["partition_key"]) == (run_id, "2026-01-05")
    assert (conflict["action"], conflict["outcome"]) == ("retrain", "conflict")
    assert conflict["partition_key"] == "2026-01-12"
    assert run_id in conflict["detail"]
    assert conflict["dagster_run_id"] is None


@pytest.mark.slow
def test_retrain_runs_the_pipeline_and_the_api_serves_its_model(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    stores = _stores(data_dir)
    # The weekly job starts from a materialised catalog (what `make demo` builds first).
    generate = run_command(
        [str(BIN / "rakuten"), "generate-dataset"],
        env={**_inherited(), **stores, "DAGSTER_HOME": str(tmp_path / "cli-dagster")},
        timeout=600,
    )
    assert generate.returncode == 0, generate.stderr[-3000:]
    with (
        dagster_webserver(tmp_path, IMMEDIATE_INSTANCE, stores) as (dagster, env),
        api_server(
            api_env(data_dir, stores["MLFLOW_TRACKING_URI"], stores["DATABASE_URL"], **env),
            tmp_path / "api.log",
        ) as (api, _pid),
    ):
        assert httpx.post(f"{api}/predict", json={"designation": "x"}).status_code == 503
        launched = _retrain(api)
        assert launched.status_code == 202, launched.text
        run_id = launched.json()["run_id"]
        status = _wait_for_end(dagster, run_id)
        assert status == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
        # The run promoted its candidate (v1, the first model): the API's watcher swaps it in.
        deadline = time.monotonic() + 120
        while httpx.get(f"{api}/ready").status_code != 200:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the API never loaded the promoted model: {httpx.get(f'{api}/ready').text}"
                )
            time.sleep(0.5)
        answer = httpx.post(f"{api}/predict", json={"designation": "Coussin déco en lin"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Model-Version"] == "1"
        history = httpx.get(f"{api}/api/action-history", headers=HEADERS).json()["actions"]
    assert [(a["outcome"], a["dagster_run_id"]) for a in history] == [("launched", run_id)]


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_"))}


def _wait_for_end(dagster_url: str, run_id: str, timeout: float = 600) -> str:
    """The run's final status, or ``<status> after <timeout> s`` if it never ended."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(_run(dagster_url, run_id)["status"])
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status
        if time.monotonic() > deadline:
            return f"{status} after {timeout:.0f} s"
        time.sleep(1)
