"""Activity: every operator action (who, when, what, from which door, with what result)."""

from __future__ import annotations

import streamlit as st

from ui import context, readers

config = context.settings()
st.title("Activity")
limit = st.slider("Actions shown", 10, 1_000, 100, key="activity_limit")
table = readers.activity(config.sqlalchemy_url, limit)
if table.empty:
    st.write("No operator action yet.")
else:
    st.dataframe(table, hide_index=True)
