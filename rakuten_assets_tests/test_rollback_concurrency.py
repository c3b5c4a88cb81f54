"""Concurrent rollbacks behave like sequential ones (v3 -> v2, then v2 -> v1), never both to v2.

Real MLflow store (SQLite, models trained and registered by the real pipeline code), the product
database on SQLite and on PostgreSQL, rollbacks racing from threads, from processes, and from
two operators calling the API at once. Without the promotion lock all three racers move
Production to v2.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier as ProcessBarrier
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine, select

from rakuten_assets import registry
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, model_promotions, upgrade_schema
from rakuten_assets_tests.test_serving_support import (
    ADMIN_TOKEN,
    MODEL,
    api_env,
    api_server,
    build_registry,
    promote,
    register_version,
)

RACERS = 3


@dataclass(frozen=True)
class Versions:
    tracking_uri: str
    numbers: tuple[int, int, int]


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog) -> Versions:
    """Three registered versions in one MLflow store, trained once for the module."""
    root = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    client = registry.configure(tracking_uri)
    experiment = registry.ensure_experiment(client, "rollback-tests", root / "artifacts")
    mlflow.set_experiment(experiment_id=experiment)
    v1, v2, v3 = (register_version(small_split, 500, seed=i) for i in range(3))
    return Versions(tracking_uri, (v1, v2, v3))


def _promote_all(versions: Versions, engine: Engine) -> None:
    """v1, v2, v3 promoted in turn (alias, stage tags and history rows), v3 in Production."""
    client = registry.configure(versions.tracking_uri)
    for version in versions.numbers:
        previous = registry.set_production(client, MODEL, version)
        registry.record_decision(
            engine,
            model_name=MODEL,
            candidate_version=version,
            production_version=previous,
            decision="promoted",
            reason="test",
            actor="test",
        )


def _rollback_in_process(
    tracking_uri: str,
    database_url: str,
    barrier: ProcessBarrier,
    results: multiprocessing.Queue[str],
    actor: str,
) -> None:
    """One racer in its own process: its own MLflow client and database engine."""
    client = registry.configure(tracking_uri)
    engine = get_engine(database_url)
    barrier.wait()
    try:
        moved = registry.rollback(client, engine, MODEL, actor=actor, reason="race")
        results.put(str(moved.target_version))
    except LookupError as exc:
        results.put(f"refused: {exc}")


def _race_threads(versions: Versions, database_url: str) -> list[str]:
    barrier = threading.Barrier(RACERS)

    def one(actor: str) -> str:
        client = registry.configure(versions.tracking_uri)
        engine = get_engine(database_url)
        barrier.wait()
        try:
            moved = registry.rollback(client, engine, MODEL, actor=actor, reason="race")
            return str(moved.target_version)
        except LookupError as exc:
            return f"refused: {exc}"

    with ThreadPoolExecutor(RACERS) as pool:
        futures: list[Future[str]] = [pool.submit(one, f"racer-{i}") for i in range(RACERS)]
        return [f.result(timeout=300) for f in futures]


def _race_processes(versions: Versions, database_url: str) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results: multiprocessing.Queue[str] = context.Queue()
    racers = [
        context.Process(
            target=_rollback_in_process,
            args=(versions.tracking_uri, database_url, barrier, results, f"racer-{i}"),
        )
        for i in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    try:
        # A racer that dies puts nothing: the get times out rather than hanging the suite.
        return [results.get(timeout=300) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=60)
            assert racer.exitcode == 0, f"racer exited with {racer.exitcode}"


def _stages(client: MlflowClient, versions: Versions) -> dict[int, str]:
    return {
        v: client.get_model_version(MODEL, str(v)).tags[registry.STAGE_TAG]
        for v in versions.numbers
    }


def _assert_sequential(versions: Versions, engine: Engine, outcomes: list[str]) -> None:
    """Exactly what v3 -> v2, then v2 -> v1, then a refused third rollback leave behind."""
    v1, v2, v3 = versions.numbers
    assert sorted(o for o in outcomes if not o.startswith("refused")) == sorted([str(v1), str(v2)])
    [refused] = [o for o in outcomes if o.startswith("refused")]
    assert "no rollback target" in refused
    client = registry.configure(versions.tracking_uri)
    current = registry.production_version(client, MODEL)
    assert current is not None
    assert int(current.version) == v1
    assert _stages(client, versions) == {v1: "Production", v2: "Archived", v3: "Archived"}
    with engine.connect() as conn:
        rows = conn.execute(
            select(model_promotions.c.candidate_version, model_promotions.c.production_version)
            .where(model_promotions.c.decision == "rolled_back")
            .order_by(model_promotions.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [(v2, v3), (v1, v2)]
    assert registry.production_lineage(engine, MODEL) == [v1]


def test_concurrent_rollbacks_from_threads(versions: Versions, engine: Engine, db_url: str) -> None:
    """Each thread has its own database connection, as API requests and workers do."""
    _promote_all(versions, engine)
    _assert_sequential(versions, engine, _race_threads(versions, db_url))


def test_concurrent_rollbacks_from_processes_on_sqlite(versions: Versions, tmp_path: Path) -> None:
    """Separate processes (CLI + API workers): SQLite's file locks, not one process's."""
    database_url = f"sqlite:///{tmp_path / 'rakuten.db'}"
    engine = get_engine(database_url)
    upgrade_schema(engine)
    _promote_all(versions, engine)
    _assert_sequential(versions, engine, _race_processes(versions, database_url))


def test_expected_version_refuses_a_stale_rollback(versions: Versions, engine: Engine) -> None:
    _, v2, v3 = versions.numbers
    _promote_all(versions, engine)
    client = registry.configure(versions.tracking_uri)
    history = len(registry.promotion_history(engine, MODEL))

    with pytest.raises(registry.ProductionChangedError, match=f"Production is v{v3}, not v{v2}"):
        registry.rollback(client, engine, MODEL, actor="a", reason="r", expected_version=v2)
    # Refused before anything moved: same alias, no history row.
    current = registry.production_version(client, MODEL)
    assert current is not None
    assert int(current.version) == v3
    assert len(registry.promotion_history(engine, MODEL)) == history

    moved = registry.rollback(client, engine, MODEL, actor="a", reason="r", expected_version=v3)
    assert (moved.previous_version, moved.target_version) == (v3, v2)


def test_two_operators_rolling_back_the_same_version_through_the_api(
    tmp_path: Path, small_split: SplitCatalog
) -> None:
    """Both saw v3 misbehave and click at once: one rollback (to v2) happens, the other is 409."""
    reg = build_registry(tmp_path / "registry", small_split, versions=3)
    v1, v2, v3 = reg.versions
    for version in (v2, v3):
        promote(reg.tracking_uri, reg.database_url, version)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    env = api_env(tmp_path / "var", reg.tracking_uri, reg.database_url)
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        assert httpx.get(f"{url}/model").json()["version"] == v3
        barrier = threading.Barrier(2)

        def click(actor: str) -> httpx.Response:
            body = {"actor": actor, "reason": "v3 misbehaves", "expected_version": v3}
            barrier.wait()
            return httpx.post(f"{url}/api/rollback-model", json=body, headers=headers, timeout=120)

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(click, ["alice", "bob"]))
        by_status = {a.status_code: a for a in answers}
        assert sorted(by_status) == [200, 409], [a.text for a in answers]
        done = by_status[200].json()
        assert (done["target_version"], done["served_version"]) == (v2, v2)
        assert f"Production is v{v2}, not v{v3}" in by_status[409].json()["detail"]
        assert httpx.get(f"{url}/model").json()["version"] == v2
        history = httpx.get(f"{url}/api/action-history", headers=headers).json()["actions"]
    outcomes = sorted((a["action"], a["outcome"]) for a in history)
    assert outcomes == [("rollback", "conflict"), ("rollback", "succeeded")]
    assert registry.production_lineage(get_engine(reg.database_url), MODEL) == [v1, v2]


def test_roll_forward_brings_back_what_rollbacks_took_away(
    versions: Versions, engine: Engine
) -> None:
    """After v3 -> v2 -> v1, roll-forward goes v1 -> v2 -> v3, then has nothing left to undo."""
    v1, v2, v3 = versions.numbers
    _promote_all(versions, engine)
    client = registry.configure(versions.tracking_uri)
    for _ in range(2):
        registry.rollback(client, engine, MODEL, actor="a", reason="drift")
    with pytest.raises(registry.ProductionChangedError, match=f"Production is v{v1}, not v{v2}"):
        registry.roll_forward(client, engine, MODEL, actor="a", reason="r", expected_version=v2)
    moved = registry.roll_forward(client, engine, MODEL, actor="b", reason="false alarm")
    assert (moved.previous_version, moved.target_version) == (v1, v2)
    moved = registry.roll_forward(client, engine, MODEL, actor="b", reason="r", expected_version=v2)
    assert (moved.previous_version, moved.target_version) == (v2, v3)
    with pytest.raises(LookupError, match="no roll-forward target"):
        registry.roll_forward(client, engine, MODEL, actor="b", reason="r")
    current = registry.production_version(client, MODEL)
    assert current is not None
    assert int(current.version) == v3
    assert _stages(client, versions) == {v1: "Archived", v2: "Archived", v3: "Production"}
    assert registry.production_lineage(engine, MODEL) == [v1, v2, v3]
    assert registry.rollback_target(engine, MODEL) == v2
