"""Weekly report: this week against last week — leads, orders, revenue, complaints, satisfaction."""

import datetime as dt

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import explain, overview, weekly
from crm_core.present import charts, i18n

ui.page_guard()

st.title(ui.t("weekly.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
week_end = ui.cached(weekly.report_week_end, con, f)
if week_end is None:
    st.info(ui.t("weekly.no_data"))
    st.stop()
start = week_end - dt.timedelta(days=weekly.WEEK_DAYS - 1)
st.caption(
    ui.t("weekly.caption", start=i18n.fmt_date(start, lang), end=i18n.fmt_date(week_end, lang))
)
table = ui.cached(weekly.weekly_comparison, con, week_end, f)
for source in ("leads", "complaints"):  # new leads, complaints, satisfaction
    ui.filter_note(source, f)
labels = {m: ui.t(f"weekly.measures.{m}") for m in weekly.MEASURES}
cols = st.columns(len(table))
for col, row in zip(cols, table.itertuples(), strict=True):
    decimals = 2 if row.measure == "satisfaction" else 0
    ui.metric(
        col,
        labels[row.measure],
        row.this_week,
        delta=i18n.fmt_change(row.change_pct) if row.change_pct == row.change_pct else None,
        decimals=decimals,
        delta_color=overview.delta_color(row.measure) if row.change else "off",
    )
weeks = ui.t("weekly.chart_title"), ui.t("weekly.this_week"), ui.t("weekly.last_week")
ui.plot(charts.week_index_bars, table, labels, *weeks, lang, name="weekly")
shown = ui.table(
    table,
    lambda d: d.assign(measure=d["measure"].map(labels)).rename(
        columns={
            c: ui.t(f"weekly.{c}")
            for c in ("measure", "this_week", "last_week", "change", "change_pct")
        }
    ),
)
ui.table_downloads(shown, f"weekly-{week_end:%Y-%m-%d}")
# Why the metric that moved most this week changed (this week against last week).
week = overview.Period(start, week_end)
moved = explain.largest_change(ui.cached(explain.explain_all, con, week, f))
if moved is not None:
    ui.explanation(moved, "weekly_explain")
