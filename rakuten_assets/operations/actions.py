"""Operator actions, each with its checks and its audit row, whichever door calls them: retrain,
rollback, roll-forward, re-run the promotion gate, and the alert lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets import launcher, registry, shadow
from rakuten_assets.calendar import Calendar
from rakuten_assets.data import catalog as cat
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.operations.audit import Door, Request, record
from rakuten_assets.settings import Settings

log = logging.getLogger(__name__)


class OperationError(Exception):
    """An action that was refused or could not be done; the message says why and what to do."""


class NotFound(OperationError):
    """The alert or model version the action names does not exist."""


class Conflict(OperationError):
    """The action contradicts the current state (a run in progress, Production moved, ...)."""


class Invalid(OperationError):
    """The request itself is wrong (e.g. a partition key that is not a week of the pipeline)."""


class Unavailable(OperationError):
    """Dagster, MLflow or the database could not be reached; retry later."""


@dataclass(frozen=True)
class Platform:
    """The stores and services an action needs, taken from Settings by the caller."""

    engine: Engine
    model_name: str
    dagster_url: str
    calendar: Calendar
    min_weighted_f1: float
    catalog_dir: Path
    #: Called only by actions that touch the registry (a retrain needs no MLflow).
    registry_client: Callable[[], MlflowClient] = field(repr=False)
    #: Shadow scoring before the gate (SHADOW_DAYS, CAPTURE_RETENTION_DAYS,
    #: SHADOW_MIN_AGREEMENT).
    shadow_days: int = 7
    capture_retention_days: int = 7
    shadow_min_agreement: float | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        registry_client: Callable[[], MlflowClient] | None = None,
    ) -> Platform:
        return cls(
            engine=engine,
            model_name=settings.registered_model_name,
            dagster_url=settings.dagster_url,
            calendar=Calendar.from_settings(settings),
            min_weighted_f1=settings.min_weighted_f1,
            catalog_dir=settings.catalog_dir,
            registry_client=registry_client or (lambda: registry.configure(settings.tracking_uri)),
            shadow_days=settings.shadow_days,
            capture_retention_days=settings.capture_retention_days,
            shadow_min_agreement=settings.shadow_min_agreement,
        )


# --- alerts -------------------------------------------------------------------------------------


def _open_alert(engine: Engine, alert_id: int | None) -> None:
    """Refuse, before acting, an action that answers an unknown or already resolved alert."""
    if alert_id is None:
        return
    try:
        alert = drift_alerts.get_alert(engine, alert_id)
    except drift_alerts.AlertNotFoundError as exc:
        raise NotFound(str(exc)) from None
    except SQLAlchemyError as exc:
        raise Unavailable(
            f"the database is unreachable, cannot check alert {alert_id}: {exc}"
        ) from exc
    if alert["status"] == drift_alerts.AlertStatus.RESOLVED:
        raise Conflict(f"alert {alert_id} is resolved; act without alert_id or on an open alert")


def _answer_alert(
    engine: Engine, request: Request, action: str, details: Mapping[str, Any]
) -> None:
    """Record the action in the alert's history (the action itself already happened)."""
    if request.alert_id is None:
        return
    try:
        drift_alerts.record_action(
            engine,
            request.alert_id,
            action,
            request.actor,
            {"reason": request.reason, **details},
            door=request.door.value,
        )
    except (drift_alerts.AlertStateError, drift_alerts.AlertNotFoundError, SQLAlchemyError) as exc:
        # Resolved meanwhile, or the database went away: the action stands and its api_actions
        # row names the alert; only the alert's own history misses this entry.
        log.error("could not record %s on alert %s: %s", action, request.alert_id, exc)


def act_on_alert(
    engine: Engine, alert_id: int, action: str, actor: str, note: str = "", *, door: Door
) -> dict[str, Any]:
    """Acknowledge an alert or record what was done about it (through ``door``); returns the
    alert afterwards."""
    try:
        return drift_alerts.record_action(
            engine, alert_id, action, actor, {"note": note} if note else {}, door=door.value
        )
    except drift_alerts.AlertNotFoundError as exc:
        raise NotFound(str(exc)) from None
    except drift_alerts.AlertStateError as exc:
        raise Conflict(str(exc)) from None


def acknowledge_alert(
    engine: Engine, alert_id: int, actor: str, note: str = "", *, door: Door
) -> dict[str, Any]:
    return act_on_alert(
        engine, alert_id, drift_alerts.ActionType.ACKNOWLEDGE, actor, note, door=door
    )


