"""A drift report over 1,000,000 logged predictions: ours (SQLite, PostgreSQL) vs Evidently.

The prediction log is filled with ``--rows`` synthetic predictions spread evenly over the 37
days of one report (30-day reference + 7-day current window; deterministic for ``--seed``). The
current window drifts on purpose: longer texts (text length and word count), a class-mix shift
(three classes 4x more frequent) and more unknown tokens; confidence does not drift, and 3 % of
the reference rows have no unknown-token share (logged before the column existed). The same rows
go into a SQLite file (executemany) and a fresh PostgreSQL database on 127.0.0.1 (COPY, then
VACUUM ANALYZE: what autovacuum does to an insert-only table soon after), created and dropped
by the script. Then, on each database, best and median of ``--repeat`` runs after a warm-up run,
and peak Python memory in one extra run under tracemalloc (it sees numpy's buffers, not the
database driver's C memory), of four cases of the same report:

- **from the log**: ``compute_report_from_log``, the GROUP BYs over every row of both windows
  (what a report cost before the daily rollups; it writes nothing);
- **cold**: ``compute_report`` with no rollups at all, so all 37 days are aggregated first (the
  first report after the migration, or in a new timezone);
- **warm**: the daily steady state: the report of the day before already ran, so the rollups of
  36 of the 37 days are up to date and only the report day itself is aggregated (its rollup is
  deleted before each run; on PostgreSQL the rollup tables are VACUUM ANALYZEd once before,
  as autovacuum would between two daily runs);
- **re-run**: every rollup up to date (a re-materialisation), only the 37 day counts and the sum.

Baselines in the same run: (1) our statistics on the raw in-memory values (no database, no
0.001 bucketing), i.e. the cost of the statistics alone; (2) Evidently 0.7.23's
``DataDriftPreset`` on the same two windows (4 numeric columns + the class), in its own virtualenv
under ``var/bench/evidently-venv`` (created here if missing: its pins need ``pandas<3``). The two
windows' raw values are handed over as parquet files; Evidently's time covers building the two
``Dataset`` objects, ``Report.run`` and ``snapshot.dict()``, not reading the files or importing
Evidently. Evidently's defaults at this size: Wasserstein distance (normed) >= 0.1 for numeric
columns, Jensen-Shannon distance >= 0.1 for the class. "Drift" for ours means a signal at
WARNING or worse confirmed by its test (PSI >= 0.1, p < 0.05), Evidently's own PSI threshold.

Targets: a report under 5 s on both databases, at least 10x faster than Evidently, the same
signals flagged.

    .venv/bin/python bench/drift.py [--rows 1000000] [--repeat 3] [--seed 42] [--skip-evidently]

2026-11-26, ``.venv/bin/python bench/drift.py --repeat 3`` (203 s in all; 2 cores shared with
other sessions, load average 1.5-2.5: wall times are inflated, CPU is the steadier column)::

    run                                             best s  median s   CPU s  peak MiB  Evidently/
    ours, SQLite, from the log (no rollups)          3.477     3.564   3.316       3.3        2.4x
    ours, SQLite, cold (37 days aggregated)          3.216     3.529   2.955       1.1        2.6x
    ours, SQLite, warm (1 new day aggregated)        0.244     0.295   0.227       0.6       34.1x
    ours, SQLite, re-run (nothing to aggregate)      0.163     0.211   0.163       0.6       51.0x
    ours, PostgreSQL, from the log (no rollups)      3.142     3.339   0.805       3.3        2.6x
    ours, PostgreSQL, cold (37 days aggregated)      2.236     2.406   0.213       0.9        3.7x
    ours, PostgreSQL, warm (1 new day aggregated)    0.184     0.185   0.035       0.6       45.1x
    ours, PostgreSQL, re-run (nothing to aggregate)   0.138     0.142   0.030       0.5       60.4x
    ours, in memory (statistics only)                0.518     0.579   0.563     108.3       16.1x
    Evidently 0.7.23 DataDriftPreset                 8.323     9.487   8.565     173.4

    signal                 severity     PSI   PSI q  ours  Evidently method                       value  drift
    text_length             WARNING   0.167   0.318   yes  Wasserstein distance (normed) >= 0.1  0.6326    yes
    word_count              WARNING   0.172   0.310   yes  Wasserstein distance (normed) >= 0.1  0.6240    yes
    confidence                   OK   0.000   0.000    no  Wasserstein distance (normed) >= 0.1  0.0026     no
    unknown_token_share    CRITICAL   1.119   1.196   yes  Wasserstein distance (normed) >= 0.1  1.4285    yes
    predicted_class         WARNING   0.108   0.108   yes  Jensen-Shannon distance >= 0.1        0.1125    yes

    identical numbers (rollups and log, SQLite and PostgreSQL, every case): yes
    targets: under 5 s: PASS in every case (cold 3.22 s SQLite, 2.24 s PostgreSQL; warm
    0.24 s, 0.18 s); >= 10x faster than Evidently: warm 34.1x (SQLite), 45.1x (PostgreSQL)
    PASS; cold 2.6x, 3.7x MISS; same signals flagged: 5/5 PASS

A second run minutes later (184 s; best / median): SQLite from the log 3.25 / 3.33 s, cold
3.02 / 3.34 s, warm 0.31 / 0.40 s; PostgreSQL from the log 1.70 / 2.25 s, cold 2.91 / 3.25 s,
warm 0.23 / 0.27 s; Evidently 7.60 / 7.75 s: warm 24x (SQLite) and 33x (PostgreSQL), cold
2.5x and 2.6x. With medians instead of bests the warm ratios are 20-40x.

Where the time goes. From the log and cold: the GROUP BYs over every row (SQLite has no hash
aggregation, each one sorts its rows; most of a report's time there); cold also writes ~80k
rollup rows in 37 transactions, so on PostgreSQL it can be slower than the read-only path
(2.2-2.9 s vs 1.7-3.1 s). Cold therefore still misses 10x: it is a one-time cost, paid by the
first report only. Warm: counting each day's rows (0.07 s on SQLite, 0.1-0.15 s on PostgreSQL
with the visibility map set, 0.4 s without), aggregating the one new day (~0.1 s) and summing
the 37 days' rollups (a few thousand rows a day). Without VACUUM ANALYZE of the rollup tables,
PostgreSQL sorts their 80k rows on disk instead of hashing them: +0.13 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg
from sqlalchemy import Engine, create_engine

from rakuten_assets.categories import REAL_CLASS_COUNTS
from rakuten_assets.db import (
    get_engine,
    prediction_log_daily,
    prediction_log_rollups,
    upgrade_schema,
)
from rakuten_assets.drift.report import (
    DriftParameters,
    DriftReport,
    compute_report,
    compute_report_from_log,
)
from rakuten_assets.drift.rollups import CLASS_SIGNAL, SIGNAL_NAMES
from rakuten_assets.drift.severity import Severity
from rakuten_assets.drift.stats import SignalResult, compare_categorical, compare_numeric
from rakuten_assets.processes import scratch_postgres_database
from rakuten_assets.settings import PROJECT_ROOT, get_settings

REPORT_DATE = date(2026, 11, 25)
NUMERIC = ("text_length", "word_count", "confidence", "unknown_token_share")
EVIDENTLY_VENV = PROJECT_ROOT / "var" / "bench" / "evidently-venv"
EVIDENTLY_REQUIREMENTS = ("evidently==0.7.23", "pandas<3", "pyarrow")
TARGET_SECONDS = 5.0
TARGET_SPEEDUP = 10.0
#: Classes made 4x more frequent in the current window (the class-mix drift).
BOOSTED_CLASSES = (1301, 1940, 2220)


def drift_parameters(**changes: Any) -> DriftParameters:
    """The settings' drift parameters (DRIFT_*, PIPELINE_TIMEZONE), with ``changes``."""
    return dataclasses.replace(DriftParameters.from_settings(get_settings()), **changes)


