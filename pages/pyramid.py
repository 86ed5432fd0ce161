"""Customer pyramid: value tiers, Pareto concentration, RFM segments, tier migration."""

import streamlit as st

from crm_core.app import sections, ui
from crm_core.metrics import drill, value
from crm_core.present import charts, drill_text, i18n

ui.page_guard()

t = ui.t
st.title(t("pyramid.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period = ui.period_of(con, f)
if period is None:
    st.info(t("common.no_orders"))
    st.stop()


def listed(name, rows, what):  # the customers behind a click, rows open the Customer 360
    ui.drill_list(rows, name, what, lambda d: drill_text.labelled(d, lang))


def span(p):
    return {"start": i18n.fmt_date(p.start, lang), "end": i18n.fmt_date(p.end, lang)}


names = {m: t(f"pyramid.measure_{m}") for m in value.MEASURES}
measure = st.radio(t("pyramid.measure"), value.measures(con), format_func=names.get)
pyr = ui.cached(value.value_pyramid, con, period, f, measure, lang=lang)
n_active = value.active_customers(pyr)
st.caption(t("pyramid.as_of", n=ui.num(n_active), **span(period)))
if n_active == 0:
    ui.empty_note(f)
    st.stop()

tabs = st.tabs([t(f"pyramid.tab_{k}") for k in ("pyramid", "pareto", "rfm", "migration", "list")])
with tabs[0]:
    left, right = st.columns(2)
    share = t(f"pyramid.share_{measure}")
    bars = pyr, t("pyramid.chart_pyramid"), share, lang
    event = ui.plot(charts.pyramid_chart, *bars, name="pyramid", container=left, select="points")
    clicked = drill.selected(event)
    with right:
        sections.pyramid.table(pyr, value.PYRAMID_COLUMNS)
        for _, row in value.negative_net_tiers(pyr).iterrows():  # net of returns, not an error
            money = {k: ui.num(row[k], 2) for k in ("revenue", "gross_revenue", "returns_amount")}
            st.caption(
                t("pyramid.negative_net", tier=row["label"], n=ui.num(row["customers"]), **money)
            )
    if tier := next((k for k in clicked if k in value.TIER_KEYS), None):
        rows = ui.cached(drill.tier_customers, con, period, tier, f, measure)
        listed(f"tier-{tier}", rows, value.tier_name(tier, lang))
    else:
        st.caption(t("drill.click_tier"))
with tabs[1]:
    par = ui.cached(value.pareto, con, period, f)
    top = i18n.fmt_pct(par.top_revenue_share)
    k, n = ui.num(par.top_customers), ui.num(par.customers)
    st.metric(t("pyramid.pareto_metric"), top, help=t("pyramid.pareto_help", n=n, k=k))
    if par.top_revenue_share is not None:
        texts = [t("pyramid.pareto_chart"), t("pyramid.pareto_x"), t("pyramid.pareto_y")]
        point = t("pyramid.pareto_point", share=top)
        drawn = par.curve, par.top_share, par.top_revenue_share, *texts, point
        ui.plot(charts.pareto_curve, *drawn, name="pareto")
with tabs[2]:
    segs = ui.cached(value.rfm_segments, con, period, f, lang)
    st.caption(t("pyramid.rfm_note"))
    heat = {c: t(f"pyramid.col.{c}") for c in value.HEATMAP_METRICS}
    by_label = dict(zip(segs["label"], segs["segment"], strict=True))
    heatmap = segs, heat, t("pyramid.rfm_chart"), lang
    event = ui.plot(charts.segment_heatmap, *heatmap, name="rfm_segments", select="points")
    cell = drill.selected(event, "y")
    pick = st.session_state.get("rfm_pick")
    picking = {"key": "rfm_pick", "on_select": "rerun", "selection_mode": "single-row"}
    sections.pyramid.table(segs, value.SEGMENT_COLUMNS, **picking)
    row = drill.selected_row(pick)
    seg = segs["segment"].iloc[row] if row is not None else by_label.get(next(iter(cell), None))
    if seg:
        rows = ui.cached(drill.segment_customers, con, period, seg, f)
        listed(f"segment-{seg}", rows, value.SEGMENT_BY_KEY[seg].name(lang))
    else:
        st.caption(t("drill.click_segment"))
with tabs[3]:
    mig = ui.cached(value.tier_migration, con, period, f, measure, lang=lang)
    keys = ("upgrades", "downgrades", "new", "revenue_at_stake")
    for col, key in zip(st.columns(len(keys)), keys, strict=True):
        ui.metric(col, t(f"pyramid.{key}"), getattr(mig, key))
    sides = t("pyramid.before", **span(mig.before)), t("pyramid.now", **span(mig.after))
    order = value.migration_order(lang)
    flows = mig.flows, order, t("pyramid.migration_chart"), *sides
    ui.plot(charts.tier_sankey, *flows, name="tier_migration")
with tabs[4]:
    sections.pyramid.customer_list(con, period, f, measure, lang)
