"""Figures on a page: metric tiles, KPI row, charts and their clicks, drill-downs, explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.app.ui.downloads import table_downloads
from crm_core.app.ui.language import lang, md, num, t
from crm_core.app.ui.sidebar import open_customer
from crm_core.app.ui.signin import audited_export
from crm_core.app.ui.tables import table
from crm_core.engine.config import currency as currency_symbol
from crm_core.metrics import overview
from crm_core.present import i18n


def metric(
    box: Any,
    label: str,
    value: Any,
    delta: Any = None,
    decimals: int = 0,
    help: str | None = None,
    delta_color: str = "normal",
    money: bool = False,
) -> None:
    """st.metric of a number in compact form (13.7K, 481M; 1.37万, 4.81亿) so that it fits a
    narrow tile instead of ending in "…"; a numeric delta likewise (a text delta is shown as it
    is). When that shortened the value or the delta, the tile's tooltip gives the exact numbers.
    `delta_color`: "inverse" for a figure whose rise is bad news (overview.delta_color).
    `money`: the value after the currency symbol (config.currency: ¥4.81亿 in Chinese)."""
    lg = lang()
    shown, exact = i18n.fmt_compact(value, lg, decimals), i18n.fmt_exact(value, decimals)
    if money and shown != i18n.MISSING:
        unit = currency_symbol(lg)
        shown, exact = unit + shown, unit + exact
    note = None
    if delta is None or isinstance(delta, str):
        delta_shown = delta
        if shown != exact:
            note = t("common.exact", value=exact)
    else:
        delta_shown = i18n.fmt_compact(delta, lg, decimals)
        delta_exact = i18n.fmt_exact(delta, decimals)
        if shown != exact or delta_shown != delta_exact:
            sign = "+" if float(delta) > 0 else ""
            note = t("common.exact_change", value=exact, change=sign + delta_exact)
    notes = [x for x in (help, note) if x]
    if delta is not None and not isinstance(delta, str) and float(delta) == 0:
        delta_color = "off"  # no change: neither good nor bad news
    box.metric(
        label, shown, delta=delta_shown, delta_color=delta_color, help="\n\n".join(notes) or None
    )


def kpi_row(deltas: pd.DataFrame, prefix: str, compare: bool = True) -> None:
    """One st.metric per KPI (label = message `prefix.<kpi>`) with its change vs the period
    before, red when a bad-news figure rises (overview.delta_color); no change for a figure that
    cannot change, nor for any when `compare` is False (the period before is nearly empty)."""
    cols = st.columns(len(deltas))
    for col, row in zip(cols, deltas.itertuples(), strict=True):
        key = f"{prefix}.{row.kpi}"
        helped = t(f"{key}_help") if i18n.has(f"{key}_help") else None  # what the figure counts
        colour = overview.delta_color(str(row.kpi))
        show = compare and row.previous and colour != "off"
        delta = row.change if show else None
        metric(
            col,
            t(key),
            row.value,
            delta,
            help=helped,
            delta_color=colour,
            money=i18n.is_money(row.kpi),
        )


def figure(build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The chart build(*args, **kwargs) (a crm_core.present.charts function) as `chart` shows
    it, built once per (build, inputs, session language) for every session of the process:
    a second session, or a rerun, with the same inputs gets it without building it again."""
    from crm_core.present import charts

    return charts.ShownFigure(charts.cached_spec(build, args, kwargs, lang()))


def chart(fig: Any, name: str, container: Any = None, select: str | None = None) -> Any:
    """A plotly chart (a go.Figure, or a `figure(...)`; toolbar hints in the session's
    language) with PNG and SVG downloads, rendered only when clicked. With `select` (a plotly
    selection mode, "points"), a click reruns the page and the selection event is returned
    (crm_core.metrics.drill.selected reads it); None otherwise."""
    from crm_core.present import charts, images

    box = container or st
    if not isinstance(fig, charts.ShownFigure):
        # Formatted hovers, then category names escaped: no <a href> links in charts or SVGs.
        fig = charts.ShownFigure(charts.page_spec(fig, lang()))
    config = charts.plotly_config(lang())
    if select:
        event = box.plotly_chart(
            fig, key=f"chart_{name}", config=config, on_select="rerun", selection_mode=select
        )
    else:
        event = None
        box.plotly_chart(fig, key=f"chart_{name}", config=config)

    def render(fmt: str) -> Callable[[], bytes]:
        return lambda: images.figure_image(fig.figure(), fmt)

    with box.popover("⬇", help=t("present.exports")):
        for fmt in ("png", "svg"):
            st.download_button(
                t(f"present.{fmt}"),
                data=audited_export(f"chart {name}.{fmt}", render(fmt)),
                file_name=f"{name}.{fmt}",
                mime="image/png" if fmt == "png" else "image/svg+xml",
                key=f"dl_{name}_{fmt}",
                on_click="ignore",
            )
    return event


