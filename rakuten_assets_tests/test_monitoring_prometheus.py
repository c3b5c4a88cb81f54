"""The Prometheus configuration and alert rules under deploy/prometheus/, checked by promtool.

promtool comes with Debian's ``prometheus`` package (``make prometheus-tools``, a dependency
of ``make test``). The rule unit tests (deploy/prometheus/tests/) show each alert firing and
staying quiet; this module runs them and checks that every alert has one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rakuten_assets.processes import run_command

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run `make prometheus-tools` (Debian's prometheus)")
    return path


def alert_names(paths: list[Path]) -> set[str]:
    return {
        rule["alert"]
        for path in paths
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_config_is_valid_and_loads_every_rule_file() -> None:
    result = run_command([promtool(), "check", "config", "prometheus.yml"], cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_config_scrapes_the_api_every_15_seconds_and_itself() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"rakuten-api", "prometheus"}
    api = jobs["rakuten-api"]
    assert api["scrape_interval"] == "15s"
    assert api["metrics_path"] == "/metrics"
    # One target however many uvicorn workers: multiprocess mode sums them in every answer.
    [targets] = api["static_configs"]
    assert targets["targets"] == ["api:8000"]
    assert jobs["prometheus"]["static_configs"][0]["targets"] == ["localhost:9090"]


def test_rules_are_valid() -> None:
    result = run_command([promtool(), "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_they_pass() -> None:
    result = run_command(
        [promtool(), "test", "rules", *(p.name for p in TEST_FILES)],
        cwd=PROMETHEUS_DIR / "tests",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)
    tested = {
        case["alertname"]
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alert_names(RULE_FILES) == tested
    assert alert_names(RULE_FILES) >= {
        "RakutenApiDown",
        "RakutenApiHigh5xxRate",
        "RakutenApiHighP99Latency",
        "RakutenNoPredictions",
        "RakutenModelNotReady",
        "RakutenDriftSeverity",
        "RakutenOpenDriftAlerts",
    }


def test_a_broken_rule_is_refused(tmp_path: Path) -> None:
    """The check can fail: a rule with a PromQL error does not pass."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "rate(up[5m]"}]}]}
        )
    )
    result = run_command([promtool(), "check", "rules", str(broken)])
    assert result.returncode != 0
