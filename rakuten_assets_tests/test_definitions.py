"""The code location loads, validates, and schedules the weekly job like the original DAG."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import httpx

from rakuten_assets.definitions import build_defs
from rakuten_assets.processes import free_port, run_command, running

ROOT = Path(__file__).resolve().parents[1]
defs = build_defs()


def test_weekly_job_and_schedule() -> None:
    schedule = defs.resolve_schedule_def("weekly_ml_pipeline_schedule")
    assert schedule.cron_schedule == "5 7 * * 1"
    assert schedule.execution_timezone == "Europe/Paris"
    assert schedule.job_name == "weekly_ml_pipeline"
    job = defs.resolve_job_def("weekly_ml_pipeline")
    nodes = {node.name for node in job.graph.nodes}
    assert job.executor_def.name == "in_process"  # a chain: one process, not one per step
    assert nodes == {
        "product_slice", "production_realised_performance", "training_set", "candidate_model",
        "model_evaluation", "model_promotion",
    }  # fmt: skip


def test_daily_drift_job_schedule_and_sensor() -> None:
    schedule = defs.resolve_schedule_def("daily_drift_check_schedule")
    assert schedule.cron_schedule == "0 1 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    assert schedule.job_name == "daily_drift_check"
    job = defs.resolve_job_def("daily_drift_check")
    assert {node.name for node in job.graph.nodes} == {"drift_report", "drift_alert"}
    sensor = defs.resolve_sensor_def("drift_retrain_sensor")
    assert sensor.job_name == "weekly_ml_pipeline"


def test_every_asset_has_a_group_kinds_and_a_description() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"ingestion", "training", "monitoring"}, key
        assert node.kinds, key
        assert node.description, key
        assert len(node.description) > 40, key


def _as_a_new_user(tmp_path: Path) -> dict[str, str]:
    """No DAGSTER_HOME, no DAGSTER_PG_*: what a user has after cloning. The root's dagster.yaml
    and workspace.yaml are copied to ``tmp_path`` (the commands run there), so the instance
    they create under var/dagster is the test's, not the repository's."""
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    return {**env, "DATA_DIR": str(tmp_path / "var")}


def test_dagster_definitions_validate_from_the_root_with_no_environment(tmp_path: Path) -> None:
    dagster = Path(sys.executable).parent / "dagster"
    result = run_command(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=tmp_path,
        timeout=300,
        env=_as_a_new_user(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
    assert (tmp_path / "var" / "dagster" / "history").is_dir()  # the instance under the data dir


def test_dagster_dev_from_the_root_with_no_environment(tmp_path: Path) -> None:
    port = free_port()
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with running(
        command,
        health_url=f"http://127.0.0.1:{port}/server_info",
        log_path=tmp_path / "dagster-dev.log",
        env=_as_a_new_user(tmp_path),
        cwd=tmp_path,
        timeout=600,  # code location, webserver and daemon on two shared cores
    ):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ instance { runLauncher { name } daemonHealth { id } } }"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    assert (tmp_path / "var" / "dagster" / "history" / "runs.db").is_file()


def test_webserver_shows_the_whole_graph_without_errors(tmp_path: Path) -> None:
    """What `make dev` serves: the code location loads and every asset and job is listed."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "dagster-webserver"),
        "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    query = """
    { workspaceOrError { ... on Workspace { locationEntries {
        name
        locationOrLoadError { __typename ... on PythonError { message } ... on RepositoryLocation {
            repositories { jobs { name } schedules { name cronSchedule executionTimezone }
                           sensors { name }
                           assetNodes { assetKey { path } groupName } } } }
    } } } }
    """
    env = {"DAGSTER_HOME": str(tmp_path)}
    with running(
        command,
        health_url=f"http://127.0.0.1:{port}/server_info",
        log_path=tmp_path / "webserver.log",
        env=env,
        timeout=180,
    ):
        response = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=60)
    entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
    [location] = [e["locationOrLoadError"] for e in entries]
    assert location["__typename"] == "RepositoryLocation", location
    [repository] = location["repositories"]
    assets = {tuple(n["assetKey"]["path"]): n["groupName"] for n in repository["assetNodes"]}
    assert assets == {
        ("product_catalog",): "ingestion",
        ("product_slice",): "ingestion",
        ("training_set",): "training",
        ("candidate_model",): "training",
        ("model_evaluation",): "training",
        ("model_promotion",): "training",
        ("production_realised_performance",): "monitoring",
        ("drift_report",): "monitoring",
        ("drift_alert",): "monitoring",
    }
    assert {"weekly_ml_pipeline", "daily_drift_check"} <= {
        job["name"] for job in repository["jobs"]
    }
    schedules = {
        s["name"]: (s["cronSchedule"], s["executionTimezone"]) for s in repository["schedules"]
    }
    assert schedules == {
        "weekly_ml_pipeline_schedule": ("5 7 * * 1", "Europe/Paris"),
        "daily_drift_check_schedule": ("0 1 * * *", "Europe/Paris"),
    }
    assert [s["name"] for s in repository["sensors"]] == ["drift_retrain_sensor"]


def test_launchpad_model_config_matches_the_measured_defaults() -> None:
    """ModelConfig (what Dagster runs) must not silently override ModelParams' defaults."""
    from rakuten_assets.defs.training import ModelConfig
    from rakuten_assets.training.model import ModelParams

    assert ModelConfig().params() == ModelParams()
    assert set(ModelConfig.model_fields) == set(ModelParams.model_fields)


def test_every_asset_of_the_defs_modules_is_in_the_location() -> None:
    from rakuten_assets.defs import drift, ingestion, training

    declared = {
        key for a in dg.load_assets_from_modules([ingestion, training, drift]) for key in a.keys
    }
    assert set(defs.resolve_asset_graph().get_all_asset_keys()) == declared


def test_loading_the_modules_reads_no_settings() -> None:
    """A broken setting fails when the definitions are built, not when a module is imported
    (the API, the CLI's --help and the Airflow generator import these modules)."""
    env = {**os.environ, "MIN_WEIGHTED_F1": "not-a-number"}
    script = (
        "import rakuten_assets.definitions as d, serving.app, rakuten_assets.cli\n"
        "try:\n    d.build_defs()\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    result = run_command([sys.executable, "-c", script], env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ValidationError" in result.stdout
    assert "min_weighted_f1" in result.stdout


def test_every_domain_module_is_under_the_layering_contract() -> None:
    """A new module of the package is either a shell or checked by `make lint`'s contract."""
    import pkgutil
    import tomllib

    import rakuten_assets

    shells = {"cli", "defs", "definitions", "runner", "migrations"}  # migrations: Alembic's
    modules = {m.name for m in pkgutil.iter_modules(rakuten_assets.__path__)} - shells
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [domain] = [c for c in config["contracts"] if c["name"].startswith("The domain layer")]
    assert {f"rakuten_assets.{m}" for m in modules} == set(domain["source_modules"])
