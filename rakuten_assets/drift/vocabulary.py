"""How much of a listing's text the served model has never seen (the unknown-token share).

Text length and word count miss a change of *vocabulary*: new brands or product lines with
titles of the usual length. The share of a listing's word tokens that are absent from the
model's word vocabulary catches it, and it costs one dictionary lookup per token at prediction
time. Tokens are produced exactly as the model's word vectorizer produces them (its own
preprocessor and tokenizer, after the model's own cleaning step), so the share means "unknown
to this model", not to some other tokenizer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from rakuten_assets.training.text import clean_text


@dataclass(frozen=True)
class VocabularyProbe:
    """The word vocabulary of a fitted model and the function that tokenizes like it does."""

    vocabulary: frozenset[str]
    tokenize: Callable[[str], list[str]]

    def unknown_share(self, designation: str, description: str | None) -> float:
        """Share of word tokens of ``designation . description`` unknown to the model (0..1).

        A text without any token counts as 0.0 (nothing unknown in it).
        """
        text = f"{clean_text(designation)} . {clean_text(description or '')}"
        tokens = self.tokenize(text)
        if not tokens:
            return 0.0
        unknown = sum(1 for token in tokens if token not in self.vocabulary)
        return round(unknown / len(tokens), 6)


def _word_vectorizer(model: Any) -> TfidfVectorizer | None:
    """The first fitted word-level TfidfVectorizer inside ``model`` (pipelines, column blocks)."""
    if isinstance(model, TfidfVectorizer):
        fitted = hasattr(model, "vocabulary_")
        return model if fitted and model.analyzer == "word" else None
    if isinstance(model, Pipeline):
        children: Sequence[Any] = [step for _, step in model.steps]
    elif isinstance(model, ColumnTransformer) and hasattr(model, "transformers_"):
        children = [transformer for _, transformer, _ in model.transformers_]
    else:
        return None
    for child in children:
        found = _word_vectorizer(child)
        if found is not None:
            return found
    return None


_PROBES: weakref.WeakKeyDictionary[Any, VocabularyProbe | None] = weakref.WeakKeyDictionary()


def probe_for(model: Any) -> VocabularyProbe | None:
    """The probe of a fitted model (built once per model object); None without a word block."""
    try:
        return _PROBES[model]
    except KeyError:
        pass
    vectorizer = _word_vectorizer(model)
    probe = None
    if vectorizer is not None:
        preprocess = vectorizer.build_preprocessor()
        split = vectorizer.build_tokenizer()
        # Unigrams only: with word n-grams the vocabulary also holds "a b" entries, and a token
        # is "known" when the unigram is.
        vocabulary = frozenset(term for term in vectorizer.vocabulary_ if " " not in term)
        probe = VocabularyProbe(vocabulary, lambda text: split(preprocess(text)))
    _PROBES[model] = probe
    return probe
