"""Difficulty and realism knobs of the synthetic catalog, tuned together.

Tuned with ``bench/synthetic_separability.py`` (see ``synthetic.py``): changing one changes
how separable the categories are, and the generated catalog for every seed.
"""

from __future__ import annotations

from typing import Final

from rakuten_assets.categories import CATEGORY_CODES, REAL_CATALOG_ROWS, REAL_CLASS_COUNTS
from rakuten_assets.data.synthetic_vocabulary import load_vocabulary

_PROFILES: Final = load_vocabulary().profiles

# Per category (``[profiles.<code>]`` of data/vocabulary/*.toml): the categories a listing
# borrows words from or is mistaken for (real confusion pairs), the share of words borrowed.
NEIGHBOURS: Final[dict[int, tuple[int, ...]]] = {
    code: profile.neighbours for code, profile in _PROFILES.items()
}
# The profiles' mix rates are relative (tuned per family); this scale sets the catalog's
# difficulty. Borrowed words keep a listing's own vocabulary around them, so they make the
# synthetic task harder without teaching wrong word-class links; listings written wholly as a
# neighbour (CONFUSION_RATE) do teach them: on the real dev rows, the synthetic-trained model
# scores 0.579 with (scale 1, confusion 0.1) and 0.610 with (3, 0.04), both in the holdout
# band 0.75-0.90 (0.851 / 0.889; bench/synthetic_transfer.py, seeds 42 and 1, 2026-12-04).
MIX_SCALE: Final[float] = 3.0
MIX_RATE: Final[dict[int, float]] = {
    code: min(1.0, MIX_SCALE * p.mix_rate) for code, p in _PROFILES.items()
}
# Share of listings written entirely as a neighbouring category (ambiguous listings).
CONFUSION_RATE: Final[float] = 0.04
# Share of plain label noise (any category), as in any crowd-labelled catalog.
LABEL_NOISE_RATE: Final[float] = 0.02
# Probability that a description is empty, relative per category (books 10 rarely have one).
EMPTY_DESC: Final[dict[int, float]] = {code: p.empty_description for code, p in _PROFILES.items()}
FOREIGN_RATE: Final[tuple[float, float]] = (0.1, 0.01)  # English, German titles
TYPO_RATE: Final[float] = 0.2
MODEL_RATE: Final[float] = 0.45  # titles carrying an invented model / product-line name
MODEL_CODE_RATE: Final[float] = 0.4  # model names followed by a reference code ("X300")
MODEL_ONLY_RATE: Final[float] = 0.12  # terse titles: model name and a colour or reference
GLUE_RATE: Final[float] = 0.08  # "ChaussettesBébé": two words typed without a space
TITLE_NOISE_RATE: Final[float] = 0.3
# Share of French descriptions laid out with HTML tags, unless the category's profile sets
# html_rate (real listings: 18 % of rows carry a tag, few in the book categories).
HTML_RATE: Final[float] = 0.3
SHOUT_RATE: Final[float] = 0.01  # titles typed in capitals
HTML_ENTITY_RATE: Final[float] = 0.6  # unless the category's profile sets its entity_rate
ENTITY_RATE: Final[dict[int, float]] = {
    code: HTML_ENTITY_RATE if p.entity_rate is None else p.entity_rate
    for code, p in _PROFILES.items()
}
ZIPF_EXPONENT: Final[float] = 0.8  # word popularity inside a list: first entries dominate
SENTENCE_COUNT_P: Final[tuple[float, ...]] = (0.22, 0.24, 0.2, 0.14, 0.11, 0.09)  # 1..6
GENERIC_SENTENCE_RATE: Final[float] = 0.35
SPEC_LIST_RATE: Final[float] = 0.15
MAX_TITLE_CHARS: Final[int] = 250
TITLE_EXTRA_COUNT_P: Final[tuple[float, ...]] = (0.4, 0.25, 0.17, 0.1, 0.05, 0.03)  # 0..5
TITLE_SENTENCE_RATE: Final[float] = 0.04
PRODUCTID_RANGE: Final[tuple[int, int]] = (100_000, 4_000_000_000)
IMAGEID_RANGE: Final[tuple[int, int]] = (1_000_000, 1_400_000_000)
# Seller boilerplate after a French description: none, sales terms, care, both.
BOILERPLATE_P: Final[tuple[float, ...]] = (0.9, 0.05, 0.03, 0.02)


def _expected_empty_share() -> float:
    total = sum(REAL_CLASS_COUNTS[code] * EMPTY_DESC[code] for code in CATEGORY_CODES)
    return total / REAL_CATALOG_ROWS


# Rescale the per-category emptiness so that the whole catalog has ~35 % empty descriptions.
EMPTY_SCALE: Final[float] = 0.35 / _expected_empty_share()
