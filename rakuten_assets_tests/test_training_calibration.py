"""Temperature scaling: same predictions, truer confidences, the same in every scorer."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.training.calibration import (
    calibrate,
    expected_calibration_error,
    fit_temperature,
)
from rakuten_assets.training.evaluation import split_train_validation
from rakuten_assets.training.inference import lean_scorer
from rakuten_assets.training.model import INPUT_COLUMNS, ModelParams, fit


@pytest.fixture(scope="module")
def fitted(small_split: SplitCatalog) -> tuple[Pipeline, pd.DataFrame]:
    train, validation = split_train_validation(small_split.pool, 0.2, seed=42)
    return fit(train, ModelParams(max_iter=20)), validation


def _rows(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    return [
        (str(d), None if pd.isna(e) else str(e))
        for d, e in zip(frame["designation"], frame["description"], strict=True)
    ]


def test_calibration_keeps_the_ranking_and_lowers_the_holdout_ece(
    fitted: tuple[Pipeline, pd.DataFrame], small_split: SplitCatalog
) -> None:
    raw, validation = fitted
    model = copy.deepcopy(raw)
    report = calibrate(model, validation)

    holdout = small_split.holdout  # never seen by the fit nor by the calibration
    x, y = holdout[list(INPUT_COLUMNS)], holdout["prdtypecode"].to_numpy()
    before, after = raw.predict_proba(x), model.predict_proba(x)
    assert (
        np.argsort(-before, axis=1, kind="stable") == np.argsort(-after, axis=1, kind="stable")
    ).all()
    assert (raw.predict(x) == model.predict(x)).all()
    correct = model.classes_[after.argmax(axis=1)] == y
    ece_before = expected_calibration_error(before, correct)
    ece_after = expected_calibration_error(after, correct)
    # Balanced class weights and L2 make the raw model far too unsure (ECE ~0.33 here).
    assert ece_after < ece_before / 2
    assert report.ece_after < report.ece_before
    assert report.nll_after < report.nll_before
    assert report.rows == len(validation)
    assert report.metrics()["calibration_temperature"] == report.temperature


def test_the_lean_scorer_gives_the_calibrated_probabilities(
    fitted: tuple[Pipeline, pd.DataFrame], small_split: SplitCatalog
) -> None:
    model = copy.deepcopy(fitted[0])
    calibrate(model, fitted[1])
    frame = small_split.holdout
    expected = model.predict_proba(frame[list(INPUT_COLUMNS)])
    got = lean_scorer(model).predict_proba(_rows(frame))
    assert np.abs(got - expected).max() <= 1e-6
    assert np.abs(got - fitted[0].predict_proba(frame[list(INPUT_COLUMNS)])).max() > 0.05


def test_fit_temperature_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20_000, 5))
    # Labels drawn from softmax(logits / 2): the NLL-optimal temperature is 2.
    p = np.exp(logits / 2)
    p /= p.sum(axis=1, keepdims=True)
    target = (rng.random((20_000, 1)) > p.cumsum(axis=1)).sum(axis=1)
    assert fit_temperature(logits, target) == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize(
    ("confidence", "correct", "ece"),
    [
        ([0.9, 0.9, 0.9, 0.9], [1, 1, 1, 0], 0.15),  # one bin, 75 % right at 90 % confidence
        ([1.0, 0.5], [1, 0], 0.25),  # perfect bin + a 50 % bin with 0 % right
        ([0.0], [0], 0.0),  # a zero confidence lands in the first bin
        ([[0.2, 0.8], [0.6, 0.4]], [1, 1], 0.3),  # matrices: the row maximum is the confidence
    ],
)
def test_expected_calibration_error(
    confidence: list[float], correct: list[int], ece: float
) -> None:
    assert expected_calibration_error(confidence, correct) == pytest.approx(ece)


def test_calibration_refuses_what_it_cannot_calibrate(
    fitted: tuple[Pipeline, pd.DataFrame],
) -> None:
    with pytest.raises(ValueError, match="undefined"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match="no validation row"):
        calibrate(copy.deepcopy(fitted[0]), fitted[1].assign(prdtypecode=-1))
    with pytest.raises(TypeError, match="Pipeline"):
        calibrate(object(), fitted[1])
