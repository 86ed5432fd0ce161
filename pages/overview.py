"""Overview: headline KPIs against the previous period, monthly revenue and new customers, and
the forecast of the months to come."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import explain, forecast, lifecycle, overview
from crm_core.present import charts

ui.page_guard()

st.title(ui.t("overview.title"))
con = ui.connection()
f = ui.filters()
period = ui.period_of(con, f)
if period is None:
    st.info(ui.t("common.no_orders"))
    st.stop()

ui.filter_line(con, f)
ui.period_caption(period)
ui.data_warnings(ui.cached(lifecycle.history_warnings, con, f), notes=False)
# A period compared with one the data barely covers would show a meaningless jump.
compare = ui.cached(overview.prior_coverage, con, period) >= overview.MIN_PRIOR_COVERAGE
ui.kpi_row(ui.cached(overview.kpi_deltas, con, period, f), "overview", compare)
if not compare:
    st.caption(ui.t("charts.no_comparison"))
ui.filter_note("complaints", f)  # the complaints tile
trend = ui.cached(overview.monthly_trend, con, period, f)
if trend.empty:
    ui.empty_note(f)
    st.stop()
left, right = st.columns(2)
span = {"lang": ui.lang(), "start": period.start, "end": period.end}
ui.plot(charts.monthly_bars, trend, "revenue", ui.t("overview.revenue_per_month"), money=True,
        **span, name="revenue_per_month", container=left)  # fmt: skip
ui.plot(charts.monthly_bars, trend, "new_customers", ui.t("overview.new_per_month"), **span,
        name="new_customers_per_month", container=right)  # fmt: skip
# Why the metric that moved most (relative to the period before) changed.
moved = explain.largest_change(ui.cached(explain.explain_all, con, period, f))
if moved is not None:
    ui.explanation(moved, "overview_explain")


# The metric and the horizon rerun this section only (a fragment), not the KPIs and charts above.
@st.fragment
def forecast_section() -> None:
    st.subheader(ui.t("forecast.title"))
    names = ui.labels("forecast.metrics")
    pick, ahead = st.columns(2)
    metric = pick.radio(
        ui.t("forecast.metric"),
        forecast.METRICS,
        format_func=names.__getitem__,
        horizontal=True,
        key="forecast_metric",
    )
    months = ahead.slider(
        ui.t("forecast.months"), 1, forecast.MAX_HORIZON, 6, key="forecast_months"
    )
    fc = ui.cached(forecast.forecast, con, metric, months, f)
    if metric == "complaints":
        ui.filter_note("complaints", f)
    if fc["partial_month"]:
        st.caption(ui.t("forecast.partial", month=fc["partial_month"]))
    if fc["status"] != "ok":
        st.info(ui.t("forecast.insufficient", months=len(fc["history"]), need=forecast.MIN_MONTHS))
        return
    title = ui.t("forecast.chart_title", metric=names[metric], months=months)
    plot, side = st.columns([3, 1])
    ui.plot(charts.forecast_chart, fc, ui.labels("forecast.chart"), title, ui.lang(),
            money=metric == "revenue", name=f"forecast_{metric}", container=plot)  # fmt: skip
    bt = fc["backtest"]
    pct = {k: "–" if bt[k] is None else f"{bt[k]:.1f}%" for k in ("mape", "naive_mape")}
    if bt["points"]:
        tip = ui.t("forecast.mape_help", origins=bt["origins"], months=months, points=bt["points"])
        ui.metric(side, ui.t("forecast.mape"), pct["mape"], help=tip)
        ui.metric(
            side, ui.t("forecast.naive_mape"), pct["naive_mape"], help=ui.t("forecast.naive_help")
        )
    else:
        side.caption(ui.t("forecast.no_backtest", need=forecast.MIN_MONTHS))
    if fc["alert"]:
        a = {k: ui.num(v) for k, v in fc["latest"].items() if k != "month"}
        st.warning(ui.t("forecast.alert", month=fc["latest"]["month"], **a))
    season = ui.t("forecast.seasonal") if fc["seasonal"] else ""
    st.caption(
        ui.t("forecast.model_note", season=season),
        help=ui.t("forecast.model_help", model=fc["model"], season=season),
    )


forecast_section()
