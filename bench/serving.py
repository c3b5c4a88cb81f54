"""Serving one registered model: our API vs ``mlflow models serve``, BentoML and a constant endpoint.

The same registry version (trained with the real pipeline code on the synthetic catalog, in a
temporary DATA_DIR with SQLite MLflow and product stores) is served by (a) our API
(``uvicorn serving.app:create_app --factory``, prediction logging on), (b) ``mlflow models
serve --env-manager local`` on ``models:/rakuten_classifier/<version>`` and (c) a FastAPI
endpoint returning a constant under the same uvicorn (``bench/constant_app.py``: the HTTP
ceiling on this machine) and (d) BentoML 1.4.40 with adaptive batching (``batchable=True``),
in its own virtualenv under ``var/bench/`` (same library versions as ours for the pickle),
unpickling the same MLflow model's ``model.pkl``; a BentoML that cannot be installed or
started is reported as not measured. wrk sends single-item POSTs at 16 and at 64 connections (2 s warm-up,
then ``--duration`` s each); one server runs at a time, each with ``--workers`` workers. Then
``/predict/batch`` with 1,000 items (a few timed httpx calls), and the API is stopped with
SIGTERM (its shutdown flushes the prediction log) before the rows of ``prediction_log`` are
counted against the requests (a) answered with 2xx.

Targets: (a) at 16 connections >= 5x the throughput of (b) and p99 <= 15 ms, ahead of (d);
(a) >= half of (c)'s throughput; zero lost prediction-log rows. wrk and the servers share the machine's cores.

    apt-get install -y wrk   # Debian
    .venv/bin/python -m bench.serving [--rows 20000] [--duration 15] [--workers 1] [--keep]

(or as a script, ``.venv/bin/python bench/serving.py``; the BentoML virtualenv is built by ``bench.drift.baseline_python``.)

2026-11-26 22:20 UTC, ``.venv/bin/python bench/serving.py`` (defaults; 161 s in all; the machine
was shared with other jobs, so compare rows of one run, not runs)::

    single-item POSTs, wrk -t2, 15 s per run after a 2 s warm-up; 1 uvicorn worker(s) per
    server; wrk and the servers share this machine's 2 cores

    server                                 conns     req/s   p50 ms   p99 ms  non-2xx sock err
    (a) our API (prediction log on)           16       672    22.24    72.46        0        0
    (a) our API (prediction log on)           64       794    76.34   157.53        0        0
    (b) mlflow models serve (local env)       16       128   115.40   327.70        0        0
    (b) mlflow models serve (local env)       64       142   411.87  1010.00        0        0
    (c) constant FastAPI (HTTP ceiling)       16     5,678     2.46    16.52        0        0
    (c) constant FastAPI (HTTP ceiling)       64     5,539    10.84    43.40        0        0

    /predict/batch, 1,000 items: 2,361, 2,797, 1,995 items/s (median 2,361)
    prediction_log after SIGTERM: 29,157 rows; 2xx answers counted by the clients 29,010;
    predictions counted by the API 29,157; lost 0 (147 more rows than counted answers:
    requests still in flight when wrk stopped counting)

    targets:
      throughput >= 5x (b) at 16 conns: 5.2x  PASS
      p99 <= 15 ms at 16 conns: 72.46 ms  MISS
      throughput >= 50% of (c) at 16 conns: 12%  MISS
      throughput >= 50% of (c) at 64 conns: 14%  MISS
      zero lost log rows: 0 lost  PASS

What changed since the first figures (642 req/s, p99 165 ms at 16 connections), measured as
old and new code alternately on the same model, in one script, 10 s per wrk run:

    code                     conns   req/s   p99 ms        code     conns   req/s   p99 ms
    before (1st pass)           16     668      174        after       16     656       68
    before (2nd pass)           16     604      245        after       16     912       68
    before (1st pass)           64     746      377        after       64     831      156
    before (2nd pass)           64     834      351        after       64     987      145
    after, --workers 2          16     583       71        after, --workers 2  64  903  168

- ``gc.freeze()`` after each model swap: the model and the imported libraries (~210,000
  GC-tracked objects, ~115 ms per full collection) are no longer walked by every full
  garbage collection while requests wait; this is what cut p99.
- ``/predict`` builds its answer with ``model_construct`` and serialises it once (FastAPI's
  response-model validation skipped), the client-token dependency exists only when a client
  token is set, and sklearn's per-call parameter/finiteness checks are off in the scoring
  call. Together a modest, noisy throughput gain (the lock-step at 16 connections: every
  micro-batch already holds all 16 in-flight requests).
- Not kept: ``--workers 2`` (two processes plus wrk on 2 cores: no better), a higher GC
  threshold (no gain beyond the freeze). Profile (py-spy --gil, 16 connections): the event
  loop holds the GIL ~60 % of the time (uvicorn/FastAPI per-request work, ~18 % of it in
  the socket write of the response headers), the scoring thread ~37 %, the prediction-log
  thread ~5 % (its commits wait on fsync without the GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
from sqlalchemy import func, select

# Runnable as a plain script from the repository root: bench/ is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.drift import baseline_python
from rakuten_assets import registry
from rakuten_assets.data.catalog import normalise_catalog, split_catalog
from rakuten_assets.data.synthetic import generate_catalog
from rakuten_assets.db import get_engine, prediction_log, upgrade_schema
from rakuten_assets.processes import free_port, running
from rakuten_assets.settings import PROJECT_ROOT
from rakuten_assets.training.evaluation import score_model
from rakuten_assets.training.inference import lean_scorer
from rakuten_assets.training.model import ModelParams, fit

BIN = Path(sys.executable).parent
MODEL = "rakuten_classifier"
CONNECTIONS = (16, 64)
WARMUP_SECONDS = 2
BATCH_ITEMS = 1_000
BATCH_CALLS = 3
TARGET_VS_MLFLOW = 5.0
TARGET_P99_MS = 15.0
TARGET_VS_CEILING = 0.5
TARGET_BATCH_VS_BARE = 0.7
BENTOML_VENV = PROJECT_ROOT / "var" / "bench" / "bentoml-venv"
#: BentoML's batch limits for the baseline: as large a batch as ours (API_MICROBATCH_MAX_SIZE),
#: and a latency budget that never makes it refuse a request under this load.
BENTOML_MAX_BATCH = 64
BENTOML_MAX_LATENCY_MS = 10_000

#: The BentoML baseline (run in its own virtualenv): the registered Pipeline unpickled from the
#: MLflow model's own ``model.pkl``, one ``predict_proba`` per adaptive batch, the top 3 classes.
BENTOML_SERVICE = f"""\
import os
import pickle
from typing import Any

