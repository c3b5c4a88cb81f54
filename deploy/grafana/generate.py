"""Writes the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json) from the panel
lists below; ``--check`` fails when a committed file differs from what this script writes.

    python deploy/grafana/generate.py            # rewrite the JSON files
    python deploy/grafana/generate.py --check    # exit 1 if they are stale

Queries use only Grafana's built-in ``$__rate_interval`` and ``$__range`` variables, so that a
test can run each of them against a real Prometheus after substituting those two.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"
#: The uid of the provisioned datasource (provisioning/datasources/prometheus.yml).
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
WIDTH = 24  # Grafana's grid width

SEVERITY_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "0": {"text": "OK", "color": "green", "index": 0},
            "1": {"text": "WARNING", "color": "yellow", "index": 1},
            "2": {"text": "ALERT", "color": "orange", "index": 2},
            "3": {"text": "CRITICAL", "color": "red", "index": 3},
        },
    }
]


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"value": value, "color": color} for value, color in steps],
    }


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = "__auto"
    instant: bool = False
    heatmap: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    defaults: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _target(ref: str, query: Query) -> dict[str, Any]:
    target: dict[str, Any] = {
        "refId": ref,
        "datasource": DATASOURCE,
        "expr": query.expr,
        "legendFormat": query.legend,
        "range": not query.instant,
        "instant": query.instant,
    }
    if query.heatmap:
        target["format"] = "heatmap"
    return target


def _layout(panels: list[Panel]) -> list[dict[str, Any]]:
    """Panels left to right, wrapping at the grid width; ids in order."""
    out: list[dict[str, Any]] = []
    x = y = row_height = 0
    for number, panel in enumerate(panels, start=1):
        if x + panel.width > WIDTH:
            x, y, row_height = 0, y + row_height, 0
        out.append(
            {
                "id": number,
                "type": panel.kind,
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
                "targets": [
                    _target(chr(ord("A") + i), query) for i, query in enumerate(panel.queries)
                ],
                "fieldConfig": {
                    "defaults": {"unit": panel.unit, **panel.defaults},
                    "overrides": [],
                },
                "options": panel.options,
            }
        )
        x += panel.width
        row_height = max(row_height, panel.height)
    return out


def dashboard(uid: str, title: str, tags: list[str], panels: list[Panel]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "timezone": "browser",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": _layout(panels),
    }


def _stat(title: str, description: str, expr: str, unit: str = "short", **defaults: Any) -> Panel:
    return Panel(
        title,
        description,
        (Query(expr, instant=True),),
        kind="stat",
        unit=unit,
        width=6,
        height=5,
        defaults=defaults,
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
    )


def _quantiles(metric: str, by: str = "") -> tuple[Query, ...]:
    grouping = f"le, {by}" if by else "le"
    return tuple(
        Query(
            f"histogram_quantile({q}, sum by ({grouping}) "
            f"(rate({metric}_bucket[$__rate_interval])))",
            legend=f"p{round(q * 100)}" + (f" {{{{{by}}}}}" if by else ""),
        )
        for q in (0.5, 0.95, 0.99)
    )


def _distribution(title: str, description: str, metric: str, unit: str) -> Panel:
    return Panel(
        title,
        description,
        (
            Query(
                f"sum by (le) (increase({metric}_bucket[$__range]))",
                legend="{{le}}",
                instant=True,
                heatmap=True,
            ),
        ),
        kind="bargauge",
        unit="short",
        options={"displayMode": "gradient", "orientation": "vertical"},
        defaults={"displayName": f"<= ${{__field.labels.le}} {unit}"},
    )


def production() -> dict[str, Any]:
    panels = [
        _stat(
            "Total predictions",
            "Predictions served since the API started (all workers).",
            "sum(rakuten_predictions_total)",
        ),
        _stat(
            "Model version served",
            "Registry version of rakuten_classifier@production in the API (0: no model).",
            "max(rakuten_model_version)",
            thresholds=thresholds((None, "red"), (1, "green")),
        ),
        _stat(
            "5xx ratio (5 min)",
            "Share of API answers that were server errors (alert over 5 %).",
            "rakuten:http_5xx:ratio_rate5m",
            unit="percentunit",
            thresholds=thresholds((None, "green"), (0.05, "red")),
        ),
        _stat(
            "Prediction-log queue",
            "Records waiting for their database insert (all workers).",
            "sum(rakuten_prediction_log_queue_depth)",
        ),
        Panel(
            "Throughput",
            "Predictions per second, and HTTP requests per second by route.",
            (
                Query(
                    "sum(rate(rakuten_predictions_total[$__rate_interval]))", legend="predictions"
                ),
                Query(
                    "sum by (route) (rate(rakuten_http_requests_total[$__rate_interval]))",
                    legend="{{route}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Latency p50 / p95 / p99",
            "From a request's arrival to its answer, single and batch calls (alert: p99 > 250 ms).",
            _quantiles("rakuten_prediction_latency_seconds", by="endpoint"),
            unit="s",
        ),
        Panel(
            "Errors by type",
            "Requests answered with an error, per second, by type (validation, no_model, ...).",
            (
                Query(
                    "sum by (type) (rate(rakuten_errors_total[$__rate_interval]))",
                    legend="{{type}}",
                ),
                Query(
                    'sum by (status) (rate(rakuten_http_requests_total{status=~"[45].."}'
                    "[$__rate_interval]))",
                    legend="HTTP {{status}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Predicted classes",
            "Predictions per product type over the dashboard's time range, with category names.",
            (
                Query(
                    "sort_desc(sum by (prdtypecode, category) ("
                    "increase(rakuten_predictions_total[$__range])"
                    " * on (prdtypecode) group_left (category)"
                    " max by (prdtypecode, category) (rakuten_category_info)))",
                    legend="{{prdtypecode}} {{category}}",
                    instant=True,
                ),
            ),
            kind="bargauge",
            options={"displayMode": "gradient", "orientation": "horizontal"},
            height=12,
        ),
        _distribution(
            "Confidence distribution",
            "Probability of the predicted class, cumulative buckets over the time range.",
            "rakuten_prediction_confidence",
            "",
        ),
        _distribution(
            "Text length distribution",
            "Characters of designation + description, cumulative buckets over the time range.",
            "rakuten_input_text_length_chars",
            "chars",
        ),
        Panel(
            "Micro-batch size",
            "Items per model call: median and mean (single predictions are micro-batched).",
            (
                Query(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(rakuten_model_batch_size_bucket[$__rate_interval])))",
                    legend="median",
                ),
                Query(
                    "sum(rate(rakuten_model_batch_size_sum[$__rate_interval]))"
                    " / sum(rate(rakuten_model_batch_size_count[$__rate_interval]))",
                    legend="mean",
                ),
            ),
        ),
    ]
    return dashboard("rakuten-production", "Rakuten - Production", ["rakuten", "api"], panels)


def drift() -> dict[str, Any]:
    panels = [
        _stat(
            "Drift severity",
            "Severity of the latest daily drift report (alert at ALERT and above).",
            "max(rakuten_drift_severity)",
            mappings=SEVERITY_MAPPINGS,
            thresholds=thresholds((None, "green"), (1, "yellow"), (2, "orange"), (3, "red")),
        ),
        _stat(
            "Open drift alerts",
            "Alerts open or acknowledged, not yet resolved.",
            "max(rakuten_drift_open_alerts)",
            thresholds=thresholds((None, "green"), (1, "orange")),
        ),
        _stat(
            "Days since last promotion",
            "Age of the newest promotion to Production.",
            "(time() - max(rakuten_last_promotion_timestamp_seconds)) / 86400",
            unit="d",
            decimals=1,
            thresholds=thresholds((None, "green"), (14, "yellow"), (28, "red")),
        ),
        _stat(
            "Report sufficient data",
            "1 when the latest report had enough predictions in both windows.",
            "max(rakuten_drift_report_sufficient_data)",
            mappings=[
                {
                    "type": "value",
                    "options": {
                        "0": {"text": "insufficient data", "color": "yellow", "index": 0},
                        "1": {"text": "ok", "color": "green", "index": 1},
                    },
                }
            ],
        ),
        Panel(
            "PSI per signal",
            "Population stability index of each signal in the latest report; lines at "
            "0.1 (WARNING), 0.2 (ALERT), 0.3 (CRITICAL).",
            (Query("max by (signal) (rakuten_drift_psi)", legend="{{signal}}"),),
            width=24,
            defaults={
                "thresholds": thresholds(
                    (None, "green"), (0.1, "yellow"), (0.2, "orange"), (0.3, "red")
                ),
                "custom": {"thresholdsStyle": {"mode": "line+area"}},
            },
        ),
        Panel(
            "Severity over time",
            "Severity of the latest report as the API saw it.",
            (Query("max(rakuten_drift_severity)", legend="severity"),),
            defaults={"mappings": SEVERITY_MAPPINGS, "min": 0, "max": 3},
        ),
        Panel(
            "Unknown-token share",
            "Live: mean share of word tokens unknown to the served model; and its PSI in the "
            "latest report.",
            (
                Query(
                    "sum(rate(rakuten_unknown_token_share_sum[$__rate_interval]))"
                    " / sum(rate(rakuten_unknown_token_share_count[$__rate_interval]))",
                    legend="mean share (live)",
                ),
                Query(
                    'max(rakuten_drift_psi{signal="unknown_token_share"})',
                    legend="PSI (latest report)",
                ),
            ),
            unit="percentunit",
        ),
    ]
    return dashboard("rakuten-drift", "Rakuten - Drift", ["rakuten", "drift"], panels)


DASHBOARDS = {"rakuten-production.json": production, "rakuten-drift.json": drift}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = DASHBOARDS_DIR / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
    if stale:
        names = ", ".join(str(p.relative_to(HERE)) for p in stale)
        print(f"stale: {names}; run `python deploy/grafana/generate.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
