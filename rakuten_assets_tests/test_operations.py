"""Operator actions: the same checks, errors and audit rows through the CLI and the API.

The doors are driven as users drive them: `rakuten` in a subprocess, the API under uvicorn, a
real Dagster webserver (queued runs, no daemon) and a real MLflow store. The domain's own checks
(alerts, partition keys, the promotion gate on an existing version) are tested in-process.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert

from rakuten_assets import registry
from rakuten_assets.calendar import Calendar
from rakuten_assets.data.catalog import SplitCatalog, write_split
from rakuten_assets.db import alerts, drift_reports, get_engine, upgrade_schema
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.operations import actions, audit
from rakuten_assets.operations.audit import ActionRecord, Door, Request
from rakuten_assets.processes import free_port, run_command
from rakuten_assets.training.evaluation import score_model
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    MODEL,
    api_env,
    api_server,
    build_registry,
    promote,
)
from rakuten_assets_tests.test_trigger_retrain import (
    QUEUED_INSTANCE,
    _run,
    _stores,
    dagster_webserver,
)

BIN = Path(sys.executable).parent
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: What differs between the same action taken through two doors.
DOOR_FIELDS = ("id", "requested_at", "door", "actor")

TERMINATE = """
mutation($id: String!) { terminateRun(runId: $id) {
  __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }
"""


def rakuten(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_"))}
    return run_command([str(BIN / "rakuten"), *args], env={**inherited, **env}, timeout=300)


def _post(api: str, path: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{api}/api/{path}", json=body, headers=HEADERS, timeout=120)


def _history(database_url: str) -> list[ActionRecord]:
    """Every audit row, oldest first."""
    return list(reversed(audit.action_history(get_engine(database_url), limit=1_000)))


def _same_action(*rows: ActionRecord, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """The rows agree on everything but the door, who and when (and ``also``); returns one."""
    kept = [
        {k: v for k, v in dataclasses.asdict(r).items() if k not in (*DOOR_FIELDS, *also)}
        for r in rows
    ]
    assert all(k == kept[0] for k in kept), kept
    return kept[0]


def test_retrain_from_the_cli_and_the_api_records_the_same_rows(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    stores = _stores(data_dir)
    upgrade_schema(get_engine(stores["DATABASE_URL"]))
    reason = ("--reason", "drift alert")
    with (
        dagster_webserver(tmp_path, QUEUED_INSTANCE, stores) as (dagster, env),
        api_server(
            api_env(data_dir, stores["MLFLOW_TRACKING_URI"], stores["DATABASE_URL"], **env),
            tmp_path / "api.log",
        ) as (api, _pid),
    ):
        cli = rakuten("trigger-pipeline", "--actor", "bob", *reason, env=env)
        assert cli.returncode == 0, cli.stderr
        [run_id] = re.findall(r"launched run (\S+) for partition 2026-01-05", cli.stderr)
        tags = {t["key"]: t["value"] for t in _run(dagster, run_id)["tags"]}
        assert tags["launched_by"] == "cli:bob"

        # The CLI now refuses a second run exactly as the API does (it used to launch it).
        refused = _post(api, "trigger-retrain", actor="alice", reason="drift alert")
        assert refused.status_code == 409, refused.text
        again = rakuten("trigger-pipeline", "--actor", "bob", *reason, env=env)
        assert again.returncode == 1
        assert f"already in progress: {run_id} (QUEUED)" in again.stderr
        assert refused.json()["detail"] in again.stderr

        cancel = httpx.post(
            f"{dagster}/graphql", json={"query": TERMINATE, "variables": {"id": run_id}}
        )
        assert cancel.json()["data"]["terminateRun"]["__typename"] == "TerminateRunSuccess"
        deadline = time.monotonic() + 60
        while _run(dagster, run_id)["status"] != "CANCELED":
            assert time.monotonic() < deadline, _run(dagster, run_id)
            time.sleep(0.5)
        launched = _post(api, "trigger-retrain", actor="alice", reason="drift alert")
        assert launched.status_code == 202, launched.text
        api_run = launched.json()["run_id"]
        assert {t["key"]: t["value"] for t in _run(dagster, api_run)["tags"]}["launched_by"] == (
            "api:alice"
        )
        shown = rakuten("action-history", env=env)
        assert shown.returncode == 0, shown.stderr

    rows = _history(stores["DATABASE_URL"])
    assert [(r.door, r.actor, r.outcome) for r in rows] == [
        ("cli", "bob", "launched"),
        ("api", "alice", "conflict"),
        ("cli", "bob", "conflict"),
        ("api", "alice", "launched"),
    ]
    cli_launch, api_conflict, cli_conflict, api_launch = rows
    conflict = _same_action(api_conflict, cli_conflict)
    assert (conflict["action"], conflict["partition_key"]) == ("retrain", "2026-01-05")
    assert conflict["dagster_run_id"] is None
    assert run_id in conflict["detail"]
    launch = _same_action(cli_launch, api_launch, also=("dagster_run_id",))
    assert (launch["action"], launch["reason"], launch["partition_key"]) == (
        "retrain",
        "drift alert",
        "2026-01-05",
    )
    assert (cli_launch.dagster_run_id, api_launch.dagster_run_id) == (run_id, api_run)
    assert api_run in shown.stdout
    assert "cli" in shown.stdout


def test_rollback_from_the_cli_and_the_api_records_the_same_rows(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    reg = build_registry(tmp_path / "registry", small_split, versions=3)
    v1, v2, v3 = reg.versions
    for version in (v2, v3):
        promote(reg.tracking_uri, reg.database_url, version)
    env = api_env(tmp_path / "var", reg.tracking_uri, reg.database_url)
    why = "v3 misbehaves"

    def cli(command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return rakuten(command, "--actor", "bob", "--reason", why, *args, env=env)

    def api(path: str, **body: Any) -> httpx.Response:
        return _post(url, path, actor="alice", reason=why, **body)

    with api_server(env, tmp_path / "api.log") as (url, _pid):
        done = cli("rollback", "--expected-version", str(v3))
        assert done.returncode == 0, done.stderr
        assert f"rolled back from v{v3} to v{v2}" in done.stderr
        stale = api("rollback-model", expected_version=v3)
        assert stale.status_code == 409
        assert f"Production is v{v2}, not v{v3}" in stale.json()["detail"]
        stale_cli = cli("rollback", "--expected-version", str(v3))
        assert stale_cli.returncode == 1
        assert stale.json()["detail"] in stale_cli.stderr

        forward = api("roll-forward-model", expected_version=v2)
        assert forward.status_code == 200, forward.text
        assert forward.json() == {
            "previous_version": v2,
            "target_version": v3,
            "served_version": v3,
        }
        again = api("rollback-model", expected_version=v3)
        assert again.status_code == 200, again.text
        assert again.json() == {"previous_version": v3, "target_version": v2, "served_version": v2}

        assert cli("rollback").returncode == 0  # v2 -> v1: nothing left to roll back to
        refused = api("rollback-model")
        assert refused.status_code == 409
        assert "no rollback target" in refused.json()["detail"]
        refused_cli = cli("rollback")
        assert refused_cli.returncode == 1
        assert refused.json()["detail"] in refused_cli.stderr

        forward_cli = cli("roll-forward")
        assert forward_cli.returncode == 0, forward_cli.stderr
        assert f"rolled forward from v{v1} to v{v2}" in forward_cli.stderr
        unknown = api("rerun-gate", version=999)
        assert unknown.status_code == 404
        unknown_cli = cli("rerun-gate", "999")
        assert unknown_cli.returncode == 1
        assert unknown.json()["detail"] in unknown_cli.stderr

        history = httpx.get(f"{url}/api/action-history", headers=HEADERS).json()["actions"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/model").json()["version"] != v2:  # the watcher follows the CLI
            assert time.monotonic() < deadline
            time.sleep(0.2)

    status = rakuten("status", env=env)
    assert status.returncode == 0, status.stderr
    assert f"Production model: {MODEL} v{v2}" in status.stdout
    assert f"Rollback target: v{v1}\nRoll-forward target: v{v3}" in status.stdout

    rows = _history(reg.database_url)
    assert [(r.door, r.action, r.outcome) for r in rows] == [
        ("cli", "rollback", "succeeded"),
        ("api", "rollback", "conflict"),
        ("cli", "rollback", "conflict"),
        ("api", "roll_forward", "succeeded"),
        ("api", "rollback", "succeeded"),
        ("cli", "rollback", "succeeded"),
        ("api", "rollback", "refused"),
        ("cli", "rollback", "refused"),
        ("cli", "roll_forward", "succeeded"),
        ("api", "rerun_gate", "refused"),
        ("cli", "rerun_gate", "refused"),
    ]
    moved = _same_action(rows[0], rows[4])
    assert (moved["previous_version"], moved["target_version"]) == (v3, v2)
    assert _same_action(rows[1], rows[2])["previous_version"] == v2
    assert _same_action(rows[6], rows[7])["previous_version"] == v1
    assert _same_action(rows[9], rows[10])["detail"] == f"{MODEL} has no version 999"
    assert [(a["door"], a["outcome"]) for a in history][:2] == [
        ("cli", "refused"),
        ("api", "refused"),
    ]
    assert registry.production_lineage(get_engine(reg.database_url), MODEL) == [v1, v2]


# --- the domain's checks, in-process ------------------------------------------------------------


def _platform(engine: Engine, **overrides: Any) -> actions.Platform:
    values: dict[str, Any] = {
        "engine": engine,
        "model_name": MODEL,
        # Nothing listens there: Dagster is unreachable.
        "dagster_url": f"http://127.0.0.1:{free_port()}",
        "calendar": Calendar(date(2026, 1, 5), date(2026, 1, 1), "Europe/Paris"),
        "min_weighted_f1": 0.75,
        "catalog_dir": Path("/nonexistent"),
        "registry_client": lambda: pytest.fail("this action must not need the registry"),
    }
    return actions.Platform(**{**values, **overrides})


def _alert(engine: Engine, day: date = date(2026, 3, 10)) -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        report = conn.execute(
            insert(drift_reports).values(
                report_date=day,
                computed_at=now,
                current_start=now,
                current_end=now,
                reference_start=now,
                reference_end=now,
                reference_count=1_000,
                current_count=500,
                status="ok",
                severity="CRITICAL",
                signals={"version": 1, "signals": []},
            )
        ).inserted_primary_key[0]
        return int(
            conn.execute(
                insert(alerts).values(
                    created_at=now,
                    report_id=report,
                    report_date=day,
                    signal="confidence",
                    severity="CRITICAL",
                    status="open",
                    message="PSI 0.4",
                    recommended_action="retrain or roll back",
                    updated_at=now,
                )
            ).inserted_primary_key[0]
        )


def test_retrain_checks_its_request_before_it_calls_dagster(engine: Engine) -> None:
    platform = _platform(engine)
    request = Request("alice", "drift", Door.CLI)
    with pytest.raises(actions.Invalid, match="not a weekly partition starting 2026-01-05"):
        actions.trigger_retrain(platform, request, "2026-01-06")
    with pytest.raises(actions.NotFound, match="no alert with id 999"):
        actions.trigger_retrain(platform, dataclasses.replace(request, alert_id=999))
    assert audit.action_history(engine) == []  # refused before anything was tried

    with pytest.raises(actions.Unavailable, match="Is the Dagster webserver running"):
        actions.trigger_retrain(platform, request)
    [row] = audit.action_history(engine)
    assert (row.action, row.outcome, row.door, row.actor) == (
        "retrain",
        "unavailable",
        "cli",
        "alice",
    )
    assert row.partition_key == "2026-01-05"  # nothing loaded yet: the first week
    assert row.requested_at.tzinfo is not None


def test_alert_actions_follow_the_lifecycle(engine: Engine) -> None:
    alert_id = _alert(engine)
    assert (
        actions.acknowledge_alert(engine, alert_id, "alice", "looking", door=Door.CLI)["status"]
        == "acknowledged"
    )
    with pytest.raises(actions.Conflict, match="already acknowledged"):
        actions.acknowledge_alert(engine, alert_id, "bob", door=Door.API)
    noted = actions.act_on_alert(
        engine, alert_id, "investigate", "bob", "new brand names", door=Door.UI
    )
    assert noted["status"] == "acknowledged"
    resolved = actions.resolve_alert(engine, alert_id, "alice", "retrained", door=Door.API)
    assert resolved["status"] == "resolved"
    with pytest.raises(actions.Conflict, match="already resolved"):
        actions.resolve_alert(engine, alert_id, "bob", door=Door.API)
    with pytest.raises(actions.Conflict, match="is resolved"):
        actions.act_on_alert(engine, alert_id, "investigate", "bob", door=Door.API)
    for act in (actions.acknowledge_alert, actions.resolve_alert):
        with pytest.raises(actions.NotFound, match="no alert with id 999"):
            act(engine, 999, "bob", door=Door.API)
    # An action answering a resolved alert is refused before it is tried (no Dagster call).
    with pytest.raises(actions.Conflict, match=f"alert {alert_id} is resolved"):
        actions.trigger_retrain(_platform(engine), Request("a", "r", Door.API, alert_id))

    [alert] = [a for a in _reports_alerts(engine) if a["id"] == alert_id]
    assert [(h["action"], h["actor"], h["door"]) for h in alert["history"]] == [
        ("acknowledge", "alice", "cli"),
        ("investigate", "bob", "ui"),
        ("resolve", "alice", "api"),
    ]
    assert alert["history"][1]["details"] == {"note": "new brand names"}
    second = _alert(engine, date(2026, 3, 11))
    assert actions.resolve_all_alerts(engine, "carol", door=Door.CLI) == [second]
    assert drift_alerts.alert_history(engine, second)[-1]["door"] == "cli"


def test_alert_actions_from_the_cli_record_the_cli_door(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "var")}
    engine = get_engine(f"sqlite:///{tmp_path / 'var' / 'rakuten.db'}")
    upgrade_schema(engine)
    alert_id = str(_alert(engine))
    for command in (
        ("acknowledge-alert", alert_id, "--note", "seen"),
        ("act-on-alert", alert_id, "--action", "adjust_thresholds", "--note", "PSI 0.25"),
        ("resolve-alert", alert_id),
    ):
        done = rakuten(*command, "--actor", "erin", env=env)
        assert done.returncode == 0, done.stderr
    assert "is resolved" in done.stderr
    history = drift_alerts.alert_history(engine, int(alert_id))
    assert [(h["action"], h["actor"], h["door"]) for h in history] == [
        ("acknowledge", "erin", "cli"),
        ("adjust_thresholds", "erin", "cli"),
        ("resolve", "erin", "cli"),
    ]


def _reports_alerts(engine: Engine) -> list[dict[str, Any]]:
    from rakuten_assets.operations import reports

    return reports.alerts_with_actions(engine)


def test_rerun_gate_decides_on_an_existing_version(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    reg = build_registry(tmp_path / "registry", small_split, versions=2)
    v1, v2 = reg.versions
    write_split(small_split, tmp_path / "catalog", "test")
    engine = get_engine(reg.database_url)
    platform = _platform(
        engine,
        catalog_dir=tmp_path / "catalog",
        min_weighted_f1=1.0,  # nothing passes
        registry_client=lambda: registry.configure(reg.tracking_uri),
    )
    request = Request("alice", "holdout rebuilt", Door.API)
    with pytest.raises(actions.Conflict, match=f"v{v1} is Production already"):
        actions.rerun_gate(platform, request, v1)
    with pytest.raises(actions.NotFound, match="has no version 999"):
        actions.rerun_gate(platform, request, 999)

    rejected = actions.rerun_gate(platform, request, v2)
    assert rejected.promoted is False
    assert "below the threshold 1.00" in rejected.reason
    assert rejected.production_version == v1

    def f1(version: int) -> float:
        return score_model(registry.load_model(MODEL, version), small_split.holdout).weighted_f1

    passing = dataclasses.replace(platform, min_weighted_f1=0.0)
    # The same version again, with a gate it can pass: promoted if it beats Production.
    decided = actions.rerun_gate(passing, request, v2)
    assert decided.promoted is (f1(v2) > f1(v1))
    assert decided.candidate_weighted_f1 == pytest.approx(f1(v2))
    assert decided.production_weighted_f1 == pytest.approx(f1(v1))
    current = registry.production_version(platform.registry_client(), MODEL)
    assert current is not None
    assert int(current.version) == (v2 if decided.promoted else v1)

    rows = list(reversed(audit.action_history(engine)))
    assert [(r.action, r.outcome, r.target_version) for r in rows] == [
        ("rerun_gate", "refused", v1),
        ("rerun_gate", "refused", None),
        ("rerun_gate", "rejected", v2),
        ("rerun_gate", "promoted" if decided.promoted else "rejected", v2),
    ]
    decisions = registry.promotion_history(engine, MODEL)
    assert list(decisions["actor"])[-2:] == ["alice", "alice"]
    assert list(decisions["candidate_version"])[-2:] == [v2, v2]
    holdout_hash = small_split.holdout_hash
    assert set(decisions["holdout_hash"].iloc[-2:]) == {holdout_hash}
