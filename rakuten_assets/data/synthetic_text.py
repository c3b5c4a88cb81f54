"""Listing text of the synthetic catalog: titles and descriptions drawn from the vocabulary.

Vectorised: every ``{slot}`` of a template is filled for all rows of a (category, template) at
once, so the draws of the random generator (and the catalog of a seed) depend on call order.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import cache
from typing import Final

import numpy as np

from rakuten_assets.data import synthetic_knobs as knobs
from rakuten_assets.data.synthetic_vocabulary import load_vocabulary

__all__ = ["SLOT_DRAWERS", "VOCABULARY", "descriptions", "titles"]

SlotDrawer = Callable[[np.random.Generator, int], np.ndarray]

VOCABULARY: Final = load_vocabulary()
_CATEGORIES: Final = VOCABULARY.categories
_TEMPLATES: Final = VOCABULARY.templates
_BOILERPLATES: Final = (  # the choices weighted by knobs.BOILERPLATE_P
    "",
    VOCABULARY.sales_terms,
    VOCABULARY.care_and_warranty,
    VOCABULARY.sales_terms + VOCABULARY.care_and_warranty,
)


def _obj(values: np.ndarray) -> np.ndarray:
    """Numbers or fixed-width strings -> object array of Python ``str`` (concatenates fast)."""
    return values.astype(str).astype(object)


@cache
def _table(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words as an object array, their Zipf cumulative weights and which ones hold a slot."""
    weights = 1.0 / np.arange(1, len(words) + 1) ** knobs.ZIPF_EXPONENT
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    has_slot = np.array(["{" in word for word in words], dtype=bool)
    return np.array(words, dtype=object), cumulative, has_slot


def _pick_idx(rng: np.random.Generator, words: tuple[str, ...], m: int) -> np.ndarray:
    _, cumulative, _ = _table(words)
    return np.searchsorted(cumulative, rng.random(m), side="right")


def _pick(rng: np.random.Generator, words: tuple[str, ...], m: int) -> np.ndarray:
    return _table(words)[0][_pick_idx(rng, words, m)]


def _choice(words: tuple[str, ...]) -> SlotDrawer:
    return lambda rng, m: _pick(rng, words, m)


def _int(lo: int, hi: int, prefix: str = "", suffix: str = "", step: int = 1) -> SlotDrawer:
    """Integers in [lo, hi] (multiples of ``step``) rendered with a unit."""

    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        values = rng.integers(lo // step, hi // step + 1, m) * step
        return prefix + _obj(values) + suffix

    return draw


def _dim(rng: np.random.Generator, m: int) -> np.ndarray:
    width = _obj(rng.integers(4, 41, m) * 5)
    depth = _obj(rng.integers(4, 41, m) * 5)
    return width + " x " + depth + " cm"


def _pool_dim(rng: np.random.Generator, m: int) -> np.ndarray:
    length = _obj(rng.integers(20, 100, m) / 10)
    width = _obj(rng.integers(20, 60, m) / 10)
    return length + " x " + width + " m"


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width).astype(object)


def _isbn(rng: np.random.Generator, m: int) -> np.ndarray:
    publisher = _zfill(rng.integers(0, 10_000, m), 4)
    item = _zfill(rng.integers(0, 10_000, m), 4)
    check = _obj(rng.integers(0, 10, m))
    return "978-2-" + publisher + "-" + item + "-" + check


def _ref(rng: np.random.Generator, m: int) -> np.ndarray:
    letters = np.array(list(string.ascii_uppercase), dtype=object)
    head = letters[rng.integers(0, 26, m)] + letters[rng.integers(0, 26, m)]
    sep = np.where(rng.random(m) < 0.5, "-", "")
    return head + sep.astype(object) + _obj(rng.integers(100, 100_000, m))


def _date(rng: np.random.Generator, m: int) -> np.ndarray:
    day = _zfill(rng.integers(1, 29, m), 2)
    month = _zfill(rng.integers(1, 13, m), 2)
    return day + "/" + month + "/" + _obj(rng.integers(1948, 2012, m))


