"""`POST /api/feedback` and `POST /api/feedback/batch`: true product types of served predictions."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rakuten_assets import feedback
from rakuten_assets.categories import CATEGORY_CODES
from serving import metrics
from serving.deps import StateDep

#: Like /predict, the client-token check is added by ``create_app`` when API_CLIENT_TOKEN is set.
router = APIRouter(prefix="/api/feedback", tags=["feedback"])

#: At most this many labels per batch call.
MAX_BATCH_LABELS = 1_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "API_CLIENT_TOKEN is set and no bearer token was sent."},
    403: {"description": "Wrong client token."},
    404: {"description": "A prediction_id is not in the prediction log; nothing was recorded."},
    409: {"description": "A prediction already has another label; nothing was recorded."},
    422: {"description": "Invalid input (e.g. an unknown prdtypecode); `detail[].loc` names it."},
}

PredictionId = Annotated[str, StringConstraints(min_length=1, max_length=36, strip_whitespace=True)]


class FeedbackItem(BaseModel):
    """The true product type of a listing the API classified."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"prediction_id": "4f8c7d1e-2b0a-4c5e-9a57-3d2f1c6b8e90", "prdtypecode": 1560}
            ]
        },
    )

    prediction_id: PredictionId = Field(description="The `prediction_id` /predict answered.")
    prdtypecode: int = Field(strict=True, description="The true product-type code (one of 27).")

    @field_validator("prdtypecode")
    @classmethod
    def _known_code(cls, value: int) -> int:
        if value not in CATEGORY_CODES:
            raise ValueError(f"{value} is not a product-type code; known: {list(CATEGORY_CODES)}")
        return value


class FeedbackBatch(BaseModel):
    """Several labels at once: all are recorded or none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "prediction_id": "4f8c7d1e-2b0a-4c5e-9a57-3d2f1c6b8e90",
                            "prdtypecode": 1560,
                        },
                        {
                            "prediction_id": "0b6c7a3e-3c4f-4d0e-9b8e-1f2a3b4c5d6e",
                            "prdtypecode": 2583,
                        },
                    ]
                }
            ]
        },
    )

    items: list[FeedbackItem] = Field(min_length=1, max_length=MAX_BATCH_LABELS)


class FeedbackAnswer(BaseModel):
    """``recorded``: new labels; ``unchanged``: labels already there with the same code."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"recorded": 1, "unchanged": 0}]})

    recorded: int
    unchanged: int


async def _record(state: Any, items: list[FeedbackItem]) -> FeedbackAnswer:
    labels = [feedback.Label(item.prediction_id, item.prdtypecode) for item in items]
    try:
        result = await asyncio.to_thread(feedback.record_feedback, state.engine, labels)
    except feedback.UnknownPredictions as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except feedback.ConflictingLabels as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except ValueError as exc:  # the same id twice in one call, with two codes
        metrics.ERRORS.labels("validation").inc()
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "items"), "msg": str(exc), "input": None}]
        ) from None
    return FeedbackAnswer(recorded=result.recorded, unchanged=result.unchanged)


@router.post("", summary="The true product type of one prediction", responses=_ERRORS)
async def record_one(item: FeedbackItem, state: StateDep) -> FeedbackAnswer:
    return await _record(state, [item])


@router.post(
    "/batch",
    summary=f"True product types of up to {MAX_BATCH_LABELS} predictions, all or none",
    responses=_ERRORS,
)
async def record_batch(body: FeedbackBatch, state: StateDep) -> FeedbackAnswer:
    return await _record(state, body.items)