LOG_COLUMNS = (
    "prediction_id", "predicted_at", "model_version", "text_length", "word_count",
    "has_description", "predicted_code", "confidence", "top_k", "latency_ms",
    "unknown_token_share",
)  # fmt: skip


# --- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    """The synthetic prediction log, one array per column (UTC timestamps, microseconds)."""

    predicted_at: npt.NDArray[np.datetime64]
    current: npt.NDArray[np.bool_]
    text_length: npt.NDArray[np.int64]
    word_count: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    #: NaN where the row has no unknown-token share (NULL in the database).
    unknown_token_share: npt.NDArray[np.float64]
    predicted_class: npt.NDArray[np.int64]

    def window(self, current: bool) -> pd.DataFrame:
        mask = self.current if current else ~self.current
        return pd.DataFrame(
            {name: getattr(self, name)[mask] for name in (*NUMERIC, "predicted_class")}
        )


def generate(rows: int, seed: int) -> Traffic:
    """``rows`` predictions over the report's 37 days, drifting in the current window."""
    rng = np.random.default_rng(seed)
    windows = drift_parameters().windows(REPORT_DATE)
    start = np.datetime64(windows.reference_start.replace(tzinfo=None), "us")
    span = np.datetime64(windows.current_end.replace(tzinfo=None), "us") - start
    predicted_at = start + np.sort(rng.integers(0, span.astype(np.int64), rows)).astype(
        "timedelta64[us]"
    )
    current = predicted_at >= np.datetime64(windows.current_start.replace(tzinfo=None), "us")
    n_cur = int(current.sum())

    def both(reference: Callable[[int], Any], drifted: Callable[[int], Any]) -> Any:
        values = reference(rows)
        values[current] = drifted(n_cur)
        return values

    text_length = both(
        lambda n: rng.lognormal(np.log(120), 0.6, n), lambda n: rng.lognormal(np.log(170), 0.6, n)
    )
    text_length = np.clip(np.rint(text_length), 5, 5_000).astype(np.int64)
    chars_per_word = rng.uniform(5.5, 7.5, rows)
    word_count = np.maximum(np.rint(text_length / chars_per_word), 1).astype(np.int64)
    confidence = rng.beta(5.0, 2.0, rows)
    unknown = both(lambda n: rng.beta(1.2, 12.0, n), lambda n: rng.beta(2.0, 8.0, n))
    unknown[(~current) & (rng.random(rows) < 0.03)] = np.nan
    codes = np.array(list(REAL_CLASS_COUNTS), dtype=np.int64)
    weights = np.array(list(REAL_CLASS_COUNTS.values()), dtype=np.float64)
    shifted = weights * np.where(np.isin(codes, BOOSTED_CLASSES), 4.0, 1.0)
    predicted = both(
        lambda n: rng.choice(codes, n, p=weights / weights.sum()),
        lambda n: rng.choice(codes, n, p=shifted / shifted.sum()),
    )
    return Traffic(predicted_at, current, text_length, word_count, confidence, unknown, predicted)


