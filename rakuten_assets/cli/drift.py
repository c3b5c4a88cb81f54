"""Traffic simulation, drift checks, drift reports and the alert lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import click
import pandas as pd

from rakuten_assets.calendar import (
    DAILY_DRIFT_JOB,
    Calendar,
)
from rakuten_assets.cli._base import (
    _ACTOR,
    _defs,
    _engine,
    _init,
    _platform,
    _say,
    _settings,
    _table,
    main,
)
from rakuten_assets.settings import Settings


def _simulate(
    settings: Settings,
    *,
    days: int,
    drift_from: int | None,
    profile: str | None,
    per_day: int,
    end_date: date | None,
    seed: int | None,
) -> Any:
    """Log simulated traffic scored by the Production model (see `simulate-traffic`)."""
    from rakuten_assets import registry
    from rakuten_assets.drift import simulate
    from rakuten_assets.predictions import purge_inputs

    name = settings.registered_model_name
    current = registry.production_version(registry.configure(settings.tracking_uri), name)
    if current is None:
        raise click.ClickException(
            f"no Production version of {name} in the registry at {settings.tracking_uri}: "
            "run `make demo` or `rakuten train-model --promote` first"
        )
    version = int(current.version)
    pipeline = registry.load_model(name, version)
    last_day = end_date or simulate.yesterday(settings.pipeline_timezone)
    seed = simulate.DEFAULT_SEED if seed is None else seed
    drift = f"; {profile} drift from day {drift_from}" if profile else ""
    _say(
        f"simulating {days} days x {per_day} predictions ending {last_day} "
        f"({settings.pipeline_timezone}) with {name} v{version}, seed {seed}{drift}"
    )
    try:
        summary = simulate.simulate_traffic(
            _engine(settings),
            pipeline,
            version,
            days=days,
            end_date=last_day,
            per_day=per_day,
            drift_from=drift_from,
            profile=profile,
            seed=seed,
            timezone=settings.pipeline_timezone,
            capture=settings.capture_inputs,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.capture_inputs:  # simulated days older than the retention keep no text
        purge_inputs(_engine(settings), settings.capture_retention_days)
    return summary


@main.command("simulate-traffic")
@click.option("--days", required=True, type=click.IntRange(1, 3_660), help="Days to simulate.")
@click.option(
    "--drift-from",
    type=click.IntRange(min=1),
    help="1-based simulated day from which the drift applies "
    "(--days 37 --drift-from 31: drift in the last week).",
)
@click.option(
    "--drift-profile",
    # The names of rakuten_assets.drift.simulate.PROFILES (a test keeps them equal); not
    # imported here, so that `rakuten --help` does not load scikit-learn and MLflow.
    type=click.Choice(["class_shift", "new_vocabulary", "longer_texts"]),
    help="What drifts from --drift-from on (default with --drift-from: class_shift).",
)
@click.option(
    "--per-day",
    default=500,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Predictions per simulated day.",
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last simulated day (default: yesterday in PIPELINE_TIMEZONE, the day the next "
    "daily drift check reports on).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Traffic seed (default: a fixed one); the same seed and days give the same rows, "
    "and a rerun adds nothing.",
)
def simulate_traffic_command(
    days: int,
    drift_from: int | None,
    drift_profile: str | None,
    per_day: int,
    end_date: Any,  # a datetime (click.DateTime) or None
    seed: int | None,
) -> None:
    """Log days of predictions of the Production model on new listings, optionally drifting."""
    if drift_profile is not None and drift_from is None:
        raise click.UsageError("--drift-profile needs --drift-from DAY, the first drifted day")
    if drift_from is not None and drift_from > days:
        raise click.UsageError(f"--drift-from {drift_from} is after the last simulated day {days}")
    settings = _settings()
    _init(settings)
    summary = _simulate(
        settings,
        days=days,
        drift_from=drift_from,
        profile=(drift_profile or "class_shift") if drift_from is not None else None,
        per_day=per_day,
        end_date=end_date.date() if end_date is not None else None,
        seed=seed,
    )
    click.echo(_table(summary.as_frame()))
    _say(
        f"{summary.rows} predictions logged in {summary.seconds:.1f} s, "
        f"{summary.inserted} of them new"
    )
    if summary.inserted < summary.rows:
        _say(
            f"{summary.rows - summary.inserted} were already in the log from an earlier run "
            "with this seed and were kept as they were; use another --seed to add traffic"
        )


# --- drift monitoring -----------------------------------------------------------------------


def _last_report_date() -> date:
    """The newest day with a `daily_drift_check` partition: the day before today, from 01:00
    (the schedule's hour) on; before 01:00, the day before that."""
    calendar = Calendar.from_settings(_settings())
    key = calendar.last_daily_partition_key()
    if key is None:
        raise click.ClickException(
            f"no daily drift partition yet: DRIFT_START_DATE ({calendar.drift_start}) has not ended"
        )
    return date.fromisoformat(key)


def _report_dates(date_: Any, days: int) -> list[str]:
    """``days`` report dates ending at ``date_`` (default: the last complete partition)."""
    from datetime import timedelta

    last_possible = _last_report_date()
    last = date_.date() if date_ is not None else last_possible
    if last > last_possible:
        raise click.ClickException(
            f"no drift report for {last} yet: its day is not over (reports run at 01:00 the next "
            f"day); the latest possible report date is {last_possible}"
        )
    return [(last - timedelta(days=n)).isoformat() for n in reversed(range(days))]


def run_drift_checks(settings: Settings, dates: list[str]) -> pd.DataFrame:
    """Run `daily_drift_check` in-process for each date; one summary row per report."""
    from rakuten_assets.drift.alerts import AlertStatus, list_alerts
    from rakuten_assets.drift.storage import get_report, report_summary
    from rakuten_assets.runner import run_job

    defs = _defs()
    engine = _engine(settings)
    rows = []
    for key in dates:
        result = run_job(defs, DAILY_DRIFT_JOB, key, settings=settings, log_level="CRITICAL")
        if not result.success:
            failure = next((e for e in result.all_events if e.is_failure), None)
            message = failure.message if failure else "see the Dagster UI"
            raise click.ClickException(f"{DAILY_DRIFT_JOB} failed for {key}: {message}")
        report = report_summary(engine, date.fromisoformat(key))
        if report is None:
            raise click.ClickException(f"{DAILY_DRIFT_JOB} for {key} stored no drift report")
        raised = list_alerts(engine, status=AlertStatus.OPEN, report_id=report.id)
        health = get_report(engine, report.report_date)
        estimate = health.performance if health else None
        realised = health.realised if health else None
        rows.append(
            {
                "date": key,
                "status": report.status,
                "severity": str(report.severity),
                "driven by": report.driving_signal or "-",
                "current": report.current_count,
                "reference": report.reference_count,
                # Model health of the report date's own predictions (docs/model_health.md).
                "estimated F1": (
                    f"{estimate.overall.expected_weighted_f1:.3f} "
                    f"[{estimate.overall.weighted_f1_low:.2f}-{estimate.overall.weighted_f1_high:.2f}]"
                    if estimate
                    else "-"
                ),
                "realised F1": (
                    f"{realised.overall.weighted_f1:.3f} (n={realised.overall.rows})"
                    if realised
                    else "-"
                ),
                "open alerts": ", ".join(
                    f"#{a['id']} {a['signal']} ({a['severity']})" for a in reversed(raised)
                )
                or "-",
            }
        )
    return pd.DataFrame(rows)


@main.command("check-drift")
@click.option(
    "--date",
    "date_",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Report date (default: yesterday in PIPELINE_TIMEZONE).",
)
@click.option(
    "--days",
    default=1,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Reports ending there.",
)
def check_drift(date_: Any, days: int) -> None:
    """Run `daily_drift_check` in-process (report + alerts) and print severity per day."""
    settings = _settings()
    _init(settings)
    click.echo(_table(run_drift_checks(settings, _report_dates(date_, days))))


@main.command("trigger-drift-check")
@click.option(
    "--date",
    "date_",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Report date (default: yesterday in PIPELINE_TIMEZONE).",
)
def trigger_drift_check(date_: Any) -> None:
    """Launch `daily_drift_check` on the running Dagster webserver (DAGSTER_URL)."""
    from rakuten_assets.launcher import DagsterUnavailableError, launch_run

    settings = _settings()
    (key,) = _report_dates(date_, 1)
    try:
        run_id = launch_run(settings.dagster_url, DAILY_DRIFT_JOB, key)
    except DagsterUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"launched run {run_id} for {key}: {settings.dagster_url}/runs/{run_id}")


