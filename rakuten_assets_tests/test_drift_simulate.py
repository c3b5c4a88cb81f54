"""The traffic simulator: real model, real databases, and `rakuten simulate-traffic` end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from rakuten_assets import registry
from rakuten_assets.cli import main
from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, prediction_log, upgrade_schema
from rakuten_assets.drift import simulate
from rakuten_assets.predictions import probe_for
from rakuten_assets.settings import get_settings
from rakuten_assets.training.model import ModelParams, fit
from rakuten_assets_tests.test_serving_support import MODEL, promote, register_version

PARIS = ZoneInfo("Europe/Paris")
# 2026-03-29 is the spring DST change in Paris: a 23-hour local day.
END = date(2026, 3, 30)
PER_DAY = 200


@pytest.fixture(scope="module")
def pipeline(small_split: SplitCatalog) -> Any:
    return fit(small_split.pool, ModelParams(max_iter=50))


def _sqlite(path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    return engine


def _rows(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(select(prediction_log).order_by(prediction_log.c.prediction_id), conn)
    # SQLite hands back naive datetimes (stored in UTC), PostgreSQL aware ones.
    frame["predicted_at"] = pd.to_datetime(frame["predicted_at"], utc=True)
    frame["top_k"] = frame["top_k"].map(lambda top: [[int(c), float(p)] for c, p in top])
    return frame.set_index("prediction_id")


def _local_day(frame: pd.DataFrame) -> pd.Series:
    return frame["predicted_at"].dt.tz_convert(PARIS).dt.date


def _simulate(engine: Engine, pipeline: Any, **kwargs: Any) -> simulate.SimulationSummary:
    options: dict[str, Any] = {"days": 4, "end_date": END, "per_day": PER_DAY, **kwargs}
    return simulate.simulate_traffic(engine, pipeline, 7, **options)


# --- days, timestamps, ids ----------------------------------------------------------------------


def test_rows_per_local_day_with_timestamps_spread_inside_each_day(
    engine: Engine, pipeline: Any
) -> None:
    summary = _simulate(engine, pipeline, days=3, per_day=60)
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert summary.rows_per_day == dict.fromkeys(days, 60)
    assert summary.rows == summary.inserted == 180
    assert summary.drifted_days == []

    rows = _rows(engine)
    assert _local_day(rows).value_counts().sort_index().to_dict() == dict.fromkeys(days, 60)
    for day, group in rows.groupby(_local_day(rows)):
        start = datetime.combine(day, datetime.min.time(), tzinfo=PARIS)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=PARIS)
        stamps = group["predicted_at"]
        assert stamps.min() >= start
        assert stamps.max() < end
        # Spread over the day (the 23-hour DST day too), not bunched at one instant.
        assert stamps.max() - stamps.min() > timedelta(hours=18)
    assert (rows["model_version"] == 7).all()
    assert rows["unknown_token_share"].between(0, 1).all()
    assert (rows["latency_ms"] > 0).all()
    # Top-3 as the API logs it: best first, the first one is the prediction.
    assert rows["top_k"].map(len).eq(3).all()
    assert (rows["top_k"].map(lambda top: top[0][0]) == rows["predicted_code"]).all()
    assert (rows["top_k"].map(lambda top: top[0][1]) == rows["confidence"]).all()
    assert rows["top_k"].map(lambda top: top[0][1] >= top[1][1] >= top[2][1]).all()


def test_a_rerun_with_the_same_seed_adds_nothing(engine: Engine, pipeline: Any) -> None:
    first = _simulate(engine, pipeline, days=2, per_day=50)
    before = _rows(engine)
    second = _simulate(engine, pipeline, days=2, per_day=50)
    assert first.inserted == 100
    assert second.rows == 100
    assert second.inserted == 0
    assert [d.inserted for d in second.days] == [0, 0]
    pd.testing.assert_frame_equal(_rows(engine), before)


def test_the_same_seed_gives_the_same_rows_and_another_seed_new_ones(
    tmp_path: Path, pipeline: Any
) -> None:
    frames = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        engine = _sqlite(tmp_path / f"{name}.db")
        _simulate(
            engine, pipeline, days=2, per_day=80, drift_from=2, profile="new_vocabulary", seed=seed
        )
        frames.append(_rows(engine).drop(columns="latency_ms"))  # a measured time
    a, b, c = frames
    pd.testing.assert_frame_equal(a, b)
    assert not set(a.index) & set(c.index)
    assert not a["predicted_at"].isin(c["predicted_at"]).any()


@pytest.mark.parametrize("per_day", [1, 27, 500])
def test_every_clean_day_has_new_listings_with_the_same_class_mix(per_day: int) -> None:
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(3)]
    listings = [simulate.listings_for_day(simulate.DEFAULT_SEED, day, per_day) for day in days]
    assert [len(frame) for frame in listings] == [per_day] * 3
    if per_day >= 27:
        counts = [frame["prdtypecode"].value_counts().sort_index() for frame in listings]
        for other in counts[1:]:
            pd.testing.assert_series_equal(other, counts[0])
    titles = [set(frame["designation"]) for frame in listings]
    assert titles[0] != titles[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days and per_day must be >= 1"),
        ({"per_day": 0}, "days and per_day must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"drift_from": 2}, "needs both drift_from"),
        ({"profile": "class_shift"}, "needs both drift_from"),
        ({"drift_from": 5, "profile": "class_shift"}, "drift_from must be a simulated day, 1..4"),
        ({"drift_from": 0, "profile": "class_shift"}, "drift_from must be a simulated day"),
        ({"drift_from": 2, "profile": "seasonal"}, "unknown drift profile 'seasonal'"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, pipeline: Any, kwargs: dict[str, Any], message: str
) -> None:
    engine = _sqlite(tmp_path / "rakuten.db")
    with pytest.raises(ValueError, match=message):
        _simulate(engine, pipeline, **kwargs)
    assert _rows(engine).empty


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 29, 21, 30, tzinfo=UTC), date(2026, 3, 28)),  # 23:30 in Paris
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), date(2026, 3, 29)),  # 00:30 next day
    ],
)
def test_yesterday_is_local(now: datetime, expected: date) -> None:
    assert simulate.yesterday("Europe/Paris", now) == expected


# --- drift profiles -------------------------------------------------------------------------------

DRIFT_FROM = 3  # of 4 days: the last two drift


@pytest.fixture(scope="module")
def clean_rows(tmp_path_factory: pytest.TempPathFactory, pipeline: Any) -> pd.DataFrame:
    engine = _sqlite(tmp_path_factory.mktemp("clean") / "rakuten.db")
    _simulate(engine, pipeline)
    return _rows(engine)


def _drifted_day(frame: pd.DataFrame) -> pd.Series:
    first = END - timedelta(days=4 - DRIFT_FROM)
    return _local_day(frame) >= first


@pytest.mark.parametrize("profile", simulate.PROFILES)
def test_drift_starts_on_its_day_and_leaves_earlier_days_as_without_drift(
    tmp_path: Path, pipeline: Any, clean_rows: pd.DataFrame, profile: str
) -> None:
    engine = _sqlite(tmp_path / "rakuten.db")
    summary = _simulate(engine, pipeline, drift_from=DRIFT_FROM, profile=profile)
    assert summary.drifted_days == [date(2026, 3, 29), date(2026, 3, 30)]
    assert summary.as_frame()["drift"].tolist() == ["-", "-", profile, profile]
    rows = _rows(engine)
    before = ~_drifted_day(rows)
    assert before.sum() == 2 * PER_DAY
    pd.testing.assert_frame_equal(
        rows[before].drop(columns="latency_ms"),
        clean_rows[~_drifted_day(clean_rows)].drop(columns="latency_ms"),
    )


def _drifted_vs_clean(
    tmp_path: Path, pipeline: Any, clean_rows: pd.DataFrame, profile: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The drifted days, and the same days (same listings before the drift) without drift."""
    engine = _sqlite(tmp_path / "rakuten.db")
    _simulate(engine, pipeline, drift_from=DRIFT_FROM, profile=profile)
    rows = _rows(engine)
    drifted = rows[_drifted_day(rows)]
    return drifted, clean_rows.loc[drifted.index]


