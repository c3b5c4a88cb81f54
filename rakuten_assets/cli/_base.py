"""The `rakuten` group and what its commands share: settings, engine, output, operator options."""

from __future__ import annotations

import os
import warnings
from typing import Any

import click
import pandas as pd

from rakuten_assets.settings import Settings, get_settings


def _settings() -> Settings:
    return get_settings()


def _engine(settings: Settings) -> Any:
    from rakuten_assets.db import get_engine

    return get_engine(settings.sqlalchemy_url)


def _defs() -> Any:
    from rakuten_assets.definitions import build_defs

    return build_defs()


def _say(message: str) -> None:
    click.echo(click.style("==> ", fg="cyan", bold=True) + message, err=True)


def _init(settings: Settings) -> None:
    from rakuten_assets import registry
    from rakuten_assets.db import get_engine, upgrade_schema
    from rakuten_assets.runner import ensure_dagster_home

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(settings.sqlalchemy_url)
    upgrade_schema(engine)
    client = registry.configure(settings.tracking_uri)
    artifact_root = settings.mlflow_artifact_root if settings.mlflow_is_local else None
    registry.ensure_experiment(client, settings.mlflow_experiment, artifact_root)
    ensure_dagster_home(settings)


class _Group(click.Group):
    """Turns the errors an operator can fix into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        from rakuten_assets.data.catalog import CatalogError
        from rakuten_assets.db import SchemaMissingError
        from rakuten_assets.operations.actions import OperationError

        try:
            return super().invoke(ctx)
        except (CatalogError, SchemaMissingError, LookupError, OperationError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Operate the Rakuten product-classification platform."""
    # dagster-mlflow is marked beta; we pin it, so its notice is noise on every command.
    warnings.filterwarnings("ignore", message=r".* is currently in beta")


def _table(frame: pd.DataFrame) -> str:
    from rakuten_assets.tables import markdown_table

    return markdown_table(frame)


def _platform(settings: Settings) -> Any:
    from rakuten_assets.db import require_schema
    from rakuten_assets.operations.actions import Platform

    engine = _engine(settings)
    require_schema(engine)
    return Platform.from_settings(settings, engine)


def _request(actor: str, reason: str, alert_id: int | None = None) -> Any:
    from rakuten_assets.operations.audit import Door, Request

    return Request(actor=actor, reason=reason, door=Door.CLI, alert_id=alert_id)


_ACTOR = click.option(
    "--actor", default=lambda: os.environ.get("USER", "operator"), show_default="$USER"
)


def _operator_options(reason: str) -> Any:
    """--actor and --reason, recorded with the action (as the API's body fields)."""

    def decorate(command: Any) -> Any:
        return _ACTOR(click.option("--reason", default=reason, show_default=True)(command))

    return decorate


_ALERT_ID = click.option(
    "--alert-id", type=click.IntRange(1), help="The drift alert this action answers."
)
_EXPECTED_VERSION = click.option(
    "--expected-version",
    type=click.IntRange(1),
    help="Act only if Production is still this version (refused otherwise).",
)
