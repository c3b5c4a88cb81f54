"""Property-based fuzzing of the API from its own OpenAPI schema: no input ever gives a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    api_env,
    api_server,
    build_registry,
)


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog
) -> Iterator[OpenApiSchema]:
    root = tmp_path_factory.mktemp("fuzz")
    reg = build_registry(root / "registry", small_split, versions=1)
    env = api_env(root / "var", reg.tracking_uri, reg.database_url, API_MAX_BATCH_ITEMS="20")
    with api_server(env, root / "api.log") as (url, _pid):
        yield schemathesis.openapi.from_url(f"{url}/openapi.json").include(
            # Answers 503 by design while no Dagster webserver runs (tested elsewhere).
            path_regex="^(?!/api/trigger-retrain)"
        )


def test_no_request_makes_the_api_fail(api_schema: OpenApiSchema) -> None:
    # Hypothesis drives schemathesis' strategies directly: schemathesis 4.32's pytest plugin
    # does not work with pytest 9 (it reads a private attribute pytest removed).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/predict/batch", "/api/rollback-model"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: schemathesis.Case) -> None:
            # With the admin token, so that the control endpoints are fuzzed past authentication.
            response = case.call(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
            )

        check()


def test_openapi_has_an_example_for_every_operation(api_schema: OpenApiSchema) -> None:
    raw = api_schema.raw_schema
    components = raw["components"]["schemas"]
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                name = body["schema"]["$ref"].rsplit("/", 1)[-1]
                assert components[name].get("examples"), f"{method} {path} request"
            ok = next(iter(operation["responses"].values()))
            content = ok.get("content", {})
            has_example = any(
                "example" in media
                or components.get(
                    media.get("schema", {}).get("$ref", "/").rsplit("/", 1)[-1], {}
                ).get("examples")
                for media in content.values()
            )
            assert has_example or not content, f"{method} {path} response has no example"
