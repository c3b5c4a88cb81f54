"""Incremental loads on SQLite and PostgreSQL: percentages, idempotency, crashes, audit."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.data.loader import (
    last_slice_index,
    load_slice,
    next_slice_index,
    plan_slice,
    read_loaded,
    target_pct,
)
from rakuten_assets.db import data_loads, product_history, products


def _load(engine: Engine, split: SplitCatalog, index: int, **kwargs: object):  # type: ignore[no-untyped-def]
    return load_slice(
        engine,
        split.pool,
        slice_index=index,
        partition_key=f"week-{index}",
        catalog_hash=split.pool_hash,
        **kwargs,  # type: ignore[arg-type]
    )


def _count(engine: Engine, table=products) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    ("index", "expected"),
    [(0, 40.0), (1, 43.0), (2, 46.0), (19, 97.0), (20, 100.0), (21, 100.0), (100, 100.0)],
)
def test_target_pct_starts_at_40_adds_3_and_stops_at_100(index: int, expected: float) -> None:
    assert target_pct(index, 40.0, 3.0) == expected


def test_twenty_one_slices_cover_the_pool_without_gaps_or_overlaps() -> None:
    pool_size = 76_424
    assert last_slice_index(40.0, 3.0) == 20
    plans = [plan_slice(i, pool_size, 40.0, 3.0) for i in range(23)]
    assert plans[0].start_rank == 0
    for before, after in itertools.pairwise(plans):
        assert after.start_rank == before.end_rank
    assert plans[20].end_rank == pool_size
    assert plans[21].start_rank == plans[21].end_rank == pool_size


def test_negative_slice_is_rejected() -> None:
    with pytest.raises(ValueError, match="slice_index must be >= 0"):
        target_pct(-1, 40.0, 3.0)


def test_loads_grow_40_43_46_and_stop_at_100(engine: Engine, small_split: SplitCatalog) -> None:
    pool_size = len(small_split.pool)
    totals = []
    for index in range(22):
        result = _load(engine, small_split, index)
        totals.append(result.rows_total)
        assert result.rows_total == plan_slice(index, pool_size, 40.0, 3.0).end_rank
    assert totals[0] == int(pool_size * 0.40)
    assert totals[1] == int(pool_size * 0.43)
    assert totals[20] == pool_size
    assert totals[21] == pool_size  # a week past 100 % loads nothing new
    assert next_slice_index(engine) == 22


def test_rerunning_a_slice_adds_no_duplicates(engine: Engine, small_split: SplitCatalog) -> None:
    first = _load(engine, small_split, 0)
    again = _load(engine, small_split, 0)
    assert first.rows_inserted > 0
    assert again.rows_inserted == 0
    assert again.rows_skipped == first.rows_inserted
    assert _count(engine) == first.rows_inserted
    assert _count(engine, product_history) == first.rows_inserted
    with engine.connect() as conn:
        statuses = conn.execute(select(data_loads.c.status)).scalars().all()
    assert statuses == ["completed", "completed"]


def test_crash_mid_load_leaves_nothing_partial_and_a_failed_audit_row(
    engine: Engine, small_split: SplitCatalog
) -> None:
    _load(engine, small_split, 0)
    before = _count(engine)
    with pytest.raises(RuntimeError, match="injected failure"):
        _load(engine, small_split, 1, _fail_after_insert=True)
    assert _count(engine) == before
    assert _count(engine, product_history) == before
    with engine.connect() as conn:
        failed = (
            conn.execute(select(data_loads).where(data_loads.c.status == "failed")).one()._mapping
        )
    assert failed["slice_index"] == 1
    assert "injected failure" in failed["error"]
    assert failed["completed_at"] is not None
    # the next attempt of the same week succeeds and loads the whole slice
    retry = _load(engine, small_split, 1)
    assert retry.rows_total == plan_slice(1, len(small_split.pool), 40.0, 3.0).end_rank


def test_a_load_left_running_by_a_dead_process_is_marked_failed(
    engine: Engine, small_split: SplitCatalog
) -> None:
    from datetime import UTC, datetime

    with engine.begin() as conn:
        conn.execute(
            data_loads.insert().values(
                batch_id="dead-process",
                partition_key="week-0",
                slice_index=0,
                target_pct=40.0,
                start_rank=0,
                end_rank=10,
                rows_inserted=0,
                status="running",
                catalog_hash="x",
                started_at=datetime.now(UTC),
            )
        )
    _load(engine, small_split, 0)
    with engine.connect() as conn:
        row = (
            conn.execute(select(data_loads).where(data_loads.c.batch_id == "dead-process"))
            .one()
            ._mapping
        )
    assert row["status"] == "failed"
    assert "abandoned" in row["error"]


def test_golden_holdout_never_reaches_the_products_table(
    engine: Engine, small_split: SplitCatalog
) -> None:
    for index in range(21):
        _load(engine, small_split, index)
    with engine.connect() as conn:
        ids = set(conn.execute(select(products.c.product_row_id)).scalars())
    assert ids == set(small_split.pool.index)
    assert ids.isdisjoint(set(small_split.holdout.index))


def test_loaded_rows_round_trip_exactly(engine: Engine, small_split: SplitCatalog) -> None:
    """Text with HTML, quotes, commas, newlines and empty descriptions survives COPY and SQLite."""
    _load(engine, small_split, 0)
    loaded = read_loaded(engine, 0)
    expected = small_split.pool[small_split.pool["load_rank"] < len(loaded)]
    columns = ["designation", "description", "productid", "imageid", "prdtypecode"]
    pd.testing.assert_frame_equal(
        loaded[columns].sort_index(), expected[columns].sort_index(), check_names=False
    )
    assert (loaded["description"] == "").any()


def test_slice_index_filter_reads_only_earlier_slices(
    engine: Engine, small_split: SplitCatalog
) -> None:
    for index in range(3):
        _load(engine, small_split, index)
    assert len(read_loaded(engine, 0)) == plan_slice(0, len(small_split.pool), 40, 3).end_rank
    assert len(read_loaded(engine, 2)) == plan_slice(2, len(small_split.pool), 40, 3).end_rank


def test_load_without_schema_says_what_to_do(tmp_path, small_split: SplitCatalog) -> None:  # type: ignore[no-untyped-def]
    from rakuten_assets.db import get_engine

    bare = get_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    with pytest.raises(RuntimeError, match="rakuten init-db"):
        _load(bare, small_split, 0)


KILL_SCRIPT = """
import sys
import pandas as pd
from rakuten_assets.data.loader import load_slice
from rakuten_assets.db import get_engine
pool = pd.read_parquet(sys.argv[2])
load_slice(get_engine(sys.argv[1]), pool, slice_index=0, partition_key="week-0",
           catalog_hash="h", initial_pct=100.0)
