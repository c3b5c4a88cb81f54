"""Alerts from drift reports: raising, cooldown, lifecycle, and the webhook (a real HTTP receiver)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from rakuten_assets.db import alert_actions, alerts, drift_reports
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift.severity import Severity

DAY = date(2026, 3, 10)


def store_report(engine: Engine, day: date, signals: dict[str, dict[str, Any]]) -> int:
    """A stored report row with the given per-signal results (the document `store_report` writes)."""
    signals = {name: {"name": name, **result} for name, result in signals.items()}
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    worst = max((Severity(s["severity"]) for s in signals.values()), default=Severity.OK)
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(drift_reports).values(
                    report_date=day,
                    computed_at=datetime.now(UTC),
                    current_start=start - timedelta(days=6),
                    current_end=start + timedelta(days=1),
                    reference_start=start - timedelta(days=36),
                    reference_end=start - timedelta(days=6),
                    reference_count=15_000,
                    current_count=3_500,
                    status="ok",
                    severity=str(worst),
                    driving_signal=None,
                    signals={"version": 1, "signals": list(signals.values())},
                )
            ).inserted_primary_key[0]
        )


def finding(severity: str, psi: float = 0.25, p_value: float = 1e-9) -> dict[str, Any]:
    return {"severity": severity, "psi": psi, "p_value": p_value, "test": "ks", "flagged": True}


def test_alerts_are_raised_for_alert_and_critical_signals_only(engine: Engine) -> None:
    report = store_report(
        engine,
        DAY,
        {
            "text_length": finding("ALERT", 0.24),
            "confidence": finding("WARNING", 0.15),
            "predicted_class": finding("CRITICAL", 0.41),
            "word_count": finding("OK", 0.01),
        },
    )
    outcome = drift_alerts.raise_alerts(engine, report, cooldown_days=3)
    raised = {a["signal"]: a for a in outcome.raised}
    assert set(raised) == {"text_length", "predicted_class"}
    assert raised["predicted_class"]["recommended_action"] == "retrain or roll back"
    assert raised["text_length"]["recommended_action"] == "investigate; consider retraining"
    assert "PSI 0.410" in raised["predicted_class"]["message"]
    assert "drift of text_length in the 7 days to 2026-03-10" in raised["text_length"]["message"]
    stored = drift_alerts.list_alerts(engine)
    assert {a["status"] for a in stored} == {"open"}
    assert {a["report_id"] for a in stored} == {report}

    # Running the alert step again for the same report raises nothing new.
    again = drift_alerts.raise_alerts(engine, report, cooldown_days=3)
    assert again.raised == []
    assert len(drift_alerts.list_alerts(engine)) == 2


def test_cooldown_suppresses_repeats_but_not_escalations(engine: Engine) -> None:
    first = store_report(engine, DAY, {"text_length": finding("ALERT")})
    assert len(drift_alerts.raise_alerts(engine, first, cooldown_days=3).raised) == 1

    next_day = store_report(engine, DAY + timedelta(days=1), {"text_length": finding("ALERT")})
    repeat = drift_alerts.raise_alerts(engine, next_day, cooldown_days=3)
    assert repeat.raised == []
    assert repeat.suppressed[0]["signal"] == "text_length"

    worse = store_report(engine, DAY + timedelta(days=2), {"text_length": finding("CRITICAL")})
    escalation = drift_alerts.raise_alerts(engine, worse, cooldown_days=3)
    assert [a["severity"] for a in escalation.raised] == ["CRITICAL"]

    # Past the cooldown of the newest (CRITICAL, day +2) alert, the same news is raised again.
    later = store_report(engine, DAY + timedelta(days=6), {"text_length": finding("CRITICAL")})
    assert len(drift_alerts.raise_alerts(engine, later, cooldown_days=3).raised) == 1


def test_a_resolved_alert_no_longer_covers_its_signal(engine: Engine) -> None:
    first = store_report(engine, DAY, {"confidence": finding("ALERT")})
    (alert,) = drift_alerts.raise_alerts(engine, first, cooldown_days=3).raised
    assert drift_alerts.resolve_alerts(engine, "alice", door="cli", note="fixed upstream feed") == [
        alert["id"]
    ]
    next_day = store_report(engine, DAY + timedelta(days=1), {"confidence": finding("ALERT")})
    assert len(drift_alerts.raise_alerts(engine, next_day, cooldown_days=3).raised) == 1


def test_lifecycle_open_acknowledged_resolved_with_who_and_when(engine: Engine) -> None:
    report = store_report(engine, DAY, {"predicted_class": finding("CRITICAL", 0.5)})
    (alert,) = drift_alerts.raise_alerts(engine, report, cooldown_days=3).raised

    acknowledged = drift_alerts.record_action(
        engine, alert["id"], "acknowledge", "alice", door="ui"
    )
    assert acknowledged["status"] == "acknowledged"
    with pytest.raises(drift_alerts.AlertStateError, match="already acknowledged"):
        drift_alerts.record_action(engine, alert["id"], "acknowledge", "bob", door="api")

    drift_alerts.record_action(
        engine, alert["id"], "investigate", "bob", {"note": "new brands"}, door="api"
    )
    drift_alerts.record_action(
        engine, alert["id"], "retrain", "bob", {"dagster_run_id": "r1"}, door="api"
    )
    resolved = drift_alerts.resolve_alerts(engine, "carol", door="cli", alert_ids=[alert["id"]])
    assert resolved == [alert["id"]]
    with pytest.raises(drift_alerts.AlertStateError, match="resolved"):
        drift_alerts.record_action(engine, alert["id"], "rollback", "dave", door="api")
    with pytest.raises(ValueError, match="not_an_action"):
        drift_alerts.record_action(engine, alert["id"], "not_an_action", "dave", door="api")
    with pytest.raises(drift_alerts.AlertNotFoundError):
        drift_alerts.record_action(engine, 999_999, "acknowledge", "dave", door="api")

    history = drift_alerts.alert_history(engine, alert["id"])
    assert [(h["action"], h["actor"], h["door"]) for h in history] == [
        ("acknowledge", "alice", "ui"),
        ("investigate", "bob", "api"),
        ("retrain", "bob", "api"),
        ("resolve", "carol", "cli"),
    ]
    assert history[2]["details"] == {"dagster_run_id": "r1"}
    assert all(h["taken_at"] is not None for h in history)
    (listed,) = drift_alerts.list_alerts(engine)
    assert listed["status"] == "resolved"
    assert listed["actions"] == 4


def test_an_action_on_an_open_alert_acknowledges_it(engine: Engine) -> None:
    report = store_report(engine, DAY, {"word_count": finding("ALERT")})
    (alert,) = drift_alerts.raise_alerts(engine, report, cooldown_days=3).raised
    after = drift_alerts.record_action(engine, alert["id"], "rollback", "alice", door="api")
    assert after["status"] == "acknowledged"


def test_two_operators_acknowledging_at_once_get_one_success(engine: Engine) -> None:
    report = store_report(engine, DAY, {"word_count": finding("ALERT")})
    (alert,) = drift_alerts.raise_alerts(engine, report, cooldown_days=3).raised
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def acknowledge(actor: str) -> None:
        barrier.wait()
        try:
            drift_alerts.record_action(engine, alert["id"], "acknowledge", actor, door="api")
            outcomes.append("ok")
        except drift_alerts.AlertStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=acknowledge, args=(a,)) for a in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    with engine.connect() as conn:
        actions = conn.execute(
            select(alert_actions.c.action).where(alert_actions.c.alert_id == alert["id"])
        ).all()
    assert len(actions) == 1


# --- webhook against a real local HTTP receiver -------------------------------------------------


class Receiver:
    """A local HTTP server that answers the queued status codes (then 200) and keeps bodies."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/drift"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raised_alert(tmp_path: Any) -> dict[str, Any]:
    from rakuten_assets.db import get_engine, upgrade_schema

    engine = get_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    upgrade_schema(engine)
    report = store_report(engine, DAY, {"unknown_token_share": finding("CRITICAL", 1.2)})
    (alert,) = drift_alerts.raise_alerts(engine, report, cooldown_days=3).raised
    return alert


