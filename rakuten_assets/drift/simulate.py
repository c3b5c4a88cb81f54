"""Simulated production traffic: days of prediction-log rows, with or without a drift.

The drift check compares a week of logged predictions with the month before it, so a demo or a
test needs weeks of traffic it cannot wait for. This module produces them: new listings of the
training catalog's distribution (the synthetic generator, with seeds derived from the traffic
seed and the date, so never the training catalog's rows), scored by the Production pipeline and
logged through the API's record builder and insert (``rakuten_assets.predictions``), with
timestamps spread over each simulated local day.

Everything except ``latency_ms`` (a measured time) is a function of (seed, date, day number,
profile, model): a rerun gives the same prediction ids, and the insert-or-ignore of the log
makes it a no-op. Ids depend on (seed, date, position in the day) only, so a rerun over days
already simulated with the same seed keeps the rows that are there (``inserted`` says how many
were new); use another seed to add traffic on top.

Drift profiles (each moves its own signal and leaves the others about where they were).
Measured with ``drift.report.compute_report`` (7-day window vs the 30 days before, equal-width
PSI), 500 predictions a day, a model fitted on 20,000 synthetic listings; PSI with 1 and 2
drifted days in the window; 30 clean days gave 30 OK reports, no signal above PSI 0.01:

* ``class_shift``: 90 % of the day's traffic comes from five categories that are ~1 % each of
  the catalog, chosen because their texts have the usual length and vocabulary coverage.
  Predicted-class PSI 0.11 / 0.35; every other signal < 0.01.
* ``new_vocabulary``: half of the words of 3+ letters of titles and descriptions are replaced
  by invented brand / product names of the same length that the model's vocabulary never saw
  (a new product line). Text length and word count are unchanged by construction; mean
  unknown-token share 0.06 -> 0.39, PSI 0.20 / 0.57; confidence PSI 0.01 / 0.05.
* ``longer_texts``: each description is extended to 3,000-5,000+ characters with other
  listings' descriptions (half of the same category, half of any: same-category padding alone
  made the model markedly more confident), each title gets a second same-category title.
  Text-length and word-count PSI 0.45 / 1.15; confidence, class, unknown share < 0.03.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from rakuten_assets.categories import CATEGORY_CODES, REAL_CATALOG_ROWS, REAL_CLASS_COUNTS
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.predictions import (
    DEFAULT_TOP_K,
    PredictionRecord,
    insert_records,
    prediction_record,
    probe_for,
    rank,
    unknown_shares,
)

__all__ = [
    "DEFAULT_PER_DAY",
    "DEFAULT_SEED",
    "LONG_DESCRIPTION_CHARS",
    "PROFILES",
    "REPLACE_RATE",
    "SHIFT_CLASSES",
    "SHIFT_SHARE",
    "DaySummary",
    "DriftProfile",
    "SimulationSummary",
    "class_shift",
    "drift_profile",
    "listings_for_day",
    "longer_texts",
    "new_vocabulary",
    "simulate_traffic",
    "yesterday",
]

DEFAULT_SEED: Final = 101
DEFAULT_PER_DAY: Final = 500
PROFILES: Final = ("class_shift", "new_vocabulary", "longer_texts")

#: Rare categories (~0.9-1 % of the catalog each) whose texts look like the average listing's.
SHIFT_CLASSES: Final = (60, 1180, 1301, 1940, 2220)
#: Share of a class-shifted day's traffic that comes from ``SHIFT_CLASSES``.
SHIFT_SHARE: Final = 0.9
#: Share of the words of 3+ letters that ``new_vocabulary`` replaces by invented names.
REPLACE_RATE: Final = 0.5
#: ``longer_texts`` grows each description to at least a length drawn in this range (chars).
LONG_DESCRIPTION_CHARS: Final = (3_000, 5_000)
SCORE_BATCH: Final = 1_000

# Independent random streams per (seed, date): the listings, their timestamps, the drift.
_LISTINGS, _TIMES, _DRIFT = 0, 1, 2
_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "rakuten_assets.drift.simulate")

#: A drift: the day's clean listings in, the same number of drifted listings out.
DriftProfile = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@dataclass(frozen=True)
class DaySummary:
    """What one simulated local day logged."""

    day: date
    rows: int
    #: Rows that were not in the log yet (the rest came from an earlier run with the same seed).
    inserted: int
    drifted: bool
    #: ``(prediction_id, true prdtypecode)`` of each simulated listing: the labels that would
    #: arrive later, to compare an estimate with the realised performance.
    labels: tuple[tuple[str, int], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class SimulationSummary:
    """What a simulation logged, per day: for the CLI's table and for callers' checks."""

    model_version: int
    profile: str | None
    seed: int
    timezone: str
    days: tuple[DaySummary, ...]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.days)

    @property
    def inserted(self) -> int:
        return sum(d.inserted for d in self.days)

    @property
    def rows_per_day(self) -> dict[date, int]:
        return {d.day: d.rows for d in self.days}

    @property
    def drifted_days(self) -> list[date]:
        return [d.day for d in self.days if d.drifted]

    def as_frame(self) -> pd.DataFrame:
        """One row per simulated day (date, rows, new rows, drift), for printing."""
        return pd.DataFrame(
            {
                "day": [d.day.isoformat() for d in self.days],
                "rows": [d.rows for d in self.days],
                "new rows": [d.inserted for d in self.days],
                "drift": [self.profile if d.drifted else "-" for d in self.days],
            }
        )


def yesterday(timezone: str, now: datetime | None = None) -> date:
    """The local date before today in ``timezone``: the day tonight's drift report covers."""
    moment = now if now is not None else datetime.now(UTC)
    return moment.astimezone(_zone(timezone)).date() - timedelta(days=1)


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {timezone!r} (use an IANA name such as Europe/Paris)"
        ) from exc


