"""Run the asset graph in-process on a persistent Dagster instance (CLI, demo, benchmarks).

Runs go through Dagster (the same assets, resources and checks as scheduled runs) and are
recorded in the instance under ``DAGSTER_HOME``, so `make dev` shows them afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from rakuten_assets.settings import Settings

TRAINING_ASSETS = ("training_set", "candidate_model", "model_evaluation")
_DAGSTER_YAML = """\
# Local Dagster instance of `make demo` / `make dev` (SQLite storage in this directory).
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Use DAGSTER_HOME when set, else the project-local one (created with a small config)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def instance(settings: Settings) -> dg.DagsterInstance:
    ensure_dagster_home(settings)
    return dg.DagsterInstance.get()


def _run_config(log_level: str) -> dict[str, Any]:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def materialize(
    defs: dg.Definitions,
    selection: Sequence[str],
    *,
    settings: Settings,
    partition_key: str | None = None,
    log_level: str = "INFO",
    raise_on_error: bool = True,
    run_config: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise ``selection`` (asset names) with the code location's assets and resources."""
    assets = list(defs.assets or [])
    config = _run_config(log_level) | (run_config or {})
    return dg.materialize(
        assets,  # type: ignore[arg-type]
        selection=list(selection),
        partition_key=partition_key,
        instance=instance(settings),
        resources=dict(defs.resources or {}),
        run_config=config,
        raise_on_error=raise_on_error,
        tags={"launched_by": "rakuten-cli"},
    )


def run_weekly_job(
    defs: dg.Definitions, partition_key: str, *, settings: Settings, log_level: str = "INFO"
) -> dg.ExecuteInProcessResult:
    """Execute the `weekly_ml_pipeline` job for one weekly partition."""
    job = defs.resolve_job_def("weekly_ml_pipeline")
    return job.execute_in_process(
        partition_key=partition_key,
        instance=instance(settings),
        run_config=_run_config(log_level),
        raise_on_error=False,
        tags={"launched_by": "rakuten-cli"},
    )
