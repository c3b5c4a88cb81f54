"""Drift alerts: raised from stored reports, acted upon by people, announced by a webhook.

Life of an alert: ``open`` -> ``acknowledged`` -> ``resolved``. Every step, and every action an
operator takes about an alert (retrain, rollback, investigate, adjust_thresholds), is a row of
``alert_actions`` saying who did what, when. Status changes are single conditional UPDATEs
(``... WHERE status = 'open'``), so two operators acknowledging at once get one success and one
clear refusal, never two acknowledgements.

An alert is raised for each signal of a report whose severity is ALERT or worse. It is *not*
raised again for the same signal while an open or acknowledged alert on that signal is younger
than the cooldown (in report days), unless the new severity is higher: an escalation from ALERT
to CRITICAL must reach people, a repetition of the same news must not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import Engine, and_, func, insert, select, update

from rakuten_assets.db import alert_actions, alerts
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.storage import ReportSummary, report_summary_by_id

log = logging.getLogger(__name__)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ActionType(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RETRAIN = "retrain"
    ROLLBACK = "rollback"
    INVESTIGATE = "investigate"
    ADJUST_THRESHOLDS = "adjust_thresholds"
    #: Closing an alert (status change only; the drift is over or was dealt with).
    RESOLVE = "resolve"


#: Statuses during which an alert still "covers" its signal (cooldown).
ACTIVE = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


class AlertNotFoundError(LookupError):
    """No alert with that id."""


class AlertStateError(RuntimeError):
    """The alert is not in a state that allows the requested change."""


@dataclass(frozen=True)
class RaisedAlerts:
    """What ``raise_alerts`` did for one report."""

    raised: list[dict[str, Any]]
    #: Signals at ALERT or worse that were not raised again, with the alert that covers them.
    suppressed: list[dict[str, Any]]


def _findings(report: ReportSummary) -> list[tuple[str, Severity, Mapping[str, Any]]]:
    """The report's signals at ALERT or worse, the most severe first."""
    found = [
        (name, Severity(result.get("severity", Severity.OK)), result)
        for name, result in report.signals.items()
    ]
    alerting = [finding for finding in found if finding[1].raises_alert]
    return sorted(alerting, key=lambda finding: -finding[1].rank)


def _message(name: str, result: Mapping[str, Any], report: ReportSummary) -> str:
    psi = result.get("psi")
    p_value = result.get("p_value")
    test = result.get("test", "test")
    window = f"the {report.current_days} days to {report.report_date.isoformat()}"
    parts = [f"{result['severity']} drift of {name} in {window}"]
    if psi is not None:
        parts.append(f"PSI {psi:.3f}")
    if p_value is not None:
        parts.append(f"{test} p={p_value:.2g}")
    return ", ".join(parts)


def raise_alerts(
    engine: Engine, report_id: int, *, cooldown_days: int, now: datetime | None = None
) -> RaisedAlerts:
    """Alert rows for the ALERT/CRITICAL signals of a stored report (idempotent per report)."""
    now = now or datetime.now(UTC)
    report = report_summary_by_id(engine, report_id)
    if report is None:
        raise LookupError(f"no drift report with id {report_id}: store the report first")
    report_date = report.report_date
    raised: list[dict[str, Any]] = []
    suppressed: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for name, severity, result in _findings(report):
            covering = conn.execute(
                select(alerts)
                .where(
                    and_(
                        alerts.c.signal == name,
                        alerts.c.status.in_(ACTIVE) | (alerts.c.report_id == report_id),
                        alerts.c.report_date >= report_date - timedelta(days=cooldown_days),
                        alerts.c.report_date <= report_date,
                    )
                )
                .order_by(alerts.c.report_date.desc(), alerts.c.id.desc())
            ).all()
            same_report = [row for row in covering if row.report_id == report_id]
            stronger = [row for row in covering if Severity(row.severity) >= severity]
            if same_report or stronger:
                cover = (same_report or stronger)[0]
                suppressed.append(
                    {"signal": name, "severity": severity.value, "covered_by": int(cover.id)}
                )
                continue
            row = {
                "created_at": now,
                "updated_at": now,
                "report_id": report_id,
                "report_date": report_date,
                "signal": name,
                "severity": severity.value,
                "status": AlertStatus.OPEN.value,
                "message": _message(name, result, report),
                "recommended_action": severity.recommended_action,
                "psi": result.get("psi"),
                "p_value": result.get("p_value"),
            }
            alert_id = conn.execute(
                insert(alerts).values(**row).returning(alerts.c.id)
            ).scalar_one()
            raised.append({"id": int(alert_id), **row})
    return RaisedAlerts(raised=raised, suppressed=suppressed)


