"""The asset graph materialised in-process on SQLite and PostgreSQL, with a real MLflow store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, func, select

from rakuten_assets import realised, registry
from rakuten_assets.calendar import MODEL_QUALITY_CHECK, Calendar
from rakuten_assets.db import data_loads, get_engine, model_promotions, products, upgrade_schema
from rakuten_assets.definitions import build_assets
from rakuten_assets.defs.jobs import build_weekly_job
from rakuten_assets.defs.resources import build_resources
from rakuten_assets.predictions import RankedClass, insert_records, prediction_record
from rakuten_assets.settings import Settings

CALENDAR = Calendar.from_settings()
ASSETS = build_assets(CALENDAR)


def partition_key_for(week: int) -> str:
    return CALENDAR.partition_key_for(week)


def _settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "database_url": db_url,
        "synthetic_rows": 2_700,
        "min_weighted_f1": 0.30,  # 2,700 rows cannot reach the real 0.75 gate
        "validation_fraction": 0.2,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _defs(settings: Settings) -> dg.Definitions:
    upgrade_schema(get_engine(settings.sqlalchemy_url))
    return dg.Definitions(
        assets=ASSETS, jobs=[build_weekly_job(CALENDAR)], resources=build_resources(settings)
    )


FAST_MODEL = {"ops": {"candidate_model": {"config": {"max_iter": 5}}}}


def _run_week(
    defs: dg.Definitions, week: int, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("weekly_ml_pipeline").execute_in_process(
        partition_key=partition_key_for(week),
        instance=instance,
        run_config=FAST_MODEL,
        raise_on_error=False,
    )


def test_three_week_backfill(tmp_path: Path, db_url: str, instance: dg.DagsterInstance) -> None:
    settings = _settings(tmp_path, db_url)
    defs = _defs(settings)
    catalog = dg.materialize(
        ASSETS, selection=["product_catalog"], instance=instance, resources=defs.resources
    )
    [schema_check] = catalog.get_asset_check_evaluations()
    assert schema_check.passed

    results = [_run_week(defs, week, instance) for week in range(2)]
    engine = get_engine(settings.sqlalchemy_url)
    # Week 3's candidate is shadow-scored on traffic captured since (CAPTURE_INPUTS on).
    captured = _capture_traffic(engine, rows=60)
    results.append(_run_week(defs, 2, instance))
    assert all(r.success for r in results)

    with engine.connect() as conn:
        loads = conn.execute(
            select(data_loads.c.target_pct, data_loads.c.rows_total).order_by(
                data_loads.c.slice_index
            )
        ).all()
        decisions = conn.execute(
            select(model_promotions.c.decision, model_promotions.c.partition_key).order_by(
                model_promotions.c.id
            )
        ).all()
        loaded = conn.execute(select(func.count()).select_from(products)).scalar_one()
    assert [pct for pct, _ in loads] == [40.0, 43.0, 46.0]
    assert loads[-1][1] == loaded
    assert [key for _, key in decisions] == [partition_key_for(w) for w in range(3)]
    history = registry.promotion_history(engine, settings.registered_model_name)
    assert decisions[0][0] == "promoted", history.to_dict(
        "records"
    )  # the first candidate passing the gate becomes Production

    for result in results:
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"slice_rows_match_audit": True, MODEL_QUALITY_CHECK: True}
        materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
        assert materialized == {
            "product_slice", "production_realised_performance", "training_set", "candidate_model",
            "model_evaluation", "model_promotion",
        }  # fmt: skip

    client = registry.configure(settings.tracking_uri)
    production = registry.production_version(client, settings.registered_model_name)
    assert production is not None
    lineage = registry.production_lineage(engine, settings.registered_model_name)
    assert int(production.version) == lineage[-1]
    versions = client.search_model_versions(f"name='{settings.registered_model_name}'")
    assert len(versions) == 3
    stages = {int(v.version): v.tags["stage"] for v in versions}
    assert list(stages.values()).count("Production") == 1
    for version in versions:
        run = client.get_run(version.run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["dagster_run_id"] in {r.run_id for r in results}
        assert "holdout_weighted_f1" in run.data.metrics
        # Temperature scaling ran on the validation split and made the confidences truer.
        metrics = run.data.metrics
        assert metrics["val_ece"] < metrics["val_ece_before_calibration"]
        assert metrics["calibration_temperature"] > 0

    # Weeks 1 and 2: Production (trained on earlier slices) scored on the new slice's rows.
    [first] = results[0].asset_materializations_for_node("production_realised_performance")
    assert first.metadata["status"].value == "no Production model yet"
    weeks = realised.history(engine)
    assert [w.slice_index for w in weeks] == [2, 1]
    for week, result in zip(weeks, results[:0:-1], strict=True):
        assert week.rows == loads[week.slice_index][1] - loads[week.slice_index - 1][1]
        assert week.model_version == int(
            result.output_for_node("model_evaluation")["production_version"]
        )
        assert week.holdout_weighted_f1 is not None
        assert week.drop == pytest.approx(week.holdout_weighted_f1 - week.weighted_f1, abs=1e-6)
        [event] = result.asset_materializations_for_node("production_realised_performance")
        assert event.metadata["weighted_f1"].value == week.weighted_f1

    evaluation = results[-1].asset_materializations_for_node("model_evaluation")[0].metadata
    assert "per_class_f1" in evaluation
    assert evaluation["holdout_rows"].value == 270  # the frozen golden holdout: 10 % of 2,700

    # The shadow scoring: in Dagster, on the candidate's MLflow run, with the decision.
    assert (
        results[0]
        .asset_materializations_for_node("model_evaluation")[0]
        .metadata["shadow_rows"]
        .value
        == 0
    )
    assert evaluation["shadow_rows"].value == captured
    agreement = evaluation["shadow_agreement"].value
    assert 0.0 <= agreement <= 1.0
    [promotion] = results[-1].asset_materializations_for_node("model_promotion")
    assert promotion.metadata["shadow_agreement"].value == agreement
    history = registry.promotion_history(engine, settings.registered_model_name)
    last = history.iloc[-1]
    shadow = last["shadow"] if isinstance(last["shadow"], dict) else json.loads(last["shadow"])
    assert (shadow["rows"], shadow["agreement"]) == (captured, agreement)
    candidate_run = client.get_run(results[-1].output_for_node("model_evaluation")["run_id"])
    assert candidate_run.data.metrics["shadow_agreement"] == pytest.approx(agreement)
    assert candidate_run.data.metrics["shadow_rows"] == captured


def _capture_traffic(engine: Engine, rows: int) -> int:
    """Log ``rows`` predictions of loaded listings in the last hours, with their inputs."""
    with engine.connect() as conn:
        listings = conn.execute(
            select(products.c.designation, products.c.description).limit(rows)
        ).all()
    now = datetime.now(UTC)
    records = [
        prediction_record(
            prediction_id=f"captured-{i}",
            predicted_at=now - timedelta(minutes=i),
            model_version=1,
            designation=designation,
            description=description or None,
            ranked=[RankedClass(10, "livres", 0.5)],
            latency_ms=1.0,
            unknown_token_share=None,
            capture=True,
        )
        for i, (designation, description) in enumerate(listings)
    ]
    insert_records(engine, records)
    return len(records)


def test_candidate_below_the_gate_is_rejected_and_blocks_promotion(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", min_weighted_f1=0.99)
    defs = _defs(settings)
    dg.materialize(
        ASSETS, selection=["product_catalog"], instance=instance, resources=defs.resources
    )
    result = _run_week(defs, 0, instance)
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks[MODEL_QUALITY_CHECK] is False
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "model_promotion" not in materialized

    engine = get_engine(settings.sqlalchemy_url)
    history = registry.promotion_history(engine, settings.registered_model_name)
    assert history["decision"].tolist() == ["rejected"]
    assert "below the threshold 0.99" in history["reason"].iloc[0]
    client = registry.configure(settings.tracking_uri)
    assert registry.production_version(client, settings.registered_model_name) is None
    version = client.get_model_version(settings.registered_model_name, "1")
    assert version.tags["stage"] == "None"
    assert "below the threshold" in version.tags["rejection_reason"]


def test_slice_without_a_catalog_fails_with_a_clear_message(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    defs = _defs(settings)
    with pytest.raises(Exception, match="materialise the `product_catalog` asset"):
        dg.materialize(
            ASSETS,
            selection=["product_slice"],
            partition_key=partition_key_for(0),
            instance=instance,
            resources=defs.resources,
        )


def test_changing_the_catalog_after_loading_is_refused(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    defs = _defs(settings)
    dg.materialize(
        ASSETS, selection=["product_catalog"], instance=instance, resources=defs.resources
    )
    dg.materialize(
        ASSETS,
        selection=["product_slice"],
        partition_key=partition_key_for(0),
        instance=instance,
        resources=defs.resources,
    )
    changed = _defs(_settings(tmp_path, settings.database_url, random_seed=7))
    with pytest.raises(Exception, match="golden holdout would make F1 scores incomparable"):
        dg.materialize(
            ASSETS, selection=["product_catalog"], instance=instance, resources=changed.resources
        )


@pytest.mark.parametrize(
    ("x_text", "message"),
    [
        (",designation,productid,imageid\n0,a,1,2\n", r"missing column\(s\) \['description'\]"),
        (",designation,description,productid,imageid\n0,a,,1,2\n", r"unknown code\(s\) \[11\]"),
        ("", "is empty"),
    ],
)
def test_bad_catalog_files_fail_clearly_and_write_nothing(
    tmp_path: Path, instance: dg.DagsterInstance, x_text: str, message: str
) -> None:
    x_path, y_path = tmp_path / "X_train_update.csv", tmp_path / "Y_train_CVw08PX.csv"
    x_path.write_text(x_text)
    y_path.write_text(",prdtypecode\n0,11\n")
    settings = _settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        catalog_x_path=x_path,
        catalog_y_path=y_path,
    )
    defs = _defs(settings)
    with pytest.raises(Exception, match=message):
        dg.materialize(
            ASSETS, selection=["product_catalog"], instance=instance, resources=defs.resources
        )
    assert not (settings.catalog_dir / "manifest.json").exists()
    with get_engine(settings.sqlalchemy_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == 0
