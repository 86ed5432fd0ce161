"""Complaints: trend and spikes, handling stages and SLA, satisfaction, value, category Pareto."""

from functools import partial

import streamlit as st

from crm_core.app import ui
from crm_core.metrics import complaints as c
from crm_core.metrics import drill
from crm_core.metrics.filters import inapplicable
from crm_core.present import charts, drill_text
from crm_core.present.i18n import fmt_date, fmt_pct

ui.page_guard()


def tx(key, **kw):  # this page's messages
    return ui.t(f"complaints.{key}", **kw)


st.title(tx("title"))
show = partial(ui.labelled_table, prefix="complaints.col")  # headers in the session's language
con, f, lang = ui.connection(), ui.filters(), ui.lang()
ui.filter_line(con, f)
period, moved = c.effective_period(con, ui.period_of(con, f))
if period is None:
    st.info(tx("none"))
    st.stop()
st.caption(tx("period", start=fmt_date(period.start, lang), end=fmt_date(period.end, lang)))
ignored = "category" in inapplicable("complaints", f)
if notes := [tx(k) for k, on in (("period_moved", moved), ("category_ignored", ignored)) if on]:
    st.info(" ".join(notes))
head, names, cov = c.headline(con, period, f), ui.labels("complaints.col"), c.coverage(con)
for box, k in zip(st.columns(4), c.HEADLINE, strict=True):
    if k.endswith(("rate", "share")):
        box.metric(names[k], fmt_pct(head[k]))
    else:  # counts and hours: compact when large, exact in the tooltip
        ui.metric(box, names[k], head[k], decimals=1 if k.endswith("hours") else 0)
if not head["complaints"]:
    ui.empty_note(f)
    st.stop()
tabs = st.tabs([tx(f"tab_{k}") for k in ("trend", "sla", "satisfaction", "value", "pareto")])
with tabs[0]:
    left, mid, right = st.columns(3)
    grain = left.radio(tx("grain"), c.GRAINS, 2, names.get, key="c_grain", horizontal=True)
    by = mid.selectbox(tx("split"), c.SPLITS, format_func=names.get, key="c_split")
    stacked, month = right.toggle(tx("stacked"), True, key="c_stacked"), grain == "month"
    totals, spikes = c.trend(con, period, grain, f), c.spike_flags(con, period, f)
    by_group = c.trend_by(con, period, grain, by, f)
    title = tx("trend_title")
    fig = ui.figure(
        charts.complaint_trend, by_group, totals, spikes, title, names, lang, stacked, month
    )
    click = drill.complaint_click(ui.chart(fig, "complaints_trend", select="points"))
    if month and click:
        when, segment, group = click
        what = ui.t("drill.month", year=when.year, month=when.month)
        if segment:
            what += ui.t("drill.segment", split=names[by], value=group or names["blank"])
        split = by if segment else None
        rows = ui.cached(drill.complaint_month_customers, con, when, f, split, group)
        key = drill.complaint_list_key(when, split, group)
        ui.drill_list(rows, key, what, lambda d: drill_text.labelled(d, lang), source="complaints")
    elif month:
        st.caption(ui.t("drill.click_month"))
    ui.chart(
        ui.figure(charts.complaint_rates, totals, tx("rates_title"), names, lang, month), "rates"
    )
    st.caption(tx("rates_note"))
    st.subheader(tx("spikes"))
    rule = {"windows": c.SPIKE_WINDOWS, "z": c.SPIKE_Z, "n": c.SPIKE_MIN_COUNT}
    st.caption(tx("spike_rule", **rule), help=tx("spike_rule_help", **rule))
    crossed = spikes.assign(triggers_text=c.spike_triggers(spikes, names["total"]))
    cols = ["start_date", "end_date", "complaints", "baseline", "trigger_z", "triggers_text"]
    show(crossed[[*cols, "drivers_text"]])
    fig = ui.figure(
        charts.complaint_yoy, c.year_over_year(con, period, f), tx("yoy_title"), names, lang
    )
    ui.chart(fig, "complaints_yoy")

with tabs[1]:
    if missing := c.missing_for_sla(cov):
        st.info(tx("sla_needs", cols=", ".join(missing)))
    else:
        ui.data_warnings(c.sla_warnings(con, period, f))  # no acceptance times, negative times
        with st.expander(tx("sla_settings")):
            grid, sla = st.columns(3), {}
            for (stage, i), (sev, hours) in c.DEFAULT_SLA.cells().items():
                label = tx(f"sla_{stage}", severity=sev)
                sla[stage, i] = grid[i].number_input(label, 0.25, value=hours, key=f"sla{stage}{i}")
        stages = c.stage_funnel(con, period, f)
        steps = [names[s] for s in stages["stage"]]
        fig = ui.figure(charts.stage_funnel, steps, stages["reached"].tolist(), tx("funnel"))
        ui.chart(fig, "stages")
        show(stages.assign(stage=steps).drop(columns="stage_no"))
        st.caption(tx("stage_rule"))
        for by in ("category", "owner"):
            show(c.sla_breaches(con, period, by, f, c.Sla.from_cells(sla)))
        fig = ui.figure(
            charts.complaint_backlog, c.backlog(con, f), tx("backlog"), tx("age"), names
        )
        ui.chart(fig, "complaint_backlog")

with tabs[2]:
    scores = c.satisfaction_scores(con, period, f)
    if not cov["satisfaction"]:
        st.info(tx("no_scores"))
    ui.chart(
        ui.figure(charts.complaint_bars, scores["score"], scores["complaints"], tx("scores")),
        "scores",
    )
    show(c.satisfaction_by(con, period, "category", f))
    res = c.satisfaction_by_resolution(con, period, f)
    rated = res[res["rated"] > 0]  # a bucket nobody rated has no share: named, not drawn
    x = rated["label"].replace(names)
    ui.chart(
        ui.figure(charts.complaint_bars, x, rated["satisfied_share"], tx("csat_title"), True),
        "csat",
    )
    if len(unrated := res[res["rated"] == 0]):
        st.caption(tx("csat_unrated", buckets=ui.md("、".join(unrated["label"].replace(names)))))
    show(c.compensation_by_category(con, period, f))

with tabs[3]:
    if not cov["customer_id"]:
        st.info(tx("no_customers"))
    ret = c.retention(con, period, f)
    x = ("group_" + ret["customer_group"]).map(names)
    ui.chart(
        ui.figure(charts.complaint_bars, x, ret["retention"], tx("retention_title"), True),
        "retention",
    )
    st.caption(tx("retention_rule", days=c.RETENTION_DAYS))
    st.subheader(tx("repeaters", n=c.REPEAT_MIN_COMPLAINTS, days=c.REPEAT_DAYS))
    show(c.repeat_complainants(con, period, f))

with tabs[4]:
    par = c.pareto(con, period, f)
    ui.chart(
        ui.figure(charts.complaint_pareto, par, tx("pareto_title"), names, c.PARETO_SHARE),
        "complaints_pareto",
    )
    vital = ", ".join(par.loc[par["vital_few"], "category"])
    st.caption(tx("vital_few", share=fmt_pct(c.PARETO_SHARE, 0), cats=ui.md(vital)))
