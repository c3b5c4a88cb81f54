"""Run the asset graph in-process on a persistent Dagster instance (CLI, demo, benchmarks).

Runs go through Dagster (the same assets, resources and checks as scheduled runs) and are
recorded in the instance under ``DAGSTER_HOME``, so `make dev` shows them afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Sequence
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


_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}


def _report_steps(
    instance: dg.DagsterInstance,
    run_id: str,
    started: dict[str, float],
    seen: int,
    progress: Callable[[str], None],
) -> int:
    """Report finished steps of ``run_id`` (after the first ``seen`` events); new event count."""
    records = instance.all_logs(run_id, of_type=_STEP_EVENTS)
    for record in records[seen:]:
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
            continue
        outcome = "done" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
        seconds = record.timestamp - started.get(event.step_key, record.timestamp)
        progress(f"  {event.step_key:<18} {outcome} in {seconds:.1f} s")
    return len(records)


def run_job(
    defs: dg.Definitions,
    job_name: str,
    partition_key: str,
    *,
    settings: Settings,
    log_level: str = "INFO",
    progress: Callable[[str], None] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a partitioned job of the code location for one partition, reporting step progress."""
    job = defs.resolve_job_def(job_name)
    dagster = instance(settings)
    run_id = str(uuid.uuid4())
    outcome: list[dg.ExecuteInProcessResult] = []
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            outcome.append(
                job.execute_in_process(
                    partition_key=partition_key,
                    instance=dagster,
                    run_config=_run_config(log_level),
                    raise_on_error=False,
                    run_id=run_id,
                    tags={"launched_by": "rakuten-cli"},
                )
            )
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    worker = threading.Thread(target=execute, name=f"{job_name}-{partition_key}")
    worker.start()
    seen, started = 0, dict[str, float]()
    while worker.is_alive():
        worker.join(timeout=1.0)
        if progress is not None:
            seen = _report_steps(dagster, run_id, started, seen, progress)
    if errors:
        raise errors[0]
    return outcome[0]
