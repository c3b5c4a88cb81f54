"""The operators' control room: `streamlit run ui/streamlit_app.py` (`make ui`)."""

from __future__ import annotations

import streamlit as st

from ui import context, readers

st.set_page_config(
    page_title="Rakuten control room", page_icon=":material/monitoring:", layout="wide"
)

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/label:"),
    st.Page("app_pages/drift.py", title="Drift", icon=":material/trending_up:"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("app_pages/activity.py", title="Activity", icon=":material/history:"),
]

page = st.navigation(PAGES)
config = context.settings()
context.admin_sidebar(config)
context.show_outcome()


def _run_page() -> None:
    # Predictions need only the API; every other page reads the database.
    if page.title != "Predict" and not readers.has_data(config.sqlalchemy_url):
        st.info(context.DEMO_HINT)
        return
    page.run()


context.guarded(_run_page)
