"""Shadow scoring: a candidate and Production on the last days of captured traffic.

Before the promotion gate, both models score the inputs that the API captured
(``prediction_inputs``, kept only when CAPTURE_INPUTS is on): how often they agree, which
Production -> candidate class changes are the most frequent, and the candidate's label-free
(CBPE) weighted F1 on that traffic. The golden holdout says which model is better on a fixed
sample; this says how much the candidate would change what clients get today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine, select

from rakuten_assets import registry
from rakuten_assets.categories import CATEGORY_LABELS
from rakuten_assets.db import prediction_inputs
from rakuten_assets.drift.performance import PerformanceEstimate, estimate
from rakuten_assets.predictions import rank
from rakuten_assets.tables import markdown_table
from rakuten_assets.training.model import INPUT_COLUMNS

#: Class changes listed in a report, most frequent first.
TOP_DISAGREEMENTS: Final = 5
#: Newest captured rows scored at most (bounds the gate's time on a busy week).
MAX_ROWS: Final = 50_000
#: The whole report, as JSON, among the candidate run's artifacts (the control room reads it).
REPORT_ARTIFACT: Final = "shadow/report.json"


@dataclass(frozen=True)
class Disagreement:
    """Captured predictions that Production put in one class and the candidate in another."""

    production_code: int
    candidate_code: int
    rows: int


@dataclass(frozen=True)
class ShadowReport:
    """A candidate (and Production, when there is one) scored on the same captured traffic."""

    candidate_version: int
    production_version: int | None
    start: datetime
    end: datetime
    rows: int
    #: Share of the rows where both predict the same class; None without a Production model.
    agreement: float | None
    top_disagreements: tuple[Disagreement, ...]
    #: The candidate's CBPE estimate on the traffic (its own probabilities, no label).
    candidate_estimate: PerformanceEstimate

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate_version": self.candidate_version,
            "production_version": self.production_version,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "agreement": self.agreement,
            "top_disagreements": [
                [d.production_code, d.candidate_code, d.rows] for d in self.top_disagreements
            ],
            "candidate_estimate": self.candidate_estimate.to_json(),
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> ShadowReport:
        return cls(
            candidate_version=int(values["candidate_version"]),
            production_version=values["production_version"],
            start=datetime.fromisoformat(values["start"]),
            end=datetime.fromisoformat(values["end"]),
            rows=int(values["rows"]),
            agreement=values["agreement"],
            top_disagreements=tuple(
                Disagreement(int(p), int(c), int(n)) for p, c, n in values["top_disagreements"]
            ),
            candidate_estimate=PerformanceEstimate.from_json(values["candidate_estimate"]),
        )

    def metrics(self) -> dict[str, float]:
        """MLflow metrics of the candidate's run."""
        values = {
            "shadow_rows": float(self.rows),
            "shadow_estimated_weighted_f1": self.candidate_estimate.expected_weighted_f1,
            "shadow_estimated_weighted_f1_low": self.candidate_estimate.weighted_f1_low,
            "shadow_estimated_weighted_f1_high": self.candidate_estimate.weighted_f1_high,
        }
        if self.agreement is not None:
            values["shadow_agreement"] = self.agreement
        return values

    def tags(self) -> dict[str, str]:
        """MLflow tags of the candidate's run: the window and the top class changes."""
        pairs = ", ".join(
            f"{d.production_code}->{d.candidate_code}: {d.rows}" for d in self.top_disagreements
        )
        return {
            "shadow_window": f"{self.start.isoformat()} .. {self.end.isoformat()}",
            "shadow_production_version": str(self.production_version or "none"),
            "shadow_top_disagreements": pairs or "none",
        }


def captured_inputs(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    """The captured inputs of ``[start, end)``, newest first, at most ``MAX_ROWS``."""
    query = (
        select(prediction_inputs.c.designation, prediction_inputs.c.description)
        .where(prediction_inputs.c.predicted_at >= start, prediction_inputs.c.predicted_at < end)
        .order_by(prediction_inputs.c.predicted_at.desc(), prediction_inputs.c.prediction_id)
        .limit(MAX_ROWS)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))


