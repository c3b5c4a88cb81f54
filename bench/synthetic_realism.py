"""Side-by-side statistics of the synthetic catalog and of real labelled listings.

What a text model sees, measured the same way on both: length distributions of titles and
descriptions, vocabulary sizes (on equal row counts), vocabulary overlap between the classes
that real listings confuse, shares of empty descriptions, HTML, entities, digits, units, lots
and non-French words; then, per class, how much of the real rows' words the synthetic catalog
uses at all. Aggregate statistics only: nothing of the real rows is kept or printed.

    .venv/bin/python bench/synthetic_realism.py --real-csv ../shared/data/rakuten_real_dev.csv
    .venv/bin/python bench/synthetic_realism.py --real-csv ... --codes 10 2705 2403 2280
"""

from __future__ import annotations

import argparse
import re
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

# Runnable as a plain script from the repository root without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rakuten_assets.data.catalog import normalise_catalog, read_labelled_csv
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.text import clean_text

#: Classes that real listings confuse with each other (issue 13).
CONFUSABLE = {
    "books": (10, 2403, 2705, 2280),
    "games": (40, 50, 60, 2462, 2905),
    "toys": (1280, 1281, 1300, 1302),
    "home": (1560, 2060, 1920, 2582),
}
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_PATTERNS = {
    "HTML tag": re.compile(r"<[a-zA-Z/][^>]*>"),
    "HTML entity": re.compile(r"&(?:#\d+|[a-zA-Z]+);"),
    "digit in title": re.compile(r"\d"),
    "unit (cm, kg, ml...)": re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:mm|cm|m|kg|g|ml|cl|l|w|v|mah|go|gb)\b", re.I),
    "lot / set (lot de 3, x2)": re.compile(r"\blot\b|\bset\b|\bx\s?\d+\b|\b\d+\s?x\b", re.I),
    "English word": re.compile(r"\b(?:the|and|with|for|of|edition)\b", re.I),
    "German word": re.compile(r"\b(?:und|mit|für|der|die|das)\b", re.I),
    "all-caps word": re.compile(r"\b[A-Z]{4,}\b"),
    "model number in title (XR500, A-12)": re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[a-zA-Z])[a-zA-Z\d][\w-]{2,}\b"),
}  # fmt: skip


def _tokens(texts: pd.Series) -> list[set[str]]:
    return [set(words) for words in _token_lists(texts)]


def _quantiles(values: pd.Series) -> str:
    p10, p50, p90 = np.percentile(values, [10, 50, 90]) if len(values) else (0, 0, 0)
    return f"{p10:.0f} / {p50:.0f} / {p90:.0f}"


def _overlap(frame: pd.DataFrame, codes: tuple[int, ...]) -> float:
    """Mean Jaccard similarity of the title vocabularies of each pair of classes in ``codes``."""
    vocab = {
        code: set().union(*_tokens(frame.loc[frame["prdtypecode"] == code, "designation"]))
        for code in codes
    }
    pairs = [len(vocab[a] & vocab[b]) / max(len(vocab[a] | vocab[b]), 1)
             for a, b in combinations(codes, 2)]  # fmt: skip
    return float(np.mean(pairs))


def statistics(frame: pd.DataFrame) -> dict[str, str]:
    """The statistics of one labelled frame, formatted for the side-by-side table."""
    title = frame["designation"].fillna("").astype(str)
    description = frame["description"].fillna("").astype(str)
    has_description = description.str.strip() != ""
    cleaned = description[has_description].map(clean_text)
    raw = title + " " + description
    words = _tokens(title)
    stats = {
        "rows": f"{len(frame)}",
        "empty description": f"{1 - has_description.mean():.1%}",
        "title chars p10 / p50 / p90": _quantiles(title.map(clean_text).str.len()),
        "title words p10 / p50 / p90": _quantiles(pd.Series([len(w) for w in words])),
        "description chars p10 / p50 / p90 (non-empty)": _quantiles(cleaned.str.len()),
        "title vocabulary": f"{len(set().union(*words))}",
        "text vocabulary": f"{len(set().union(*_tokens(raw)))}",
        "title words seen once": f"{_hapax_share(words):.1%}",
    }
    for name, pattern in _PATTERNS.items():
        source = title if "title" in name or name == "all-caps word" else raw
        stats[f"share with {name}"] = f"{source.str.contains(pattern).mean():.1%}"
    for group, codes in CONFUSABLE.items():
        if not set(codes) <= set(frame["prdtypecode"]):
            continue
        stats[f"title vocabulary overlap, {group} {codes}"] = f"{_overlap(frame, codes):.3f}"
    return stats


def _hapax_share(words: list[set[str]]) -> float:
    counts = pd.Series([w for row in words for w in row]).value_counts()
    return float((counts == 1).mean()) if len(counts) else 0.0


def same_shape_sample(synthetic: pd.DataFrame, real: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Synthetic rows with the real rows' class counts, so sizes and overlaps compare."""
    counts = real["prdtypecode"].value_counts()
    parts = [
        synthetic[synthetic["prdtypecode"] == code].sample(n=int(n), random_state=seed)
        for code, n in counts.items()
    ]
    return pd.concat(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--real-csv", type=Path, required=True, help="labelled real listings")
    parser.add_argument("--rows", type=int, default=84_916, help="synthetic catalog size")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--codes", type=int, nargs="+", help="compare these classes only")
    args = parser.parse_args(argv)
    real = read_labelled_csv(args.real_csv)
    synthetic = normalise_catalog(generate_catalog(n_rows=args.rows), "synthetic")
    if args.codes:
        real = real[real["prdtypecode"].isin(args.codes)]
    sample = same_shape_sample(synthetic, real, args.seed)
    ours, theirs = statistics(sample), statistics(real)
    table = pd.DataFrame(
        {"statistic": list(theirs), "real": list(theirs.values()),
         "synthetic (same class counts)": [ours[k] for k in theirs]}
    )  # fmt: skip
    print(markdown_table(table))
    print()
    print(markdown_table(coverage(synthetic, real), floatfmt=("g", "g", ".1%", ".1%")))
    return 0


def coverage(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Per class: the share of the real rows' word occurrences that the whole synthetic catalog
    uses somewhere (titles, and titles + descriptions): how much of what real listings say a
    model trained on synthetic rows has ever seen."""
    known_title = set().union(*_tokens(synthetic["designation"]))
    known_text = known_title.union(*_tokens(synthetic["description"]))
    rows = []
    for code, group in real.groupby("prdtypecode"):
        title = [w for row in _token_lists(group["designation"]) for w in row]
        text = title + [w for row in _token_lists(group["description"]) for w in row]
        rows.append(
            {"prdtypecode": code, "real rows": len(group),
             "title words known": np.mean([w in known_title for w in title]) if title else 0.0,
             "text words known": np.mean([w in known_text for w in text]) if text else 0.0}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _token_lists(texts: pd.Series) -> list[list[str]]:
    return [_TOKEN.findall(clean_text(t).lower()) for t in texts.fillna("").astype(str)]


if __name__ == "__main__":
    raise SystemExit(main())
