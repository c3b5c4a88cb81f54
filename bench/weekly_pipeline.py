"""One weekly run at 100 % of the catalog (load, train, evaluate, promote), timed per step.

Runs the real `weekly_ml_pipeline` job through Dagster, in-process, on SQLite and on a fresh
PostgreSQL database, each with a fresh local MLflow store. Then trains the original system's
configuration on the same training rows and scores it on the same golden holdout.
Targets: the weekly run under 60 s; our model at least +0.03 weighted F1 over the original.

    .venv/bin/python bench/weekly_pipeline.py [--rows N] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg

from rakuten_assets.calendar import WEEKLY_JOB, Calendar
from rakuten_assets.data.catalog import read_holdout
from rakuten_assets.data.loader import read_loaded
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.definitions import build_assets
from rakuten_assets.defs.jobs import build_weekly_job
from rakuten_assets.defs.resources import build_resources
from rakuten_assets.settings import Settings
from rakuten_assets.training.evaluation import score_model, split_train_validation
from rakuten_assets.training.model import INPUT_COLUMNS, build_original_pipeline

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
STEPS = ("product_slice", "training_set", "candidate_model", "model_evaluation", "model_promotion")


def run_backend(backend: str, rows: int, workdir: Path, min_f1: float) -> dict[str, Any]:
    database = ""
    if backend == "postgresql":
        name = f"rakuten_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database = f"{PG_BASE}/{name}"
    data_dir = workdir / backend
    settings = Settings(
        data_dir=data_dir,
        database_url=database,
        mlflow_tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}",
        synthetic_rows=rows,
        initial_load_pct=100.0,  # the first week loads the whole pool
        min_weighted_f1=min_f1,
    )
    try:
        upgrade_schema(get_engine(settings.sqlalchemy_url))
        cal = Calendar.from_settings(settings)
        assets = build_assets(cal)
        defs = dg.Definitions(
            assets=assets, jobs=[build_weekly_job(cal)], resources=build_resources(settings)
        )
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        with dg.instance_for_test() as instance:
            dg.materialize(
                assets,
                selection=["product_catalog"],
                instance=instance,
                resources=defs.resources,
                run_config=quiet,
            )
            started = time.perf_counter()
            result = defs.resolve_job_def(WEEKLY_JOB).execute_in_process(
                partition_key=Calendar.from_settings(settings).partition_key_for(0),
                instance=instance,
                run_config=quiet,
            )
            wall = time.perf_counter() - started
            stats = {
                s.step_key: (s.end_time or 0) - (s.start_time or 0)
                for s in instance.get_run_step_stats(result.run_id)
            }
        evaluation = result.output_for_node("model_evaluation")
        return {
            "settings": settings,
            "wall": wall,
            "steps": stats,
            "evaluation": evaluation,
            "train_seconds": result.asset_materializations_for_node("candidate_model")[0]
            .metadata["train_seconds"]
            .value,
        }
    finally:
        if database:
            get_engine.cache_clear()
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)')


def original_baseline(settings: Settings) -> tuple[float, float]:
    """The original configuration on the same training rows, scored on the same holdout."""
    loaded = read_loaded(get_engine(settings.sqlalchemy_url), 0)
    train, _ = split_train_validation(loaded, settings.validation_fraction, settings.random_seed)
    started = time.perf_counter()
    model = build_original_pipeline().fit(train[list(INPUT_COLUMNS)], train["prdtypecode"])
    seconds = time.perf_counter() - started
    return score_model(model, read_holdout(settings.catalog_dir)).weighted_f1, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=84_916)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--min-weighted-f1", type=float, default=0.75, help="lower it for small --rows smoke runs"
    )
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="rakuten-bench-") as tmp:
        results = {b: run_backend(b, args.rows, Path(tmp), args.min_weighted_f1) for b in backends}
        print(f"\nweekly_ml_pipeline at 100 % of a {args.rows}-row catalog (seconds)\n")
        print(f"{'step':<20}" + "".join(f"{b:>14}" for b in backends))
        for step in STEPS:
            print(
                f"{step:<20}"
                + "".join(f"{results[b]['steps'].get(step, 0):>14.1f}" for b in backends)
            )
        print(f"{'total (wall)':<20}" + "".join(f"{results[b]['wall']:>14.1f}" for b in backends))
        print("target: < 60 s per weekly run\n")

        first = results[backends[0]]
        ours_f1 = first["evaluation"]["candidate"]["weighted_f1"]
        base_f1, base_seconds = original_baseline(first["settings"])
        print("model on the golden holdout (same training rows, same holdout rows)")
        print(f"{'':<34}{'weighted F1':>12}{'train s':>10}")
        print(
            f"{'ours (defaults of ModelParams)':<34}{ours_f1:>12.4f}{first['train_seconds']:>10.1f}"
        )
        print(f"{'original system configuration':<34}{base_f1:>12.4f}{base_seconds:>10.1f}")
        print(f"difference: {ours_f1 - base_f1:+.4f} weighted F1 (target >= +0.03)")


if __name__ == "__main__":
    main()
