"""Presentation slides: one chart per slide with a title and a one-line takeaway from the data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from crm_core import charts, db, i18n, overview
from crm_core.filters import NO_FILTERS, Filters, not_applied_note


@dataclass
class Slide:
    """One chart with its title and the sentence a presenter would say about it."""

    key: str
    title: str
    takeaway: str
    figure: go.Figure


Provider = Callable[[db.Connection, Filters, str], list[Slide]]


def overview_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Revenue per month with the change against the previous period."""
    period = overview.Period(f.start, f.end) if f.start and f.end else overview.default_period(con)
    if period is None:
        return []
    trend = overview.monthly_trend(con, period, f)
    if trend.empty:
        return []
    kpi = overview.kpi_deltas(con, period, f).set_index("kpi")
    now = float(kpi.loc["revenue", "value"])  # type: ignore[arg-type]
    before = float(kpi.loc["revenue", "previous"])  # type: ignore[arg-type]
    change = i18n.fmt_change((now - before) / before) if before else "–"
    title = i18n.t("overview.revenue_per_month", lang)
    takeaway = i18n.t(
        "present.revenue_takeaway",
        lang,
        revenue=i18n.fmt_number(now, lang),
        change=change,
        start=i18n.fmt_date(period.start, lang),
        end=i18n.fmt_date(period.end, lang),
    )
    fig = charts.monthly_bars(trend, "revenue", title, lang)
    new_title = i18n.t("overview.new_per_month", lang)
    total_new = int(trend["new_customers"].sum())
    new = charts.monthly_bars(trend, "new_customers", new_title, lang)
    return [
        Slide("overview.revenue", title, takeaway, fig),
        Slide(
            "overview.new_customers",
            new_title,
            i18n.t("present.new_takeaway", lang, n=i18n.fmt_number(total_new, lang)),
            new,
        ),
    ]


def weekly_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """This week against last week."""
    from crm_core import weekly

    end = weekly.report_week_end(con, f)
    if end is None:
        return []
    table = weekly.weekly_comparison(con, end, f).set_index("measure")
    labels = {m: i18n.t(f"weekly.measures.{m}", lang) for m in weekly.MEASURES}
    title = i18n.t("weekly.chart_title", lang)
    fig = charts.week_index_bars(
        table.reset_index(),
        labels,
        title,
        i18n.t("weekly.this_week", lang),
        i18n.t("weekly.last_week", lang),
    )
    takeaway = i18n.t(
        "weekly.takeaway",
        lang,
        revenue=i18n.fmt_number(table.loc["revenue", "this_week"], lang),
        change=i18n.fmt_change(table.loc["revenue", "change_pct"]),
        orders=i18n.fmt_number(table.loc["orders", "this_week"], lang),
        complaints=i18n.fmt_number(table.loc["complaints", "this_week"], lang),
    )
    return [Slide("weekly.compare", i18n.t("weekly.title", lang), takeaway, fig)]


def _period(con: db.Connection, f: Filters) -> overview.Period | None:
    """The filter's period, or the default 12 months (as ui.period_of does for the pages)."""
    return overview.Period(f.start, f.end) if f.start and f.end else overview.default_period(con)


def _labels(prefix: str, lang: str) -> dict[str, str]:
    """Every message under `prefix.` in `lang`, keyed by the rest of its key (as ui.labels)."""
    n = len(prefix) + 1
    return {k[n:]: i18n.t(k, lang) for k in i18n.catalogue() if k.startswith(prefix + ".")}


def pyramid_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The value pyramid by revenue: what the top tiers bring."""
    from crm_core import value

    period = _period(con, f)
    if period is None:
        return []
    pyr = value.value_pyramid(con, period, f, "revenue", lang=lang)
    n_active = value.active_customers(pyr)
    if n_active == 0:
        return []
    title = i18n.t("pyramid.chart_pyramid", lang)
    fig = charts.pyramid_chart(pyr, title, i18n.t("pyramid.share_revenue", lang))
    top = pyr[pyr["tier"].isin(value.TIER_KEYS[:2])]  # diamond + gold: the top 5 %
    takeaway = i18n.t(
        "present.pyramid_takeaway",
        lang,
        tiers=" + ".join(top["label"]),
        n=i18n.fmt_number(int(top["customers"].sum()), lang),
        active=i18n.fmt_number(n_active, lang),
        share=i18n.fmt_pct(float(top["revenue_share"].sum())),
    )
    return [Slide("pyramid.tiers", title, takeaway, fig)]


def pareto_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Revenue concentration: the share of revenue the top 20 % of customers bring."""
    from crm_core import value

    period = _period(con, f)
    if period is None:
        return []
    par = value.pareto(con, period, f)
    if par.top_revenue_share is None or par.curve.empty:
        return []
    title = i18n.t("pyramid.pareto_chart", lang)
    top = i18n.fmt_pct(par.top_revenue_share, 0)
    texts = [title, i18n.t("pyramid.pareto_x", lang), i18n.t("pyramid.pareto_y", lang)]
    fig = charts.concentration_curve(par.curve, par.top_share, *texts)
    point = i18n.t("pyramid.pareto_point", lang, share=i18n.fmt_pct(par.top_revenue_share))
    fig = charts.mark_point(fig, par.top_share, par.top_revenue_share, point)
    takeaway = i18n.t(
        "present.pareto_takeaway", lang, top=i18n.fmt_pct(par.top_share, 0), share=top
    )
    return [Slide("pyramid.pareto", title, takeaway, fig)]


