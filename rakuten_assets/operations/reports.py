"""The tables an operator looks at (CLI, API, control room): loads, promotion decisions, the
weekly summary, alerts with their actions. Built from the readers of each table's owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from rakuten_assets import registry
from rakuten_assets.data import loader
from rakuten_assets.drift import alerts as drift_alerts

LOAD_COLUMNS = (
    "partition_key",
    "slice_index",
    "target_pct",
    "rows_inserted",
    "rows_total",
    "status",
    "duration_s",
)
DECISION_COLUMNS = (
    "decided_at",
    "candidate_version",
    "production_version",
    "candidate_weighted_f1",
    "production_weighted_f1",
    "decision",
    "reason",
)


def load_history(engine: Engine, limit: int = 10) -> pd.DataFrame:
    """The newest load attempts (the `data_loads` audit), newest first."""
    history = loader.load_history(engine).head(limit).round({"duration_s": 2})
    return history[list(LOAD_COLUMNS)]


def promotion_history(engine: Engine, model_name: str, limit: int = 10) -> pd.DataFrame:
    """The latest promotion decisions (promoted, rejected, rolled back / forward), oldest first."""
    history = registry.promotion_history(engine, model_name).tail(limit)
    return history[list(DECISION_COLUMNS)].round(4)


@dataclass(frozen=True)
class ModelStatus:
    """Production now, and where a rollback or a roll-forward would take it."""

    production_version: int | None
    rollback_target: int | None
    roll_forward_target: int | None


def model_status(client: MlflowClient, engine: Engine, model_name: str) -> ModelStatus:
    current = registry.production_version(client, model_name)
    return ModelStatus(
        production_version=int(current.version) if current is not None else None,
        rollback_target=registry.rollback_target(engine, model_name),
        roll_forward_target=registry.roll_forward_target(engine, model_name),
    )


def _scores(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values).map(lambda v: f"{v:.4f}" if pd.notna(v) else "-")


def weekly_summary(engine: Engine, model_name: str, partition_keys: list[str]) -> pd.DataFrame:
    """One row per week: % loaded, rows, candidate / Production F1, decision and reason."""
    loads = loader.load_history(engine)
    loads = (
        loads[loads["status"] == "completed"]
        .sort_values("completed_at", kind="stable")
        .drop_duplicates("partition_key", keep="last")[
            ["partition_key", "target_pct", "rows_total"]
        ]
    )
    decisions = registry.promotion_history(engine, model_name)
    decisions = decisions[decisions["partition_key"].isin(partition_keys)].drop_duplicates(
        "partition_key", keep="last"
    )
    table = pd.DataFrame({"week": partition_keys})
    table = table.merge(loads, left_on="week", right_on="partition_key", how="left")
    table = table.merge(decisions, on="partition_key", how="left")
    return pd.DataFrame(
        {
            "week": table["week"],
            "% loaded": pd.to_numeric(table["target_pct"]),
            "rows": pd.to_numeric(table["rows_total"]).astype("Int64"),
            "candidate": table["candidate_version"].map(
                lambda v: f"v{int(v)}" if pd.notna(v) else "-"
            ),
            "candidate F1": _scores(table["candidate_weighted_f1"]),
            "Production F1": _scores(table["production_weighted_f1"]),
            "decision": table["decision"].fillna("-"),
            "reason": table["reason"].fillna("-"),
        }
    )


def alerts_with_actions(
    engine: Engine, *, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Alerts newest first, each with ``history``: the actions taken on it, oldest first."""
    return [
        {**alert, "history": drift_alerts.alert_history(engine, int(alert["id"]))}
        for alert in drift_alerts.list_alerts(engine, status=status, limit=limit)
    ]
