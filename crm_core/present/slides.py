"""Presentation slides: one chart per slide with a title and a one-line takeaway, built from the
figures app.meeting gathered (this module runs no query)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from crm_core.metrics import pipeline, value, weekly
from crm_core.metrics.clv_reports import ChurnClvReport
from crm_core.metrics.filters import Filters
from crm_core.metrics.lifecycle_cohorts import LifecycleReport, LifecycleSummary
from crm_core.metrics.overview import Period
from crm_core.present import charts, clv_charts, i18n
from crm_core.present.filter_text import active_line, not_applied_note

# Excel number formats for a native chart's value axis and labels (deck.build_deck).
COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0%"


@dataclass(frozen=True)
class NativeChart:
    """A slide's chart as data PowerPoint draws and edits itself (deck.build_deck).

    kind: "column", "bar" (horizontal, first category on top: funnels), "stacked" (stacked
    columns, negative values below the axis), "line", "xy" (lines through (x, y) `points`) or
    "table" (`categories` are the headers, `rows` the cells). `series` holds (name, values) in
    category order; `number_format` is the Excel format of the value axis and data labels.
    `money`: the values are money; `scalable`: large values may be shown in 万 / 亿 or M
    (deck_chart; not for an index); `axis_title`: the value axis' title (the unit), if any."""

    kind: str
    categories: tuple[str, ...] = ()
    series: tuple[tuple[str, tuple[float, ...]], ...] = ()
    number_format: str = COUNT_FORMAT
    points: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    # Positions of the first series' points drawn in the warning colour (as the page's chart).
    highlighted: tuple[int, ...] = ()
    money: bool = False
    scalable: bool = True
    axis_title: str = ""


# A Chinese reader counts large numbers in 亿 (10^8) and 万 (10^4): a deck chart whose largest
# value reaches one of them shows its values in that unit, named in the axis title.
ZH_UNITS = ((100_000_000, "亿"), (10_000, "万"))
# An English reader's millions: Excel's trailing commas divide by 1,000 each (data unchanged).
EN_MILLIONS_FORMAT = '#,##0.0,,"M"'


def _unit_format(peak: float) -> str:
    """Thousands separators and enough decimals to tell the bars apart: 1,268 / 12.7 / 1.57."""
    return "#,##0" if peak >= 100 else "#,##0.0" if peak >= 10 else "#,##0.00"


def deck_chart(chart: NativeChart, lang: str) -> NativeChart:
    """The chart as the deck draws it, in the reader's units. Chinese: when the largest value
    (absolute) reaches 1万 (or 1亿), every value is divided by 10^4 (10^8), the series names and
    the axis title say the unit ("单位：万元", "单位：万"), and the format keeps enough decimals
    (_unit_format); money below 1万 is titled "单位：元" (with the ¥ currency, config.currency). English: values stay as they are, with
    thousands separators, in millions ("12.3M", EN_MILLIONS_FORMAT) from 1,000,000 on, and a
    money axis names the currency when one is set. Percentages, indices, XY curves and tables
    are returned unchanged."""
    if (
        not chart.scalable
        or chart.kind not in ("column", "bar", "stacked", "line")
        or chart.number_format != COUNT_FORMAT
    ):
        return chart
    peak = max((abs(v) for _, values in chart.series for v in values), default=0.0)
    symbol = i18n.currency(lang)
    if lang != "zh":
        fmt = EN_MILLIONS_FORMAT if peak >= 1_000_000 else COUNT_FORMAT
        title = i18n.t("present.axis_unit", lang, unit=symbol) if chart.money and symbol else ""
        return replace(chart, number_format=fmt, axis_title=title)
    # 元 for the yuan; another configured currency is named by its symbol ("万 US$"); none set
    # (CRM_LENS_CURRENCY="") names none.
    money = "元" if symbol in ("¥", "￥") else f" {symbol}" if symbol else ""
    for size, unit in ZH_UNITS:
        if peak >= size:
            label = unit + money if chart.money else unit
            series = tuple(
                (i18n.t("present.series_unit", lang, name=name, unit=label),
                 tuple(v / size for v in values))
                for name, values in chart.series
            )  # fmt: skip
            return replace(
                chart,
                series=series,
                number_format=_unit_format(peak / size),
                axis_title=i18n.t("present.axis_unit", lang, unit=label),
            )
    if chart.money and money:
        return replace(chart, axis_title=i18n.t("present.axis_unit", lang, unit=money.strip()))
    return chart


@dataclass
class Slide:
    """One chart with its title, the sentence a presenter would say about it, the chart as
    native data for the deck (None: only a picture can show it), the definition of the figure
    (message `present.definition.<key>`) and the line naming the active filters."""

    key: str
    title: str
    takeaway: str
    figure: go.Figure
    chart: NativeChart | None = None
    definition: str = ""
    filters_line: str = ""


def _series(name: str, values: Iterable[Any]) -> tuple[str, tuple[float, ...]]:
    return (name, tuple(float(v) for v in values))


