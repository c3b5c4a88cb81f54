"""The prediction API as clients and operators use it: uvicorn in a subprocess, real models.

One registry (two versions trained by the real pipeline code, v1 in Production) and one API
process are shared by the module; tests that need another configuration start their own.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from rakuten_assets import realised
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, prediction_inputs
from rakuten_assets.drift.report import DriftParameters, compute_report
from rakuten_assets.drift.storage import store_report
from rakuten_assets.processes import free_port, mlflow_server, run_command
from rakuten_assets.settings import Settings
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    MODEL,
    Registry,
    api_env,
    api_server,
    build_registry,
    count_logged,
    logged_ids,
    register_version,
)

MAX_BATCH = 5


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog) -> Registry:
    return build_registry(tmp_path_factory.mktemp("registry"), small_split, versions=1)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, reg: Registry) -> Iterator[str]:
    root = tmp_path_factory.mktemp("api")
    env = api_env(
        root / "var",
        reg.tracking_uri,
        reg.database_url,
        API_MAX_BATCH_ITEMS=str(MAX_BATCH),
        API_MAX_FIELD_CHARS="1000",
        API_MAX_BODY_BYTES="65536",
    )
    with api_server(env, root / "api.log") as (url, _pid):
        yield url


def test_predict_answers_code_label_confidence_top_k_and_version(api: str, reg: Registry) -> None:
    body = {
        "designation": "Coussin déco en lin lavé 45x45 cm",
        "description": "<p>Housse &amp; garnissage</p>",
        "productid": 3804725264,
        "imageid": 1263597046,
        "top_k": 5,
    }
    answer = httpx.post(f"{api}/predict", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert answer.headers["X-Model-Version"] == str(reg.versions[0]) == str(data["model_version"])
    assert data["prdtypecode"] in CATEGORY_LABELS
    assert data["label"] == CATEGORY_LABELS[data["prdtypecode"]]
    assert len(data["top_k"]) == 5
    probabilities = [r["probability"] for r in data["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert data["top_k"][0]["prdtypecode"] == data["prdtypecode"]
    assert data["confidence"] == probabilities[0]
    assert len({r["prdtypecode"] for r in data["top_k"]}) == 5
    assert len(data["prediction_id"]) == 36
    default = httpx.post(f"{api}/predict", json={"designation": "Lot de 3 romans"}).json()
    assert len(default["top_k"]) == 3


def test_batch_agrees_with_single_predictions(api: str, small_split: SplitCatalog) -> None:
    rows = small_split.holdout.head(MAX_BATCH)
    items = [
        {"designation": d, "description": s, "top_k": 2}
        for d, s in zip(rows["designation"], rows["description"], strict=True)
    ]
    batch = httpx.post(f"{api}/predict/batch", json={"items": items})
    assert batch.status_code == 200, batch.text
    predictions = batch.json()["predictions"]
    assert len(predictions) == MAX_BATCH
    assert len({p["prediction_id"] for p in predictions}) == MAX_BATCH
    for item, predicted in zip(items, predictions, strict=True):
        single = httpx.post(f"{api}/predict", json=item).json()
        assert single["prdtypecode"] == predicted["prdtypecode"]
        assert single["confidence"] == pytest.approx(predicted["confidence"], abs=1e-6)
    too_many = httpx.post(f"{api}/predict/batch", json={"items": [items[0]] * (MAX_BATCH + 1)})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "items"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "designation"),
        ({"designation": ""}, "designation"),
        ({"designation": "   \t"}, "designation"),
        ({"designation": None}, "designation"),
        ({"designation": 42}, "designation"),
        ({"designation": ["a"]}, "designation"),
        ({"designation": "ok", "description": 3}, "description"),
        ({"designation": "ok", "top_k": 0}, "top_k"),
        ({"designation": "ok", "top_k": 28}, "top_k"),
        ({"designation": "ok", "top_k": "3"}, "top_k"),
        ({"designation": "ok", "productid": "abc"}, "productid"),
        ({"designation": "ok", "productid": -1}, "productid"),
        ({"designation": "ok", "imageid": 2**70}, "imageid"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    api: str, body: dict[str, object], field: str
) -> None:
    answer = httpx.post(f"{api}/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert any(error["loc"][-1] == field for error in answer.json()["detail"])
    in_batch = httpx.post(f"{api}/predict/batch", json={"items": [body]})
    assert in_batch.status_code == 422
    assert any(error["loc"][-1] == field for error in in_batch.json()["detail"])


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"designation": "x"', b"[]", b'"designation"', b"\xff\xfe"],
)
def test_malformed_bodies_are_422(api: str, content: bytes) -> None:
    answer = httpx.post(
        f"{api}/predict", content=content, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text


def test_oversized_body_or_field_is_413(api: str) -> None:
    long_title = httpx.post(f"{api}/predict", json={"designation": "x" * 1001})
    assert long_title.status_code == 413
    assert "designation" in long_title.json()["detail"]
    in_batch = httpx.post(
        f"{api}/predict/batch",
        json={"items": [{"designation": "ok"}, {"designation": "ok", "description": "y" * 1001}]},
    )
    assert in_batch.status_code == 413
    assert "items[1].description" in in_batch.json()["detail"]
    assert httpx.post(f"{api}/predict", json={"designation": "x" * 1000}).status_code == 200
    huge = b'{"designation": "' + b"x" * 70_000 + b'"}'
    assert httpx.post(f"{api}/predict", content=huge).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must still hold
        yield huge[:40_000]
        yield huge[40_000:]

    assert httpx.post(f"{api}/predict", content=chunks()).status_code == 413


CONTROL = [
    ("post", "/api/trigger-retrain", {"actor": "alice", "reason": "drift"}),
    ("post", "/api/rollback-model", {"actor": "alice", "reason": "drift"}),
    ("get", "/api/action-history", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROL)
def test_control_endpoints_need_the_admin_token(
    api: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    def call(headers: dict[str, str]) -> httpx.Response:
        return httpx.request(method, f"{api}{path}", json=body, headers=headers, timeout=60)

    anonymous = call({})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert call({"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401
    assert call({"Authorization": "Bearer wrong-token"}).status_code == 403
    assert call({"Authorization": f"Bearer {ADMIN_TOKEN}x"}).status_code == 403
    right = call({"Authorization": f"Bearer {ADMIN_TOKEN}"})
    # Past authentication: the endpoint's own answer (no Dagster here: 503; one Production
    # version only: no rollback target, 409; the history: 200).
    expected = {"/api/trigger-retrain": 503, "/api/rollback-model": 409, "/api/action-history": 200}
    assert right.status_code == expected[path], right.text


def test_action_history_records_who_did_what(api: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    refused = httpx.post(
        f"{api}/api/rollback-model", json={"actor": "bob", "reason": "test 7"}, headers=headers
    )
    assert refused.status_code == 409
    assert "no rollback target" in refused.json()["detail"]
    history = httpx.get(f"{api}/api/action-history", headers=headers).json()["actions"]
    latest = history[0]
    assert (latest["action"], latest["actor"], latest["reason"]) == ("rollback", "bob", "test 7")
    assert latest["outcome"] == "refused"
    unreachable = httpx.post(
        f"{api}/api/trigger-retrain",
        json={"actor": "carol", "reason": "drift", "partition_key": "2026-02-02"},
        headers=headers,
    )
    assert unreachable.status_code == 503
    assert "Is the Dagster webserver running" in unreachable.json()["detail"]


def test_health_ready_and_model(api: str, reg: Registry) -> None:
    assert httpx.get(f"{api}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{api}/ready")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == reg.versions[0]
    assert ready.json()["registry"]["ok"] is True
    model = httpx.get(f"{api}/model").json()
    assert model["version"] == reg.versions[0]
    assert model["model_name"] == MODEL
    assert model["source"] == "registry"
    assert 0 < model["holdout_weighted_f1"] <= 1
    assert model["data_version"]["batch_id"] == "batch-0"
    assert model["trained_at"].startswith("20")
    assert model["classes"] == 27


def test_every_successful_prediction_is_logged_once(api: str, reg: Registry) -> None:
    before = set(logged_ids(reg.database_url))
    ids = [
        httpx.post(f"{api}/predict", json={"designation": f"article {i}"}).json()["prediction_id"]
        for i in range(20)
    ]
    batch = httpx.post(
        f"{api}/predict/batch", json={"items": [{"designation": "a"}, {"designation": "b"}]}
    )
    ids += [p["prediction_id"] for p in batch.json()["predictions"]]
    deadline = time.monotonic() + 30
    while set(ids) - set(logged_ids(reg.database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(logged_ids(reg.database_url)) - before == set(ids)
    # CAPTURE_INPUTS is off by default: no input text is kept (personal data).
    with get_engine(reg.database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(prediction_inputs)).scalar_one() == 0


def test_metrics_expose_the_rakuten_families(api: str, reg: Registry) -> None:
    httpx.post(f"{api}/predict", json={"designation": "Coussin"})
    text = httpx.get(f"{api}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "rakuten_predictions",
        "rakuten_prediction_latency_seconds",
        "rakuten_prediction_confidence",
        "rakuten_input_text_length_chars",
        "rakuten_model_version",
        "rakuten_model_info",
        "rakuten_model_load_timestamp_seconds",
        "rakuten_errors",
        "rakuten_prediction_log_queue_depth",
        "rakuten_prediction_log_spooled",
        "rakuten_prediction_log_replayed",
    ):
        assert name in families, name
    version = families["rakuten_model_version"].samples[0].value
    assert version == reg.versions[0]
    buckets = [
        s.labels["le"]
        for s in families["rakuten_prediction_latency_seconds"].samples
        if s.name.endswith("_bucket")
    ]
    assert "0.001" in buckets
    assert (
        sum(s.value for s in families["rakuten_predictions"].samples if s.name.endswith("_total"))
        >= 1
    )


def test_metrics_count_answers_by_route_and_status_and_name_the_categories(api: str) -> None:
    def answers(route: str, status: str) -> float:
        text = httpx.get(f"{api}/metrics").text
        [family] = [
            f for f in text_string_to_metric_families(text) if f.name == "rakuten_http_requests"
        ]
        return sum(
            s.value
            for s in family.samples
            if s.name.endswith("_total") and s.labels == {"route": route, "status": status}
        )

    before = answers("/predict", "422"), answers("unmatched", "404")
    assert httpx.post(f"{api}/predict", json={"designation": ""}).status_code == 422
    assert httpx.get(f"{api}/no/such/page/123").status_code == 404
    assert (answers("/predict", "422"), answers("unmatched", "404")) == (
        before[0] + 1,
        before[1] + 1,
    )
    text = httpx.get(f"{api}/metrics").text
    info = {
        s.labels["prdtypecode"]: s.labels["category"]
        for f in text_string_to_metric_families(text)
        if f.name == "rakuten_category_info"
        for s in f.samples
    }
    assert info == {str(code): label for code, label in CATEGORY_LABELS.items()}


def test_root_names_the_service_its_model_and_links(api: str, reg: Registry) -> None:
    body = httpx.get(f"{api}/").json()
    assert body["service"] == "Rakuten product classifier"
    assert body["version"]
    assert body["model"]["name"] == "rakuten_classifier"
    assert body["model"]["version"] == reg.versions[0]
    for name, path in body["links"].items():
        assert httpx.get(f"{api}{path}").status_code == 200, name


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
    ("/redoc", ("redoc.standalone.js",)),
])  # fmt: skip
def test_docs_pages_load_their_assets_from_the_api_itself(
    api: str, page: str, assets: tuple[str, ...]
) -> None:
    """No CDN: every script and stylesheet of the page is served by the API (works offline)."""
    html = httpx.get(f"{api}{page}").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    for asset in assets:
        [source] = [s for s in sources if s.endswith(asset)]
        answer = httpx.get(f"{api}{source}")
        assert answer.status_code == 200
        assert len(answer.content) > 10_000, source  # the real bundle, not a stub


def test_docs_page_lists_the_operations_in_a_real_browser(api: str, tmp_path: Path) -> None:
    """Debian's headless Chromium, network to anything but the API off: Swagger UI renders
    every operation of the OpenAPI schema, and a screenshot shows it."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: run `make browser-tools` (Debian's chromium)")
    flags = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--hide-scrollbars", "--virtual-time-budget=10000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    dom = run_command([chromium, *flags, "--dump-dom", f"{api}/docs"], timeout=120).stdout
    rendered = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    paths = set(httpx.get(f"{api}/openapi.json").json()["paths"])
    assert rendered == paths
    assert {"/predict", "/api/rollback-model", "/"} <= rendered
    screenshot = tmp_path / "docs.png"
    run_command(
        [chromium, *flags, "--window-size=1280,1400", f"--screenshot={screenshot}", f"{api}/docs"],
        timeout=120,
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _wait_logged(database_url: str, ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    while set(ids) - set(logged_ids(database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(ids) - set(logged_ids(database_url))


def test_feedback_records_true_codes_and_the_report_shows_realised_scores(
    api: str, reg: Registry
) -> None:
    answers = [
        httpx.post(f"{api}/predict", json={"designation": f"Coussin lin {i}"}).json()
        for i in range(3)
    ]
    ids = [a["prediction_id"] for a in answers]
    _wait_logged(reg.database_url, ids)
    # One label: the predicted code (right); batch: one wrong, the first again (unchanged).
    first = {"prediction_id": ids[0], "prdtypecode": answers[0]["prdtypecode"]}
    one = httpx.post(f"{api}/api/feedback", json=first)
    assert one.status_code == 200, one.text
    assert one.json() == {"recorded": 1, "unchanged": 0}
    wrong_code = next(c for c in sorted(CATEGORY_LABELS) if c != answers[1]["prdtypecode"])
    batch = [first, {"prediction_id": ids[1], "prdtypecode": wrong_code}]
    answer = httpx.post(f"{api}/api/feedback/batch", json={"items": batch})
    assert answer.json() == {"recorded": 1, "unchanged": 1}
    assert httpx.post(f"{api}/api/feedback/batch", json={"items": batch}).json() == {
        "recorded": 0, "unchanged": 2,
    }  # fmt: skip

    unknown = httpx.post(f"{api}/api/feedback", json={"prediction_id": "nope", "prdtypecode": 10})
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["detail"]
    bad = httpx.post(f"{api}/api/feedback", json={"prediction_id": ids[2], "prdtypecode": 12})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "prdtypecode"]
    other = {"prediction_id": ids[0], "prdtypecode": wrong_code}
    assert httpx.post(f"{api}/api/feedback", json=other).status_code == 409
    mixed = {"items": [{"prediction_id": ids[2], "prdtypecode": 10}, other]}
    assert httpx.post(f"{api}/api/feedback/batch", json=mixed).status_code == 409
    assert httpx.post(f"{api}/api/feedback/batch", json={"items": []}).status_code == 422

    # The daily report of today's predictions carries their realised scores, per version.
    settings = Settings.model_construct()  # the defaults: Europe/Paris, 7 + 30 days
    today = datetime.now(ZoneInfo(settings.pipeline_timezone)).date()
    engine = get_engine(reg.database_url)
    store_report(engine, compute_report(engine, today, DriftParameters.from_settings(settings)))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    reports = httpx.get(f"{api}/api/drift-reports", headers=admin).json()["reports"]
    realised = reports[0]["realised"]
    assert realised["overall"]["rows"] == 2  # ids[2] got no label (its call was refused)
    assert realised["overall"]["accuracy"] == 0.5
    assert set(realised["by_model_version"]) == {str(reg.versions[0])}
    assert reports[0]["performance"] is None  # 3 predictions: no estimate


def test_realised_performance_of_the_weekly_slices_is_served(api: str, reg: Registry) -> None:
    week = realised.SlicePerformance(
        partition_key="2026-01-05", slice_index=1, model_version=reg.versions[0], rows=900,
        weighted_f1=0.71, macro_f1=0.65, accuracy=0.72, per_class_f1={10: 0.5, 40: 0.9},
        holdout_weighted_f1=0.8, computed_at=datetime.now(ZoneInfo("UTC")),
    )  # fmt: skip
    realised.store(get_engine(reg.database_url), week)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.get(f"{api}/api/realised-performance").status_code == 401
    [served] = httpx.get(f"{api}/api/realised-performance", headers=admin).json()["weeks"]
    assert served["drop"] == pytest.approx(0.09)
    assert served["per_class_f1"] == {"10": 0.5, "40": 0.9}
    assert served["model_version"] == reg.versions[0]


def test_prediction_can_require_a_client_token(tmp_path: Path, reg: Registry) -> None:
    env = api_env(
        tmp_path / "var", reg.tracking_uri, reg.database_url, API_CLIENT_TOKEN="client-token-xyz"
    )
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        body = {"designation": "Coussin"}
        assert httpx.post(f"{url}/predict", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{url}/predict", json=body, headers=wrong).status_code == 403
        right = {"Authorization": "Bearer client-token-xyz"}
        assert httpx.post(f"{url}/predict", json=body, headers=right).status_code == 200
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert httpx.post(f"{url}/predict", json=body, headers=admin).status_code == 403
        label = {"prediction_id": "x", "prdtypecode": 10}
        assert httpx.post(f"{url}/api/feedback", json=label).status_code == 401
        assert httpx.post(f"{url}/api/feedback", json=label, headers=right).status_code == 404
    assert "client-token-xyz" not in (tmp_path / "api.log").read_text()
    assert ADMIN_TOKEN not in (tmp_path / "api.log").read_text()


@pytest.mark.parametrize("token", [None, "changethis", "short"])
def test_production_refuses_to_start_without_a_real_admin_token(
    tmp_path: Path, reg: Registry, token: str | None
) -> None:
    env = api_env(tmp_path / "var", reg.tracking_uri, reg.database_url, ENVIRONMENT="production")
    env["API_ADMIN_TOKEN"] = token or ""
    with pytest.raises(RuntimeError, match="exited with"), api_server(env, tmp_path / "api.log"):
        pass
    assert "API_ADMIN_TOKEN" in (tmp_path / "api.log").read_text()


def test_no_model_anywhere_answers_503_with_retry_after(tmp_path: Path) -> None:
    dead_registry = f"http://127.0.0.1:{free_port()}"
    env = api_env(tmp_path / "var", dead_registry, f"sqlite:///{tmp_path / 'rakuten.db'}")
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        assert httpx.get(f"{url}/health").status_code == 200
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503
        assert ready.json()["registry"]["ok"] is False
        for path, body in [
            ("/predict", {"designation": "Coussin"}),
            ("/predict/batch", {"items": [{"designation": "Coussin"}]}),
        ]:
            answer = httpx.post(f"{url}{path}", json=body)
            assert answer.status_code == 503
            assert int(answer.headers["Retry-After"]) >= 0
        assert httpx.get(f"{url}/model").status_code == 503


def test_restart_while_mlflow_is_down_serves_the_last_good_copy(
    tmp_path: Path, reg: Registry
) -> None:
    data_dir = tmp_path / "var"
    env = api_env(data_dir, reg.tracking_uri, reg.database_url)
    with api_server(env, tmp_path / "first.log") as (url, _pid):
        first = httpx.post(f"{url}/predict", json={"designation": "Coussin lin"}).json()
    down = api_env(data_dir, f"http://127.0.0.1:{free_port()}", reg.database_url)
    with api_server(down, tmp_path / "second.log") as (url, _pid):
        ready = httpx.get(f"{url}/ready").json()
        assert ready["ready"] is True
        assert ready["registry"]["ok"] is False
        model = httpx.get(f"{url}/model").json()
        assert (model["version"], model["source"]) == (reg.versions[0], "local copy")
        again = httpx.post(f"{url}/predict", json={"designation": "Coussin lin"}).json()
    assert again["prdtypecode"] == first["prdtypecode"]
    assert again["confidence"] == first["confidence"]


def test_serves_from_a_real_mlflow_server(tmp_path: Path, small_split: SplitCatalog) -> None:
    import mlflow

    from rakuten_assets import registry
    from rakuten_assets_tests.test_serving_support import promote

    database_url = f"sqlite:///{tmp_path / 'rakuten.db'}"
    with mlflow_server(tmp_path) as tracking:
        from rakuten_assets.db import get_engine, upgrade_schema

        upgrade_schema(get_engine(database_url))
        client = registry.configure(tracking)
        mlflow.set_experiment(experiment_id=registry.ensure_experiment(client, "served", None))
        version = register_version(small_split, 500, seed=11)
        promote(tracking, database_url, version)
        env = api_env(tmp_path / "var", tracking, database_url)
        with api_server(env, tmp_path / "api.log") as (url, _pid):
            answer = httpx.post(f"{url}/predict", json={"designation": "Lot de romans"})
            assert answer.status_code == 200
            assert answer.headers["X-Model-Version"] == str(version)
            assert httpx.get(f"{url}/model").json()["source"] == "registry"
    # the API was stopped gracefully: its queue was flushed before it exited
    assert count_logged(database_url) == 1