import bentoml
import numpy as np
import pandas as pd


@bentoml.service(workers=int(os.environ["BENCH_WORKERS"]))
class Classifier:
    def __init__(self) -> None:
        with open(os.environ["BENCH_MODEL_PICKLE"], "rb") as handle:
            self.pipeline = pickle.load(handle)
        self.classes = [int(c) for c in self.pipeline.classes_]

    @bentoml.api(
        batchable=True, max_batch_size={BENTOML_MAX_BATCH}, max_latency_ms={BENTOML_MAX_LATENCY_MS}
    )
    def predict(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        frame = pd.DataFrame(
            [(item["designation"], item.get("description")) for item in items],
            columns=["designation", "description"],
        )
        answers = []
        for row in self.pipeline.predict_proba(frame):
            top = np.argsort(-row, kind="stable")[:3]
            answers.append({{
                "prdtypecode": self.classes[top[0]],
                "confidence": round(float(row[top[0]]), 6),
                "top_k": [
                    {{"prdtypecode": self.classes[i], "probability": round(float(row[i]), 6)}}
                    for i in top
                ],
            }})
        return answers
"""


# --- wrk --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, p50, p99 and the error counts of ``wrk --latency`` output."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output)
        if match is None:
            raise ValueError(f"no {pattern!r} in wrk output:\n{output}")
        return match

    done = find(r"(\d+) requests in ([\d.]+)(us|ms|s|m),")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        rps=float(find(r"Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=_ms(find(r"\s50%\s+([\d.]+\w+)").group(1)),
        p99_ms=_ms(find(r"\s99%\s+([\d.]+\w+)").group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def lua_script(directory: Path, name: str, body: dict[str, Any]) -> Path:
    """A wrk script POSTing ``body`` as JSON (read from a file: no quoting inside Lua)."""
    body_path = directory / f"{name}.json"
    body_path.write_text(json.dumps(body), encoding="utf-8")
    script = directory / f"{name}.lua"
    script.write_text(
        f'local f = assert(io.open("{body_path}", "rb"))\n'
        'wrk.body = f:read("*a")\nf:close()\n'
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Accept"] = "application/json"\n'
    )
    return script


def wrk(url: str, script: Path, connections: int, seconds: int) -> WrkResult:
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
        "-s", str(script), url,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse_wrk(out.stdout)


def load(url: str, script: Path, duration: int) -> tuple[dict[int, WrkResult], int]:
    """The measured run per connection count, and every 2xx answer (warm-ups included)."""
    results: dict[int, WrkResult] = {}
    ok = 0
    for connections in CONNECTIONS:
        ok += wrk(url, script, connections, WARMUP_SECONDS).ok
        results[connections] = wrk(url, script, connections, duration)
        ok += results[connections].ok
    return results, ok


# --- the model --------------------------------------------------------------------------------


def register_model(root: Path, rows: int) -> tuple[str, str, int, pd.DataFrame, float]:
    """Train on the synthetic catalog with the real pipeline, register it, make it Production."""
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    database_url = f"sqlite:///{root / 'rakuten.db'}"
    upgrade_schema(get_engine(database_url))
    client = registry.configure(tracking_uri)
    experiment = registry.ensure_experiment(client, "bench-serving", root / "mlartifacts")
    mlflow.set_experiment(experiment_id=experiment)
    split = split_catalog(normalise_catalog(generate_catalog(rows), "synthetic"), 0.1, 42)
    started = time.perf_counter()
    model = fit(split.pool, ModelParams())
    train_seconds = time.perf_counter() - started
    scores = score_model(model, split.holdout)
    with mlflow.start_run():
        candidate = registry.log_candidate(
            model=model,
            model_name=MODEL,
            params={"rows": len(split.pool)},
            validation=scores,
            input_example=split.pool,
            data_version={
                "batch_id": "bench",
                "dataset_hash": split.pool_hash,
                "partition_key": "bench",
                "loaded_pct": 100.0,
                "train_rows": len(split.pool),
            },
            train_seconds=train_seconds,
        )
        mlflow.log_metric("holdout_weighted_f1", scores.weighted_f1)
    registry.set_production(client, MODEL, candidate.version)
    return tracking_uri, database_url, candidate.version, split.holdout, train_seconds


def _items(frame: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {"designation": str(d), "description": str(x) if isinstance(x, str) else ""}
        for d, x in zip(frame["designation"], frame["description"], strict=True)
    ]


def served_predictions(base: str) -> int:
    """The API's own count of recorded predictions (``rakuten_predictions_total``)."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("rakuten_predictions_total{")
        )
    )