def resolve_alert(
    engine: Engine, alert_id: int, actor: str, note: str = "", *, door: Door
) -> dict[str, Any]:
    """Resolve one open or acknowledged alert; returns it afterwards."""
    # One conditional UPDATE decides; the alert is read afterwards only to answer.
    done = drift_alerts.resolve_alerts(
        engine, actor, door=door.value, alert_ids=[alert_id], note=note
    )
    try:
        current = drift_alerts.get_alert(engine, alert_id)
    except drift_alerts.AlertNotFoundError as exc:
        raise NotFound(str(exc)) from None
    if not done:
        raise Conflict(f"alert {alert_id} is already {current['status']}")
    return current


def resolve_all_alerts(engine: Engine, actor: str, note: str = "", *, door: Door) -> list[int]:
    """Resolve every open or acknowledged alert; returns their ids."""
    return drift_alerts.resolve_alerts(engine, actor, door=door.value, note=note)


# --- retrain ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launched:
    run_id: str
    partition_key: str
    run_url: str


def trigger_retrain(
    platform: Platform, request: Request, partition_key: str | None = None
) -> Launched:
    """Launch `weekly_ml_pipeline` for ``partition_key`` (default: the next week to load).

    Refused when the alert is unknown (NotFound) or resolved (Conflict), the key is not a week of
    the pipeline (Invalid), or a weekly run is already queued or running (Conflict); Unavailable
    when Dagster or the database cannot be reached.
    """
    _open_alert(platform.engine, request.alert_id)
    if partition_key is not None:
        try:
            platform.calendar.slice_index(partition_key)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        key = partition_key
    else:
        try:
            key = platform.calendar.next_partition_key(platform.engine)
        except SQLAlchemyError as exc:
            raise Unavailable(
                f"the product database is unreachable, cannot pick the next week: {exc}"
            ) from exc
    url = platform.dagster_url
    try:
        active = launcher.running_weekly_runs(url)
        if active:
            detail = "a weekly_ml_pipeline run is already in progress: " + ", ".join(
                f"{run.run_id} ({run.status})" for run in active
            )
            record(
                platform.engine, request, "retrain", "conflict", partition_key=key, detail=detail
            )
            raise Conflict(detail)
        run_id = launcher.launch_weekly_run(
            url, key, launched_by=f"{request.door.value}:{request.actor}"
        )
    except launcher.DagsterUnavailableError as exc:
        record(
            platform.engine, request, "retrain", "unavailable", partition_key=key, detail=str(exc)
        )
        raise Unavailable(str(exc)) from exc
    record(
        platform.engine, request, "retrain", "launched", partition_key=key, dagster_run_id=run_id
    )
    _answer_alert(
        platform.engine, request, "retrain", {"dagster_run_id": run_id, "partition_key": key}
    )
    return Launched(run_id=run_id, partition_key=key, run_url=f"{url.rstrip('/')}/runs/{run_id}")


# --- rollback and roll-forward ------------------------------------------------------------------


def _production_or_none(client: MlflowClient, model_name: str) -> int | None:
    """Production now, for the audit row of a refused move (None if the registry is down)."""
    try:
        current = registry.production_version(client, model_name)
    except Exception:  # the move below fails the same way and says why
        return None
    return int(current.version) if current is not None else None


def _move(
    platform: Platform, request: Request, *, forward: bool, expected_version: int | None
) -> registry.ProductionMove:
    action = "roll_forward" if forward else "rollback"
    move = registry.roll_forward if forward else registry.rollback
    _open_alert(platform.engine, request.alert_id)
    previous: int | None = None
    try:
        client = platform.registry_client()
        previous = _production_or_none(client, platform.model_name)
        done = move(
            client,
            platform.engine,
            platform.model_name,
            actor=request.actor,
            reason=request.reason,
            expected_version=expected_version,
        )
    except registry.ProductionChangedError as exc:
        record(
            platform.engine, request, action, "conflict", previous_version=exc.actual, detail=exc
        )
        raise Conflict(str(exc)) from exc
    except LookupError as exc:
        record(platform.engine, request, action, "refused", previous_version=previous, detail=exc)
        raise Conflict(str(exc)) from exc
    except Exception as exc:
        # MLflow (HTTP, REST) or database errors: the operator can only retry later.
        detail = f"{action} failed, registry or database unreachable: {type(exc).__name__}: {exc}"
        record(platform.engine, request, action, "failed", previous_version=previous, detail=detail)
        raise Unavailable(detail[:500]) from exc
    record(
        platform.engine,
        request,
        action,
        "succeeded",
        target_version=done.target_version,
        previous_version=done.previous_version,
    )
    if not forward:  # an alert's history knows retrain and rollback, not roll-forward
        _answer_alert(
            platform.engine,
            request,
            action,
            {"target_version": done.target_version, "previous_version": done.previous_version},
        )
    return done


