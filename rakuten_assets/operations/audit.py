"""The audit trail of operator actions (`api_actions`): one row per action, refusals included,
naming the door (api, cli, ui) it came through."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.db import api_actions

log = logging.getLogger(__name__)


class Door(StrEnum):
    """Where an operator action came from (recorded with it)."""

    API = "api"
    CLI = "cli"
    UI = "ui"


@dataclass(frozen=True)
class Request:
    """Who asks for an action, why, through which door, and the alert it answers (if any)."""

    actor: str
    reason: str
    door: Door
    alert_id: int | None = None


@dataclass(frozen=True)
class ActionRecord:
    """One row of `api_actions`: an operator action and its outcome (refusals included)."""

    id: int
    requested_at: datetime
    action: str
    door: str
    actor: str
    reason: str
    outcome: str
    target_version: int | None
    previous_version: int | None
    dagster_run_id: str | None
    partition_key: str | None
    detail: str | None
    alert_id: int | None


def record(engine: Engine, request: Request, action: str, outcome: str, **values: Any) -> None:
    """Write the audit row of one action (never raises: the action stands without it)."""
    row = {
        "requested_at": datetime.now(UTC),
        "action": action,
        "door": request.door.value,
        "actor": request.actor,
        "reason": request.reason,
        "alert_id": request.alert_id,
        "outcome": outcome,
        **values,
    }
    if row.get("detail"):
        row["detail"] = str(row["detail"])[:2000]
    try:
        with engine.begin() as conn:
            conn.execute(insert(api_actions).values(**row))
    except SQLAlchemyError as exc:
        # The action itself happened (or was refused); losing its audit row must not hide that.
        log.error("could not record the %s action in api_actions: %s", action, exc)


def action_history(engine: Engine, limit: int = 50) -> list[ActionRecord]:
    """Operator actions, newest first."""
    query = select(api_actions).order_by(api_actions.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [ActionRecord(**_aware(dict(row))) for row in rows]


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    # SQLite hands back naive datetimes; every requested_at is written in UTC.
    if row["requested_at"].tzinfo is None:
        row["requested_at"] = row["requested_at"].replace(tzinfo=UTC)
    return row