#: The signal of the alert raised when Production's realised weighted F1 drops.
REALISED_F1_SIGNAL = "realised_weighted_f1"


def raise_realised_drop_alert(
    engine: Engine,
    *,
    slice_date: date,
    model_version: int,
    weighted_f1: float,
    holdout_weighted_f1: float,
    max_drop: float,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """An alert (no drift report behind it) when the slice's F1 is over ``max_drop`` below the
    holdout's: ALERT, CRITICAL beyond twice ``max_drop``. None when the drop is within bounds or
    an alert for that slice date exists already (idempotent per week)."""
    drop = holdout_weighted_f1 - weighted_f1
    if drop <= max_drop:
        return None
    severity = Severity.CRITICAL if drop > 2 * max_drop else Severity.ALERT
    now = now or datetime.now(UTC)
    row = {
        "created_at": now,
        "updated_at": now,
        "report_id": None,
        "report_date": slice_date,
        "signal": REALISED_F1_SIGNAL,
        "severity": severity.value,
        "status": AlertStatus.OPEN.value,
        "message": (
            f"{severity} drop of Production v{model_version}'s weighted F1 on the slice of "
            f"{slice_date.isoformat()}: {weighted_f1:.3f} against {holdout_weighted_f1:.3f} on "
            f"the golden holdout (-{drop:.3f}, limit {max_drop:.3f})"
        ),
        "recommended_action": severity.recommended_action,
        "psi": None,
        "p_value": None,
    }
    with engine.begin() as conn:
        existing = conn.execute(
            select(alerts.c.id).where(
                alerts.c.signal == REALISED_F1_SIGNAL, alerts.c.report_date == slice_date
            )
        ).first()
        if existing is not None:
            return None
        alert_id = conn.execute(insert(alerts).values(**row).returning(alerts.c.id)).scalar_one()
    return {"id": int(alert_id), **row}


# --- lifecycle ----------------------------------------------------------------------------------


def record_action(
    engine: Engine,
    alert_id: int,
    action: ActionType | str,
    actor: str,
    details: Mapping[str, Any] | None = None,
    *,
    door: str,
) -> dict[str, Any]:
    """Record what ``actor`` did about an alert, through ``door`` (api, cli, ui);
    retrain/rollback/investigate acknowledge it.

    Returns the alert as it is afterwards. Acting on a resolved alert is refused
    (:class:`AlertStateError`): it is history.
    """
    action = ActionType(action)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        current = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one_or_none()
        if current is None:
            raise AlertNotFoundError(f"no alert with id {alert_id}")
        if current.status == AlertStatus.RESOLVED:
            raise AlertStateError(f"alert {alert_id} is resolved; it can no longer be acted on")
        if action is ActionType.ACKNOWLEDGE:
            changed = conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.status == AlertStatus.OPEN.value)
                .values(status=AlertStatus.ACKNOWLEDGED.value, updated_at=now)
            ).rowcount
            if not changed:
                raise AlertStateError(f"alert {alert_id} is already {current.status}")
        else:
            # Doing something about an alert means someone has seen it.
            conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.status == AlertStatus.OPEN.value)
                .values(status=AlertStatus.ACKNOWLEDGED.value, updated_at=now)
            )
        conn.execute(
            insert(alert_actions).values(
                alert_id=alert_id,
                action=action.value,
                actor=actor,
                taken_at=now,
                details=dict(details or {}),
                door=door,
            )
        )
        return dict(conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()._mapping)


