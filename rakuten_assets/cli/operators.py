"""Operator actions (retrain, rollback, roll forward, re-run the gate) and their history."""

from __future__ import annotations

import click
import pandas as pd

from rakuten_assets.cli._base import (
    _ALERT_ID,
    _EXPECTED_VERSION,
    _engine,
    _operator_options,
    _platform,
    _request,
    _say,
    _settings,
    _table,
    main,
)


@main.command("trigger-pipeline")
@click.option("--partition", help="Weekly partition key (default: the next week to load).")
@_operator_options("retrain requested from the CLI")
@_ALERT_ID
def trigger_pipeline(partition: str | None, actor: str, reason: str, alert_id: int | None) -> None:
    """Launch `weekly_ml_pipeline` on the running Dagster webserver (DAGSTER_URL); refused while
    a weekly run is queued or running (the same checks and audit row as the API's retrain)."""
    from rakuten_assets.operations import actions

    settings = _settings()
    launched = actions.trigger_retrain(
        _platform(settings), _request(actor, reason, alert_id), partition
    )
    _say(
        f"launched run {launched.run_id} for partition {launched.partition_key}: {launched.run_url}"
    )


@main.command("rollback")
@_operator_options("rollback requested from the CLI")
@_ALERT_ID
@_EXPECTED_VERSION
def rollback(actor: str, reason: str, alert_id: int | None, expected_version: int | None) -> None:
    """Move Production back to the previous Production version of the promotion history."""
    from rakuten_assets.operations import actions

    moved = actions.rollback(
        _platform(_settings()), _request(actor, reason, alert_id), expected_version
    )
    _say(f"Production rolled back from v{moved.previous_version} to v{moved.target_version}")


@main.command("roll-forward")
@_operator_options("roll-forward requested from the CLI")
@_EXPECTED_VERSION
def roll_forward(actor: str, reason: str, expected_version: int | None) -> None:
    """Undo the last rollback: Production goes back to the version it was rolled back from."""
    from rakuten_assets.operations import actions

    moved = actions.roll_forward(_platform(_settings()), _request(actor, reason), expected_version)
    _say(f"Production rolled forward from v{moved.previous_version} to v{moved.target_version}")


@main.command("rerun-gate")
@click.argument("version", type=click.IntRange(1))
@_operator_options("promotion gate re-run from the CLI")
def rerun_gate(version: int, actor: str, reason: str) -> None:
    """Score VERSION and Production on the golden holdout again and apply the promotion gate."""
    from rakuten_assets.operations import actions

    result = actions.rerun_gate(_platform(_settings()), _request(actor, reason), version)
    _say(f"v{version}: {'promoted' if result.promoted else 'rejected'}: {result.reason}")


@main.command("action-history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
def action_history(limit: int) -> None:
    """Operator actions (retrain, rollback, ...) from the API and the CLI, newest first."""
    from dataclasses import asdict

    from rakuten_assets.db import require_schema
    from rakuten_assets.operations.audit import action_history as history

    engine = _engine(_settings())
    require_schema(engine)
    click.echo(_table(pd.DataFrame([asdict(a) for a in history(engine, limit)])))