def _log_frame(traffic: Traffic, timestamp_suffix: str, sep: str) -> pd.DataFrame:
    n = traffic.predicted_at.size
    stamps = np.datetime_as_string(traffic.predicted_at, unit="us")
    confidence = np.round(traffic.confidence, 4)
    pairs = zip(traffic.predicted_class.tolist(), confidence.tolist(), strict=True)
    top_k = [f"[[{code}, {probability}]]" for code, probability in pairs]
    return pd.DataFrame(
        {
            "prediction_id": [f"bench-{i:012d}" for i in range(n)],
            "predicted_at": np.char.add(np.char.replace(stamps, "T", sep), timestamp_suffix),
            "model_version": 1,
            "text_length": traffic.text_length,
            "word_count": traffic.word_count,
            "has_description": traffic.text_length > 60,
            "predicted_code": traffic.predicted_class,
            "confidence": traffic.confidence,
            "top_k": top_k,
            "latency_ms": 2.5,
            "unknown_token_share": traffic.unknown_token_share,
        },
        columns=list(LOG_COLUMNS),
    )


def fill_sqlite(path: Path, traffic: Traffic, chunk: int = 100_000) -> None:
    """executemany in chunks through the sqlite3 driver, timestamps as SQLAlchemy stores them."""
    engine = get_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    engine.dispose()
    # SQLAlchemy's SQLite DateTime is text 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, offset dropped.
    frame = _log_frame(traffic, "", " ")
    frame["has_description"] = frame["has_description"].astype(int)
    frame["unknown_token_share"] = frame["unknown_token_share"].astype(object)
    frame.loc[frame["unknown_token_share"].isna(), "unknown_token_share"] = None
    columns = [frame[c].tolist() for c in LOG_COLUMNS]
    insert = (
        f"INSERT INTO prediction_log ({', '.join(LOG_COLUMNS)}) "  # noqa: S608 (constant names)
        f"VALUES ({', '.join('?' for _ in LOG_COLUMNS)})"
    )
    rows = list(zip(*columns, strict=True))
    conn = sqlite3.connect(path)
    try:
        for begin in range(0, len(rows), chunk):
            with conn:  # one transaction per chunk
                conn.executemany(insert, rows[begin : begin + chunk])
    finally:
        conn.close()