def _btitle(rng: np.random.Generator, m: int) -> np.ndarray:
    heads, tails = VOCABULARY.book_title_heads, VOCABULARY.book_title_tails
    return _pick(rng, heads, m) + " " + _pick(rng, tails, m)


# Slots computed in code (numbers, codes, dates, book titles); [slots] adds the word lists.
_COMPUTED_DRAWERS: Final[dict[str, SlotDrawer]] = {
    "dim": _dim,
    "pool_dim": _pool_dim,
    "isbn": _isbn,
    "ref": _ref,
    "date": _date,
    "btitle": _btitle,
    "cm": _int(5, 120, suffix=" cm"),
    "year": _int(1950, 2023),
    "tome": _int(1, 40),
    "num": _int(1, 2400),
    "num2": _int(60, 250),
    "pages": _int(48, 960, step=8),
    "pieces": _int(100, 3000, step=100),
    "minutes": _int(10, 120, step=5),
    "mah": _int(500, 6000, suffix=" mAh", step=100),
    "meters": _int(2, 50),
    "kmh": _int(15, 80),
    "kg": _int(2, 150),
    "ml": _int(60, 500, suffix=" ml", step=10),
    "watt": _int(300, 2500, suffix=" W", step=50),
    "m3": _int(2, 12),
    "go": _int(10, 120, step=5),
    "hours": _int(4, 40),
}
#: Every slot shared by all categories, by name; ``{model}`` and category lists come after.
SLOT_DRAWERS: Final[dict[str, SlotDrawer]] = {
    **{slot: _choice(words) for slot, words in VOCABULARY.slots.items()},
    **_COMPUTED_DRAWERS,
}


@cache
def _parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """``"{noun} {attr}"`` -> ((``""``, ``"noun"``), (``" "``, ``"attr"``))."""
    return tuple((literal, field) for literal, field, _, _ in string.Formatter().parse(template))


def _words_for(code: int, field: str) -> tuple[str, ...]:
    vocab = _CATEGORIES[code]
    if field in vocab:
        return vocab[field]
    raise KeyError(f"category {code} has no vocabulary for slot {{{field}}}")


def _draw(rng: np.random.Generator, field: str, code: int, m: int) -> np.ndarray:
    """Values for one slot of ``m`` rows written as category ``code``."""
    if field in SLOT_DRAWERS:
        return SLOT_DRAWERS[field](rng, m)
    if field == "model":
        return _model_names(rng, code, m)
    _words_for(code, field)  # a clear KeyError when the category itself lacks the list
    # Borrow the neighbour's word for this slot with the category's mixing rate.
    sources = np.full(m, code)
    borrow = np.flatnonzero(rng.random(m) < knobs.MIX_RATE[code])
    if borrow.size:
        neighbours = np.array(knobs.NEIGHBOURS[code])
        sources[borrow] = neighbours[rng.integers(0, len(neighbours), borrow.size)]
    out = np.empty(m, dtype=object)
    for source in np.unique(sources):
        rows = np.flatnonzero(sources == source)
        # A neighbour without this list lends nothing: the category's own words, rendered as
        # its own (their nested slots are the category's lists, not the neighbour's).
        owner = int(source) if field in _CATEGORIES[int(source)] else code
        words = _CATEGORIES[owner][field]
        idx = _pick_idx(rng, words, rows.size)
        table, _, has_slot = _table(words)
        out[rows] = table[idx]
        nested = has_slot[idx]
        if nested.any():
            # Vocabulary entries such as "lot de {qty} paires" are templates themselves.
            for word_idx in np.unique(idx[nested]):
                sub = rows[idx == word_idx]
                out[sub] = _render(rng, words[int(word_idx)], owner, sub.size)
    return out


