"""Text cleaning that lives inside the logged model, so training and serving never differ.

Every callable the fitted pipeline holds is a module-level function of this module (not a
lambda), so the pipeline pickles and reloads anywhere; they are listed in ``TRUSTED_CALLABLES``
because MLflow's skops format refuses to load callables it was not told to trust.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean_text(value: str) -> str:
    """Decode entities (twice: listings are often double-escaped), drop tags, squash spaces.

    Case and accents are folded by the vectorizers (``lowercase``, ``strip_accents``).
    """
    text = html.unescape(html.unescape(value))
    text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A raw text column as strings, missing values (or a missing column) as ""."""
    if name not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].fillna("").astype(str)


def combined_text(designation: str, description: str | None) -> str:
    """One listing's ``designation . description``, cleaned as one string (``combine_fields``)."""
    return clean_text(f"{designation} . {description or ''}")


def combine_fields(frame: pd.DataFrame) -> np.ndarray:
    """Raw ``designation`` + ``description`` columns -> one cleaned string per row."""
    joined = _column(frame, "designation") + " . " + _column(frame, "description")
    return np.array([clean_text(v) for v in joined], dtype=object)


def title_only(frame: pd.DataFrame) -> np.ndarray:
    """The cleaned ``designation`` alone: titles carry most of the signal, so they get own features."""
    return np.array([clean_text(v) for v in _column(frame, "designation")], dtype=object)


def listing_texts(
    designation: str, description: str | None, description_max_chars: int = 0
) -> tuple[str, str]:
    """One listing's ``(text, title)`` as ``listing_fields`` makes them, from its raw fields."""
    title = clean_text(designation)
    cleaned = clean_text(description or "")
    if description_max_chars > 0:
        cleaned = cleaned[:description_max_chars].rstrip()
    return f"{title} . {cleaned}".strip(), title


def listing_fields(frame: pd.DataFrame, description_max_chars: int = 0) -> pd.DataFrame:
    """Raw listing columns -> the two cleaned texts the feature blocks read.

    ``text`` is ``designation . description`` (as ``combine_fields``; the description cut to its
    first ``description_max_chars`` cleaned characters when that is > 0), ``title`` the cleaned
    ``designation`` alone. Each field is cleaned once.
    """
    pairs = [
        listing_texts(d, e, description_max_chars)
        for d, e in zip(_column(frame, "designation"), _column(frame, "description"), strict=True)
    ]
    return pd.DataFrame(
        {
            "text": np.array([text for text, _ in pairs], dtype=object),
            "title": np.array([title for _, title in pairs], dtype=object),
        },
        index=frame.index,
    )


# What the registry passes to skops as trusted types ("module.name" of each).
TRUSTED_CALLABLES: tuple[Callable[..., object], ...] = (combine_fields, title_only, listing_fields)
