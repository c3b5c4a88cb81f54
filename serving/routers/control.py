"""Operator control: retrain and rollback (admin token), and the history of both."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets import registry
from rakuten_assets.db import api_actions
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.launcher import (
    DagsterUnavailableError,
    launch_weekly_run,
    running_weekly_runs,
)
from serving.deps import AdminDep, StateDep
from serving.schemas import (
    Action,
    ActionHistory,
    RetrainRequest,
    RetrainResponse,
    RollbackRequest,
    RollbackResponse,
)
from serving.state import ServingState

log = logging.getLogger("serving.control")

router = APIRouter(prefix="/api", tags=["control"], dependencies=[AdminDep])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token."},
    403: {"description": "Wrong token (not API_ADMIN_TOKEN)."},
}


def _record(state: ServingState, **values: Any) -> None:
    values.setdefault("requested_at", datetime.now(UTC))
    try:
        with state.engine.begin() as conn:
            conn.execute(insert(api_actions).values(**values))
    except SQLAlchemyError as exc:
        # The action itself happened (or was refused); losing its audit row must not hide that.
        log.error("could not record the %s action in api_actions: %s", values["action"], exc)


async def _open_alert(state: ServingState, alert_id: int | None) -> None:
    """Refuse, before acting, an action that answers an unknown or already resolved alert."""
    if alert_id is None:
        return
    try:
        alert = await asyncio.to_thread(drift_alerts.get_alert, state.engine, alert_id)
    except drift_alerts.AlertNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the database is unreachable, cannot check alert {alert_id}: {exc}",
        ) from exc
    if alert["status"] == drift_alerts.AlertStatus.RESOLVED:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"alert {alert_id} is resolved; act without alert_id or on an open alert",
        )


async def _answer_alert(
    state: ServingState, alert_id: int | None, action: str, actor: str, details: dict[str, Any]
) -> None:
    """Record the action in the alert's history (the action itself already happened)."""
    if alert_id is None:
        return
    try:
        await asyncio.to_thread(
            drift_alerts.record_action, state.engine, alert_id, action, actor, details
        )
    except (drift_alerts.AlertStateError, drift_alerts.AlertNotFoundError, SQLAlchemyError) as exc:
        # Resolved meanwhile, or the database went away: the retrain / rollback stands and its
        # api_actions row names the alert; only the alert's own history misses this entry.
        log.error("could not record %s on alert %s: %s", action, alert_id, exc)


def _next_partition(state: ServingState) -> str:
    from rakuten_assets.defs.partitions import next_partition_key

    return next_partition_key(state.engine)


@router.post(
    "/trigger-retrain",
    summary="Launch weekly_ml_pipeline on the Dagster webserver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetrainResponse,
    responses={
        **_AUTH,
        409: {"description": "A weekly_ml_pipeline run is already queued or running."},
        503: {
            "description": "Dagster (or the database, for the default partition) is unreachable."
        },
    },
)
async def trigger_retrain(body: RetrainRequest, state: StateDep) -> RetrainResponse:
    url = state.settings.dagster_url
    common = {
        "action": "retrain",
        "actor": body.actor,
        "reason": body.reason,
        "alert_id": body.alert_id,
    }
    await _open_alert(state, body.alert_id)
    try:
        key = body.partition_key
        if key is None:
            key = await asyncio.to_thread(_next_partition, state)
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the product database is unreachable, cannot pick the next week: {exc}",
        ) from exc
    try:
        active = await asyncio.to_thread(running_weekly_runs, url)
        if active:
            detail = "a weekly_ml_pipeline run is already in progress: " + ", ".join(
                f"{run.run_id} ({run.status})" for run in active
            )
            _record(state, **common, outcome="conflict", partition_key=key, detail=detail)
            raise HTTPException(status.HTTP_409_CONFLICT, detail=detail)
        run_id = await asyncio.to_thread(
            launch_weekly_run, url, key, launched_by=f"api:{body.actor}"
        )
    except DagsterUnavailableError as exc:
        _record(state, **common, outcome="unavailable", partition_key=key, detail=str(exc))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    _record(state, **common, outcome="launched", partition_key=key, dagster_run_id=run_id)
    await _answer_alert(
        state,
        body.alert_id,
        "retrain",
        body.actor,
        {"reason": body.reason, "dagster_run_id": run_id, "partition_key": key},
    )
    return RetrainResponse(
        run_id=run_id, partition_key=key, run_url=f"{url.rstrip('/')}/runs/{run_id}"
    )


@router.post(
    "/rollback-model",
    summary="Move Production back to the previous Production version",
    response_model=RollbackResponse,
    responses={
        **_AUTH,
        409: {
            "description": "The promotion history has no earlier Production version, or "
            "Production is no longer `expected_version`."
        },
        503: {"description": "The registry or the database is unreachable."},
    },
)
async def rollback_model(body: RollbackRequest, state: StateDep) -> RollbackResponse:
    store = state.store
    previous = store.current.version if store.current else None
    common = {
        "action": "rollback",
        "actor": body.actor,
        "reason": body.reason,
        "alert_id": body.alert_id,
    }
    await _open_alert(state, body.alert_id)
    try:
        target = await asyncio.to_thread(
            registry.rollback,
            store.registry_client(),
            state.engine,
            state.settings.registered_model_name,
            actor=body.actor,
            reason=body.reason,
            expected_version=body.expected_version,
        )
    except registry.ProductionChangedError as exc:
        _record(state, **common, outcome="conflict", previous_version=previous, detail=str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except LookupError as exc:
        _record(state, **common, outcome="refused", previous_version=previous, detail=str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except Exception as exc:
        # MLflow (HTTP, REST) or database errors: the operator can only retry later.
        detail = f"rollback failed, registry or database unreachable: {type(exc).__name__}: {exc}"
        _record(state, **common, outcome="failed", previous_version=previous, detail=detail[:2000])
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail[:500]) from exc
    # Follow the registry now rather than at the next poll (the other workers follow within one
    # poll interval). Production may already have moved past `target` (a concurrent rollback):
    # this process then serves that newer state, which is what the registry says.
    try:
        await asyncio.to_thread(store.sync)
    except Exception as exc:
        # The rollback is done and recorded; the watcher retries the swap at its next poll.
        log.warning("rollback to v%s done, but this process could not swap yet: %s", target, exc)
    served = store.current.version if store.current else None
    _record(state, **common, outcome="succeeded", target_version=target, previous_version=previous)
    await _answer_alert(
        state,
        body.alert_id,
        "rollback",
        body.actor,
        {"reason": body.reason, "target_version": target, "previous_version": previous},
    )
    return RollbackResponse(previous_version=previous, target_version=target, served_version=served)


@router.get(
    "/action-history",
    summary="Retrain and rollback requests, newest first",
    response_model=ActionHistory,
    responses={**_AUTH, 503: {"description": "The database is unreachable."}},
)
async def action_history(state: StateDep, limit: int = Query(50, ge=1, le=1_000)) -> ActionHistory:
    query = select(api_actions).order_by(api_actions.c.id.desc()).limit(limit)

    def read() -> list[dict[str, Any]]:
        with state.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    try:
        rows = await asyncio.to_thread(read)
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"database unreachable: {exc}"
        ) from exc
    return ActionHistory(
        actions=[Action(**{**row, "requested_at": row["requested_at"].isoformat()}) for row in rows]
    )
