"""Pipeline: the lead funnel by stage reached, close rate, velocity, follow-up discipline."""

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import drill, pipeline
from crm_core.present import charts, drill_text, i18n

ui.page_guard()

st.title(ui.t("pipeline.title"))
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period = ui.period_of(con, f)
start, end = (period.start, period.end) if period else (None, None)


def labelled(df, stages=()):  # stage names and column headers in the session's language
    keys = {c: ui.t(f"pipeline.col.{c}") for c in df.columns if i18n.has(f"pipeline.col.{c}")}
    return pipeline.label_stages(df, lang, stages).rename(columns=keys)


def show(df, stages=()):  # a table: labelled, shares as percentages, missing as "–"
    return ui.table(df, lambda d: labelled(d, stages))


ui.filter_note("leads", f)  # customer type / product category: leads carry neither
rep = ui.cached(pipeline.funnel_report, con, start, end, f)
if rep is None:
    st.info(ui.t("pipeline.no_leads"))
else:
    o, rates = rep.order, rep.rates.iloc[0]
    st.caption(ui.t("pipeline.caption", as_of=i18n.fmt_date(rep.as_of, lang)))
    if o.basis != "vocabulary":
        st.warning(ui.t(f"pipeline.order_{o.basis}", stages=ui.md(", ".join(o.inferred))))
    kpis = st.columns(4)
    ui.metric(kpis[0], ui.t("pipeline.leads"), rates["leads"])
    ui.metric(kpis[1], ui.t("pipeline.won"), rates["won"])
    kpis[2].metric(ui.t("pipeline.close_rate"), i18n.fmt_pct(rates["close_rate"]))
    ratio = 1 / rates["close_rate"] if rates["close_rate"] > 0 else None
    kpis[3].metric(ui.t("pipeline.ratio"), f"1 : {ratio:.1f}" if ratio else "–")
    steps = [pipeline.stage_label(s, lang) for s in rep.funnel["step"]]
    funnel = steps, rep.funnel["reached"].tolist(), ""
    event = ui.plot(charts.stage_funnel, *funnel, name="pipeline_funnel", select="points")
    clicked = drill.selected(event, "point_index")
    if clicked and int(clicked[0]) < len(rep.funnel):
        step = rep.funnel["step"].iloc[int(clicked[0])]
        rows = ui.cached(drill.funnel_step_leads, con, start, end, step, f)
        what, label = steps[int(clicked[0])], lambda d: drill_text.labelled(d, lang)
        ui.drill_list(rows, "funnel", what, label, count="drill.leads", source="leads")
    else:
        st.caption(ui.t("drill.click_step"))
    if rep.unplaced_lost:
        st.caption(ui.t("pipeline.lost_note", n=ui.num(rep.unplaced_lost), stage=ui.md(steps[0])))
    show(rep.funnel.drop(columns=["segment", "key"]))
    target = st.number_input(ui.t("pipeline.target"), min_value=0, value=10, key="pl_target")
    need = pipeline.prospects_needed(target, rates["close_rate"])
    ui.metric(st, ui.t("pipeline.prospects_needed"), need)
    by = st.radio(
        ui.t("pipeline.by"),
        ("source", "owner", "grade"),
        format_func=lambda k: ui.t(f"pipeline.by_{k}"),
        horizontal=True,
        key="pl_by",
    )
    seg = ui.cached(pipeline.funnel_by, con, start, end, f, by)
    show(seg, o.steps)
    st.subheader(ui.t("pipeline.velocity_title"))
    st.caption(ui.t("pipeline.velocity_help"))
    vel = rep.velocity.assign(status=[ui.t(f"pipeline.col.{s}") for s in rep.velocity["status"]])
    show(vel)

st.header(ui.t("pipeline.followup_title"))
fu = ui.cached(pipeline.followup_report, con, start, end, f, pipeline.OVERDUE_SHOWN)
if fu is None:
    st.info(ui.t("pipeline.no_interactions"))
    st.stop()
d = fu.deliveries
share = d["share"].iloc[0] if len(d) else None
category = fu.delivery_category or ui.t("pipeline.all_orders")
st.metric(ui.t("pipeline.followup_share", hours=pipeline.FOLLOWUP_HOURS), i18n.fmt_pct(share))
st.caption(
    ui.t("pipeline.followup_help", category=ui.md(category), n=ui.num(d["deliveries"].sum()))
)
show(fu.by_owner)
st.subheader(ui.t("pipeline.cadence_title"))
ui.filter_note("leads", f)
sides = ui.t("pipeline.required"), ui.t("pipeline.actual")
ui.plot(charts.cadence_bars, fu.cadence, "", *sides, name="pipeline_cadence")
show(fu.cadence)
st.subheader(ui.t("pipeline.overdue_title"))
st.caption(ui.t("pipeline.overdue_help", as_of=i18n.fmt_date(fu.as_of, lang)))
show(fu.overdue_owners)
show(fu.overdue)
if fu.overdue_total > len(fu.overdue):
    n, shown = ui.num(fu.overdue_total), ui.num(len(fu.overdue))
    st.caption(ui.t("pipeline.overdue_top", shown=shown, n=n))


def overdue_all():  # every overdue lead, read when a download is clicked
    return labelled(pipeline.rounded(pipeline.overdue_list(con, fu.as_of, None, end, f)))


ui.table_downloads(overdue_all, "overdue-leads", "leads")
