"""Request and response bodies of the API, with the examples shown in ``/docs``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rakuten_assets.categories import N_CATEGORIES
from rakuten_assets.predictions import DEFAULT_TOP_K, RankedClass

_BIGINT_MAX = 2**63 - 1

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PredictItem(BaseModel):
    """One product listing, as merchants send it."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "designation": "Coussin déco en lin lavé 45x45 cm",
                    "description": "<p>Housse en lin &amp; coton, fermeture éclair.</p>",
                    "productid": 3804725264,
                    "imageid": 1263597046,
                    "top_k": 3,
                }
            ]
        },
    )

    designation: NonEmptyText = Field(
        description="Product title (required, not blank; at most API_MAX_FIELD_CHARS, else 413)."
    )
    description: str | None = Field(
        None, description="HTML description, optional (at most API_MAX_FIELD_CHARS, else 413)."
    )
    productid: int | None = Field(None, ge=0, le=_BIGINT_MAX, description="Merchant product id.")
    imageid: int | None = Field(None, ge=0, le=_BIGINT_MAX, description="Image id.")
    top_k: int = Field(
        DEFAULT_TOP_K,
        ge=1,
        le=N_CATEGORIES,
        strict=True,
        description="How many ranked classes to return.",
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"designation": "Coussin déco en lin lavé 45x45 cm"},
                        {
                            "designation": "Lot de 3 romans policiers",
                            "description": "Livres d'occasion en bon état",
                            "top_k": 1,
                        },
                    ]
                }
            ]
        }
    )

    items: list[PredictItem] = Field(
        min_length=1, description="Listings to classify (at most API_MAX_BATCH_ITEMS)."
    )


class Prediction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prediction_id": "0b6c7a3e-3c4f-4d0e-9b8e-1f2a3b4c5d6e",
                    "prdtypecode": 1920,
                    "label": "Linge de maison",
                    "confidence": 0.91,
                    "top_k": [
                        {"prdtypecode": 1920, "label": "Linge de maison", "probability": 0.91},
                        {
                            "prdtypecode": 1560,
                            "label": "Mobilier et décoration d'intérieur",
                            "probability": 0.05,
                        },
                    ],
                    "model_version": 3,
                }
            ]
        }
    )

    prediction_id: str = Field(description="UUID of this prediction (the prediction_log key).")
    prdtypecode: int
    label: str = Field(description="French label of the predicted product type.")
    confidence: float = Field(description="Probability of the predicted class.")
    top_k: list[RankedClass]
    model_version: int


class BatchPrediction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": 3,
                    "predictions": [
                        {
                            "prediction_id": "0b6c7a3e-3c4f-4d0e-9b8e-1f2a3b4c5d6e",
                            "prdtypecode": 1920,
                            "label": "Linge de maison",
                            "confidence": 0.91,
                            "top_k": [
                                {
                                    "prdtypecode": 1920,
                                    "label": "Linge de maison",
                                    "probability": 0.91,
                                }
                            ],
                            "model_version": 3,
                        }
                    ],
                }
            ]
        }
    )

    model_version: int
    predictions: list[Prediction]


class OperatorRequest(BaseModel):
    """Who asks for an action and why (both recorded with it)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"actor": "alice@ops", "reason": "v4 was better"}]}
    )

    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]


class ActionRequest(OperatorRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actor": "alice@ops",
                    "reason": "CRITICAL drift on 1560 since Monday",
                    "alert_id": 7,
                }
            ]
        }
    )

    alert_id: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="The drift alert this action answers: recorded with the action and in the "
        "alert's history (404 if unknown, 409 if already resolved).",
    )


class MoveRequest(OperatorRequest):
    """A rollback or a roll-forward."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actor": "alice@ops",
                    "reason": "the drift was a false alarm",
                    "expected_version": 3,
                }
            ]
        }
    )

    expected_version: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Act only if Production is still this version (409 otherwise), so "
        "two operators reacting to the same alert do not move Production twice.",
    )


class RollbackRequest(ActionRequest, MoveRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"actor": "alice@ops", "reason": "CRITICAL drift on v4", "expected_version": 4}
            ]
        }
    )


class GateRequest(OperatorRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"actor": "alice@ops", "reason": "holdout rebuilt", "version": 4}]
        }
    )

    version: int = Field(ge=1, le=2**31 - 1, description="The registered version to decide on.")


class GateResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 4,
                    "promoted": True,
                    "reason": "weighted F1 0.8123 >= 0.75 and better than Production (0.8011) "
                    "on the same golden holdout",
                    "candidate_weighted_f1": 0.8123,
                    "production_version": 3,
                    "production_weighted_f1": 0.8011,
                }
            ]
        }
    )

    version: int
    promoted: bool
    reason: str
    candidate_weighted_f1: float
    production_version: int | None = Field(description="Production when the gate was run.")
    production_weighted_f1: float | None


class RetrainRequest(ActionRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"actor": "alice@ops", "reason": "drift alert 42", "partition_key": "2026-02-02"}
            ]
        }
    )

    partition_key: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="Weekly partition to run (default: the next week to load).",
    )


class RetrainResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "5f0e3c1a-8d7b-4c2e-9a61-0f3b2d4e5a6c",
                    "partition_key": "2026-02-02",
                    "run_url": "http://127.0.0.1:3000/runs/5f0e3c1a-8d7b-4c2e-9a61-0f3b2d4e5a6c",
                }
            ]
        }
    )

    run_id: str
    partition_key: str
    run_url: str


class RollbackResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"previous_version": 4, "target_version": 3, "served_version": 3}]
        }
    )

    previous_version: int | None
    target_version: int
    served_version: int | None = Field(
        description="The version this API process serves after the rollback."
    )


class Action(BaseModel):
    id: int
    requested_at: str
    action: str
    actor: str
    reason: str
    outcome: str
    target_version: int | None
    previous_version: int | None
    dagster_run_id: str | None
    partition_key: str | None
    detail: str | None
    alert_id: int | None = None
    door: str = Field("api", description="Where the action came from: api or cli.")


class ActionHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "actions": [
                        {
                            "id": 2,
                            "requested_at": "2026-02-03T09:12:00+00:00",
                            "action": "rollback",
                            "actor": "alice@ops",
                            "reason": "CRITICAL drift",
                            "outcome": "succeeded",
                            "target_version": 3,
                            "previous_version": 4,
                            "dagster_run_id": None,
                            "partition_key": None,
                            "detail": None,
                            "alert_id": 7,
                        }
                    ]
                }
            ]
        }
    )

    actions: list[Action]


class ModelInfo(BaseModel):
    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={
            "examples": [
                {
                    "model_name": "rakuten_classifier",
                    "version": 3,
                    "run_id": "9a0f5a3ad1f54a5f8b7c3c0a9e0e4c11",
                    "trained_at": "2026-01-19T07:05:12+00:00",
                    "holdout_weighted_f1": 0.842,
                    "data_version": {"batch_id": "…", "dataset_hash": "…", "loaded_pct": 46.0},
                    "source": "registry",
                    "loaded_at": "2026-01-19T07:09:40+00:00",
                    "classes": 27,
                }
            ]
        },
    )

    model_name: str
    version: int
    run_id: str
    trained_at: str | None
    holdout_weighted_f1: float | None
    data_version: dict[str, Any] | None
    source: str = Field(description="`registry`, or `local copy` when MLflow was unreachable.")
    loaded_at: str
    classes: int
