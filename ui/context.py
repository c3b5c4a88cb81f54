"""What every page shares within one script run: the settings, the platform the actions need,
the operator's admin check, the outcome of the last action, and the guard that turns a failure
into one line on the screen (the traceback goes to the server log)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from rakuten_assets.db import get_engine
from rakuten_assets.operations import actions
from rakuten_assets.operations.audit import Door, Request
from rakuten_assets.operations.auth import token_matches
from rakuten_assets.settings import Settings
from ui import readers

log = logging.getLogger("ui")

_ADMIN_OK = "admin_ok"
_OUTCOME = "last_outcome"
DEMO_HINT = (
    "The database is empty: run `make demo` first (it loads the first weeks, trains, promotes "
    "and simulates a drifting week), then reload this page."
)


def settings() -> Settings:
    """Read on every run (cheap), so that a test or a restarted process sees its environment."""
    return Settings()


def platform(config: Settings) -> actions.Platform:
    return actions.Platform.from_settings(config, get_engine(config.sqlalchemy_url))


def request(actor: str, note: str, alert_id: int | None = None) -> Request:
    return Request(actor=actor.strip(), reason=note.strip(), door=Door.UI, alert_id=alert_id)


def admin_ok(config: Settings) -> bool:
    """May this session act? The same token as the API's control endpoints: read from the
    settings for a local (development) run, else asked once per browser session."""
    if config.api_admin_token is None:
        return False
    if config.environment == "development":
        return True
    return bool(st.session_state.get(_ADMIN_OK))


def admin_sidebar(config: Settings) -> None:
    """The sidebar box that asks for the admin token (never shown back) when it must."""
    if config.api_admin_token is None:
        st.sidebar.caption("Actions are off: API_ADMIN_TOKEN is not set.")
        return
    if admin_ok(config):
        st.sidebar.caption("Actions enabled (admin token accepted).")
        return
    with st.sidebar.form("admin_token_form"):
        given = st.text_input("Admin token", type="password", key="admin_token_input")
        if st.form_submit_button("Unlock actions"):
            if token_matches(given, config.api_admin_token):
                st.session_state[_ADMIN_OK] = True
                st.rerun()
            st.error("That is not the admin token.")


def need_admin(config: Settings) -> bool:
    """True when actions may run; else says why on the page."""
    if admin_ok(config):
        return True
    st.info("Actions need the admin token: enter it in the sidebar.")
    return False


def act(what: str, operation: Callable[[], Any], describe: Callable[[Any], str]) -> None:
    """Run one operator action; its outcome (or refusal) is shown once, after the rerun that
    shows its effect."""
    try:
        result = operation()
    except actions.OperationError as exc:
        st.session_state[_OUTCOME] = ("error", f"{what} refused: {exc}")
    else:
        st.session_state[_OUTCOME] = ("success", describe(result))
    readers.forget()
    st.rerun()


def shown_before(key: str, now: int | None) -> int | None:
    """The value the previous run of this session showed (``now`` the first time), and remember
    ``now``: an action submitted from a page acts on what the operator saw, not on what
    changed meanwhile (a colleague's rollback makes a second one a refusal, not a second move)."""
    previous = st.session_state.get(key, now)
    st.session_state[key] = now
    return previous


def show_outcome() -> None:
    outcome = st.session_state.pop(_OUTCOME, None)
    if outcome is None:
        return
    kind, message = outcome
    (st.success if kind == "success" else st.error)(message)


def guarded(run: Callable[[], None]) -> None:
    """Run a page; a database, registry or unexpected failure is one line, logged in full."""
    try:
        run()
    except SQLAlchemyError as exc:
        log.exception("database read failed")
        st.error(f"The database is unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    except MlflowException as exc:
        log.exception("registry read failed")
        st.error(f"The MLflow registry is unreachable: {str(exc).splitlines()[0][:300]}")
    except Exception as exc:  # the operator gets one line; the log keeps the traceback
        log.exception("page failed")
        st.error(f"This page failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
