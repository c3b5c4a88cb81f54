"""Scores on the golden holdout, and stratified cross-validation for `rakuten evaluate`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import StratifiedKFold, train_test_split

from rakuten_assets.training.model import INPUT_COLUMNS, ModelParams, fit


@dataclass
class Scores:
    """What a person compares models by; ``weighted_f1`` is the promotion gate metric."""

    weighted_f1: float
    macro_f1: float
    accuracy: float
    rows: int
    per_class_f1: dict[int, float] = field(default_factory=dict)
    labels: list[int] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    report: str = ""

    def summary(self) -> dict[str, float | int]:
        return {
            "weighted_f1": round(self.weighted_f1, 4),
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "rows": self.rows,
        }


def score(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return Scores(
        weighted_f1=float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        macro_f1=float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(y_true, y_pred)),
        rows=len(y_true),
        per_class_f1={int(c): float(f) for c, f in zip(labels, per_class, strict=True)},
        labels=[int(c) for c in labels],
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        report=str(classification_report(y_true, y_pred, labels=labels, zero_division=0, digits=4)),
    )


def score_model(model: Any, frame: pd.DataFrame, label: str = "prdtypecode") -> Scores:
    """Score a fitted pipeline (or an MLflow-loaded one) on a labelled frame."""
    if frame.empty:
        raise ValueError("cannot score a model on an empty frame")
    predictions = np.asarray(model.predict(frame[list(INPUT_COLUMNS)])).astype("int64")
    return score(frame[label].to_numpy(), predictions)


def split_train_validation(
    frame: pd.DataFrame, fraction: float, seed: int, label: str = "prdtypecode"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/validation split, done *before* any rebalancing."""
    counts = frame[label].value_counts()
    stratify = frame[label] if counts.min() >= 2 else None
    train, validation = train_test_split(
        frame, test_size=fraction, random_state=seed, stratify=stratify
    )
    return train, validation


def cross_validate(
    frame: pd.DataFrame, params: ModelParams, folds: int = 5, label: str = "prdtypecode"
) -> dict[str, Any]:
    """Stratified k-fold CV of the configured pipeline; one dict of averaged scores."""
    counts = frame[label].value_counts()
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")
    if counts.min() < folds:
        raise ValueError(
            f"every class needs at least {folds} rows for {folds}-fold CV; "
            f"too few for {counts[counts < folds].to_dict()}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    fold_scores: list[Scores] = []
    started = time.perf_counter()
    for train_idx, test_idx in splitter.split(frame, frame[label]):
        model = fit(frame.iloc[train_idx], params, label)
        fold_scores.append(score_model(model, frame.iloc[test_idx], label))
    weighted = [s.weighted_f1 for s in fold_scores]
    return {
        "weighted_f1": round(float(np.mean(weighted)), 4),
        "weighted_f1_std": round(float(np.std(weighted)), 4),
        "macro_f1": round(float(np.mean([s.macro_f1 for s in fold_scores])), 4),
        "accuracy": round(float(np.mean([s.accuracy for s in fold_scores])), 4),
        "folds": folds,
        "rows": len(frame),
        "classes": int(frame[label].nunique()),
        "seconds": round(time.perf_counter() - started, 1),
    }
