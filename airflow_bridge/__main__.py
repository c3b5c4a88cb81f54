"""`python -m airflow_bridge`: generate the Airflow DAGs, or build an Airflow venv to test them."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_bridge import generator, venvs
from rakuten_assets.settings import PROJECT_ROOT, get_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Airflow DAGs that drive the Dagster jobs, generated from the Dagster definitions."""


@main.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the DAG files to (Airflow's dags folder, or a copy of it).",
)
@click.option(
    "--target", type=click.Choice(generator.TARGETS), default=generator.DEFAULT_TARGET,
    show_default=True, help="airflow3: task SDK; airflow2: Airflow 2.11 with dagster-airflow.",
)  # fmt: skip
@click.option(
    "--connection-id", default=generator.DEFAULT_CONNECTION_ID, show_default=True,
    help="Airflow connection that says where the Dagster webserver is.",
)  # fmt: skip
@click.option(
    "--workspace", type=click.Path(dir_okay=False, path_type=Path),
    default=PROJECT_ROOT / "workspace.yaml", show_default=True,
    help="workspace.yaml the webserver serves; gives the default code location name.",
)  # fmt: skip
@click.option(
    "--location-name", default=None, help="Code location name (default: from --workspace)."
)
@click.option(
    "--dagster-url", default=None,
    help="Dagster UI URL for the links in the DAG docs (default: the DAGSTER_URL setting).",
)  # fmt: skip
@click.option("--retries", default=2, show_default=True, type=click.IntRange(min=0))
@click.option("--retry-delay-minutes", default=5.0, show_default=True, type=click.FloatRange(min=0))
def generate(
    out_dir: Path,
    target: str,
    connection_id: str,
    workspace: Path,
    location_name: str | None,
    dagster_url: str | None,
    retries: int,
    retry_delay_minutes: float,
) -> None:
    """Write one DAG file per scheduled Dagster job into OUT."""
    from rakuten_assets.definitions import build_defs

    try:
        location = location_name or generator.workspace_location_name(workspace)
        specs = generator.scheduled_jobs(build_defs(), location_name=location)
        options = generator.Options(
            target=target,
            connection_id=connection_id,
            dagster_url=dagster_url or get_settings().dagster_url,
            retries=retries,
            retry_delay_minutes=retry_delay_minutes,
        )
        written, removed = generator.generate(out_dir, specs, options)
    except generator.GeneratorError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
    for path in removed:
        click.echo(f"removed {path} (its job has no schedule any more)")


@main.command()
@click.option("--target", type=click.Choice(sorted(venvs.SPECS)), required=True)
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=venvs.DEFAULT_ROOT,
    show_default=True, help="Folder that holds the venv-<target> folders.",
)  # fmt: skip
def venv(target: str, root: Path) -> None:
    """Create (or reuse) the Airflow venv of TARGET; prints its path."""
    try:
        path = venvs.ensure_venv(target, root)
    except venvs.VenvError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(path))


@main.command()
@click.option("--target", "targets", multiple=True, type=click.Choice(sorted(venvs.SPECS)))
def lock(targets: tuple[str, ...]) -> None:
    """Resolve locks/<target>.in again into locks/<target>.txt (every target by default)."""
    for target in targets or sorted(venvs.SPECS):
        try:
            click.echo(f"wrote {venvs.write_lock(target)}")
        except venvs.VenvError as exc:
            raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
