"""Incremental, audited, idempotent loads of catalog slices into the product database.

Slice ``k`` covers the pool rows whose ``load_rank`` lies in ``[start, end)``, where ``end`` is
``min(initial + k * increment, 100)`` % of the pool. A load is one transaction: rows, per-row
history and the audit row's completion commit together, or nothing does and the audit row says
``failed``. Rows already present are skipped, so re-running a slice never duplicates anything.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, func, insert, select, text, update

from rakuten_assets.db import data_loads, product_history, products, require_schema

PRODUCT_COLUMNS = (
    "product_row_id",
    "designation",
    "description",
    "productid",
    "imageid",
    "prdtypecode",
    "load_rank",
    "slice_index",
    "batch_id",
    "loaded_at",
)
#: Serialises concurrent loads on PostgreSQL (an arbitrary but fixed advisory-lock id).
_PG_LOAD_LOCK = 727_001


@dataclass(frozen=True)
class SlicePlan:
    slice_index: int
    target_pct: float
    start_rank: int
    end_rank: int


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    slice_index: int
    partition_key: str
    target_pct: float
    rows_inserted: int
    rows_skipped: int
    rows_total: int
    duration_s: float


def target_pct(slice_index: int, initial_pct: float, increment_pct: float) -> float:
    """Share of the pool loaded once slice ``slice_index`` is in: 40, 43, ..., capped at 100."""
    if slice_index < 0:
        raise ValueError(f"slice_index must be >= 0, got {slice_index}")
    return min(100.0, initial_pct + increment_pct * slice_index)


def plan_slice(
    slice_index: int, pool_size: int, initial_pct: float, increment_pct: float
) -> SlicePlan:
    pct = target_pct(slice_index, initial_pct, increment_pct)
    end = pool_size if pct >= 100.0 else math.floor(pool_size * pct / 100.0)
    if slice_index == 0:
        start = 0
    else:
        prev = target_pct(slice_index - 1, initial_pct, increment_pct)
        start = pool_size if prev >= 100.0 else math.floor(pool_size * prev / 100.0)
    return SlicePlan(slice_index, pct, start, end)


def last_slice_index(initial_pct: float, increment_pct: float) -> int:
    """Index of the first slice that reaches 100 % (20 with the defaults: 21 slices)."""
    return max(0, math.ceil((100.0 - initial_pct) / increment_pct))


ProgressFn = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _copy_postgres(connection: Connection, frame: pd.DataFrame) -> None:
    """Bulk insert with COPY (the fast path of PostgreSQL), inside the caller's transaction.

    Rows go through psycopg's C row encoder (``write_row``), which measured faster than
    rendering a CSV with pandas first (bench/load.py).
    """
    columns = ", ".join(frame.columns)
    raw = connection.connection.driver_connection
    sql = f"COPY products ({columns}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for row in frame.itertuples(index=False, name=None):
            copy.write_row(row)


def _insert_rows(connection: Connection, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    if connection.dialect.name == "postgresql":
        _copy_postgres(connection, frame)
    else:
        connection.execute(insert(products), frame.to_dict("records"))


def _existing_ids(connection: Connection, plan: SlicePlan) -> set[int]:
    rows = connection.execute(
        select(products.c.product_row_id).where(
            products.c.load_rank >= plan.start_rank, products.c.load_rank < plan.end_rank
        )
    )
    return {int(r[0]) for r in rows}


def _abandon_stale(engine: Engine, partition_key: str) -> None:
    """Loads left ``running`` by a killed process can never finish: mark them failed."""
    with engine.begin() as conn:
        conn.execute(
            update(data_loads)
            .where(data_loads.c.partition_key == partition_key, data_loads.c.status == "running")
            .values(
                status="failed", error="abandoned: the loading process died", completed_at=_now()
            )
        )


def load_slice(
    engine: Engine,
    pool: pd.DataFrame,
    *,
    slice_index: int,
    partition_key: str,
    catalog_hash: str,
    initial_pct: float = 40.0,
    increment_pct: float = 3.0,
    progress: ProgressFn | None = None,
    _fail_after_insert: bool = False,
) -> LoadResult:
    """Load slice ``slice_index`` of ``pool`` (ordered by ``load_rank``) in one transaction.

    ``_fail_after_insert`` makes the load crash after its rows were written but before commit;
    the fault tests use it to prove nothing partial survives.
    """
    require_schema(engine)
    plan = plan_slice(slice_index, len(pool), initial_pct, increment_pct)
    batch_id = str(uuid.uuid4())
    started = _now()
    t0 = time.perf_counter()
    _abandon_stale(engine, partition_key)
    with engine.begin() as conn:
        conn.execute(
            insert(data_loads).values(
                batch_id=batch_id,
                partition_key=partition_key,
                slice_index=slice_index,
                target_pct=plan.target_pct,
                start_rank=plan.start_rank,
                end_rank=plan.end_rank,
                rows_inserted=0,
                status="running",
                catalog_hash=catalog_hash,
                started_at=started,
            )
        )
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOAD_LOCK})
            wanted = pool[
                (pool["load_rank"] >= plan.start_rank) & (pool["load_rank"] < plan.end_rank)
            ]
            present = _existing_ids(conn, plan)
            new = wanted[~wanted.index.isin(list(present))]
            if progress:
                progress(
                    f"slice {slice_index} ({plan.target_pct:.0f} %): {len(new)} new rows, "
                    f"{len(present)} already loaded"
                )
            frame = new.reset_index().rename(columns={"index": "product_row_id"})
            frame["slice_index"] = slice_index
            frame["batch_id"] = batch_id
            frame["loaded_at"] = started
            _insert_rows(conn, frame[list(PRODUCT_COLUMNS)])
            conn.execute(
                insert(product_history).from_select(
                    ["product_row_id", "batch_id", "operation", "recorded_at"],
                    select(
                        products.c.product_row_id,
                        products.c.batch_id,
                        text("'insert'"),
                        products.c.loaded_at,
                    ).where(products.c.batch_id == batch_id),
                )
            )
            if _fail_after_insert:
                raise RuntimeError("injected failure after the rows were written")
            total = int(conn.execute(select(func.count()).select_from(products)).scalar_one())
            duration = time.perf_counter() - t0
            conn.execute(
                update(data_loads)
                .where(data_loads.c.batch_id == batch_id)
                .values(
                    status="completed",
                    rows_inserted=len(frame),
                    rows_total=total,
                    completed_at=_now(),
                    duration_s=duration,
                )
            )
    except BaseException as exc:
        with engine.begin() as conn:
            conn.execute(
                update(data_loads)
                .where(data_loads.c.batch_id == batch_id)
                .values(
                    status="failed",
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                    completed_at=_now(),
                    duration_s=time.perf_counter() - t0,
                )
            )
        raise
    return LoadResult(
        batch_id=batch_id,
        slice_index=slice_index,
        partition_key=partition_key,
        target_pct=plan.target_pct,
        rows_inserted=len(frame),
        rows_skipped=len(present),
        rows_total=total,
        duration_s=duration,
    )


def next_slice_index(engine: Engine) -> int:
    """The slice after the highest one completed so far (0 when nothing is loaded)."""
    require_schema(engine)
    with engine.connect() as conn:
        highest = conn.execute(
            select(func.max(data_loads.c.slice_index)).where(data_loads.c.status == "completed")
        ).scalar_one()
    return 0 if highest is None else int(highest) + 1


def read_loaded(engine: Engine, max_slice_index: int) -> pd.DataFrame:
    """All products loaded by slices ``<= max_slice_index``, ordered by ``load_rank``."""
    return _read_products(engine, products.c.slice_index <= max_slice_index)


def read_slice(engine: Engine, slice_index: int) -> pd.DataFrame:
    """The products that slice ``slice_index`` loaded (none of an earlier slice)."""
    return _read_products(engine, products.c.slice_index == slice_index)


def _read_products(engine: Engine, condition: ColumnElement[bool]) -> pd.DataFrame:
    query = (
        select(
            products.c.product_row_id,
            products.c.designation,
            products.c.description,
            products.c.productid,
            products.c.imageid,
            products.c.prdtypecode,
            products.c.batch_id,
        )
        .where(condition)
        .order_by(products.c.load_rank)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn, index_col="product_row_id")
    return frame


def load_history(engine: Engine) -> pd.DataFrame:
    """The audit trail of every load attempt, newest first."""
    with engine.connect() as conn:
        return pd.read_sql(select(data_loads).order_by(data_loads.c.started_at.desc()), conn)


def class_counts(engine: Engine) -> dict[int, int]:
    """How many loaded products each product-type code has (one GROUP BY)."""
    query = select(products.c.prdtypecode, func.count()).group_by(products.c.prdtypecode)
    with engine.connect() as conn:
        return {int(code): int(count) for code, count in conn.execute(query)}
