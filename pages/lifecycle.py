"""Lifecycle: relationship stages and their rules, end patterns, funnels, new vs lost, cohorts."""

import streamlit as st

from crm_core.app import sections, ui
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


def listed(name, rows, what):  # the customers behind a click, rows open the Customer 360
    ui.drill_list(rows, name, what, lambda d: drill_text.labelled(d, lang))


tab_names = ("stages", "ends", "funnels", "new_lost", "cohorts")
tabs = st.tabs([ui.t(f"lifecycle.tab.{k}") for k in tab_names])
with tabs[0]:
    title, count, revenue = (
        ui.t(f"lifecycle.{k}") for k in ("stages_title", "customers", "revenue")
    )
    bars = rep.counts, stages, title, count, revenue, lang
    event = ui.plot(charts.stage_bars, *bars, name="lifecycle_stages", select="points")
    if hit := next((k for k in drill.selected(event) if k in lifecycle.STAGES), None):
        rows = ui.cached(drill.stage_customers, con, rep.as_of, hit, f)
        listed(f"stage-{hit}", rows, stages[hit])
    else:
        st.caption(ui.t("drill.click_stage"))
    st.caption(ui.t("lifecycle.rules_help"))
    sections.lifecycle.stage_members(con, f, rep, lang)
    sections.lifecycle.transitions(rep, lang)
with tabs[1]:
    st.caption(ui.t("lifecycle.ends_help"))
    totals = rep.end_patterns.set_index("end_pattern")["customers"]
    for col, key in zip(st.columns(len(patterns)), patterns, strict=True):
        ui.metric(col, patterns[key], totals.get(key, 0))
    sections.lifecycle.end_patterns_by(rep, lang)
with tabs[2]:
    left, right = st.columns(2)
    for box, name, df in (
        (left, "lifecycle_funnel", rep.lifecycle_funnel),
        (right, "customer_funnel", rep.customer_funnel),
    ):
        steps = [ui.t(f"lifecycle.step.{s}") for s in df["step"]]
        funnel = steps, df["customers"].tolist(), ui.t(f"lifecycle.{name}")
        ui.plot(charts.stage_funnel, *funnel, name=name, container=box)
    st.caption(ui.t("lifecycle.funnel_help", n=lifecycle.LOYAL_PURCHASES))
with tabs[3]:
    st.caption(ui.t("lifecycle.new_lost_help", churn=lifecycle.CHURN_DAYS))
    names = {
        c: ui.t(f"lifecycle.col.{c}") for c in ("new_customers", "lost_customers", "net_change")
    }
    ui.plot(charts.new_lost_bars,
        rep.new_lost, names, ui.t("lifecycle.new_lost_title"), lang,
        lifecycle.censored_until(history_warnings), ui.t("lifecycle.censored_months"),
        name="lifecycle_new_lost",
    )  # fmt: skip
    ui.table(rep.new_lost, sections.lifecycle.labelled)
with tabs[4]:
    st.caption(ui.t("lifecycle.cohorts_help"))
    texts = (
        ui.t("lifecycle.cohorts_title"),
        ui.t("lifecycle.months_since"),
        ui.t("lifecycle.cohort"),
    )
    retention = lifecycle_cohorts.retention_matrix(rep.cohorts)
    heat = ui.plot(
        charts.cohort_heatmap, retention, *texts, lang, name="lifecycle_cohorts", select="points"
    )
    if hit := drill.cohort_click(heat):
        cohort, k = hit
        rows = ui.cached(drill.cohort_customers, con, rep.as_of, cohort, k, f)
        what = ui.t("drill.cohort_cell", cohort=i18n.fmt_date(cohort, lang), k=k)
        listed(f"cohort-{cohort}-{k}", rows, what)
    else:
        st.caption(ui.t("drill.click_cohort"))
