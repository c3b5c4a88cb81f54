"""The tables an operator looks at (CLI, API, control room): loads, promotion decisions, the
weekly summary, alerts with their actions. Built from the readers of each table's owner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from rakuten_assets import registry
from rakuten_assets.categories import CATEGORY_CODES, category_label
from rakuten_assets.data import catalog as cat
from rakuten_assets.data import loader
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift import storage as drift_storage
from rakuten_assets.operations import audit

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


def alert_with_actions(engine: Engine, alert_id: int) -> dict[str, Any]:
    """One alert with its ``history`` (oldest first); raises ``AlertNotFoundError``."""
    alert = drift_alerts.get_alert(engine, alert_id)
    history = drift_alerts.alert_history(engine, alert_id)
    return {**alert, "actions": len(history), "history": history}


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataOverview:
    """What is loaded: per-class counts (all 27 codes), imbalance, progress, holdout size."""

    #: Columns prdtypecode, label, rows; every known code, zero when none is loaded.
    classes: pd.DataFrame
    loaded_rows: int
    #: Largest class over smallest non-empty class (None when nothing is loaded).
    imbalance_ratio: float | None
    #: The newest completed load's percentage of the pool (0 when none).
    loaded_pct: float
    holdout_rows: int | None
    pool_rows: int | None


def data_overview(engine: Engine, catalog_dir: Path) -> DataOverview:
    counts = loader.class_counts(engine)
    classes = pd.DataFrame(
        {
            "prdtypecode": list(CATEGORY_CODES),
            "label": [category_label(c) for c in CATEGORY_CODES],
            "rows": [counts.get(c, 0) for c in CATEGORY_CODES],
        }
    )
    present = [n for n in counts.values() if n > 0]
    completed = loader.load_history(engine).query("status == 'completed'")
    try:
        manifest = cat.read_manifest(catalog_dir)
    except cat.CatalogError:
        manifest = {}
    return DataOverview(
        classes=classes,
        loaded_rows=sum(counts.values()),
        imbalance_ratio=max(present) / min(present) if present else None,
        loaded_pct=float(completed["target_pct"].max()) if not completed.empty else 0.0,
        holdout_rows=int(str(manifest["holdout_rows"])) if "holdout_rows" in manifest else None,
        pool_rows=int(str(manifest["pool_rows"])) if "pool_rows" in manifest else None,
    )


# --- drift ----------------------------------------------------------------------------------------

SIGNAL_COLUMNS = ("report_date", "signal", "psi", "test", "p_value", "severity", "flagged")


def drift_timeline(engine: Engine, days: int = 90) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last ``days`` reports: one row per report (date, status, severity, counts, driving
    signal), and one row per report and signal (PSI, test, p-value, severity), oldest first."""
    reports = list(reversed(drift_storage.latest_reports(engine, days)))
    per_report = pd.DataFrame(
        [
            {
                "report_date": r.report_date,
                "status": r.status,
                "severity": str(r.severity),
                "driving_signal": r.driving_signal,
                "current_count": r.current_count,
                "reference_count": r.reference_count,
            }
            for r in reports
        ]
    )
    per_signal = pd.DataFrame(
        [
            {
                "report_date": r.report_date,
                "signal": s.name,
                "psi": s.psi,
                "test": s.test,
                "p_value": s.p_value,
                "severity": str(s.severity),
                "flagged": s.flagged,
                "reference_count": s.reference_count,
                "current_count": s.current_count,
            }
            for r in reports
            for s in r.signals
        ]
    )
    return per_report, per_signal


# --- activity -------------------------------------------------------------------------------------

ACTIVITY_COLUMNS = ("when", "actor", "action", "door", "outcome", "target", "detail")


def activity(engine: Engine, limit: int = 100) -> pd.DataFrame:
    """Every operator action, newest first: the audited model and pipeline actions (with their
    door) and the actions on alerts (acknowledge, investigate, resolve, ...)."""
    moves = [
        {
            "when": a.requested_at,
            "actor": a.actor,
            "action": a.action,
            "door": a.door,
            "outcome": a.outcome,
            "target": f"v{a.target_version}" if a.target_version else (a.partition_key or "-"),
            "detail": a.detail or a.reason,
        }
        for a in audit.action_history(engine, limit)
    ]
    on_alerts = [
        {
            "when": row["taken_at"],
            "actor": row["actor"],
            "action": row["action"],
            # "-" for actions recorded before the door was kept (revision 0009).
            "door": row["door"] or "-",
            "outcome": "recorded",
            "target": f"alert #{row['alert_id']} ({row['signal']}, {row['severity']})",
            "detail": (row["details"] or {}).get("note")
            or (row["details"] or {}).get("reason", ""),
        }
        for row in drift_alerts.recent_actions(engine, limit)
    ]
    rows = moves + on_alerts
    if not rows:
        return pd.DataFrame(columns=list(ACTIVITY_COLUMNS))
    table = pd.DataFrame(rows)
    table["when"] = pd.to_datetime(table["when"], utc=True)
    return table.sort_values("when", ascending=False, kind="stable").head(limit)[
        list(ACTIVITY_COLUMNS)
    ]
