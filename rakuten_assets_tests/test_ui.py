"""The control room through `streamlit.testing.v1.AppTest`: every page renders with demo-like
data, with an empty database and with the API down; its buttons act on real storage.

The stores are real and built once per module: a SQLite product database with two weekly loads,
an MLflow store with three trained versions (promoted one after the other), simulated traffic
scored by the Production model, three daily drift reports and their alerts. The API runs under
uvicorn for the whole module; "API down" points the UI at a free port with nothing behind it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from rakuten_assets import registry, shadow
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data.catalog import SplitCatalog, write_split
from rakuten_assets.data.loader import load_slice
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.drift.report import DriftParameters, compute_report
from rakuten_assets.drift.simulate import simulate_traffic
from rakuten_assets.drift.storage import latest_reports, store_report
from rakuten_assets.operations import audit, registry_views
from rakuten_assets.processes import free_port
from rakuten_assets.settings import PROJECT_ROOT, Settings
from rakuten_assets.training.model import INPUT_COLUMNS
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    MODEL,
    api_env,
    api_server,
    register_version,
)

#: One worker under `make test` (xdist --dist loadgroup): the module's store is built once.
pytestmark = pytest.mark.xdist_group("ui_apptest")
APP = str(PROJECT_ROOT / "ui" / "streamlit_app.py")
PAGES = (
    "app_pages/overview.py",
    "app_pages/data.py",
    "app_pages/models.py",
    "app_pages/predict.py",
    "app_pages/drift.py",
    "app_pages/alerts.py",
    "app_pages/activity.py",
)
LAST_DAY = date(2026, 2, 10)
#: First runs import MLflow, Altair and pandas in the test process.
TIMEOUT = 120


@dataclass(frozen=True)
class Store:
    data_dir: Path
    database_url: str
    tracking_uri: str
    versions: tuple[int, ...]

    @property
    def engine(self) -> Engine:
        return get_engine(self.database_url)


def _promote(store: Store, version: int, week: str, f1: float, previous_f1: float | None) -> None:
    client = registry.configure(store.tracking_uri)
    previous = registry.set_production(client, MODEL, version)
    registry.record_decision(
        store.engine,
        model_name=MODEL,
        candidate_version=version,
        production_version=previous,
        candidate_weighted_f1=f1,
        production_weighted_f1=previous_f1,
        threshold=0.75,
        decision="promoted",
        reason="better than Production on the golden holdout",
        partition_key=week,
        actor="weekly_ml_pipeline",
    )


def build_store(root: Path, split: SplitCatalog, versions: int = 3) -> Store:
    """What `make demo` leaves, in small: loads, promoted versions, traffic, drift, alerts."""
    data_dir = root / "var"
    store = Store(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'rakuten.db'}",
        tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}",
        versions=(),
    )
    upgrade_schema(store.engine)
    write_split(split, data_dir / "catalog", "synthetic test catalog")
    for index, week in enumerate(("2026-01-05", "2026-01-12")):
        load_slice(
            store.engine, split.pool, slice_index=index, partition_key=week, catalog_hash="test"
        )
    client = registry.configure(store.tracking_uri)
    experiment = registry.ensure_experiment(client, "ui-tests", data_dir / "mlartifacts")
    registry.mlflow.set_experiment(experiment_id=experiment)
    numbers = tuple(register_version(split, 400 + 100 * i, seed=i) for i in range(versions))
    weeks = ("2026-01-05", "2026-01-12", "2026-01-19")
    previous: float | None = None
    for version, week, f1 in zip(numbers, weeks, (0.78, 0.80, 0.81), strict=False):
        _promote(store, version, week, f1, previous)
        previous = f1
    pipeline = registry.load_model(MODEL, numbers[-1])
    # The gate's shadow scoring of the newest version beside the one before (if any).
    before = numbers[-2] if len(numbers) > 1 else None
    report = shadow.compare(
        pipeline,
        registry.load_model(MODEL, before) if before is not None else None,
        split.holdout[list(INPUT_COLUMNS)].head(300),
        candidate_version=numbers[-1],
        production_version=before,
        start=datetime(2026, 1, 12, tzinfo=UTC),
        end=datetime(2026, 1, 19, tzinfo=UTC),
    )
    newest_run = client.get_model_version(MODEL, str(numbers[-1])).run_id
    assert newest_run is not None
    shadow.log_to_mlflow(client, newest_run, report)
    simulate_traffic(
        store.engine,
        pipeline,
        numbers[-1],
        days=37,
        end_date=LAST_DAY,
        per_day=120,
        drift_from=31,
        profile="new_vocabulary",
    )
    parameters = DriftParameters.from_settings(Settings(data_dir=data_dir))
    for day in (date(2026, 2, 8), date(2026, 2, 9), LAST_DAY):
        report_id = store_report(store.engine, compute_report(store.engine, day, parameters))
        drift_alerts.raise_alerts(store.engine, report_id, cooldown_days=3)
    return Store(store.data_dir, store.database_url, store.tracking_uri, numbers)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog) -> Store:
    return build_store(tmp_path_factory.mktemp("ui"), small_split)


@pytest.fixture(scope="module")
def live_api(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = api_env(store.data_dir, store.tracking_uri, store.database_url)
    with api_server(env, tmp_path_factory.mktemp("api") / "api.log") as (url, _pid):
        yield url


def _environment(monkeypatch: pytest.MonkeyPatch, store: Store, api_url: str, **extra: str) -> None:
    values = {
        "DATA_DIR": str(store.data_dir),
        "DATABASE_URL": store.database_url,
        "MLFLOW_TRACKING_URI": store.tracking_uri,
        "API_URL": api_url,
        "API_ADMIN_TOKEN": ADMIN_TOKEN,
        # Nothing listens there: the Dagster webserver is down in these tests.
        "DAGSTER_URL": f"http://127.0.0.1:{free_port()}",
        "ENVIRONMENT": "development",
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, store: Store, live_api: str) -> Store:
    _environment(monkeypatch, store, live_api)
    from ui import readers

    readers.forget()
    return store


def page(path: str) -> AppTest:
    # No custom url_path: the first run can open the page directly (no run of the default one).
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).switch_page(path)
    app.run()
    return app


def shown(app: AppTest) -> str:
    """Every text a person reads on the page (markdown, metrics, messages, captions)."""
    parts = [e.value for e in (*app.markdown, *app.caption, *app.title, *app.subheader)]
    parts += [str(e.value) for e in (*app.error, *app.warning, *app.info, *app.success)]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    return "\n".join(str(p) for p in parts)


def no_failure(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_the_demo_data(demo: Store, path: str) -> None:
    app = page(path)
    no_failure(app)
    text = shown(app)
    expected = {
        "app_pages/overview.py": f"{MODEL} v{demo.versions[-1]}",
        "app_pages/data.py": "Golden holdout 270",
        "app_pages/models.py": "Promotion decisions",
        "app_pages/predict.py": "A CSV of listings",
        "app_pages/drift.py": "predictions in the current window",
        "app_pages/alerts.py": "CRITICAL",
        "app_pages/activity.py": "Activity",
    }[path]
    assert expected in text + "\n".join(e.label for e in app.expander), text


def test_overview_says_in_one_line_that_dagster_is_down(
    demo: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser's address of Dagster (compose: the host) differs from the one the room calls.
    monkeypatch.setenv("DAGSTER_UI_URL", "http://localhost:3999")
    app = page("app_pages/overview.py")
    [warning] = [w.value for w in app.warning]
    assert warning.startswith("the Dagster webserver at http://127.0.0.1:")
    assert "does not answer" in warning
    assert "API: serving v" in "\n".join(s.value for s in app.success)
    assert "[Dagster](http://localhost:3999)" in shown(app)


def test_dagster_ui_url_defaults_to_dagster_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_URL", "http://dagster_webserver:3000")
    monkeypatch.delenv("DAGSTER_UI_URL", raising=False)
    assert Settings(_env_file=None).dagster_ui_url == "http://dagster_webserver:3000"
    monkeypatch.setenv("DAGSTER_UI_URL", "http://localhost:3000")
    assert Settings(_env_file=None).dagster_ui_url == "http://localhost:3000"


def test_models_page_lists_every_version_and_the_production_alias(demo: Store) -> None:
    app = page("app_pages/models.py")
    registry_table = app.dataframe[0].value
    assert list(registry_table["version"]) == list(reversed(demo.versions))
    assert list(registry_table["aliases"]) == ["production", "", ""]
    assert list(registry_table["stage"]) == ["Production", "Archived", "Archived"]


def test_models_page_shows_the_shadow_report_of_a_version(demo: Store) -> None:
    client = registry.configure(demo.tracking_uri)
    run_id = client.get_model_version(MODEL, str(demo.versions[-1])).run_id
    assert run_id is not None
    report = registry_views.shadow_report(client, run_id)
    assert report is not None
    assert report.agreement is not None
    app = page("app_pages/models.py")
    no_failure(app)
    text = shown(app)
    newest, before = demo.versions[-1], demo.versions[-2]
    assert f"{report.rows:,} listings" in text
    assert f"v{newest} agrees with Production v{before} on {report.agreement:.1%}" in text
    assert f"estimated weighted F1 {report.candidate_estimate.expected_weighted_f1:.3f}" in text
    changes = app.dataframe[-1].value
    top = report.top_disagreements[0]
    assert list(changes.iloc[0]) == [
        f"{top.production_code} {CATEGORY_LABELS[top.production_code]}",
        f"{top.candidate_code} {CATEGORY_LABELS[top.candidate_code]}",
        top.rows,
    ]
    # An older version was never shadow-scored: the page says why there is no report.
    app.selectbox(key="detail_version").select(demo.versions[0]).run()
    assert "No shadow report" in shown(app)


def test_predict_calls_the_live_api(demo: Store) -> None:
    app = page("app_pages/predict.py")
    app.button(key="example_Cushion").click().run()
    assert str(app.text_input(key="designation").value).startswith("Coussin")
    app.button[-1].click().run()  # the form's Classify button
    no_failure(app)
    assert "confidence" in shown(app)
    assert app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")


def test_a_csv_of_listings_is_classified_by_the_live_api(demo: Store) -> None:
    app = page("app_pages/predict.py")
    csv = "designation,description\nCoussin en lin,\nLot de 3 romans policiers,occasion\n"
    app.file_uploader(key="listings_csv").upload("listings.csv", csv.encode(), "text/csv").run()
    no_failure(app)
    [table] = app.dataframe
    assert list(table.value["designation"]) == ["Coussin en lin", "Lot de 3 romans policiers"]
    assert table.value["confidence"].between(0, 1).all()
    assert table.value["label"].str.len().gt(0).all()
    assert app.get("download_button")


def test_running_the_pipeline_with_dagster_down_is_refused_and_audited(demo: Store) -> None:
    app = page("app_pages/overview.py")
    app.text_input(key="run_pipeline_actor").input("erin")
    _submit(app, "run_pipeline")
    assert not app.exception
    [refusal] = [e.value for e in app.error]
    assert refusal.startswith("retrain refused:")
    assert "\n" not in refusal
    [row] = audit.action_history(demo.engine, 1)
    assert (row.door, row.actor, row.action, row.outcome) == (
        "ui",
        "erin",
        "retrain",
        "unavailable",
    )


def test_empty_database_says_what_to_run_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Store, live_api: str
) -> None:
    empty = Store(tmp_path, f"sqlite:///{tmp_path / 'rakuten.db'}", store.tracking_uri, ())
    _environment(monkeypatch, empty, live_api)
    from ui import readers

    readers.forget()
    for path in PAGES:
        app = page(path)
        assert not app.exception, (path, [e.value for e in app.exception])
        if path != "app_pages/predict.py":
            assert "run `make demo` first" in shown(app), path


def test_api_down_is_one_line_and_the_read_pages_keep_working(
    monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    _environment(monkeypatch, store, f"http://127.0.0.1:{free_port()}")
    from ui import readers

    readers.forget()
    overview = page("app_pages/overview.py")
    assert not overview.exception
    assert any("API: the API at" in w.value for w in overview.warning)
    assert f"{MODEL} v{store.versions[-1]}" in shown(overview)
    predict = page("app_pages/predict.py")
    assert not predict.exception
    [warning] = [w.value for w in predict.warning]
    assert warning.startswith("Predictions are unavailable: the API at")
    assert "\n" not in warning


def _production(client: Any) -> int:
    current = registry.production_version(client, MODEL)
    assert current is not None
    return int(current.version)


def _alert_form(app: AppTest, alert_id: int, action: str, actor: str, note: str) -> None:
    app.selectbox(key=f"alert_{alert_id}_action").set_value(action)
    app.text_input(key=f"alert_{alert_id}_actor").input(actor)
    app.text_input(key=f"alert_{alert_id}_note").input(note)


def _form_buttons(app: AppTest, form_key: str) -> list[Any]:
    return [b for b in app.get("button") if b.proto.form_id == form_key]


def _submit(app: AppTest, form_key: str) -> None:
    [button] = _form_buttons(app, form_key)
    button.click().run()


def test_acknowledge_changes_the_alert_state_and_records_who(demo: Store) -> None:
    [alert, *_] = drift_alerts.list_alerts(demo.engine, status="open")
    app = page("app_pages/alerts.py")
    _alert_form(app, alert["id"], "acknowledge", "carol", "looking at the new brands")
    _submit(app, f"alert_{alert['id']}")
    no_failure(app)
    assert f"alert #{alert['id']}: acknowledge done" in shown(app)
    assert drift_alerts.get_alert(demo.engine, alert["id"])["status"] == "acknowledged"
    [entry] = drift_alerts.alert_history(demo.engine, alert["id"])
    assert (entry["action"], entry["actor"], entry["door"], entry["details"]) == (
        "acknowledge",
        "carol",
        "ui",
        {"note": "looking at the new brands"},
    )
    again = page("app_pages/alerts.py")
    _alert_form(again, alert["id"], "resolve", "carol", "new brands learnt")
    _submit(again, f"alert_{alert['id']}")
    no_failure(again)
    assert drift_alerts.get_alert(demo.engine, alert["id"])["status"] == "resolved"
    activity = page("app_pages/activity.py")
    [table] = activity.dataframe
    carol = table.value[table.value["actor"] == "carol"]
    assert list(zip(carol["action"], carol["door"], strict=True)) == [
        ("resolve", "ui"),
        ("acknowledge", "ui"),
    ]


def test_rollback_and_roll_forward_move_production_and_a_stale_click_is_refused(
    demo: Store,
) -> None:
    client = registry.configure(demo.tracking_uri)
    first, second = page("app_pages/models.py"), page("app_pages/models.py")
    for app in (first, second):
        assert f"Roll back Production from **v{demo.versions[2]}** to **v{demo.versions[1]}**." in (
            shown(app)
        )
    first.text_input(key="rollback_actor").input("alice")
    _submit(first, "rollback")
    no_failure(first)
    assert _production(client) == demo.versions[1]
    # The second operator saw v3 in Production: the click is refused, nothing moves again.
    second.text_input(key="rollback_actor").input("bob")
    _submit(second, "rollback")
    [refusal] = [e.value for e in second.error]
    assert refusal.startswith("rollback refused:")
    assert f"v{demo.versions[2]}" in refusal
    assert _production(client) == demo.versions[1]
    rows = audit.action_history(demo.engine, 2)
    assert [(r.door, r.actor, r.action, r.outcome) for r in reversed(rows)] == [
        ("ui", "alice", "rollback", "succeeded"),
        ("ui", "bob", "rollback", "conflict"),
    ]
    assert (rows[1].previous_version, rows[1].target_version) == demo.versions[2:0:-1]

    # Roll forward undoes the rollback, with the same confirm-the-target pattern.
    first, second = page("app_pages/models.py"), page("app_pages/models.py")
    for app in (first, second):
        assert (
            f"Roll Production forward from **v{demo.versions[1]}** to **v{demo.versions[2]}**."
            in shown(app)
        )
    first.text_input(key="roll_forward_actor").input("alice")
    _submit(first, "roll_forward")
    no_failure(first)
    assert f"rolled forward from v{demo.versions[1]} to v{demo.versions[2]}" in shown(first)
    assert _production(client) == demo.versions[2]
    assert "there is no rollback to undo" in shown(first)
    second.text_input(key="roll_forward_actor").input("bob")
    _submit(second, "roll_forward")
    [refusal] = [e.value for e in second.error]
    assert refusal.startswith("roll-forward refused: no roll-forward target")
    assert _production(client) == demo.versions[2]
    rows = audit.action_history(demo.engine, 2)
    assert [(r.door, r.actor, r.action, r.outcome) for r in reversed(rows)] == [
        ("ui", "alice", "roll_forward", "succeeded"),
        ("ui", "bob", "roll_forward", "refused"),
    ]


def test_a_rollback_from_an_alert_is_in_its_history(demo: Store) -> None:
    client = registry.configure(demo.tracking_uri)
    before = _production(client)
    [alert, *_] = drift_alerts.list_alerts(demo.engine, status="open")
    app = page("app_pages/alerts.py")
    _alert_form(app, alert["id"], "rollback", "frank", "new brands: back to the last good model")
    _submit(app, f"alert_{alert['id']}")
    no_failure(app)
    assert _production(client) < before
    [entry] = drift_alerts.alert_history(demo.engine, alert["id"])
    assert (entry["action"], entry["actor"], entry["door"]) == ("rollback", "frank", "ui")
    assert entry["details"]["previous_version"] == before
    [row] = audit.action_history(demo.engine, 1)
    assert (row.door, row.alert_id, row.outcome) == ("ui", alert["id"], "succeeded")


def test_actions_need_the_admin_token_outside_development(
    monkeypatch: pytest.MonkeyPatch, store: Store, live_api: str
) -> None:
    _environment(monkeypatch, store, live_api, ENVIRONMENT="production")
    app = page("app_pages/models.py")
    assert "Actions need the admin token" in shown(app)
    assert not _form_buttons(app, "rollback")
    app.sidebar.text_input(key="admin_token_input").input("wrong-token-0123456789")
    _submit(app, "admin_token_form")
    assert "That is not the admin token." in shown(app)
    app.sidebar.text_input(key="admin_token_input").input(ADMIN_TOKEN)
    _submit(app, "admin_token_form")
    assert "Actions enabled" in shown(app)
    assert ADMIN_TOKEN not in shown(app)
    assert _form_buttons(app, "rollback")


@pytest.fixture
def pg_store(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    store: Store,
    pg_url: str,
    live_api: str,
    small_split: SplitCatalog,
) -> Store:
    """The same platform with its product database on PostgreSQL: a first load, the promotion
    history and the drift reports of the SQLite store, and a copy of its MLflow store (the models' artifacts are
    read where they are) with Production set back to the newest version."""
    tracking_db = tmp_path / "mlflow.db"
    shutil.copy(store.data_dir / "mlflow.db", tracking_db)
    copy = Store(store.data_dir, pg_url, f"sqlite:///{tracking_db}", store.versions)
    upgrade_schema(copy.engine)
    load_slice(copy.engine, small_split.pool, slice_index=0, partition_key="w1", catalog_hash="t")
    for version, week, f1 in zip(
        store.versions, ("w1", "w2", "w3"), (0.78, 0.8, 0.81), strict=True
    ):
        _promote(copy, version, week, f1, None)
    for report in latest_reports(store.engine, 3):
        drift_alerts.raise_alerts(copy.engine, store_report(copy.engine, report), cooldown_days=3)
    _environment(monkeypatch, copy, live_api)
    from ui import readers

    readers.forget()
    return copy


@pytest.mark.postgres
def test_acknowledge_and_rollback_on_postgresql(pg_store: Store) -> None:
    [alert, *_] = drift_alerts.list_alerts(pg_store.engine, status="open")
    alerts_page = page("app_pages/alerts.py")
    no_failure(alerts_page)
    _alert_form(alerts_page, alert["id"], "acknowledge", "dan", "")
    _submit(alerts_page, f"alert_{alert['id']}")
    no_failure(alerts_page)
    assert drift_alerts.get_alert(pg_store.engine, alert["id"])["status"] == "acknowledged"

    models = page("app_pages/models.py")
    models.text_input(key="rollback_actor").input("dan")
    _submit(models, "rollback")
    no_failure(models)
    client = registry.configure(pg_store.tracking_uri)
    assert _production(client) == pg_store.versions[1]
    [row] = audit.action_history(pg_store.engine, 10)
    assert (row.door, row.actor, row.action, row.outcome) == ("ui", "dan", "rollback", "succeeded")
