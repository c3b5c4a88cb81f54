"""Text cleaning inside the model, rebalancing on the training part only, scoring and CV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rakuten_assets.cli import main
from rakuten_assets.training.evaluation import cross_validate, score, split_train_validation
from rakuten_assets.training.model import ModelParams, build_pipeline, fit, rebalance
from rakuten_assets.training.text import clean_text, combine_fields


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("", ""),
        ("<p>Chaise&nbsp;<b>ch&ecirc;ne</b></p>", "Chaise chêne"),
        ("Double &amp;eacute;chappé", "Double échappé"),  # double-escaped entities
        ("  a \n\t b  ", "a b"),
        ("L&#39;&eacute;t&eacute;<br />2024", "L'été 2024"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw).replace("\xa0", " ") == clean


def test_combine_fields_handles_missing_and_huge_descriptions() -> None:
    frame = pd.DataFrame(
        {"designation": ["Titre", "Autre"], "description": [np.nan, "<i>x</i> " * 50_000]}
    )
    texts = combine_fields(frame)
    assert texts[0] == "Titre ."
    assert "<i>" not in texts[1]
    assert combine_fields(frame[["designation"]])[1] == "Autre ."


def test_pipeline_cleans_inside_the_model(small_split) -> None:  # type: ignore[no-untyped-def]
    """The same listing, raw HTML or pre-cleaned text, gets the same prediction and scores."""
    model = fit(small_split.pool, ModelParams(max_iter=100))
    raw = pd.DataFrame(
        {"designation": ["Coussin d&eacute;coratif <b>LIN</b>"], "description": [""]}
    )
    clean = pd.DataFrame({"designation": ["coussin decoratif lin"], "description": [""]})
    np.testing.assert_allclose(model.predict_proba(raw), model.predict_proba(clean), rtol=1e-5)


def test_rebalance_oversamples_only_what_it_is_given(small_split) -> None:  # type: ignore[no-untyped-def]
    train, validation = split_train_validation(small_split.pool, 0.2, 42)
    params = ModelParams(rebalance="oversample", oversample_floor=0.5)
    balanced = rebalance(train, params)
    counts = balanced["prdtypecode"].value_counts()
    assert counts.min() >= int(train["prdtypecode"].value_counts().max() * 0.5)
    assert set(balanced.index) == set(train.index)  # copies of training rows only
    assert set(balanced.index).isdisjoint(validation.index)
    assert rebalance(train, ModelParams(rebalance="class_weight")) is train


def test_split_is_stratified_and_disjoint(small_split) -> None:  # type: ignore[no-untyped-def]
    train, validation = split_train_validation(small_split.pool, 0.15, 42)
    assert set(train.index).isdisjoint(validation.index)
    assert len(train) + len(validation) == len(small_split.pool)
    assert set(validation["prdtypecode"]) == set(train["prdtypecode"])


def test_fit_refuses_a_single_class(small_split) -> None:  # type: ignore[no-untyped-def]
    one = small_split.pool[small_split.pool["prdtypecode"] == 10]
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit(one, ModelParams())


def test_score_counts_a_class_missing_from_predictions() -> None:
    scores = score(np.array([10, 10, 40, 50]), np.array([10, 10, 40, 40]))
    assert scores.per_class_f1[50] == 0.0
    assert scores.accuracy == 0.75
    assert scores.labels == [10, 40, 50]
    assert np.asarray(scores.confusion).sum() == 4


def test_char_ngrams_are_optional() -> None:
    with_char = build_pipeline(ModelParams(char_max_features=1000))
    without = build_pipeline(ModelParams(char_max_features=0))
    assert [n for n, *_ in with_char.named_steps["features"].transformers] == ["word", "char"]
    assert [n for n, *_ in without.named_steps["features"].transformers] == ["word"]


def test_cross_validate_reports_the_promised_fields(small_catalog: pd.DataFrame) -> None:
    result = cross_validate(small_catalog, ModelParams(max_iter=50), folds=3)
    assert {"weighted_f1", "macro_f1", "rows", "classes"} <= set(result)
    assert result["rows"] == len(small_catalog)
    assert result["classes"] == 27
    assert 0.0 < result["weighted_f1"] <= 1.0


def test_cross_validate_needs_enough_rows_per_class(small_catalog: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 50 rows for 50-fold"):
        cross_validate(small_catalog, ModelParams(), folds=50)


def test_evaluate_command_prints_one_json_object(
    tmp_path: Path, small_catalog: pd.DataFrame
) -> None:
    path = tmp_path / "labelled.csv"
    small_catalog.head(1200).to_csv(path, index=False)
    result = CliRunner().invoke(main, ["evaluate", "--csv", str(path), "--folds", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["rows"] == 1200
    assert payload["folds"] == 2


def test_evaluate_command_rejects_bad_csv(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("designation,prdtypecode\nx,10\n")
    result = CliRunner().invoke(main, ["evaluate", "--csv", str(path)])
    assert result.exit_code == 1
    assert "missing column(s)" in result.output
