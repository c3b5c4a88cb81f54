"""Overview: Production, the last weekly decisions, data loaded, API health, open alerts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rakuten_assets.operations import actions
from ui import context, readers, services, widgets

config = context.settings()
db, tracking, name = config.sqlalchemy_url, config.tracking_uri, config.registered_model_name
st.title("Control room")

status = readers.model_status(tracking, db, name)
versions = {v.version: v for v in readers.model_versions(tracking, name)}
history = readers.promotions(db, name)
production = versions.get(status.production_version) if status.production_version else None

left, middle, right = st.columns(3)
with left:
    st.subheader("Production model")
    if production is None:
        st.warning("No Production model yet: the weekly pipeline has not promoted one.")
    else:
        promoted = history[
            (history["candidate_version"] == production.version)
            & history["decision"].isin(["promoted", "rolled_back", "rolled_forward"])
        ].tail(1)
        f1 = production.holdout_weighted_f1
        st.metric(f"{name} v{production.version}", f"{f1:.4f}" if f1 is not None else "-",
                  help="Weighted F1 on the golden holdout (the promotion gate metric)")  # fmt: skip
        if not promoted.empty:
            row = promoted.iloc[-1]
            by = row["dagster_run_id"] or row["actor"]
            st.caption(
                f"{row['decision']} {pd.Timestamp(row['decided_at']):%Y-%m-%d %H:%M} by {by}"
            )
        st.link_button("Open in MLflow", widgets.model_link(config, production.version))

with middle:
    st.subheader("Data loaded")
    data = readers.data_overview(db, config.catalog_dir)
    st.metric("Loaded", f"{data.loaded_pct:.0f} %", f"{data.loaded_rows:,} rows", delta_color="off")
    st.progress(min(data.loaded_pct / 100.0, 1.0))
    logged = readers.prediction_summary(db)
    st.caption(f"{logged.total:,} predictions logged")

with right:
    st.subheader("Services")
    api = services.api_status(config.api_url, config.ui_request_timeout_seconds)
    (st.success if api.ready else st.warning)(f"API: {api.detail}")
    dagster_down = services.dagster_up(config.dagster_url, config.ui_request_timeout_seconds)
    if dagster_down:
        st.warning(dagster_down)
    st.markdown(
        f"[Dagster]({config.dagster_ui_url}) · [MLflow]({config.mlflow_ui_url}) · "
        f"[Grafana]({config.grafana_url})"
    )

st.subheader("Open alerts")
counts = readers.alert_counts(db)
open_by_severity = {sev: n for (state, sev), n in counts.items() if state != "resolved"}
if not open_by_severity:
    st.write("No open alert.")
else:
    cols = st.columns(len(open_by_severity))
    for col, (severity, count) in zip(cols, sorted(open_by_severity.items()), strict=True):
        col.metric(severity, count)

st.subheader("Last weekly decisions")
decisions = history[history["decision"].isin(["promoted", "rejected"])].tail(5).iloc[::-1]
st.dataframe(
    decisions[["decided_at", "partition_key", "candidate_version", "candidate_weighted_f1",
               "production_weighted_f1", "decision", "reason"]],
    hide_index=True,
)  # fmt: skip

st.subheader("Run the weekly pipeline now")
if context.need_admin(config):
    with st.form("run_pipeline"):
        actor, note = widgets.who_and_why("run_pipeline", "run from the control room")
        if st.form_submit_button("Run weekly_ml_pipeline"):
            context.act(
                "retrain",
                lambda: actions.trigger_retrain(
                    context.platform(config), context.request(actor, note)
                ),
                lambda run: (
                    f"launched run {run.run_id} for week {run.partition_key}: "
                    f"{widgets.run_link(config, run.run_id)}"
                ),
            )
