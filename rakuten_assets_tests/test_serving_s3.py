"""MLflow artifacts on S3, as in docker-compose.yml (MinIO): a real ``mlflow server`` with an
``s3://`` artifact destination, the training code logs a model through it, the API loads it.

MinIO's server cannot be installed on these machines (not in Debian, downloads fail), so moto's
S3-compatible server (``moto_server``, from PyPI) stands in for it, on a free local port.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import mlflow
import pytest

from rakuten_assets import registry
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.processes import free_port, mlflow_server, running
from rakuten_assets_tests.test_serving_support import (
    MODEL,
    api_env,
    api_server,
    promote,
    register_version,
)

BUCKET = "mlflow"  # what minio_init creates in docker-compose.yml
#: moto accepts any credentials; MLflow's S3 client (boto3) needs some to sign requests.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "rakuten",
    "AWS_SECRET_ACCESS_KEY": "rakuten-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("moto")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with running(
        command, health_url=f"{endpoint}/moto-api/", log_path=root / "moto.log", env=S3_CREDENTIALS
    ):
        s3 = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
        s3.create_bucket(Bucket=BUCKET)
        yield endpoint


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def test_model_logged_to_s3_is_served_from_there(
    tmp_path: Path, small_split: SplitCatalog, s3_endpoint: str
) -> None:
    s3_env = {**S3_CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}
    database_url = f"sqlite:///{tmp_path / 'rakuten.db'}"
    upgrade_schema(get_engine(database_url))
    with mlflow_server(tmp_path, f"s3://{BUCKET}/artifacts", env=s3_env) as tracking:
        client = registry.configure(tracking)
        mlflow.set_experiment(experiment_id=registry.ensure_experiment(client, "on-s3", None))
        # The training code logs through the server, which writes to the bucket.
        version = register_version(small_split, 500, seed=21)
        promote(tracking, database_url, version)

        s3 = boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials())
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert any(k.startswith("artifacts/") and k.endswith("/MLmodel") for k in keys), keys
        assert any(k.endswith("model.pkl") or k.endswith("model.skops") for k in keys), keys

        # The API holds no S3 credentials: it reads the artifacts through the server.
        env = api_env(tmp_path / "var", tracking, database_url)
        with api_server(env, tmp_path / "api.log") as (url, _pid):
            model = httpx.get(f"{url}/model").json()
            assert (model["version"], model["source"]) == (version, "registry")
            answer = httpx.post(f"{url}/predict", json={"designation": "Lot de romans policiers"})
            assert answer.status_code == 200
            assert answer.headers["X-Model-Version"] == str(version)

        # Emptied bucket, no model: the server really keeps the artifacts in S3.
        for key in keys:
            s3.delete_object(Bucket=BUCKET, Key=key)
        downloaded = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{MODEL}/{version}", dst_path=str(tmp_path / "download")
            )
        )
        assert not list(downloaded.rglob("MLmodel"))