def _model_names(rng: np.random.Generator, code: int, m: int) -> np.ndarray:
    """Invented product-line names (``Aquaprimax 300``): rare as words, stable as char n-grams."""
    stems = np.char.capitalize(np.array(_CATEGORIES[code]["stem"]))
    names = stems.astype(object)[rng.integers(0, stems.size, m)]
    middle = np.where(rng.random(m) < 0.6, _pick(rng, VOCABULARY.model_syllables, m), "")
    names = names + middle.astype(object) + _pick(rng, VOCABULARY.model_suffixes, m)
    number = np.where(rng.random(m) < 0.3, " " + _obj(rng.integers(1, 60, m) * 50), "")
    # Manufacturers' references glued to digits ("X300", "RT-25", "V12"), as on real listings.
    letters = np.array(list(string.ascii_uppercase), dtype=object)
    second = np.where(rng.random(m) < 0.5, letters[rng.integers(0, 26, m)], "").astype(object)
    dash = np.where(rng.random(m) < 0.3, "-", "").astype(object)
    reference = " " + letters[rng.integers(0, 26, m)] + second + dash
    reference = reference + _obj(rng.integers(2, 999, m))
    number = np.where(rng.random(m) < knobs.MODEL_CODE_RATE, reference, number)
    return names + number.astype(object)


def _render(rng: np.random.Generator, template: str, code: int, m: int) -> np.ndarray:
    out = np.full(m, "", dtype=object)
    for literal, field in _parse(template):
        if literal:
            out = out + literal
        if field is not None:
            out = out + _draw(rng, field, code, m)
    return out


def _fill(rng: np.random.Generator, templates: tuple[str, ...], code: int, m: int) -> np.ndarray:
    """One template per row (Zipf: the first templates are the common listing styles)."""
    out = np.empty(m, dtype=object)
    if m == 0:
        return out
    idx = _pick_idx(rng, templates, m)
    for template_idx in np.unique(idx):
        rows = np.flatnonzero(idx == template_idx)
        out[rows] = _render(rng, templates[int(template_idx)], code, rows.size)
    return out


def titles(rng: np.random.Generator, code: int, lang: np.ndarray) -> np.ndarray:
    """Titles of rows written as category ``code``; ``lang`` per row: 0 fr, 1 en, 2 de."""
    m = lang.size
    out = np.empty(m, dtype=object)
    fr = np.flatnonzero(lang == 0)
    out[fr] = _fill(rng, _CATEGORIES[code]["title"], code, fr.size)
    model_rate = VOCABULARY.profiles[code].model_rate
    with_model = fr[rng.random(fr.size) < (knobs.MODEL_RATE if model_rate is None else model_rate)]
    model = _draw(rng, "model", code, with_model.size)
    before = rng.random(with_model.size) < 0.5
    out[with_model] = np.where(before, model + " " + out[with_model], out[with_model] + " " + model)
    terse = fr[rng.random(fr.size) < knobs.MODEL_ONLY_RATE]
    out[terse] = _fill(rng, _TEMPLATES["terse_titles"], code, terse.size)
    # SEO keyword stuffing: a few extra attributes on many titles, a whole sentence on some.
    n_extras = rng.choice(len(knobs.TITLE_EXTRA_COUNT_P), fr.size, p=knobs.TITLE_EXTRA_COUNT_P)
    for j in range(1, len(knobs.TITLE_EXTRA_COUNT_P)):
        extended = fr[n_extras >= j]
        out[extended] = (
            out[extended] + " " + _fill(rng, _TEMPLATES["title_extras"], code, extended.size)
        )
    wordy = fr[rng.random(fr.size) < knobs.TITLE_SENTENCE_RATE]
    sentence = _fill(rng, _CATEGORIES[code]["desc"], code, wordy.size)
    out[wordy] = out[wordy] + " - " + sentence
    for lang_id, templates in ((1, _TEMPLATES["title_en"]), (2, _TEMPLATES["title_de"])):
        rows = np.flatnonzero(lang == lang_id)
        out[rows] = _fill(rng, templates, code, rows.size)
    noisy = np.flatnonzero(rng.random(m) < knobs.TITLE_NOISE_RATE)
    noise = _pick(rng, VOCABULARY.slots["noise"], noisy.size)
    prefix = rng.random(noisy.size) < 0.3
    out[noisy] = np.where(prefix, noise + " " + out[noisy], out[noisy] + " - " + noise)
    return out


