"""`POST /predict` and `POST /predict/batch`."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from rakuten_assets.predictions import prediction_record, rank, unknown_share
from serving import metrics
from serving.batching import NoModelError
from serving.deps import StateDep
from serving.model_store import LoadedModel
from serving.schemas import BatchPrediction, BatchRequest, Prediction, PredictItem
from serving.state import ServingState

#: The client-token check is added by ``create_app`` only when API_CLIENT_TOKEN is set: a
#: dependency costs per request even when it has nothing to check.
router = APIRouter(prefix="/predict", tags=["predict"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "API_CLIENT_TOKEN is set and no bearer token was sent."},
    403: {"description": "Wrong client token."},
    413: {"description": "Body over API_MAX_BODY_BYTES or a text field over API_MAX_FIELD_CHARS."},
    422: {"description": "Invalid input; `detail[].loc` names the field."},
    503: {"description": "No model loaded yet; retry after `Retry-After` seconds."},
}


def _check_lengths(item: PredictItem, limit: int, where: str) -> None:
    for name in ("designation", "description"):
        value = getattr(item, name)
        if value is not None and len(value) > limit:
            metrics.ERRORS.labels("field_too_long").inc()
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"{where}{name} has {len(value)} characters; the limit is {limit}",
            )


def _prediction(model: LoadedModel, probabilities: np.ndarray, top_k: int) -> Prediction:
    # Built from values that are valid by construction (model classes, probabilities, a
    # fresh UUID): model_construct skips validating them again on the request path.
    ranked = rank(probabilities, model.classes, top_k)
    best = ranked[0]
    return Prediction.model_construct(
        prediction_id=str(uuid.uuid4()),
        prdtypecode=best.prdtypecode,
        label=best.label,
        confidence=best.probability,
        top_k=ranked,
        model_version=model.version,
    )


def _record(
    state: ServingState,
    model: LoadedModel,
    item: PredictItem,
    prediction: Prediction,
    latency: float,
) -> None:
    record = prediction_record(
        prediction_id=prediction.prediction_id,
        predicted_at=datetime.now(UTC),
        model_version=prediction.model_version,
        designation=item.designation,
        description=item.description,
        ranked=prediction.top_k,
        latency_ms=latency * 1000,
        unknown_token_share=unknown_share(model.pipeline, item.designation, item.description),
        productid=item.productid,
        imageid=item.imageid,
    )
    state.prediction_log.log(record)
    metrics.PREDICTIONS.labels(str(prediction.prdtypecode)).inc()
    metrics.CONFIDENCE.observe(prediction.confidence)
    metrics.TEXT_LENGTH.observe(record.text_length)


def _no_model(state: ServingState) -> HTTPException:
    metrics.ERRORS.labels("no_model").inc()
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail="no model loaded yet: nothing in Production and no local copy",
        headers={"Retry-After": str(round(state.settings.api_model_poll_seconds))},
    )


@router.post("", summary="Classify one listing", response_model=Prediction, responses=_ERRORS)
async def predict(item: PredictItem, state: StateDep) -> Response:
    started = time.perf_counter()
    _check_lengths(item, state.settings.api_max_field_chars, "")
    try:
        model, probabilities = await state.batcher.predict(item.designation, item.description)
    except NoModelError:
        raise _no_model(state) from None
    prediction = _prediction(model, probabilities, item.top_k)
    latency = time.perf_counter() - started
    _record(state, model, item, prediction, latency)
    metrics.LATENCY.labels("predict").observe(latency)
    # Serialised here: FastAPI would validate the response against `Prediction` once more
    # (it stays the documented schema).
    return Response(
        prediction.model_dump_json(),
        media_type="application/json",
        headers={"X-Model-Version": str(model.version)},
    )


@router.post(
    "/batch",
    summary="Classify up to API_MAX_BATCH_ITEMS listings in one call",
    response_model=BatchPrediction,
    responses=_ERRORS,
)
async def predict_batch(body: BatchRequest, state: StateDep, response: Response) -> BatchPrediction:
    started = time.perf_counter()
    limit = state.settings.api_max_batch_items
    if len(body.items) > limit:
        metrics.ERRORS.labels("validation").inc()
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("body", "items"),
                    "msg": f"at most {limit} items per call, got {len(body.items)}",
                    "input": None,
                }
            ]
        )
    for index, item in enumerate(body.items):
        _check_lengths(item, state.settings.api_max_field_chars, f"items[{index}].")
    model = state.store.current  # one model for the whole batch, even during a swap
    if model is None:
        raise _no_model(state)
    rows = [(item.designation, item.description) for item in body.items]
    metrics.BATCH_SIZE.observe(len(rows))
    probabilities = await asyncio.to_thread(model.predict_proba, rows)
    predictions = [
        _prediction(model, p, item.top_k) for item, p in zip(body.items, probabilities, strict=True)
    ]
    latency = time.perf_counter() - started
    for item, prediction in zip(body.items, predictions, strict=True):
        _record(state, model, item, prediction, latency)
    metrics.LATENCY.labels("batch").observe(latency)
    response.headers["X-Model-Version"] = str(model.version)
    return BatchPrediction(model_version=model.version, predictions=predictions)
