"""Models: the registry versions, candidate vs Production per week, every decision, a version's
per-class F1, confusion matrix and shadow report; roll back, roll forward, re-run the gate."""

from __future__ import annotations

from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from rakuten_assets.categories import category_label
from rakuten_assets.operations import actions
from rakuten_assets.shadow import ShadowReport
from ui import context, readers, widgets

config = context.settings()
db, tracking, name = config.sqlalchemy_url, config.tracking_uri, config.registered_model_name
st.title("Models")

versions = readers.model_versions(tracking, name)
status = readers.model_status(tracking, db, name)
history = readers.promotions(db, name)

st.subheader(f"Registry: {name}")
if not versions:
    st.write("No version registered yet.")
else:
    table = pd.DataFrame([asdict(v) for v in versions])
    table["aliases"] = table["aliases"].map(", ".join)
    table["data_version"] = table["data_version"].map(
        lambda d: f"{d.get('partition_key', '-')} ({d.get('loaded_pct', '-')} %)"
    )
    table["mlflow"] = [widgets.model_link(config, v.version) for v in versions]
    st.dataframe(
        table[["version", "stage", "aliases", "holdout_weighted_f1", "holdout_macro_f1",
               "val_weighted_f1", "data_version", "git_sha", "created_at", "mlflow"]],
        hide_index=True,
        column_config={"mlflow": st.column_config.LinkColumn("MLflow", display_text="open")},
    )  # fmt: skip

st.subheader("Candidate vs Production, weighted F1 on the golden holdout")
weekly = history[history["decision"].isin(["promoted", "rejected"])].dropna(
    subset=["partition_key"]
)
if weekly.empty:
    st.write("No weekly decision yet.")
else:
    lines = weekly.melt(
        id_vars=["partition_key"],
        value_vars=["candidate_weighted_f1", "production_weighted_f1"],
        var_name="model",
        value_name="weighted F1",
    ).dropna()
    gate = (
        alt.Chart(pd.DataFrame({"gate": [config.min_weighted_f1]}))
        .mark_rule(strokeDash=[6, 4], color="red")
        .encode(y="gate:Q")
    )
    chart = (
        alt.Chart(lines)
        .mark_line(point=True)
        .encode(
            x=alt.X("partition_key:N", title="week"),
            y=alt.Y("weighted F1:Q", scale=alt.Scale(zero=False)),
            color="model:N",
        )
    )
    st.altair_chart(chart + gate, width="stretch")

st.subheader("Promotion decisions")
st.dataframe(history.iloc[::-1][["decided_at", "decision", "candidate_version", "production_version",
                                 "candidate_weighted_f1", "production_weighted_f1", "reason",
                                 "actor"]], hide_index=True)  # fmt: skip


def _shadow(report: ShadowReport | None, version: int) -> None:
    """What the gate saw when it scored this version on captured traffic beside Production."""
    st.markdown(f"**Shadow scoring of v{version}** on captured traffic")
    if report is None:
        st.caption(
            "No shadow report: the gate found no captured traffic in its window (the API keeps "
            "inputs only with CAPTURE_INPUTS on), or the version was not evaluated by the gate."
        )
        return
    estimate = report.candidate_estimate
    agreement = (
        "no Production model to compare with"
        if report.agreement is None
        else f"agrees with Production v{report.production_version} on {report.agreement:.1%}"
    )
    st.markdown(
        f"{report.rows:,} listings from {report.start:%Y-%m-%d %H:%M} to "
        f"{report.end:%Y-%m-%d %H:%M} UTC: v{version} {agreement}; estimated weighted F1 "
        f"{estimate.expected_weighted_f1:.3f} ({estimate.weighted_f1_low:.3f}-"
        f"{estimate.weighted_f1_high:.3f}, label-free CBPE)."
    )
    if report.top_disagreements:
        st.dataframe(
            pd.DataFrame(
                {
                    "Production said": [f"{d.production_code} {category_label(d.production_code)}"
                                        for d in report.top_disagreements],
                    f"v{version} says": [f"{d.candidate_code} {category_label(d.candidate_code)}"
                                         for d in report.top_disagreements],
                    "listings": [d.rows for d in report.top_disagreements],
                }
            ),
            hide_index=True,
        )  # fmt: skip


if versions:
    st.subheader("One version in detail")
    chosen = st.selectbox("Version", [v.version for v in versions], key="detail_version")
    summary = next(v for v in versions if v.version == chosen)
    if summary.run_id:
        scores = readers.per_class_f1(tracking, summary.run_id)
        if scores:
            frame = pd.DataFrame(
                {"label": [category_label(c) for c in scores], "F1": list(scores.values())}
            )
            st.altair_chart(
                alt.Chart(frame)
                .mark_bar()
                .encode(
                    x=alt.X("F1:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("label:N", sort="-x")
                ),
                width="stretch",
            )
        image = readers.confusion_image(tracking, summary.run_id)
        if image:
            st.image(image, caption=f"Confusion matrix of v{chosen}")
        _shadow(readers.shadow_report(tracking, summary.run_id), chosen)

#: Per move: its name, button, outcome, proposal and what it says when there is no target.
MOVES = {
    "rollback": ("rollback", "Roll back", "rolled back", "Roll back Production from "
                 "**v{current}** to **v{target}**.", "the promotion history has no earlier one"),
    "roll_forward": ("roll-forward", "Roll forward", "rolled forward", "Roll Production forward "
                     "from **v{current}** to **v{target}**.", "there is no rollback to undo"),
}  # fmt: skip


def _move_form(key: str, current: int | None, target: int | None, seen: int | None) -> None:
    """Propose the move's target to confirm; ``seen`` is Production as this operator saw it, so
    a move from a stale page is refused by the domain."""
    name, button, done, proposal, no_target = MOVES[key]
    # A click on a target the operator saw must reach the domain (and its clear refusal) even
    # if a colleague's move has used it up since.
    offered = context.shown_before(f"{key}_seen_target", target) is not None
    move = actions.roll_forward if key == "roll_forward" else actions.rollback
    with st.form(key):
        if target is None:
            st.write(f"Production is v{current}; {no_target}.")
        else:
            st.write(proposal.format(current=current, target=target))
        actor, note = widgets.who_and_why(key, f"{name} from the control room")
        if st.form_submit_button(button, disabled=target is None and not offered):
            context.act(
                name,
                lambda: move(
                    context.platform(config), context.request(actor, note), expected_version=seen
                ),
                lambda moved: (
                    f"Production {done} from v{moved.previous_version} to v{moved.target_version}"
                ),
            )


st.subheader("Actions")
if context.need_admin(config):
    left, middle, right = st.columns(3)
    current = status.production_version
    seen = context.shown_before("rollback_seen_version", current)
    with left:
        _move_form("rollback", current, status.rollback_target, seen)
    with middle:
        _move_form("roll_forward", current, status.roll_forward_target, seen)
    with right, st.form("rerun_gate"):
        candidates = [v.version for v in versions if not v.is_production]
        version = st.selectbox("Version to judge again", candidates, key="gate_version")
        actor, note = widgets.who_and_why("gate", "gate re-run from the control room")
        if st.form_submit_button("Re-run the promotion gate", disabled=not candidates):
            context.act(
                "re-run of the gate",
                lambda: actions.rerun_gate(
                    context.platform(config), context.request(actor, note), int(version)
                ),
                lambda r: f"v{r.version}: {'promoted' if r.promoted else 'rejected'}: {r.reason}",
            )