def fill_postgres(engine: Engine, traffic: Traffic) -> None:
    """COPY through psycopg from a tab-separated buffer."""
    frame = _log_frame(traffic, "+00", "T")
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        with conn.cursor() as cursor:
            statement = f"COPY prediction_log ({', '.join(LOG_COLUMNS)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                copy.write(buffer.getvalue())
        conn.commit()
    finally:
        raw.close()
    vacuum_analyze(engine, "prediction_log")


def vacuum_analyze(engine: Engine, *tables: str) -> None:
    """What autovacuum does shortly after a bulk insert into a table (PostgreSQL >= 13).

    The planner needs the statistics (without them the rollup sum sorts on disk), and the
    day counts are index-only scans only once the visibility map is set (without it: 3x slower).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")


@contextmanager
def fresh_postgres(admin_dsn: str, url_base: str) -> Iterator[Engine]:
    with scratch_postgres_database(admin_dsn, url_base, "rakuten_bench") as url:
        engine = create_engine(url)
        try:
            upgrade_schema(engine)
            yield engine
        finally:
            engine.dispose()


# --- timing -----------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Timed:
    best: float
    median: float
    #: CPU time of this process in the fastest-CPU run (all of it for SQLite and the
    #: in-memory runs; only the client side for PostgreSQL, whose work runs in the server).
    cpu: float
    peak_mb: float


def timed(
    run: Callable[[], T], repeat: int, setup: Callable[[], object] | None = None
) -> tuple[Timed, T]:
    """Best and median wall time of ``repeat`` runs, then one more run under tracemalloc.

    ``setup`` runs before each run (the warm-up and the traced one too), neither timed nor
    traced: it puts the rollups in the state the case measures.
    """
    prepare = setup or (lambda: None)
    times, cpu = [], []
    prepare()
    result = run()  # warm-up: imports, connection pool, SQLite page cache
    for _ in range(repeat):
        prepare()
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    prepare()
    tracemalloc.start()
    try:
        run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Timed(min(times), statistics.median(times), min(cpu), peak / 2**20), result


def drop_rollups(engine: Engine, day: date | None = None) -> None:
    """Delete the rollups of ``day`` (of every day when None)."""
    with engine.begin() as conn:
        for table in (prediction_log_daily, prediction_log_rollups):
            stmt = table.delete()
            if day is not None:
                stmt = stmt.where(table.c.local_day == day)
            conn.execute(stmt)


@dataclass(frozen=True)
class Cases:
    """One database's timings and reports, by case."""

    timings: dict[str, Timed]
    reports: dict[str, DriftReport]


