"""Render time of each control-room page through ``AppTest`` with 1,000,000 logged predictions.

A demo-like store (two weekly loads, one trained and promoted model, 37 days of simulated
traffic, three drift reports and their alerts: ``build_store`` of the UI tests) is built in a
temporary directory. Baseline in the same run: every page rendered on that store as it is
(about 4,400 logged predictions). Then ``--rows`` synthetic predictions (``bench/drift.py``'s
generator, executemany into the same SQLite file) are added and every page is rendered again.
Each render runs the page's script once through ``AppTest`` in this process, with the readers'
cache cleared first (what a page costs when its ``st.cache_data`` entries have expired), best
and median of ``--repeat`` after a warm-up; "cached" is a render whose reads all hit the cache.
Target: every page under 2 s with the 1M predictions. The API and Dagster are not running, so
their status calls fail fast (connection refused), as they would with those services down.

    .venv/bin/python bench/ui.py [--rows 1000000] [--repeat 3]

2026-12-03, ``.venv/bin/python bench/ui.py`` (37 s wall, 34 s CPU in all; 2 cores shared with
other sessions: wall times are inflated; "cached" is a single render, hence noisy)::

    page           baseline s (4,440 rows)   with 1,004,440 rows:  best s  median s  CPU s  cached s   ratio
    overview            0.297                           0.399     0.415  0.390     0.242   1.35x
    data                0.207                           0.194     0.196  0.190     0.573   0.94x
    models              0.252                           0.277     0.286  0.270     0.212   1.10x
    predict             0.186                           0.276     0.296  0.218     0.415   1.48x
    drift               0.227                           0.261     0.281  0.221     0.283   1.15x
    alerts              0.180                           0.192     0.272  0.190     0.175   1.07x
    activity            0.165                           0.175     0.185  0.173     0.167   1.06x

    target: every page under 2 s with 1,004,440 predictions: PASS (slowest 0.399 s)

Only the Overview reads the prediction log (one GROUP BY model_version: count and newest
time, +0.1 s at 1M rows); the Drift page reads the stored daily reports, which the drift check
computes from the rollups, never the log's rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

# Runnable as a plain script from the repository root: bench/ and the tests are not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.drift import fill_sqlite, generate
from rakuten_assets.data.catalog import normalise_catalog, split_catalog
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.db import get_engine
from rakuten_assets.predictions import log_summary
from rakuten_assets.processes import free_port
from rakuten_assets.settings import PROJECT_ROOT
from rakuten_assets_tests.test_ui import PAGES, build_store
from ui import readers

APP = str(PROJECT_ROOT / "ui" / "streamlit_app.py")
TARGET_SECONDS = 2.0


def render(path: str, *, cached: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the page's script."""
    if not cached:
        readers.forget()
    app = AppTest.from_file(APP, default_timeout=120).switch_page(path)
    wall, cpu = time.perf_counter(), time.process_time()
    app.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if app.exception:
        raise RuntimeError(f"{path} failed: {[e.value for e in app.exception]}")
    return wall, cpu


def measure(repeat: int) -> dict[str, dict[str, float]]:
    results = {}
    for path in PAGES:
        render(path, cached=False)  # warm-up: imports, first connections
        runs = [render(path, cached=False) for _ in range(repeat)]
        walls = [w for w, _ in runs]
        results[path] = {
            "best": min(walls),
            "median": statistics.median(walls),
            "cpu": min(c for _, c in runs),
            "cached": render(path, cached=True)[0],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rakuten-bench-ui-") as tmp:
        started = time.perf_counter()
        split = split_catalog(normalise_catalog(generate_catalog(2_700, seed=7), "bench"), 0.1, 42)
        store = build_store(Path(tmp), split, versions=1)
        os.environ.update(
            DATA_DIR=str(store.data_dir),
            DATABASE_URL=store.database_url,
            MLFLOW_TRACKING_URI=store.tracking_uri,
            API_URL=f"http://127.0.0.1:{free_port()}",
            DAGSTER_URL=f"http://127.0.0.1:{free_port()}",
            API_ADMIN_TOKEN="bench-admin-token-0123456789",
        )
        engine = get_engine(store.database_url)
        before = log_summary(engine).total
        print(f"store built in {time.perf_counter() - started:.0f} s, {before:,} predictions")
        baseline = measure(args.repeat)

        started = time.perf_counter()
        path = Path(store.database_url.removeprefix("sqlite:///"))
        fill_sqlite(path, generate(args.rows, seed=42))
        after = log_summary(engine).total
        print(f"{after - before:,} predictions added in {time.perf_counter() - started:.0f} s")
        loaded = measure(args.repeat)

    print()
    print(f"page           baseline s ({before:,} rows)   with {after:,} rows:  best s  "
          "median s  CPU s  cached s   ratio")  # fmt: skip
    for page in PAGES:
        b, m = baseline[page], loaded[page]
        name = page.removeprefix("app_pages/").removesuffix(".py")
        print(
            f"{name:<14} {b['best']:>10.3f}{'':<24}{m['best']:>8.3f}{m['median']:>10.3f}"
            f"{m['cpu']:>7.3f}{m['cached']:>10.3f}{m['best'] / b['best']:>7.2f}x"
        )
    slowest = max(loaded.values(), key=lambda r: r["best"])
    verdict = "PASS" if slowest["best"] < TARGET_SECONDS else "MISS"
    print(f"\ntarget: every page under {TARGET_SECONDS:.0f} s with {after:,} predictions: "
          f"{verdict} (slowest {slowest['best']:.3f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
