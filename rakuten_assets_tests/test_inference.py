"""The lean scorer gives the fitted Pipeline's probabilities, and steps aside when it cannot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from rakuten_assets.data.catalog import SplitCatalog, normalise_catalog
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.training.inference import (
    LeanScorer,
    PipelineScorer,
    UnsupportedModel,
    lean_scorer,
    scorer_for,
)
from rakuten_assets.training.model import (
    INPUT_COLUMNS,
    ModelParams,
    build_original_pipeline,
    fit,
)
from rakuten_assets.training.text import combine_fields

LISTINGS = 10_000


@pytest.fixture(scope="module")
def models(small_split: SplitCatalog) -> dict[str, Any]:
    """Our pipeline under several configurations, and the original system's."""
    pool = small_split.pool
    original = build_original_pipeline().set_params(classifier__max_iter=100)
    return {
        "default": fit(pool, ModelParams(max_iter=20)),
        # Word bigrams, char 2-5-grams, a cut description, another solver.
        "variant": fit(
            pool,
            ModelParams(
                word_ngram_max=2,
                char_ngram_min=2,
                char_ngram_max=5,
                description_max_chars=200,
                solver="lbfgs",
                max_iter=30,
            ),
        ),
        "words only": fit(pool, ModelParams(char_max_features=0, max_iter=20)),
        "original": original.fit(pool[list(INPUT_COLUMNS)], pool["prdtypecode"].to_numpy()),
    }


@pytest.fixture(scope="module")
def listings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """10,000 raw listings three ways: synthetic, without descriptions, real-format CSV."""
    catalog = normalise_catalog(generate_catalog(LISTINGS, seed=99), "lean scorer listings")
    synthetic = catalog[list(INPUT_COLUMNS)]
    bare = synthetic.assign(description=None)
    # The challenge's X file: unnamed row index, a third of the descriptions missing (read
    # back as <NA>), markup and entities as merchants send them.
    raw = synthetic.copy()
    raw.loc[raw.index[::3], "description"] = None
    raw.loc[raw.index[1::3], "description"] = (
        "<p>" + raw["description"].iloc[1::3] + " &amp;eacute; <b>Neuf</b></p>"
    )
    path = tmp_path_factory.mktemp("real-format") / "X_train_update.csv"
    raw.to_csv(path)
    real = pd.read_csv(path, index_col=0, dtype={"description": "string"})
    return {"synthetic": synthetic, "no description": bare, "real format": real}


