"""Drift: severity per day, PSI per signal over time with the severity bands, one day's table."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from rakuten_assets.drift.severity import PSI_ALERT, PSI_CRITICAL, PSI_WARNING, Severity
from ui import context, readers

config = context.settings()
st.title("Drift")

SIGNALS = {
    "text_length": "Characters of title + description: longer or shorter listings than usual.",
    "word_count": "Words of title + description: a change in how merchants write.",
    "confidence": "The model's top probability: a drop means it is less sure of its answers.",
    "unknown_token_share": "Share of words the model never saw: new brands, products, languages.",
    "predicted_class": "The mix of predicted classes: a shift in what is sold, or in the model.",
}
#: Lower bound of the PSI band of each severity (OK below the first).
PSI_BANDS = {
    Severity.WARNING: PSI_WARNING,
    Severity.ALERT: PSI_ALERT,
    Severity.CRITICAL: PSI_CRITICAL,
}
SEVERITY_COLOURS = alt.Scale(
    domain=[str(s) for s in Severity], range=["#2e7d32", "#f9a825", "#ef6c00", "#c62828"]
)

days = st.slider("Days shown", 7, 365, 60, key="drift_days")
per_report, per_signal = readers.drift_timeline(config.sqlalchemy_url, days)
#: Report dates are days: an axis without hours.
DAY = alt.X(
    "yearmonthdate(report_date):T",
    title="report date",
    axis=alt.Axis(format="%b %d", tickCount="day"),
)
if per_report.empty:
    st.info("No drift report yet: the daily drift check has not run (`make check-drift`).")
    st.stop()

st.subheader("Severity per day")
st.altair_chart(
    alt.Chart(per_report)
    .mark_square(size=120)
    .encode(
        x=DAY,
        y=alt.Y("severity:N", sort=[str(s) for s in Severity], title=None),
        color=alt.Color("severity:N", scale=SEVERITY_COLOURS, legend=None),
        tooltip=["report_date:T", "status", "severity", "driving_signal", "current_count"],
    ),
    width="stretch",
)

st.subheader("PSI per signal")
bands = (
    alt.Chart(
        pd.DataFrame({"psi": list(PSI_BANDS.values()), "severity": [str(s) for s in PSI_BANDS]})
    )
    .mark_rule(strokeDash=[4, 4])
    .encode(y="psi:Q", color=alt.Color("severity:N", scale=SEVERITY_COLOURS, legend=None))
)
if not per_signal.empty:
    lines = (
        alt.Chart(per_signal)
        .mark_line(point=True)
        .encode(
            x=DAY,
            y=alt.Y("psi:Q", title="PSI"),
            color=alt.Color("signal:N"),
            tooltip=["report_date:T", "signal", "psi", "p_value", "severity"],
        )
    )
    # The bands' colours are severities, the lines' are signals: two colour scales.
    st.altair_chart((lines + bands).resolve_scale(color="independent"), width="stretch")

st.subheader("One day")
dates = [d.isoformat() for d in per_report["report_date"].iloc[::-1]]
chosen = date.fromisoformat(st.selectbox("Report date", dates, key="drift_date"))
report = per_report[per_report["report_date"] == chosen].iloc[0]
st.write(f"**{report['severity']}** ({report['status']}), driven by "
         f"`{report['driving_signal'] or '-'}`; {report['current_count']:,} predictions in the "
         f"current window, {report['reference_count']:,} in the reference.")  # fmt: skip
day = per_signal[per_signal["report_date"] == chosen]
st.dataframe(
    day[["signal", "psi", "test", "p_value", "flagged", "severity", "reference_count",
         "current_count"]],
    hide_index=True,
)  # fmt: skip

with st.expander("What each signal means"):
    for signal, meaning in SIGNALS.items():
        st.markdown(f"- `{signal}`: {meaning}")
    st.markdown(
        "Severity from PSI: OK < 0.1 ≤ WARNING < 0.2 ≤ ALERT < 0.3 ≤ CRITICAL; the KS (numeric) "
        "or Chi² (classes) test confirms a drift at p < 0.05."
    )
