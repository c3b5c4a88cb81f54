"""`daily_drift_check` (drift_report -> drift_alert) in-process, and the retrain sensor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from rakuten_assets.calendar import Calendar
from rakuten_assets.categories import category_label
from rakuten_assets.db import alerts, drift_reports, get_engine, upgrade_schema
from rakuten_assets.defs import drift
from rakuten_assets.defs.jobs import build_daily_job
from rakuten_assets.defs.partitions import daily_partitions, partitioned
from rakuten_assets.defs.resources import DatabaseResource, DriftMonitorResource, build_resources
from rakuten_assets.predictions import (
    PredictionRecord,
    RankedClass,
    insert_records,
    prediction_record,
)
from rakuten_assets.settings import Settings
from rakuten_assets_tests.test_drift_alerts import Receiver

REPORT_DAY = date(2026, 3, 10)


def log_predictions(
    engine: Engine,
    first_day: date,
    days: int,
    per_day: int,
    *,
    seed: int,
    long_texts: bool = False,
) -> None:
    """Logged predictions spread over whole UTC days, through the API's record builder."""
    rng = np.random.default_rng(seed)
    records: list[PredictionRecord] = []
    for offset in range(days):
        start = datetime.combine(first_day + timedelta(days=offset), datetime.min.time(), UTC)
        for _ in range(per_day):
            words = int(rng.integers(40, 80) if long_texts else rng.integers(4, 12))
            designation = " ".join(f"mot{rng.integers(0, 50)}" for _ in range(words))
            prediction_id = str(uuid.UUID(int=int(rng.integers(0, 2**62))))
            predicted_at = start + timedelta(seconds=float(rng.uniform(3_700, 80_000)))
            code = int(rng.choice([10, 40, 50, 2583]))
            confidence = float(rng.uniform(0.4, 0.95))
            record = prediction_record(
                prediction_id=prediction_id,
                predicted_at=predicted_at,
                model_version=1,
                designation=designation,
                description=None,
                ranked=[RankedClass(code, category_label(code), confidence)],
                latency_ms=3.0,
                unknown_token_share=float(rng.uniform(0.0, 0.2)),
            )
            records.append(record)
    insert_records(engine, records)


def _settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "var", "database_url": db_url}
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def _run(settings: Settings, day: date, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    upgrade_schema(get_engine(settings.sqlalchemy_url))
    cal = Calendar.from_settings(settings)
    defs = dg.Definitions(
        assets=partitioned(daily_partitions(cal), [drift.drift_report, drift.drift_alert]),
        jobs=[build_daily_job(cal)],
        resources=build_resources(settings),
    )
    return defs.resolve_job_def("daily_drift_check").execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=False
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = [
        e.event_specific_data.materialization  # type: ignore[union-attr]
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(asset)
    ]
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def test_drift_is_reported_alerted_and_a_failing_webhook_does_not_fail_the_run(
    tmp_path: Path, db_url: str, instance: dg.DagsterInstance
) -> None:
    engine = get_engine(db_url)
    upgrade_schema(engine)
    # 30 reference days of short texts, then 7 current days of much longer ones.
    log_predictions(engine, REPORT_DAY - timedelta(days=36), 30, 60, seed=1)
    log_predictions(engine, REPORT_DAY - timedelta(days=6), 7, 60, seed=2, long_texts=True)

    with Receiver([500] * 100) as receiver:
        settings = _settings(
            tmp_path,
            db_url,
            alert_webhook_url=receiver.url,
            alert_webhook_attempts=3,
            pipeline_timezone="UTC",
        )
        result = _run(settings, REPORT_DAY, instance)
    assert result.success
    alert = _metadata(result, "drift_alert")
    # Every attempt of every alert reached the receiver, which kept failing.
    assert len(receiver.bodies) == 3 * alert["raised"]

    report = _metadata(result, "drift_report")
    assert report["status"] == "ok"
    assert report["severity"] == "CRITICAL"
    assert report["driving_signal"] in {"text_length", "word_count"}
    assert report["current_count"] == 7 * 60
    assert report["reference_count"] == 30 * 60
    [row] = [line for line in report["signals"].splitlines() if "text_length" in line]
    assert row.split("|")[2].strip() == "CRITICAL"
    assert report["psi/text_length"] >= 0.3
    # One model served both windows: its rows are compared with themselves.
    assert report["comparison"] == "same_version"
    assert report["comparison_model_version"] == 1
    assert "comparison_reason" not in report

    assert alert["raised"] >= 1
    assert alert["recommended_action"] == "retrain or roll back"
    assert "FAILED after 3 attempt(s)" in alert["webhook"][0]

    with engine.connect() as conn:
        stored = conn.execute(select(drift_reports)).one()
        raised = conn.execute(select(alerts.c.signal, alerts.c.status)).all()
    assert stored.report_date == REPORT_DAY
    assert stored.dagster_run_id == result.run_id
    assert ("text_length", "open") in raised

    # Re-running the same day replaces the report (same id) and raises nothing twice.
    again = _run(settings, REPORT_DAY, instance)
    assert again.success
    assert _metadata(again, "drift_alert")["raised"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(drift_reports.c.id)).scalars().all() == [stored.id]
        assert len(conn.execute(select(alerts.c.id)).all()) == len(raised)


def test_too_few_predictions_store_an_insufficient_data_report(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    db_url = f"sqlite:///{tmp_path / 'few.db'}"
    engine = get_engine(db_url)
    upgrade_schema(engine)
    log_predictions(engine, REPORT_DAY - timedelta(days=6), 7, 5, seed=3)
    result = _run(_settings(tmp_path, db_url), REPORT_DAY, instance)
    assert result.success
    report = _metadata(result, "drift_report")
    assert report["status"] == "insufficient_data"
    assert report["severity"] == "OK"
    assert _metadata(result, "drift_alert")["raised"] == 0


# --- the retrain sensor -------------------------------------------------------------------------


def _store_report(engine: Engine, day: date, severity: str) -> int:
    from rakuten_assets_tests.test_drift_alerts import finding, store_report

    return store_report(engine, day, {"word_count": finding(severity, 0.5)})


def _evaluate(
    engine_url: str, *, auto_retrain: bool, cursor: str | None
) -> tuple[list[dg.RunRequest], list[str], str | None]:
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "database": DatabaseResource(url=engine_url),
            "drift": DriftMonitorResource.from_settings(
                Settings(database_url=engine_url, drift_auto_retrain=auto_retrain)
            ),
        },
    )
    outcome = list(drift.drift_retrain_sensor(context) or [])  # type: ignore[arg-type]
    requests = [o for o in outcome if isinstance(o, dg.RunRequest)]
    skips = [o.skip_message or "" for o in outcome if isinstance(o, dg.SkipReason)]
    return requests, skips, context.cursor


