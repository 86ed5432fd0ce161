"""Overview: headline KPIs against the previous period, monthly revenue and new customers."""

import streamlit as st

from crm_core import charts, overview, ui

ui.page_guard()

st.title("Overview")
con = ui.connection()
f = ui.filters()
period = ui.period_of(con, f)
if period is None:
    st.info("No orders loaded yet. Load a CSV export on the Data page.")
    st.stop()

st.caption(f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d}, compared with the period before")
ui.kpi_row(overview.kpi_deltas(con, period, f), {
    "customers": "Customers", "active_customers": "Active customers", "revenue": "Revenue",
    "orders": "Orders", "complaints": "Complaints"})
trend = overview.monthly_trend(con, period, f)
if trend.empty:
    ui.empty_note(f)
    st.stop()
left, right = st.columns(2)
left.plotly_chart(charts.monthly_bars(trend, "revenue", "Revenue per month"))
right.plotly_chart(charts.monthly_bars(trend, "new_customers", "New customers per month"))
