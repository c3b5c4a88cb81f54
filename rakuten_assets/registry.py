"""MLflow tracking and the `rakuten_classifier` registry: logging, the promotion gate, rollback
and roll-forward.

Production is the version the alias ``production`` points at. Every version also carries its
stage as the version tag ``stage`` (Production, Staging, Archived, None), and every decision is
a row of ``model_promotions``. Rollback goes to the previous Production version of that history,
never to a version that was rejected.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline
from sqlalchemy import Connection, Engine, func, insert, select

from rakuten_assets.db import model_promotions
from rakuten_assets.settings import PROJECT_ROOT
from rakuten_assets.training.evaluation import Scores, score_model
from rakuten_assets.training.model import INPUT_COLUMNS

PRODUCTION_ALIAS = "production"
STAGE_TAG = "stage"


class Stage:
    PRODUCTION = "Production"
    STAGING = "Staging"
    ARCHIVED = "Archived"
    NONE = "None"


def configure(tracking_uri: str) -> MlflowClient:
    """Point the mlflow module and a client at the tracking server / store (also the registry)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    """The experiment id, creating it (with a local artifact root for file stores) if needed."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = artifact_root.resolve().as_uri() if artifact_root is not None else None
    return str(client.create_experiment(name, artifact_location=location))


def git_sha() -> str:
    """The commit the code was trained from, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def confusion_figure(scores: Scores, labels: dict[int, str] | None = None) -> Any:
    """A confusion-matrix heat map (row-normalised) as a matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    matrix = np.asarray(scores.confusion, dtype=float)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(11, 9))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ticks = [str(c) for c in scores.labels]
    ax.set_xticks(range(len(ticks)), ticks, rotation=90, fontsize=7)
    ax.set_yticks(range(len(ticks)), ticks, fontsize=7)
    ax.set_xlabel("predicted prdtypecode")
    ax.set_ylabel("true prdtypecode")
    ax.set_title(f"Confusion matrix (row-normalised), weighted F1 {scores.weighted_f1:.4f}")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def log_confusion_matrix(run_id: str, scores: Scores, artifact_file: str) -> None:
    """Render the confusion matrix, log it as an image of ``run_id``, and free the figure."""
    import matplotlib.pyplot as plt

    figure = confusion_figure(scores)
    try:
        MlflowClient().log_figure(run_id, figure, artifact_file)
    finally:
        plt.close(figure)


def write_confusion_png(scores: Scores, path: Path) -> None:
    """Render the confusion matrix of ``scores`` as a PNG at ``path`` (parents created)."""
    import matplotlib.pyplot as plt

    figure = confusion_figure(scores)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


@dataclass(frozen=True)
class RegisteredCandidate:
    version: int
    run_id: str
    model_uri: str


def log_candidate(
    *,
    model: Pipeline,
    model_name: str,
    params: dict[str, Any],
    validation: Scores,
    input_example: pd.DataFrame,
    data_version: dict[str, Any],
    train_seconds: float,
) -> RegisteredCandidate:
    """Log one training into the *active* MLflow run and register it as a new Staging version."""
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_candidate needs an active MLflow run (mlflow.start_run)")
    mlflow.log_params({k: str(v) for k, v in params.items()})
    mlflow.log_metrics(
        {
            "val_weighted_f1": validation.weighted_f1,
            "val_macro_f1": validation.macro_f1,
            "val_accuracy": validation.accuracy,
            "train_seconds": train_seconds,
            "train_rows": float(data_version["train_rows"]),
        }
    )
    mlflow.set_tags(
        {
            "git_sha": git_sha(),
            "data.batch_id": str(data_version["batch_id"]),
            "data.dataset_hash": str(data_version["dataset_hash"]),
            "data.partition_key": str(data_version["partition_key"]),
            "data.loaded_pct": str(data_version["loaded_pct"]),
        }
    )
    mlflow.log_text(validation.report, "validation/classification_report.txt")
    mlflow.log_dict(
        {str(k): v for k, v in validation.per_class_f1.items()}, "validation/per_class_f1.json"
    )
    log_confusion_matrix(run.info.run_id, validation, "validation/confusion_matrix.png")
    example = input_example[list(INPUT_COLUMNS)].head(3).reset_index(drop=True)
    signature = infer_signature(example, model.predict(example))
    # The cloudpickle choice is deliberate (see below); its generic warning is noise in every run.
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=model_name,
        code_paths=[str(PROJECT_ROOT / "rakuten_assets")],
        # cloudpickle, not skops: skops took 7 s to save and 2 s to load our TF-IDF vocabulary
        # (20k rows), which would dominate the weekly run and the API's hot reload. The
        # registry is written only by our pipeline, so its artifacts are trusted.
        serialization_format="cloudpickle",
        pip_requirements=_pip_requirements(),
    )
    version = int(info.registered_model_version)
    client = MlflowClient()
    client.set_model_version_tag(model_name, str(version), STAGE_TAG, Stage.STAGING)
    client.set_model_version_tag(model_name, str(version), "data_version", json.dumps(data_version))
    return RegisteredCandidate(version=version, run_id=run.info.run_id, model_uri=info.model_uri)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "pandas", "numpy", "scipy")]


def production_version(client: MlflowClient, model_name: str) -> ModelVersion | None:
    """The version the ``production`` alias points at, or None when there is none yet."""
    try:
        return client.get_model_version_by_alias(model_name, PRODUCTION_ALIAS)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def load_model(model_name: str, version: int) -> Any:
    return mlflow.sklearn.load_model(f"models:/{model_name}/{version}")


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(
    candidate_f1: float,
    production_f1: float | None,
    threshold: float,
    *,
    shadow: Mapping[str, Any] | None = None,
    min_agreement: float | None = None,
) -> Decision:
    """The promotion gate: weighted F1 >= threshold and strictly better than Production.

    With ``min_agreement`` (SHADOW_MIN_AGREEMENT) and a Production model, the candidate must
    also agree with it on at least that share of the captured traffic (``shadow``, a
    ``ShadowReport.to_json()``).
    """
    decision = _decide_f1(candidate_f1, production_f1, threshold)
    if not decision.promote or min_agreement is None or production_f1 is None:
        return decision
    if shadow is None or shadow.get("agreement") is None:
        return Decision(
            False,
            f"SHADOW_MIN_AGREEMENT is {min_agreement:.2f} but no captured traffic was "
            "shadow-scored against Production (turn CAPTURE_INPUTS on, or unset it)",
        )
    agreement, rows = float(shadow["agreement"]), int(shadow["rows"])
    if agreement < min_agreement:
        return Decision(
            False,
            f"{decision.reason}, but its agreement with Production on {rows} captured "
            f"predictions, {agreement:.4f}, is below SHADOW_MIN_AGREEMENT {min_agreement:.2f}",
        )
    return Decision(
        True,
        f"{decision.reason}; agreement with Production {agreement:.4f} >= "
        f"{min_agreement:.2f} on {rows} captured predictions",
    )


def _decide_f1(candidate_f1: float, production_f1: float | None, threshold: float) -> Decision:
    if candidate_f1 < threshold:
        return Decision(
            False, f"weighted F1 {candidate_f1:.4f} is below the threshold {threshold:.2f}"
        )
    if production_f1 is None:
        return Decision(
            True,
            f"weighted F1 {candidate_f1:.4f} >= {threshold:.2f} and no Production model exists",
        )
    if candidate_f1 > production_f1:
        return Decision(
            True,
            f"weighted F1 {candidate_f1:.4f} >= {threshold:.2f} and better than Production "
            f"({production_f1:.4f}) on the same golden holdout",
        )
    return Decision(
        False,
        f"weighted F1 {candidate_f1:.4f} is not better than Production ({production_f1:.4f}) "
        "on the same golden holdout",
    )


@dataclass(frozen=True)
class HoldoutScores:
    """A candidate and the current Production scored on the same golden holdout."""

    candidate_version: int
    production_version: int | None
    candidate: Scores
    production: Scores | None


def score_against_production(
    client: MlflowClient, model_name: str, version: int, holdout: pd.DataFrame
) -> HoldoutScores:
    """Score ``version`` and the current Production (unless it is ``version``) on ``holdout``."""
    candidate = score_model(load_model(model_name, version), holdout)
    current = production_version(client, model_name)
    production: Scores | None = None
    if current is not None and int(current.version) != version:
        production = score_model(load_model(model_name, int(current.version)), holdout)
    return HoldoutScores(
        candidate_version=version,
        production_version=int(current.version) if current is not None else None,
        candidate=candidate,
        production=production,
    )


@dataclass(frozen=True)
class GateEvidence:
    """What the promotion gate decides on: both versions scored on the same golden holdout."""

    candidate_version: int
    production_version: int | None
    candidate_weighted_f1: float
    production_weighted_f1: float | None
    holdout_hash: str | None = None
    mlflow_run_id: str | None = None
    #: The shadow scoring on captured traffic (``ShadowReport.to_json()``), when there was any.
    shadow: Mapping[str, Any] | None = None

    @classmethod
    def from_evaluation(cls, evaluation: Mapping[str, Any]) -> GateEvidence:
        """From the value of the `model_evaluation` asset."""
        production = evaluation.get("production") or {}
        return cls(
            candidate_version=int(evaluation["candidate_version"]),
            production_version=evaluation["production_version"],
            candidate_weighted_f1=float(evaluation["candidate"]["weighted_f1"]),
            production_weighted_f1=production.get("weighted_f1"),
            holdout_hash=evaluation.get("holdout_hash"),
            mlflow_run_id=evaluation.get("run_id"),
            shadow=evaluation.get("shadow"),
        )


@dataclass(frozen=True)
class GateRun:
    """One run of the promotion gate: its threshold, who runs it, and for which week / run."""

    threshold: float
    actor: str
    partition_key: str | None = None
    dagster_run_id: str | None = None
    #: SHADOW_MIN_AGREEMENT: the least agreement with Production on captured traffic, or None.
    min_agreement: float | None = None


def _decision_row(
    model_name: str, evidence: GateEvidence, gate: GateRun, decision: str, reason: str
) -> dict[str, Any]:
    return {
        "model_name": model_name,
        "candidate_version": evidence.candidate_version,
        "production_version": evidence.production_version,
        "candidate_weighted_f1": evidence.candidate_weighted_f1,
        "production_weighted_f1": evidence.production_weighted_f1,
        "threshold": gate.threshold,
        "decision": decision,
        "reason": reason,
        "partition_key": gate.partition_key,
        "holdout_hash": evidence.holdout_hash,
        "dagster_run_id": gate.dagster_run_id,
        "mlflow_run_id": evidence.mlflow_run_id,
        "actor": gate.actor,
        "shadow": dict(evidence.shadow) if evidence.shadow is not None else None,
    }


def record_rejection(
    client: MlflowClient,
    engine: Engine,
    model_name: str,
    evidence: GateEvidence,
    gate: GateRun,
    reason: str,
) -> int:
    """Tag the candidate with the reason and write the `rejected` decision row; returns its id."""
    reject(client, model_name, evidence.candidate_version, reason)
    return record_decision(engine, **_decision_row(model_name, evidence, gate, "rejected", reason))


def apply_gate(
    client: MlflowClient, engine: Engine, model_name: str, evidence: GateEvidence, gate: GateRun
) -> Decision:
    """Decide on ``evidence``; promote (alias, stage tags, `promoted` row) or reject the candidate.

    The version is tagged with the reason either way.
    """
    version = evidence.candidate_version
    decision = decide(
        evidence.candidate_weighted_f1,
        evidence.production_weighted_f1,
        gate.threshold,
        shadow=evidence.shadow,
        min_agreement=gate.min_agreement,
    )
    if decision.promote:
        row = _decision_row(model_name, evidence, gate, "promoted", decision.reason)
        # Under the promotion lock: a rollback at the same moment waits for this promotion (and
        # then rolls it back), instead of both reading the same history.
        with promotion_lock(engine, model_name) as conn:
            set_production(client, model_name, version)
            record_decision(conn, **row)
    else:
        record_rejection(client, engine, model_name, evidence, gate, decision.reason)
    client.set_model_version_tag(model_name, str(version), "promotion_reason", decision.reason)
    return decision


def set_production(client: MlflowClient, model_name: str, version: int) -> int | None:
    """Move the alias to ``version``; the previous Production becomes Archived. Returns it."""
    previous = production_version(client, model_name)
    # Tag first: whoever follows the alias finds a version already tagged Production.
    client.set_model_version_tag(model_name, str(version), STAGE_TAG, Stage.PRODUCTION)
    client.set_registered_model_alias(model_name, PRODUCTION_ALIAS, str(version))
    if previous is not None and int(previous.version) != version:
        client.set_model_version_tag(model_name, previous.version, STAGE_TAG, Stage.ARCHIVED)
        return int(previous.version)
    return None


def reject(client: MlflowClient, model_name: str, version: int, reason: str) -> None:
    client.set_model_version_tag(model_name, str(version), STAGE_TAG, Stage.NONE)
    client.set_model_version_tag(model_name, str(version), "rejection_reason", reason)


def record_decision(bind: Engine | Connection, **values: Any) -> int:
    """Insert one ``model_promotions`` row; returns its id.

    Pass the connection of :func:`promotion_lock` to record inside the locked transaction.
    """
    values.setdefault("decided_at", datetime.now(UTC))
    statement = insert(model_promotions).values(**values).returning(model_promotions.c.id)
    if isinstance(bind, Connection):
        return int(bind.execute(statement).scalar_one())
    with bind.begin() as conn:
        return int(conn.execute(statement).scalar_one())


def promotion_history(engine: Engine, model_name: str) -> pd.DataFrame:
    query = (
        select(model_promotions)
        .where(model_promotions.c.model_name == model_name)
        .order_by(model_promotions.c.decided_at, model_promotions.c.id)
    )
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def last_promotion_time(engine: Engine, model_name: str) -> datetime | None:
    """When a version of ``model_name`` was last promoted to Production (None: never)."""
    query = select(func.max(model_promotions.c.decided_at)).where(
        model_promotions.c.model_name == model_name,
        model_promotions.c.decision == "promoted",
    )
    with engine.connect() as conn:
        value = conn.execute(query).scalar_one()
    if value is None:
        return None
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Lineage:
    """Production versions so far (the last one serves) and those a rollback stepped back from
    (the last one is where a roll-forward returns); a new promotion forgets the latter."""

    production: tuple[int, ...]
    rolled_back: tuple[int, ...]


def _lineage(conn: Connection, model_name: str) -> Lineage:
    stack: list[int] = []
    undone: list[int] = []
    rows = conn.execute(
        select(model_promotions.c.decision, model_promotions.c.candidate_version)
        .where(model_promotions.c.model_name == model_name)
        .order_by(model_promotions.c.decided_at, model_promotions.c.id)
    )
    for decision, version in rows:
        if decision == "promoted":
            stack.append(int(version))
            undone.clear()
        elif decision == "rolled_back" and stack:
            undone.append(stack.pop())
        elif decision == "rolled_forward" and undone:
            stack.append(undone.pop())
    return Lineage(tuple(stack), tuple(undone))


def production_lineage(engine: Engine, model_name: str) -> list[int]:
    """The stack of Production versions: promotions push, rollbacks pop back to the one before."""
    with engine.connect() as conn:
        return list(_lineage(conn, model_name).production)


def rollback_target(engine: Engine, model_name: str) -> int | None:
    """The previous Production version in the promotion history (never a rejected candidate)."""
    stack = production_lineage(engine, model_name)
    return stack[-2] if len(stack) >= 2 else None


def roll_forward_target(engine: Engine, model_name: str) -> int | None:
    """The version the last rollback stepped back from, until a new promotion replaces it."""
    with engine.connect() as conn:
        undone = _lineage(conn, model_name).rolled_back
    return undone[-1] if undone else None


class ProductionChangedError(RuntimeError):
    """Production is no longer the version the caller based its rollback (roll-forward) on."""

    def __init__(
        self, model_name: str, expected: int, actual: int | None, action: str = "rollback"
    ) -> None:
        self.expected, self.actual = expected, actual
        now = f"v{actual}" if actual is not None else "no version"
        super().__init__(
            f"{model_name} Production is {now}, not v{expected} as the {action} request expected "
            f"(someone else promoted or rolled back meanwhile); check the current version and "
            f"retry if a {action} is still wanted"
        )


def _advisory_key(model_name: str) -> int:
    # pg_advisory_xact_lock takes a signed 64-bit key; one key per registered model.
    digest = hashlib.blake2b(f"rakuten_assets.promotion:{model_name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@contextmanager
def promotion_lock(engine: Engine, model_name: str) -> Iterator[Connection]:
    """A transaction that holds the promotion lock of ``model_name`` until it ends.

    Reading the promotion history, moving the alias and recording the decision must be one
    step: otherwise two concurrent rollbacks both read "v3 then v2" and both move to v2. On
    PostgreSQL the lock is a transaction-scoped advisory lock (released at commit, rollback or
    when the client dies); on SQLite ``BEGIN IMMEDIATE`` takes the database's write lock before
    the history is read, and other writers wait for it (``busy_timeout``). Everything read or
    written under the lock must go through the yielded connection.
    """
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(_advisory_key(model_name))))
            yield conn
        return
    if dialect != "sqlite":
        raise NotImplementedError(
            f"the promotion lock supports PostgreSQL and SQLite, not {dialect}"
        )
    # pysqlite opens its transactions lazily (a plain BEGIN at the first write); AUTOCOMMIT
    # hands transaction control to us so the write lock is taken before the first read.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


@dataclass(frozen=True)
class ProductionMove:
    """A rollback or roll-forward: Production went from ``previous_version`` to ``target_version``."""

    previous_version: int | None
    target_version: int


def _move_production(
    client: MlflowClient,
    engine: Engine,
    model_name: str,
    forward: bool,
    actor: str,
    reason: str,
    expected_version: int | None,
) -> ProductionMove:
    action = "roll-forward" if forward else "rollback"
    with promotion_lock(engine, model_name) as conn:
        lineage = _lineage(conn, model_name)
        if forward and not lineage.rolled_back:
            raise LookupError(
                f"no roll-forward target for {model_name}: no rollback since the last promotion"
            )
        if not forward and len(lineage.production) < 2:
            raise LookupError(
                f"no rollback target for {model_name}: the promotion history has fewer than two "
                "Production versions"
            )
        target = lineage.rolled_back[-1] if forward else lineage.production[-2]
        current = production_version(client, model_name)
        current_version = int(current.version) if current is not None else None
        if expected_version is not None and current_version != expected_version:
            raise ProductionChangedError(model_name, expected_version, current_version, action)
        # The row first: if MLflow fails below, the transaction takes the row back with it.
        conn.execute(
            insert(model_promotions).values(
                decided_at=datetime.now(UTC),
                model_name=model_name,
                candidate_version=target,
                production_version=current_version,
                decision="rolled_forward" if forward else "rolled_back",
                reason=reason,
                actor=actor,
            )
        )
        set_production(client, model_name, target)
    return ProductionMove(previous_version=current_version, target_version=target)


def rollback(
    client: MlflowClient,
    engine: Engine,
    model_name: str,
    *,
    actor: str,
    reason: str,
    expected_version: int | None = None,
) -> ProductionMove:
    """Move Production back to the previous Production version.

    Serialised by :func:`promotion_lock`, so concurrent rollbacks behave as if run one after
    the other (v3 -> v2, then v2 -> v1). With ``expected_version``, refuse
    (:class:`ProductionChangedError`) unless Production is still that version: a caller that
    saw v3 misbehave must not roll back v2 by accident.
    """
    return _move_production(client, engine, model_name, False, actor, reason, expected_version)


def roll_forward(
    client: MlflowClient,
    engine: Engine,
    model_name: str,
    *,
    actor: str,
    reason: str,
    expected_version: int | None = None,
) -> ProductionMove:
    """Undo the last rollback (after v3 -> v2 -> v1: v1 -> v2, then v2 -> v3).

    The same lock and ``expected_version`` semantics as :func:`rollback`; refused
    (:class:`LookupError`) when no rollback happened since the last promotion.
    """
    return _move_production(client, engine, model_name, True, actor, reason, expected_version)