def test_sensor_requests_one_retrain_per_critical_report(db_url: str) -> None:
    engine = get_engine(db_url)
    upgrade_schema(engine)
    _store_report(engine, REPORT_DAY - timedelta(days=1), "ALERT")
    critical = _store_report(engine, REPORT_DAY, "CRITICAL")

    requests, _, cursor = _evaluate(db_url, auto_retrain=True, cursor=None)
    assert [r.run_key for r in requests] == [f"drift-report-{critical}"]
    assert requests[0].job_name is None or requests[0].job_name == "weekly_ml_pipeline"
    assert requests[0].tags["drift/report_id"] == str(critical)
    assert requests[0].partition_key == "2026-01-05"  # nothing loaded yet: the first week

    # The next evaluation (cursor carried over) requests nothing more for the same report...
    requests, skips, cursor = _evaluate(db_url, auto_retrain=True, cursor=cursor)
    assert requests == []
    assert skips == ["no new CRITICAL drift report"]

    # ...and a new CRITICAL report gets its own single request.
    newer = _store_report(engine, REPORT_DAY + timedelta(days=1), "CRITICAL")
    requests, _, cursor = _evaluate(db_url, auto_retrain=True, cursor=cursor)
    assert [r.run_key for r in requests] == [f"drift-report-{newer}"]

    # A day re-computed later (late rows) that turns CRITICAL is seen again, under its report's
    # own run key: Dagster launches one run per report id, whatever the number of evaluations.
    alert_day = REPORT_DAY - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(
            update(drift_reports)
            .where(drift_reports.c.report_date == alert_day)
            .values(severity="CRITICAL", computed_at=datetime.now(UTC))
        )
        recomputed = conn.execute(
            select(drift_reports.c.id).where(drift_reports.c.report_date == alert_day)
        ).scalar_one()
    requests, _, _ = _evaluate(db_url, auto_retrain=True, cursor=cursor)
    assert [r.run_key for r in requests] == [f"drift-report-{recomputed}"]


def test_sensor_only_recommends_when_auto_retrain_is_off(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'sensor.db'}"
    engine = get_engine(db_url)
    upgrade_schema(engine)
    _store_report(engine, REPORT_DAY, "CRITICAL")
    requests, skips, _ = _evaluate(db_url, auto_retrain=False, cursor=None)
    assert requests == []
    assert "DRIFT_AUTO_RETRAIN is off" in skips[0]
