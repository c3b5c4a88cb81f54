"""Liveness, readiness, the served model's identity and the Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from serving import metrics
from serving.deps import StateDep
from serving.schemas import ModelInfo

router = APIRouter(tags=["health"])

#: Where a newcomer goes next from ``GET /``.
LINKS = {
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
    "health": "/health",
    "ready": "/ready",
    "model": "/model",
    "metrics": "/metrics",
}


@router.get(
    "/",
    summary="The service: name, version, model served and links",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "service": "Rakuten product classifier",
                        "version": "1.0.0",
                        "model": {"name": "rakuten_classifier", "version": 3},
                        "links": LINKS,
                    }
                }
            }
        }
    },
)
async def service(request: Request, state: StateDep) -> dict[str, Any]:
    model = state.store.current
    return {
        "service": request.app.title,
        "version": request.app.version,
        "model": {
            "name": state.settings.registered_model_name,
            "version": model.version if model else None,
            "source": model.source if model else None,
        },
        "links": LINKS,
    }


@router.get(
    "/health",
    summary="Liveness: the process answers (always cheap)",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: 200 only when a model is loaded",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "ready": True,
                        "model_version": 3,
                        "database": {"ok": True, "detail": "inserts succeed"},
                        "registry": {"ok": True, "detail": "Production is version 3"},
                        "prediction_log": {"queue_depth": 0, "spool_bytes": 0},
                    }
                }
            }
        },
        503: {"description": "No model loaded yet (the body has the same fields)."},
    },
)
async def ready(state: StateDep) -> JSONResponse:
    model = state.store.current
    body: dict[str, Any] = {
        "ready": model is not None,
        "model_version": model.version if model else None,
        "model_source": model.source if model else None,
        # Reachability comes from the background threads' last contact (the logger pings an
        # idle database every few seconds), so this endpoint never waits on a dead server.
        "database": state.prediction_log.database_status.as_dict(),
        "registry": state.store.registry_status.as_dict(),
        "prediction_log": {
            "queue_depth": state.prediction_log.depth(),
            "spool_bytes": state.prediction_log.spool_bytes(),
        },
    }
    code = status.HTTP_200_OK if model is not None else status.HTTP_503_SERVICE_UNAVAILABLE
    headers = {} if model else {"Retry-After": str(round(state.settings.api_model_poll_seconds))}
    return JSONResponse(body, status_code=code, headers=headers)


@router.get(
    "/model",
    summary="The model being served",
    response_model=ModelInfo,
    responses={503: {"description": "No model loaded yet."}},
)
async def model_info(state: StateDep) -> ModelInfo:
    model = state.store.current
    if model is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="no model loaded yet",
            headers={"Retry-After": str(round(state.settings.api_model_poll_seconds))},
        )
    return ModelInfo(**model.describe())


@router.get(
    "/metrics",
    summary="Prometheus metrics (prefix rakuten_)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": "rakuten_model_version 3.0\n"}}}},
)
async def prometheus_metrics(state: StateDep) -> Response:
    metrics.LOG_QUEUE_DEPTH.set(state.prediction_log.depth())
    payload, content_type = metrics.render()
    # The drift gauges read the database: off the event loop.
    drift = await asyncio.to_thread(state.drift_gauges.render)
    return Response(payload + drift, media_type=content_type)
