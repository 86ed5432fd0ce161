"""Churn & CLV: who is likely gone, what customers are worth, and how well the model predicts."""

import streamlit as st

from crm_core.app import sections, ui
from crm_core.metrics import clv, clv_reports, value
from crm_core.present import clv_charts, clv_text, i18n

ui.page_guard()

st.title(ui.t("clv.title"))
con = ui.connection()
f = ui.filters()
ui.filter_line(con, f)
labelled = sections.churn_clv.labelled

try:
    report = ui.cached(clv_reports.churn_clv_report, con, f)
except clv.ClvRefused as e:
    sections.churn_clv.refused(e)
    st.stop()

s = report.summary
as_of = i18n.fmt_date(s["as_of"], ui.lang())
st.caption(
    ui.t("clv.caption", as_of=as_of, customers=ui.num(s["customers"])),
    help=ui.t("clv.caption_help"),
)
if s["status"] == "not_identified":  # say why instead of showing "0 at risk"
    for col, key in zip(st.columns(2), ("customers", "repeat_buyers"), strict=True):
        ui.metric(col, ui.t(f"clv.kpi.{key}"), s[key], help=ui.t(f"clv.kpi_help.{key}"))
    st.warning(ui.t("clv.not_identified_churn"))
    st.caption(ui.t("clv.not_identified_detail", **clv_text.not_identified_facts(s)))
    st.caption(ui.t("clv.parameters_all"))
    ui.table(report.parameters, labelled)
    st.stop()
kpis = ("customers", "repeat_buyers", "alive_below_0_5", "expected_purchases", "clv_total")
for col, key in zip(st.columns(len(kpis)), kpis, strict=True):
    tip, money = ui.t(f"clv.kpi_help.{key}"), i18n.is_money(key)
    ui.metric(col, ui.t(f"clv.kpi.{key}"), s[key], help=tip, money=money)

tabs = st.tabs([ui.t(f"clv.tab_{k}") for k in ("risk", "value", "next", "alive", "quality")])
with tabs[0]:
    st.caption(ui.t("clv.call_list_help"))
    if report.call_list.empty:
        st.info(ui.t("clv.call_list_empty"))
    else:
        table = ui.table(report.call_list, labelled)
        ui.csv_download(table, ui.t("clv.call_list_file"), key="clv_dl_risk")
with tabs[1]:
    tiers = [value.tier_name(k, ui.lang()) for k in report.pyramid["tier"]]
    title = ui.t("clv.pyramid_title")
    ui.plot(clv_charts.pyramid_chart, report.pyramid, title, tiers, name="clv_pyramid")
    ui.table(report.pyramid.assign(tier=tiers), labelled)
with tabs[2]:
    st.caption(ui.t("clv.next_help", n=len(report.next_purchases)))
    nxt = ui.table(report.next_purchases, labelled)
    ui.csv_download(nxt, ui.t("clv.next_file"), key="clv_dl_next")
with tabs[3]:
    labels = {"x": ui.t("clv.alive_x"), "y": ui.t("clv.customers_axis")}
    title = ui.t("clv.alive_title")
    ui.plot(clv_charts.p_alive_chart, report.p_alive, title, labels, name="p_alive")
with tabs[4]:
    sections.churn_clv.holdout(con, f, s)
