"""Input capture (on/off, retention), shadow scoring on captured traffic, the agreement gate.

Real SQLite / PostgreSQL for the capture table; one real MLflow store with two models trained
by the pipeline code (v1 in Production) for the shadow report and the gate.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine, func, select

from rakuten_assets import registry, shadow
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, prediction_inputs, prediction_log, upgrade_schema
from rakuten_assets.drift.simulate import simulate_traffic
from rakuten_assets.operations import registry_views
from rakuten_assets.predictions import (
    PredictionRecord,
    RankedClass,
    insert_records,
    prediction_record,
    purge_inputs,
)
from rakuten_assets_tests.test_serving_support import (
    MODEL,
    api_env,
    api_server,
    promote,
    register_version,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _record(
    prediction_id: str, at: datetime, *, capture: bool, description: str | None = "<p>lin</p>"
) -> PredictionRecord:
    return prediction_record(
        prediction_id=prediction_id,
        predicted_at=at,
        model_version=1,
        designation=f"Coussin {prediction_id}",
        description=description,
        ranked=[RankedClass(1920, CATEGORY_LABELS[1920], 0.7)],
        latency_ms=1.0,
        unknown_token_share=0.0,
        capture=capture,
    )


def _inputs(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                prediction_inputs.c.prediction_id,
                prediction_inputs.c.designation,
                prediction_inputs.c.description,
            )
        ).all()
    return {str(r[0]): (r[1], r[2]) for r in rows}


# --- capture on / off, retention ------------------------------------------------------------


def test_captured_inputs_are_stored_with_their_log_rows_and_only_when_on(engine: Engine) -> None:
    records = [
        _record("on-1", NOW, capture=True),
        _record("on-2", NOW, capture=True, description=None),
        _record("off-1", NOW, capture=False),
    ]
    # The journal (JSON lines) keeps the texts of captured records only, and replays them.
    lines = [json.loads(json.dumps(r.to_json())) for r in records]
    assert "captured_input" not in lines[2]
    replayed = [PredictionRecord.from_json(line) for line in lines]
    assert replayed == records

    assert insert_records(engine, replayed) == 3
    assert insert_records(engine, replayed) == 0  # a replay stores nothing twice
    assert _inputs(engine) == {
        "on-1": ("Coussin on-1", "<p>lin</p>"),
        "on-2": ("Coussin on-2", None),
    }
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(prediction_log)).scalar_one() == 3
    # The prediction log itself never holds the texts.
    assert "designation" not in records[0].as_row()


def test_purge_deletes_captured_inputs_beyond_the_retention_only(engine: Engine) -> None:
    insert_records(
        engine,
        [
            _record("old", NOW - timedelta(days=8), capture=True),
            _record("edge", NOW - timedelta(days=7) + timedelta(minutes=1), capture=True),
            _record("new", NOW - timedelta(hours=1), capture=True),
        ],
    )
    assert purge_inputs(engine, 7, now=NOW) == 1
    assert set(_inputs(engine)) == {"edge", "new"}
    assert purge_inputs(engine, 7, now=NOW) == 0
    with engine.connect() as conn:  # the log rows (no text) stay for drift monitoring
        assert conn.execute(select(func.count()).select_from(prediction_log)).scalar_one() == 3


# --- shadow scoring on a small store ----------------------------------------------------------


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog
) -> tuple[MlflowClient, Engine, int, int]:
    """A MLflow store with v1 (Production) and v2 trained on other rows; a migrated database."""
    root: Path = tmp_path_factory.mktemp("shadow")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    database_url = f"sqlite:///{root / 'rakuten.db'}"
    engine = get_engine(database_url)
    upgrade_schema(engine)
    client = registry.configure(tracking_uri)
    mlflow.set_experiment(
        experiment_id=registry.ensure_experiment(client, "shadow-tests", root / "artifacts")
    )
    v1 = register_version(small_split, 500, seed=0)
    v2 = register_version(small_split, 900, seed=1)
    promote(tracking_uri, database_url, v1)
    return client, engine, v1, v2


def test_the_api_captures_inputs_when_on_and_purges_beyond_the_retention(
    tmp_path: Path, store: tuple[MlflowClient, Engine, int, int]
) -> None:
    client, _, _, _ = store
    database_url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = get_engine(database_url)
    upgrade_schema(engine)
    now = datetime.now(UTC)
    insert_records(engine, [_record("expired", now - timedelta(days=3), capture=True)])
    env = api_env(
        tmp_path / "var",
        client.tracking_uri,
        database_url,
        CAPTURE_INPUTS="true",
        CAPTURE_RETENTION_DAYS="2",
    )
    with api_server(env, tmp_path / "api.log") as (url, _pid):
        single = httpx.post(f"{url}/predict", json={"designation": "Coussin lin 45x45"})
        batch = httpx.post(
            f"{url}/predict/batch",
            json={"items": [{"designation": "Lot de romans", "description": "<b>poche</b>"}]},
        )
    # Stopped gracefully: every queued record (and its input) is in the database.
    ids = [single.json()["prediction_id"], batch.json()["predictions"][0]["prediction_id"]]
    assert _inputs(engine) == {
        ids[0]: ("Coussin lin 45x45", None),
        ids[1]: ("Lot de romans", "<b>poche</b>"),
    }  # and the input captured 3 days ago is gone (retention 2 days)


@pytest.fixture(scope="module")
def captured(store: tuple[MlflowClient, Engine, int, int], small_split: SplitCatalog) -> int:
    """240 holdout listings captured over the last 6 days, 30 more captured 9 days ago."""
    _, engine, _, _ = store
    rows = small_split.holdout.head(270)
    records = []
    for i, (designation, description) in enumerate(
        zip(rows["designation"], rows["description"], strict=True)
    ):
        at = NOW - (timedelta(days=9) if i >= 240 else timedelta(hours=1 + i % 144))
        records.append(
            prediction_record(
                prediction_id=f"shadow-{i}",
                predicted_at=at,
                model_version=1,
                designation=designation,
                description=description or None,
                ranked=[RankedClass(10, CATEGORY_LABELS[10], 0.5)],
                latency_ms=1.0,
                unknown_token_share=None,
                capture=True,
            )
        )
    insert_records(engine, records)
    return 240


def test_shadow_report_compares_candidate_and_production_on_the_window(
    store: tuple[MlflowClient, Engine, int, int], captured: int, small_split: SplitCatalog
) -> None:
    client, engine, v1, v2 = store
    report = shadow.shadow_score(engine, client, MODEL, v2, days=7, retention_days=30, now=NOW)
    assert report is not None
    assert (report.candidate_version, report.production_version) == (v2, v1)
    assert report.rows == captured  # the 9-day-old rows are outside the 7-day window
    assert report.start == NOW - timedelta(days=7)

    # The same numbers from the models' own predict(), on the same listings.
    frame = small_split.holdout.head(captured)[["designation", "description"]].copy()
    frame["description"] = [d or None for d in frame["description"]]
    production = registry.load_model(MODEL, v1).predict(frame)
    candidate = registry.load_model(MODEL, v2).predict(frame)
    assert report.agreement == pytest.approx(float(np.mean(production == candidate)), abs=1e-6)
    assert 0.0 < report.agreement < 1.0  # two models trained on different rows differ somewhere
    changes = Counter(
        (int(p), int(c)) for p, c in zip(production, candidate, strict=True) if p != c
    )
    expected = sorted(changes.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [((d.production_code, d.candidate_code), d.rows) for d in report.top_disagreements] == (
        expected
    )
    estimate = report.candidate_estimate
    assert estimate.rows == captured
    assert 0.0 < estimate.weighted_f1_low <= estimate.expected_weighted_f1
    assert estimate.expected_weighted_f1 <= estimate.weighted_f1_high <= 1.0

    # A retention shorter than the window bounds what is read.
    short = shadow.shadow_score(engine, client, MODEL, v2, days=7, retention_days=1, now=NOW)
    assert short is not None
    assert short.rows == sum(1 for i in range(captured) if 1 + i % 144 <= 24)
    assert shadow.ShadowReport.from_json(report.to_json()) == report

    # Metrics and tags on the candidate's MLflow run.
    run_id = client.get_model_version(MODEL, str(v2)).run_id
    shadow.log_to_mlflow(client, run_id, report)
    assert registry_views.shadow_report(client, run_id) == report
    run = client.get_run(run_id)
    assert run.data.metrics["shadow_agreement"] == pytest.approx(report.agreement)
    assert run.data.metrics["shadow_rows"] == captured
    assert run.data.metrics["shadow_estimated_weighted_f1"] == pytest.approx(
        estimate.expected_weighted_f1
    )
    top = report.top_disagreements[0]
    table = shadow.disagreements_markdown(report)
    assert f"| {top.production_code} {CATEGORY_LABELS[top.production_code]} " in table
    assert len(table.splitlines()) == 2 + len(report.top_disagreements)
    assert (
        f"{top.production_code}->{top.candidate_code}: {top.rows}"
        in (run.data.tags["shadow_top_disagreements"])
    )


def test_no_captured_traffic_means_no_report(store: tuple[MlflowClient, Engine, int, int]) -> None:
    client, engine, _, v2 = store
    later = NOW + timedelta(days=30)
    assert (
        shadow.shadow_score(engine, client, MODEL, v2, days=7, retention_days=7, now=later) is None
    )


# --- the gate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agreement", "min_agreement", "production_f1", "promote", "reason"),
    [
        (0.80, 0.90, 0.78, False, "0.8000, is below SHADOW_MIN_AGREEMENT 0.90"),
        (0.95, 0.90, 0.78, True, "agreement with Production 0.9500 >= 0.90 on 120 captured"),
        (None, 0.90, 0.78, False, "no captured traffic was shadow-scored"),
        (0.10, None, 0.78, True, "better than Production (0.7800)"),
        (None, 0.90, None, True, "no Production model exists"),  # nothing to agree with
    ],
)
def test_gate_requires_the_minimum_agreement_when_set(
    agreement: float | None,
    min_agreement: float | None,
    production_f1: float | None,
    promote: bool,
    reason: str,
) -> None:
    report = None if agreement is None else {"agreement": agreement, "rows": 120}
    decision = registry.decide(
        0.80, production_f1, 0.75, shadow=report, min_agreement=min_agreement
    )
    assert decision.promote is promote
    assert reason in decision.reason


def test_gate_refuses_low_agreement_and_records_the_shadow_report(
    store: tuple[MlflowClient, Engine, int, int], captured: int
) -> None:
    client, engine, v1, v2 = store
    report = shadow.shadow_score(engine, client, MODEL, v2, days=7, retention_days=7, now=NOW)
    assert report is not None
    assert report.agreement is not None
    evidence = registry.GateEvidence(
        candidate_version=v2,
        production_version=v1,
        candidate_weighted_f1=0.99,  # better on the holdout: only the agreement can refuse
        production_weighted_f1=0.80,
        shadow=report.to_json(),
    )
    gate = registry.GateRun(0.75, "pipe", min_agreement=min(1.0, report.agreement + 0.01))
    decision = registry.apply_gate(client, engine, MODEL, evidence, gate)
    assert decision.promote is False
    assert "below SHADOW_MIN_AGREEMENT" in decision.reason
    current = registry.production_version(client, MODEL)
    assert current is not None
    assert int(current.version) == v1
    history = registry.promotion_history(engine, MODEL)
    row = history.iloc[-1]
    assert (row["decision"], row["candidate_version"]) == ("rejected", v2)
    recorded = row["shadow"] if isinstance(row["shadow"], dict) else json.loads(row["shadow"])
    assert recorded["agreement"] == report.agreement
    assert recorded["rows"] == captured
    tags = client.get_model_version(MODEL, str(v2)).tags
    assert tags["rejection_reason"] == decision.reason


def test_simulated_traffic_captures_inputs_only_when_asked(
    tmp_path: Path, store: tuple[MlflowClient, Engine, int, int]
) -> None:
    _, _, v1, _ = store
    engine = get_engine(f"sqlite:///{tmp_path / 'sim.db'}")
    upgrade_schema(engine)
    pipeline = registry.load_model(MODEL, v1)
    end = NOW.date()
    simulate_traffic(engine, pipeline, v1, days=1, end_date=end, per_day=15, seed=1)
    assert _inputs(engine) == {}
    simulate_traffic(engine, pipeline, v1, days=1, end_date=end, per_day=15, seed=2, capture=True)
    with engine.connect() as conn:
        logged = {str(i) for i in conn.execute(select(prediction_log.c.prediction_id)).scalars()}
    captured = _inputs(engine)
    assert len(captured) == 15
    assert set(captured) < logged
    assert all(designation for designation, _ in captured.values())
