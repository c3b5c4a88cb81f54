"""`rakuten serve --workers 2`: metrics and the prediction log add up over both workers.

prometheus-client's multiprocess mode keeps one file per worker PID in PROMETHEUS_MULTIPROC_DIR
(`rakuten serve` sets it up under DATA_DIR); reading those files per PID shows which worker
answered what, and any worker's ``/metrics`` must report the sum.
"""

from __future__ import annotations

import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.processes import free_port, run_command, running
from rakuten_assets_tests.test_serving_support import api_env, build_registry, count_logged

BIN = Path(sys.executable).parent
WORKERS = 2
PREDICTIONS = 300


def _per_worker(metrics_dir: Path, metric: str) -> dict[int, float]:
    """The samples of ``metric`` summed per worker PID, read from the multiprocess files."""
    pids = {
        int(m.group(1))
        for p in metrics_dir.glob("*.db")
        if (m := re.search(r"_(\d+)\.db$", p.name))
    }
    totals: dict[int, float] = {}
    for pid in pids:
        files = [str(p) for p in metrics_dir.glob(f"*_{pid}.db")]
        totals[pid] = sum(
            sample.value
            for family in MultiProcessCollector.merge(files)
            for sample in family.samples
            if sample.name == metric
        )
    return totals


def _scrape(url: str) -> dict[str, float]:
    """``rakuten_*`` samples of one ``/metrics`` answer, summed over their labels."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            key = sample.name
            if sample.name == "rakuten_prediction_latency_seconds_count":
                key += "{" + sample.labels["endpoint"] + "}"
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def test_two_workers_count_every_prediction_once(
    tmp_path: Path, small_split: SplitCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rakuten serve` must choose the directory itself (an inherited one could hold old files).
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    reg = build_registry(tmp_path / "registry", small_split, versions=1)
    [version] = reg.versions
    data_dir = tmp_path / "var"
    env = api_env(data_dir, reg.tracking_uri, reg.database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "rakuten"), "serve", "--workers", str(WORKERS), "--port", str(port)]
    metrics_dir = data_dir / "prometheus"  # where `rakuten serve` puts the multiprocess files
    with running(command, health_url=f"{url}/health", log_path=tmp_path / "api.log", env=env):
        # Both workers have loaded the model once each has set its version gauge.
        deadline = time.monotonic() + 180
        while list(_per_worker(metrics_dir, "rakuten_model_version").values()) != [version] * 2:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"both workers never served v{version}: {(tmp_path / 'api.log').read_text()}"
                )
            time.sleep(0.2)

        def predict(i: int) -> str:
            # A new connection per request: the kernel hands each to whichever worker accepts.
            answer = httpx.post(f"{url}/predict", json={"designation": f"Coussin lin {i}"})
            assert answer.status_code == 200, answer.text
            return str(answer.headers["X-Model-Version"])

        with ThreadPoolExecutor(8) as pool:
            served = list(pool.map(predict, range(PREDICTIONS)))
        assert served == [str(version)] * PREDICTIONS

        per_worker = _per_worker(metrics_dir, "rakuten_predictions_total")
        assert len(per_worker) == WORKERS
        assert all(count > 0 for count in per_worker.values()), per_worker  # both answered
        assert sum(per_worker.values()) == PREDICTIONS

        # Whichever worker answers the scrape, it reports both workers' predictions.
        for _ in range(10):
            scraped = _scrape(url)
            assert scraped["rakuten_predictions_total"] == PREDICTIONS
            assert scraped["rakuten_prediction_latency_seconds_count{predict}"] == PREDICTIONS
            assert scraped["rakuten_prediction_confidence_count"] == PREDICTIONS
            assert scraped["rakuten_model_version"] == version

        deadline = time.monotonic() + 60
        while count_logged(reg.database_url) < PREDICTIONS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count_logged(reg.database_url) == PREDICTIONS
        assert _scrape(url)["rakuten_prediction_log_written_total"] == PREDICTIONS


def test_an_empty_multiprocess_dir_is_refused_not_half_used(tmp_path: Path) -> None:
    """`PROMETHEUS_MULTIPROC_DIR=` would put metric files in the working directory and make
    `/metrics` show one worker's numbers: uvicorn on the app refuses to start, and `rakuten
    serve` (which reads it as unset, like every other empty setting) serves without it."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    direct = run_command(
        [
            str(BIN / "uvicorn"),
            "serving.app:create_app",
            "--factory",
            "--port",
            str(free_port()),
        ],
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert direct.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR='' is not a directory" in direct.stdout + direct.stderr

    port = free_port()
    with running(
        [str(BIN / "rakuten"), "serve", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=tmp_path / "serve.log",
        env={**env, "API_PORT": str(port)},
        cwd=tmp_path,
    ):
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    assert list(tmp_path.glob("*.db")) == []
