"""Data and model verbs: schema, catalog, loads, training, evaluation, status."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import pandas as pd

from rakuten_assets.calendar import (
    MODEL_PROMOTION,
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
from rakuten_assets.settings import Settings


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema, the MLflow experiment and the Dagster home."""
    settings = _settings()
    _init(settings)
    url = _engine(settings).url.render_as_string(hide_password=True)
    _say(f"schema at head on {url}; MLflow at {settings.tracking_uri}")


def _ensure_catalog(settings: Settings, force: bool = False) -> None:
    from rakuten_assets.data.catalog import CatalogError, read_manifest
    from rakuten_assets.runner import materialize

    try:
        read_manifest(settings.catalog_dir)
        if not force:
            return
    except CatalogError:
        pass
    _say("building the product catalog and its golden holdout")
    materialize(_defs(), ["product_catalog"], settings=settings, log_level="WARNING")


@main.command("generate-dataset")
@click.option(
    "--csv-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the catalog as challenge-format CSVs (X_train_update.csv, Y_train_*.csv).",
)
def generate_dataset(csv_dir: Path | None) -> None:
    """Materialise `product_catalog` (synthetic unless CATALOG_X_PATH/CATALOG_Y_PATH are set)."""
    settings = _settings()
    _init(settings)
    started = time.perf_counter()
    _ensure_catalog(settings, force=True)
    from rakuten_assets.data.catalog import read_manifest

    manifest = read_manifest(settings.catalog_dir)
    _say(
        f"catalog: {manifest['pool_rows']} pool rows + {manifest['holdout_rows']} golden holdout "
        f"rows from {manifest['source']} in {time.perf_counter() - started:.1f} s"
    )
    if csv_dir is not None:
        from rakuten_assets.data.catalog import read_holdout, read_pool

        frame = pd.concat([read_pool(settings.catalog_dir), read_holdout(settings.catalog_dir)])
        frame = frame.sort_index()
        csv_dir.mkdir(parents=True, exist_ok=True)
        frame[["designation", "description", "productid", "imageid"]].to_csv(
            csv_dir / "X_train_update.csv", index_label=""
        )
        frame[["prdtypecode"]].to_csv(csv_dir / "Y_train_CVw08PX.csv", index_label="")
        _say(f"wrote {len(frame)} rows to {csv_dir}/X_train_update.csv and Y_train_CVw08PX.csv")


@main.command("load-data")
def load_data() -> None:
    """Load the next weekly slice (40 %, then +3 % a week) through the `product_slice` asset."""
    from rakuten_assets.data.loader import next_slice_index
    from rakuten_assets.runner import materialize

    settings = _settings()
    _init(settings)
    _ensure_catalog(settings)
    index = next_slice_index(_engine(settings))
    key = Calendar.from_settings(settings).partition_key_for(index)
    _say(f"loading slice {index} (partition {key})")
    materialize(_defs(), ["product_slice"], settings=settings, partition_key=key)
    _print_loads(settings, limit=1)


def _latest_partition(settings: Settings) -> str:
    from rakuten_assets.data.loader import next_slice_index

    index = next_slice_index(_engine(settings)) - 1
    if index < 0:
        raise click.ClickException("no data loaded yet: run `rakuten load-data` first")
    return Calendar.from_settings(settings).partition_key_for(index)


@main.command("train-model")
@click.option("--promote", is_flag=True, help="Also run the promotion gate on the candidate.")
def train_model(promote: bool) -> None:
    """Train, log and evaluate a candidate on everything loaded so far (optionally promote it)."""
    from rakuten_assets.runner import TRAINING_ASSETS, materialize

    settings = _settings()
    _init(settings)
    key = _latest_partition(settings)
    selection = [*TRAINING_ASSETS, *([MODEL_PROMOTION] if promote else [])]
    _say(f"training on partition {key}: {', '.join(selection)}")
    result = materialize(_defs(), selection, settings=settings, partition_key=key)
    evaluation = result.output_for_node("model_evaluation")
    click.echo(json.dumps(evaluation, indent=2, default=str))
    if promote:
        _print_decisions(settings, limit=1)


