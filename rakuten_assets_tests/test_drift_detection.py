"""Detection and false alarms of the daily drift check on simulated traffic.

The traffic is what `rakuten simulate-traffic` produces (a real model fitted by the project's
code scores new synthetic listings, logged through the API's record builder); the reports are
what the `drift_report` asset computes. Nothing is stubbed: these are the numbers an operator
would see.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.db import get_engine, upgrade_schema
from rakuten_assets.drift import simulate
from rakuten_assets.drift.report import compute_report
from rakuten_assets.drift.severity import Severity
from rakuten_assets.training.model import ModelParams, fit
from rakuten_assets_tests.test_drift_report import parameters

TZ = "Europe/Paris"
PER_DAY = 300
REFERENCE_DAYS = 30
#: The last simulated day; the 30 checked days end here, after 37 days of history.
END = date(2026, 4, 20)


@pytest.fixture(scope="module")
def pipeline(small_split: SplitCatalog) -> Any:
    return fit(small_split.pool, ModelParams(max_iter=50))


def _severities(engine: Any, days: list[date]) -> dict[date, Severity]:
    return {day: compute_report(engine, day, parameters(timezone=TZ)).severity for day in days}


@pytest.mark.slow
def test_thirty_days_without_drift_raise_no_alert(tmp_path: Path, pipeline: Any) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    upgrade_schema(engine)
    # 30 checked days, each needing 37 days of history (7 current + 30 reference).
    total_days = 30 + REFERENCE_DAYS + 6
    simulate.simulate_traffic(
        engine, pipeline, 1, days=total_days, end_date=END, per_day=PER_DAY, timezone=TZ
    )
    days = [END - timedelta(days=n) for n in range(30)]
    severities = _severities(engine, days)
    alarms = {d: s for d, s in severities.items() if s >= Severity.ALERT}
    assert alarms == {}, f"false alarms on clean traffic: {alarms}"


@pytest.mark.slow
@pytest.mark.parametrize("profile", simulate.PROFILES)
def test_each_drift_profile_is_detected_within_two_days(
    tmp_path: Path, pipeline: Any, profile: str
) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / f'{profile}.db'}")
    upgrade_schema(engine)
    days, drift_from = 37, 32  # 31 clean days, then drift on the last 6
    simulate.simulate_traffic(
        engine,
        pipeline,
        1,
        days=days,
        end_date=END,
        per_day=PER_DAY,
        drift_from=drift_from,
        profile=profile,
        timezone=TZ,
    )
    first_drifted = END - timedelta(days=days - drift_from)
    before = compute_report(engine, first_drifted - timedelta(days=1), parameters(timezone=TZ))
    assert before.severity < Severity.ALERT, f"alarm before the drift: {before.severity}"
    second = compute_report(engine, first_drifted + timedelta(days=1), parameters(timezone=TZ))
    assert second.severity >= Severity.ALERT, (
        f"{profile}: {second.severity} on the second drifted day "
        f"(driven by {second.driving_signal}; "
        + ", ".join(f"{s.name} PSI {s.psi:.3f}" for s in second.signals)
        + ")"
    )
    expected = {
        "class_shift": {"predicted_class"},
        "new_vocabulary": {"unknown_token_share"},
        "longer_texts": {"text_length", "word_count"},
    }[profile]
    assert second.driving_signal in expected
