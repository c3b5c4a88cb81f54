"""Group `monitoring`: the daily drift report, its alerts, and the sensor that can retrain.

Partition ``D`` (a day, Europe/Paris) is the report for the 7 days ending on ``D``; the schedule
runs it at 01:00 the day after, when ``D`` is complete. The report and the alerts are rows of
the product database (``drift_reports``, ``alerts``), so the API, the UI and the CLI read the
same thing the assets wrote.
"""

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import dagster as dg
import pandas as pd

from rakuten_assets.calendar import WEEKLY_JOB, Calendar
from rakuten_assets.defs.resources import DatabaseResource, DriftMonitorResource
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift.report import compute_report
from rakuten_assets.drift.stats import SignalResult
from rakuten_assets.drift.storage import (
    critical_reports_since,
    report_summary,
    store_report,
)
from rakuten_assets.tables import markdown_table


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def signals_markdown(signals: Sequence[SignalResult]) -> str:
    """The per-signal table of a report, for the Dagster UI."""
    frame = pd.DataFrame(
        [
            {
                "signal": s.name,
                "severity": s.severity,
                "PSI": _fmt(s.psi),
                "test": s.test,
                "statistic": _fmt(s.statistic),
                "p-value": _fmt(s.p_value),
                "flagged": s.flagged,
                "JS distance": _fmt(s.js_distance),
            }
            for s in signals
        ]
    )
    return markdown_table(frame)


@dg.asset(
    group_name="monitoring",
    kinds={"sql", "scipy"},
    tags={"pipeline": "daily"},
)
def drift_report(
    context: dg.AssetExecutionContext, database: DatabaseResource, drift: DriftMonitorResource
) -> dg.MaterializeResult:
    """Drift of the logged predictions: the 7 days ending on the partition date against the 30
    days before them (PSI, KS / Chi², JS per signal; severity; the signal that drove it).

    Below the minimum sample size the report is stored with status `insufficient_data`.
    """
    report_date = date.fromisoformat(context.partition_key)
    report = compute_report(database.engine, report_date, drift.parameters)
    report_id = store_report(database.engine, report, dagster_run_id=context.run_id)
    metadata: dict[str, Any] = {
        "report_id": report_id,
        "status": str(report.status),
        "severity": str(report.severity),
        "driving_signal": report.driving_signal or "–",
        "reference_count": dg.MetadataValue.int(report.reference_count),
        "current_count": dg.MetadataValue.int(report.current_count),
        "current_window": f"{report.current_start.isoformat()} – {report.current_end.isoformat()}",
        "reference_window": (
            f"{report.reference_start.isoformat()} – {report.reference_end.isoformat()}"
        ),
    }
    if report.comparison is not None:
        comparison = report.comparison
        metadata["comparison"] = comparison.mode
        if comparison.model_version is not None:
            metadata["comparison_model_version"] = dg.MetadataValue.int(comparison.model_version)
        if comparison.reason is not None:
            metadata["comparison_reason"] = comparison.reason
    if report.performance is not None:
        estimate = report.performance.overall
        metadata["estimated_weighted_f1"] = dg.MetadataValue.float(estimate.expected_weighted_f1)
        metadata["estimated_weighted_f1_band"] = (
            f"{estimate.weighted_f1_low:.3f} – {estimate.weighted_f1_high:.3f}"
        )
        metadata["estimated_accuracy"] = dg.MetadataValue.float(estimate.expected_accuracy)
        metadata["estimated_rows"] = dg.MetadataValue.int(estimate.rows)
    if report.signals:
        metadata["signals"] = dg.MetadataValue.md(signals_markdown(report.signals))
        for signal in report.signals:
            metadata[f"psi/{signal.name}"] = dg.MetadataValue.float(signal.psi)
    context.log.info(
        "drift report %s: %s, severity %s (driven by %s), %d current vs %d reference rows",
        report_date,
        report.status,
        report.severity,
        report.driving_signal,
        report.current_count,
        report.reference_count,
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name="monitoring",
    deps=[drift_report],
    kinds={"sql"},
    tags={"pipeline": "daily"},
)
def drift_alert(
    context: dg.AssetExecutionContext, database: DatabaseResource, drift: DriftMonitorResource
) -> dg.MaterializeResult:
    """Alerts for the signals of the day's report at ALERT or worse, with the recommended action
    (WARNING monitor; ALERT investigate / consider retrain; CRITICAL retrain or roll back).

    Not raised again within the cooldown unless the severity rises; each new alert is posted to
    the webhook when one is configured (a failing webhook is reported, never fatal).
    """
    report_date = date.fromisoformat(context.partition_key)
    report = report_summary(database.engine, report_date)
    if report is None:
        raise dg.Failure(
            f"no drift report for {report_date}: materialize drift_report for that day first"
        )
    outcome = drift_alerts.raise_alerts(
        database.engine, report.id, cooldown_days=drift.cooldown_days
    )
    deliveries: list[str] = []
    if drift.webhook_url:
        for alert in outcome.raised:
            delivery = drift_alerts.deliver_webhook(
                drift.webhook_url,
                drift_alerts.webhook_payload(alert),
                attempts=drift.webhook_attempts,
                timeout=drift.webhook_timeout_seconds,
            )
            deliveries.append(
                f"alert {alert['id']}: {'delivered' if delivery.delivered else 'FAILED'} "
                f"after {delivery.attempts} attempt(s) ({delivery.detail})"
            )
            if not delivery.delivered:
                context.log.warning("webhook for alert %s failed: %s", alert["id"], delivery)
    for alert in outcome.raised:
        context.log.warning(
            "alert %s: %s; recommended action: %s",
            alert["id"],
            alert["message"],
            alert["recommended_action"],
        )
    return dg.MaterializeResult(
        metadata={
            "report_id": report.id,
            "severity": str(report.severity),
            "recommended_action": report.severity.recommended_action,
            "raised": dg.MetadataValue.int(len(outcome.raised)),
            "alert_ids": dg.MetadataValue.json([a["id"] for a in outcome.raised]),
            "suppressed_by_cooldown": dg.MetadataValue.json(outcome.suppressed),
            "webhook": dg.MetadataValue.json(deliveries) if drift.webhook_url else "not set",
        }
    )


