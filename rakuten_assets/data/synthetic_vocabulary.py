"""The word lists and templates of the synthetic catalog, read from ``data/vocabulary/*.toml``.

The files are package data: ``common.toml`` holds the lists every category shares, one file per
family of categories (books, games, toys, home) its ``[categories.<code>]`` tables. They are read
as one document (``bundled_document()``: a table may be split across files, a key defined in two
files is an error); ``load_vocabulary()`` parses and checks it once per process.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Final

from rakuten_assets.categories import CATEGORY_CODES

__all__ = [
    "VOCABULARY_DIR",
    "Profile",
    "Vocabulary",
    "bundled_document",
    "load_vocabulary",
    "merge_documents",
    "parse_vocabulary",
]

VOCABULARY_DIR: Final = "vocabulary"

Words = tuple[str, ...]

# Tables of word lists, and the lists in them that the generator's code uses by name (the
# other [slots] lists only fill the {slot} of that name in templates).
_NAMED_LISTS: Final[dict[str, tuple[str, ...]]] = {
    "slots": ("noise",),
    "templates": (
        "description_fr",
        "description_en",
        "description_de",
        "title_en",
        "title_de",
        "title_extras",
        "terse_titles",
        "spec_lines",
    ),
    "model_names": ("syllables", "suffixes"),
    "book_titles": ("heads", "tails"),
}


@dataclass(frozen=True)
class Profile:
    """How one category is written (``[profiles.<code>]``); see ``synthetic_knobs``."""

    neighbours: tuple[int, ...]  # categories it borrows words from or is mistaken for
    mix_rate: float  # share of slot words borrowed from a neighbour
    empty_description: float  # relative probability of an empty description
    html_rate: float | None = None  # share of descriptions laid out with HTML tags
    sentence_count_p: tuple[float, ...] | None = None  # P(1..n sentences) of a description
    entity_rate: float | None = None  # share of descriptions HTML-escaped (&eacute;, &#39;)
    model_rate: float | None = None  # share of French titles carrying an invented model name


@dataclass(frozen=True)
class Vocabulary:
    """Every word list the generator draws from; the tables of ``data/vocabulary/*.toml``."""

    slots: Mapping[str, Words]  # {color}, {noise}, ...: shared by every category
    templates: Mapping[str, Words]  # description_fr/en/de, title_en/de, title_extras, ...
    model_syllables: Words
    model_suffixes: Words
    book_title_heads: Words
    book_title_tails: Words
    sales_terms: str  # seller boilerplate (HTML) after some descriptions
    care_and_warranty: str
    categories: Mapping[int, Mapping[str, Words]]  # per code: noun, brand, title, desc, ...
    profiles: Mapping[int, Profile]  # per code


@cache
def load_vocabulary() -> Vocabulary:
    """Parse the bundled vocabulary (once); raises ``ValueError`` naming a malformed entry."""
    return parse_vocabulary(bundled_document())


def bundled_document() -> dict[str, Any]:
    """The vocabulary files of the package merged into one TOML document, in name order."""
    folder = files("rakuten_assets.data").joinpath(VOCABULARY_DIR)
    named = sorted(
        (entry.name, entry) for entry in folder.iterdir() if entry.name.endswith(".toml")
    )
    if not named:
        raise ValueError(f"no vocabulary file in rakuten_assets/data/{VOCABULARY_DIR}")
    return merge_documents(
        {name: tomllib.loads(entry.read_text(encoding="utf-8")) for name, entry in named}
    )


def merge_documents(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One document from several, by file name: tables merge, a repeated key is an error."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, document in documents.items():
        _merge_into(merged, document, origin, name, prefix="")
    return merged


def _merge_into(
    target: dict[str, Any],
    source: Mapping[str, Any],
    origin: dict[str, str],
    name: str,
    prefix: str,
) -> None:
    for key, value in source.items():
        where = f"{prefix}.{key}" if prefix else key
        if key in target and not (isinstance(value, Mapping) and isinstance(target[key], dict)):
            raise ValueError(f"{where} is defined in both {origin[where]} and {name}")
        if isinstance(value, Mapping):
            origin.setdefault(where, name)
            _merge_into(target.setdefault(key, {}), value, origin, name, where)
        else:
            target[key] = value
            origin[where] = name


def parse_vocabulary(data: Mapping[str, Any]) -> Vocabulary:
    """The ``Vocabulary`` held by a parsed TOML document (see ``bundled_document()``)."""
    tables = {name: _word_table(data, name) for name in _NAMED_LISTS}
    for name, keys in _NAMED_LISTS.items():
        for key in keys:
            if key not in tables[name]:
                raise ValueError(f"[{name}] has no {key} list")
    boilerplates = _table(data, "boilerplates")
    for key in ("sales_terms", "care_and_warranty"):
        if not isinstance(boilerplates.get(key), str):
            raise ValueError(f"[boilerplates] {key}: expected a string")
    return Vocabulary(
        slots=tables["slots"],
        templates=tables["templates"],
        model_syllables=tables["model_names"]["syllables"],
        model_suffixes=tables["model_names"]["suffixes"],
        book_title_heads=tables["book_titles"]["heads"],
        book_title_tails=tables["book_titles"]["tails"],
        sales_terms=boilerplates["sales_terms"],
        care_and_warranty=boilerplates["care_and_warranty"],
        categories=_categories(data, shared=_word_table(data, "shared")),
        profiles=_profiles(data),
    )


def _profiles(data: Mapping[str, Any]) -> dict[int, Profile]:
    profiles: dict[int, Profile] = {}
    for key, table in _table(data, "profiles").items():
        where = f"[profiles.{key}]"
        if not key.isdigit() or int(key) not in CATEGORY_CODES:
            raise ValueError(f"{where} is not a product-type code")
        unknown = set(table) - set(Profile.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
        neighbours = table.get("neighbours")
        if (
            not isinstance(neighbours, list)
            or not neighbours
            or not all(
                isinstance(code, int) and code in CATEGORY_CODES and code != int(key)
                for code in neighbours
            )
        ):
            raise ValueError(f"{where} neighbours: expected a list of other product-type codes")
        sentences = table.get("sentence_count_p")
        if sentences is not None and (
            not isinstance(sentences, list) or abs(sum(sentences) - 1.0) > 1e-9
        ):
            raise ValueError(f"{where} sentence_count_p: expected probabilities summing to 1")
        profiles[int(key)] = Profile(
            neighbours=tuple(neighbours),
            mix_rate=_share(table, "mix_rate", where),
            empty_description=_share(table, "empty_description", where),
            html_rate=_share(table, "html_rate", where) if "html_rate" in table else None,
            sentence_count_p=tuple(float(p) for p in sentences) if sentences else None,
            entity_rate=_share(table, "entity_rate", where) if "entity_rate" in table else None,
            model_rate=_share(table, "model_rate", where) if "model_rate" in table else None,
        )
    missing = sorted(set(CATEGORY_CODES) - set(profiles))
    if missing:
        raise ValueError(f"[profiles.<code>] tables missing for {missing}")
    return profiles


def _share(table: Mapping[str, Any], key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{where} {key}: expected a number between 0 and 1, got {value!r}")
    return float(value)


def _categories(
    data: Mapping[str, Any], shared: Mapping[str, Words]
) -> dict[int, dict[str, Words]]:
    categories: dict[int, dict[str, Words]] = {}
    for key, table in _table(data, "categories").items():
        if not key.isdigit():
            raise ValueError(f"[categories.{key}] is not a product-type code")
        category: dict[str, Words] = {}
        for field, value in table.items():
            where = f"[categories.{key}] {field}"
            if isinstance(value, str):
                # A string names a list of [shared] that several categories use.
                if value not in shared:
                    raise ValueError(f"{where} = {value!r}: no such list in [shared]")
                category[field] = shared[value]
            else:
                category[field] = _words(value, where)
        categories[int(key)] = category
    if set(categories) != set(CATEGORY_CODES):
        raise ValueError(
            f"[categories.<code>] tables must be exactly the {len(CATEGORY_CODES)} product-type "
            f"codes; missing {sorted(set(CATEGORY_CODES) - set(categories))}, "
            f"unknown {sorted(set(categories) - set(CATEGORY_CODES))}"
        )
    return categories


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name)
    if not isinstance(table, Mapping):
        raise ValueError(f"the vocabulary has no [{name}] table")
    return table


def _word_table(data: Mapping[str, Any], name: str) -> dict[str, Words]:
    return {key: _words(value, f"[{name}] {key}") for key, value in _table(data, name).items()}


def _words(value: Any, where: str) -> Words:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: expected a non-empty list of strings, got {value!r}")
    if not all(isinstance(word, str) and word.strip() == word and word for word in value):
        raise ValueError(f"{where}: every entry must be a non-empty string without outer spaces")
    return tuple(value)