@main.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(path_type=Path))
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2))
@click.option(
    "--confusion-png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the confusion matrix of the out-of-fold predictions as a PNG here.",
)
@click.option(
    "--compare-original",
    is_flag=True,
    help="Also score the original system's configuration on the same folds.",
)
def evaluate(
    csv_path: Path, folds: int, confusion_png: Path | None, compare_original: bool
) -> None:
    """Stratified k-fold CV of the training pipeline on a labelled CSV.

    Prints the per-class table and the ten most frequent confusions of the out-of-fold
    predictions, then one JSON object on the last line (``| tail -1 | jq`` reads it).
    """
    from rakuten_assets.data.catalog import CatalogError, read_labelled_csv
    from rakuten_assets.tables import markdown_table
    from rakuten_assets.training.evaluation import (
        cross_validate,
        fit_original,
        per_class_table,
        top_confusions,
    )
    from rakuten_assets.training.model import ModelParams, fit

    params = ModelParams()
    try:
        frame = read_labelled_csv(csv_path)
        _say(f"{folds}-fold cross-validation on {len(frame)} rows of {csv_path}")
        ours = cross_validate(frame, lambda train: fit(train, params), folds, params.seed)
        original = None
        if compare_original:
            _say("the original system's configuration on the same folds")
            original = cross_validate(frame, fit_original, folds, params.seed)
    except (CatalogError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("Per class (out-of-fold predictions):")
    click.echo(markdown_table(per_class_table(ours.pooled), floatfmt=".3f"))
    click.echo("\nMost frequent confusions:")
    click.echo(markdown_table(top_confusions(ours.pooled)))
    result = dict(ours.summary)
    if original is not None:
        click.echo("\nSame folds, original configuration:")
        rows = pd.DataFrame(
            [
                {"configuration": "ours (defaults)", **ours.summary},
                {"configuration": "original system", **original.summary},
            ]
        )
        columns = ["configuration", "weighted_f1", "weighted_f1_std", "macro_f1", "cpu_seconds"]
        click.echo(markdown_table(rows[columns], floatfmt=(".4f", ".4f", ".4f", ".4f", ".1f")))
        result["original"] = original.summary
        result["gain_over_original"] = round(
            ours.summary["weighted_f1"] - original.summary["weighted_f1"], 4
        )
    if confusion_png is not None:
        from rakuten_assets.registry import write_confusion_png

        write_confusion_png(ours.pooled, confusion_png)
        _say(f"confusion matrix written to {confusion_png}")
    click.echo(json.dumps(result))


def _print_loads(settings: Settings, limit: int = 10) -> None:
    from rakuten_assets.operations import reports

    click.echo(_table(reports.load_history(_engine(settings), limit)))


def _print_decisions(settings: Settings, limit: int = 10) -> None:
    from rakuten_assets.operations import reports

    engine = _engine(settings)
    click.echo(_table(reports.promotion_history(engine, settings.registered_model_name, limit)))


@main.command("status")
def status() -> None:
    """Loads, products, the Production model and the latest promotion decisions."""
    from rakuten_assets import registry
    from rakuten_assets.db import require_schema
    from rakuten_assets.operations import reports

    settings = _settings()
    engine = _engine(settings)
    require_schema(engine)
    click.echo("Loads (newest first):")
    _print_loads(settings)
    name = settings.registered_model_name
    model = reports.model_status(registry.configure(settings.tracking_uri), engine, name)

    def version(number: int | None) -> str:
        return f"v{number}" if number is not None else "none"

    click.echo(
        f"\nProduction model: {name} v{model.production_version or '-'}  "
        f"(tracking: {settings.tracking_uri})\nRollback target: {version(model.rollback_target)}"
        f"\nRoll-forward target: {version(model.roll_forward_target)}\n\nPromotion decisions:"
    )
    _print_decisions(settings)
