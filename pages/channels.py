"""Channel return: marketing spend per acquisition channel against its new customers' value."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import channels
from crm_core.present import charts, i18n

ui.page_guard()

t = ui.t
st.title(t("channels.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
period = ui.period_of(con, f)
if period is None:
    st.info(t("common.no_orders"))
    st.stop()
span = {"start": i18n.fmt_date(period.start, lang), "end": i18n.fmt_date(period.end, lang)}
st.caption(t("channels.caption", **span), help=t("channels.how"))
df, warnings = ui.cached(channels.channel_return, con, period, f)


def warning_text(w: dict) -> str:
    if w["code"] == "clv_unavailable":
        reason = t(f"clv.refused.{w['reason']}", **w["facts"])
        return t("channels.warn.clv_unavailable", reason=reason)
    names = [ui.md(c if c is not None else t("channels.no_source")) for c in w.get("channels", [])]
    return t(f"channels.warn.{w['code']}", channels="、".join(names))


for w in warnings:
    (st.info if w["code"] == "first_year_partial" else st.warning)(warning_text(w))
if any(w["code"] == "no_spend_file" for w in warnings):
    st.caption(t("channels.upload"))
if df.empty:
    st.info(t("channels.no_channels"))
    st.stop()

shown = df.round(channels.JSON_PLACES).assign(
    channel=df["channel"].fillna(t("channels.no_source")),
    first_year_partial=df["first_year_partial"].map(
        {True: t("channels.partial"), False: t("channels.full_year")}
    ),
)


def header(d):
    return d.rename(columns=lambda c: t(f"channels.col.{c}"))


st.subheader(t("channels.table"))
ratio = {
    t(f"channels.col.{c}"): st.column_config.NumberColumn(format="%.2f") for c in ("clv_to_cac",)
}
ui.table(shown, header, column_config=ratio)
ui.table_downloads(header(shown), "channel-return")
if shown["clv_to_cac"].notna().any():
    title = t("channels.chart")
    ui.plot(charts.ratio_bars, shown, "channel", "clv_to_cac", title, name="channels_clv_to_cac")
else:
    st.info(t("channels.no_chart"))