"""


@pytest.mark.postgres
def test_a_load_killed_mid_copy_leaves_nothing_and_is_recovered(
    tmp_path: Path, pg_url: str
) -> None:
    """SIGKILL the loading process while COPY streams rows: no partial batch survives."""
    from rakuten_assets.data.catalog import normalise_catalog, split_catalog
    from rakuten_assets.data.synthetic import generate_catalog
    from rakuten_assets.db import get_engine, upgrade_schema

    engine = get_engine(pg_url)
    upgrade_schema(engine)
    split = split_catalog(normalise_catalog(generate_catalog(), "synthetic"), 0.1, 42)
    pool_path = tmp_path / "pool.parquet"
    split.pool.to_parquet(pool_path)
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, pg_url, str(pool_path)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            running = conn.execute(
                select(func.count()).select_from(data_loads).where(data_loads.c.status == "running")
            ).scalar_one()
        if running or process.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # inside the data transaction (COPY of 76k rows takes over a second)
    assert process.poll() is None, "the load finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert _count(engine) == 0
    assert _count(engine, product_history) == 0
    result = load_slice(
        engine, split.pool, slice_index=0, partition_key="week-0", catalog_hash="h",
        initial_pct=100.0,
    )  # fmt: skip
    assert result.rows_total == len(split.pool)
    with engine.connect() as conn:
        statuses = sorted(conn.execute(select(data_loads.c.status)).scalars())
    assert statuses == ["completed", "failed"]
