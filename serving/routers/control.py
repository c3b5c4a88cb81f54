"""Operator control (admin token): retrain, rollback, roll-forward, re-run the promotion gate,
and the history of these actions. Each endpoint calls one operation of the domain layer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets import registry
from rakuten_assets.operations import actions, audit
from rakuten_assets.operations.audit import Door, Request
from serving.deps import AdminDep, StateDep
from serving.schemas import (
    Action,
    ActionHistory,
    GateRequest,
    GateResponse,
    MoveRequest,
    RetrainRequest,
    RetrainResponse,
    RollbackRequest,
    RollbackResponse,
)
from serving.state import ServingState

log = logging.getLogger("serving.control")
T = TypeVar("T")

router = APIRouter(prefix="/api", tags=["control"], dependencies=[AdminDep])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token."},
    403: {"description": "Wrong token (not API_ADMIN_TOKEN)."},
}

#: How a refused or failed operation answers.
_STATUS = {
    actions.NotFound: status.HTTP_404_NOT_FOUND,
    actions.Conflict: status.HTTP_409_CONFLICT,
    actions.Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
    actions.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def _platform(state: ServingState) -> actions.Platform:
    return actions.Platform.from_settings(
        state.settings, state.engine, registry_client=state.store.registry_client
    )


async def _call(operation: Callable[..., T], *args: Any) -> T:
    """Run a domain operation off the event loop; its refusals become HTTP answers."""
    try:
        return await asyncio.to_thread(operation, *args)
    except actions.OperationError as exc:
        raise HTTPException(_STATUS[type(exc)], detail=str(exc)) from exc


async def _moved(state: ServingState, moved: registry.ProductionMove) -> RollbackResponse:
    """Follow the registry now rather than at the next poll (the other workers follow within one
    poll interval), and answer with the version this process serves afterwards."""
    store = state.store
    # Production may already have moved past the target (a concurrent move): this process then
    # serves that newer state, which is what the registry says.
    try:
        await asyncio.to_thread(store.sync)
    except Exception as exc:
        # The move is done and recorded; the watcher retries the swap at its next poll.
        log.warning(
            "Production is v%s, but this process could not swap yet: %s", moved.target_version, exc
        )
    return RollbackResponse(
        previous_version=moved.previous_version,
        target_version=moved.target_version,
        served_version=store.current.version if store.current else None,
    )


@router.post(
    "/trigger-retrain",
    summary="Launch weekly_ml_pipeline on the Dagster webserver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetrainResponse,
    responses={
        **_AUTH,
        404: {"description": "No alert with `alert_id`."},
        409: {
            "description": "A weekly_ml_pipeline run is already queued or running, or the "
            "alert is resolved."
        },
        422: {"description": "`partition_key` is not a week of the pipeline."},
        503: {
            "description": "Dagster (or the database, for the default partition) is unreachable."
        },
    },
)
async def trigger_retrain(body: RetrainRequest, state: StateDep) -> RetrainResponse:
    request = Request(body.actor, body.reason, Door.API, body.alert_id)
    launched = await _call(actions.trigger_retrain, _platform(state), request, body.partition_key)
    return RetrainResponse(
        run_id=launched.run_id, partition_key=launched.partition_key, run_url=launched.run_url
    )


@router.post(
    "/rollback-model",
    summary="Move Production back to the previous Production version",
    response_model=RollbackResponse,
    responses={
        **_AUTH,
        404: {"description": "No alert with `alert_id`."},
        409: {
            "description": "The promotion history has no earlier Production version, "
            "Production is no longer `expected_version`, or the alert is resolved."
        },
        503: {"description": "The registry or the database is unreachable."},
    },
)
async def rollback_model(body: RollbackRequest, state: StateDep) -> RollbackResponse:
    request = Request(body.actor, body.reason, Door.API, body.alert_id)
    moved = await _call(actions.rollback, _platform(state), request, body.expected_version)
    return await _moved(state, moved)


@router.post(
    "/roll-forward-model",
    summary="Undo the last rollback: back to the version it rolled back from",
    response_model=RollbackResponse,
    responses={
        **_AUTH,
        409: {
            "description": "No rollback since the last promotion, or Production is no longer "
            "`expected_version`."
        },
        503: {"description": "The registry or the database is unreachable."},
    },
)
async def roll_forward_model(body: MoveRequest, state: StateDep) -> RollbackResponse:
    request = Request(body.actor, body.reason, Door.API)
    moved = await _call(actions.roll_forward, _platform(state), request, body.expected_version)
    return await _moved(state, moved)


@router.post(
    "/rerun-gate",
    summary="Score a registered version and Production again and apply the promotion gate",
    response_model=GateResponse,
    responses={
        **_AUTH,
        404: {"description": "No such version of the model."},
        409: {"description": "The version is Production already."},
        503: {"description": "The registry, the holdout or the database is unavailable."},
    },
)
async def rerun_gate(body: GateRequest, state: StateDep) -> GateResponse:
    request = Request(body.actor, body.reason, Door.API)
    result = await _call(actions.rerun_gate, _platform(state), request, body.version)
    return GateResponse(
        version=result.version,
        promoted=result.promoted,
        reason=result.reason,
        candidate_weighted_f1=result.candidate_weighted_f1,
        production_version=result.production_version,
        production_weighted_f1=result.production_weighted_f1,
    )


@router.get(
    "/action-history",
    summary="Retrain and rollback requests, newest first",
    response_model=ActionHistory,
    responses={**_AUTH, 503: {"description": "The database is unreachable."}},
)
async def action_history(state: StateDep, limit: int = Query(50, ge=1, le=1_000)) -> ActionHistory:
    try:
        rows = await asyncio.to_thread(audit.action_history, state.engine, limit)
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"database unreachable: {exc}"
        ) from exc
    return ActionHistory(
        actions=[
            Action(**{**vars(row), "requested_at": row.requested_at.isoformat()}) for row in rows
        ]
    )
