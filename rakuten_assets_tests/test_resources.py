"""Resources take their values from the settings, which are the one source of the defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import ValidationError

from rakuten_assets.defs.resources import DriftMonitorResource, build_resources
from rakuten_assets.drift.report import DriftParameters
from rakuten_assets.settings import Settings


def test_the_drift_resource_has_no_defaults_of_its_own() -> None:
    fields = DriftMonitorResource.model_fields
    assert {name for name, info in fields.items() if not info.is_required()} == set()
    with pytest.raises(ValidationError, match="current_days"):
        DriftMonitorResource(auto_retrain=True)  # type: ignore[call-arg]


def test_the_settings_defaults_are_the_design_numbers() -> None:
    defaults = Settings.model_construct()  # the field defaults, whatever the environment says
    assert DriftParameters.from_settings(defaults) == DriftParameters(
        current_days=7,
        reference_days=30,
        min_samples=100,
        timezone="Europe/Paris",
        bins=10,
        binning="equal_width",
        min_rows_per_version=500,
    )


def test_the_drift_resource_carries_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        drift_current_days=3,
        drift_reference_days=12,
        drift_min_samples=50,
        drift_bins=20,
        drift_binning="quantile",
        drift_min_rows_per_version=200,
        pipeline_timezone="UTC",
        alert_cooldown_days=5,
        drift_auto_retrain=True,
        alert_webhook_url="http://127.0.0.1:9/hook",
        alert_webhook_attempts=4,
        alert_webhook_timeout_seconds=2.5,
    )
    drift = build_resources(settings)["drift"]
    assert drift == DriftMonitorResource.from_settings(settings)
    assert drift.parameters == DriftParameters(3, 12, 50, "UTC", 20, "quantile", 200)
    assert drift.parameters == DriftParameters.from_settings(settings)
    assert (drift.cooldown_days, drift.auto_retrain) == (5, True)
    assert (drift.webhook_url, drift.webhook_attempts, drift.webhook_timeout_seconds) == (
        "http://127.0.0.1:9/hook",
        4,
        2.5,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"binning": "fancy"}, "unknown binning 'fancy'"),
        ({"current_days": 0}, "current_days=0"),
        ({"min_samples": 0}, "min_samples must be at least 1"),
    ],
)
def test_bad_drift_parameters_are_refused_with_their_name(
    changes: dict[str, object], message: str
) -> None:
    resource = DriftMonitorResource.from_settings(Settings.model_construct())
    with pytest.raises(ValueError, match=message):
        _ = resource.model_copy(update=changes).parameters
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(resource.parameters, **changes)
