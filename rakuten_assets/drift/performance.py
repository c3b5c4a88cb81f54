"""Label-free performance estimation (CBPE) from the logged top-k probabilities of a day.

With calibrated probabilities (``training/calibration.py``) the top-1 probability of a
prediction is the chance that it is right, and the top-k row approximates the distribution of
the true class. Expected accuracy is the mean top-1 probability; expected weighted F1 comes from
the expected per-class confusion counts (TP, FP, FN summed from the probability rows). The band
draws true classes from those rows (Monte Carlo) and takes the central quantiles of the realised
accuracy and weighted F1: the sampling uncertainty of a day of this size, *given* calibration.
The probability mass beyond the logged top-k is spread evenly over the other known classes.
Why and when to trust it: docs/model_health.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, select

from rakuten_assets.categories import CATEGORY_CODES
from rakuten_assets.db import prediction_log
from rakuten_assets.drift.windows import day_bounds

#: Central probability of the band.
BAND_LEVEL = 0.95
#: Monte Carlo draws of the band (deterministic: seeded).
BAND_DRAWS = 200
BAND_SEED = 20_240_601

TopK = Sequence[Sequence[float]]  # [[code, probability], ...] best first, as logged


@dataclass(frozen=True)
class PerformanceEstimate:
    """Expected accuracy and weighted F1 of a set of predictions, each with its band."""

    rows: int
    expected_accuracy: float
    accuracy_low: float
    accuracy_high: float
    expected_weighted_f1: float
    weighted_f1_low: float
    weighted_f1_high: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> PerformanceEstimate:
        return cls(**values)


def probability_matrix(
    top_k: Sequence[TopK], classes: Sequence[int] = CATEGORY_CODES
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], list[int]]:
    """Rows of full class probabilities from top-k rows, the predicted column of each, the classes.

    Codes absent from ``classes`` are added (a model may know a code the catalog list does not).
    """
    codes = sorted({*classes, *(int(code) for row in top_k for code, _ in row)})
    column = {code: j for j, code in enumerate(codes)}
    p = np.zeros((len(top_k), len(codes)))
    predicted = np.empty(len(top_k), dtype=np.int64)
    for i, row in enumerate(top_k):
        if not row:
            raise ValueError(f"prediction {i} has an empty top-k")
        for code, probability in row:
            p[i, column[int(code)]] = probability
        predicted[i] = column[int(row[0][0])]
    logged = p.sum(axis=1)
    rest = np.clip(1.0 - logged, 0.0, None) / np.maximum(len(codes) - (p > 0).sum(axis=1), 1)
    p = np.where(p > 0, p, rest[:, None])
    p /= p.sum(axis=1, keepdims=True)  # rounding of the logged probabilities
    return p, predicted, codes


def _weighted_f1(tp: np.ndarray, predicted: np.ndarray, actual: np.ndarray, rows: int) -> Any:
    """Weighted F1 from per-class TP, predicted and actual counts (last axis: classes)."""
    denominator = predicted + actual
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)
    return (actual * f1).sum(axis=-1) / rows


def estimate(
    top_k: Sequence[TopK],
    classes: Sequence[int] = CATEGORY_CODES,
    *,
    draws: int = BAND_DRAWS,
    seed: int = BAND_SEED,
) -> PerformanceEstimate:
    """The CBPE estimate of predictions given by their logged top-k probabilities."""
    if not top_k:
        raise ValueError("no prediction to estimate the performance of")
    p, predicted, _ = probability_matrix(top_k, classes)
    n, c = p.shape
    rows = np.arange(n)
    top1 = p[rows, predicted]
    # Expected confusion counts per class: TP where the prediction is c and right; predicted
    # counts are exact; actual counts (support) are the column sums of the probabilities.
    tp = np.bincount(predicted, weights=top1, minlength=c)
    predicted_counts = np.bincount(predicted, minlength=c).astype(float)
    actual = p.sum(axis=0)
    expected_f1 = float(_weighted_f1(tp, predicted_counts, actual, n))

    # Band: true classes drawn from each row, one draw at a time (memory of one n x c array
    # whatever the number of draws: a busy day has 100k predictions).
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(p, axis=1)
    cumulative[:, -1] = 1.0
    accuracy_draws = np.empty(draws)
    f1_draws = np.empty(draws)
    for d in range(draws):
        truth = (rng.random((n, 1)) > cumulative).sum(axis=1)
        right = truth == predicted
        tp_draw = np.bincount(truth[right], minlength=c)
        actual_draw = np.bincount(truth, minlength=c)
        f1_draws[d] = _weighted_f1(tp_draw, predicted_counts, actual_draw, n)
        accuracy_draws[d] = right.mean()
    tail = (1 - BAND_LEVEL) / 2 * 100
    acc_low, acc_high = np.percentile(accuracy_draws, [tail, 100 - tail])
    f1_low, f1_high = np.percentile(f1_draws, [tail, 100 - tail])
    return PerformanceEstimate(
        rows=n,
        expected_accuracy=round(float(top1.mean()), 6),
        accuracy_low=round(float(acc_low), 6),
        accuracy_high=round(float(acc_high), 6),
        expected_weighted_f1=round(expected_f1, 6),
        weighted_f1_low=round(float(f1_low), 6),
        weighted_f1_high=round(float(f1_high), 6),
    )


def day_top_k(engine: Engine, day: date, timezone: str) -> dict[int, list[TopK]]:
    """The logged top-k rows of one local day, by model version."""
    start, end = day_bounds(day, timezone)
    query = select(prediction_log.c.model_version, prediction_log.c.top_k).where(
        prediction_log.c.predicted_at >= start, prediction_log.c.predicted_at < end
    )
    by_version: dict[int, list[TopK]] = {}
    with engine.connect() as conn:
        for version, top_k in conn.execute(query):
            by_version.setdefault(int(version), []).append(top_k)
    return by_version


@dataclass(frozen=True)
class DayEstimate:
    """The estimate of one day's predictions, all model versions together and per version."""

    day: date
    overall: PerformanceEstimate
    by_model_version: Mapping[int, PerformanceEstimate]

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "overall": self.overall.to_json(),
            "by_model_version": {str(v): e.to_json() for v, e in self.by_model_version.items()},
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> DayEstimate:
        return cls(
            day=date.fromisoformat(values["day"]),
            overall=PerformanceEstimate.from_json(values["overall"]),
            by_model_version={
                int(v): PerformanceEstimate.from_json(e)
                for v, e in values["by_model_version"].items()
            },
        )


def estimate_day(engine: Engine, day: date, timezone: str, min_rows: int) -> DayEstimate | None:
    """The estimate of ``day`` (a local day of ``timezone``); None below ``min_rows`` predictions.

    A model version is estimated on its own when it served at least ``min_rows`` of the day.
    """
    by_version = day_top_k(engine, day, timezone)
    everything = [row for rows in by_version.values() for row in rows]
    if len(everything) < max(min_rows, 1):
        return None
    return DayEstimate(
        day=day,
        overall=estimate(everything),
        by_model_version={
            version: estimate(rows)
            for version, rows in sorted(by_version.items())
            if len(rows) >= min_rows
        },
    )
