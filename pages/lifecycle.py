"""Lifecycle: relationship stages and their rules, end patterns, funnels, new vs lost, cohorts."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import drill, lifecycle, lifecycle_cohorts
from crm_core.present import charts, drill_text, i18n, lifecycle_text

ui.page_guard()

st.title(ui.t("lifecycle.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period = ui.period_of(con, f)
if period is None:
    st.info(ui.t("common.no_orders"))
    st.stop()
rep = ui.cached(lifecycle_cohorts.lifecycle_report, con, period.start, period.end, f)
if rep.known == 0:
    ui.empty_note(f)
    st.stop()
stages, patterns = lifecycle_text.stage_labels(lang), lifecycle_text.end_pattern_labels(lang)
st.caption(ui.t("lifecycle.caption", as_of=i18n.fmt_date(rep.as_of, lang), n=ui.num(rep.known)))
history_warnings = ui.cached(lifecycle.history_warnings, con, f)
ui.data_warnings(history_warnings)  # what the history cannot tell


def labelled(df):  # column headers in the session's language
    return df.rename(columns=lambda c: ui.t(f"lifecycle.col.{c}"))


# A choice of stage, or of how to split the end patterns, reruns its own section only
# (fragments): the report is read once per full run; no drill-down click lives in them.
@st.fragment
def stage_members() -> None:
    stage = st.selectbox(
        ui.t("lifecycle.pick_stage"), lifecycle.STAGES, format_func=stages.get, key="lc_stage"
    )
    n_stage = int(rep.counts.set_index("stage")["customers"].get(stage, 0))
    shown = lifecycle.MEMBERS_SHOWN
    top = ui.cached(lifecycle.stage_rows, con, rep.as_of, stage, f, rep.rules, shown)
    ui.table(lifecycle_text.stage_members(top, stage, shown, rep.rules, rep.as_of, lang), labelled)
    if n_stage > shown:
        st.caption(ui.t("lifecycle.members_top", shown=ui.num(shown), n=ui.num(n_stage)))

    def every_member():  # the whole stage, fetched when a download is clicked
        rows = lifecycle.stage_rows(con, rep.as_of, stage, f, rep.rules)
        return labelled(lifecycle_text.stage_members(rows, stage, None, rep.rules, rep.as_of, lang))

    ui.table_downloads(every_member, f"lifecycle-{stage}")


@st.fragment
def end_patterns_by() -> None:
    by = st.radio(
        ui.t("lifecycle.ends_by"),
        ("cohort_year", "cohort_quarter", "source"),
        format_func=lambda k: ui.t(f"lifecycle.by.{k}"),
        horizontal=True,
        key="lc_ends_by",
    )
    mix = lifecycle.end_patterns(rep.profile, by)
    ui.chart(
        ui.figure(
            charts.share_bars, mix, by, "end_pattern", patterns, ui.t("lifecycle.ends_title")
        ),
        "lifecycle_ends",
    )


tab_names = ("stages", "ends", "funnels", "new_lost", "cohorts")
tabs = st.tabs([ui.t(f"lifecycle.tab.{k}") for k in tab_names])
with tabs[0]:
    title, count, revenue = (
        ui.t(f"lifecycle.{k}") for k in ("stages_title", "customers", "revenue")
    )
    fig = ui.figure(charts.stage_bars, rep.counts, stages, title, count, revenue, lang)
    clicked = drill.selected(ui.chart(fig, "lifecycle_stages", select="points"))
    if hit := next((k for k in clicked if k in lifecycle.STAGES), None):
        rows = ui.cached(drill.stage_customers, con, rep.as_of, hit, f)
        ui.drill_list(rows, f"stage-{hit}", stages[hit], lambda d: drill_text.labelled(d, lang))
    else:
        st.caption(ui.t("drill.click_stage"))
    st.caption(ui.t("lifecycle.rules_help"))
    stage_members()
    st.subheader(ui.t("lifecycle.transitions_title"))
    st.caption(ui.t("lifecycle.transitions_help", start=i18n.fmt_date(rep.start, lang)))
    flow_labels = {"new": ui.t("lifecycle.not_yet_known"), **stages}
    ui.chart(
        ui.figure(charts.transition_sankey, rep.transitions, flow_labels, "", lang),
        "lifecycle_flow",
    )
    matrix = lifecycle.transition_matrix(rep.transitions)
    st.dataframe(
        matrix.rename(index=flow_labels, columns=flow_labels).rename_axis(
            ui.t("lifecycle.from_to")
        ),
        placeholder=i18n.MISSING,
    )
with tabs[1]:
    st.caption(ui.t("lifecycle.ends_help"))
    totals = rep.end_patterns.set_index("end_pattern")["customers"]
    for col, key in zip(st.columns(len(patterns)), patterns, strict=True):
        ui.metric(col, patterns[key], totals.get(key, 0))
    end_patterns_by()
with tabs[2]:
    left, right = st.columns(2)
    for box, name, df in (
        (left, "lifecycle_funnel", rep.lifecycle_funnel),
        (right, "customer_funnel", rep.customer_funnel),
    ):
        steps = [ui.t(f"lifecycle.step.{s}") for s in df["step"]]
        fig = ui.figure(
            charts.stage_funnel, steps, df["customers"].tolist(), ui.t(f"lifecycle.{name}")
        )
        ui.chart(fig, name, box)
    st.caption(ui.t("lifecycle.funnel_help", n=lifecycle.LOYAL_PURCHASES))
with tabs[3]:
    st.caption(ui.t("lifecycle.new_lost_help", churn=lifecycle.CHURN_DAYS))
    names = {
        c: ui.t(f"lifecycle.col.{c}") for c in ("new_customers", "lost_customers", "net_change")
    }
    fig = ui.figure(charts.new_lost_bars,
        rep.new_lost, names, ui.t("lifecycle.new_lost_title"), lang,
        lifecycle.censored_until(history_warnings), ui.t("lifecycle.censored_months"),
    )  # fmt: skip
    ui.chart(fig, "lifecycle_new_lost")
    ui.table(rep.new_lost, labelled)
with tabs[4]:
    st.caption(ui.t("lifecycle.cohorts_help"))
    heat = ui.figure(
        charts.cohort_heatmap,
        lifecycle_cohorts.retention_matrix(rep.cohorts),
        ui.t("lifecycle.cohorts_title"),
        ui.t("lifecycle.months_since"),
        ui.t("lifecycle.cohort"),
        lang,
    )
    if hit := drill.cohort_click(ui.chart(heat, "lifecycle_cohorts", select="points")):
        cohort, k = hit
        rows = ui.cached(drill.cohort_customers, con, rep.as_of, cohort, k, f)
        what = ui.t("drill.cohort_cell", cohort=i18n.fmt_date(cohort, lang), k=k)
        ui.drill_list(rows, f"cohort-{cohort}-{k}", what, lambda d: drill_text.labelled(d, lang))
    else:
        st.caption(ui.t("drill.click_cohort"))