def _rng(seed: int, day: date, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, day.toordinal(), stream]))


def _catalog_seed(rng: np.random.Generator) -> int:
    """A 63-bit generator seed: never the training catalog's small ``RANDOM_SEED`` in practice."""
    return int(rng.integers(0, 2**63 - 1))


def listings_for_day(seed: int, day: date, per_day: int) -> pd.DataFrame:
    """The day's new listings, same distribution as the training catalog (same class mix daily).

    The generator splits its rows over the categories by the real frequencies (largest
    remainder), so every clean day has the same class counts: without drift, consecutive days
    differ by sampling noise only.
    """
    rows = max(per_day, len(CATEGORY_CODES))  # the generator puts every category in each catalog
    catalog = generate_catalog(rows, seed=_catalog_seed(_rng(seed, day, _LISTINGS)))
    return catalog.head(per_day).reset_index(drop=True)


# --- drift profiles ---------------------------------------------------------------------------


def class_shift(listings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``SHIFT_SHARE`` of the traffic from ``SHIFT_CLASSES`` (rare in the catalog), rest unchanged."""
    n = len(listings)
    n_shift = round(n * SHIFT_SHARE)
    k = len(SHIFT_CLASSES)
    wanted = {code: n_shift // k + (i < n_shift % k) for i, code in enumerate(SHIFT_CLASSES)}
    # The generator gives each class floor(rows * share) rows or more: this many rows are
    # guaranteed to hold enough listings of the rarest shifted class.
    rarest = min(REAL_CLASS_COUNTS[code] for code in SHIFT_CLASSES)
    pool_rows = max(
        len(CATEGORY_CODES), math.ceil((max(wanted.values()) + 1) * REAL_CATALOG_ROWS / rarest)
    )
    pool = generate_catalog(pool_rows, seed=_catalog_seed(rng))
    picked = [pool[pool["prdtypecode"] == code].head(count) for code, count in wanted.items()]
    mixed = pd.concat([listings.head(n - n_shift), *picked], ignore_index=True)
    # Shuffled, or the shifted listings would all get the day's last timestamps.
    return mixed.iloc[rng.permutation(len(mixed))].reset_index(drop=True)


_WORD = re.compile(r"(?<![&<\w/#])[^\W\d_]{3,}\b")  # letters only; not entities nor tag names
_CONSONANTS: Final = "bdfgklmnprstvxz"
_VOWELS: Final = "aeiouy"


class _Lexicon:
    """Invented names by length, none of them a token the model knows; a few per length, so
    the same new names recur through the day like a new product line would."""

    NAMES_PER_LENGTH: Final = 12

    def __init__(self, rng: np.random.Generator, known_tokens: Collection[str]) -> None:
        self._rng = rng
        self._known = known_tokens
        self._names: dict[int, list[str]] = {}

    def _invent(self, length: int) -> str:
        for _ in range(10_000):
            start = int(self._rng.integers(0, 2))
            word = "".join(
                _CONSONANTS[int(self._rng.integers(0, len(_CONSONANTS)))]
                if (i + start) % 2 == 0
                else _VOWELS[int(self._rng.integers(0, len(_VOWELS)))]
                for i in range(length)
            )
            if word not in self._known and word not in self._names.get(length, ()):
                return word
        raise RuntimeError(f"could not invent an unknown word of {length} letters")

    def like(self, word: str) -> str:
        """An invented name with the length and the capitalisation of ``word``."""
        names = self._names.setdefault(len(word), [])
        if len(names) < self.NAMES_PER_LENGTH:
            names.append(self._invent(len(word)))
        name = names[int(self._rng.integers(0, len(names)))]
        if word.isupper():
            return name.upper()
        return name.capitalize() if word[0].isupper() else name


def new_vocabulary(
    listings: pd.DataFrame, rng: np.random.Generator, known_tokens: Collection[str] = ()
) -> pd.DataFrame:
    """``REPLACE_RATE`` of the words replaced by invented names absent from ``known_tokens``.

    Same-length replacements keep text length and word count exactly as they were, so only the
    unknown-token share (and, through it, the model's confidence) can tell.
    """
    lexicon = _Lexicon(rng, known_tokens)

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        return lexicon.like(word) if rng.random() < REPLACE_RATE else word

    out = listings.copy()
    for column in ("designation", "description"):
        out[column] = [_WORD.sub(replace, text) for text in out[column]]
    return out


def longer_texts(listings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Descriptions grown past 3,000-5,000 chars with other listings' text; titles doubled."""
    pool = generate_catalog(max(4 * len(listings), 1_000), seed=_catalog_seed(rng))
    donors = pool[pool["description"].str.len() > 0]
    descriptions = donors["description"].tolist()
    by_class = {int(c): g["description"].tolist() for c, g in donors.groupby("prdtypecode")}
    titles = {int(c): g["designation"].tolist() for c, g in pool.groupby("prdtypecode")}
    low, high = LONG_DESCRIPTION_CHARS
    new_titles, new_descriptions = [], []
    for title, description, code in zip(
        listings["designation"], listings["description"], listings["prdtypecode"], strict=True
    ):
        own = by_class.get(int(code)) or descriptions
        target = int(rng.integers(low, high + 1))
        parts = [description] if description else []
        length = len(description)
        while length < target:
            source = own if rng.random() < 0.5 else descriptions
            part = source[int(rng.integers(0, len(source)))]
            parts.append(part)
            length += len(part) + 1
        new_descriptions.append(" ".join(parts))
        same = titles[int(code)]
        new_titles.append(f"{title} {same[int(rng.integers(0, len(same)))]}")
    out = listings.copy()
    out["designation"] = new_titles
    out["description"] = new_descriptions
    return out


def drift_profile(name: str, known_tokens: Collection[str] = ()) -> DriftProfile:
    """The profile called ``name``; ``known_tokens`` is the model's word vocabulary."""
    if name == "class_shift":
        return class_shift
    if name == "new_vocabulary":
        return partial(new_vocabulary, known_tokens=known_tokens)
    if name == "longer_texts":
        return longer_texts
    raise ValueError(f"unknown drift profile {name!r}; choose one of {', '.join(PROFILES)}")


# --- scoring and logging --------------------------------------------------------------------


def _prediction_id(seed: int, day: date, index: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{seed}/{day.isoformat()}/{index}"))


def _timestamps(seed: int, day: date, zone: ZoneInfo, n: int) -> list[datetime]:
    """``n`` sorted UTC instants, uniform over the local day (23 or 25 h on DST changes)."""
    start = datetime.combine(day, day_time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), day_time(), tzinfo=zone).astimezone(UTC)
    span_us = (end - start) // timedelta(microseconds=1)
    offsets = np.sort(_rng(seed, day, _TIMES).integers(0, span_us, n))
    return [start + timedelta(microseconds=int(offset)) for offset in offsets]


def _day_records(
    pipeline: Any,
    model_version: int,
    listings: pd.DataFrame,
    *,
    seed: int,
    day: date,
    zone: ZoneInfo,
    capture: bool = False,
) -> list[PredictionRecord]:
    """Score the listings in batches and build their log records exactly as the API does."""
    classes = np.asarray(pipeline.classes_)
    stamps = _timestamps(seed, day, zone, len(listings))
    records: list[PredictionRecord] = []
    for start in range(0, len(listings), SCORE_BATCH):
        batch = listings.iloc[start : start + SCORE_BATCH]
        # What an API client sends: no description rather than an empty one.
        descriptions = [d if d else None for d in batch["description"]]
        frame = pd.DataFrame({"designation": batch["designation"], "description": descriptions})
        started = time.perf_counter()
        probabilities = np.asarray(pipeline.predict_proba(frame))
        latency_ms = (time.perf_counter() - started) * 1000 / len(batch)
        shares = unknown_shares(
            pipeline, list(zip(batch["designation"], descriptions, strict=True))
        )
        for offset, (item, description, p, share) in enumerate(
            zip(batch.itertuples(index=False), descriptions, probabilities, shares, strict=True)
        ):
            index = start + offset
            designation = str(item.designation)
            records.append(
                prediction_record(
                    prediction_id=_prediction_id(seed, day, index),
                    predicted_at=stamps[index],
                    model_version=model_version,
                    designation=designation,
                    description=description,
                    ranked=rank(p, classes, DEFAULT_TOP_K),
                    latency_ms=latency_ms,
                    unknown_token_share=share,
                    productid=int(item.productid),
                    imageid=int(item.imageid),
                    capture=capture,
                )
            )
    return records


def simulate_traffic(
    engine: Engine,
    pipeline: Any,
    model_version: int,
    *,
    days: int,
    end_date: date,
    per_day: int = DEFAULT_PER_DAY,
    drift_from: int | None = None,
    profile: str | None = None,
    seed: int = DEFAULT_SEED,
    timezone: str = "Europe/Paris",
    capture: bool = False,
) -> SimulationSummary:
    """Log ``days`` days of ``per_day`` predictions of ``pipeline``, the last day ``end_date``.

    ``drift_from`` is the 1-based simulated day from which ``profile`` applies (``days=37,
    drift_from=31``: the last week drifts). Both or neither must be given. ``capture``
    (CAPTURE_INPUTS) stores the listings' texts too, as the API does.
    """
    if days < 1 or per_day < 1:
        raise ValueError(f"days and per_day must be >= 1 (got days={days}, per_day={per_day})")
    if seed < 0:
        raise ValueError(f"the seed must be >= 0 (got {seed})")
    if (drift_from is None) != (profile is None):
        raise ValueError("a drift needs both drift_from (its first day) and profile (its kind)")
    if drift_from is not None and not 1 <= drift_from <= days:
        raise ValueError(f"drift_from must be a simulated day, 1..{days} (got {drift_from})")
    zone = _zone(timezone)
    drift: DriftProfile | None = None
    if profile is not None:
        probe = probe_for(pipeline)
        drift = drift_profile(profile, probe.vocabulary if probe else frozenset())
    first_drifted = drift_from if drift_from is not None else days + 1
    started = time.perf_counter()
    summaries: list[DaySummary] = []
    for number in range(1, days + 1):
        day = end_date - timedelta(days=days - number)
        listings = listings_for_day(seed, day, per_day)
        drifted = number >= first_drifted
        if drifted and drift is not None:
            listings = drift(listings, _rng(seed, day, _DRIFT))
        records = _day_records(
            pipeline, model_version, listings, seed=seed, day=day, zone=zone, capture=capture
        )
        labels = tuple(
            (record.prediction_id, int(code))
            for record, code in zip(records, listings["prdtypecode"], strict=True)
        )
        inserted = insert_records(engine, records)
        summaries.append(DaySummary(day, len(records), inserted, drifted, labels))
    return SimulationSummary(
        model_version=model_version,
        profile=profile,
        seed=seed,
        timezone=timezone,
        days=tuple(summaries),
        seconds=time.perf_counter() - started,
    )
