"""The meeting's slides, gathered from the metrics: each feature's figures for the data, filters
and language, handed to present.slides to be drawn and worded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from crm_core.engine import db
from crm_core.metrics import clv_reports, lifecycle_cohorts, overview, pipeline, value, weekly
from crm_core.metrics import complaints as c
from crm_core.metrics.clv_models import FitError
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.present import i18n, slides
from crm_core.present.slides import Slide

Provider = Callable[[db.Connection, Filters, str], list[Slide]]


def _period(con: db.Connection, f: Filters) -> overview.Period | None:
    """The filter's period, or the default 12 months (as ui.period_of does for the pages)."""
    return overview.Period(f.start, f.end) if f.start and f.end else overview.default_period(con)


def overview_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Revenue per month with the change against the previous period."""
    period = overview.Period(f.start, f.end) if f.start and f.end else overview.default_period(con)
    if period is None:
        return []
    trend = overview.monthly_trend(con, period, f)
    if trend.empty:
        return []
    return slides.overview_slides(period, trend, overview.kpi_deltas(con, period, f), lang)


def weekly_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """This week against last week."""
    end = weekly.report_week_end(con, f)
    if end is None:
        return []
    return slides.weekly_slides(weekly.weekly_comparison(con, end, f), lang)


def pyramid_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The value pyramid by revenue: what the top tiers bring."""
    period = _period(con, f)
    if period is None:
        return []
    return slides.pyramid_slides(value.value_pyramid(con, period, f, "revenue", lang=lang), lang)


def pareto_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Revenue concentration: the share of revenue the top 20 % of customers bring."""
    period = _period(con, f)
    if period is None:
        return []
    return slides.pareto_slides(value.pareto(con, period, f), lang)


def rfm_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """RFM segments: which segment brings the most revenue."""
    period = _period(con, f)
    if period is None:
        return []
    return slides.rfm_slides(value.rfm_segments(con, period, f, lang), lang)


def lifecycle_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The lifecycle funnel (phases reached) and new vs lost customers per month."""
    period = _period(con, f)
    if period is None:
        return []
    rep = lifecycle_cohorts.lifecycle_summary(con, period.start, period.end, f)
    return slides.lifecycle_slides(rep, lang)


def pipeline_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """The lead funnel with the close rate."""
    period = _period(con, f)
    start, end = (period.start, period.end) if period else (None, None)
    return slides.pipeline_slides(pipeline.funnel_report(con, start, end, f), f, lang)


def complaint_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """Complaints per month by category with the latest spike, and the handling-stage funnel."""
    period, _moved = c.effective_period(con, _period(con, f))
    if period is None:
        return []
    head = c.headline(con, period, f)
    if not head["complaints"]:
        return []
    totals, spikes = c.trend(con, period, "month", f), c.spike_flags(con, period, f)
    by_group = c.trend_by(con, period, "month", "category", f)
    # The handling-stage funnel needs the handling times an SLA is measured on.
    stages = None if c.missing_for_sla(c.coverage(con)) else c.stage_funnel(con, period, f)
    return slides.complaint_slides(period, head, by_group, totals, spikes, stages, f, lang)


def clv_slides(con: db.Connection, f: Filters, lang: str) -> list[Slide]:
    """P(alive) distribution: how many customers are more likely gone than active."""
    try:
        report = clv_reports.churn_clv_report(con, f)
    except FitError:  # ClvRefused included: the data cannot support a fit
        return []
    return slides.clv_slides(report, lang)


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
    return slides.with_definitions(out, f, lang)


def data_date(con: db.Connection, f: Filters = NO_FILTERS) -> dt.date | None:
    """The day the presented data runs to: the filter's end, else the last order date."""
    if f.end is not None:
        return f.end
    rng = overview.data_range(con)
    return rng[1] if rng else None
