"""Scores on the golden holdout, and stratified cross-validation for `rakuten evaluate`."""

from __future__ import annotations

import time
from collections.abc import Callable
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
from sklearn.pipeline import Pipeline

from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.training.model import INPUT_COLUMNS, build_original_pipeline


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


Fitter = Callable[[pd.DataFrame], Any]


def fit_original(train: pd.DataFrame, label: str = "prdtypecode") -> Pipeline:
    """The original system's configuration fitted on ``train``: the baseline of comparisons."""
    return build_original_pipeline().fit(train[list(INPUT_COLUMNS)], train[label].to_numpy())


def stratified_folds(
    frame: pd.DataFrame, folds: int, seed: int, label: str = "prdtypecode"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) positions of a shuffled stratified k-fold; the same for every model."""
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")
    counts = frame[label].value_counts()
    if counts.min() < folds:
        raise ValueError(
            f"every class needs at least {folds} rows for {folds}-fold CV; "
            f"too few for {counts[counts < folds].to_dict()}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(frame, frame[label]))


@dataclass
class CrossValidation:
    """Scores averaged over the folds (``summary``) and of the pooled out-of-fold predictions.

    ``pooled`` scores every row once, by the model that did not see it: the per-class table,
    the confusions and the confusion matrix come from it.
    """

    summary: dict[str, Any]
    pooled: Scores


def cross_validate(
    frame: pd.DataFrame,
    fitter: Fitter,
    folds: int = 5,
    seed: int = 42,
    label: str = "prdtypecode",
) -> CrossValidation:
    """Stratified k-fold CV of ``fitter`` (train frame -> fitted model) on a labelled frame."""
    splits = stratified_folds(frame, folds, seed, label)
    fold_scores: list[Scores] = []
    predicted = np.zeros(len(frame), dtype="int64")
    started, cpu = time.perf_counter(), time.process_time()
    for train_idx, test_idx in splits:
        model = fitter(frame.iloc[train_idx])
        test = frame.iloc[test_idx]
        predicted[test_idx] = np.asarray(model.predict(test[list(INPUT_COLUMNS)])).astype("int64")
        fold_scores.append(score(test[label].to_numpy(), predicted[test_idx]))
    weighted = [s.weighted_f1 for s in fold_scores]
    summary = {
        "weighted_f1": round(float(np.mean(weighted)), 4),
        "weighted_f1_std": round(float(np.std(weighted)), 4),
        "macro_f1": round(float(np.mean([s.macro_f1 for s in fold_scores])), 4),
        "accuracy": round(float(np.mean([s.accuracy for s in fold_scores])), 4),
        "folds": folds,
        "rows": len(frame),
        "classes": int(frame[label].nunique()),
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
    }
    return CrossValidation(summary=summary, pooled=score(frame[label].to_numpy(), predicted))


def per_class_table(scores: Scores) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class, with its category name."""
    matrix = np.asarray(scores.confusion, dtype=float).reshape(len(scores.labels), -1)
    hits = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    return pd.DataFrame(
        {
            "prdtypecode": scores.labels,
            "category": [CATEGORY_LABELS.get(code, "?") for code in scores.labels],
            "precision": np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0),
            "recall": np.divide(hits, support, out=np.zeros_like(hits), where=support > 0),
            "f1": [scores.per_class_f1.get(code, 0.0) for code in scores.labels],
            "support": support.astype("int64"),
        }
    )


def top_confusions(scores: Scores, top: int = 10) -> pd.DataFrame:
    """The ``top`` most frequent (true, predicted) mistakes, most rows first."""
    pairs = sorted(
        (
            (count, scores.labels[i], scores.labels[j])
            for i, row in enumerate(scores.confusion)
            for j, count in enumerate(row)
            if i != j and count
        ),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )[:top]
    return pd.DataFrame(
        {
            "true": [f"{t} {CATEGORY_LABELS.get(t, '?')}" for _, t, _ in pairs],
            "predicted as": [f"{p} {CATEGORY_LABELS.get(p, '?')}" for _, _, p in pairs],
            "rows": [int(count) for count, _, _ in pairs],
        }
    )
