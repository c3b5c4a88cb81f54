"""Loading the full catalog pool into PostgreSQL: our loader vs ``pandas.DataFrame.to_sql``.

Both write the same 76,424 rows of the synthetic catalog into a fresh database on the same
server, in the same run. Ours is one audited transaction (COPY + per-row history + audit row);
the baseline is pandas' plain ``to_sql`` (batched INSERTs through SQLAlchemy), and its
``method="multi"`` variant. Target: ours at least 5x faster than ``to_sql``.

    .venv/bin/python bench/load.py [--pg-admin-dsn DSN] [--rows N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import Engine, create_engine, func, select, text

from rakuten_assets.data.catalog import normalise_catalog, split_catalog
from rakuten_assets.data.loader import PRODUCT_COLUMNS, load_slice
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.db import products, upgrade_schema
from rakuten_assets.processes import scratch_postgres_database


@contextmanager
def fresh_database(admin_dsn: str, url_base: str) -> Iterator[Engine]:
    with scratch_postgres_database(admin_dsn, url_base, "rakuten_bench") as url:
        engine = create_engine(url)
        try:
            upgrade_schema(engine)
            yield engine
        finally:
            engine.dispose()


def ours(engine: Engine, pool: pd.DataFrame, pool_hash: str) -> int:
    result = load_slice(
        engine, pool, slice_index=0, partition_key="bench", catalog_hash=pool_hash,
        initial_pct=100.0, increment_pct=3.0,
    )  # fmt: skip
    return result.rows_inserted


def _frame_for_to_sql(pool: pd.DataFrame) -> pd.DataFrame:
    frame = pool.reset_index().rename(columns={"index": "product_row_id"})
    frame["slice_index"] = 0
    frame["batch_id"] = "bench"
    frame["loaded_at"] = pd.Timestamp.now(tz="UTC")
    return frame[list(PRODUCT_COLUMNS)]


def pandas_to_sql(method: str | None) -> Callable[[Engine, pd.DataFrame, str], int]:
    def run(engine: Engine, pool: pd.DataFrame, _hash: str) -> int:
        frame = _frame_for_to_sql(pool)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO data_loads (batch_id, partition_key, slice_index, target_pct, "
                    "start_rank, end_rank, rows_inserted, status, catalog_hash, started_at) "
                    "VALUES ('bench', 'bench', 0, 100, 0, 0, 0, 'running', 'x', now())"
                )
            )
            frame.to_sql(
                "products", conn, if_exists="append", index=False, method=method, chunksize=1000
            )
        return len(frame)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-admin-dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    )
    parser.add_argument("--pg-url-base", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--rows", type=int, default=84_916)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    split = split_catalog(normalise_catalog(generate_catalog(args.rows), "synthetic"), 0.1, 42)
    pool, pool_hash = split.pool, split.pool_hash
    print(f"pool: {len(pool)} rows, PostgreSQL at {args.pg_url_base}, best of {args.repeat}\n")
    contenders = {
        "ours (COPY, audited, one transaction)": ours,
        "pandas to_sql (default)": pandas_to_sql(None),
        "pandas to_sql (method='multi', chunks 1000)": pandas_to_sql("multi"),
    }
    timings: dict[str, float] = {}
    for name, load in contenders.items():
        runs = []
        for _ in range(args.repeat):
            with fresh_database(args.pg_admin_dsn, args.pg_url_base) as engine:
                started = time.perf_counter()
                rows = load(engine, pool, pool_hash)
                runs.append(time.perf_counter() - started)
                with engine.connect() as conn:
                    count = conn.execute(select(func.count()).select_from(products)).scalar_one()
                if count != len(pool) or rows != len(pool):
                    raise SystemExit(f"{name}: loaded {count} rows, expected {len(pool)}")
        timings[name] = min(runs)
        print(
            f"{name:<45} best {min(runs):6.2f} s  median {statistics.median(runs):6.2f} s  "
            f"{len(pool) / min(runs):>9,.0f} rows/s"
        )
    baseline = timings["pandas to_sql (default)"]
    mine = timings["ours (COPY, audited, one transaction)"]
    print(f"\nspeed-up over pandas to_sql: {baseline / mine:.1f}x (target >= 5x)")
    multi = timings["pandas to_sql (method='multi', chunks 1000)"]
    print(f"speed-up over to_sql(method='multi'): {multi / mine:.1f}x")


if __name__ == "__main__":
    main()