@dg.sensor(
    name="drift_retrain_sensor",
    job_name=WEEKLY_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one weekly_ml_pipeline run per CRITICAL drift report when "
    "DRIFT_AUTO_RETRAIN is true; otherwise the alert recommends it to an operator.",
)
def drift_retrain_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, drift: DriftMonitorResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    """The cursor is the newest ``computed_at`` seen, so a report re-computed later (a re-run of
    its day, with late rows) is looked at again; the run key (one per report id) makes Dagster
    launch at most one run per report, however often it is seen."""
    since = datetime.fromisoformat(context.cursor) if context.cursor else None
    found = critical_reports_since(database.engine, since)
    if found.seen_until is not None:
        context.update_cursor(found.seen_until.isoformat())
    critical = found.reports
    if not critical:
        yield dg.SkipReason("no new CRITICAL drift report")
        return
    if not drift.auto_retrain:
        yield dg.SkipReason(
            f"{len(critical)} CRITICAL drift report(s) but DRIFT_AUTO_RETRAIN is off: "
            "the alerts recommend a retrain or a rollback to an operator"
        )
        return
    partition = Calendar.from_settings().next_partition_key(database.engine)
    for report in critical:
        yield dg.RunRequest(
            run_key=f"drift-report-{report.id}",
            partition_key=partition,
            tags={
                "launched_by": "drift_retrain_sensor",
                "drift/report_id": str(report.id),
                "drift/report_date": report.report_date.isoformat(),
                "drift/driving_signal": str(report.driving_signal),
            },
        )
