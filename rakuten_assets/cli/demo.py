"""`rakuten demo`: the weekly pipeline for the first weeks, then simulated traffic and drift checks."""

from __future__ import annotations

import time
from typing import Any

import click
import pandas as pd

from rakuten_assets.calendar import (
    MODEL_QUALITY_CHECK,
    WEEKLY_JOB,
    Calendar,
)
from rakuten_assets.cli._base import (
    _defs,
    _engine,
    _init,
    _say,
    _settings,
    _table,
    main,
)
from rakuten_assets.cli.data import _ensure_catalog
from rakuten_assets.cli.drift import _last_report_date, _simulate, run_drift_checks
from rakuten_assets.settings import Settings


def _weekly_summary(settings: Settings, keys: list[str]) -> pd.DataFrame:
    from rakuten_assets.operations import reports

    return reports.weekly_summary(_engine(settings), settings.registered_model_name, keys)


def _failed_only_on_quality_gate(result: Any) -> bool:
    """True when the run stopped because the blocking F1 check rejected the candidate."""

    def reason(event: Any) -> str:
        error = getattr(event.event_specific_data, "error", None)
        return error.message if error is not None else ""

    failures = [e for e in result.all_events if e.is_step_failure]
    return bool(failures) and all(MODEL_QUALITY_CHECK in reason(e) for e in failures)


#: The demo's traffic: 37 days (30 of reference, then a week), drift from day 31.
DEMO_TRAFFIC_DAYS = 37
DEMO_DRIFT_FROM = 31
DEMO_DRIFT_PROFILE = "new_vocabulary"
#: Drift reports the demo prints: two quiet days, then the drifted week.
DEMO_REPORT_DAYS = 9
#: Every n-th simulated prediction gets its true code back through the feedback path, as late
#: labels from merchants would (realised F1 next to the estimate).
DEMO_LABEL_EVERY = 5


def _demo_labels(settings: Settings, summary: Any) -> None:
    from rakuten_assets.feedback import Label, record_feedback

    labels = [
        Label(prediction_id, code)
        for day in summary.days
        for prediction_id, code in day.labels[::DEMO_LABEL_EVERY]
    ]
    result = record_feedback(_engine(settings), labels)
    _say(
        f"late labels: the true code of 1 prediction in {DEMO_LABEL_EVERY} sent back "
        f"({result.recorded} new, {result.unchanged} already there)"
    )


def _health_drop(table: pd.DataFrame, first_drifted: str) -> None:
    """Mean estimated and realised F1 before and from the first drifted day."""

    def mean(column: str, rows: pd.DataFrame) -> str:
        values = pd.to_numeric(rows[column].str.split(" ").str[0], errors="coerce").dropna()
        return f"{values.mean():.3f}" if len(values) else "-"

    before, after = table[table["date"] < first_drifted], table[table["date"] >= first_drifted]
    if before.empty or after.empty:
        return
    _say(
        f"model health from {first_drifted} (drift starts): estimated F1 "
        f"{mean('estimated F1', before)} -> {mean('estimated F1', after)}, realised F1 "
        f"{mean('realised F1', before)} -> {mean('realised F1', after)}"
    )


