"""Which TF-IDF + LogisticRegression configuration is the production default, by measurement.

Every candidate is scored two ways: fitted on the synthetic pool (``split_catalog(..., 0.10,
seed=42)``: the catalog minus its golden holdout) and scored on that holdout; and, with
``--real-csv``, by stratified 5-fold CV on real labelled listings, the same folds for every
candidate (``evaluation.stratified_folds``, seed 42), the original configuration among them.
``syn->real`` scores the model fitted on the synthetic pool on all the real rows (what a
``make demo`` model does on real listings). ``fit s`` / ``fit cpu`` are wall and CPU time of
one synthetic ``fit()``, ``real cpu`` the CPU time of all folds, ``MB`` the pickled model.

The measurements and the reading that chose the default: ``docs/model.md``.

    .venv/bin/python bench/model_selection.py --real-csv ../shared/data/rakuten_real_dev.csv
    .venv/bin/python bench/model_selection.py --quick --real-csv ...   # original, previous, default
    .venv/bin/python bench/model_selection.py --only C=1 C=2 --no-synthetic --real-csv ...
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

# Runnable as a plain script from the repository root without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rakuten_assets.data.catalog import (
    SplitCatalog,
    normalise_catalog,
    read_labelled_csv,
    split_catalog,
)
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.evaluation import (
    Fitter,
    cross_validate,
    fit_original,
    score,
    score_model,
)
from rakuten_assets.training.model import INPUT_COLUMNS, ModelParams, fit

DEFAULT = ModelParams()


@dataclass(frozen=True)
class Candidate:
    name: str
    what: str
    params: ModelParams | None  # None: the original system's pipeline
    quick: bool = False  # part of ``--quick``


def _variant(**changes: Any) -> ModelParams:
    """The default with some fields changed (validated like any ModelParams)."""
    return ModelParams.model_validate(DEFAULT.model_dump() | changes)


PREVIOUS = ModelParams(C=0.5)  # the default until issue 13, chosen on synthetic data only

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("original", "original system: word 1-2, max 5000, LR C=1 lbfgs", None, quick=True),
    Candidate("previous", "words + title char_wb 3-4 (30k), C=0.5, sag 10 ep.", PREVIOUS,
              quick=True),
    Candidate("DEFAULT", "words + title char_wb 3-4 (30k), C=2, sag 10 ep.", DEFAULT, quick=True),
    Candidate("word12-lbfgs", "default before the char block: word 1-2 only, C=5, lbfgs 300 it.",
              _variant(word_ngram_max=2, char_max_features=0, C=5.0, solver="lbfgs", max_iter=300)),
    Candidate("words-only", "default without the title char block", _variant(char_max_features=0)),
    Candidate("text-char", "default, word 1-2 + char_wb 3-5 of title+description (200k)",
              _variant(word_ngram_max=2, char_field="text", char_ngram_max=5,
                       char_max_features=200_000)),
    Candidate("issue-lbfgs", "word 1-2 + char_wb 2-5 of the text (no cap), lbfgs C=20 300 it.",
              _variant(word_ngram_max=2, char_field="text", char_ngram_min=2, char_ngram_max=5,
                       char_max_features=10_000_000, solver="lbfgs", C=20.0, max_iter=300)),
    Candidate("word12", "default, word 1-2-grams", _variant(word_ngram_max=2)),
    Candidate("char25", "default, title char_wb 2-5", _variant(char_ngram_min=2, char_ngram_max=5)),
    Candidate("char35", "default, title char_wb 3-5", _variant(char_ngram_max=5)),
    Candidate("char-nocap", "default, title char vocabulary not capped",
              _variant(char_max_features=10_000_000)),
    Candidate("min-df-1", "default, words and char n-grams seen once kept",
              _variant(word_min_df=1, char_min_df=1)),
    Candidate("desc300", "default, descriptions cut to 300 chars", _variant(description_max_chars=300)),
    Candidate("C=1", "default, C=1", _variant(C=1.0)),
    Candidate("C=1.5", "default, C=1.5", _variant(C=1.5)),
    Candidate("C=3", "default, C=3", _variant(C=3.0)),
    Candidate("C=5", "default, C=5", _variant(C=5.0)),
    Candidate("sag-20", "default, sag 20 epochs", _variant(max_iter=20)),
    Candidate("saga-10", "default, saga 10 epochs", _variant(solver="saga")),
    Candidate("lbfgs-100", "default, lbfgs 100 it.", _variant(solver="lbfgs", max_iter=100)),
    Candidate("no-weights", "default, no rebalancing", _variant(rebalance="none")),
    Candidate("oversample", "default, oversampling (floor 0.3), no weights",
              _variant(rebalance="oversample")),
)  # fmt: skip


def fitter(candidate: Candidate) -> Fitter:
    """Train frame -> fitted model for ``candidate`` (the original pipeline when it has no params)."""
    params = candidate.params
    if params is None:
        return fit_original
    return lambda train: fit(train, params)


@dataclass(frozen=True)
class Synthetic:
    weighted_f1: float
    macro_f1: float
    fit_s: float
    fit_cpu_s: float
    predict_s: float
    features: int
    megabytes: float
    real_f1: float | None  # the same model scored on the real rows, if any


def run_synthetic(
    candidate: Candidate, pool: pd.DataFrame, holdout: pd.DataFrame, real: pd.DataFrame | None
) -> Synthetic:
    """Fit on the pool, predict the holdout (and the real rows), time both."""
    start, cpu = time.perf_counter(), time.process_time()
    model: Pipeline = fitter(candidate)(pool)
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    predictions = np.asarray(model.predict(holdout[list(INPUT_COLUMNS)])).astype("int64")
    predict_s = time.perf_counter() - start
    scores = score(holdout["prdtypecode"].to_numpy(), predictions)
    return Synthetic(
        weighted_f1=scores.weighted_f1,
        macro_f1=scores.macro_f1,
        fit_s=fit_s,
        fit_cpu_s=fit_cpu_s,
        predict_s=predict_s,
        features=int(model.steps[-1][1].coef_.shape[1]),
        megabytes=len(cloudpickle.dumps(model)) / 1e6,
        real_f1=score_model(model, real).weighted_f1 if real is not None else None,
    )


def measure(
    candidate: Candidate,
    split: SplitCatalog | None,
    real: pd.DataFrame | None,
    folds: int,
) -> dict[str, Any]:
    """One row of the table: the synthetic holdout and/or CV on the real rows."""
    row: dict[str, Any] = {"config": candidate.name}
    if split is not None:
        syn = run_synthetic(candidate, split.pool, split.holdout, real)
        row |= {
            "syn wF1": syn.weighted_f1,
            "syn macroF1": syn.macro_f1,
            "fit s": syn.fit_s,
            "fit cpu": syn.fit_cpu_s,
            "pred s": syn.predict_s,
            "features": syn.features,
            "MB": syn.megabytes,
        }
        if syn.real_f1 is not None:
            row["syn->real wF1"] = syn.real_f1
    if real is not None:
        cv = cross_validate(real, fitter(candidate), folds=folds, seed=42).summary
        row |= {
            "real wF1": cv["weighted_f1"],
            "real sd": cv["weighted_f1_std"],
            "real macroF1": cv["macro_f1"],
            "real cpu": cv["cpu_seconds"],
        }
    return row | {"what": candidate.what}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=84_916, help="catalog size (default: full)")
    parser.add_argument("--quick", action="store_true", help="original, previous, default only")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these candidates only")
    parser.add_argument(
        "--real-csv", type=Path, help="labelled real listings (challenge format) to cross-validate"
    )
    parser.add_argument("--folds", type=int, default=5, help="CV folds on --real-csv")
    parser.add_argument(
        "--no-synthetic", action="store_true", help="skip the synthetic holdout (needs --real-csv)"
    )
    args = parser.parse_args(argv)

    names = [c.name for c in CANDIDATES]
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        parser.error(f"unknown candidate(s) {unknown}; choose from {names}")
    if args.no_synthetic and args.real_csv is None:
        parser.error("--no-synthetic leaves nothing to measure without --real-csv")
    chosen = [
        c
        for c in CANDIDATES
        if (args.only is None or c.name in args.only) and (c.quick or not args.quick)
    ]
    split = None
    if not args.no_synthetic:
        catalog = normalise_catalog(generate_catalog(n_rows=args.rows), "synthetic")
        split = split_catalog(catalog, holdout_fraction=0.10, seed=42)
        print(
            f"synthetic: pool {len(split.pool)} rows ({split.pool_hash[:12]}), "
            f"holdout {len(split.holdout)} rows ({split.holdout_hash[:12]})",
            flush=True,
        )
    real = read_labelled_csv(args.real_csv) if args.real_csv is not None else None
    if real is not None:
        print(f"real: {len(real)} rows of {args.real_csv}, {args.folds}-fold CV", flush=True)
    rows = []
    for candidate in chosen:
        rows.append(measure(candidate, split, real, args.folds))
        print("  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in rows[-1].items()), flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    formats = {"fit s": ".1f", "fit cpu": ".1f", "pred s": ".2f", "MB": ".0f", "real cpu": ".1f"}
    print(markdown_table(table, floatfmt=[formats.get(c, ".4f") for c in table.columns]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
