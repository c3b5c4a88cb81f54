"""Predict: classify one listing, or a CSV of listings, through the live prediction API."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui import context, services

config = context.settings()
timeout = config.ui_request_timeout_seconds
st.title("Predict")

EXAMPLES = {
    "Cushion": ("Coussin déco en lin lavé 45x45 cm", "<p>Housse en lin &amp; coton.</p>"),
    "Crime novels": ("Lot de 3 romans policiers", "Livres d'occasion en bon état"),
    "Console game": ("Jeu PS4 course automobile édition limitée", ""),
}

api = services.api_status(config.api_url, timeout)
if not api.ready:
    st.warning(f"Predictions are unavailable: {api.detail}.")

st.write("Examples:")
for column, (label, (title, description)) in zip(
    st.columns(len(EXAMPLES)), EXAMPLES.items(), strict=True
):
    if column.button(label, key=f"example_{label}"):
        st.session_state["designation"] = title
        st.session_state["description"] = description

with st.form("predict_one"):
    designation = st.text_input("Title (designation)", key="designation")
    description = st.text_area("Description (optional, HTML allowed)", key="description")
    top_k = st.slider("Classes shown", 1, 10, 5, key="top_k")
    submitted = st.form_submit_button("Classify", disabled=not api.ready)
if submitted:
    if not designation.strip():
        st.error("designation: the title is required.")
    else:
        try:
            answer = services.predict(
                config.api_url, designation, description, top_k, config.api_client_token, timeout
            )
        except services.ServiceDown as exc:
            st.error(str(exc))
        else:
            st.write(f"**{answer['label']}** ({answer['prdtypecode']}), confidence "
                     f"{answer['confidence']:.2f}, model v{answer.get('model_version', '-')}")  # fmt: skip
            ranked = pd.DataFrame(answer["top_k"])
            st.altair_chart(
                alt.Chart(ranked)
                .mark_bar()
                .encode(
                    x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1])),
                    y=alt.Y("label:N", sort="-x", title=None),
                    tooltip=["prdtypecode", "label", "probability"],
                ),
                width="stretch",
            )

st.subheader("A CSV of listings")
st.caption("Columns: `designation` (required), `description` (optional).")
upload = st.file_uploader("CSV file", type=["csv"], key="listings_csv")
if upload is not None and api.ready:
    listings = pd.read_csv(upload, dtype=str, keep_default_na=False)
    if "designation" not in listings.columns:
        st.error("designation: the CSV has no `designation` column.")
    else:
        items = [
            {"designation": row["designation"], "description": row.get("description") or None}
            for row in listings.to_dict("records")
        ]
        try:
            answers = services.predict_batch(
                config.api_url, items, config.api_client_token, timeout
            )
        except services.ServiceDown as exc:
            st.error(str(exc))
        else:
            listings["prdtypecode"] = [a["prdtypecode"] for a in answers]
            listings["label"] = [a["label"] for a in answers]
            listings["confidence"] = [round(a["confidence"], 4) for a in answers]
            st.dataframe(listings, hide_index=True)
            st.download_button(
                "Download the predictions",
                listings.to_csv(index=False).encode(),
                file_name="predictions.csv",
                mime="text/csv",
            )
