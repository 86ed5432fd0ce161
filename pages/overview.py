"""Overview: headline KPIs against the previous period, monthly revenue and new customers."""

import streamlit as st

from crm_core import charts, explain, lifecycle, overview, ui

ui.page_guard()

st.title(ui.t("overview.title"))
con = ui.connection()
f = ui.filters()
period = ui.period_of(con, f)
if period is None:
    st.info(ui.t("common.no_orders"))
    st.stop()

ui.period_caption(period)
ui.data_warnings(ui.cached(lifecycle.history_warnings, con, f), notes=False)
ui.kpi_row(overview.kpi_deltas(con, period, f), "overview")
ui.filter_note("complaints", f)  # the complaints tile
trend = overview.monthly_trend(con, period, f)
if trend.empty:
    ui.empty_note(f)
    st.stop()
left, right = st.columns(2)
rev = charts.monthly_bars(trend, "revenue", ui.t("overview.revenue_per_month"), ui.lang())
new = charts.monthly_bars(trend, "new_customers", ui.t("overview.new_per_month"), ui.lang())
ui.chart(rev, "revenue_per_month", left)
ui.chart(new, "new_customers_per_month", right)
# Why the metric that moved most (relative to the period before) changed.
moved = explain.largest_change(ui.cached(explain.explain_all, con, period, f))
if moved is not None:
    ui.explanation(moved, "overview_explain")