def test_webhook_delivers_the_alert_as_json(raised_alert: dict[str, Any]) -> None:
    with Receiver([]) as receiver:
        delivery = drift_alerts.deliver_webhook(
            receiver.url, drift_alerts.webhook_payload(raised_alert), attempts=3, timeout=5.0
        )
    assert delivery.delivered
    assert delivery.attempts == 1
    (body,) = receiver.bodies
    assert body["event"] == "drift_alert"
    assert body["alert_id"] == raised_alert["id"]
    assert body["signal"] == "unknown_token_share"
    assert body["severity"] == "CRITICAL"
    assert body["recommended_action"] == "retrain or roll back"
    assert body["report_date"] == DAY.isoformat()


def test_webhook_retries_server_errors_then_succeeds(raised_alert: dict[str, Any]) -> None:
    with Receiver([503, 500]) as receiver:
        delivery = drift_alerts.deliver_webhook(
            receiver.url,
            drift_alerts.webhook_payload(raised_alert),
            attempts=3,
            timeout=5.0,
            backoff_seconds=0.01,
        )
    assert delivery.delivered
    assert delivery.attempts == 3
    assert len(receiver.bodies) == 3


def test_a_failing_webhook_reports_failure_without_raising(raised_alert: dict[str, Any]) -> None:
    with Receiver([500, 500, 500]) as receiver:
        delivery = drift_alerts.deliver_webhook(
            receiver.url,
            drift_alerts.webhook_payload(raised_alert),
            attempts=3,
            timeout=5.0,
            backoff_seconds=0.01,
        )
    assert not delivery.delivered
    assert delivery.attempts == 3
    assert "HTTP 500" in delivery.detail

    with Receiver([400]) as receiver:
        rejected = drift_alerts.deliver_webhook(
            receiver.url,
            drift_alerts.webhook_payload(raised_alert),
            attempts=3,
            timeout=5.0,
            backoff_seconds=0.01,
        )
    assert not rejected.delivered
    assert rejected.attempts == 1  # a 4xx is the receiver's answer; resending won't change it

    from rakuten_assets.processes import free_port

    nobody = drift_alerts.deliver_webhook(
        f"http://127.0.0.1:{free_port()}/hook",
        drift_alerts.webhook_payload(raised_alert),
        attempts=2,
        timeout=1.0,
        backoff_seconds=0.01,
    )
    assert not nobody.delivered
    assert "ConnectError" in nobody.detail


def test_alert_rows_reference_their_report(engine: Engine) -> None:
    report = store_report(engine, DAY, {"confidence": finding("ALERT")})
    drift_alerts.raise_alerts(engine, report, cooldown_days=0)
    with engine.connect() as conn:
        rows = conn.execute(select(alerts.c.report_id, alerts.c.report_date)).all()
    assert rows == [(report, DAY)]


def test_the_message_names_the_report_window(engine: Engine) -> None:
    report = store_report(engine, DAY, {"confidence": finding("ALERT")})
    with engine.begin() as conn:  # a report over a 3-day current window
        conn.execute(
            update(drift_reports)
            .where(drift_reports.c.id == report)
            .values(current_start=datetime(2026, 3, 8, tzinfo=UTC))
        )
    (alert,) = drift_alerts.raise_alerts(engine, report, cooldown_days=0).raised
    assert alert["message"].startswith("ALERT drift of confidence in the 3 days to 2026-03-10")
