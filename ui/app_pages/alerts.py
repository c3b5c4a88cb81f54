"""Alerts: open, acknowledged and resolved alerts with their history; act on one (acknowledge,
investigate, adjust thresholds, retrain, roll back, resolve), audited with who and a note."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rakuten_assets.drift.alerts import ActionType, AlertStatus
from rakuten_assets.operations import actions
from rakuten_assets.operations.audit import Door
from rakuten_assets.settings import Settings
from ui import context, readers, widgets

config = context.settings()
db = config.sqlalchemy_url
st.title("Alerts")

#: What an operator can do about an alert, in the order of the menu.
CHOICES = {
    ActionType.ACKNOWLEDGE.value: "Acknowledge",
    ActionType.INVESTIGATE.value: "Record an investigation",
    ActionType.ADJUST_THRESHOLDS.value: "Record a threshold adjustment",
    ActionType.RETRAIN.value: "Retrain (launch weekly_ml_pipeline)",
    ActionType.ROLLBACK.value: "Roll back Production",
    ActionType.RESOLVE.value: "Resolve",
}


def _run(alert: dict[str, Any], choice: str, actor: str, note: str, seen: int | None) -> Any:
    alert_id = int(alert["id"])
    engine = context.platform(config).engine
    if choice == ActionType.ACKNOWLEDGE:
        return actions.acknowledge_alert(engine, alert_id, actor, note, door=Door.UI)
    if choice == ActionType.RESOLVE:
        return actions.resolve_alert(engine, alert_id, actor, note, door=Door.UI)
    if choice == ActionType.RETRAIN:
        return actions.trigger_retrain(
            context.platform(config), context.request(actor, note, alert_id)
        )
    if choice == ActionType.ROLLBACK:
        return actions.rollback(
            context.platform(config), context.request(actor, note, alert_id), seen
        )
    return actions.act_on_alert(engine, alert_id, choice, actor, note, door=Door.UI)


def _done(alert_id: int, choice: str) -> Any:
    return lambda result: (
        f"alert #{alert_id}: {CHOICES[choice].lower()} done"
        + (f" (run {result.run_id})" if hasattr(result, "run_id") else "")
    )


def _action_form(alert: dict[str, Any], settings: Settings, production: int | None) -> None:
    alert_id = int(alert["id"])
    seen = context.shown_before(f"alert_{alert_id}_seen_production", production)
    with st.form(f"alert_{alert_id}"):
        choice = st.selectbox(
            "Action", list(CHOICES), format_func=CHOICES.__getitem__, key=f"alert_{alert_id}_action"
        )
        actor, note = widgets.who_and_why(f"alert_{alert_id}", "")
        if st.form_submit_button("Apply"):
            if not actor.strip():
                st.error("actor: say who acts (it is recorded with the action).")
                return
            context.act(
                f"{CHOICES[choice].lower()} on alert #{alert_id}",
                lambda: _run(alert, choice, actor, note, seen),
                _done(alert_id, choice),
            )


production = readers.model_status(
    config.tracking_uri, db, config.registered_model_name
).production_version
tabs = st.tabs(["Open", "Acknowledged", "Resolved"])
for tab, status in zip(tabs, AlertStatus, strict=True):
    with tab:
        shown = readers.alerts(db, status.value)
        if not shown:
            st.write(f"No {status.value} alert.")
        for alert in shown:
            title = (f"#{alert['id']} {alert['severity']} {alert['signal']} "
                     f"on {alert['report_date']} ({alert['status']})")  # fmt: skip
            with st.expander(title, expanded=status == AlertStatus.OPEN):
                st.write(alert["message"])
                st.caption(f"Recommended: {alert['recommended_action']}")
                if alert["history"]:
                    history = pd.DataFrame(alert["history"])[
                        ["taken_at", "action", "actor", "door", "details"]
                    ]
                    history["details"] = history["details"].map(lambda d: ", ".join(
                        f"{k}: {v}" for k, v in (d or {}).items()))  # fmt: skip
                    st.dataframe(history, hide_index=True)
                if status != AlertStatus.RESOLVED and context.admin_ok(config):
                    _action_form(alert, config, production)
if not context.admin_ok(config):
    context.need_admin(config)
