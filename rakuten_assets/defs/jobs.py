"""Jobs and their schedules, built for one calendar (see ``definitions.build_defs``)."""

from typing import Any, NamedTuple

import dagster as dg

from rakuten_assets.calendar import (
    DAILY_DRIFT_JOB,
    DRIFT_ALERT,
    DRIFT_REPORT,
    PRODUCT_SLICE,
    WEEKLY_JOB,
    Calendar,
)
from rakuten_assets.defs.partitions import daily_partitions, weekly_partitions

#: Both jobs are chains (each step needs the one before), so a process per step would only add
#: start-ups: Dagster's default multiprocess executor imports MLflow and scikit-learn again in
#: every step. One process runs the steps in order; a failed step still fails its run.
SEQUENTIAL = dg.in_process_executor


class Jobs(NamedTuple):
    weekly: Any  # dagster does not export the unresolved job type
    daily: Any
    schedules: list[Any]  # unresolved until the Definitions bind the jobs


def build_weekly_job(cal: Calendar) -> Any:
    """A new definition each call: a resolved job keeps the resources it was first bound to."""
    return dg.define_asset_job(
        name=WEEKLY_JOB,
        selection=dg.AssetSelection.assets(PRODUCT_SLICE).downstream(),
        partitions_def=weekly_partitions(cal),
        description=(
            "Weekly: load the next catalog slice, train a candidate, score it and Production on "
            "the golden holdout, and promote it when it passes the gate."
        ),
        tags={"pipeline": "weekly"},
        executor_def=SEQUENTIAL,
    )


def build_daily_job(cal: Calendar) -> Any:
    return dg.define_asset_job(
        name=DAILY_DRIFT_JOB,
        selection=dg.AssetSelection.assets(DRIFT_REPORT, DRIFT_ALERT),
        partitions_def=daily_partitions(cal),
        description=(
            "Daily: compare the last 7 days of logged predictions with the 30 days before them, "
            "store the drift report, and raise alerts with the recommended action."
        ),
        tags={"pipeline": "daily"},
        executor_def=SEQUENTIAL,
    )


def build_jobs(cal: Calendar) -> Jobs:
    weekly, daily = build_weekly_job(cal), build_daily_job(cal)
    return Jobs(
        weekly=weekly,
        daily=daily,
        schedules=[
            # `5 7 * * 1` in Europe/Paris, derived from the partitions (Mondays 07:05).
            dg.build_schedule_from_partitioned_job(
                weekly,
                name=f"{WEEKLY_JOB}_schedule",
                description="Every Monday at 07:05 Europe/Paris, for the week that just ended.",
            ),
            # `0 1 * * *` in Europe/Paris, derived from the partitions: the report for day D
            # runs at 01:00 on D+1, when D is complete.
            dg.build_schedule_from_partitioned_job(
                daily,
                name=f"{DAILY_DRIFT_JOB}_schedule",
                description="Every day at 01:00 Europe/Paris, for the day that just ended.",
            ),
        ],
    )