def test_class_shift_moves_the_class_mix_only(
    tmp_path: Path, pipeline: Any, clean_rows: pd.DataFrame
) -> None:
    drifted, clean = _drifted_vs_clean(tmp_path, pipeline, clean_rows, "class_shift")
    rare = list(simulate.SHIFT_CLASSES)
    assert clean["predicted_code"].isin(rare).mean() < 0.15
    assert drifted["predicted_code"].isin(rare).mean() > 0.5
    ratio = drifted["text_length"].mean() / clean["text_length"].mean()
    assert 0.7 < ratio < 1.3
    assert abs(drifted["unknown_token_share"].mean() - clean["unknown_token_share"].mean()) < 0.1
    # Other classes have confidences of their own (those rare ones are hard: 0.50 -> 0.38 here).
    assert abs(drifted["confidence"].mean() - clean["confidence"].mean()) < 0.15


def test_new_vocabulary_moves_the_unknown_token_share_only(
    tmp_path: Path, pipeline: Any, clean_rows: pd.DataFrame
) -> None:
    drifted, clean = _drifted_vs_clean(tmp_path, pipeline, clean_rows, "new_vocabulary")
    # Same-length replacements: the text statistics of every listing are exactly unchanged.
    for column in ("text_length", "word_count", "has_description"):
        pd.testing.assert_series_equal(drifted[column], clean[column])
    shift = drifted["unknown_token_share"].mean() - clean["unknown_token_share"].mean()
    assert shift > 0.25
    assert (drifted["unknown_token_share"] >= clean["unknown_token_share"]).mean() > 0.95
    # The model still recognises most listings from the words that are left.
    assert (drifted["predicted_code"] == clean["predicted_code"]).mean() > 0.6


