"""The labelled product catalog: reading and validating sources, the golden holdout, load order.

A catalog is a DataFrame with the columns of :data:`CATALOG_COLUMNS`, indexed by the row id of
the source (the unnamed first column of the challenge files). ``split_catalog`` freezes a
stratified golden holdout and orders the rest (the *pool*) for incremental loading.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from rakuten_assets.categories import CATEGORY_CODES

TEXT_COLUMNS = ("designation", "description")
ID_COLUMNS = ("productid", "imageid")
LABEL_COLUMN = "prdtypecode"
CATALOG_COLUMNS = (*TEXT_COLUMNS, *ID_COLUMNS, LABEL_COLUMN)


class CatalogError(ValueError):
    """A catalog source is missing, malformed or holds values we cannot use."""


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise CatalogError(f"{what} file {path} does not exist")
    if path.stat().st_size == 0:
        raise CatalogError(f"{what} file {path} is empty")
    try:
        return pd.read_csv(path, index_col=0, dtype={"description": "string"})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{what} file {path} is not a readable CSV: {exc}") from exc


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CatalogError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)}, "
            f"expected {list(columns)}"
        )


def normalise_catalog(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate types and values; return the canonical catalog frame (nothing silently dropped)."""
    out = pd.DataFrame(index=frame.index.copy())
    designation = frame["designation"]
    blank = designation.isna() | (designation.astype("string").str.strip() == "")
    if blank.any():
        rows = frame.index[blank][:5].tolist()
        raise CatalogError(f"{source}: column 'designation' is empty in rows {rows}")
    out["designation"] = designation.astype(str)
    out["description"] = frame["description"].astype("string").fillna("").astype(str)
    for column in (*ID_COLUMNS, LABEL_COLUMN):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            rows = frame.index[bad][:5].tolist()
            raise CatalogError(
                f"{source}: column '{column}' must hold integers; bad values in rows {rows}"
            )
        out[column] = values.astype("int64")
    unknown = sorted(set(out[LABEL_COLUMN].unique().tolist()) - set(CATEGORY_CODES))
    if unknown:
        raise CatalogError(
            f"{source}: column 'prdtypecode' has unknown code(s) {unknown[:10]}; "
            f"known codes are {list(CATEGORY_CODES)}"
        )
    if out.index.has_duplicates:
        raise CatalogError(
            f"{source}: duplicated row ids {out.index[out.index.duplicated()][:5].tolist()}"
        )
    out.index = out.index.astype("int64")
    out.index.name = "product_row_id"
    return out


def read_challenge_files(x_path: Path, y_path: Path) -> pd.DataFrame:
    """Read ``X_train_update.csv`` + ``Y_train_CVw08PX.csv`` joined on the unnamed row index."""
    x = _read_csv(x_path, "X (features)")
    y = _read_csv(y_path, "Y (labels)")
    _require_columns(x, (*TEXT_COLUMNS, *ID_COLUMNS), x_path)
    _require_columns(y, (LABEL_COLUMN,), y_path)
    if len(x) != len(y) or not x.index.equals(y.index):
        only_x = x.index.difference(y.index)
        only_y = y.index.difference(x.index)
        raise CatalogError(
            f"{x_path} and {y_path} do not have the same row index: {len(x)} vs {len(y)} rows; "
            f"ids only in X: {only_x[:5].tolist()}, only in Y: {only_y[:5].tolist()}"
        )
    joined = x.join(y[[LABEL_COLUMN]])
    return normalise_catalog(joined, f"{x_path.name}+{y_path.name}")


def read_labelled_csv(path: Path) -> pd.DataFrame:
    """Read one CSV with ``designation,description,productid,imageid,prdtypecode`` columns."""
    if not path.is_file():
        raise CatalogError(f"labelled CSV {path} does not exist")
    if path.stat().st_size == 0:
        raise CatalogError(f"labelled CSV {path} is empty")
    try:
        frame = pd.read_csv(path, dtype={"description": "string"})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CatalogError(f"labelled CSV {path} is not a readable CSV: {exc}") from exc
    if frame.columns[0].startswith("Unnamed") or frame.columns[0] == "":
        frame = frame.set_index(frame.columns[0])
    _require_columns(frame, CATALOG_COLUMNS, path)
    if frame.empty:
        raise CatalogError(f"labelled CSV {path} has a header but no rows")
    return normalise_catalog(frame, path.name)


def catalog_hash(frame: pd.DataFrame) -> str:
    """A content hash of a catalog frame (rows, order and values)."""
    hashed = pd.util.hash_pandas_object(frame[list(CATALOG_COLUMNS)], index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


@dataclass(frozen=True)
class SplitCatalog:
    """The loadable pool (ordered by ``load_rank``) and the frozen golden holdout."""

    pool: pd.DataFrame
    holdout: pd.DataFrame

    @property
    def pool_hash(self) -> str:
        return catalog_hash(self.pool)

    @property
    def holdout_hash(self) -> str:
        return catalog_hash(self.holdout)


def split_catalog(catalog: pd.DataFrame, holdout_fraction: float, seed: int) -> SplitCatalog:
    """Stratified golden holdout + a seeded, deterministic load order for the rest."""
    counts = catalog[LABEL_COLUMN].value_counts()
    too_small = counts[counts < 2]
    if not too_small.empty:
        raise CatalogError(
            f"every class needs at least 2 rows to split a holdout; too few rows for "
            f"{too_small.to_dict()}"
        )
    pool_ids, holdout_ids = train_test_split(
        catalog.index.to_numpy(),
        test_size=holdout_fraction,
        random_state=seed,
        stratify=catalog[LABEL_COLUMN].to_numpy(),
    )
    holdout = catalog.loc[np.sort(holdout_ids)]
    order = np.random.default_rng(seed).permutation(np.sort(pool_ids))
    pool = catalog.loc[order].copy()
    pool["load_rank"] = np.arange(len(pool), dtype="int64")
    return SplitCatalog(pool=pool, holdout=holdout)


def write_split(split: SplitCatalog, directory: Path, source: str) -> dict[str, object]:
    """Persist the split as Parquet plus a manifest; returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    split.pool.to_parquet(directory / "pool.parquet")
    split.holdout.to_parquet(directory / "holdout.parquet")
    manifest: dict[str, object] = {
        "source": source,
        "pool_rows": len(split.pool),
        "holdout_rows": len(split.holdout),
        "pool_hash": split.pool_hash,
        "holdout_hash": split.holdout_hash,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def read_manifest(directory: Path) -> dict[str, object]:
    path = directory / "manifest.json"
    if not path.is_file():
        raise CatalogError(
            f"no product catalog in {directory}; materialise the `product_catalog` asset "
            "(or run `rakuten generate-dataset`) first"
        )
    manifest: dict[str, object] = json.loads(path.read_text())
    return manifest


def read_pool(directory: Path) -> pd.DataFrame:
    read_manifest(directory)
    return pd.read_parquet(directory / "pool.parquet")


def read_holdout(directory: Path) -> pd.DataFrame:
    read_manifest(directory)
    return pd.read_parquet(directory / "holdout.parquet")
