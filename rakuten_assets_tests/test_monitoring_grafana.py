"""The Grafana provisioning under deploy/grafana/: the committed dashboards are what
``generate.py`` writes, they use the provisioned datasource, and they show what the issue asks.

Grafana itself cannot be installed here; test_monitoring_live runs every panel query against a
real Prometheus.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from rakuten_assets.processes import run_command

ROOT = Path(__file__).resolve().parents[1]
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
#: Grafana's built-in variables the queries may use, and what a test puts in their place.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h"}


def dashboards() -> dict[str, dict[str, Any]]:
    return {board["title"]: board for board in (json.loads(p.read_text()) for p in DASHBOARD_FILES)}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel, PromQL with Grafana's variables substituted) of every panel target."""
    out = []
    for title, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                out.append((title, panel["title"], expr))
    return out


def test_committed_dashboards_are_fresh() -> None:
    script = GRAFANA_DIR / "generate.py"
    result = run_command([sys.executable, str(script), "--check"])
    assert result.returncode == 0, result.stderr


def test_check_fails_on_a_stale_dashboard(tmp_path: Path) -> None:
    """The freshness check can fail: a hand-edited copy is reported."""
    copy = tmp_path / "grafana"
    (copy / "dashboards").mkdir(parents=True)
    (copy / "generate.py").write_text((GRAFANA_DIR / "generate.py").read_text())
    for path in DASHBOARD_FILES:
        (copy / "dashboards" / path.name).write_text(path.read_text().replace("p99", "p98"))
    result = run_command([sys.executable, str(copy / "generate.py"), "--check"])
    assert result.returncode == 1
    assert "stale: dashboards/rakuten-production.json" in result.stderr


def test_dashboards_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [datasource] = provisioned["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    for board in dashboards().values():
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert all(t["datasource"]["uid"] == datasource["uid"] for t in panel["targets"])


def test_panels_are_the_ones_operators_need() -> None:
    boards = dashboards()
    assert set(boards) == {"Rakuten - Production", "Rakuten - Drift"}
    titles = {name: {p["title"] for p in board["panels"]} for name, board in boards.items()}
    assert titles["Rakuten - Production"] >= {
        "Total predictions",
        "Throughput",
        "Latency p50 / p95 / p99",
        "Errors by type",
        "Predicted classes",
        "Confidence distribution",
        "Text length distribution",
        "Model version served",
        "Micro-batch size",
    }
    assert titles["Rakuten - Drift"] >= {
        "PSI per signal",
        "Drift severity",
        "Open drift alerts",
        "Unknown-token share",
        "Days since last promotion",
    }
    [psi] = [p for p in boards["Rakuten - Drift"]["panels"] if p["title"] == "PSI per signal"]
    steps = [s["value"] for s in psi["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 0.1, 0.2, 0.3]
    for board in boards.values():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in board["panels"])


def test_queries_use_only_known_grafana_variables() -> None:
    for board, panel, expr in panel_queries():
        assert not re.search(r"\$\w+", expr), (board, panel, expr)
        assert "rakuten" in expr, (board, panel, expr)