def test_new_vocabulary_invents_words_the_model_never_saw(pipeline: Any) -> None:
    probe = probe_for(pipeline)
    assert probe is not None
    listings = simulate.listings_for_day(1, date(2026, 3, 1), 100)

    def invented(known: frozenset[str]) -> tuple[pd.DataFrame, set[str]]:
        drifted = simulate.drift_profile("new_vocabulary", known)(
            listings, np.random.default_rng(1)
        )
        words = {t for text in drifted["designation"] for t in probe.tokenize(text)}
        return drifted, words - {
            t for text in listings["designation"] for t in probe.tokenize(text)
        }

    drifted, names = invented(probe.vocabulary)
    assert len(names) > 50
    assert not names & probe.vocabulary
    # Had the model known those names, the same draw would have invented others.
    _, others = invented(probe.vocabulary | names)
    assert others
    assert not others & names
    # Markup is not text: tag names and HTML entities survive, or cleaning would change.
    markup = re.compile(r"<[^>]*>|&#?\w+;")
    for original, changed in zip(listings["description"], drifted["description"], strict=True):
        assert markup.findall(changed) == markup.findall(original)


def test_longer_texts_moves_the_text_length_only(
    tmp_path: Path, pipeline: Any, clean_rows: pd.DataFrame
) -> None:
    drifted, clean = _drifted_vs_clean(tmp_path, pipeline, clean_rows, "longer_texts")
    assert drifted["text_length"].min() >= simulate.LONG_DESCRIPTION_CHARS[0]
    assert drifted["text_length"].mean() > 5 * clean["text_length"].mean()
    assert drifted["word_count"].mean() > 5 * clean["word_count"].mean()
    # Longer text in the same words: no more unknown tokens, about the same predictions.
    assert drifted["unknown_token_share"].mean() <= clean["unknown_token_share"].mean() + 0.02
    assert abs(drifted["confidence"].mean() - clean["confidence"].mean()) < 0.1
    assert (drifted["predicted_code"] == clean["predicted_code"]).mean() > 0.6
    # Still requests the API accepts (API_MAX_FIELD_CHARS).
    assert drifted["text_length"].max() < get_settings().api_max_field_chars


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Settings of a project in ``tmp_path``: SQLite product database and MLflow store."""
    env = {
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'rakuten.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["simulate-traffic", *args])


def test_simulate_traffic_command(
    tmp_path: Path, small_split: SplitCatalog, cli_env: dict[str, str]
) -> None:
    args = ["--days", "3", "--per-day", "40", "--end-date", "2026-03-10", "--seed", "3"]

    # A registered model that is not in Production is not enough.
    client = registry.configure(cli_env["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(experiment_id=registry.ensure_experiment(client, "t", tmp_path / "art"))
    version = register_version(small_split, 600, seed=0)
    refused = _invoke(*args)
    assert refused.exit_code == 1
    assert f"no Production version of {MODEL}" in refused.output
    assert "`make demo` or `rakuten train-model --promote`" in refused.output

    promote(cli_env["MLFLOW_TRACKING_URI"], cli_env["DATABASE_URL"], version)
    drifting = [*args, "--drift-from", "3", "--drift-profile", "new_vocabulary"]
    result = _invoke(*drifting)
    assert result.exit_code == 0, result.output
    assert "| 2026-03-10 |     40 |         40 | new_vocabulary |" in result.stdout
    assert "| 2026-03-08 |     40 |         40 | -" in result.stdout
    assert "120 predictions logged" in result.stderr
    rows = _rows(get_engine(cli_env["DATABASE_URL"]))
    assert len(rows) == 120
    assert (rows["model_version"] == version).all()
    by_day = rows.groupby(_local_day(rows))["unknown_token_share"].mean()
    assert by_day[date(2026, 3, 10)] > by_day[date(2026, 3, 8)] + 0.2

    again = _invoke(*drifting)
    assert again.exit_code == 0, again.output
    assert "0 of them new" in again.stderr
    assert "120 were already in the log" in again.stderr
    assert len(_rows(get_engine(cli_env["DATABASE_URL"]))) == 120

    # Without --end-date the last simulated day is yesterday in Paris (the next report's day).
    expected = {simulate.yesterday("Europe/Paris")}
    result = _invoke("--days", "1", "--per-day", "30")
    expected.add(simulate.yesterday("Europe/Paris"))  # in case midnight passed meanwhile
    assert result.exit_code == 0, result.output
    rows = _rows(get_engine(cli_env["DATABASE_URL"]))
    assert len(rows) == 150
    assert set(_local_day(rows)) - {date(2026, 3, d) for d in (8, 9, 10)} <= expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "3", "--drift-profile", "class_shift"], "--drift-profile needs --drift-from"),
        (["--days", "3", "--drift-from", "4"], "is after the last simulated day 3"),
        (["--days", "3", "--drift-from", "1", "--drift-profile", "seasonal"], "'seasonal'"),
        (["--days", "0"], "--days"),
        (["--days", "3", "--end-date", "10/03/2026"], "--end-date"),
    ],
)
def test_simulate_traffic_usage_errors(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert not Path(cli_env["DATA_DIR"]).exists(), "usage errors are found before any setup"


def test_the_command_offers_exactly_the_simulator_profiles() -> None:
    command = main.commands["simulate-traffic"]
    option = next(p for p in command.params if p.name == "drift_profile")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == simulate.PROFILES


def test_an_empty_registry_is_refused_and_nothing_is_logged(cli_env: dict[str, str]) -> None:
    result = _invoke("--days", "2", "--end-date", "2026-03-10")
    assert result.exit_code == 1
    assert "no Production version" in result.output
    engine = get_engine(cli_env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(prediction_log)).scalar_one() == 0