def run_cases(engine: Engine, repeat: int) -> Cases:
    """The report of REPORT_DATE from the log, cold, warm (the daily steady state) and re-run.

    Warm: the report of the day before already ran (its 37 days are rolled up), so only the
    report day itself is aggregated. Re-run: every rollup is up to date.
    """
    timings: dict[str, Timed] = {}
    reports: dict[str, DriftReport] = {}

    def ours() -> DriftReport:
        return compute_report(engine, REPORT_DATE, drift_parameters())

    timings["from the log"], reports["from the log"] = timed(
        lambda: compute_report_from_log(engine, REPORT_DATE, drift_parameters()), repeat
    )
    timings["cold"], reports["cold"] = timed(ours, repeat, setup=lambda: drop_rollups(engine))
    if engine.dialect.name == "postgresql":
        vacuum_analyze(engine, "prediction_log_daily", "prediction_log_rollups")
    timings["warm"], reports["warm"] = timed(
        ours, repeat, setup=lambda: drop_rollups(engine, REPORT_DATE)
    )
    timings["re-run"], reports["re-run"] = timed(ours, repeat)
    return Cases(timings, reports)


def in_memory(traffic: Traffic) -> tuple[SignalResult, ...]:
    """Our statistics on the raw values, no database (the cost of the statistics alone)."""
    reference, current = traffic.window(False), traffic.window(True)
    parameters = drift_parameters()
    results = [
        compare_numeric(
            name,
            reference[name].dropna(),
            current[name].dropna(),
            bins=parameters.bins,
            binning=parameters.binning,
        )
        for name in NUMERIC
    ]
    counts = [frame["predicted_class"].value_counts().to_dict() for frame in (reference, current)]
    results.append(compare_categorical(CLASS_SIGNAL, *counts))
    return tuple(results)


# --- Evidently --------------------------------------------------------------------------------

EVIDENTLY_SCRIPT = """
import json, resource, sys, time, tracemalloc

started = time.perf_counter()
import pandas as pd
from evidently import DataDefinition, Dataset, Report, __version__
from evidently.presets import DataDriftPreset

import_s = time.perf_counter() - started
reference_path, current_path, repeat, numeric, categorical = sys.argv[1:6]
numeric, categorical = numeric.split(","), categorical.split(",")
started = time.perf_counter()
reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
load_s = time.perf_counter() - started
definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)


def run():
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    return snapshot.dict()


result = run()  # warm-up, as for ours
times, cpu = [], []
for _ in range(int(repeat)):
    started, started_cpu = time.perf_counter(), time.process_time()
    result = run()
    times.append(time.perf_counter() - started)
    cpu.append(time.process_time() - started_cpu)
tracemalloc.start()
run()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
columns = {}
for metric in result["metrics"]:
    config = metric["config"]
    if config["type"].endswith("ValueDrift"):
        columns[config["column"]] = {
            "method": config["method"], "threshold": config["threshold"], "value": metric["value"]
        }
print(json.dumps({
    "version": __version__, "pandas": pd.__version__, "import_s": import_s, "load_s": load_s,
    "times": times, "cpu": cpu, "peak_bytes": peak, "columns": columns,
    "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def baseline_python(venv: Path, requirements: Sequence[str], imports: str) -> Path:
    """The interpreter of a baseline's own virtualenv (``import <imports>`` must work there),
    creating the venv with uv first if it is missing or broken."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import {imports}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    uv = Path(sys.executable).parent / "uv"
    print(f"creating {venv} ({', '.join(requirements)}) ...", flush=True)
    subprocess.run([str(uv), "venv", "--python", "3.11", str(venv)], check=True)
    subprocess.run([str(uv), "pip", "install", "--python", str(python), *requirements], check=True)
    subprocess.run(check, check=True)
    return python


def evidently_python() -> Path:
    return baseline_python(EVIDENTLY_VENV, EVIDENTLY_REQUIREMENTS, "evidently, pandas, pyarrow")


