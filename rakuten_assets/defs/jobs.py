"""Jobs and their schedules."""

from typing import Any

import dagster as dg

from rakuten_assets.calendar import (
    DAILY_DRIFT_JOB,
    DRIFT_ALERT,
    DRIFT_REPORT,
    PRODUCT_SLICE,
    WEEKLY_JOB,
)
from rakuten_assets.defs.drift import daily_partitions
from rakuten_assets.defs.partitions import weekly_partitions


def build_weekly_job() -> Any:  # dagster does not export the unresolved job type
    """A new definition each call: a resolved job keeps the resources it was first bound to."""
    return dg.define_asset_job(
        name=WEEKLY_JOB,
        selection=dg.AssetSelection.assets(PRODUCT_SLICE).downstream(),
        partitions_def=weekly_partitions(),
        description=(
            "Weekly: load the next catalog slice, train a candidate, score it and Production on "
            "the golden holdout, and promote it when it passes the gate."
        ),
        tags={"pipeline": "weekly"},
    )


weekly_ml_pipeline = build_weekly_job()

#: `5 7 * * 1` in Europe/Paris, derived from the partitions (Mondays 07:05).
weekly_ml_pipeline_schedule = dg.build_schedule_from_partitioned_job(
    weekly_ml_pipeline,
    name=f"{WEEKLY_JOB}_schedule",
    description="Every Monday at 07:05 Europe/Paris, for the week that just ended.",
)


daily_drift_check = dg.define_asset_job(
    name=DAILY_DRIFT_JOB,
    selection=dg.AssetSelection.assets(DRIFT_REPORT, DRIFT_ALERT),
    partitions_def=daily_partitions(),
    description=(
        "Daily: compare the last 7 days of logged predictions with the 30 days before them, "
        "store the drift report, and raise alerts with the recommended action."
    ),
    tags={"pipeline": "daily"},
)

#: `0 1 * * *` in Europe/Paris, derived from the partitions: the report for day D runs at 01:00
#: on D+1, when D is complete.
daily_drift_check_schedule = dg.build_schedule_from_partitioned_job(
    daily_drift_check,
    name=f"{DAILY_DRIFT_JOB}_schedule",
    description="Every day at 01:00 Europe/Paris, for the day that just ended.",
)
