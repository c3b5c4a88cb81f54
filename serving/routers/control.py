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
from rakuten_assets.launcher import (
    DagsterUnavailableError,
    launch_weekly_run,
    running_weekly_runs,
)
from serving.deps import AdminDep, StateDep
from serving.schemas import (
    Action,
    ActionHistory,
    ActionRequest,
    RetrainRequest,
    RetrainResponse,
    RollbackResponse,
)
from serving.state import ServingState

log = logging.getLogger("serving.control")

router = APIRouter(prefix="/api", tags=["control"], dependencies=[AdminDep])

#: How long a rollback waits for this process to serve the target before answering.
ROLLBACK_SWAP_TIMEOUT = 60.0

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


def _next_partition(state: ServingState) -> str:
    from rakuten_assets.data.loader import next_slice_index
    from rakuten_assets.defs.partitions import partition_key_for

    return partition_key_for(next_slice_index(state.engine))


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
    common = {"action": "retrain", "actor": body.actor, "reason": body.reason}
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
    return RetrainResponse(
        run_id=run_id, partition_key=key, run_url=f"{url.rstrip('/')}/runs/{run_id}"
    )


@router.post(
    "/rollback-model",
    summary="Move Production back to the previous Production version",
    response_model=RollbackResponse,
    responses={
        **_AUTH,
        409: {"description": "The promotion history has no earlier Production version."},
        503: {"description": "The registry or the database is unreachable."},
    },
)
async def rollback_model(body: ActionRequest, state: StateDep) -> RollbackResponse:
    store = state.store
    previous = store.current.version if store.current else None
    common = {"action": "rollback", "actor": body.actor, "reason": body.reason}
    try:
        target = await asyncio.to_thread(
            registry.rollback,
            store.registry_client(),
            state.engine,
            state.settings.registered_model_name,
            actor=body.actor,
            reason=body.reason,
        )
    except LookupError as exc:
        _record(state, **common, outcome="refused", previous_version=previous, detail=str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except Exception as exc:
        # MLflow (HTTP, REST) or database errors: the operator can only retry later.
        detail = f"rollback failed, registry or database unreachable: {type(exc).__name__}: {exc}"
        _record(state, **common, outcome="failed", previous_version=previous, detail=detail[:2000])
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail[:500]) from exc
    # Swap now rather than at the next poll; the other workers follow within one poll interval.
    store.request_refresh()
    await asyncio.to_thread(store.wait_for_version, target, ROLLBACK_SWAP_TIMEOUT)
    served = store.current.version if store.current else None
    _record(state, **common, outcome="succeeded", target_version=target, previous_version=previous)
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
