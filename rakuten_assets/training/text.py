"""Text cleaning that lives inside the logged model, so training and serving never differ."""

from __future__ import annotations

import html
import re

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


def combine_fields(frame: pd.DataFrame) -> np.ndarray:
    """Raw ``designation`` + ``description`` columns -> one cleaned string per row.

    A module-level function (not a lambda) so the fitted pipeline pickles and reloads anywhere.
    """
    designation = frame["designation"].fillna("").astype(str)
    description = (
        frame["description"].fillna("").astype(str)
        if "description" in frame
        else pd.Series("", index=frame.index)
    )
    joined = designation + " . " + description
    return np.array([clean_text(v) for v in joined], dtype=object)


def title_only(frame: pd.DataFrame) -> np.ndarray:
    """The cleaned ``designation`` alone: titles carry most of the signal, so they get own features."""
    return np.array(
        [clean_text(v) for v in frame["designation"].fillna("").astype(str)], dtype=object
    )