@main.command("view-drift-reports")
@click.option("--limit", default=14, show_default=True, type=click.IntRange(1, 1_000))
def view_drift_reports(limit: int) -> None:
    """The latest drift reports, newest first, with PSI per signal."""
    from rakuten_assets.db import require_schema
    from rakuten_assets.drift.storage import latest_reports

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    rows = []
    for report in latest_reports(engine, limit):
        row = {
            "date": report.report_date.isoformat(),
            "status": report.status,
            "severity": str(report.severity),
            "driven by": report.driving_signal or "-",
            "current": report.current_count,
            "reference": report.reference_count,
        }
        row |= {f"PSI {s.name}": round(s.psi, 3) for s in report.signals}
        rows.append(row)
    click.echo(_table(pd.DataFrame(rows)))


@main.command("view-alerts")
@click.option(
    "--status",
    "status_",
    type=click.Choice(["open", "acknowledged", "resolved"]),
    help="Only alerts in this state (default: all).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def view_alerts(status_: str | None, limit: int) -> None:
    """Drift alerts, newest first, with their recommended action."""
    from rakuten_assets.db import require_schema
    from rakuten_assets.drift.alerts import list_alerts

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    columns = ["id", "report_date", "signal", "severity", "status", "recommended_action", "actions"]
    frame = pd.DataFrame(list_alerts(engine, status=status_, limit=limit))
    click.echo(_table(frame[columns] if not frame.empty else frame))


def _alert_action(
    action: Callable[..., dict[str, Any]], alert_id: int, actor: str, note: str
) -> None:
    from rakuten_assets.operations.audit import Door

    alert = action(_platform(_settings()).engine, alert_id, actor, note, door=Door.CLI)
    _say(f"alert {alert_id} is {alert['status']}")


@main.command("acknowledge-alert")
@click.argument("alert_id", type=click.IntRange(1))
@_ACTOR
@click.option("--note", default="", help="What you saw or will do.")
def acknowledge_alert(alert_id: int, actor: str, note: str) -> None:
    """Acknowledge an open alert (recorded with who and why)."""
    from rakuten_assets.operations.actions import acknowledge_alert

    _alert_action(acknowledge_alert, alert_id, actor, note)


@main.command("act-on-alert")
@click.argument("alert_id", type=click.IntRange(1))
@click.option(
    "--action",
    "action_",
    required=True,
    type=click.Choice(["investigate", "adjust_thresholds"]),
    help="What you do (retrain and rollback have their own commands, with --alert-id).",
)
@_ACTOR
@click.option("--note", default="", help="What you found or changed.")
def act_on_alert(alert_id: int, action_: str, actor: str, note: str) -> None:
    """Record an investigation or a threshold change about an alert (who and why)."""
    from rakuten_assets.operations.actions import act_on_alert
    from rakuten_assets.operations.audit import Door

    engine = _platform(_settings()).engine
    alert = act_on_alert(engine, alert_id, action_, actor, note, door=Door.CLI)
    _say(f"alert {alert_id} is {alert['status']}")


@main.command("resolve-alert")
@click.argument("alert_id", type=click.IntRange(1))
@_ACTOR
@click.option("--note", default="", help="Why it is over.")
def resolve_alert(alert_id: int, actor: str, note: str) -> None:
    """Resolve one open or acknowledged alert (recorded with who and why)."""
    from rakuten_assets.operations.actions import resolve_alert

    _alert_action(resolve_alert, alert_id, actor, note)


@main.command("clear-alerts")
@_ACTOR
@click.option("--note", default="cleared from the CLI", show_default=True)
def clear_alerts(actor: str, note: str) -> None:
    """Resolve every open or acknowledged alert (recorded with who and why)."""
    from rakuten_assets.operations import actions
    from rakuten_assets.operations.audit import Door

    resolved = actions.resolve_all_alerts(
        _platform(_settings()).engine, actor, note=note, door=Door.CLI
    )
    _say(f"resolved {len(resolved)} alert(s)" + (f": {resolved}" if resolved else ""))
