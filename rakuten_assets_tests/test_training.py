"""Text cleaning inside the model, rebalancing on the training part only, scoring and CV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rakuten_assets.cli import main
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.evaluation import (
    cross_validate,
    per_class_table,
    score,
    split_train_validation,
    top_confusions,
)
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
    result = cross_validate(small_catalog, lambda train: fit(train, ModelParams()), folds=3)
    assert {"weighted_f1", "macro_f1", "rows", "classes"} <= set(result.summary)
    assert result.summary["rows"] == len(small_catalog)
    assert result.summary["classes"] == 27
    assert 0.0 < result.summary["weighted_f1"] <= 1.0
    # Every row is predicted once, by the fold model that did not see it.
    assert result.pooled.rows == len(small_catalog)
    assert np.asarray(result.pooled.confusion).sum() == len(small_catalog)


def test_cross_validate_needs_enough_rows_per_class(small_catalog: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 50 rows for 50-fold"):
        cross_validate(small_catalog, lambda train: fit(train, ModelParams()), folds=50)


def test_per_class_table_and_confusions_come_from_the_confusion_matrix() -> None:
    # 10: 3 rows (2 right, 1 as 40); 40: 2 rows (both right); 50: 2 rows (both as 40).
    scores = score(np.array([10, 10, 10, 40, 40, 50, 50]), np.array([10, 10, 40, 40, 40, 40, 40]))
    table = per_class_table(scores).set_index("prdtypecode")
    assert table.loc[10, "category"] == "Livres d'occasion"
    assert table.loc[10, "precision"] == 1.0
    assert table.loc[10, "recall"] == pytest.approx(2 / 3)
    assert table.loc[40, "precision"] == pytest.approx(2 / 5)
    assert table.loc[50, "precision"] == 0.0  # never predicted: 0, not a division error
    assert table["support"].tolist() == [3, 2, 2]
    assert table.loc[40, "f1"] == pytest.approx(scores.per_class_f1[40])
    confusions = top_confusions(scores, top=10)
    assert confusions.to_dict("records") == [
        {"true": "50 Accessoires de jeux vidéo", "predicted as": "40 Jeux vidéo, consoles (import)",
         "rows": 2},
        {"true": "10 Livres d'occasion", "predicted as": "40 Jeux vidéo, consoles (import)",
         "rows": 1},
    ]  # fmt: skip
    assert top_confusions(scores, top=1)["rows"].tolist() == [2]
    assert markdown_table(top_confusions(score(np.array([10, 40]), np.array([10, 40])))) == "(none)"


def _cells(line: str) -> list[str]:
    """The cells of one markdown table row."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.fixture(scope="module")
def evaluate_output(tmp_path_factory: pytest.TempPathFactory, small_catalog: pd.DataFrame) -> Any:
    """One `rakuten evaluate --compare-original --confusion-png` run on 1,200 synthetic rows."""
    folder = tmp_path_factory.mktemp("evaluate")
    small_catalog.head(1200).to_csv(folder / "labelled.csv", index=False)
    args = ["evaluate", "--csv", str(folder / "labelled.csv"), "--folds", "2"]
    png = folder / "plots" / "confusion.png"
    result = CliRunner().invoke(main, [*args, "--compare-original", "--confusion-png", str(png)])
    assert result.exit_code == 0, result.output
    return result, png


def test_evaluate_command_prints_tables_then_one_json_object(
    evaluate_output: Any, small_catalog: pd.DataFrame
) -> None:
    evaluate_rows = small_catalog.head(1200)
    result, _ = evaluate_output
    lines = result.stdout.strip().splitlines()
    payload = json.loads(lines[-1])
    assert payload["rows"] == 1200
    assert payload["folds"] == 2
    header = next(line for line in lines if _cells(line)[:1] == ["prdtypecode"])
    assert _cells(header) == [
        "prdtypecode", "category", "precision", "recall", "f1", "support",
    ]  # fmt: skip
    table = lines[lines.index(header) + 2 : lines.index(header) + 2 + 27]
    assert len(table) == 27
    assert all(line.startswith("|") for line in table)
    books = next(line for line in table if "Livres neufs" in line)
    code, _, precision, recall, f1, support = _cells(books)
    assert code == "2705"
    assert 0 <= float(precision) <= 1
    assert 0 <= float(recall) <= 1
    assert 0 <= float(f1) <= 1
    assert int(support) == (evaluate_rows["prdtypecode"] == 2705).sum()
    start = lines.index("Most frequent confusions:")
    assert _cells(lines[start + 1]) == ["true", "predicted as", "rows"]
    confusions = lines[start + 3 : lines.index("", start)]  # up to the next blank line
    assert 1 <= len(confusions) <= 10
    counts = [int(_cells(line)[-1]) for line in confusions]
    assert counts == sorted(counts, reverse=True)


def test_evaluate_compare_original_scores_both_on_the_same_folds(evaluate_output: Any) -> None:
    result, _ = evaluate_output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["original"]["rows"] == payload["rows"] == 1200
    assert payload["original"]["folds"] == 2
    assert payload["gain_over_original"] == pytest.approx(
        payload["weighted_f1"] - payload["original"]["weighted_f1"], abs=1e-4
    )
    row = next(line for line in result.stdout.splitlines() if "original system" in line)
    assert f"{payload['original']['weighted_f1']:.4f}" in row


def test_evaluate_writes_the_confusion_matrix_png(evaluate_output: Any) -> None:
    _, png = evaluate_output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a rendered 27x27 heat map, not an empty canvas


def test_evaluate_command_rejects_bad_csv(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("designation,prdtypecode\nx,10\n")
    result = CliRunner().invoke(main, ["evaluate", "--csv", str(path)])
    assert result.exit_code == 1
    assert "missing column(s)" in result.output