def rollback(
    platform: Platform, request: Request, expected_version: int | None = None
) -> registry.ProductionMove:
    """Move Production back to the previous Production version of the promotion history.

    Conflict when there is none, or when Production is no longer ``expected_version``.
    """
    return _move(platform, request, forward=False, expected_version=expected_version)


def roll_forward(
    platform: Platform, request: Request, expected_version: int | None = None
) -> registry.ProductionMove:
    """Undo the last rollback (v1 -> v2 after v3 -> v2 -> v1), with the semantics of rollback."""
    if request.alert_id is not None:
        raise Invalid("a roll-forward does not answer an alert; leave alert_id out")
    return _move(platform, request, forward=True, expected_version=expected_version)


# --- the promotion gate, again ------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    version: int
    promoted: bool
    reason: str
    candidate_weighted_f1: float
    production_version: int | None
    production_weighted_f1: float | None


def rerun_gate(platform: Platform, request: Request, version: int) -> GateResult:
    """Score an existing version and Production on the golden holdout, and apply the gate.

    A version that passes becomes Production (a `promoted` row), one that fails is tagged with
    its reason (a `rejected` row). NotFound for an unknown version, Conflict when it already
    is Production.
    """
    if request.alert_id is not None:
        raise Invalid("re-running the gate does not answer an alert; leave alert_id out")
    try:
        client = platform.registry_client()
        client.get_model_version(platform.model_name, str(version))
        current = _production_or_none(client, platform.model_name)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            detail = f"{platform.model_name} has no version {version}"
            record(platform.engine, request, "rerun_gate", "refused", detail=detail)
            raise NotFound(detail) from None
        raise Unavailable(f"the registry is unreachable: {exc}") from exc
    if current == version:
        detail = f"{platform.model_name} v{version} is Production already; nothing to decide"
        record(
            platform.engine,
            request,
            "rerun_gate",
            "refused",
            target_version=version,
            previous_version=current,
            detail=detail,
        )
        raise Conflict(detail)
    try:
        holdout = cat.read_holdout(platform.catalog_dir)
        holdout_hash = str(cat.read_manifest(platform.catalog_dir)["holdout_hash"])
    except cat.CatalogError as exc:
        raise Unavailable(f"the golden holdout is not there: {exc}") from exc
    scored = registry.score_against_production(client, platform.model_name, version, holdout)
    run_id = client.get_model_version(platform.model_name, str(version)).run_id
    report = shadow.shadow_score(
        platform.engine,
        client,
        platform.model_name,
        version,
        days=platform.shadow_days,
        retention_days=platform.capture_retention_days,
    )
    if report is not None and run_id:
        shadow.log_to_mlflow(client, run_id, report)
    evidence = registry.GateEvidence(
        candidate_version=version,
        production_version=scored.production_version,
        candidate_weighted_f1=scored.candidate.weighted_f1,
        production_weighted_f1=scored.production.weighted_f1 if scored.production else None,
        holdout_hash=holdout_hash,
        mlflow_run_id=run_id,
        shadow=report.to_json() if report is not None else None,
    )
    gate = registry.GateRun(
        platform.min_weighted_f1, request.actor, min_agreement=platform.shadow_min_agreement
    )
    decision = registry.apply_gate(client, platform.engine, platform.model_name, evidence, gate)
    record(
        platform.engine,
        request,
        "rerun_gate",
        "promoted" if decision.promote else "rejected",
        target_version=version,
        previous_version=scored.production_version,
        detail=decision.reason,
    )
    return GateResult(
        version=version,
        promoted=decision.promote,
        reason=decision.reason,
        candidate_weighted_f1=evidence.candidate_weighted_f1,
        production_version=evidence.production_version,
        production_weighted_f1=evidence.production_weighted_f1,
    )
