"""The 27 Rakuten France product-type codes, their French labels and real frequencies."""

from __future__ import annotations

from typing import Final

#: Label shown to operators for each ``prdtypecode``.
CATEGORY_LABELS: Final[dict[int, str]] = {
    10: "Livres d'occasion",
    40: "Jeux vidéo, consoles (import)",
    50: "Accessoires de jeux vidéo",
    60: "Consoles rétro",
    1140: "Figurines et produits dérivés",
    1160: "Cartes à collectionner",
    1180: "Figurines de jeux de rôle et wargames",
    1280: "Jouets pour enfants",
    1281: "Jeux de société",
    1300: "Modélisme et drones",
    1301: "Chaussettes et vêtements pour bébé",
    1302: "Jeux d'extérieur",
    1320: "Puériculture",
    1560: "Mobilier et décoration d'intérieur",
    1920: "Linge de maison",
    1940: "Épicerie",
    2060: "Décoration et luminaires",
    2220: "Animalerie",
    2280: "Magazines et journaux anciens",
    2403: "Livres, BD et magazines en lot",
    2462: "Jeux vidéo d'occasion (lots)",
    2522: "Papeterie et fournitures de bureau",
    2582: "Mobilier de jardin",
    2583: "Piscines et accessoires",
    2585: "Bricolage et outillage de jardin",
    2705: "Livres neufs",
    2905: "Jeux vidéo dématérialisés (PC)",
}

#: Class frequencies of the 84,916 rows of the real challenge training set.
REAL_CLASS_COUNTS: Final[dict[int, int]] = {
    10: 3116,
    40: 2508,
    50: 1681,
    60: 832,
    1140: 2671,
    1160: 3953,
    1180: 764,
    1280: 4870,
    1281: 2070,
    1300: 5045,
    1301: 807,
    1302: 2491,
    1320: 3241,
    1560: 5073,
    1920: 4303,
    1940: 803,
    2060: 4993,
    2220: 824,
    2280: 4760,
    2403: 4774,
    2462: 1421,
    2522: 4989,
    2582: 2589,
    2583: 10209,
    2585: 2496,
    2705: 2761,
    2905: 872,
}

CATEGORY_CODES: Final[tuple[int, ...]] = tuple(sorted(CATEGORY_LABELS))
N_CATEGORIES: Final[int] = len(CATEGORY_CODES)
REAL_CATALOG_ROWS: Final[int] = sum(REAL_CLASS_COUNTS.values())

assert N_CATEGORIES == 27
assert REAL_CATALOG_ROWS == 84_916


def category_label(code: int) -> str:
    """French label of a product-type code; raises ``KeyError`` naming the unknown code."""
    try:
        return CATEGORY_LABELS[code]
    except KeyError:
        raise KeyError(f"unknown prdtypecode {code}; known codes: {list(CATEGORY_CODES)}") from None