def batch_rate(base: str, items: list[dict[str, str]]) -> list[float]:
    """Items/s of ``BATCH_CALLS`` timed ``/predict/batch`` calls (after one warm-up call)."""
    rates = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for call in range(BATCH_CALLS + 1):
            started = time.perf_counter()
            response = client.post("/predict/batch", json={"items": items})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            if len(response.json()["predictions"]) != len(items):
                raise SystemExit("/predict/batch answered the wrong number of predictions")
            if call:
                rates.append(len(items) / elapsed)
    return rates


def count_logged(database_url: str) -> int:
    with get_engine(database_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(prediction_log)).scalar_one())


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process of the process group ``pgid`` (server and workers)."""
    total_kb = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of /proc/PID/stat: the process group
                continue
            status = (stat.parent / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # exited meanwhile
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def bare_rates(tracking_uri: str, version: int, items: list[dict[str, str]]) -> dict[str, float]:
    """Items/s of the registered model called in this process on the same items (best of 3)."""
    mlflow.set_tracking_uri(tracking_uri)
    pipeline = mlflow.sklearn.load_model(f"models:/{MODEL}/{version}")
    frame = pd.DataFrame(items, columns=["designation", "description"])
    rows = [(item["designation"], item["description"]) for item in items]
    lean = lean_scorer(pipeline)
    calls = {
        "Pipeline.predict_proba (DataFrame)": lambda: pipeline.predict_proba(frame),
        "lean scorer": lambda: lean.predict_proba(rows),
    }
    rates = {}
    for name, call in calls.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - started)
        rates[name] = len(items) / best
    return rates


def bentoml_requirements() -> tuple[str, ...]:
    """BentoML, and the versions of this virtualenv's libraries that the pickle needs."""
    pinned = ("scikit-learn", "scipy", "numpy", "pandas")
    return ("bentoml==1.4.40", *(f"{name}=={metadata.version(name)}" for name in pinned))