def _rows(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    return [
        (str(d), None if pd.isna(e) else str(e))
        for d, e in zip(frame["designation"], frame["description"], strict=True)
    ]


@pytest.mark.parametrize("model_name", ["default", "variant", "words only", "original"])
def test_lean_scorer_matches_the_pipeline_on_10000_listings(
    models: dict[str, Any], listings: dict[str, pd.DataFrame], model_name: str
) -> None:
    model = models[model_name]
    lean = lean_scorer(model)
    assert list(lean.classes_) == list(model.classes_)
    for name, frame in listings.items():
        expected = model.predict_proba(frame[list(INPUT_COLUMNS)])
        got = lean.predict_proba(_rows(frame))
        assert got.shape == expected.shape == (LISTINGS, len(model.classes_))
        assert np.abs(got - expected).max() <= 1e-6, name
        ranking = np.argsort(-got, axis=1, kind="stable")
        assert (ranking == np.argsort(-expected, axis=1, kind="stable")).all(), name


def test_one_row_scores_as_in_a_batch(models: dict[str, Any]) -> None:
    lean = lean_scorer(models["default"])
    rows = [("Coussin lin 45x45", None), ("Lot de 3 romans", "<p>Poche &amp; broché</p>")]
    batch = lean.predict_proba(rows)
    for i, row in enumerate(rows):
        assert np.abs(lean.predict_proba([row])[0] - batch[i]).max() <= 1e-12


def _fitted(pipeline: Pipeline) -> Pipeline:
    frame = pd.DataFrame(
        {"designation": [f"a {i % 3} b{i}" for i in range(30)], "description": ["x"] * 30}
    )
    return pipeline.fit(frame, [i % 3 for i in range(30)])


def _upper(frame: pd.DataFrame) -> np.ndarray:
    return frame["designation"].str.upper().to_numpy()


@pytest.mark.parametrize(
    ("pipeline", "reason"),
    [
        (
            Pipeline(
                [
                    ("clean", FunctionTransformer(_upper)),
                    ("tfidf", TfidfVectorizer()),
                    ("classifier", LogisticRegression()),
                ]
            ),
            "unknown cleaning function",
        ),
        (
            Pipeline(
                [
                    ("clean", FunctionTransformer(combine_fields)),
                    ("tfidf", TfidfVectorizer(analyzer=str.split)),
                    ("classifier", LogisticRegression()),
                ]
            ),
            "analyzer",
        ),
        (
            Pipeline(
                [
                    ("clean", FunctionTransformer(combine_fields)),
                    ("tfidf", TfidfVectorizer()),
                    ("classifier", LogisticRegression()),
                ]
            ),
            None,
        ),
    ],
)
def test_unrecognised_models_fall_back_to_the_pipeline(
    pipeline: Pipeline, reason: str | None
) -> None:
    model = _fitted(pipeline)
    rows = [("a 1 b2", "x"), ("a 2", None)]
    scorer = scorer_for(model)
    if reason is None:  # the control: the same shape of pipeline with a known cleaning step
        assert isinstance(scorer, LeanScorer)
    else:
        assert isinstance(scorer, PipelineScorer)
        assert reason in scorer.reason
        with pytest.raises(UnsupportedModel, match=reason):
            lean_scorer(model)
    frame = pd.DataFrame(rows, columns=list(INPUT_COLUMNS))
    assert np.abs(scorer.predict_proba(rows) - model.predict_proba(frame)).max() <= 1e-6


def test_a_binary_model_falls_back() -> None:
    frame = pd.DataFrame({"designation": ["rouge", "bleu"] * 10, "description": [""] * 20})
    model = Pipeline(
        [
            ("clean", FunctionTransformer(combine_fields)),
            ("tfidf", TfidfVectorizer()),
            ("classifier", LogisticRegression()),
        ]
    ).fit(frame, [0, 1] * 10)
    scorer = scorer_for(model)
    assert isinstance(scorer, PipelineScorer)
    assert "binary" in scorer.reason


def _expected_shares(model: Pipeline, frame: pd.DataFrame) -> list[float]:
    """The unknown-token share from the fitted objects themselves: the model's cleaning step,
    then its word vectorizer's analyzer on the field it reads; single words only."""
    fields = model.steps[0][1].transform(frame[list(INPUT_COLUMNS)])
    _, vectorizer, column = next(
        t for t in model.steps[1][1].transformers_ if getattr(t[1], "analyzer", "") == "word"
    )
    analyze = vectorizer.build_analyzer()
    shares = []
    for text in fields[column]:
        words = [term for term in analyze(text) if " " not in term]
        unknown = sum(1 for word in words if word not in vectorizer.vocabulary_)
        shares.append(round(unknown / len(words), 6) if words else 0.0)
    return shares


@pytest.mark.parametrize("model_name", ["default", "variant"])
def test_unknown_shares_come_from_the_word_blocks_own_analysis(
    models: dict[str, Any], listings: dict[str, pd.DataFrame], model_name: str
) -> None:
    model = models[model_name]
    lean = lean_scorer(model)
    frame = listings["real format"].head(500)
    expected = _expected_shares(model, frame)
    assert lean.unknown_shares(_rows(frame)) == expected
    probabilities, shares = lean.score(_rows(frame))
    assert shares == expected  # the scoring pass gives the same values
    assert np.array_equal(probabilities, lean.predict_proba(_rows(frame)))
    assert 0 < sum(expected) < len(expected)  # some words known, some not


def test_unknown_share_of_made_up_and_known_words(models: dict[str, Any]) -> None:
    lean = lean_scorer(models["default"])
    assert lean.words is not None
    vocabulary = lean.blocks[lean.words].vocabulary
    assert "coussin" in vocabulary
    assert "zzqxv" not in vocabulary
    assert lean.unknown_shares([("Coussin zzqxv", None), ("zzqxv", ""), ("!!", None)]) == [
        0.5,
        1.0,
        0.0,  # no word at all: nothing unknown
    ]
