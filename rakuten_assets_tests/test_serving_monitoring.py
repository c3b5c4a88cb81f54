"""Drift reports, alerts and drift gauges through the API (uvicorn subprocess, real database)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, prediction_log
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift.report import compute_report
from rakuten_assets.drift.storage import store_report
from rakuten_assets_tests.test_drift_assets import log_predictions
from rakuten_assets_tests.test_drift_report import parameters
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    Registry,
    api_env,
    api_server,
    build_registry,
    promote,
)

DAY = date(2026, 3, 10)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def drifted_registry(root: Path, small_split: SplitCatalog) -> Registry:
    """Two versions (v1 -> v2 promoted), a quiet report, then a CRITICAL one with its alerts."""
    reg = build_registry(root, small_split, versions=2)
    promote(reg.tracking_uri, reg.database_url, reg.versions[1])  # history: v1 -> v2
    engine = get_engine(reg.database_url)
    # A quiet day, then a day whose 7-day window holds long texts.
    log_predictions(engine, DAY - timedelta(days=37), 30, 40, seed=1)
    log_predictions(engine, DAY - timedelta(days=7), 6, 40, seed=2)
    quiet = compute_report(engine, DAY - timedelta(days=1), parameters(timezone="UTC"))
    store_report(engine, quiet)
    log_predictions(engine, DAY, 1, 400, seed=3, long_texts=True)
    report_id = store_report(engine, compute_report(engine, DAY, parameters(timezone="UTC")))
    drift_alerts.raise_alerts(engine, report_id, cooldown_days=3)
    return reg


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog) -> Registry:
    return drifted_registry(tmp_path_factory.mktemp("registry"), small_split)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, reg: Registry) -> Iterator[str]:
    root = tmp_path_factory.mktemp("api")
    env = api_env(root / "var", reg.tracking_uri, reg.database_url)
    with api_server(env, root / "api.log") as (url, _pid):
        yield url


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/drift-reports", None),
        ("get", "/api/alerts", None),
        ("get", "/api/alerts/1", None),
        ("post", "/api/alerts/1/acknowledge", {"actor": "alice"}),
        ("post", "/api/alerts/1/actions", {"actor": "alice", "action": "investigate"}),
        ("post", "/api/alerts/1/resolve", {"actor": "alice"}),
    ],
)
def test_monitoring_endpoints_need_the_admin_token(
    api: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    def call(headers: dict[str, str]) -> int:
        return httpx.request(method, f"{api}{path}", json=body, headers=headers).status_code

    assert call({}) == 401
    assert call({"Authorization": "Bearer wrong-token"}) == 403


def test_drift_reports_newest_first_with_signals(api: str) -> None:
    reports = httpx.get(f"{api}/api/drift-reports", headers=ADMIN).json()["reports"]
    assert [r["report_date"] for r in reports] == [
        DAY.isoformat(),
        (DAY - timedelta(1)).isoformat(),
    ]
    latest, quiet = reports
    assert latest["status"] == "ok"
    assert latest["severity"] == "CRITICAL"
    assert latest["driving_signal"] in {"text_length", "word_count"}
    assert latest["signals"]["text_length"]["test"] == "ks"
    assert latest["signals"]["predicted_class"]["test"] == "chi2"
    assert latest["signals"]["text_length"]["flagged"] is True
    assert latest["comparison"] == {
        "mode": "same_version",
        "model_version": 1,
        "reason": None,
        "reference_rows": latest["reference_count"],
        "current_rows": latest["current_count"],
    }
    assert quiet["severity"] in {"OK", "WARNING"}

    only_critical = httpx.get(
        f"{api}/api/drift-reports", params={"severity": "CRITICAL"}, headers=ADMIN
    ).json()["reports"]
    assert [r["report_date"] for r in only_critical] == [DAY.isoformat()]
    bad = httpx.get(f"{api}/api/drift-reports", params={"severity": "HUGE"}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "severity"]
    schema = httpx.get(f"{api}/openapi.json").json()
    assert schema["components"]["schemas"]["Severity"]["enum"] == [
        "OK",
        "WARNING",
        "ALERT",
        "CRITICAL",
    ]


def test_alert_lifecycle_through_the_api(api: str, reg: Registry) -> None:
    open_alerts = httpx.get(f"{api}/api/alerts", params={"status": "open"}, headers=ADMIN).json()
    assert open_alerts["alerts"], "the CRITICAL report raised alerts"
    alert = open_alerts["alerts"][0]
    assert alert["recommended_action"] == "retrain or roll back"
    url = f"{api}/api/alerts/{alert['id']}"

    acknowledged = httpx.post(
        f"{url}/acknowledge", json={"actor": "alice", "note": "on it"}, headers=ADMIN
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    again = httpx.post(f"{url}/acknowledge", json={"actor": "bob"}, headers=ADMIN)
    assert again.status_code == 409
    assert "already acknowledged" in again.json()["detail"]

    investigated = httpx.post(
        f"{url}/actions", json={"actor": "bob", "action": "investigate"}, headers=ADMIN
    )
    assert investigated.status_code == 200
    assert investigated.json()["actions"] == 0 or investigated.json()["status"] == "acknowledged"
    wrong = httpx.post(f"{url}/actions", json={"actor": "bob", "action": "delete"}, headers=ADMIN)
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "action"]

    resolved = httpx.post(f"{url}/resolve", json={"actor": "carol"}, headers=ADMIN)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert httpx.post(f"{url}/resolve", json={"actor": "carol"}, headers=ADMIN).status_code == 409
    late = httpx.post(
        f"{url}/actions", json={"actor": "dan", "action": "investigate"}, headers=ADMIN
    )
    assert late.status_code == 409

    listed = httpx.get(f"{api}/api/alerts", headers=ADMIN).json()["alerts"]
    (same,) = [a for a in listed if a["id"] == alert["id"]]
    assert same["status"] == "resolved"
    assert same["actions"] == 3  # acknowledge, investigate, resolve
    history = drift_alerts.alert_history(get_engine(reg.database_url), alert["id"])
    assert [(h["action"], h["actor"], h["door"]) for h in history] == [
        ("acknowledge", "alice", "api"),
        ("investigate", "bob", "api"),
        ("resolve", "carol", "api"),
    ]
    # The alert alone, with its history as the database has it.
    detail = httpx.get(url, headers=ADMIN)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["id"], body["status"], body["actions"]) == (alert["id"], "resolved", 3)
    assert [(h["action"], h["actor"], h["door"]) for h in body["history"]] == [
        (h["action"], h["actor"], h["door"]) for h in history
    ]
    assert body["history"][0]["details"]["note"] == "on it"
    assert body["history"][0]["taken_at"] == history[0]["taken_at"].isoformat()
    assert httpx.get(f"{api}/api/alerts/999999", headers=ADMIN).status_code == 404
    assert httpx.get(url).status_code == 401

    missing = httpx.post(f"{api}/api/alerts/999999/acknowledge", json={"actor": "a"}, headers=ADMIN)
    assert missing.status_code == 404
    assert (
        httpx.post(
            f"{api}/api/alerts/0/acknowledge", json={"actor": "a"}, headers=ADMIN
        ).status_code
        == 422
    )
    no_actor = httpx.post(f"{url}/acknowledge", json={"actor": "  "}, headers=ADMIN)
    assert no_actor.status_code == 422


def test_metrics_show_the_latest_drift_next_to_latency(api: str) -> None:
    text = httpx.get(f"{api}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["rakuten_drift_metrics_up"].samples[0].value == 1
    assert families["rakuten_drift_severity"].samples[0].value == 3  # CRITICAL
    psi = {s.labels["signal"]: s.value for s in families["rakuten_drift_psi"].samples}
    assert set(psi) >= {"text_length", "word_count", "confidence", "predicted_class"}
    assert psi["text_length"] >= 0.3
    assert "rakuten_prediction_latency_seconds" in families


def test_every_logged_prediction_carries_its_unknown_token_share(api: str, reg: Registry) -> None:
    known = httpx.post(f"{api}/predict", json={"designation": "Coussin déco en lin"}).json()
    unknown = httpx.post(f"{api}/predict", json={"designation": "zqxwv plorbtastic"}).json()
    engine = get_engine(reg.database_url)
    shares: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while len(shares) < 2 and time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(
                select(prediction_log.c.prediction_id, prediction_log.c.unknown_token_share).where(
                    prediction_log.c.prediction_id.in_(
                        [known["prediction_id"], unknown["prediction_id"]]
                    )
                )
            ).all()
        shares = {str(i): float(s) for i, s in rows}
        time.sleep(0.2)
    assert shares[unknown["prediction_id"]] == 1.0
    assert 0.0 <= shares[known["prediction_id"]] < 1.0


def test_drift_gauges_need_no_model_and_no_report(tmp_path: Path) -> None:
    """A fresh database: /metrics still answers, with drift up and no severity yet."""
    from rakuten_assets.db import upgrade_schema

    database_url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_schema(get_engine(database_url))
    env = api_env(tmp_path / "var", f"sqlite:///{tmp_path / 'mlflow.db'}", database_url)
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        families = {
            f.name for f in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        }
    assert "rakuten_drift_metrics_up" in families
    assert "rakuten_drift_severity" not in families


def test_retrain_and_rollback_record_the_alert_they_answer(api: str, reg: Registry) -> None:
    alert = httpx.get(f"{api}/api/alerts", params={"status": "open"}, headers=ADMIN).json()[
        "alerts"
    ][0]
    # An unknown or resolved alert is refused before anything is done.
    unknown = httpx.post(
        f"{api}/api/rollback-model",
        json={"actor": "alice", "reason": "drift", "alert_id": 999_999},
        headers=ADMIN,
    )
    assert unknown.status_code == 404
    resolved = httpx.get(f"{api}/api/alerts", params={"status": "resolved"}, headers=ADMIN).json()
    if resolved["alerts"]:
        closed = httpx.post(
            f"{api}/api/rollback-model",
            json={"actor": "alice", "reason": "x", "alert_id": resolved["alerts"][0]["id"]},
            headers=ADMIN,
        )
        assert closed.status_code == 409
        assert "is resolved" in closed.json()["detail"]

    # Dagster is not running here: the retrain attempt is refused (503) but recorded with the alert.
    retrain = httpx.post(
        f"{api}/api/trigger-retrain",
        json={"actor": "bob", "reason": "CRITICAL drift", "alert_id": alert["id"]},
        headers=ADMIN,
    )
    assert retrain.status_code == 503

    rollback = httpx.post(
        f"{api}/api/rollback-model",
        json={"actor": "alice", "reason": f"alert {alert['id']}", "alert_id": alert["id"]},
        headers=ADMIN,
        timeout=60,
    )
    assert rollback.status_code == 200, rollback.text
    assert rollback.json()["target_version"] == reg.versions[0]

    history = httpx.get(f"{api}/api/action-history", headers=ADMIN).json()["actions"]
    assert [(a["action"], a["outcome"], a["alert_id"]) for a in history[:2]] == [
        ("rollback", "succeeded", alert["id"]),
        ("retrain", "unavailable", alert["id"]),
    ]
    actions = drift_alerts.alert_history(get_engine(reg.database_url), alert["id"])
    assert [(a["action"], a["actor"], a["door"]) for a in actions] == [("rollback", "alice", "api")]
    assert actions[0]["details"]["target_version"] == reg.versions[0]
    after = drift_alerts.get_alert(get_engine(reg.database_url), alert["id"])
    assert after["status"] == "acknowledged"