def descriptions(rng: np.random.Generator, code: int, lang: np.ndarray) -> np.ndarray:
    """HTML descriptions (some empty) of rows written as ``code``; ``lang`` as in ``titles``."""
    m = lang.size
    out = np.full(m, "", dtype=object)
    filled = np.flatnonzero(rng.random(m) >= knobs.EMPTY_DESC[code] * knobs.EMPTY_SCALE)
    foreign = filled[lang[filled] != 0]
    for lang_id, templates in (
        (1, _TEMPLATES["description_en"]),
        (2, _TEMPLATES["description_de"]),
    ):
        rows = foreign[lang[foreign] == lang_id]
        first = _fill(rng, templates, code, rows.size)
        second = _fill(rng, templates, code, rows.size)
        out[rows] = first + np.where(rng.random(rows.size) < 0.5, " " + second, "")
    rows = filled[lang[filled] == 0]
    profile = VOCABULARY.profiles[code]
    count_p = profile.sentence_count_p or knobs.SENTENCE_COUNT_P
    n_sentences = rng.choice(len(count_p), rows.size, p=count_p) + 1
    sentences = np.full((rows.size, len(count_p)), "", dtype=object)
    for j in range(len(count_p)):
        active = np.flatnonzero(n_sentences > j)
        generic = rng.random(active.size) < knobs.GENERIC_SENTENCE_RATE
        sentences[active[generic], j] = _fill(
            rng, _TEMPLATES["description_fr"], code, int(generic.sum())
        )
        own = active[~generic]
        sentences[own, j] = _fill(rng, _CATEGORIES[code]["desc"], code, own.size)
    html_rate = knobs.HTML_RATE if profile.html_rate is None else profile.html_rate
    tagged = rng.random(rows.size) < html_rate
    style = np.where(tagged, rng.integers(1, 5, rows.size), 0)  # 0: plain text, no tags
    spec_counts = np.where(
        rng.random(rows.size) < knobs.SPEC_LIST_RATE, rng.integers(3, 21, rows.size), 0
    )
    specs = _fill(rng, _TEMPLATES["spec_lines"], code, int(spec_counts.sum())).tolist()
    boilerplate = rng.choice(len(_BOILERPLATES), rows.size, p=knobs.BOILERPLATE_P)
    texts: list[str] = []
    spec_pos = 0
    for i in range(rows.size):
        parts = sentences[i, : n_sentences[i]].tolist()
        text = _layout(parts, int(style[i]))
        if spec_counts[i]:
            items = specs[spec_pos : spec_pos + spec_counts[i]]
            spec_pos += int(spec_counts[i])
            if style[i]:
                text += "<ul><li>" + "</li><li>".join(items) + "</li></ul>"
            else:  # a plain-text editor: the list typed as dashes
                text += " - " + " - ".join(items)
        extra = _BOILERPLATES[boilerplate[i]]
        texts.append(text + (extra if style[i] else _plain(extra)))
    out[rows] = np.array(texts, dtype=object)
    return out


_TAG: Final = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    """Seller boilerplate as a plain-text editor would paste it: no tags."""
    return " " + " ".join(_TAG.sub(" ", html).split()) if html else ""


def _layout(parts: list[str], style: int) -> str:
    """The handful of HTML shapes sellers' editors produce."""
    if style == 0:
        return " ".join(parts)
    if style == 1:
        return "<p>" + " ".join(parts) + "</p>"
    if style == 2:
        return "<br />".join(parts)
    if style == 3:
        return "".join("<p>" + part + "</p>" for part in parts)
    return "<b>" + parts[0] + "</b><br />" + " ".join(parts[1:])
