"""How a model trained only on the synthetic catalog does on real listings, class by class.

Fits the production default (``ModelParams()``) on the synthetic pool (the catalog minus its
golden holdout, ``split_catalog(..., 0.10, seed=42)``), then scores it on that holdout and on
real labelled listings: weighted F1 of both, the per-class F1 side by side and the most
frequent confusions on the real rows. This is what a ``make demo`` model does on real
listings (issue 13's target: real weighted F1 >= 0.65 with the holdout between 0.75 and 0.90).
Aggregate scores only: no real listing is printed.

    .venv/bin/python bench/synthetic_transfer.py --real-csv ../shared/data/rakuten_real_dev.csv
    .venv/bin/python bench/synthetic_transfer.py --real-csv ... --codes 10 2705 2403 2280
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Runnable as a plain script from the repository root without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rakuten_assets.data.catalog import normalise_catalog, read_labelled_csv, split_catalog
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.evaluation import per_class_table, score_model, top_confusions
from rakuten_assets.training.model import ModelParams, fit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--real-csv", type=Path, required=True, help="labelled real listings")
    parser.add_argument("--rows", type=int, default=84_916, help="synthetic catalog size")
    parser.add_argument("--seed", type=int, default=42, help="catalog seed")
    parser.add_argument("--codes", type=int, nargs="+", help="show these classes only")
    parser.add_argument("--confusions", type=int, default=15, help="confusions to show")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    catalog = normalise_catalog(generate_catalog(n_rows=args.rows, seed=args.seed), "synthetic")
    generated = time.perf_counter() - started
    split = split_catalog(catalog, holdout_fraction=0.10, seed=42)
    cpu = time.process_time()
    model = fit(split.pool, ModelParams())
    fit_cpu = time.process_time() - cpu
    holdout = score_model(model, split.holdout)
    real = score_model(model, read_labelled_csv(args.real_csv))

    table = per_class_table(real)[["prdtypecode", "category", "support", "precision", "recall"]]
    table = table.rename(
        columns={"support": "real rows", "precision": "real P", "recall": "real R"}
    )
    table["real F1"] = table["prdtypecode"].map(real.per_class_f1)
    table["holdout F1"] = table["prdtypecode"].map(holdout.per_class_f1)
    confusions = top_confusions(real, top=len(real.labels) ** 2)
    if args.codes:
        table = table[table["prdtypecode"].isin(args.codes)]
        codes = tuple(str(code) for code in args.codes)
        involved = confusions["true"].str.startswith(codes) | confusions[
            "predicted as"
        ].str.startswith(codes)
        confusions = confusions[involved]
    print(f"catalog {len(catalog):,} rows generated in {generated:.1f} s; fit {fit_cpu:.1f} s CPU")
    print(f"synthetic holdout weighted F1 {holdout.weighted_f1:.4f} ({len(split.holdout):,} rows)")
    print(f"real rows weighted F1         {real.weighted_f1:.4f} (macro {real.macro_f1:.4f})\n")
    print(markdown_table(table.round(3), floatfmt=".3f"))
    print()
    print(markdown_table(confusions.head(args.confusions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