def run_evidently(traffic: Traffic, workdir: Path, repeat: int) -> dict[str, Any]:
    python = evidently_python()
    paths = []
    for name, current in (("reference", False), ("current", True)):
        path = workdir / f"{name}.parquet"
        traffic.window(current).to_parquet(path)
        paths.append(str(path))
    script = workdir / "evidently_drift.py"
    script.write_text(EVIDENTLY_SCRIPT)
    done = subprocess.run(
        [str(python), str(script), *paths, str(repeat), ",".join(NUMERIC), "predicted_class"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"Evidently run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for column in result["columns"].values():
        # Distances drift at or above their threshold, p-values below it (Evidently's rule).
        if "p_value" in column["method"].lower():
            column["drift"] = column["value"] < column["threshold"]
        else:
            column["drift"] = column["value"] >= column["threshold"]
    return result


# --- output -----------------------------------------------------------------------------------


def print_report(label: str, report: DriftReport) -> None:
    print(
        f"\n{label}: {report.current_count:,} current vs {report.reference_count:,} reference "
        f"rows; severity {report.severity}, driven by {report.driving_signal}"
    )
    print(
        f"  {'signal':<22}{'PSI':>8}{'test':>6}{'statistic':>12}{'p-value':>11}{'JS':>8}  severity"
    )
    for s in report.signals:
        print(
            f"  {s.name:<22}{s.psi:>8.4f}{s.test:>6}{s.statistic:>12.4f}{s.p_value:>11.3g}"
            f"{s.js_distance:>8.4f}  {s.severity}"
        )


def drifted(signal: SignalResult) -> bool:
    """Our per-signal drift verdict, to set against Evidently's yes/no."""
    return signal.flagged and signal.severity >= Severity.WARNING


def same_numbers(a: DriftReport, b: DriftReport) -> bool:
    """The same report but for when it was computed and how long it took."""
    return dataclasses.replace(a, computed_at=b.computed_at, duration_s=b.duration_s) == b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-admin-dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    )
    parser.add_argument("--pg-url-base", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    traffic = generate(args.rows, args.seed)
    n_cur = int(traffic.current.sum())
    print(
        f"{args.rows:,} predictions ({n_cur:,} current, {args.rows - n_cur:,} reference) for "
        f"report date {REPORT_DATE}, generated in {time.perf_counter() - started:.1f} s; "
        f"best of {args.repeat} after a warm-up run"
    )
    cases: dict[str, Cases] = {}
    with tempfile.TemporaryDirectory(prefix="rakuten-bench-drift-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        fill_sqlite(workdir / "drift.db", traffic)
        print(f"SQLite filled in {time.perf_counter() - started:.1f} s (executemany)", flush=True)
        engine = get_engine(f"sqlite:///{workdir / 'drift.db'}")
        cases["SQLite"] = run_cases(engine, args.repeat)
        engine.dispose()

        with fresh_postgres(args.pg_admin_dsn, args.pg_url_base) as pg_engine:
            started = time.perf_counter()
            fill_postgres(pg_engine, traffic)
            print(
                f"PostgreSQL filled in {time.perf_counter() - started:.1f} s "
                "(COPY + VACUUM ANALYZE)",
                flush=True,
            )
            cases["PostgreSQL"] = run_cases(pg_engine, args.repeat)
            quantile = compute_report(pg_engine, REPORT_DATE, drift_parameters(binning="quantile"))

        memory_timing, memory_signals = timed(lambda: in_memory(traffic), args.repeat)
        evidently = None if args.skip_evidently else run_evidently(traffic, workdir, args.repeat)

    reference = cases["SQLite"].reports["from the log"]
    print_report("SQLite, from the log", reference)
    identical = {
        f"{db} {case}": same_numbers(report, reference)
        for db, result in cases.items()
        for case, report in result.reports.items()
    }
    print(
        "\nidentical numbers (rollups and log, SQLite and PostgreSQL, every case): "
        + ("yes" if all(identical.values()) else f"NO: {identical}")
    )
    worst_gap = max(
        abs(a.psi - b.psi) for a, b in zip(reference.signals, memory_signals, strict=True)
    )
    print(f"largest PSI gap, database (0.001 buckets) vs raw in-memory values: {worst_gap:.2g}")

    theirs = min(evidently["times"]) if evidently is not None else None
    print(
        f"\n{'run':<46}{'best s':>8}{'median s':>10}{'CPU s':>8}{'peak MiB':>10}{'Evidently/':>12}"
    )
    labels = {
        "from the log": "from the log (no rollups)",
        "cold": "cold (37 days aggregated)",
        "warm": "warm (1 new day aggregated)",
        "re-run": "re-run (nothing to aggregate)",
    }
    rows = [
        (f"ours, {db}, {labels[case]}", t)
        for db, result in cases.items()
        for case, t in result.timings.items()
    ]
    rows.append(("ours, in memory (statistics only)", memory_timing))
    for label, t in rows:
        ratio = f"{theirs / t.best:>11.1f}x" if theirs is not None else ""
        print(f"{label:<46}{t.best:>8.3f}{t.median:>10.3f}{t.cpu:>8.3f}{t.peak_mb:>10.1f}{ratio}")
    if evidently is not None:
        times = evidently["times"]
        label = f"Evidently {evidently['version']} DataDriftPreset"
        print(
            f"{label:<46}{min(times):>8.3f}{statistics.median(times):>10.3f}"
            f"{min(evidently['cpu']):>8.3f}{evidently['peak_bytes'] / 2**20:>10.1f}"
        )
        print(
            "  (Evidently/ = Evidently's best time over ours; CPU s: this process's CPU time in "
            "the best run, for PostgreSQL only the client's, the queries run in the server)"
        )
        print(
            f"  (Evidently: import {evidently['import_s']:.1f} s and parquet load "
            f"{evidently['load_s']:.2f} s not included; process max RSS "
            f"{evidently['max_rss_kb'] / 1024:.0f} MiB)"
        )

    agreed = 0
    if evidently is not None:
        print(
            f"\n{'signal':<22}{'severity':>9}{'PSI':>8}{'PSI q':>8}{'ours':>6}  "
            f"{'Evidently method':<38}{'value':>8}{'drift':>7}  agree"
        )
        for name in SIGNAL_NAMES:
            signal = cases["PostgreSQL"].reports["warm"].signal(name)
            column = evidently["columns"]["predicted_class" if name == CLASS_SIGNAL else name]
            ours_drift = drifted(signal)
            agree = ours_drift == column["drift"]
            agreed += agree
            method = f"{column['method']} >= {column['threshold']}"
            print(
                f"{name:<22}{signal.severity!s:>9}{signal.psi:>8.3f}"
                f"{quantile.signal(name).psi:>8.3f}{'yes' if ours_drift else 'no':>6}  "
                f"{method:<38}{column['value']:>8.4f}{'yes' if column['drift'] else 'no':>7}  "
                f"{'yes' if agree else 'NO'}"
            )
        print(
            "  ours = drift when severity >= WARNING and confirmed by its test (PSI >= 0.1 with "
            "p < 0.05; Evidently's own PSI test also draws the line at 0.1); PSI q = PSI with "
            "quantile bins, for comparison"
        )

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print("\ntargets:")
    for db, result in cases.items():
        for case in ("cold", "warm"):
            best = result.timings[case].best
            print(
                f"  report under {TARGET_SECONDS:.0f} s, {db}, {case}: {best:.2f} s  "
                f"{verdict(best < TARGET_SECONDS)}"
            )
    if evidently is not None and theirs is not None:
        for case, meaning in (
            ("warm", "the daily steady state"),
            ("cold", "the first report, every day aggregated"),
        ):
            for db, result in cases.items():
                speedup = theirs / result.timings[case].best
                print(
                    f"  >= {TARGET_SPEEDUP:.0f}x faster than Evidently, {db}, {case} ({meaning}): "
                    f"{speedup:.1f}x  {verdict(speedup >= TARGET_SPEEDUP)}"
                )
        print(
            f"  same signals flagged: {agreed}/{len(SIGNAL_NAMES)}  "
            f"{verdict(agreed == len(SIGNAL_NAMES))}"
        )
    print(f"  identical numbers in every case: {verdict(all(identical.values()))}")


if __name__ == "__main__":
    main()