def _demo_drift(settings: Settings) -> None:
    """Traffic drifting in its last week, then the daily drift check for the last days."""
    from rakuten_assets.drift.alerts import list_alerts

    click.echo()
    _say(
        f"drift: {DEMO_TRAFFIC_DAYS} days of traffic, {DEMO_DRIFT_PROFILE} from day "
        f"{DEMO_DRIFT_FROM} (unseen brands and product names)"
    )
    summary = _simulate(
        settings,
        days=DEMO_TRAFFIC_DAYS,
        drift_from=DEMO_DRIFT_FROM,
        profile=DEMO_DRIFT_PROFILE,
        per_day=500,
        # Traffic up to the newest day that already has a daily drift partition.
        end_date=_last_report_date(),
        seed=None,
    )
    _say(f"{summary.rows} predictions logged ({summary.inserted} new) in {summary.seconds:.0f} s")
    _demo_labels(settings, summary)
    dates = [d.day.isoformat() for d in summary.days][-DEMO_REPORT_DAYS:]
    _say(f"daily_drift_check for {dates[0]} .. {dates[-1]} (7-day window vs the 30 days before)")
    table = run_drift_checks(settings, dates)
    click.echo()
    click.echo(_table(table))
    _health_drop(table, summary.days[DEMO_DRIFT_FROM - 1].day.isoformat())
    flagged = table[table["severity"].isin(["ALERT", "CRITICAL"])]
    if flagged.empty:
        _say("no drift at ALERT or worse in these days")
        return
    first = flagged.iloc[0]
    _say(f"drift detected on {first['date']}: {first['severity']}, driven by {first['driven by']}")
    for alert in list_alerts(_engine(settings), status="open", limit=5):
        click.echo(
            f"  alert #{alert['id']} {alert['severity']} {alert['signal']} "
            f"({alert['report_date']}): recommended action: {alert['recommended_action']}"
        )


@main.command("demo")
@click.option("--weeks", default=5, show_default=True, type=click.IntRange(1, 30))
@click.option(
    "--drift/--no-drift",
    default=True,
    show_default=True,
    help="Then simulate traffic that drifts in its last week and run the daily drift check.",
)
def demo(weeks: int, drift: bool) -> None:
    """Run `weekly_ml_pipeline` for the first weeks through Dagster, then simulate 37 days of
    traffic drifting in the last week and run `daily_drift_check`; print what happened."""
    from rakuten_assets.runner import run_job

    # The demo captures the inputs of its traffic (CAPTURE_INPUTS), for shadow scoring.
    settings = _settings().model_copy(update={"capture_inputs": True})
    started = time.perf_counter()
    _say(f"initialising the embedded stores under {settings.data_dir}")
    _init(settings)
    _ensure_catalog(settings)
    defs = _defs()
    calendar = Calendar.from_settings(settings)
    keys = [calendar.partition_key_for(i) for i in range(weeks)]
    done = set(_weekly_summary(settings, keys).query("decision != '-'")["week"])
    for number, key in enumerate(keys, start=1):
        if key in done:
            _say(f"week {number}/{weeks} ({key}): already decided, skipped")
            continue
        _say(f"week {number}/{weeks} ({key}): load slice -> train -> evaluate -> promote")
        t0 = time.perf_counter()
        result = run_job(
            defs, WEEKLY_JOB, key, settings=settings, log_level="CRITICAL", progress=_say
        )
        outcome = "succeeded" if result.success else "FAILED"
        _say(
            f"week {number}/{weeks}: Dagster run {result.run_id} {outcome} in {time.perf_counter() - t0:.0f} s"
        )
        if not result.success and not _failed_only_on_quality_gate(result):
            failure = next((e for e in result.all_events if e.is_failure), None)
            message = failure.message if failure else "see the Dagster UI"
            raise click.ClickException(f"{WEEKLY_JOB} failed for {key}: {message}")
    click.echo()
    click.echo(_table(_weekly_summary(settings, keys)))
    if drift:
        _demo_drift(settings)
    click.echo(f"\nDone in {time.perf_counter() - started:.0f} s. Look around:")
    click.echo("  make dev        # Dagster UI on http://127.0.0.1:3000 (runs, assets, checks)")
    click.echo("  make mlflow-ui  # MLflow UI on http://127.0.0.1:5000 (runs, registry)")
    click.echo("  make status     # loads, Production model, promotion decisions")
    if drift:
        click.echo("  make view-alerts / make view-drift-reports   # what the drift check found")
        click.echo(
            "  make serve      # the API; POST /api/alerts/{id}/acknowledge, /api/rollback-model"
        )