def month_label(month: Any, lang: str) -> str:
    """A month as a category label: 2024年1月 (zh) or Jan 2024 (en)."""
    m = pd.Timestamp(month)
    return f"{m.year}年{m.month}月" if lang == "zh" else f"{m:%b %Y}"


def _months(values: Iterable[Any], lang: str) -> tuple[str, ...]:
    return tuple(month_label(m, lang) for m in values)


def overview_slides(
    period: Period, trend: pd.DataFrame, kpis: pd.DataFrame, lang: str
) -> list[Slide]:
    """Revenue per month with the change against the previous period: `trend` is
    overview.monthly_trend of the period (not empty), `kpis` overview.kpi_deltas."""
    kpi = kpis.set_index("kpi")
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
    fig = charts.monthly_bars(trend, "revenue", title, lang, money=True)
    new_title = i18n.t("overview.new_per_month", lang)
    total_new = int(trend["new_customers"].sum())
    new = charts.monthly_bars(trend, "new_customers", new_title, lang)
    months = _months(trend["month"], lang)
    return [
        Slide(
            "overview.revenue",
            title,
            takeaway,
            fig,
            NativeChart("column", months, (_series(title, trend["revenue"]),), money=True),
        ),
        Slide(
            "overview.new_customers",
            new_title,
            i18n.t("present.new_takeaway", lang, n=i18n.fmt_number(total_new, lang)),
            new,
            NativeChart("column", months, (_series(new_title, trend["new_customers"]),)),
        ),
    ]


def weekly_slides(comparison: pd.DataFrame, lang: str) -> list[Slide]:
    """This week against last week: `comparison` is weekly.weekly_comparison."""
    table = comparison.set_index("measure")
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
    # The chart's own scale: this week as an index of last week (= 100), one axis for all.
    d = table[table["last_week"].fillna(0) != 0]
    index = 100 * d["this_week"].astype(float) / d["last_week"].astype(float)
    native = NativeChart(
        "column",
        tuple(labels[m] for m in d.index),
        (
            _series(i18n.t("weekly.last_week", lang), [100] * len(d)),
            _series(i18n.t("weekly.this_week", lang), index),
        ),
        scalable=False,  # an index (last week = 100), not a count
    )
    return [Slide("weekly.compare", i18n.t("weekly.title", lang), takeaway, fig, native)]


def _labels(prefix: str, lang: str) -> dict[str, str]:
    """Every message under `prefix.` in `lang`, keyed by the rest of its key (as ui.labels)."""
    n = len(prefix) + 1
    return {k[n:]: i18n.t(k, lang) for k in i18n.catalogue() if k.startswith(prefix + ".")}


def pyramid_slides(pyr: pd.DataFrame, lang: str) -> list[Slide]:
    """The value pyramid by revenue: what the top tiers bring (`pyr`: value.value_pyramid)."""
    n_active = value.active_customers(pyr)
    if n_active == 0:
        return []
    title = i18n.t("pyramid.chart_pyramid", lang)
    fig = charts.pyramid_chart(pyr, title, i18n.t("pyramid.share_revenue", lang), lang)
    top = pyr[pyr["tier"].isin(value.TIER_KEYS[:2])]  # diamond + gold: the top 5 %
    takeaway = i18n.t(
        "present.pyramid_takeaway",
        lang,
        tiers=" + ".join(top["label"]),
        n=i18n.fmt_number(int(top["customers"].sum()), lang),
        active=i18n.fmt_number(n_active, lang),
        share=i18n.fmt_pct(float(top["revenue_share"].sum())),
    )
    tiers = pyr[pyr["tier"].isin(value.TIER_KEYS[:4])]  # the four buying tiers, top first
    native = NativeChart(
        "bar",
        tuple(tiers["label"]),
        (_series(i18n.t("pyramid.share_revenue", lang), tiers["revenue_share"]),),
        PERCENT_FORMAT,
    )
    return [Slide("pyramid.tiers", title, takeaway, fig, native)]


def pareto_slides(par: value.Pareto, lang: str) -> list[Slide]:
    """Revenue concentration: the share of revenue the top 20 % of customers bring."""
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
    curve = tuple(
        (float(x), float(y))
        for x, y in zip(par.curve["customer_share"], par.curve["revenue_share"], strict=True)
    )
    native = NativeChart(
        "xy",
        (texts[1], texts[2]),
        number_format=PERCENT_FORMAT,
        points=((texts[2], ((0.0, 0.0), *curve)), (texts[1], ((0.0, 0.0), (1.0, 1.0)))),
    )
    return [Slide("pyramid.pareto", title, takeaway, fig, native)]


def rfm_slides(segs: pd.DataFrame, lang: str) -> list[Slide]:
    """RFM segments: which segment brings the most revenue (`segs`: value.rfm_segments)."""
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
    cols = list(heat)
    rows = tuple(
        (str(r["label"]), *(_cell(c, r[c], lang) for c in cols)) for _, r in segs.iterrows()
    )
    native = NativeChart("table", (i18n.t("pyramid.col.segment", lang), *heat.values()), rows=rows)
    return [Slide("pyramid.rfm", title, takeaway, fig, native)]


