"""Temperature scaling of the fitted classifier, and the expected calibration error.

One scalar ``T`` is fitted on the validation split (the NLL of ``softmax(z / T)``, minimised
by ``scipy.optimize.minimize_scalar``) and folded into the multinomial LogisticRegression
(``coef_ / T``, ``intercept_ / T``). The registered Pipeline, the lean scorer and every other
consumer then give the calibrated probabilities with no change of their own; the ranking of
the classes, hence every prediction, is unchanged. Rationale: docs/model_health.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from rakuten_assets.training.model import INPUT_COLUMNS

#: Equal-width confidence bins of the expected calibration error.
ECE_BINS = 15
#: Search interval of the temperature: far wider than any value seen in practice (0.3 .. 3).
TEMPERATURE_BOUNDS = (0.05, 20.0)


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and what it did to the validation split."""

    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    rows: int

    def metrics(self) -> dict[str, float]:
        """MLflow metric names and values."""
        return {
            "calibration_temperature": self.temperature,
            "val_ece_before_calibration": self.ece_before,
            "val_ece": self.ece_after,
            "val_nll_before_calibration": self.nll_before,
            "val_nll": self.nll_after,
        }


def expected_calibration_error(
    proba: npt.ArrayLike, correct: npt.ArrayLike, bins: int = ECE_BINS
) -> float:
    """Top-label ECE: sum over confidence bins of |accuracy - mean confidence| x bin share.

    ``proba`` is the top-1 probability of each prediction (or the full probability matrix, of
    which the row maximum is taken); ``correct`` says whether that prediction was right.
    """
    p = np.asarray(proba, dtype=np.float64)
    confidence = p.max(axis=1) if p.ndim == 2 else p
    hits = np.asarray(correct, dtype=np.float64)
    if confidence.shape != hits.shape:
        raise ValueError(f"{confidence.shape[0]} confidences for {hits.shape[0]} outcomes")
    if confidence.size == 0:
        raise ValueError("the expected calibration error of no prediction is undefined")
    # Bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 goes to bin 0.
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.bincount(which, weights=hits - confidence, minlength=bins)
    return float(np.abs(gap).sum() / confidence.size)


def _classifier(pipeline: Any) -> LogisticRegression:
    """The pipeline's LogisticRegression, checked to be a fitted multinomial (softmax) one."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"temperature scaling needs an sklearn Pipeline, got {type(pipeline)}")
    classifier = pipeline.steps[-1][1]
    if not isinstance(classifier, LogisticRegression) or not hasattr(classifier, "coef_"):
        raise TypeError(
            f"temperature scaling folds T into a fitted LogisticRegression, "
            f"not a {type(classifier).__name__}"
        )
    if len(classifier.classes_) <= 2:
        # A binary LogReg is a sigmoid of one score: softmax(z / T) does not describe it.
        raise ValueError("temperature scaling of a binary LogisticRegression is not supported")
    return classifier


def _logits(pipeline: Pipeline, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    features = pipeline[:-1].transform(frame[list(INPUT_COLUMNS)])
    return np.asarray(pipeline.steps[-1][1].decision_function(features), dtype=np.float64)


def _nll(logits: npt.NDArray[np.float64], target: npt.NDArray[np.int64], t: float) -> float:
    return float(-log_softmax(logits / t, axis=1)[np.arange(target.size), target].mean())


def fit_temperature(logits: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """The ``T`` that minimises the NLL of ``softmax(logits / T)`` for class indices ``target``."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(target, dtype=np.int64)
    if y.size == 0:
        raise ValueError("cannot fit a temperature on no validation row")
    result = minimize_scalar(lambda t: _nll(z, y, t), bounds=TEMPERATURE_BOUNDS, method="bounded")
    return float(result.x)


def calibrate(pipeline: Any, validation: pd.DataFrame, label: str = "prdtypecode") -> Calibration:
    """Fit ``T`` on ``validation`` and fold it into ``pipeline``'s classifier (in place).

    Validation rows of a class the model never saw cannot be scored by it and are left out.
    Raises if the classifier is not a multinomial LogisticRegression, or if its probabilities
    are not the softmax of its decision function (the premise of folding ``T`` in).
    """
    classifier = _classifier(pipeline)
    classes = np.asarray(classifier.classes_)
    known = validation[validation[label].isin(classes)]
    if known.empty:
        raise ValueError(
            f"no validation row of a class the model knows ({len(validation)} rows in all)"
        )
    logits = _logits(pipeline, known)
    proba = np.asarray(pipeline.predict_proba(known[list(INPUT_COLUMNS)]))
    if not np.allclose(proba, softmax(logits, axis=1), atol=1e-6):
        raise ValueError("the classifier's probabilities are not softmax(decision_function)")
    target = np.searchsorted(classes, known[label].to_numpy())
    temperature = fit_temperature(logits, target)
    classifier.coef_ = classifier.coef_ / temperature
    classifier.intercept_ = classifier.intercept_ / temperature
    predicted = logits.argmax(axis=1)
    correct = predicted == target
    return Calibration(
        temperature=temperature,
        ece_before=expected_calibration_error(softmax(logits, axis=1), correct),
        ece_after=expected_calibration_error(softmax(logits / temperature, axis=1), correct),
        nll_before=_nll(logits, target, 1.0),
        nll_after=_nll(logits, target, temperature),
        rows=len(known),
    )
