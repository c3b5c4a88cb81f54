"""Pieces several pages lay out the same way: the who-and-why fields of an action, links."""

from __future__ import annotations

import getpass

import streamlit as st

from rakuten_assets.settings import Settings


def who_and_why(key: str, default_note: str) -> tuple[str, str]:
    """The actor and note fields of an action form (recorded in the audit rows)."""
    actor = st.text_input(
        "Who (recorded with the action)", value=_default_actor(), key=f"{key}_actor"
    )
    note = st.text_input("Note", value=default_note, key=f"{key}_note")
    return actor, note


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "operator"


def model_link(config: Settings, version: int) -> str:
    base = config.mlflow_ui_url.rstrip("/")
    return f"{base}/#/models/{config.registered_model_name}/versions/{version}"


def run_link(config: Settings, dagster_run_id: str) -> str:
    return f"{config.dagster_ui_url.rstrip('/')}/runs/{dagster_run_id}"
