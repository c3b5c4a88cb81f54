"""Difficulty and realism knobs of the synthetic catalog, tuned together.

Tuned with ``bench/synthetic_separability.py`` (see ``synthetic.py``): changing one changes
how separable the categories are, and the generated catalog for every seed.
"""

from __future__ import annotations

from typing import Final

from rakuten_assets.categories import CATEGORY_CODES, REAL_CATALOG_ROWS, REAL_CLASS_COUNTS

# Categories a listing may borrow words from, or be mistaken for (real confusion pairs).
NEIGHBOURS: Final[dict[int, tuple[int, ...]]] = {
    10: (2705, 2403, 2280),
    2705: (10, 2403, 2522),
    2403: (10, 2280, 2705),
    2280: (2403, 10),
    40: (2462, 2905, 50, 60),
    2462: (40, 60, 50),
    2905: (40, 2462),
    50: (40, 60, 2462),
    60: (40, 2462, 50),
    1140: (1180, 1160, 1280),
    1160: (1140, 1281),
    1180: (1140, 1281),
    1280: (1281, 1302, 1140, 1300, 1320),
    1281: (1280, 1160, 1180),
    1302: (1280, 2583, 1300),
    1300: (1280, 1302),
    1301: (1320, 1280, 1920),
    1320: (1301, 1280, 1560),
    1560: (2060, 2582, 1920),
    1920: (2060, 1560, 1301),
    2060: (1560, 1920, 2582),
    2582: (1560, 2585, 2583),
    2583: (2585, 1302, 2582),
    2585: (2583, 2582, 1560),
    1940: (2220, 2060),
    2220: (1920, 1560, 1940),
    2522: (2705, 2060, 10),
}

# Per-category difficulty: share of words borrowed from a neighbour. Books and video-game
# families are the hard ones on the real data; pools and grocery are easy.
MIX_RATE: Final[dict[int, float]] = {
    10: 0.45, 2705: 0.4, 2403: 0.35, 2280: 0.3,
    40: 0.35, 2462: 0.35, 2905: 0.2, 50: 0.25, 60: 0.3,
    1140: 0.3, 1160: 0.2, 1180: 0.3,
    1280: 0.35, 1281: 0.3, 1302: 0.3, 1300: 0.25,
    1301: 0.3, 1320: 0.3,
    1560: 0.3, 1920: 0.25, 2060: 0.3, 2582: 0.3,
    2583: 0.1, 2585: 0.2, 1940: 0.15, 2220: 0.2, 2522: 0.2,
}  # fmt: skip
# Share of listings written entirely as a neighbouring category (ambiguous listings).
CONFUSION_RATE: Final[float] = 0.1
# Share of plain label noise (any category), as in any crowd-labelled catalog.
LABEL_NOISE_RATE: Final[float] = 0.02
# Probability that a description is empty, relative per category (books 10 rarely have one).
EMPTY_DESC: Final[dict[int, float]] = {
    10: 0.8, 2705: 0.25, 2403: 0.4, 2280: 0.45,
    40: 0.3, 2462: 0.4, 2905: 0.05, 50: 0.3, 60: 0.5,
    1140: 0.35, 1160: 0.45, 1180: 0.35,
    1280: 0.35, 1281: 0.35, 1302: 0.3, 1300: 0.35,
    1301: 0.3, 1320: 0.3,
    1560: 0.3, 1920: 0.3, 2060: 0.35, 2582: 0.25,
    2583: 0.2, 2585: 0.3, 1940: 0.4, 2220: 0.35, 2522: 0.4,
}  # fmt: skip
FOREIGN_RATE: Final[tuple[float, float]] = (0.05, 0.03)  # English, German titles
TYPO_RATE: Final[float] = 0.2
MODEL_RATE: Final[float] = 0.45  # titles carrying an invented model / product-line name
MODEL_ONLY_RATE: Final[float] = 0.12  # terse titles: model name and a colour or reference
GLUE_RATE: Final[float] = 0.08  # "ChaussettesBébé": two words typed without a space
TITLE_NOISE_RATE: Final[float] = 0.3
HTML_ENTITY_RATE: Final[float] = 0.45
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
