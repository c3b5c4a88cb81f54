"""`POST /predict` and `POST /predict/batch`.

Both read the raw body and validate it with a cached pydantic ``TypeAdapter.validate_json``
(one pass from bytes to the validated model, no ``json.loads`` and no FastAPI body machinery);
a validation error is answered as FastAPI's own 422 (``detail[].loc`` starts with ``"body"``).
The request schemas stay in the OpenAPI document through ``openapi_extra`` (``serving.app``
adds the models to its components). Answers are serialised once, with the batch.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from serving import metrics
from serving.batching import Item, NoModelError, Scored, batch_body, observe, score
from serving.model_store import LoadedModel
from serving.schemas import BatchPrediction, BatchRequest, Prediction, PredictItem
from serving.state import ServingState

#: The client-token check is added by ``create_app`` only when API_CLIENT_TOKEN is set: a
#: dependency costs per request even when it has nothing to check.
router = APIRouter(prefix="/predict", tags=["predict"])

#: The request models validated straight from the body bytes (built once).
_ONE = TypeAdapter(PredictItem)
_BATCH = TypeAdapter(BatchRequest)
#: The models whose JSON schemas ``serving.app`` adds to the OpenAPI components.
REQUEST_MODELS = (PredictItem, BatchRequest)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "API_CLIENT_TOKEN is set and no bearer token was sent."},
    403: {"description": "Wrong client token."},
    413: {"description": "Body over API_MAX_BODY_BYTES or a text field over API_MAX_FIELD_CHARS."},
    422: {"description": "Invalid input; `detail[].loc` names the field."},
    503: {"description": "No model loaded yet; retry after `Retry-After` seconds."},
}


def _body_schema(model: type[Any]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that reads its body itself."""
    reference = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


_T = TypeVar("_T")


def _validate(adapter: TypeAdapter[_T], body: bytes) -> _T:
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [_body_error(e) for e in exc.errors(include_url=False)]
        ) from None


def _body_error(error: Any) -> dict[str, Any]:
    """A pydantic error in FastAPI's shape: the location starts with "body", and a body that is
    not JSON is not echoed back (its bytes may not even be text)."""
    located = {**error, "loc": ("body", *error["loc"])}
    if isinstance(located.get("input"), bytes):
        located["input"] = {}
    return located


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


def _answer(body: bytes, model_version: int) -> Response:
    return Response(
        body, media_type="application/json", headers={"X-Model-Version": str(model_version)}
    )


def _score_and_journal(
    state: ServingState, model: LoadedModel, items: list[Item], started: float
) -> list[Scored]:
    """One thread for the whole batch: scored, its records on disk with one write, counted."""
    scored = score(model, items, [started] * len(items), state.settings.capture_inputs)
    state.prediction_log.append([s.record for s in scored])
    observe(scored)
    return scored


@router.post(
    "",
    summary="Classify one listing",
    response_model=Prediction,
    responses=_ERRORS,
    openapi_extra=_body_schema(PredictItem),
)
async def predict(request: Request) -> Response:
    started = time.perf_counter()
    state: ServingState = request.app.state.serving
    item = _validate(_ONE, await request.body())
    _check_lengths(item, state.settings.api_max_field_chars, "")
    try:
        model, scored = await state.batcher.predict(_item(item), started)
    except NoModelError:
        raise _no_model(state) from None
    # Serialised once, with the batch (`Prediction` stays the documented schema).
    return _answer(scored.body, model.version)


@router.post(
    "/batch",
    summary="Classify up to API_MAX_BATCH_ITEMS listings in one call",
    response_model=BatchPrediction,
    responses=_ERRORS,
    openapi_extra=_body_schema(BatchRequest),
)
async def predict_batch(request: Request) -> Response:
    started = time.perf_counter()
    state: ServingState = request.app.state.serving
    body = _validate(_BATCH, await request.body())
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
    items = [_item(item) for item in body.items]
    scored = await asyncio.to_thread(_score_and_journal, state, model, items, started)
    metrics.LATENCY.labels("batch").observe(time.perf_counter() - started)
    return _answer(batch_body(model.version, scored), model.version)
