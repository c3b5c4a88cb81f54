"""`POST /predict` and `POST /predict/batch`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from serving import metrics
from serving.batching import Item, NoModelError, batch_body, observe, score
from serving.deps import StateDep
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


def _item(item: PredictItem) -> Item:
    return Item(item.designation, item.description, item.top_k, item.productid, item.imageid)


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
        model, scored = await state.batcher.predict(_item(item), started)
    except NoModelError:
        raise _no_model(state) from None
    # Serialised once, with the batch (`Prediction` stays the documented schema).
    return Response(
        scored.body, media_type="application/json", headers={"X-Model-Version": str(model.version)}
    )


@router.post(
    "/batch",
    summary="Classify up to API_MAX_BATCH_ITEMS listings in one call",
    response_model=BatchPrediction,
    responses=_ERRORS,
)
async def predict_batch(body: BatchRequest, state: StateDep) -> Response:
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
    metrics.BATCH_SIZE.observe(len(body.items))
    scored = await asyncio.to_thread(
        score,
        model,
        [_item(item) for item in body.items],
        [started] * len(body.items),
        state.settings.capture_inputs,
    )
    await state.prediction_log.commit([s.record for s in scored])
    observe(scored)
    metrics.LATENCY.labels("batch").observe(time.perf_counter() - started)
    return Response(
        batch_body(model.version, scored),
        media_type="application/json",
        headers={"X-Model-Version": str(model.version)},
    )
