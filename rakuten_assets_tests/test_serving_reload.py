"""Hot reload under load: promote, then roll back, while clients keep predicting."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from rakuten_assets import registry
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine
from rakuten_assets_tests.test_serving_support import (
    MODEL,
    api_env,
    api_server,
    build_registry,
    promote,
)

CLIENTS = 4


class Load:
    """Client threads that predict continuously and keep every status and served version."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[int, str | None]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CLIENTS)]

    def _run(self, index: int) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                body = {"designation": f"Coussin déco lin {index}-{n}", "top_k": 2}
                try:
                    answer = client.post(f"{self.url}/predict", json=body)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors.append(repr(exc))
                    continue
                with self._lock:
                    self.results.append((answer.status_code, answer.headers.get("X-Model-Version")))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for_version(self, version: int, timeout: float = 120) -> None:
        """Until the clients get answers from ``version`` (the watcher polls every 0.5 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                recent = [v for _, v in self.results[-20:]]
            if recent and all(v == str(version) for v in recent):
                return
            time.sleep(0.1)
        pytest.fail(f"v{version} was not served within {timeout} s")


def test_promotion_and_rollback_swap_models_without_a_failed_request(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    reg = build_registry(tmp_path / "registry", small_split, versions=2)
    v1, v2 = reg.versions
    env = api_env(tmp_path / "var", reg.tracking_uri, reg.database_url)
    with api_server(env, tmp_path / "api.log") as (url, _pid), Load(url) as load:
        load.wait_for_version(v1)
        promote(reg.tracking_uri, reg.database_url, v2)
        load.wait_for_version(v2)
        client = registry.configure(reg.tracking_uri)
        moved = registry.rollback(
            client, get_engine(reg.database_url), MODEL, actor="test", reason="hot reload"
        )
        assert moved.target_version == v1
        load.wait_for_version(v1)
    assert load.errors == []
    statuses = {status for status, _ in load.results}
    assert statuses == {200}, statuses
    served = [v for _, v in load.results]
    # v1, then v2 after the promotion, then v1 again after the rollback: both swaps happened.
    changes = [v for i, v in enumerate(served) if i == 0 or v != served[i - 1]]
    assert changes[0] == str(v1)
    assert changes[-1] == str(v1)
    assert str(v2) in changes
    assert len(load.results) > 100
