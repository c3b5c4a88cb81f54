"""The classifier: one sklearn Pipeline from raw listing fields to a product-type code."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from rakuten_assets.training.text import combine_fields

INPUT_COLUMNS = ("designation", "description")


class ModelParams(BaseModel):
    """Hyper-parameters of the production pipeline (defaults chosen by ``bench/model_selection.py``)."""

    word_ngram_max: int = Field(2, ge=1, le=3)
    word_min_df: int = Field(2, ge=1)
    char_ngram_min: int = Field(3, ge=1)
    char_ngram_max: int = Field(5, ge=1)
    char_max_features: int = Field(0, ge=0, description="0 disables char n-grams")
    C: float = Field(5.0, gt=0)
    max_iter: int = Field(300, ge=10)
    rebalance: Literal["class_weight", "oversample", "none"] = "class_weight"
    oversample_floor: float = Field(
        0.3, gt=0, le=1, description="oversample: each class up to this share of the largest"
    )
    seed: int = 42


def build_pipeline(params: ModelParams) -> Pipeline:
    """Cleaning (HTML, entities), word + character TF-IDF (case and accents folded), LogReg."""
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, params.word_ngram_max),
        min_df=params.word_min_df,
        sublinear_tf=True,
        strip_accents="unicode",
        lowercase=True,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float32,
    )
    features: list[tuple[str, TfidfVectorizer]] = [("word", word)]
    if params.char_max_features:
        features.append(
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(params.char_ngram_min, params.char_ngram_max),
                    max_features=params.char_max_features,
                    min_df=2,
                    sublinear_tf=True,
                    strip_accents="unicode",
                    lowercase=True,
                    dtype=np.float32,
                ),
            )
        )
    classifier = LogisticRegression(
        C=params.C,
        max_iter=params.max_iter,
        class_weight="balanced" if params.rebalance == "class_weight" else None,
        random_state=params.seed,
    )
    return Pipeline(
        [
            ("clean", FunctionTransformer(combine_fields)),
            ("features", FeatureUnion(features)),
            ("classifier", classifier),
        ]
    )


def build_original_pipeline() -> Pipeline:
    """The original system's configuration, kept as the baseline of the benchmarks."""
    return Pipeline(
        [
            ("clean", FunctionTransformer(combine_fields)),
            (
                "tfidf",
                TfidfVectorizer(
                    max_features=5000,
                    ngram_range=(1, 2),
                    min_df=2,
                    max_df=0.95,
                    strip_accents="unicode",
                    stop_words="english",
                ),
            ),
            ("classifier", LogisticRegression(C=1, max_iter=1000, class_weight="balanced")),
        ]
    )


def rebalance(train: pd.DataFrame, params: ModelParams, label: str = "prdtypecode") -> pd.DataFrame:
    """Random oversampling of small classes, applied to the *training* split only.

    With ``class_weight`` or ``none`` the frame is returned unchanged (the weights do the work).
    """
    if params.rebalance != "oversample" or train.empty:
        return train
    rng = np.random.default_rng(params.seed)
    counts = train[label].value_counts()
    floor = int(counts.max() * params.oversample_floor)
    extra: list[pd.DataFrame] = []
    for code, count in counts.items():
        if count < floor:
            rows = train[train[label] == code]
            picks = rng.integers(0, count, size=floor - count)
            extra.append(rows.iloc[picks])
    return pd.concat([train, *extra]) if extra else train


def fit(train: pd.DataFrame, params: ModelParams, label: str = "prdtypecode") -> Pipeline:
    """Rebalance the training frame, then fit a fresh pipeline on it."""
    if train[label].nunique() < 2:
        raise ValueError(
            f"training needs at least 2 classes; got {train[label].nunique()} in {len(train)} rows"
        )
    balanced = rebalance(train, params, label)
    pipeline = build_pipeline(params)
    pipeline.fit(balanced[list(INPUT_COLUMNS)], balanced[label].to_numpy())
    return pipeline
