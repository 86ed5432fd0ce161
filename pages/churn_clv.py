"""Churn & CLV: who is likely gone, what customers are worth, and how well the model predicts."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import clv, clv_reports, value
from crm_core.present import clv_charts, clv_text, i18n

ui.page_guard()

st.title(ui.t("clv.title"))
con = ui.connection()
f = ui.filters()
ui.filter_line(con, f)


def labelled(df):  # column headers in the session's language
    return df.rename(columns=lambda c: ui.t(f"clv.col.{c}"))


def refused(e: clv.ClvRefused) -> None:
    st.warning(ui.t(f"clv.refused.{e.key}", **e.facts))
    st.caption(ui.t("clv.refused_hint"))


try:
    report = ui.cached(clv_reports.churn_clv_report, con, f)
except clv.ClvRefused as e:
    refused(e)
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
    ui.chart(
        ui.figure(clv_charts.pyramid_chart, report.pyramid, ui.t("clv.pyramid_title"), tiers),
        "clv_pyramid",
    )
    ui.table(report.pyramid.assign(tier=tiers), labelled)
with tabs[2]:
    st.caption(ui.t("clv.next_help", n=len(report.next_purchases)))
    nxt = ui.table(report.next_purchases, labelled)
    ui.csv_download(nxt, ui.t("clv.next_file"), key="clv_dl_next")
with tabs[3]:
    labels = {"x": ui.t("clv.alive_x"), "y": ui.t("clv.customers_axis")}
    ui.chart(
        ui.figure(clv_charts.p_alive_chart, report.p_alive, ui.t("clv.alive_title"), labels),
        "p_alive",
    )
with tabs[4]:
    split = st.date_input(
        ui.t("clv.split"), value=s["default_split"], help=ui.t("clv.split_help"),
        min_value=s["first_order_date"], max_value=s["as_of"], key="clv_split",
    )  # fmt: skip
    try:
        h = ui.cached(clv_reports.holdout_validation, con, f, split)
    except clv.ClvRefused as e:
        refused(e)
    else:
        tot, lang = h.totals, ui.lang()
        st.markdown(
            ui.t(
                "clv.holdout_summary", start=i18n.fmt_date(split, lang),
                end=i18n.fmt_date(h.observation_end, lang), gap=i18n.fmt_change(tot["holdout_gap"]),
                predicted=ui.num(tot["holdout_predicted"]), actual=ui.num(tot["holdout_actual"]),
            )
        )  # fmt: skip
        labels = {k: ui.t(f"clv.{k}") for k in ("actual", "predicted", "holdout")}
        left, right = st.columns(2)
        axes = {"x": ui.t("clv.week"), "y": ui.t("clv.repeat_purchases")}
        fig = ui.figure(
            clv_charts.tracking_chart, h.tracking, ui.t("clv.tracking_title"), labels | axes, lang
        )
        ui.chart(fig, "clv_holdout_tracking", left)
        axes = {"x": ui.t("clv.calibration_frequency"), "y": ui.t("clv.mean_holdout")}
        fig = ui.figure(
            clv_charts.frequency_chart, h.by_frequency, ui.t("clv.frequency_title"), labels | axes
        )
        ui.chart(fig, "clv_holdout_by_frequency", right)
        st.caption(ui.t("clv.parameters"))
        ui.table(clv_reports.parameter_table(h.fit), labelled)