def rfm_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """RFM segments: which segment brings the most revenue."""
    from crm_core import value

    period = _period(con, f)
    if period is None:
        return []
    segs = value.rfm_segments(con, period, f, lang)
    if int(segs["customers"].sum()) == 0:
        return []
    title = i18n.t("pyramid.rfm_chart", lang)
    heat = {c: i18n.t(f"pyramid.col.{c}", lang) for c in value.HEATMAP_METRICS}
    fig = charts.segment_heatmap(segs, heat, title, lang)
    best = segs.sort_values("revenue", ascending=False, kind="stable").iloc[0]
    takeaway = i18n.t(
        "present.rfm_takeaway",
        lang,
        segment=best["label"],
        n=i18n.fmt_number(int(best["customers"]), lang),
        share=i18n.fmt_pct(float(best["revenue_share"])),
        action=best["action"],
    )
    return [Slide("pyramid.rfm", title, takeaway, fig)]


def lifecycle_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The lifecycle funnel (phases reached) and new vs lost customers per month."""
    from crm_core import lifecycle

    period = _period(con, f)
    if period is None:
        return []
    rep = lifecycle.lifecycle_report(con, period.start, period.end, f, lang)
    if rep.customers.empty:
        return []
    out: list[Slide] = []
    df = rep.lifecycle_funnel
    counts = [int(x) for x in df["customers"]]
    if counts and counts[0] > 0:
        steps = [i18n.t(f"lifecycle.step.{s}", lang) for s in df["step"]]
        title = i18n.t("lifecycle.lifecycle_funnel", lang)
        fig = charts.stage_funnel(steps, counts, title)
        takeaway = i18n.t(
            "present.lifecycle_takeaway",
            lang,
            n=i18n.fmt_number(counts[-1], lang),
            known=i18n.fmt_number(counts[0], lang),
            share=i18n.fmt_pct(counts[-1] / counts[0]),
            stage=steps[-1],
        )
        out.append(Slide("lifecycle.funnel", title, takeaway, fig))
    nl = rep.new_lost
    if not nl.empty:
        cols = ("new_customers", "lost_customers", "net_change")
        names = {c: i18n.t(f"lifecycle.col.{c}", lang) for c in cols}
        title = i18n.t("lifecycle.new_lost_title", lang)
        fig = charts.new_lost_bars(nl, names, title, lang)
        new, lost = int(nl["new_customers"].sum()), int(nl["lost_customers"].sum())
        back, net = int(nl["reactivated_customers"].sum()), int(nl["net_change"].sum())
        takeaway = i18n.t(
            "present.new_lost_takeaway",
            lang,
            new=i18n.fmt_number(new, lang),
            lost=i18n.fmt_number(lost, lang),
            back=i18n.fmt_number(back, lang),
            net=f"{net:+,d}",
            start=i18n.fmt_date(rep.start, lang),
            end=i18n.fmt_date(rep.as_of, lang),
        )
        out.append(Slide("lifecycle.new_lost", title, takeaway, fig))
    return out


def pipeline_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The lead funnel with the close rate."""
    from crm_core import pipeline

    period = _period(con, f)
    start, end = (period.start, period.end) if period else (None, None)
    rep = pipeline.funnel_report(con, start, end, f)
    if rep is None or rep.funnel.empty:
        return []
    rates = rep.rates.iloc[0]
    steps = [pipeline.stage_label(s, lang) for s in rep.funnel["step"]]
    title = i18n.t("pipeline.funnel_title", lang)
    fig = charts.stage_funnel(steps, rep.funnel["reached"].tolist(), title)
    takeaway = i18n.t(
        "present.pipeline_takeaway",
        lang,
        rate=i18n.fmt_pct(rates["close_rate"]),
        won=i18n.fmt_number(rates["won"], lang),
        leads=i18n.fmt_number(rates["leads"], lang),
    )
    takeaway = " ".join(filter(None, (takeaway, not_applied_note("leads", f, lang))))
    return [Slide("pipeline.funnel", title, takeaway, fig)]