def _cell(column: str, v: Any, lang: str) -> str:
    """A table cell as the heatmap writes it: shares as percentages, other values as numbers."""
    if column.endswith("share"):
        return i18n.fmt_pct(v, 0)
    return i18n.fmt_number(v, lang, 1 if abs(float(v)) < 100 else 0)


def lifecycle_slides(rep: LifecycleSummary | LifecycleReport, lang: str) -> list[Slide]:
    """The lifecycle funnel (phases reached) and new vs lost customers per month."""
    if rep.known == 0:
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
        native = NativeChart("bar", tuple(steps), (_series(title, counts),))
        out.append(Slide("lifecycle.funnel", title, takeaway, fig, native))
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
        # Lost customers below the axis, as on the page; the net change is in the takeaway.
        native = NativeChart(
            "stacked",
            _months(nl["month"], lang),
            (
                _series(names["new_customers"], nl["new_customers"]),
                _series(names["lost_customers"], -nl["lost_customers"]),
            ),
        )
        out.append(Slide("lifecycle.new_lost", title, takeaway, fig, native))
    return out


def pipeline_slides(rep: pipeline.FunnelReport | None, f: Filters, lang: str) -> list[Slide]:
    """The lead funnel with the close rate (`f` names the filters leads do not have)."""
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
    native = NativeChart("bar", tuple(steps), (_series(title, rep.funnel["reached"]),))
    return [Slide("pipeline.funnel", title, takeaway, fig, native)]


def complaint_slides(
    period: Period,
    head: dict[str, Any],
    by_group: pd.DataFrame,
    totals: pd.DataFrame,
    spikes: pd.DataFrame,
    stages: pd.DataFrame | None,
    f: Filters,
    lang: str,
) -> list[Slide]:
    """Complaints per month by category with the latest spike, and the handling-stage funnel.

    From the complaints metrics of the period: `head` (headline, some complaints), `by_group`
    (trend_by category), `totals` (trend), `spikes` (spike_flags) and `stages` (stage_funnel;
    None when the data lacks the handling times an SLA needs)."""
    names = _labels("complaints.col", lang)
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
    out = [
        Slide("complaints.trend", title, takeaway, fig, _complaint_columns(by_group, names, lang))
    ]
    if stages is not None and len(stages) and int(stages["reached"].iloc[0]) > 0:
        steps = [names[s] for s in stages["stage"]]
        title = i18n.t("complaints.funnel", lang)
        fig = charts.stage_funnel(steps, stages["reached"].tolist(), title)
        takeaway = i18n.t(
            "present.sla_takeaway",
            lang,
            breach=i18n.fmt_pct(head["sla_breach_rate"]),
            hours=i18n.fmt_number(head["median_resolution_hours"], lang, 1),
            closed=i18n.fmt_pct(int(stages["reached"].iloc[-1]) / int(stages["reached"].iloc[0])),
        )
        native = NativeChart("bar", tuple(steps), (_series(title, stages["reached"]),))
        out.append(Slide("complaints.stages", title, takeaway, fig, native))
    return out


def clv_slides(report: ChurnClvReport, lang: str) -> list[Slide]:
    """P(alive) distribution: how many customers are more likely gone than active."""
    s = report.summary
    if not s["customers"] or s["status"] != "ok":  # not identified: no P(alive) to present
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
    bins = report.p_alive
    bands = tuple(
        f"{a * 100:.0f}–{b * 100:.0f}%"
        for a, b in zip(bins["bin_start"], bins["bin_end"], strict=True)
    )
    below = tuple(i for i, b in enumerate(bins["bin_end"]) if float(b) <= 0.5)  # orange bands
    native = NativeChart(
        "column", bands, (_series(labels["y"], bins["customers"]),), highlighted=below
    )
    return [Slide("clv.p_alive", title, takeaway, fig, native)]


def _complaint_columns(by_group: pd.DataFrame, names: dict[str, str], lang: str) -> NativeChart:
    """Complaints per month stacked by category, largest category first (as the page's chart)."""
    groups = by_group["grp"].fillna(names["blank"]).astype(str)
    table = by_group.assign(grp=groups).pivot_table(
        index="bucket", columns="grp", values="complaints", aggfunc="sum", fill_value=0
    )
    order = table.sum().sort_values(ascending=False, kind="stable").index
    return NativeChart(
        "stacked",
        _months(table.index, lang),
        tuple(_series(str(g), table[g]) for g in order),
    )


def with_definitions(found: list[Slide], f: Filters, lang: str) -> list[Slide]:
    """The slides with each figure's definition and the line naming the active filters."""
    line = active_line(f, lang)
    return [
        replace(s, definition=i18n.t(f"present.definition.{s.key}", lang), filters_line=line)
        for s in found
    ]


def presentation_style(fig: go.Figure) -> go.Figure:
    """Large type for a projector; the slide shows the title, so the chart does not repeat it."""
    fig = go.Figure(fig)
    fig.update_layout(title=None, font_size=20, margin={"l": 60, "r": 30, "t": 30, "b": 60})
    return fig
