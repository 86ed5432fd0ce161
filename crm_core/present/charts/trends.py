"""Figures over time: a measure per month, the forecast, this week against last, the waterfall
of what moved a figure."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from crm_core.present import i18n
from crm_core.present.charts.base import (
    PALETTE,
    empty_figure,
    hover_data,
    hover_template,
    money_title,
    month_axis,
    month_label,
    number_axis,
    partial_months,
    themed,
    value_label,
)
from crm_core.present.text import plotly_escape


def monthly_bars(
    df: pd.DataFrame,
    column: str,
    title: str,
    lang: str = "zh",
    *,
    money: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> go.Figure:
    """Bars of one monthly measure (df has `month` and `column`), ticks in 万 / 亿 (zh), one tick
    per month, hovers "month: value". `money` puts the currency in the axis title and the
    hover. With the period's `start` / `end`, a month the period covers only partly is hatched
    and says so in its hover."""
    if df.empty:
        return empty_figure(title, i18n.t("charts.empty_period", lang))
    currency = i18n.currency(lang) if money else ""
    part = partial_months(list(df["month"]), start, end)
    names = [
        month_label(m, lang) + (i18n.t("charts.partial_month", lang) if p else "")
        for m, p in zip(df["month"], part, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=df["month"],
            y=df[column],
            marker_color=PALETTE[0],
            marker_pattern_shape=["/" if p else "" for p in part],
            name=title,
            customdata=hover_data(names, df[column], lang, 0, currency),
            hovertemplate=hover_template(lang),
        )
    )
    month_axis(fig, df["month"], lang)
    number_axis(fig, df[column], lang, title=money_title(lang, currency) if money else None)
    if any(part):
        fig.add_annotation(
            text=i18n.t("charts.partial_note", lang), x=1, y=1.0, xref="paper", yref="paper",
            xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11},
        )  # fmt: skip
    return themed(fig, title)


def forecast_chart(
    result: dict, labels: dict[str, str], title: str, lang: str = "zh", money: bool = False
) -> go.Figure:
    """History line and forecast (forecast.forecast() result with status "ok") with shaded 95 %
    and 80 % bands; markers on every month so points can be hovered and clicked; the latest
    month circled in red when it fell outside the interval forecast for it (`alert`). labels:
    actual, forecast, band80, band95, alert. Ticks and hovers in 万 / 亿 (zh); `money` puts the
    currency in the axis title and hovers."""
    currency = i18n.currency(lang) if money else ""
    tmpl = hover_template(lang)
    hist = pd.DataFrame(result["history"])
    pts = pd.DataFrame(result["points"])
    # The bands start at the last actual month so that they join the history line.
    last = hist.iloc[-1] if len(hist) else None
    x = ([last["month"]] if last is not None else []) + list(pts["month"])

    def joined(col: str) -> list[float]:
        return ([float(last["value"])] if last is not None else []) + list(pts[col])

    traces = []
    for level, colour in ((95, "rgba(0,114,178,0.15)"), (80, "rgba(0,114,178,0.30)")):
        traces.append(
            go.Scatter(x=x, y=joined(f"upper{level}"), mode="lines", line={"width": 0},
                       hoverinfo="skip", showlegend=False)
        )  # fmt: skip
        traces.append(
            go.Scatter(
                x=x,
                y=joined(f"lower{level}"),
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=colour,
                name=labels[f"band{level}"],
                hoverinfo="skip",
            )
        )
    traces.append(
        go.Scatter(
            x=hist["month"],
            y=hist["value"],
            mode="lines+markers",
            name=labels["actual"],
            line={"color": PALETTE[0]},
            customdata=hover_data(
                [month_label(m, lang) for m in hist["month"]], hist["value"], lang, 0, currency
            ),
            hovertemplate=tmpl,
        )
    )
    ranges = [
        f"{value_label(lo80, lang, 0, currency)} – {value_label(hi80, lang, 0, currency)}"
        f"<br>95%: {value_label(lo95, lang, 0, currency)} – {value_label(hi95, lang, 0, currency)}"
        for lo80, hi80, lo95, hi95 in pts[["lower80", "upper80", "lower95", "upper95"]].to_numpy()
    ]
    fc_data = [
        [month_label(m, lang), value_label(v, lang, 0, currency), r]
        for m, v, r in zip(pts["month"], pts["forecast"], ranges, strict=True)
    ]
    traces.append(
        go.Scatter(
            x=pts["month"],
            y=pts["forecast"],
            mode="lines+markers",
            name=labels["forecast"],
            line={"color": PALETTE[3], "dash": "dash"},
            customdata=fc_data,
            hovertemplate=tmpl.replace("<extra>", "<br>80%: %{customdata[2]}<extra>"),
        )
    )
    latest = result.get("latest")
    if result.get("alert") and latest:
        traces.append(
            go.Scatter(
                x=[latest["month"]],
                y=[latest["actual"]],
                mode="markers",
                name=labels["alert"],
                marker={
                    "color": PALETTE[3],
                    "size": 14,
                    "symbol": "circle-open",
                    "line": {"width": 3},
                },
            )
        )
    fig = go.Figure(traces)
    month_axis(fig, list(hist["month"]) + list(pts["month"]), lang)
    shown = [*hist["value"], *pts["upper95"], *pts["lower95"]]
    number_axis(fig, shown, lang, title=money_title(lang, currency) if money else None)
    return themed(fig, title)


def week_index_bars(
    df: pd.DataFrame,
    labels: dict[str, str],
    title: str,
    this_label: str,
    last_label: str,
    lang: str = "zh",
) -> go.Figure:
    """This week as an index of last week (= 100) per measure: one scale for counts and money;
    the hover gives the week's own figure (satisfaction with two decimals)."""
    d = df[df["last_week"].fillna(0) != 0]
    index = 100 * d["this_week"] / d["last_week"]
    names = [labels[m] for m in d["measure"]]
    places = [2 if m == "satisfaction" else 0 for m in d["measure"]]

    def hover(col: str) -> list[list[str]]:
        return [[n, value_label(v, lang, k)] for n, v, k in zip(names, d[col], places, strict=True)]

    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=[100] * len(d),
                name=last_label,
                marker_color=PALETTE[5],
                customdata=hover("last_week"),
                hovertemplate=hover_template(lang),
            ),
            go.Bar(
                x=names,
                y=index,
                name=this_label,
                marker_color=PALETTE[0],
                text=[f"{v:.0f}" for v in index],
                textposition="outside",
                customdata=hover("this_week"),
                hovertemplate=hover_template(lang),
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return themed(fig, title)


def waterfall(
    start: tuple[str, float],
    steps: list[tuple[str, float]],
    end: tuple[str, float],
    title: str,
    lang: str = "zh",
    bad_when_up: bool = False,
) -> go.Figure:
    """A waterfall from `start` (label, value) through `steps` (label, change) to `end` (label,
    value): the parts of a change between two periods (crm_core.metrics.explain). The end bar is the
    given value, not a sum plotly computes, so a chart never hides a mismatch. Labels, ticks
    and hovers in 万 / 亿 (zh); `bad_when_up` draws rises red and falls green."""
    labels = [start[0], *(s[0] for s in steps), end[0]]
    values = [float(start[1]), *(float(s[1]) for s in steps), float(end[1])]
    measures = ["absolute", *(["relative"] * len(steps)), "absolute"]
    # Green for good news, red for bad: a rise is bad news for complaints (`bad_when_up`).
    up, down = (PALETTE[3], PALETTE[2]) if bad_when_up else (PALETTE[2], PALETTE[3])
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            text=(
                text := [
                    ("+" if m == "relative" and v > 0 else "") + value_label(v, lang)
                    for v, m in zip(values, measures, strict=True)
                ]
            ),
            textposition="outside",
            customdata=[[plotly_escape(x), tx] for x, tx in zip(labels, text, strict=True)],
            hovertemplate="%{customdata[0]}"
            + ("：" if lang == "zh" else ": ")
            + "%{customdata[1]}<extra></extra>",
            increasing={"marker": {"color": up}},
            decreasing={"marker": {"color": down}},
            totals={"marker": {"color": PALETTE[0]}},
            connector={"line": {"color": "#999999"}},
        )
    )
    fig.update_layout(showlegend=False)
    running = [values[0]]
    for v in values[1:-1]:
        running.append(running[-1] + v)
    number_axis(fig, [*running, values[-1], 0], lang)
    return themed(fig, title)
