"""A lean scorer derived from a fitted classifier Pipeline: same probabilities, less overhead.

``Pipeline.predict_proba`` builds a DataFrame, dispatches through the cleaning transformer, the
ColumnTransformer and each vectorizer, and validates at every step: ~3.5 ms for one listing,
most of it fixed cost. :func:`lean_scorer` reads the fitted objects once (the cleaning function
and its arguments, each vectorizer's own analyzer, vocabulary, tf and idf settings, the
classifier's coefficients) and scores rows of ``(designation, description)`` directly: the
cleaned texts, the term counts of each block through its fitted vocabulary, the tf-idf steps
in the vectorizer's dtype, one sparse product with the coefficients, softmax. Each step is the
same numerical operation the Pipeline applies, so the probabilities agree to rounding.

Anything it does not recognise (another cleaning function, a callable analyzer, a feature
union, a binary or one-vs-rest classifier, ...) makes :func:`lean_scorer` raise
:class:`UnsupportedModel` with the reason; callers then keep using the Pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.sparsefuncs_fast import (
    inplace_csr_row_normalize_l1,
    inplace_csr_row_normalize_l2,
)

from rakuten_assets.training.model import INPUT_COLUMNS
from rakuten_assets.training.text import (
    clean_text,
    combine_fields,
    combined_text,
    listing_fields,
    listing_texts,
    title_only,
)

log = logging.getLogger(__name__)

Row = tuple[str, str | None]
#: The cleaned fields of one row, by the column name the feature blocks select (``None`` for
#: a cleaning step that outputs one unnamed column).
Fields = dict[str | None, str]


class UnsupportedModel(ValueError):
    """The fitted model has a part the lean scorer does not reproduce exactly."""


def _cleaner(step: Any) -> Callable[[Row], Fields]:
    if not isinstance(step, FunctionTransformer):
        raise UnsupportedModel(
            f"the first step is a {type(step).__name__}, not a cleaning function"
        )
    kwargs = dict(step.kw_args or {})
    if step.func is listing_fields:
        unknown = set(kwargs) - {"description_max_chars"}
        if unknown:
            raise UnsupportedModel(f"listing_fields with unknown arguments {sorted(unknown)}")
        cut = int(kwargs.get("description_max_chars", 0))

        def fields(row: Row) -> Fields:
            text, title = listing_texts(row[0], row[1], cut)
            return {"text": text, "title": title}

        return fields
    if kwargs:
        raise UnsupportedModel(f"{step.func!r} called with arguments {sorted(kwargs)}")
    if step.func is combine_fields:
        return lambda row: {None: combined_text(row[0], row[1])}
    if step.func is title_only:
        return lambda row: {None: clean_text(row[0])}
    raise UnsupportedModel(f"unknown cleaning function {step.func!r}")


@dataclass(frozen=True)
class _Block:
    """One fitted TF-IDF vectorizer and the cleaned field it reads."""

    field: str | None
    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    n_features: int
    binary: bool
    sublinear_tf: bool
    idf: npt.NDArray[np.floating[Any]] | None
    norm: str | None
    dtype: Any
    #: A word analyzer whose terms include single words (the unknown-token share's block).
    has_words: bool = False
    #: It also makes word n-grams (``"a b"`` terms), which the unknown-token share skips.
    has_ngrams: bool = False

    def transform(self, texts: Sequence[str], shares: list[float] | None = None) -> sp.csr_array:
        """The block's tf-idf matrix of ``texts``, computed as ``TfidfVectorizer.transform``.

        With ``shares``, the unknown-token share of each text is appended to it, from the same
        analysis (see :meth:`LeanScorer.unknown_shares`)."""
        vocabulary = self.vocabulary
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            row: dict[int, int] = {}
            terms = self.analyze(text)
            for term in terms:
                j = vocabulary.get(term)
                if j is not None:
                    row[j] = row.get(j, 0) + 1
            if shares is not None:
                shares.append(self._unknown_share(terms, row))
            ordered = sorted(row)  # sklearn sorts the indices of each row
            indices.extend(ordered)
            counts.extend(row[j] for j in ordered)
            indptr.append(len(indices))
        data = np.asarray(counts, dtype=self.dtype)
        columns = np.asarray(indices, dtype=np.int32)
        if self.binary:
            data.fill(1)
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[columns]
        matrix = sp.csr_array(
            (data, columns, np.asarray(indptr, dtype=np.int32)),
            shape=(len(texts), self.n_features),
            copy=False,
        )
        # What sklearn's ``normalize`` calls on a CSR matrix, without its per-call validation.
        if self.norm == "l2":
            inplace_csr_row_normalize_l2(matrix)
        elif self.norm == "l1":
            inplace_csr_row_normalize_l1(matrix)
        return matrix

    def _unknown_share(self, terms: list[str], row: dict[int, int]) -> float:
        if self.has_ngrams:
            words = [term for term in terms if " " not in term]
            total = len(words)
            known = sum(1 for word in words if word in self.vocabulary)
        else:  # every term is a word; the row counts those in the vocabulary
            total, known = len(terms), sum(row.values())
        return round((total - known) / total, 6) if total else 0.0


def _block(vectorizer: Any, field: str | None) -> _Block:
    if type(vectorizer) is not TfidfVectorizer:
        raise UnsupportedModel(
            f"feature block {type(vectorizer).__name__} is not a TfidfVectorizer"
        )
    if not hasattr(vectorizer, "vocabulary_"):
        raise UnsupportedModel("a TfidfVectorizer is not fitted")
    if vectorizer.analyzer not in ("word", "char", "char_wb"):
        raise UnsupportedModel(f"analyzer {vectorizer.analyzer!r} (a callable?) is not supported")
    if vectorizer.input != "content":
        raise UnsupportedModel(f"vectorizer input {vectorizer.input!r} is not 'content'")
    if vectorizer.norm not in (None, "l1", "l2"):
        raise UnsupportedModel(f"norm {vectorizer.norm!r} is not supported")
    dtype = np.dtype(vectorizer.dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise UnsupportedModel(f"vectorizer dtype {dtype} is not float32 or float64")
    idf = np.asarray(vectorizer.idf_) if vectorizer.use_idf else None
    return _Block(
        field=field,
        # The vectorizer's own analyzer: decoding, preprocessor, lowercase, accents, tokenizer
        # or token pattern, stop words and n-grams exactly as fitted.
        analyze=vectorizer.build_analyzer(),
        vocabulary=vectorizer.vocabulary_,
        n_features=len(vectorizer.vocabulary_),
        binary=bool(vectorizer.binary),
        sublinear_tf=bool(vectorizer.sublinear_tf),
        idf=idf,
        norm=vectorizer.norm,
        dtype=dtype,
        has_words=vectorizer.analyzer == "word" and vectorizer.ngram_range[0] == 1,
        has_ngrams=vectorizer.analyzer == "word" and vectorizer.ngram_range[1] > 1,
    )


def _blocks(step: Any, fields: Fields) -> list[_Block]:
    if isinstance(step, TfidfVectorizer):
        if None not in fields:
            raise UnsupportedModel("a single vectorizer after a cleaning step with named columns")
        return [_block(step, None)]
    if type(step) is not ColumnTransformer or not hasattr(step, "transformers_"):
        raise UnsupportedModel(
            f"feature step {type(step).__name__} is not a fitted ColumnTransformer"
        )
    if step.transformer_weights:
        raise UnsupportedModel("ColumnTransformer transformer_weights are not supported")
    blocks = []
    for name, transformer, column in step.transformers_:
        if transformer == "drop":
            continue
        if not isinstance(column, str) or column not in fields:
            raise UnsupportedModel(f"block {name!r} reads {column!r}, not one cleaned field")
        blocks.append(_block(transformer, column))
    if not blocks:
        raise UnsupportedModel("the ColumnTransformer has no feature block")
    return blocks


def _stack(blocks: Sequence[sp.csr_array], offsets: Sequence[int]) -> sp.csr_array:
    """The blocks side by side (row i: block 0's entries of row i, then block 1's, ...).

    What ``scipy.sparse.hstack`` gives, built with a few array operations instead of its
    conversions (which cost more than the rest of a one-row call).
    """
    if len(blocks) == 1:
        return blocks[0]
    n_rows = blocks[0].shape[0]
    lengths = [np.diff(block.indptr) for block in blocks]
    per_row = np.sum(lengths, axis=0)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.result_type(*(b.data for b in blocks)))
    indices = np.empty(int(indptr[-1]), dtype=np.int64)
    before = np.zeros(n_rows, dtype=np.int64)  # entries of earlier blocks in each row
    for block, offset, length in zip(blocks, offsets, lengths, strict=True):
        row = np.repeat(np.arange(n_rows), length)
        position = np.arange(len(block.data)) - block.indptr[row] + indptr[row] + before[row]
        data[position] = block.data
        indices[position] = block.indices + offset
        before += length
    width = offsets[-1] + blocks[-1].shape[1]
    return sp.csr_array((data, indices, indptr), shape=(n_rows, width), copy=False)


@dataclass(frozen=True)
class LeanScorer:
    """``predict_proba`` of a fitted cleaning -> TF-IDF blocks -> multinomial LogReg Pipeline."""

    classes_: np.ndarray
    clean: Callable[[Row], Fields]
    blocks: tuple[_Block, ...]
    #: The first column of each block in the stacked feature matrix.
    offsets: tuple[int, ...]
    coef_t: np.ndarray
    intercept: np.ndarray
    #: The index of the block whose analysis defines the unknown-token share (the first word
    #: block that makes single words), None when the model has none.
    words: int | None = None

    def predict_proba(self, rows: Sequence[Row]) -> npt.NDArray[np.float64]:
        """Class probabilities of raw ``(designation, description)`` rows (description may be None)."""
        return self.score(rows)[0]

    def unknown_shares(self, rows: Sequence[Row]) -> list[float] | None:
        """The unknown-token share of each row, None when the model has no word block.

        The share of the single words that the model's word block makes of the row (its own
        cleaning, analyzer, stop words and accents; word n-grams left out) that are not in its
        fitted vocabulary; 0.0 for a row without any word. :meth:`score` gives the same values
        from its own pass."""
        if self.words is None:
            return None
        block = self.blocks[self.words]
        shares: list[float] = []
        block.transform([self.clean(row)[block.field] for row in rows], shares)
        return shares

    def score(self, rows: Sequence[Row]) -> tuple[npt.NDArray[np.float64], list[float] | None]:
        """The class probabilities of the rows and their unknown-token shares, in one pass."""
        fields = [self.clean(row) for row in rows]
        shares: list[float] | None = [] if self.words is not None else None
        blocks = [
            block.transform([f[block.field] for f in fields], shares if i == self.words else None)
            for i, block in enumerate(self.blocks)
        ]
        # The product of sklearn's ``X @ coef_.T + intercept_`` in its dtype and order of sums.
        scores = np.asarray(_stack(blocks, self.offsets) @ self.coef_t) + self.intercept
        # sklearn's ``softmax`` for a NumPy array, step by step.
        scores -= scores.max(axis=1).reshape((-1, 1))
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1).reshape((-1, 1))
        return scores, shares


def lean_scorer(pipeline: Any) -> LeanScorer:
    """The lean scorer of ``pipeline``; :class:`UnsupportedModel` says why there is none."""
    if type(pipeline) is not Pipeline or len(pipeline.steps) != 3:
        raise UnsupportedModel("not a 3-step sklearn Pipeline (cleaning, features, classifier)")
    (_, clean_step), (_, feature_step), (_, classifier) = pipeline.steps
    clean = _cleaner(clean_step)
    blocks = _blocks(feature_step, clean(("", None)))
    if type(classifier) is not LogisticRegression or not hasattr(classifier, "coef_"):
        raise UnsupportedModel(
            f"classifier {type(classifier).__name__} is not a fitted LogisticRegression"
        )
    classes = np.asarray(classifier.classes_)
    if classes.size <= 2:
        raise UnsupportedModel("a binary LogisticRegression (not softmax) is not supported")
    coef = np.asarray(classifier.coef_)
    sizes = [block.n_features for block in blocks]
    n_features = sum(sizes)
    if coef.shape != (classes.size, n_features):
        raise UnsupportedModel(
            f"coefficients of shape {coef.shape} for {classes.size} classes and {n_features} features"
        )
    return LeanScorer(
        classes_=classes,
        clean=clean,
        blocks=tuple(blocks),
        offsets=tuple(int(o) for o in np.cumsum([0, *sizes[:-1]])),
        coef_t=coef.T,
        intercept=np.asarray(classifier.intercept_),
        words=next((i for i, block in enumerate(blocks) if block.has_words), None),
    )


@dataclass(frozen=True)
class PipelineScorer:
    """``predict_proba`` through the Pipeline itself (a DataFrame of the raw columns)."""

    pipeline: Any
    #: Why the lean scorer was not used.
    reason: str

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.pipeline.classes_)

    def predict_proba(self, rows: Sequence[Row]) -> npt.NDArray[np.float64]:
        frame = pd.DataFrame(list(rows), columns=list(INPUT_COLUMNS))
        # The pipeline and its inputs are ours (two string columns): sklearn's per-call
        # parameter and finiteness checks are pure overhead on every call.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return np.asarray(self.pipeline.predict_proba(frame))


Scorer = LeanScorer | PipelineScorer


def scorer_for(pipeline: Any) -> Scorer:
    """The lean scorer of ``pipeline`` when it has one, else the Pipeline (the reason logged)."""
    try:
        return lean_scorer(pipeline)
    except UnsupportedModel as exc:
        log.warning("scoring through the sklearn Pipeline (no lean scorer: %s)", exc)
        return PipelineScorer(pipeline, str(exc))
