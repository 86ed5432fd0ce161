"""Presentation slides: one chart per slide with a title and a one-line takeaway from the data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from crm_core import charts, db, i18n, overview
from crm_core.filters import NO_FILTERS, Filters


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


# Features append their providers here, in the order a meeting walks through them.
PROVIDERS: list[Provider] = [overview_slides, weekly_slides]


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