def complaint_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Complaints per month by category with the latest spike, and the handling-stage funnel."""
    from crm_core import complaints as c

    period, _moved = c.effective_period(con, _period(con, f))
    if period is None:
        return []
    head = c.headline(con, period, f)
    if not head["complaints"]:
        return []
    names = _labels("complaints.col", lang)
    totals, spikes = c.trend(con, period, "month", f), c.spike_flags(con, period, f)
    by_group = c.trend_by(con, period, "month", "category", f)
    title = i18n.t("complaints.trend_title", lang)
    fig = charts.complaint_trend(by_group, totals, spikes, title, names, lang, True, True)
    n = i18n.fmt_number(head["complaints"], lang)
    span = {"start": i18n.fmt_date(period.start, lang), "end": i18n.fmt_date(period.end, lang)}
    if spikes.empty:
        takeaway = i18n.t("present.complaints_takeaway", lang, n=n, **span)
    else:
        by_z = spikes.assign(z=spikes["z"].astype(float))
        top = by_z.sort_values("z", ascending=False, kind="stable").iloc[0]  # the largest spike
        drivers = top["drivers_text"] if isinstance(top["drivers_text"], str) else "–"
        takeaway = i18n.t(
            "present.complaints_spike_takeaway",
            lang,
            n=n,
            **span,
            spike_start=i18n.fmt_date(top["start_date"], lang),
            spike_end=i18n.fmt_date(top["end_date"], lang),
            count=i18n.fmt_number(top["complaints"], lang),
            baseline=i18n.fmt_number(top["baseline"], lang, 1),
            drivers=drivers,
        )
    takeaway = " ".join(filter(None, (takeaway, not_applied_note("complaints", f, lang))))
    out = [Slide("complaints.trend", title, takeaway, fig)]
    if not c.missing_for_sla(c.coverage(con)):
        stages = c.stage_funnel(con, period, f)
        if len(stages) and int(stages["reached"].iloc[0]) > 0:
            steps = [names[s] for s in stages["stage"]]
            title = i18n.t("complaints.funnel", lang)
            fig = charts.stage_funnel(steps, stages["reached"].tolist(), title)
            takeaway = i18n.t(
                "present.sla_takeaway",
                lang,
                breach=i18n.fmt_pct(head["sla_breach_rate"]),
                hours=i18n.fmt_number(head["median_resolution_hours"], lang, 1),
                closed=i18n.fmt_pct(
                    int(stages["reached"].iloc[-1]) / int(stages["reached"].iloc[0])
                ),
            )
            out.append(Slide("complaints.stages", title, takeaway, fig))
    return out


def clv_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """P(alive) distribution: how many customers are more likely gone than active."""
    from crm_core import clv, clv_charts
    from crm_core.clv_models import FitError

    try:
        report = clv.churn_clv_report(con, f)
    except FitError:  # ClvRefused included: the data cannot support a fit
        return []
    s = report.summary
    if not s["customers"]:
        return []
    title = i18n.t("clv.alive_title", lang)
    labels = {"x": i18n.t("clv.alive_x", lang), "y": i18n.t("clv.customers_axis", lang)}
    fig = clv_charts.p_alive_chart(report.p_alive, title, labels)
    takeaway = i18n.t(
        "present.clv_takeaway",
        lang,
        n=i18n.fmt_number(s["alive_below_0_5"], lang),
        customers=i18n.fmt_number(s["customers"], lang),
        share=i18n.fmt_pct(s["alive_below_0_5"] / s["customers"]),
        clv=i18n.fmt_number(s["clv_total"], lang),
    )
    return [Slide("clv.p_alive", title, takeaway, fig)]


# Features append their providers here, in the order a meeting walks through them.
PROVIDERS: list[Provider] = [
    overview_slides,
    pyramid_slides,
    pareto_slides,
    rfm_slides,
    lifecycle_slides,
    pipeline_slides,
    complaint_slides,
    clv_slides,
    weekly_slides,
]


def all_slides(
    con: db.Connection, f: Filters = NO_FILTERS, lang: str = i18n.DEFAULT_LANG
) -> list[Slide]:
    """Every feature's slides for this data, filters and language (empty features are skipped)."""
    out: list[Slide] = []
    for provider in PROVIDERS:
        out += provider(con, f, lang)
    return out


def presentation_style(fig: go.Figure) -> go.Figure:
    """Large type for a projector; the slide shows the title, so the chart does not repeat it."""
    fig = go.Figure(fig)
    fig.update_layout(title=None, font_size=20, margin={"l": 60, "r": 30, "t": 30, "b": 60})
    return fig
