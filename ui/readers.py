"""Cached reads of the domain layer for the pages: each takes the store URLs (hashable cache
keys) and returns plain data; a read is reused for READ_TTL_SECONDS, then done again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import inspect

from rakuten_assets import predictions, registry
from rakuten_assets.data import loader
from rakuten_assets.db import get_engine
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.operations import registry_views, reports
from rakuten_assets.shadow import ShadowReport

#: Short enough that an operator sees an action of a colleague within seconds.
READ_TTL_SECONDS = 10


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def has_data(db_url: str) -> bool:
    """The schema exists and at least one weekly load was attempted."""
    engine = get_engine(db_url)
    if "data_loads" not in inspect(engine).get_table_names():
        return False
    return not loader.load_history(engine).empty


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def load_history(db_url: str) -> pd.DataFrame:
    return loader.load_history(get_engine(db_url))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def data_overview(db_url: str, catalog_dir: Path) -> reports.DataOverview:
    return reports.data_overview(get_engine(db_url), catalog_dir)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def promotions(db_url: str, model_name: str) -> pd.DataFrame:
    return registry.promotion_history(get_engine(db_url), model_name)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def model_status(tracking_uri: str, db_url: str, model_name: str) -> reports.ModelStatus:
    return reports.model_status(registry.configure(tracking_uri), get_engine(db_url), model_name)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def model_versions(tracking_uri: str, model_name: str) -> list[registry_views.VersionSummary]:
    return registry_views.model_versions(registry.configure(tracking_uri), model_name)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def per_class_f1(tracking_uri: str, run_id: str) -> dict[int, float]:
    return registry_views.per_class_f1(registry.configure(tracking_uri), run_id)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def confusion_image(tracking_uri: str, run_id: str) -> bytes | None:
    return registry_views.confusion_image(registry.configure(tracking_uri), run_id)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def shadow_report(tracking_uri: str, run_id: str) -> ShadowReport | None:
    return registry_views.shadow_report(registry.configure(tracking_uri), run_id)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def prediction_summary(db_url: str) -> predictions.LogSummary:
    return predictions.log_summary(get_engine(db_url))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def drift_timeline(db_url: str, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return reports.drift_timeline(get_engine(db_url), days)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def alerts(db_url: str, status: str | None) -> list[dict[str, Any]]:
    return reports.alerts_with_actions(get_engine(db_url), status=status, limit=200)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def alert_counts(db_url: str) -> dict[tuple[str, str], int]:
    return drift_alerts.alert_counts(get_engine(db_url))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def activity(db_url: str, limit: int) -> pd.DataFrame:
    return reports.activity(get_engine(db_url), limit)


def forget() -> None:
    """Drop every cached read (after an action, so the page shows its effect at once)."""
    st.cache_data.clear()