def run_bentoml(
    root: Path,
    tracking_uri: str,
    version: int,
    one: dict[str, str],
    scripts: Path,
    duration: int,
    workers: int,
) -> tuple[dict[int, WrkResult], float] | str:
    """BentoML serving the same registered model; the reason instead when it cannot run.

    Its batchable API takes a list: each request sends ``{"items": [<the same listing>]}``
    and the adaptive batcher concatenates the lists of concurrent requests."""
    try:
        python = baseline_python(BENTOML_VENV, bentoml_requirements(), "bentoml, sklearn, pandas")
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"its virtualenv could not be built ({exc})"
    mlflow.set_tracking_uri(tracking_uri)
    model_dir = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{version}"))
    workdir = root / "bentoml"
    workdir.mkdir()
    (workdir / "service.py").write_text(BENTOML_SERVICE)
    port = free_port()
    command = [
        str(python.parent / "bentoml"), "serve", "service:Classifier", "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    env = {
        "BENCH_MODEL_PICKLE": str(model_dir / "model.pkl"),
        "BENCH_WORKERS": str(workers),
        "BENTOML_HOME": str(workdir / "home"),
        "BENTOML_DO_NOT_TRACK": "True",
        # The pickle refers to the cleaning functions of rakuten_assets.training.text.
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    script = lua_script(scripts, "bentoml", {"items": [one]})
    url = f"http://127.0.0.1:{port}/predict"
    try:
        with running(
            command,
            health_url=f"http://127.0.0.1:{port}/readyz",
            log_path=workdir / "bentoml.log",
            env=env,
            cwd=workdir,
        ) as served_by:
            httpx.post(url, json={"items": [one]}, timeout=30).raise_for_status()
            results, _ = load(url, script, duration)
            return results, group_rss_mb(served_by.pid)
    except (RuntimeError, httpx.HTTPError, subprocess.CalledProcessError) as exc:
        return f"it failed ({type(exc).__name__}; see {workdir / 'bentoml.log'})"


@dataclass
class Ours:
    """One run of our API: wrk results, /predict/batch rates, what the log holds afterwards."""

    results: dict[int, WrkResult]
    batch_rates: list[float]
    sent_ok: int
    served: int
    logged: int
    rss_mb: float

    @property
    def lost(self) -> int:
        return max(0, self.sent_ok - self.logged, self.served - self.logged)


def run_ours(
    root: Path,
    workers: int,
    common: dict[str, str],
    database_url: str,
    one: dict[str, str],
    script: Path,
    batch: list[dict[str, str]],
    duration: int,
) -> tuple[Ours, float]:
    """Our API with ``workers`` workers (own DATA_DIR), stopped by SIGTERM before counting."""
    data_dir = root / f"api-{workers}w"
    data_dir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**common, "ENVIRONMENT": "development", "DATA_DIR": str(data_dir),
           "DATABASE_URL": database_url}  # fmt: skip
    if workers > 1:
        (data_dir / "prometheus").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(data_dir / "prometheus")
    command = [
        str(BIN / "uvicorn"), "serving.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip
    before = count_logged(database_url)
    with running(
        command, health_url=f"{base}/ready", log_path=data_dir / "api.log", env=env, cwd=root
    ) as api:
        if workers > 1:
            time.sleep(5)  # /ready answered from one worker: let the other load its model too
        httpx.post(f"{base}/predict", json=one, timeout=30).raise_for_status()
        results, ok = load(f"{base}/predict", script, duration)
        rss = group_rss_mb(api.pid)
        rates = batch_rate(base, batch)
        sent_ok = 1 + ok + (BATCH_CALLS + 1) * BATCH_ITEMS
        time.sleep(1)  # let requests wrk abandoned at its deadline finish
        served = served_predictions(base)
    if api.returncode not in (0, -signal.SIGTERM):
        print(f"warning: the API exited with {api.returncode} (see {data_dir / 'api.log'})")
    logged = count_logged(database_url) - before
    return Ours(results, rates, sent_ok, served, logged, rss), rss


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic catalog rows")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed: apt-get update && apt-get install -y wrk (Debian/Ubuntu)"
        )

    begun = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    try:
        tracking_uri, database_url, version, holdout, train_seconds = register_model(
            root, args.rows
        )
        print(
            f"model: {MODEL} version {version}, trained on {args.rows:,} synthetic rows "
            f"(90% pool) in {train_seconds:.1f} s; store {root}"
        )
        one = _items(holdout.head(1))[0]
        scripts = root / "wrk"
        scripts.mkdir()
        api_lua = lua_script(scripts, "api", one)
        mlflow_lua = lua_script(scripts, "mlflow", {"dataframe_records": [one]})
        batch = _items(holdout.sample(n=BATCH_ITEMS, replace=True, random_state=0))
        workers = str(args.workers)
        uvicorn = str(BIN / "uvicorn")
        common = {"MLFLOW_TRACKING_URI": tracking_uri, "PYTHONUNBUFFERED": "1"}

        # (a) our API, prediction logging on, 1 and 2 workers.
        ours = {
            n: run_ours(root, n, common, database_url, one, api_lua, batch, args.duration)[0]
            for n in (1, 2)
        }
        bare = bare_rates(tracking_uri, version, batch)

        # (b) mlflow models serve, same registry version, same machine.
        port = free_port()
        mlflow_command = [
            str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}/{version}",
            "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
            "--workers", workers,
        ]  # fmt: skip
        with running(
            mlflow_command,
            health_url=f"http://127.0.0.1:{port}/ping",
            log_path=root / "mlflow.log",
            # mlflow execs ``uvicorn`` from PATH: the one of this virtualenv.
            env={**common, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
            cwd=root,
        ) as served_by:
            url = f"http://127.0.0.1:{port}/invocations"
            httpx.post(url, json={"dataframe_records": [one]}, timeout=30).raise_for_status()
            theirs, _ = load(url, mlflow_lua, args.duration)
            theirs_rss = group_rss_mb(served_by.pid)

        # (c) the constant endpoint: the HTTP ceiling.
        port = free_port()
        constant_command = [
            uvicorn, "bench.constant_app:app", "--app-dir", str(PROJECT_ROOT),
            "--host", "127.0.0.1", "--port", str(port), "--workers", workers, "--no-access-log",
        ]  # fmt: skip
        with running(
            constant_command,
            health_url=f"http://127.0.0.1:{port}/health",
            log_path=root / "constant.log",
            env=common,
            cwd=root,
        ) as constant:
            ceiling, _ = load(f"http://127.0.0.1:{port}/predict", api_lua, args.duration)
            ceiling_rss = group_rss_mb(constant.pid)

        # (d) BentoML with adaptive batching, same model, its own virtualenv.
        bento = run_bentoml(root, tracking_uri, version, one, scripts, args.duration, args.workers)

        print(
            f"\nsingle-item POSTs, wrk -t2, {args.duration} s per run after a {WARMUP_SECONDS} s "
            f"warm-up; (b) and (c) with {args.workers} uvicorn worker(s); wrk and the servers "
            f"share this machine's {os.cpu_count()} cores\n"
        )
        print(
            f"{'server':<38} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'non-2xx':>8} {'sock err':>8} {'RSS MB':>7}"
        )
        table = {
            "(a) our API, 1 worker (log on)": (ours[1].results, ours[1].rss_mb),
            "(a) our API, 2 workers (log on)": (ours[2].results, ours[2].rss_mb),
            "(b) mlflow models serve (local env)": (theirs, theirs_rss),
            "(c) constant FastAPI (HTTP ceiling)": (ceiling, ceiling_rss),
        }
        bento_name = "(d) BentoML 1.4.40, batchable=True"
        if not isinstance(bento, str):
            table[bento_name] = bento
        for name, (results, rss) in table.items():
            for connections, r in results.items():
                print(
                    f"{name:<38} {connections:>5} {r.rps:>9,.0f} {r.p50_ms:>8.2f} "
                    f"{r.p99_ms:>8.2f} {r.non_2xx:>8} {r.socket_errors:>8} {rss:>7,.0f}"
                )
        if isinstance(bento, str):
            print(f"{bento_name:<38} not measured: {bento}")

        print(f"\n/predict/batch, {BATCH_ITEMS:,} items, items/s (median of {BATCH_CALLS} calls):")
        for n, run in ours.items():
            print(
                f"  our API, {n} worker(s): {statistics.median(run.batch_rates):,.0f} "
                f"({', '.join(f'{r:,.0f}' for r in run.batch_rates)})"
            )
        for name, rate in bare.items():
            print(f"  bare model in this process, {name}: {rate:,.0f}")
        print("\nprediction_log after SIGTERM (rows written by each run):")
        for n, run in ours.items():
            print(
                f"  {n} worker(s): {run.logged:,} rows; 2xx answers counted by the clients "
                f"{run.sent_ok:,}; predictions counted by the API {run.served:,}; "
                f"lost {run.lost:,}"
            )

        best = max(ours.values(), key=lambda run: run.results[16].rps)
        a16, b16 = best.results[16], theirs[16]
        bare_pipeline = bare["Pipeline.predict_proba (DataFrame)"]
        print("\ntargets (the better worker count at 16 conns):")
        print(
            f"  throughput >= {TARGET_VS_MLFLOW:g}x (b) at 16 conns: "
            f"{a16.rps / b16.rps:.1f}x  {verdict(a16.rps >= TARGET_VS_MLFLOW * b16.rps)}"
        )
        print(
            f"  p99 <= {TARGET_P99_MS:g} ms at 16 conns: {a16.p99_ms:.2f} ms  "
            f"{verdict(a16.p99_ms <= TARGET_P99_MS)}"
        )
        if not isinstance(bento, str):
            d16 = bento[0][16]
            print(
                f"  ahead of BentoML (d) at 16 conns: {a16.rps / d16.rps:.1f}x  "
                f"{verdict(a16.rps > d16.rps)}"
            )
        for connections in CONNECTIONS:
            share = best.results[connections].rps / ceiling[connections].rps
            print(
                f"  throughput >= {TARGET_VS_CEILING:.0%} of (c) at {connections} conns: "
                f"{share:.0%}  {verdict(share >= TARGET_VS_CEILING)}"
            )
        batch_share = statistics.median(best.batch_rates) / bare_pipeline
        print(
            f"  /predict/batch >= {TARGET_BATCH_VS_BARE:.0%} of the bare Pipeline: "
            f"{batch_share:.0%}  {verdict(batch_share >= TARGET_BATCH_VS_BARE)}"
        )
        lost = sum(run.lost for run in ours.values())
        print(f"  zero lost log rows: {lost} lost  {verdict(lost == 0)}")
        print(
            f"\ntotal {time.perf_counter() - begun:.0f} s, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
