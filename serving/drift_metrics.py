"""Drift gauges on the API's ``/metrics``: the latest report's PSI per signal and its severity,
the open alerts, and when a model was last promoted (the age of the served model).

The drift check runs in Dagster, not in the API; the API only *shows* its latest result so that
a dashboard can put drift next to latency. The values are read from ``drift_reports`` when
Prometheus scrapes (one indexed query, cached for a few seconds so that several scrapers do not
multiply it), through a custom collector: every worker reads the same row, so the numbers are
right with one worker or many, without multiprocess bookkeeping.

If the database does not answer, the scrape still succeeds with the API's own metrics and
``rakuten_drift_metrics_up 0``; the drift gauges are left out rather than shown stale.
"""

from __future__ import annotations

import calendar
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.drift.alerts import active_alert_count
from rakuten_assets.drift.report import STATUS_OK, DriftReport
from rakuten_assets.drift.storage import newest_report
from rakuten_assets.realised import SlicePerformance
from rakuten_assets.realised import history as realised_history
from rakuten_assets.registry import last_promotion_time

log = logging.getLogger("serving.drift_metrics")

CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class _Latest:
    """What one scrape shows: the newest report (None: there is none yet), the alert count and
    the time of the last promotion (None: never)."""

    report: DriftReport | None
    open_alerts: int
    last_promotion: datetime | None
    #: Production's realised scores on the newest weekly slice (None: none yet).
    realised: SlicePerformance | None = None


class DriftCollector(Collector):
    """Prometheus collector over the newest row of ``drift_reports``."""

    def __init__(
        self, engine: Engine, model_name: str, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self.engine = engine
        self.model_name = model_name
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, _Latest | None] | None = None
        self._failing = False
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def describe(self) -> list[GaugeMetricFamily]:
        # Nothing to declare up front: what exists depends on the database at scrape time.
        return []

    def render(self) -> bytes:
        """The exposition text of the drift gauges alone (appended to the API's own metrics)."""
        return generate_latest(self.registry)

    def _read(self) -> _Latest:
        weeks = realised_history(self.engine, 1)
        return _Latest(
            report=newest_report(self.engine),
            open_alerts=active_alert_count(self.engine),
            last_promotion=last_promotion_time(self.engine, self.model_name),
            realised=weeks[0] if weeks else None,
        )

    def _latest(self) -> _Latest | None:
        """The newest report (None: the database did not answer)."""
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            try:
                value = self._read()
            except SQLAlchemyError as exc:
                if not self._failing:
                    log.warning("drift gauges: database unreachable (%s)", type(exc).__name__)
                self._failing = True
                value = None
            else:
                self._failing = False
            self._cached = (now, value)
            return value

    def collect(self) -> Iterator[GaugeMetricFamily]:
        latest = self._latest()
        yield GaugeMetricFamily(
            "rakuten_drift_metrics_up",
            "1 when the drift gauges could be read from the database at this scrape.",
            value=0 if latest is None else 1,
        )
        if latest is None:
            return
        yield GaugeMetricFamily(
            "rakuten_drift_open_alerts",
            "Drift alerts that are open or acknowledged (not resolved).",
            value=latest.open_alerts,
        )
        if latest.last_promotion is not None:
            yield GaugeMetricFamily(
                "rakuten_last_promotion_timestamp_seconds",
                "Unix time a model version was last promoted to Production.",
                value=latest.last_promotion.timestamp(),
            )
        yield from realised_gauges(latest.realised)
        report = latest.report
        if report is None:
            return
        yield GaugeMetricFamily(
            "rakuten_drift_severity",
            "Severity of the latest drift report: 0 OK, 1 WARNING, 2 ALERT, 3 CRITICAL.",
            value=report.severity.rank,
        )
        yield GaugeMetricFamily(
            "rakuten_drift_report_date_seconds",
            "Report date (midnight UTC, Unix time) of the latest drift report.",
            value=calendar.timegm(report.report_date.timetuple()),
        )
        sufficient = GaugeMetricFamily(
            "rakuten_drift_report_sufficient_data",
            "1 when the latest drift report had enough predictions in both windows.",
            value=1 if report.status == STATUS_OK else 0,
        )
        yield sufficient
        psi = GaugeMetricFamily(
            "rakuten_drift_psi",
            "Population stability index of each signal in the latest drift report.",
            labels=["signal"],
        )
        for signal in sorted(report.signals, key=lambda s: s.name):
            psi.add_metric([signal.name], signal.psi)
        yield psi
        yield from performance_gauges(report)


# --- model health: the label-free performance estimate of the latest report ------------------


def performance_gauges(report: DriftReport) -> Iterator[GaugeMetricFamily]:
    """The CBPE estimate of the report date's predictions (nothing when it has none)."""
    if report.performance is None:
        return
    estimate = report.performance.overall
    yield GaugeMetricFamily(
        "rakuten_estimated_weighted_f1",
        "Label-free (CBPE) weighted F1 of the latest drift report's day, from calibrated top-k.",
        value=estimate.expected_weighted_f1,
    )
    band = GaugeMetricFamily(
        "rakuten_estimated_weighted_f1_band",
        "95 % band of the estimated weighted F1 (sampling uncertainty given calibration).",
        labels=["bound"],
    )
    band.add_metric(["low"], estimate.weighted_f1_low)
    band.add_metric(["high"], estimate.weighted_f1_high)
    yield band
    yield GaugeMetricFamily(
        "rakuten_estimated_accuracy",
        "Label-free expected accuracy (mean calibrated top-1 probability) of that day.",
        value=estimate.expected_accuracy,
    )


def realised_gauges(week: SlicePerformance | None) -> Iterator[GaugeMetricFamily]:
    """Production's realised scores on the newest weekly slice (nothing before the first)."""
    if week is None:
        return
    yield GaugeMetricFamily(
        "rakuten_realised_weighted_f1",
        "Weighted F1 of Production on the newest weekly slice (labelled rows it never saw).",
        value=week.weighted_f1,
    )
    if week.drop is not None:
        yield GaugeMetricFamily(
            "rakuten_realised_f1_drop",
            "Production's golden-holdout weighted F1 minus its weighted F1 on the newest slice.",
            value=week.drop,
        )
