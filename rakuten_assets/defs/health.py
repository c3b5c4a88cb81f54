"""Model health in the weekly chain: Production scored on the new slice before training uses it."""

from datetime import date

import dagster as dg
import pandas as pd

from rakuten_assets import realised, registry
from rakuten_assets.calendar import Calendar
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data.loader import read_slice
from rakuten_assets.defs.ingestion import product_slice
from rakuten_assets.defs.resources import DatabaseResource, ModelRegistryResource
from rakuten_assets.drift.alerts import raise_realised_drop_alert
from rakuten_assets.tables import markdown_table


def per_class_markdown(performance: realised.SlicePerformance) -> str:
    worst_first = sorted(performance.per_class_f1.items(), key=lambda item: item[1])
    frame = pd.DataFrame(
        {
            "prdtypecode": [code for code, _ in worst_first],
            "category": [CATEGORY_LABELS.get(code, "?") for code, _ in worst_first],
            "F1 on the new slice": [f1 for _, f1 in worst_first],
        }
    )
    return markdown_table(frame, floatfmt=".3f")


@dg.asset(
    group_name="monitoring",
    kinds={"scikitlearn", "mlflow"},
    deps=[product_slice],
)
def production_realised_performance(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """How the current Production model really does on this week's new labelled rows.

    The slice was never seen by it: weighted and macro F1, accuracy, per-class F1, and the drop
    from its own golden-holdout score, stored in `realised_performance`. A drop beyond
    REALISED_F1_MAX_DROP raises an alert (same lifecycle as drift alerts). Runs before the
    week's training, which then uses these rows.
    """
    client = model_registry.client()
    current = registry.production_version(client, model_registry.model_name)
    if current is None:
        context.log.info("no Production model yet: nothing to score on the new slice")
        return dg.MaterializeResult(metadata={"status": "no Production model yet"})
    version = int(current.version)
    index = Calendar.from_settings().slice_index(context.partition_key)
    holdout = client.get_run(str(current.run_id)).data.metrics.get("holdout_weighted_f1")
    performance = realised.score_slice(
        registry.load_model(model_registry.model_name, version),
        read_slice(database.engine, index),
        partition_key=context.partition_key,
        slice_index=index,
        model_version=version,
        holdout_weighted_f1=holdout,
    )
    row_id = realised.store(database.engine, performance, dagster_run_id=context.run_id)
    alert = None
    if holdout is not None:
        alert = raise_realised_drop_alert(
            database.engine,
            slice_date=date.fromisoformat(context.partition_key),
            model_version=version,
            weighted_f1=performance.weighted_f1,
            holdout_weighted_f1=holdout,
            max_drop=model_registry.max_realised_f1_drop,
        )
    drop = performance.drop
    return dg.MaterializeResult(
        metadata={
            "status": "scored",
            "row_id": row_id,
            "model_version": version,
            "slice_rows": dg.MetadataValue.int(performance.rows),
            "weighted_f1": dg.MetadataValue.float(performance.weighted_f1),
            "macro_f1": dg.MetadataValue.float(performance.macro_f1),
            "accuracy": dg.MetadataValue.float(performance.accuracy),
            "holdout_weighted_f1": dg.MetadataValue.float(
                holdout if holdout is not None else float("nan")
            ),
            "drop_from_holdout": dg.MetadataValue.float(drop if drop is not None else float("nan")),
            "alert": f"#{alert['id']} {alert['severity']}" if alert else "none",
            "per_class_f1": dg.MetadataValue.md(per_class_markdown(performance)),
        }
    )
