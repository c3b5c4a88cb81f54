"""Catalog sources: the challenge files, labelled CSVs, bad input, the golden holdout split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rakuten_assets.categories import CATEGORY_CODES
from rakuten_assets.data.catalog import (
    CatalogError,
    catalog_hash,
    read_challenge_files,
    read_labelled_csv,
    split_catalog,
)


def _write_challenge(tmp_path: Path, frame: pd.DataFrame) -> tuple[Path, Path]:
    x_path, y_path = tmp_path / "X_train_update.csv", tmp_path / "Y_train_CVw08PX.csv"
    frame[["designation", "description", "productid", "imageid"]].to_csv(x_path, index_label="")
    frame[["prdtypecode"]].to_csv(y_path, index_label="")
    return x_path, y_path


def test_challenge_files_round_trip(tmp_path: Path, small_catalog: pd.DataFrame) -> None:
    x_path, y_path = _write_challenge(tmp_path, small_catalog)
    header = x_path.read_text().splitlines()[0]
    assert header == ",designation,description,productid,imageid"  # the challenge layout
    frame = read_challenge_files(x_path, y_path)
    pd.testing.assert_frame_equal(frame, small_catalog, check_names=False)


def test_missing_description_becomes_empty_text(tmp_path: Path) -> None:
    x_path, y_path = tmp_path / "x.csv", tmp_path / "y.csv"
    x_path.write_text(
        ",designation,description,productid,imageid\n0,Livre,,1,2\n1,Jeu,<b>x</b>,3,4\n"
    )
    y_path.write_text(",prdtypecode\n0,10\n1,40\n")
    frame = read_challenge_files(x_path, y_path)
    assert frame["description"].tolist() == ["", "<b>x</b>"]


@pytest.mark.parametrize(
    ("x_text", "y_text", "message"),
    [
        (
            ",designation,productid,imageid\n0,a,1,2\n",
            ",prdtypecode\n0,10\n",
            r"missing column\(s\) \['description'\]",
        ),
        (
            ",designation,description,productid,imageid\n0,a,,1,2\n",
            ",code\n0,10\n",
            r"missing column\(s\) \['prdtypecode'\]",
        ),
        (
            ",designation,description,productid,imageid\n0,a,,1,2\n",
            ",prdtypecode\n0,11\n",
            r"unknown code\(s\) \[11\]",
        ),
        (
            ",designation,description,productid,imageid\n0,a,,x,2\n",
            ",prdtypecode\n0,10\n",
            "column 'productid' must hold integers",
        ),
        (
            ",designation,description,productid,imageid\n0, ,,1,2\n",
            ",prdtypecode\n0,10\n",
            "column 'designation' is empty in rows \\[0\\]",
        ),
        (
            ",designation,description,productid,imageid\n0,a,,1,2\n",
            ",prdtypecode\n5,10\n",
            "do not have the same row index",
        ),
        (
            ",designation,description,productid,imageid\n0,a,,1,2\n",
            ",prdtypecode\n0,\n",
            "column 'prdtypecode' must hold integers",
        ),
    ],
)
def test_malformed_challenge_files_name_the_problem(
    tmp_path: Path, x_text: str, y_text: str, message: str
) -> None:
    x_path, y_path = tmp_path / "X_train_update.csv", tmp_path / "Y_train_CVw08PX.csv"
    x_path.write_text(x_text)
    y_path.write_text(y_text)
    with pytest.raises(CatalogError, match=message):
        read_challenge_files(x_path, y_path)


def test_empty_and_missing_files_are_named(tmp_path: Path) -> None:
    empty = tmp_path / "X_train_update.csv"
    empty.write_text("")
    with pytest.raises(CatalogError, match=r"X \(features\) file .*X_train_update.csv is empty"):
        read_challenge_files(empty, tmp_path / "y.csv")
    with pytest.raises(CatalogError, match="does not exist"):
        read_challenge_files(tmp_path / "nope.csv", tmp_path / "y.csv")


def test_labelled_csv_reads_the_evaluate_format(
    tmp_path: Path, small_catalog: pd.DataFrame
) -> None:
    path = tmp_path / "labelled.csv"
    small_catalog.to_csv(path, index=False)
    frame = read_labelled_csv(path)
    assert len(frame) == len(small_catalog)
    assert frame["prdtypecode"].tolist() == small_catalog["prdtypecode"].tolist()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("designation,description,productid,imageid,prdtypecode\n", "has a header but no rows"),
        ("designation,productid\nx,1\n", r"missing column\(s\)"),
        (
            'designation,description,productid,imageid,prdtypecode\n"a,,1,2,10\n',
            "not a readable CSV",
        ),
    ],
)
def test_bad_labelled_csv(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CatalogError, match=message):
        read_labelled_csv(path)


def test_split_is_stratified_disjoint_and_deterministic(small_catalog: pd.DataFrame) -> None:
    first = split_catalog(small_catalog, 0.1, 42)
    second = split_catalog(small_catalog, 0.1, 42)
    assert first.holdout_hash == second.holdout_hash
    assert first.pool.index.equals(second.pool.index)
    assert set(first.pool.index).isdisjoint(first.holdout.index)
    assert len(first.pool) + len(first.holdout) == len(small_catalog)
    assert set(first.holdout["prdtypecode"]) == set(CATEGORY_CODES)
    assert first.pool["load_rank"].tolist() == list(range(len(first.pool)))
    other = split_catalog(small_catalog, 0.1, 43)
    assert other.holdout_hash != first.holdout_hash


def test_split_refuses_classes_with_a_single_row(small_catalog: pd.DataFrame) -> None:
    frame = pd.concat([small_catalog, small_catalog.head(1).assign(prdtypecode=2905)]).iloc[:10]
    frame = frame.reset_index(drop=True)
    with pytest.raises(CatalogError, match="at least 2 rows"):
        split_catalog(frame, 0.1, 42)


def test_catalog_hash_changes_with_content(small_catalog: pd.DataFrame) -> None:
    changed = small_catalog.copy()
    changed.iloc[0, 0] = "autre titre"
    assert catalog_hash(changed) != catalog_hash(small_catalog)
