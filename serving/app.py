"""The prediction API: ``uvicorn serving.app:create_app --factory``.

The lifespan loads the Production model (or the last good local copy), starts the registry
watcher, the micro-batcher and the prediction logger, and on shutdown stops them in the order
that loses nothing: no new predictions, then the log queue is flushed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rakuten_assets.db import get_engine
from rakuten_assets.settings import Settings, get_settings
from serving import metrics
from serving.batching import MicroBatcher
from serving.config import check_secrets, configure_logging, configure_mlflow_client
from serving.deps import ClientDep
from serving.drift_metrics import DriftCollector
from serving.limits import BodySizeLimitMiddleware
from serving.model_store import ModelStore
from serving.prediction_log import PredictionLogger
from serving.request_metrics import RequestMetricsMiddleware
from serving.routers import control, feedback, health, monitoring, predict
from serving.state import ServingState

log = logging.getLogger("serving")

SERVICE_NAME = "Rakuten product classifier"

DESCRIPTION = """\
Classifies Rakuten France listings into one of 27 product types with the current **Production**
model of the MLflow registry (`rakuten_classifier@production`), hot-swapped when it changes.
Every prediction is logged for drift monitoring. Control endpoints (`/api/...`) need the admin
bearer token; `/predict` needs the client token when `API_CLIENT_TOKEN` is set.
"""


def _build_state(settings: Settings) -> ServingState:
    store = ModelStore(settings)
    engine = get_engine(settings.sqlalchemy_url)
    logger = PredictionLogger(
        engine,
        settings.data_dir / "serving" / "spool",
        queue_size=settings.api_log_queue_size,
        batch_size=settings.api_log_batch_size,
        flush_seconds=settings.api_log_flush_seconds,
        capture_retention_days=settings.capture_retention_days,
    )
    batcher = MicroBatcher(
        store,
        logger,
        max_size=settings.api_microbatch_max_size,
        max_wait_seconds=settings.api_microbatch_max_wait_ms / 1000,
        capture_inputs=settings.capture_inputs,
    )
    return ServingState(
        settings=settings,
        engine=engine,
        store=store,
        batcher=batcher,
        prediction_log=logger,
        drift_gauges=DriftCollector(engine, settings.registered_model_name),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI application, configured from the shared settings object."""
    settings = settings or get_settings()
    configure_logging()
    check_secrets(settings)
    configure_mlflow_client(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = _build_state(settings)
        metrics.MODEL_VERSION.set(0)
        # Loading may download and unpickle a model: keep the event loop free meanwhile.
        await asyncio.to_thread(state.store.load_initial)
        state.prediction_log.start()
        await state.batcher.start()
        state.store.start_watcher()
        app.state.serving = state
        try:
            yield
        finally:
            await state.batcher.stop()
            state.store.stop_watcher()
            await asyncio.to_thread(state.prediction_log.stop)
            metrics.mark_process_dead(os.getpid())

    # /docs and /redoc with Swagger UI and ReDoc served from the installed package, not a CDN:
    # they work on a machine without internet.
    app = FastAPIOffline(
        title=SERVICE_NAME,
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "predict", "description": "Classify listings."},
            {"name": "health", "description": "Liveness, readiness, model, metrics."},
            {"name": "feedback", "description": "True product types of served predictions."},
            {"name": "control", "description": "Retrain and rollback (admin token)."},
            {
                "name": "monitoring",
                "description": "Drift reports and alerts; acknowledge and act (admin token).",
            },
        ],
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    # Added last, so outermost: it counts the body limit's 413s too.
    app.add_middleware(RequestMetricsMiddleware)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.ERRORS.labels("validation").inc()
        return JSONResponse(
            {"detail": jsonable_encoder(exc.errors())},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        metrics.ERRORS.labels("internal").inc()
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error: {type(exc).__name__}"},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    # Open predictions skip the bearer check entirely (see serving.routers.predict).
    client = [ClientDep] if settings.api_client_token is not None else []
    app.include_router(predict.router, dependencies=client)
    app.include_router(feedback.router, dependencies=client)
    app.include_router(health.router)
    app.include_router(control.router)
    app.include_router(monitoring.router)
    _document_request_bodies(app, predict.REQUEST_MODELS)
    return app


def _document_request_bodies(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Add the schemas of bodies that routes validate themselves to the OpenAPI components.

    Those routes declare no body parameter (FastAPI would parse it first), only a
    ``requestBody`` that refers to ``#/components/schemas/<model>``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()  # cached in app.openapi_schema, completed here once
        _, definitions = models_json_schema(
            [(model, "validation") for model in models],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in definitions.get("$defs", {}).items():
            components.setdefault(name, definition)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