def plot(
    build: Callable[..., Any],
    *args: Any,
    name: str,
    container: Any = None,
    select: str | None = None,
    **kwargs: Any,
) -> Any:
    """`chart(figure(build, *args, **kwargs), name, container, select)`: the chart that
    build(*args, **kwargs) draws (a crm_core.present.charts function), shared across sessions
    as `figure` keeps it, shown as `chart` shows it (key `chart_<name>`, PNG / SVG downloads);
    returns the selection event with `select`, None otherwise. `name`, `container` and
    `select` are keyword-only: everything else goes to `build`."""
    return chart(figure(build, *args, **kwargs), name, container, select)


def drill_list(
    df: pd.DataFrame,
    name: str,
    what: str,
    label: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    count: str = "drill.rows",
    source: str | None = None,
) -> None:
    """The customers (or leads: `count` names the caption's message) behind a clicked chart element (a crm_core.metrics.drill result): a caption naming
    the element (`what`, escaped: it may be a data value) and the row count, the rows as a
    table where choosing a row opens that customer's 360 page, and audited CSV / XLSX
    downloads of the same rows (scoped: the rows come from the session's filters), named with
    the filters that apply to the `source` table (None: all)."""
    from crm_core.metrics import drill

    st.caption(t(count, what=md(what), n=num(len(df))))
    shown = table(
        df, label, key=f"drill_rows_{name}", on_select="rerun", selection_mode="single-row"
    )
    st.caption(t("drill.open_hint"))
    table_downloads(shown, f"drill-{name}", source)
    state = st.session_state.get(f"drill_rows_{name}")
    row = drill.selected_row(state)
    if row is not None and row < len(df):
        cid = df["customer_id"].iloc[row]
        if isinstance(cid, str) and cid:
            open_customer(cid)
        else:
            st.caption(t("drill.no_customer"))


def explanation(e: Any, name: str) -> None:
    """The "why did it change" section of an explain.Explanation: the takeaway, a waterfall of
    its factors (or why there are none) and one of its top contributors' dimension, and the
    table of contributors. Values (region names, ...) are data: escaped / kept out of Markdown."""
    from crm_core.present import charts, explain_text

    lg = lang()
    bad = e.metric in overview.BAD_WHEN_UP  # a rise in complaints is drawn red
    metric = t(f"explain.metrics.{e.metric}")
    st.subheader(t("explain.title", metric=metric))
    st.markdown("**" + md(explain_text.takeaway(e, lg)) + "**")
    prev = e.previous_period
    st.caption(
        t("explain.caption", start=i18n.fmt_date(prev.start, lg), end=i18n.fmt_date(prev.end, lg))
    )
    ends = ((t("explain.previous"), e.previous), (t("explain.current"), e.current))
    left, right = st.columns(2)
    if e.not_applicable:
        factor = t(f"explain.components.{e.not_applicable}")
        left.info(t("explain.not_applicable", factor=factor))
    else:
        steps = [(t(f"explain.components.{k}"), v) for k, v in e.components.items()]
        if e.residual:
            steps.append((t("explain.residual"), e.residual))
        drawn = (ends[0], steps, ends[1], t("explain.factors_chart"), lg, bad)
        plot(charts.waterfall, *drawn, name=f"{name}_factors", container=left)
    top = e.top_contributor()
    dim = top[0].dimension if top else "region"
    steps = [(explain_text.contributor_label(c, lg), c.change) for c in e.by_dimension(dim)]
    title = t("explain.dimension_chart", dimension=t(f"explain.dimensions.{dim}"))
    drawn = (ends[0], steps, ends[1], title, lg, bad)
    plot(charts.waterfall, *drawn, name=f"{name}_{dim}", container=right)
    rows = pd.DataFrame(
        {
            "dimension": [t(f"explain.dimensions.{c.dimension}") for c in e.contributors],
            "value": [explain_text.contributor_label(c, lg) for c in e.contributors],
            "change": [float(c.change) for c in e.contributors],
        }
    )
    table(rows, lambda d: d.rename(columns=lambda c: t(f"explain.{c}")))
