"""Group `ingestion`: the labelled catalog and its weekly slices in the product database."""

from pathlib import Path

import dagster as dg
import pandas as pd
from sqlalchemy import func, select

from rakuten_assets.calendar import Calendar
from rakuten_assets.categories import CATEGORY_CODES, CATEGORY_LABELS
from rakuten_assets.data import catalog as cat
from rakuten_assets.data.loader import load_slice
from rakuten_assets.db import data_loads, products
from rakuten_assets.defs.resources import CatalogResource, DatabaseResource
from rakuten_assets.tables import markdown_table

CATALOG_SCHEMA_CHECK = "catalog_schema_and_classes"
SLICE_AUDIT_CHECK = "slice_rows_match_audit"


def class_distribution_markdown(labels: pd.Series, top: int | None = None) -> str:
    counts = labels.value_counts()
    counts = counts.head(top) if top else counts
    frame = pd.DataFrame(
        {
            "prdtypecode": counts.index.astype(int),
            "category": [CATEGORY_LABELS.get(int(code), "?") for code in counts.index],
            "rows": counts.to_numpy(),
            "share": [f"{count / len(labels):.1%}" for count in counts],
        }
    )
    return markdown_table(frame)


def read_source(resource: CatalogResource) -> tuple[pd.DataFrame, str]:
    """The real challenge files when both paths are set, else the synthetic generator."""
    if resource.x_path and resource.y_path:
        frame = cat.read_challenge_files(Path(resource.x_path), Path(resource.y_path))
        return frame, f"challenge files {resource.x_path} + {resource.y_path}"
    if resource.x_path or resource.y_path:
        raise cat.CatalogError(
            "set both CATALOG_X_PATH and CATALOG_Y_PATH to use the challenge files "
            f"(got x={resource.x_path!r}, y={resource.y_path!r})"
        )
    from rakuten_assets.data.synthetic import generate_catalog

    frame = cat.normalise_catalog(
        generate_catalog(resource.synthetic_rows, resource.seed), "synthetic catalog"
    )
    return frame, f"synthetic catalog ({resource.synthetic_rows} rows, seed {resource.seed})"


@dg.asset(
    group_name="ingestion",
    kinds={"pandas", "parquet"},
    check_specs=[dg.AssetCheckSpec(CATALOG_SCHEMA_CHECK, asset="product_catalog")],
)
def product_catalog(
    context: dg.AssetExecutionContext, catalog: CatalogResource, database: DatabaseResource
) -> dg.MaterializeResult:
    """The full labelled catalog, split once into a frozen golden holdout and a loading pool.

    The holdout (stratified, seeded) is never loaded for training; every model ever evaluated
    is scored on exactly these rows, so "better than Production" means something. The pool gets
    a deterministic load order that the weekly slices follow.
    """
    frame, source = read_source(catalog)
    split = cat.split_catalog(frame, catalog.holdout_fraction, catalog.seed)
    try:
        previous = cat.read_manifest(catalog.directory)
    except cat.CatalogError:
        previous = None
    if previous is not None and previous["holdout_hash"] != split.holdout_hash:
        with database.engine.connect() as conn:
            loaded = conn.execute(select(func.count()).select_from(products)).scalar_one()
        if loaded:
            raise cat.CatalogError(
                f"the catalog source changed ({source}) but {loaded} products of the previous "
                "catalog are already loaded; a new golden holdout would make F1 scores "
                "incomparable. Use a new DATA_DIR / database for the new catalog."
            )
    manifest = cat.write_split(split, catalog.directory, source)
    context.log.info(f"catalog from {source}: {len(frame)} rows, holdout {len(split.holdout)}")

    present = set(frame[cat.LABEL_COLUMN].unique())
    missing = sorted(set(CATEGORY_CODES) - present)
    holdout_missing = sorted(set(CATEGORY_CODES) - set(split.holdout[cat.LABEL_COLUMN].unique()))
    columns_ok = list(frame.columns) == list(cat.CATALOG_COLUMNS)
    schema_check = dg.AssetCheckResult(
        check_name=CATALOG_SCHEMA_CHECK,
        passed=columns_ok and not missing and not holdout_missing,
        metadata={
            "columns": dg.MetadataValue.text(", ".join(frame.columns)),
            "classes_present": len(present),
            "missing_classes": dg.MetadataValue.text(str(missing)),
            "missing_in_holdout": dg.MetadataValue.text(str(holdout_missing)),
        },
    )
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "rows": len(frame),
            "pool_rows": int(manifest["pool_rows"]),  # type: ignore[call-overload]
            "holdout_rows": int(manifest["holdout_rows"]),  # type: ignore[call-overload]
            "classes": len(present),
            "empty_descriptions": dg.MetadataValue.float(
                float((frame["description"] == "").mean())
            ),
            "holdout_hash": split.holdout_hash,
            "pool_hash": split.pool_hash,
            "class_distribution": dg.MetadataValue.md(
                class_distribution_markdown(frame["prdtypecode"])
            ),
            "preview": dg.MetadataValue.md(
                frame.head(5)[["designation", "prdtypecode"]].to_markdown()
            ),
        },
        check_results=[schema_check],
    )


def audit_matches(database: DatabaseResource, partition_key: str) -> tuple[int, int]:
    """Rows of a slice in ``products`` and rows its completed loads say they inserted."""
    index = Calendar.from_settings().slice_index(partition_key)
    with database.engine.connect() as conn:
        in_table = conn.execute(
            select(func.count()).select_from(products).where(products.c.slice_index == index)
        ).scalar_one()
        audited = conn.execute(
            select(func.coalesce(func.sum(data_loads.c.rows_inserted), 0)).where(
                data_loads.c.slice_index == index, data_loads.c.status == "completed"
            )
        ).scalar_one()
    return int(in_table), int(audited)


@dg.asset(
    group_name="ingestion",
    kinds={"sql", "pandas"},
    deps=[product_catalog],
    check_specs=[dg.AssetCheckSpec(SLICE_AUDIT_CHECK, asset="product_slice")],
)
def product_slice(
    context: dg.AssetExecutionContext, catalog: CatalogResource, database: DatabaseResource
) -> dg.MaterializeResult:
    """This week's slice of the pool, loaded into the product database.

    40 % of the pool in the first week, then 3 % more each week up to 100 %. One transaction and
    one audit row (`data_loads`) per load; re-running a week adds no duplicate rows.
    """
    index = Calendar.from_settings().slice_index(context.partition_key)
    manifest = cat.read_manifest(catalog.directory)
    pool = cat.read_pool(catalog.directory)
    result = load_slice(
        database.engine,
        pool,
        slice_index=index,
        partition_key=context.partition_key,
        catalog_hash=str(manifest["pool_hash"]),
        initial_pct=catalog.initial_pct,
        increment_pct=catalog.increment_pct,
        progress=context.log.info,
    )
    in_table, audited = audit_matches(database, context.partition_key)
    return dg.MaterializeResult(
        metadata={
            "batch_id": result.batch_id,
            "slice_index": index,
            "loaded_pct": dg.MetadataValue.float(result.target_pct),
            "rows_inserted": result.rows_inserted,
            "rows_already_present": result.rows_skipped,
            "rows_total": result.rows_total,
            "duration_s": dg.MetadataValue.float(round(result.duration_s, 3)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=SLICE_AUDIT_CHECK,
                passed=in_table == audited,
                metadata={"rows_in_products": in_table, "rows_in_audit": audited},
            )
        ],
    )
