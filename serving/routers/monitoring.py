"""Drift reports and alerts for operators (admin token): read them, acknowledge, act, resolve."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rakuten_assets import realised
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift import storage as drift_storage
from rakuten_assets.drift.performance import DayEstimate
from rakuten_assets.drift.report import Comparison
from rakuten_assets.drift.report import DriftReport as StoredReport
from rakuten_assets.drift.severity import Severity
from rakuten_assets.feedback import RealisedScores
from rakuten_assets.operations import actions, reports
from rakuten_assets.operations.audit import Door
from serving.deps import AdminDep, StateDep

router = APIRouter(prefix="/api", tags=["monitoring"], dependencies=[AdminDep])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token."},
    403: {"description": "Wrong token (not API_ADMIN_TOKEN)."},
}
_ALERT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    404: {"description": "No alert with that id."},
    409: {"description": "The alert is not in a state that allows this (e.g. already resolved)."},
}


class SignalResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    severity: Severity
    psi: float | None = None
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    flagged: bool | None = None


class DriftReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "report_date": "2026-02-10",
                    "status": "ok",
                    "severity": "CRITICAL",
                    "driving_signal": "unknown_token_share",
                    "current_count": 3500,
                    "reference_count": 15000,
                    "current_start": "2026-02-03T23:00:00+00:00",
                    "current_end": "2026-02-10T23:00:00+00:00",
                    "reference_start": "2026-01-04T23:00:00+00:00",
                    "reference_end": "2026-02-03T23:00:00+00:00",
                    "model_version": 3,
                    "computed_at": "2026-02-11T00:00:04+00:00",
                    "comparison": {
                        "mode": "same_version",
                        "model_version": 3,
                        "reason": None,
                        "reference_rows": 9000,
                        "current_rows": 3100,
                    },
                    "signals": {
                        "unknown_token_share": {
                            "severity": "CRITICAL",
                            "psi": 1.42,
                            "test": "ks",
                            "statistic": 0.31,
                            "p_value": 1e-90,
                            "flagged": True,
                        }
                    },
                }
            ]
        }
    )

    id: int
    report_date: date
    status: str
    severity: Severity
    driving_signal: str | None
    current_count: int
    reference_count: int
    current_start: str
    current_end: str
    reference_start: str
    reference_end: str
    model_version: int | None
    computed_at: str
    signals: dict[str, SignalResult]
    # The domain's own dataclasses: pydantic validates and documents them as they are.
    performance: DayEstimate | None = Field(
        None, description="Label-free estimate of the report date's predictions (CBPE)."
    )
    realised: RealisedScores | None = Field(
        None, description="Realised scores of the report date's labelled predictions."
    )
    comparison: Comparison | None = Field(
        None,
        description="Which rows confidence, class mix and unknown-token share compared: one "
        "model version with itself, or every version (with the reason); null for reports "
        "stored before the split.",
    )


class DriftReports(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reports": DriftReport.model_config["json_schema_extra"]["examples"]}]  # type: ignore[index]
        }
    )

    reports: list[DriftReport]


class Alert(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "created_at": "2026-02-11T00:00:05+00:00",
                    "updated_at": "2026-02-11T08:30:00+00:00",
                    "report_id": 12,
                    "report_date": "2026-02-10",
                    "signal": "unknown_token_share",
                    "severity": "CRITICAL",
                    "status": "acknowledged",
                    "message": "CRITICAL drift of unknown_token_share in the 7 days to "
                    "2026-02-10, PSI 1.420, ks p=1e-90",
                    "recommended_action": "retrain or roll back",
                    "psi": 1.42,
                    "p_value": 1e-90,
                    "actions": 1,
                }
            ]
        }
    )

    id: int
    created_at: str
    updated_at: str
    report_id: int | None = Field(
        description="The drift report behind it; null for a realised-F1 drop."
    )
    report_date: date
    signal: str
    severity: Severity
    status: str
    message: str
    recommended_action: str
    psi: float | None
    p_value: float | None
    actions: int = 0


class AlertAction(BaseModel):
    action: str = Field(description="acknowledge, investigate, resolve, retrain, rollback, ...")
    actor: str
    taken_at: str
    door: str | None = Field(
        description="Where it was done: api, cli or ui (null for actions recorded before the "
        "door was kept)."
    )
    details: dict[str, Any] | None = Field(None, description="The note and what the action did.")


class AlertDetail(Alert):
    history: list[AlertAction] = Field(description="The actions taken on the alert, oldest first.")


class Alerts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"alerts": Alert.model_config["json_schema_extra"]["examples"]}]  # type: ignore[index]
        }
    )

    alerts: list[Alert]


class AlertActionRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"actor": "alice@ops", "note": "looking at new brands"}]}
    )

    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    note: str = Field("", max_length=2_000, description="Free text kept with the action.")


class OperatorActionRequest(AlertActionRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "investigate", "actor": "alice@ops", "note": "new supplier feed"}
            ]
        }
    )

    action: Literal["investigate", "adjust_thresholds"] = Field(
        description="What the operator does (retrain and rollback have their own endpoints, "
        "which take an `alert_id`)."
    )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _report(report: StoredReport) -> DriftReport:
    data = drift_storage.report_to_dict(report)
    data["signals"] = {s["name"]: s for s in data["signals"]}
    return DriftReport.model_validate(data)


def _alert(row: dict[str, Any]) -> Alert:
    data = dict(row)
    data["created_at"] = _iso(data["created_at"])
    data["updated_at"] = _iso(data["updated_at"])
    return Alert.model_validate(data)


@router.get(
    "/drift-reports",
    summary="Latest daily drift reports, newest first",
    response_model=DriftReports,
    responses=_AUTH,
)
async def list_drift_reports(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=365)] = 30,
    severity: Annotated[Severity | None, Query(description="Only reports of this severity")] = None,
) -> DriftReports:
    reports = await asyncio.to_thread(
        drift_storage.latest_reports, state.engine, limit, severity=severity
    )
    return DriftReports(reports=[_report(r) for r in reports])


@router.get("/alerts", summary="Drift alerts, newest first", response_model=Alerts, responses=_AUTH)
async def list_alerts(
    state: StateDep,
    status_: Annotated[
        drift_alerts.AlertStatus | None,
        Query(alias="status", description="Only alerts in this state"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> Alerts:
    rows = await asyncio.to_thread(
        drift_alerts.list_alerts, state.engine, status=status_, limit=limit
    )
    return Alerts(alerts=[_alert(r) for r in rows])


AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Alert id")]


@router.get(
    "/alerts/{alert_id}",
    summary="One alert with every action taken on it (who, when, through which door)",
    response_model=AlertDetail,
    responses={**_AUTH, 404: {"description": "No alert with that id."}},
)
async def get_alert(alert_id: AlertId, state: StateDep) -> AlertDetail:
    try:
        row = await asyncio.to_thread(reports.alert_with_actions, state.engine, alert_id)
    except drift_alerts.AlertNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    history = [{**entry, "taken_at": _iso(entry["taken_at"])} for entry in row["history"]]
    return AlertDetail.model_validate({**_alert(row).model_dump(), "history": history})


async def _act(operation: Callable[..., dict[str, Any]], *args: Any) -> Alert:
    """Run an alert action of the domain (door=api) and answer the alert as it is afterwards."""
    try:
        row = await asyncio.to_thread(partial(operation, *args, door=Door.API))
    except actions.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    except actions.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _alert(row)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an open alert (who saw it, and a note)",
    response_model=Alert,
    responses=_ALERT_ERRORS,
)
async def acknowledge_alert(alert_id: AlertId, body: AlertActionRequest, state: StateDep) -> Alert:
    return await _act(actions.acknowledge_alert, state.engine, alert_id, body.actor, body.note)


@router.post(
    "/alerts/{alert_id}/actions",
    summary="Record an investigation or a threshold change about an alert",
    response_model=Alert,
    responses=_ALERT_ERRORS,
)
async def act_on_alert(alert_id: AlertId, body: OperatorActionRequest, state: StateDep) -> Alert:
    return await _act(
        actions.act_on_alert, state.engine, alert_id, body.action, body.actor, body.note
    )


@router.post(
    "/alerts/{alert_id}/resolve",
    summary="Resolve an alert (the drift is over or was dealt with)",
    response_model=Alert,
    responses=_ALERT_ERRORS,
)
async def resolve_alert(alert_id: AlertId, body: AlertActionRequest, state: StateDep) -> Alert:
    return await _act(actions.resolve_alert, state.engine, alert_id, body.actor, body.note)


# --- model health: Production's realised performance on each new weekly slice -----------------


class RealisedWeek(BaseModel):
    """Production scored on one weekly slice it never saw (`production_realised_performance`)."""

    partition_key: str
    slice_index: int
    model_version: int
    rows: int
    weighted_f1: float
    macro_f1: float
    accuracy: float
    per_class_f1: dict[int, float]
    holdout_weighted_f1: float | None
    drop: float | None = Field(description="Holdout weighted F1 minus the slice's.")
    computed_at: str


class RealisedWeeks(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weeks": [
                        {
                            "partition_key": "2026-02-02",
                            "slice_index": 4,
                            "model_version": 3,
                            "rows": 2550,
                            "weighted_f1": 0.781,
                            "macro_f1": 0.742,
                            "accuracy": 0.79,
                            "per_class_f1": {"10": 0.71, "2583": 0.88},
                            "holdout_weighted_f1": 0.812,
                            "drop": 0.031,
                            "computed_at": "2026-02-09T06:12:40+00:00",
                        }
                    ]
                }
            ]
        }
    )

    weeks: list[RealisedWeek]


@router.get(
    "/realised-performance",
    summary="Production's realised F1 on each new weekly slice, newest first",
    response_model=RealisedWeeks,
    responses=_AUTH,
)
async def list_realised_performance(
    state: StateDep, limit: Annotated[int, Query(ge=1, le=520)] = 52
) -> RealisedWeeks:
    weeks = await asyncio.to_thread(realised.history, state.engine, limit)
    return RealisedWeeks(weeks=[RealisedWeek.model_validate(w.to_json()) for w in weeks])
