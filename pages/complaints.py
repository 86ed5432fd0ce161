"""Complaints: trend and spikes, handling stages and SLA, satisfaction, value, category Pareto."""

from functools import partial

import streamlit as st

from crm_core.app import ui
from crm_core.app.sections import complaints as view
from crm_core.metrics import complaints as c
from crm_core.metrics import complaints_outcomes as co
from crm_core.present import charts, complaint_text
from crm_core.present.i18n import fmt_pct

ui.page_guard()


def tx(key, **kw):  # this page's messages
    return ui.t(f"complaints.{key}", **kw)


st.title(tx("title"))
show = partial(ui.labelled_table, prefix="complaints.col")  # headers in the session's language
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period, moved = ui.cached(c.effective_period, con, ui.period_of(con, f))
if period is None:
    st.info(tx("none"))
    st.stop()
view.period_notes(period, moved, f)
rep, names = ui.cached(co.complaints_report, con, period, f), ui.labels("complaints.col")
view.headline_tiles(rep.headline, names)
if not rep.headline["complaints"]:
    ui.empty_note(f)
    st.stop()
tabs = st.tabs([tx(f"tab_{k}") for k in ("trend", "sla", "satisfaction", "value", "pareto")])
with tabs[0]:
    left, mid, right = st.columns(3)
    grain = left.radio(tx("grain"), c.GRAINS, 2, names.get, key="c_grain", horizontal=True)
    by = mid.selectbox(tx("split"), c.SPLITS, format_func=names.get, key="c_split")
    stacked, month = right.toggle(tx("stacked"), True, key="c_stacked"), grain == "month"
    totals = ui.cached(c.trend, con, period, grain, f)
    by_group = ui.cached(c.trend_by, con, period, grain, by, f)
    args = (by_group, totals, rep.spikes, tx("trend_title"), names, lang, stacked, month)
    event = ui.plot(charts.complaint_trend, *args, select="points", name="complaints_trend")
    if month:
        view.month_drill(con, f, event, by, names)
    ui.plot(charts.complaint_rates, totals, tx("rates_title"), names, lang, month, name="rates")
    st.caption(tx("rates_note"))
    st.subheader(tx("spikes"))
    rule = {"windows": c.SPIKE_WINDOWS, "z": c.SPIKE_Z, "n": c.SPIKE_MIN_COUNT}
    st.caption(tx("spike_rule", **rule), help=tx("spike_rule_help", **rule))
    show(complaint_text.spike_table(rep.spikes, rep.spike_flagged, names["total"]))
    yoy = (rep.year_over_year, tx("yoy_title"), names, lang)
    ui.plot(charts.complaint_yoy, *yoy, name="complaints_yoy")

with tabs[1]:
    if missing := c.missing_for_sla(rep.coverage):
        st.info(tx("sla_needs", cols=", ".join(missing)))
    else:
        ui.data_warnings(rep.sla_warnings)  # no acceptance times, negative times
        sla = view.sla_hours()
        steps = [names[s] for s in rep.stages["stage"]]
        funnel = (steps, rep.stages["reached"].tolist(), tx("funnel"))
        ui.plot(charts.stage_funnel, *funnel, name="stages")
        show(rep.stages.assign(stage=steps).drop(columns="stage_no"))
        st.caption(tx("stage_rule"))
        for by in ("category", "owner"):
            show(ui.cached(c.sla_breaches, con, period, by, f, sla))
        backlog = (rep.backlog, tx("backlog"), tx("age"), names)
        ui.plot(charts.complaint_backlog, *backlog, name="complaint_backlog")

with tabs[2]:
    if not rep.coverage["satisfaction"]:
        st.info(tx("no_scores"))
    bars = (rep.scores["score"], rep.scores["complaints"], tx("scores"))
    ui.plot(charts.complaint_bars, *bars, name="scores")
    show(rep.satisfaction)
    x, shares, unrated = complaint_text.rated_buckets(rep.by_resolution, names)
    ui.plot(charts.complaint_bars, x, shares, tx("csat_title"), True, name="csat")
    if unrated:
        st.caption(tx("csat_unrated", buckets=ui.md("、".join(unrated))))
    show(rep.compensation)

with tabs[3]:
    if not rep.coverage["customer_id"]:
        st.info(tx("no_customers"))
    ret = rep.retention
    x = ("group_" + ret["customer_group"]).map(names)
    bars = (x, ret["retention"], tx("retention_title"), True)
    ui.plot(charts.complaint_bars, *bars, name="retention")
    st.caption(tx("retention_rule", days=co.RETENTION_DAYS))
    st.subheader(tx("repeaters", n=co.REPEAT_MIN_COMPLAINTS, days=co.REPEAT_DAYS))
    show(rep.repeaters)

with tabs[4]:
    par, share = rep.pareto, co.PARETO_SHARE
    pareto = (par, tx("pareto_title"), names, share)
    ui.plot(charts.complaint_pareto, *pareto, name="complaints_pareto")
    vital = ", ".join(par.loc[par["vital_few"], "category"])
    st.caption(tx("vital_few", share=fmt_pct(share, 0), cats=ui.md(vital)))