def resolve_alerts(
    engine: Engine,
    actor: str,
    *,
    door: str,
    alert_ids: Sequence[int] | None = None,
    note: str = "",
) -> list[int]:
    """Resolve the given (or all) open and acknowledged alerts, through ``door``; returns the ids
    resolved."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        query = select(alerts.c.id).where(alerts.c.status.in_(ACTIVE))
        if alert_ids is not None:
            query = query.where(alerts.c.id.in_(list(alert_ids)))
        ids = [int(i) for i in conn.execute(query).scalars()]
        if not ids:
            return []
        conn.execute(
            update(alerts)
            .where(alerts.c.id.in_(ids), alerts.c.status.in_(ACTIVE))
            .values(status=AlertStatus.RESOLVED.value, updated_at=now)
        )
        conn.execute(
            insert(alert_actions),
            [
                {
                    "alert_id": i,
                    "action": ActionType.RESOLVE.value,
                    "actor": actor,
                    "taken_at": now,
                    "details": {"note": note} if note else {},
                    "door": door,
                }
                for i in ids
            ],
        )
    return ids


def list_alerts(
    engine: Engine, *, status: str | None = None, report_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first (only those in ``status``, of ``report_id`` if given), each with the number
    of actions taken on it."""
    counts = (
        select(alert_actions.c.alert_id, func.count().label("actions"))
        .group_by(alert_actions.c.alert_id)
        .subquery()
    )
    query = (
        select(alerts, func.coalesce(counts.c.actions, 0).label("actions"))
        .outerjoin(counts, counts.c.alert_id == alerts.c.id)
        .order_by(alerts.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(alerts.c.status == status)
    if report_id is not None:
        query = query.where(alerts.c.report_id == report_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def active_alert_count(engine: Engine) -> int:
    """How many alerts are open or acknowledged (not resolved)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(alerts).where(alerts.c.status.in_(ACTIVE))
            ).scalar_one()
        )


def alert_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """How many alerts there are per (status, severity) (one GROUP BY)."""
    query = select(alerts.c.status, alerts.c.severity, func.count()).group_by(
        alerts.c.status, alerts.c.severity
    )
    with engine.connect() as conn:
        return {(str(st), str(sev)): int(n) for st, sev, n in conn.execute(query)}


def recent_actions(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest actions taken on any alert, with the alert's signal and severity."""
    query = (
        select(alert_actions, alerts.c.signal, alerts.c.severity)
        .join(alerts, alerts.c.id == alert_actions.c.alert_id)
        .order_by(alert_actions.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def alert_history(engine: Engine, alert_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(alert_actions)
            .where(alert_actions.c.alert_id == alert_id)
            .order_by(alert_actions.c.id)
        )
        return [dict(row._mapping) for row in rows]


def get_alert(engine: Engine, alert_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one_or_none()
    if row is None:
        raise AlertNotFoundError(f"no alert with id {alert_id}")
    return dict(row._mapping)


# --- webhook ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """The outcome of one webhook message (all attempts)."""

    delivered: bool
    attempts: int
    detail: str


def webhook_payload(alert: Mapping[str, Any], *, source: str = "rakuten-mlops") -> dict[str, Any]:
    """The JSON body posted for a new alert (stable field names; receivers parse it)."""
    return {
        "source": source,
        "event": "drift_alert",
        "alert_id": alert["id"],
        "report_id": alert["report_id"],
        "report_date": alert["report_date"].isoformat(),
        "signal": alert["signal"],
        "severity": alert["severity"],
        "message": alert["message"],
        "recommended_action": alert["recommended_action"],
        "psi": alert.get("psi"),
        "p_value": alert.get("p_value"),
        "created_at": alert["created_at"].isoformat(),
    }


def deliver_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    attempts: int,
    timeout: float,
    backoff_seconds: float = 0.5,
) -> Delivery:
    """POST ``payload`` to ``url``, retrying on errors and 5xx; never raises.

    A failing receiver must not fail the drift check that found the drift: the report and the
    alert are already stored, and the outcome is returned for the run's metadata and the log.
    A 4xx answer is not retried (the receiver rejected the message; resending won't change it).
    """
    detail = "not attempted"
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=dict(payload), timeout=timeout)
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return Delivery(True, attempt, f"HTTP {response.status_code}")
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code < 500:
                break
        if attempt < attempts:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    log.warning("alert webhook %s failed after %d attempt(s): %s", url, attempt, detail)
    return Delivery(False, attempt, detail)
