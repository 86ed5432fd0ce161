"""The Lifecycle page's sections (pages/lifecycle.py): a stage's members, the end patterns split
by a choice, and the transitions since the period began."""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from crm_core.app import ui
from crm_core.engine import db
from crm_core.metrics import lifecycle
from crm_core.metrics.filters import Filters
from crm_core.metrics.lifecycle_cohorts import LifecycleReport
from crm_core.present import charts, i18n, lifecycle_text


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """The frame under column headers in the session's language (messages lifecycle.col.*)."""
    return ui.headed(df, "lifecycle.col")


# A choice of stage, or of how to split the end patterns, reruns its own section only
# (fragments): the report is read once per full run; no drill-down click lives in them.
@st.fragment
def stage_members(con: db.Connection, f: Filters, rep: LifecycleReport, lang: str) -> None:
    """A stage chosen in a selectbox (key lc_stage): its first lifecycle.MEMBERS_SHOWN customers
    with the rule that placed them there, a caption when the stage has more, and downloads of
    the whole stage (fetched when clicked)."""
    stages = lifecycle_text.stage_labels(lang)
    label = ui.t("lifecycle.pick_stage")
    # options and no `index=None`: a selectbox returns one of them, never None
    stage = cast(
        str, st.selectbox(label, lifecycle.STAGES, format_func=stages.__getitem__, key="lc_stage")
    )
    n_stage = int(rep.counts.set_index("stage")["customers"].get(stage, 0))
    shown = lifecycle.MEMBERS_SHOWN
    top = ui.cached(lifecycle.stage_rows, con, rep.as_of, stage, f, rep.rules, shown)
    ui.table(lifecycle_text.stage_members(top, stage, shown, rep.rules, rep.as_of, lang), labelled)
    if n_stage > shown:
        st.caption(ui.t("lifecycle.members_top", shown=ui.num(shown), n=ui.num(n_stage)))

    def every_member() -> pd.DataFrame:  # the whole stage, fetched when a download is clicked
        rows = lifecycle.stage_rows(con, rep.as_of, stage, f, rep.rules)
        return labelled(lifecycle_text.stage_members(rows, stage, None, rep.rules, rep.as_of, lang))

    ui.table_downloads(every_member, f"lifecycle-{stage}")


@st.fragment
def end_patterns_by(rep: LifecycleReport, lang: str) -> None:
    """The end patterns' shares per cohort year, cohort quarter or source (a radio, key
    lc_ends_by), as stacked bars."""
    by = st.radio(
        ui.t("lifecycle.ends_by"),
        ("cohort_year", "cohort_quarter", "source"),
        format_func=lambda k: ui.t(f"lifecycle.by.{k}"),
        horizontal=True,
        key="lc_ends_by",
    )
    mix = lifecycle.end_patterns(rep.profile, by)
    patterns = lifecycle_text.end_pattern_labels(lang)
    title = ui.t("lifecycle.ends_title")
    ui.plot(charts.share_bars, mix, by, "end_pattern", patterns, title, name="lifecycle_ends")


def transitions(rep: LifecycleReport, lang: str) -> None:
    """Where the customers of each stage at the period's start are now: a Sankey and the
    from × to matrix of customers."""
    st.subheader(ui.t("lifecycle.transitions_title"))
    st.caption(ui.t("lifecycle.transitions_help", start=i18n.fmt_date(rep.start, lang)))
    flow_labels = {"new": ui.t("lifecycle.not_yet_known"), **lifecycle_text.stage_labels(lang)}
    ui.plot(charts.transition_sankey, rep.transitions, flow_labels, "", lang, name="lifecycle_flow")
    matrix = lifecycle.transition_matrix(rep.transitions)
    st.dataframe(
        matrix.rename(index=flow_labels, columns=flow_labels).rename_axis(
            ui.t("lifecycle.from_to")
        ),
        placeholder=i18n.MISSING,
    )
