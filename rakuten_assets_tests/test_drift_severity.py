"""Severity levels: their order, the PSI thresholds and the recommended actions of DESIGN.md."""

from __future__ import annotations

import pytest

from rakuten_assets.drift.severity import RECOMMENDED_ACTIONS, Severity, severity_from_psi


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, Severity.OK),
        (0.0999, Severity.OK),
        (0.1, Severity.WARNING),
        (0.1999, Severity.WARNING),
        (0.2, Severity.ALERT),
        (0.2999, Severity.ALERT),
        (0.3, Severity.CRITICAL),
        (7.5, Severity.CRITICAL),
    ],
)
def test_severity_from_psi_uses_the_design_thresholds(value: float, expected: Severity) -> None:
    assert severity_from_psi(value) is expected


def test_severity_from_psi_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        severity_from_psi(float("nan"))


def test_severities_are_ordered_by_gravity_not_alphabetically() -> None:
    shuffled = [Severity.WARNING, Severity.CRITICAL, Severity.OK, Severity.ALERT]
    assert sorted(shuffled) == [Severity.OK, Severity.WARNING, Severity.ALERT, Severity.CRITICAL]
    assert max(shuffled) is Severity.CRITICAL
    assert Severity.OK < Severity.WARNING < Severity.ALERT < Severity.CRITICAL
    assert Severity.ALERT >= "WARNING"  # compares with stored strings too
    assert Severity.CRITICAL == "CRITICAL"
    with pytest.raises(ValueError, match="SEVERE"):
        _ = Severity.OK < "SEVERE"


def test_each_severity_has_its_rank_action_and_alerting() -> None:
    assert [(s.value, s.rank, s.raises_alert) for s in Severity] == [
        ("OK", 0, False),
        ("WARNING", 1, False),
        ("ALERT", 2, True),
        ("CRITICAL", 3, True),
    ]
    assert {str(s): s.recommended_action for s in Severity} == {
        "OK": "none",
        "WARNING": "monitor",
        "ALERT": "investigate; consider retraining",
        "CRITICAL": "retrain or roll back",
    }
    assert set(RECOMMENDED_ACTIONS) == set(Severity)
    assert RECOMMENDED_ACTIONS["CRITICAL"] == "retrain or roll back"  # stored strings look up too
