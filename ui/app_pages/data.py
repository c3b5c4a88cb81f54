"""Data: the load history, the class distribution of what is loaded, the golden holdout."""

from __future__ import annotations

import altair as alt
import streamlit as st

from rakuten_assets.operations.reports import LOAD_COLUMNS
from ui import context, readers

config = context.settings()
db = config.sqlalchemy_url
st.title("Data")

data = readers.data_overview(db, config.catalog_dir)
cols = st.columns(4)
cols[0].metric("Loaded", f"{data.loaded_pct:.0f} %")
cols[1].metric("Rows loaded", f"{data.loaded_rows:,}")
cols[2].metric(
    "Imbalance ratio",
    f"{data.imbalance_ratio:.1f}" if data.imbalance_ratio else "-",
    help="Largest class over smallest class, in the loaded rows",
)
cols[3].metric("Golden holdout", f"{data.holdout_rows:,}" if data.holdout_rows else "-",
               help="Rows frozen for evaluation, never loaded for training")  # fmt: skip

st.subheader("Class distribution of the loaded rows")
chart = (
    alt.Chart(data.classes)
    .mark_bar()
    .encode(
        x=alt.X("rows:Q", title="rows"),
        y=alt.Y("label:N", sort="-x", title=None),
        tooltip=["prdtypecode", "label", "rows"],
    )
)
st.altair_chart(chart, width="stretch")

st.subheader("Load history")
loads = readers.load_history(db)
st.dataframe(
    loads[[*LOAD_COLUMNS, "batch_id", "started_at"]].rename(
        columns={"partition_key": "week", "target_pct": "%", "slice_index": "slice"}
    ),
    hide_index=True,
)
