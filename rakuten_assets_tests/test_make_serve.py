"""`make serve` serves the Production model of the embedded stores under DATA_DIR."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.processes import free_port, running
from rakuten_assets_tests.test_serving_support import build_registry, logged_ids

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent


def test_make_serve_answers_with_the_production_model(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    data_dir = tmp_path / "var"
    # build_registry writes DATA_DIR's default stores: mlflow.db and rakuten.db.
    reg = build_registry(data_dir, small_split, versions=1)
    assert reg.tracking_uri == f"sqlite:///{data_dir / 'mlflow.db'}"
    [version] = reg.versions
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DATA_DIR": str(data_dir),
        "API_PORT": str(port),
        # Empty = the embedded defaults under DATA_DIR, whatever the test process inherited.
        "MLFLOW_TRACKING_URI": "",
        "DATABASE_URL": "",
        "API_HOST": "127.0.0.1",
        "ENVIRONMENT": "development",
    }
    # --assume-old: test the verb, not the installation (a pyproject.toml newer than the venv
    # stamp would otherwise make `make` reinstall the shared virtualenv first).
    command = ["make", f"VENV={VENV}", f"--assume-old={VENV / '.installed'}", "serve"]
    log = tmp_path / "make-serve.log"
    with running(command, health_url=f"{url}/ready", log_path=log, env=env, cwd=ROOT) as make:
        ready = httpx.get(f"{url}/ready").json()
        assert ready["model_version"] == version
        answer = httpx.post(f"{url}/predict", json={"designation": "Coussin déco en lin lavé"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Model-Version"] == str(version)
        assert answer.json()["model_version"] == version
        assert httpx.get(f"{url}/model").json()["source"] == "registry"
        assert f"prediction API on http://127.0.0.1:{port}" in log.read_text()
        # ... and logged it in DATA_DIR's default database (flushed within API_LOG_FLUSH_SECONDS).
        deadline = time.monotonic() + 60
        while logged_ids(reg.database_url) != [answer.json()["prediction_id"]]:
            assert time.monotonic() < deadline, logged_ids(reg.database_url)
            time.sleep(0.2)
    # `running` stopped make's process group (make, then uvicorn that `rakuten serve` became).
    assert make.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5)