def compare(
    candidate: Any,
    production: Any | None,
    inputs: pd.DataFrame,
    *,
    candidate_version: int,
    production_version: int | None,
    start: datetime,
    end: datetime,
) -> ShadowReport:
    """Score ``inputs`` (designation, description) with both fitted pipelines and compare."""
    if inputs.empty:
        raise ValueError("no captured input to shadow-score")
    frame = inputs[list(INPUT_COLUMNS)]
    probabilities = np.asarray(candidate.predict_proba(frame))
    classes = np.asarray(candidate.classes_)
    candidate_codes = classes[probabilities.argmax(axis=1)].astype(int)
    top_k = [
        [[r.prdtypecode, r.probability] for r in rank(row, classes, len(classes))]
        for row in probabilities
    ]
    agreement: float | None = None
    disagreements: tuple[Disagreement, ...] = ()
    if production is not None:
        production_p = np.asarray(production.predict_proba(frame))
        production_classes = np.asarray(production.classes_)
        production_codes = production_classes[production_p.argmax(axis=1)].astype(int)
        same = production_codes == candidate_codes
        agreement = round(float(same.mean()), 6)
        pairs = Counter(
            (int(p), int(c))
            for p, c in zip(production_codes[~same], candidate_codes[~same], strict=True)
        )
        ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        disagreements = tuple(Disagreement(p, c, n) for (p, c), n in ranked[:TOP_DISAGREEMENTS])
    return ShadowReport(
        candidate_version=candidate_version,
        production_version=production_version,
        start=start,
        end=end,
        rows=len(frame),
        agreement=agreement,
        top_disagreements=disagreements,
        candidate_estimate=estimate(top_k),
    )


def shadow_score(
    engine: Engine,
    client: MlflowClient,
    model_name: str,
    candidate_version: int,
    *,
    days: int,
    retention_days: int,
    now: datetime | None = None,
) -> ShadowReport | None:
    """Shadow-score ``candidate_version`` against Production on the last ``days`` of capture.

    Never reads beyond the capture retention. None when nothing was captured in the window.
    Production is the version the alias points at (none, or the candidate itself: no agreement).
    """
    end = now or datetime.now(UTC)
    start = end - timedelta(days=min(days, retention_days))
    inputs = captured_inputs(engine, start, end)
    if inputs.empty:
        return None
    current = registry.production_version(client, model_name)
    production_version = int(current.version) if current is not None else None
    production = None
    if production_version is not None and production_version != candidate_version:
        production = registry.load_model(model_name, production_version)
    else:
        production_version = None
    return compare(
        registry.load_model(model_name, candidate_version),
        production,
        inputs,
        candidate_version=candidate_version,
        production_version=production_version,
        start=start,
        end=end,
    )


def log_to_mlflow(client: MlflowClient, run_id: str, report: ShadowReport) -> None:
    """The report as metrics and tags of the candidate's MLflow run, and whole as JSON."""
    for key, value in report.metrics().items():
        client.log_metric(run_id, key, value)
    for key, tag in report.tags().items():
        client.set_tag(run_id, key, tag)
    client.log_dict(run_id, report.to_json(), REPORT_ARTIFACT)


def disagreements_markdown(report: ShadowReport) -> str:
    """The top class changes as a Markdown table (Dagster metadata)."""
    frame = pd.DataFrame(
        [
            {
                "Production": f"{d.production_code} {CATEGORY_LABELS.get(d.production_code, '')}",
                "candidate": f"{d.candidate_code} {CATEGORY_LABELS.get(d.candidate_code, '')}",
                "rows": d.rows,
            }
            for d in report.top_disagreements
        ]
    )
    return markdown_table(frame)
