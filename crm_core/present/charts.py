"""Pure plotly figures (DataFrame -> go.Figure) in one theme; no Streamlit here."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crm_core.metrics.drill import BLANK_GROUP
from crm_core.present import i18n
from crm_core.present.text import plotly_escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and on a projector.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT = "Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, PingFang SC, sans-serif"


def themed(fig: go.Figure, title: str | None = None) -> go.Figure:
    """Apply the house theme: CJK-capable font, palette, white background, tight margins."""
    fig.update_layout(
        title=title,
        font_family=FONT,
        colorway=PALETTE,
        template="plotly_white",
        margin={"l": 40, "r": 20, "t": 60 if title else 20, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


# --------------------------------------------------------------------------- axes and hovers
# Plotly's d3 formats know k / M / G only: a Chinese axis gets its ticks computed here, in 万 / 亿,
# and a hover gets its text preformatted in customdata.

# Axis units by language, largest first: a whole axis uses the unit of its largest tick.
_AXIS_UNITS = {
    "zh": ((1e8, "亿"), (1e4, "万")),
    "en": ((1e9, "B"), (1e6, "M"), (1e3, "K")),
}
# The series name, then "x: value", both preformatted; nothing from the raw data points.
HOVER = "<b>%{fullData.name}</b><br>%{customdata[0]}：%{customdata[1]}<extra></extra>"
HOVER_EN = "<b>%{fullData.name}</b><br>%{customdata[0]}: %{customdata[1]}<extra></extra>"


def hover_template(lang: str = i18n.DEFAULT_LANG) -> str:
    """The hovertemplate of a trace whose customdata holds (x label, value label) per point."""
    return HOVER if lang == "zh" else HOVER_EN


def _nice_step(span: float, target: int) -> float:
    # The round step whose number of intervals comes closest to `target`.
    mag = 10 ** math.floor(math.log10(span / max(target, 1)))
    steps = [m * mag for m in (0.5, 1, 2, 2.5, 5, 10)]
    return min(steps, key=lambda st: (abs(span / st - target), -st))


def _decimals(step: float) -> int:
    # Fewest decimals that show every multiple of `step` exactly (0.25 -> 2, 0.5 -> 1, 5 -> 0).
    for d in range(0, 5):
        if abs(round(step, d) - step) < 1e-9 * max(1.0, abs(step)):
            return d
    return 4


def _trimmed(text: str) -> str:
    # 1.50 -> 1.5, 2.00 -> 2: a tick shows only the digits it needs.
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_ticks(
    lo: float, hi: float, lang: str = i18n.DEFAULT_LANG, target: int = 5, integer: bool = False
) -> tuple[list[float], list[str]]:
    """Tick values covering [lo, hi] at a round step (1, 2, 2.5 or 5 x 10^k, about `target`
    intervals) and their labels in one unit for the whole axis: 0, 1,000万, 2,000万 … or
    0, 0.5亿, 1亿 … in Chinese, 0, 10M, 20M … in English. The first tick is at or below lo
    (0 when lo >= 0), the last at or above hi, so the ticks also give the axis range.
    `integer`: a count, whose step is never below 1."""
    lo, hi = float(min(lo, 0.0)), float(max(hi, 0.0))
    if hi - lo <= 0:
        hi = lo + 1.0
    step = _nice_step(hi - lo, target)
    if integer:
        step = max(step, 1.0)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    values = [round(i * step, 10) for i in range(first, last + 1)]
    top = max(abs(v) for v in values)
    size, unit = 1.0, ""
    for s, u in _AXIS_UNITS.get(lang, _AXIS_UNITS["en"]):
        if top >= s:
            size, unit = s, u
            break
    d = _decimals(step / size)
    labels = ["0" if v == 0 else _trimmed(f"{v / size:,.{d}f}") + unit for v in values]
    return values, labels


def value_label(
    v: Any, lang: str = i18n.DEFAULT_LANG, decimals: int = 0, currency: str = ""
) -> str:
    """One value for a hover or a bar label: 4,461.1万 / 1.25亿 (zh), 44,610,770 (en), with the
    currency symbol in front when given; "–" when missing."""
    text = i18n.fmt_number(v, lang, decimals)
    if currency and text != i18n.MISSING:
        return f"-{currency}{text[1:]}" if text.startswith("-") else f"{currency}{text}"
    return text


def month_label(d: Any, lang: str = i18n.DEFAULT_LANG) -> str:
    """A month for a hover or a tick: 2026年5月 (zh), May 2026 (en)."""
    ts = pd.Timestamp(d)
    return f"{ts.year}年{ts.month}月" if lang == "zh" else ts.strftime("%b %Y")


def hover_data(
    x_labels: Iterable[Any],
    values: Iterable[Any],
    lang: str = i18n.DEFAULT_LANG,
    decimals: int = 0,
    currency: str = "",
) -> list[list[str]]:
    """customdata for hover_template(): per point [x label, formatted value]. The labels may be
    data (a region's name) and customdata is shown as markup: escaped here."""
    return [
        [plotly_escape(str(x)), value_label(v, lang, decimals, currency)]
        for x, v in zip(x_labels, values, strict=True)
    ]


def _auto_label(v: Any, lang: str, percent: bool, monthly: bool = False) -> str:
    if v is None or pd.isna(v):
        return i18n.MISSING
    if isinstance(v, str):
        return plotly_escape(v)
    if isinstance(v, (pd.Timestamp, dt.date, np.datetime64)):
        ts = pd.Timestamp(v)
        return month_label(ts, lang) if monthly else i18n.fmt_date(ts.date(), lang)
    x = float(v)
    if percent:
        return i18n.fmt_pct(x)
    places = 0 if x.is_integer() or abs(x) >= 1e4 else 1 if abs(x) >= 100 else 2
    return value_label(x, lang, places)


def localise_hovers(fig: go.Figure, lang: str = i18n.DEFAULT_LANG) -> go.Figure:
    """Give every bar and line that has no hovertemplate of its own the house hover (series
    name, then "category：value" preformatted: 2026年5月, 4,461.1万, 45.0 % on a percent axis)
    instead of plotly's raw "(2026-05-01, 44610770)". Returns a copy; call it on the built
    figure before text.safe_figure (it escapes the labels it takes from the data itself)."""
    fig = go.Figure(fig)
    for tr in fig.data:
        if tr.type not in ("bar", "scatter") or tr.hovertemplate or tr.customdata is not None:
            continue
        if tr.hoverinfo == "skip" or tr.x is None or tr.y is None:
            continue
        horizontal = getattr(tr, "orientation", None) == "h"
        cats, vals = (tr.y, tr.x) if horizontal else (tr.x, tr.y)
        axis = (tr.xaxis if horizontal else tr.yaxis) or ("x" if horizontal else "y")
        layout_axis = fig.layout[axis.replace("x", "xaxis").replace("y", "yaxis")]
        percent = "%" in str(layout_axis.tickformat or "")
        # Dates all on the 1st are months (monthly buckets); any other day makes them days.
        days = [pd.Timestamp(c) for c in cats if isinstance(c, (dt.date, np.datetime64))]
        monthly = bool(days) and all(d.day == 1 for d in days)
        tr.customdata = [
            [_auto_label(c, lang, False, monthly), _auto_label(v, lang, percent)]
            for c, v in zip(cats, vals, strict=True)
        ]
        tr.hovertemplate = hover_template(lang)
    return fig


def number_axis(
    fig: go.Figure,
    values: Iterable[Any],
    lang: str = i18n.DEFAULT_LANG,
    axis: str = "y",
    title: str | None = None,
    integer: bool = False,
) -> go.Figure:
    """Give a value axis ticks from number_ticks() over `values` (every plotted value, stacked
    sums included) and the matching range; `title` names the axis (money: money_title()),
    written horizontally above it (annotation named "axis_title")."""
    nums = [float(v) for v in values if v is not None and not pd.isna(v)]
    if not nums:
        return fig
    tickvals, ticktext = number_ticks(min(nums), max(nums), lang, integer=integer)
    update = getattr(fig, "update_xaxes" if axis.startswith("x") else "update_yaxes")
    kw: dict[str, Any] = {"tickmode": "array", "tickvals": tickvals, "ticktext": ticktext}
    kw["range"] = [tickvals[0], tickvals[-1] + (tickvals[-1] - tickvals[0]) * 0.02]
    if axis in ("y2", "yaxis2"):
        fig.update_layout(yaxis2=kw)
    else:
        update(**kw)
    if title:
        # Horizontal, above the axis: a rotated title would turn Chinese characters sideways.
        right = axis in ("y2", "yaxis2")
        fig.add_annotation(
            text=title, xref="paper", yref="paper", x=1 if right else 0, y=1,
            xanchor="right" if right else "left", yanchor="bottom", showarrow=False,
            font={"size": 11, "color": "#555555"}, name="axis_title",
        )  # fmt: skip
    return fig


def money_title(lang: str = i18n.DEFAULT_LANG, currency: str | None = None) -> str:
    """A money axis' title with its currency: 金额（¥） / Amount (¥)."""
    return i18n.t("charts.money_axis", lang, currency=currency or i18n.currency(lang))


def month_axis(
    fig: go.Figure, months: Iterable[Any], lang: str = i18n.DEFAULT_LANG, max_ticks: int = 12
) -> go.Figure:
    """Label a monthly date axis with one tick per distinct month (every 2nd, 3rd … month when
    there are more than `max_ticks`), so that a short range never repeats a month, as plotly's
    own date ticks do (two "2013年08月" over three weeks)."""
    ms = sorted({pd.Timestamp(m).to_period("M").to_timestamp() for m in months if not pd.isna(m)})
    if not ms:
        return fig
    every = math.ceil(len(ms) / max_ticks)
    ticks = ms[::every]
    if len(ticks) <= 4:
        fig.update_xaxes(ticktext=[month_label(m, lang) for m in ticks])
    else:
        # Many ticks: the month alone, so that labels stay horizontal in a half-width chart,
        # and the months' span (with the years) once, as the axis title.
        short = [f"{m.month}月" if lang == "zh" else m.strftime("%b") for m in ticks]
        span = i18n.t("filters_line.period", lang, start=month_label(ms[0], lang),
                      end=month_label(ms[-1], lang))  # fmt: skip
        fig.update_xaxes(ticktext=short, title={"text": span, "font": {"size": 11}})
    fig.update_xaxes(tickmode="array", tickvals=ticks, tickangle=0)
    return fig


def empty_figure(title: str | None, message: str) -> go.Figure:
    """A chart with nothing to plot: the reason in words instead of an empty −1…4 axis."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font={"size": 15, "color": "#555555"},
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return themed(fig, title)


def partial_months(months: Sequence[Any], start: dt.date | None, end: dt.date | None) -> list[bool]:
    """Per month (its first day): whether the period [start, end] covers only part of it."""
    out = []
    for m in months:
        first = pd.Timestamp(m).to_period("M").to_timestamp().date()
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        out.append(bool((start and start > first) or (end and end < last)))
    return out


_PLOTLY_ZH = {
    "Autoscale": "自动缩放",
    "Box Select": "框选",
    "Click to enter Colorscale title": "点击输入色阶标题",
    "Compare data on hover": "悬停时比较数据",
    "Double-click on legend to isolate one trace": "双击图例只显示该系列",
    "Double-click to zoom back out": "双击还原缩放",
    "Download plot": "下载图表",
    "Download plot as a png": "下载图表为 PNG",
    "Download plot as a PNG": "下载图表为 PNG",
    "Lasso Select": "套索选择",
    "Orbital rotation": "轨道旋转",
    "Pan": "平移",
    "Produced with Plotly.js": "由 Plotly.js 生成",
    "Reset": "重置",
    "Reset axes": "重置坐标轴",
    "Reset camera to default": "重置视角",
    "Reset camera to last save": "恢复上次保存的视角",
    "Reset view": "重置视图",
    "Reset views": "重置视图",
    "Show closest data on hover": "悬停时显示最近的数据",
    "Snapshot succeeded": "截图成功",
    "Sorry, there was a problem downloading your snapshot!": "抱歉，下载截图时出错！",
    "Taking snapshot - this may take a few seconds": "正在截图，请稍候",
    "Toggle Spike Lines": "显示/隐藏辅助线",
    "Toggle show closest data on hover": "切换悬停显示最近数据",
    "Turntable rotation": "转台旋转",
    "Zoom": "缩放",
    "Zoom in": "放大",
    "Zoom out": "缩小",
    "trace": "系列",
    "new text": "新文本",
}
_MONTHS_ZH = [f"{i}月" for i in range(1, 13)]


def plotly_config(lang: str = i18n.DEFAULT_LANG) -> dict[str, Any]:
    """plotly.js config of an interactive chart: its toolbar hints and date names in `lang`
    (the zh-CN dictionary travels with the chart, as Streamlit registers no plotly locale)."""
    if lang != "zh":
        return {"displaylogo": False}
    return {
        "displaylogo": False,
        "locale": "zh-CN",
        "locales": {
            "zh-CN": {
                "dictionary": _PLOTLY_ZH,
                "format": {
                    "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
                    "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
                    "months": _MONTHS_ZH,
                    "shortMonths": _MONTHS_ZH,
                    "date": "%Y-%m-%d",
                    "decimal": ".",
                    "thousands": ",",
                    "grouping": [3],
                    "currency": ["¥", ""],
                },
            }
        },
    }


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


# --------------------------------------------------------------------------- lifecycle, pipeline


def stage_bars(
    df: pd.DataFrame,
    labels: dict[str, str],
    title: str,
    count_label: str,
    revenue_label: str,
    lang: str = "zh",
) -> go.Figure:
    """Customers per lifecycle stage (bars) and their revenue (markers, right axis, its title
    naming the currency); df has `stage`, `customers`, `revenue`. Ticks and hovers in 万 / 亿."""
    x = [labels.get(s, s) for s in df["stage"]]
    tmpl, currency = hover_template(lang), i18n.currency(lang)
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=df["customers"],
                name=count_label,
                marker_color=PALETTE[0],
                text=[value_label(v, lang) for v in df["customers"]],
                textposition="outside",
                # hover labels, then the stage key a click names (drill.selected)
                customdata=[
                    [*h, k]
                    for h, k in zip(hover_data(x, df["customers"], lang), df["stage"], strict=True)
                ],
                hovertemplate=tmpl,
            ),
            go.Scatter(
                x=x,
                y=df["revenue"].astype(float),
                name=revenue_label,
                yaxis="y2",
                mode="markers+lines",
                marker={"size": 10, "color": PALETTE[1]},
                customdata=hover_data(x, df["revenue"], lang, 0, currency),
                hovertemplate=tmpl,
            ),
        ]
    )
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})
    # Head-room above the tallest bar for its label.
    number_axis(fig, [*df["customers"], float(df["customers"].max() or 0) * 1.1], lang,
                integer=True)  # fmt: skip
    number_axis(fig, df["revenue"], lang, axis="y2", title=money_title(lang, currency))
    return themed(fig, title)


def stage_funnel(steps: list[str], values: list[int], title: str) -> go.Figure:
    """A funnel of nested counts (each step a subset of the one before), with % of the first."""
    fig = go.Figure(
        go.Funnel(
            y=steps,
            x=values,
            textinfo="value+percent initial",
            marker={"color": PALETTE[: len(steps)] or PALETTE[0]},
        )
    )
    return themed(fig, title)


# Fixed colour of each lifecycle stage (crm_core.metrics.lifecycle.STAGES, plus "new": not yet known),
# the same on every dataset whichever stages happen to occur.
STAGE_COLOURS = {
    "new": "#999999",
    "prospect": PALETTE[5],
    "exploration": PALETTE[1],
    "formation": PALETTE[2],
    "stability": PALETTE[0],
    "decline": PALETTE[4],
    "lost": PALETTE[3],
}


def sankey_nodes(keys: Iterable[str], order: Sequence[str]) -> list[str]:
    """The stages among `keys` in lifecycle `order` (unknown keys last, in name order)."""
    present = set(keys)
    rank = {k: i for i, k in enumerate(order)}
    return sorted(present, key=lambda k: (rank.get(k, len(rank)), str(k)))


def transition_sankey(
    df: pd.DataFrame, labels: dict[str, str], title: str, lang: str = "zh"
) -> go.Figure:
    """Customers moving between stages: df has `stage_from`, `stage_to`, `customers`. Nodes
    on each side in the order of `labels` (stage key -> name, in lifecycle order), each stage in
    its STAGE_COLOURS colour, node labels with their customers; links tinted by their source."""
    order = list(labels)
    left = sankey_nodes(df["stage_from"], order)
    right = sankey_nodes(df["stage_to"], order)
    out = df.groupby("stage_from")["customers"].sum()
    into = df.groupby("stage_to")["customers"].sum()
    names = [f"{labels.get(k, k)} {value_label(out[k], lang)}" for k in left] + [
        f"{labels.get(k, k)} {value_label(into[k], lang)}" for k in right
    ]
    fallback = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(order)}

    def colour(k: str) -> str:
        return STAGE_COLOURS.get(k) or fallback.get(k, "#777777")

    def ys(side: list[str], sizes: pd.Series) -> list[float]:
        # Node centres in order, proportional to customers, so plotly keeps the order.
        v = sizes.reindex(side).to_numpy(dtype=float)
        cum = v.cumsum() - v / 2
        return [0.02 + 0.96 * c / v.sum() for c in cum] if v.sum() else [0.5] * len(side)

    def rgba(hex_colour: str, alpha: float) -> str:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r},{g},{b},{alpha})"

    flows = [
        f"{labels.get(a, a)} → {labels.get(b, b)}"
        for a, b in zip(df["stage_from"], df["stage_to"], strict=True)
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            textfont={"size": 13, "color": "#222222"},
            node={
                "label": names,
                "color": [colour(k) for k in left + right],
                "x": [0.01] * len(left) + [0.99] * len(right),
                "y": ys(left, out) + ys(right, into),
                "pad": 14,
                "thickness": 18,
                "hovertemplate": "%{label}<extra></extra>",
            },
            link={
                "source": [left.index(s) for s in df["stage_from"]],
                "target": [len(left) + right.index(s) for s in df["stage_to"]],
                "value": df["customers"].tolist(),
                "color": [rgba(colour(s), 0.35) for s in df["stage_from"]],
                "customdata": hover_data(flows, df["customers"], lang),
                "hovertemplate": "%{customdata[0]}：%{customdata[1]}<extra></extra>",
            },
        )
    )
    return themed(fig, title)


def share_bars(
    df: pd.DataFrame, x: str, series: str, labels: dict[str, str], title: str
) -> go.Figure:
    """100 % stacked bars: the share of each `series` value within each `x` value (df has x,
    series, `share`, `customers`); series in the order of `labels`."""
    fig = go.Figure()
    for i, key in enumerate(labels):
        d = df[df[series] == key]
        if d.empty:
            continue
        fig.add_bar(
            x=d[x].astype(str),
            y=d["share"],
            name=labels[key],
            marker_color=PALETTE[i % len(PALETTE)],
            customdata=d["customers"],
            hovertemplate="%{x}: %{y:.0%} (%{customdata})<extra></extra>",
        )
    fig.update_layout(barmode="stack", yaxis_tickformat=".0%")
    fig.update_xaxes(type="category")
    return themed(fig, title)


def new_lost_bars(
    df: pd.DataFrame,
    labels: dict[str, str],
    title: str,
    lang: str = "zh",
    censored_until: dt.date | None = None,
    censored_label: str = "",
) -> go.Figure:
    """New (up) and lost (down) customers per month with the net change as a line; df has
    `month`, `new_customers`, `lost_customers`, `net_change`; labels name those three. With
    `censored_until`, the months up to that day are shaded and labelled `censored_label`: their
    "new" customers include some who bought before the data starts (lifecycle.history_warnings)."""
    if df.empty:
        return empty_figure(title, i18n.t("charts.empty_period", lang))
    months, tmpl = [month_label(m, lang) for m in df["month"]], hover_template(lang)
    fig = go.Figure(
        [
            go.Bar(
                x=df["month"],
                y=df["new_customers"],
                name=labels["new_customers"],
                marker_color=PALETTE[2],
                customdata=hover_data(months, df["new_customers"], lang),
                hovertemplate=tmpl,
            ),
            go.Bar(
                x=df["month"],
                y=-df["lost_customers"],
                name=labels["lost_customers"],
                marker_color=PALETTE[3],
                customdata=hover_data(months, df["lost_customers"], lang),
                hovertemplate=tmpl,
            ),
            go.Scatter(
                x=df["month"],
                y=df["net_change"],
                name=labels["net_change"],
                mode="lines+markers",
                line={"color": PALETTE[7]},
                customdata=hover_data(months, df["net_change"], lang),
                hovertemplate=tmpl,
            ),
        ]
    )
    fig.update_layout(barmode="relative")
    month_axis(fig, df["month"], lang)
    number_axis(fig, [*df["new_customers"], *(-df["lost_customers"]), *df["net_change"]], lang,
                integer=True)  # fmt: skip
    if censored_until is not None and len(df):
        first = pd.Timestamp(min(df["month"]))
        last = pd.Timestamp(censored_until).to_period("M").to_timestamp()
        if last >= first:
            # Bars sit on their month's first day: shade half a month either side.
            half = pd.Timedelta(days=15)
            fig.add_vrect(
                x0=first - half, x1=min(last, pd.Timestamp(max(df["month"]))) + half,
                fillcolor="grey", opacity=0.15, line_width=0, layer="below",
                annotation_text=censored_label, annotation_position="top left",
            )  # fmt: skip
    return themed(fig, title)


def click_targets(
    fig: go.Figure,
    x: list[Any],
    y: list[Any],
    customdata: list[Any],
    hover: list[str] | None = None,
) -> go.Figure:
    """Nearly invisible square markers on the cells (x[i], y[i]) of a heatmap: heatmap traces
    report no selection in Streamlit, markers do, carrying `customdata[i]`; `hover` keeps the
    cell's hover text (the markers sit on top)."""
    fig.add_scatter(
        x=x,
        y=y,
        customdata=customdata,
        mode="markers",
        marker={"symbol": "square", "size": 22, "opacity": 0.01, "color": "#000000"},
        text=hover,
        hovertemplate="%{text}<extra></extra>" if hover is not None else None,
        hoverinfo=None if hover is not None else "none",
        showlegend=False,
    )
    return fig


def cohort_heatmap(
    matrix: pd.DataFrame, title: str, x_title: str, y_title: str, lang: str = "zh"
) -> go.Figure:
    """Retention share per (cohort month row, months-since column); blank after the data ends."""
    fmt = "%Y年%m月" if lang == "zh" else "%Y-%m"
    rows = [pd.Timestamp(c).strftime(fmt) for c in matrix.index]
    z = matrix.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=rows,
            colorscale="Blues",
            zmin=0,
            zmax=float(pd.DataFrame(z[:, 1:]).max().max()) if z.shape[1] > 1 else 1.0,
            hovertemplate="%{y} +%{x}: %{z:.1%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    # A click on a cell names the cohort (ISO month, customdata) and the months since (x).
    cells = [(i, j) for i in range(z.shape[0]) for j in range(z.shape[1]) if z[i, j] == z[i, j]]
    click_targets(
        fig,
        [str(matrix.columns[j]) for _, j in cells],
        [rows[i] for i, _ in cells],
        [pd.Timestamp(matrix.index[i]).date().isoformat() for i, _ in cells],
        [f"{rows[i]} +{matrix.columns[j]}: {z[i, j]:.1%}" for i, j in cells],
    )
    fig.update_yaxes(autorange="reversed", title=y_title, type="category")
    fig.update_xaxes(title=x_title, type="category")
    return themed(fig, title)


def cadence_bars(df: pd.DataFrame, title: str, required_label: str, actual_label: str) -> go.Figure:
    """Required vs actual days between contacts per lead grade (df: grade, required_days,
    median_actual_days)."""
    fig = go.Figure(
        [
            go.Bar(
                x=df["grade"], y=df["required_days"], name=required_label, marker_color=PALETTE[5]
            ),
            go.Bar(
                x=df["grade"],
                y=df["median_actual_days"],
                name=actual_label,
                marker_color=PALETTE[0],
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return themed(fig, title)


# --------------------------------------------------------------------------- value (pyramid, RFM)


def pyramid_widths(customers: Sequence[Any]) -> list[float]:
    """Bar widths of the pyramid, proportional to each tier's customers (the largest tier 1.0);
    a tier with customers is at least 0.02 wide so that it stays visible."""
    counts = [max(float(c or 0), 0.0) for c in customers]
    top = max(counts, default=0.0)
    if top <= 0:
        return [0.0] * len(counts)
    return [0.0 if c == 0 else max(c / top, 0.02) for c in counts]


def pyramid_chart(df: pd.DataFrame, title: str, share_label: str, lang: str = "zh") -> go.Figure:
    """The tiers as centred bars, top tier first, each as wide as its number of customers
    (pyramid_widths: the shape is the data, not a drawing); `label` and `customers` to the left
    of each bar, `value_share` to the right under the heading `share_label`, all horizontal so
    that they stay readable at any width. Rows with `active` False form a grey base."""
    widths = pyramid_widths(list(df["customers"]))
    colors = [PALETTE[i % len(PALETTE)] if a else "#BBBBBB" for i, a in enumerate(df["active"])]
    counts = [value_label(n, lang) for n in df["customers"]]
    fig = go.Figure(
        go.Bar(
            y=df["label"],
            x=widths,
            base=[-w / 2 for w in widths],
            orientation="h",
            marker_color=colors,
            # label and count for the hover, then the tier key a click names (drill.selected)
            customdata=[
                [a, n, k]
                for a, n, k in zip(df["label"], counts, df.get("tier", df["label"]), strict=True)
            ],
            hovertemplate="%{customdata[0]}：%{customdata[1]}<extra></extra>"
            if lang == "zh"
            else "%{customdata[0]}: %{customdata[1]}<extra></extra>",
        )
    )
    for lab, n in zip(df["label"], counts, strict=True):
        fig.add_annotation(
            x=-0.52, y=lab, text=f"{lab} · {n}", showarrow=False, xanchor="right", textangle=0
        )
    for lab, share, active in zip(df["label"], df["value_share"], df["active"], strict=True):
        if active:
            fig.add_annotation(
                x=0.52, y=lab, text=i18n.fmt_pct(share), showarrow=False, xanchor="left"
            )
    for x, text, anchor in (
        (0.52, share_label, "left"),
        (0.0, i18n.t("charts.pyramid_widths", lang), "center"),
    ):
        fig.add_annotation(
            x=x, y=1.02, yref="paper", text=text, showarrow=False, xanchor=anchor,
            yanchor="bottom", font={"size": 11},
        )  # fmt: skip
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(visible=False, range=[-1.15, 0.8])
    fig.update_layout(bargap=0.06, showlegend=False)
    return themed(fig, title)


def concentration_curve(
    curve: pd.DataFrame, top_share: float, title: str, x_label: str, y_label: str
) -> go.Figure:
    """Share of customers (best first) vs cumulative share of revenue (`curve`), with the
    diagonal of perfect equality and the 80/20 reference lines (x = top_share, y = 0.8)."""
    fig = go.Figure(
        [
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"dash": "dot", "color": "#999999"},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=curve["customer_share"],
                y=curve["revenue_share"],
                mode="lines",
                line={"color": PALETTE[0], "width": 3},
                name=y_label,
                showlegend=False,
            ),
        ]
    )
    fig.add_hline(y=0.8, line={"dash": "dash", "color": PALETTE[1], "width": 1})
    fig.add_vline(x=top_share, line={"dash": "dash", "color": PALETTE[1], "width": 1})
    fig.update_xaxes(title=x_label, tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title=y_label, tickformat=".0%", range=[0, 1.02])
    return themed(fig, title)


def mark_point(fig: go.Figure, x: float, y: float, label: str) -> go.Figure:
    """Add a labelled marker at (x, y), e.g. the top-20 % point on a concentration curve."""
    fig.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers+text",
            marker={"color": PALETTE[3], "size": 12},
            text=[label],
            textposition="middle right",
            showlegend=False,
        )
    )
    return fig


def segment_heatmap(
    df: pd.DataFrame,
    columns: dict[str, str],
    title: str,
    lang: str = "zh",
    *,
    lower_is_better: tuple[str, ...] = ("recency_days",),
) -> go.Figure:
    """Segments (rows, `label`) x metrics (`columns`: column -> header). Colour is each
    metric's rank among the segments (darker = better, so days since the last order are
    reversed); the cells show the values."""
    from crm_core.present.i18n import fmt_number

    cols = list(columns)
    ranked = df[cols].rank(pct=True)
    for c in lower_is_better:
        if c in ranked:
            ranked[c] = 1 - ranked[c] + 1 / len(df)
    text = [
        [
            f"{v:.0%}" if c.endswith("share") else fmt_number(v, lang, 1 if abs(v) < 100 else 0)
            for c, v in zip(cols, row, strict=True)
        ]
        for row in df[cols].itertuples(index=False)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=ranked.values,
            x=list(columns.values()),
            y=df["label"],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hoverinfo="skip",
        )
    )
    keys = df["segment"] if "segment" in df else df["label"]
    n = len(cols)
    headers = list(columns.values())
    click_targets(  # a click on a cell names the segment (customdata) and its label (y)
        fig, headers * len(df), [lab for lab in df["label"] for _ in range(n)],
        [k for k in keys for _ in range(n)],
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    return themed(fig, title)


def tier_sankey(
    flows: pd.DataFrame, order: list[str], title: str, before: str, now: str
) -> go.Figure:
    """Customers moving between tiers: `flows` has label_before, label_now, customers; nodes
    follow `order` (labels, best tier first) on each side; `before` / `now` head the columns."""
    left = [x for x in order if x in set(flows["label_before"])]
    right = [x for x in order if x in set(flows["label_now"])]
    index = {("L", x): i for i, x in enumerate(left)} | {
        ("R", x): len(left) + i for i, x in enumerate(right)
    }
    colour = {x: PALETTE[i % len(PALETTE)] for i, x in enumerate(order)}

    def centres(side: list[str], column: str) -> list[float]:
        # Node centres proportional to customers, best tier on top, so nodes never overlap.
        sizes = flows.groupby(column)["customers"].sum().reindex(side).to_numpy(dtype=float)
        cum = sizes.cumsum() - sizes / 2
        return [0.02 + 0.96 * c / sizes.sum() for c in cum]

    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": left + right,
                "color": [colour[x] for x in left + right],
                "x": [0.01] * len(left) + [0.99] * len(right),
                "y": centres(left, "label_before") + centres(right, "label_now"),
                "pad": 12,
            },
            link={
                "source": [index["L", x] for x in flows["label_before"]],
                "target": [index["R", x] for x in flows["label_now"]],
                "value": flows["customers"].tolist(),
                "color": "rgba(120,120,120,0.25)",
            },
        )
    )
    for x, text in ((0.0, before), (1.0, now)):
        fig.add_annotation(
            x=x,
            y=1.0,
            xref="paper",
            yref="paper",
            text=f"<b>{text}</b>",
            showarrow=False,
            xanchor="left" if x == 0 else "right",
            yanchor="bottom",
        )
    fig = themed(fig, title)
    fig.update_layout(margin_t=90)  # room for the column headings under the title
    return fig


# --------------------------------------------------------------------------- complaints


def complaint_trend(
    by_group: pd.DataFrame,
    totals: pd.DataFrame,
    spikes: pd.DataFrame,
    title: str,
    labels: dict[str, str],
    lang: str = "zh",
    stacked: bool = True,
    monthly: bool = False,
) -> go.Figure:
    """Complaints per bucket by group (stacked bars, or a line per group), the rolling median of
    the total (dashed) and spike fortnights (shaded). by_group: bucket, grp, complaints; totals:
    bucket, complaints, rolling_median; spikes: start_date, end_date. labels: 'median', 'spike',
    'blank' (the name of a blank group)."""
    fig = go.Figure()
    groups = by_group["grp"].fillna(labels["blank"])
    order = by_group.groupby(groups)["complaints"].sum().sort_values(ascending=False).index
    for i, g in enumerate(order):
        d = by_group[groups == g]
        colour = PALETTE[i % len(PALETTE)]
        # customdata: the group's own value ("" for the blank group), so a click names the segment.
        raw = [BLANK_GROUP if pd.isna(v) else str(v) for v in d["grp"]]
        if stacked:
            fig.add_bar(
                x=d["bucket"], y=d["complaints"], name=str(g), marker_color=colour, customdata=raw
            )
        else:
            fig.add_scatter(
                x=d["bucket"],
                y=d["complaints"],
                name=str(g),
                mode="lines+markers",
                line={"color": colour},
                customdata=raw,
            )
    fig.add_scatter(
        x=totals["bucket"],
        y=totals["rolling_median"],
        name=labels["median"],
        mode="lines",
        line={"color": "#555555", "dash": "dash"},
    )
    for start, end in zip(spikes["start_date"], spikes["end_date"], strict=True):
        fig.add_vrect(
            x0=pd.Timestamp(start),
            x1=pd.Timestamp(end) + pd.Timedelta(days=1),
            fillcolor=PALETTE[3],
            opacity=0.15,
            line_width=0,
            annotation_text=labels["spike"],
            annotation_position="top left",
        )
    fig.update_layout(barmode="stack")
    if monthly:
        month_axis(fig, totals["bucket"], lang)
    return themed(fig, title)


def complaint_rates(
    totals: pd.DataFrame, title: str, names: dict[str, str], lang: str = "zh", monthly: bool = False
) -> go.Figure:
    """Complaints per 1 000 active customers and per 1 000 orders per bucket; `names` holds the
    legend names under the keys per_1000_customers and per_1000_orders."""
    fig = go.Figure()
    for i, col in enumerate(("per_1000_customers", "per_1000_orders")):
        fig.add_scatter(
            x=totals["bucket"],
            y=totals[col],
            name=names[col],
            mode="lines+markers",
            line={"color": PALETTE[i]},
        )
    if monthly:
        month_axis(fig, totals["bucket"], lang)
    return themed(fig, title)


def complaint_yoy(
    df: pd.DataFrame, title: str, names: dict[str, str], lang: str = "zh"
) -> go.Figure:
    """Complaints per month beside the same month a year earlier; df: month, complaints,
    last_year; `names` holds the legend names under those two column names."""
    fig = go.Figure()
    for i, col in enumerate(("complaints", "last_year")):
        fig.add_bar(x=df["month"], y=df[col], name=names[col], marker_color=PALETTE[i])
    fig.update_layout(barmode="group")
    month_axis(fig, df["month"], lang)
    return themed(fig, title)


def complaint_backlog(
    df: pd.DataFrame, title: str, x_title: str, names: dict[str, str]
) -> go.Figure:
    """Open complaints by age bucket (x, in bucket order) stacked by severity; df: age_bucket,
    age_label, severity, complaints; names['blank'] names a blank severity."""
    df = df.sort_values("age_bucket")
    x_order = list(dict.fromkeys(df["age_label"]))
    sev = df["severity"].fillna(names["blank"])
    fig = go.Figure()
    for i, s in enumerate(dict.fromkeys(sev)):
        d = df[sev == s]
        fig.add_bar(
            x=d["age_label"], y=d["complaints"], name=str(s), marker_color=PALETTE[i % len(PALETTE)]
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x_order, title=x_title)
    return themed(fig, title)


def complaint_bars(
    x: pd.Series, y: pd.Series, title: str, percent: bool = False, horizontal: bool = False
) -> go.Figure:
    """One bar per category value (shares as % when `percent`), labelled with its value."""
    fmt = ".0%" if percent else ",.0f"
    bar = go.Bar(
        x=y if horizontal else x.astype(str),
        y=x.astype(str) if horizontal else y,
        orientation="h" if horizontal else "v",
        marker_color=PALETTE[0],
        texttemplate=f"%{{{'x' if horizontal else 'y'}:{fmt}}}",
        textposition="outside",
    )
    fig = go.Figure(bar)
    axis = {"tickformat": ".0%"} if percent else {}
    if horizontal:
        fig.update_xaxes(**axis)
        fig.update_yaxes(type="category", autorange="reversed")
    else:
        fig.update_yaxes(**axis)
        fig.update_xaxes(type="category")
    return themed(fig, title)


def complaint_pareto(
    df: pd.DataFrame, title: str, names: dict[str, str], share: float = 0.8
) -> go.Figure:
    """Complaints per category, largest first (the vital few in the first colour), with the
    cumulative share on the right axis and a line at `share`. df: category, complaints,
    cumulative_share, vital_few; `names` has 'complaints' and 'cumulative_share'."""
    colours = [PALETTE[0] if v else "#B0B0B0" for v in df["vital_few"]]
    fig = go.Figure(
        [
            go.Bar(
                x=df["category"], y=df["complaints"], name=names["complaints"], marker_color=colours
            ),
            go.Scatter(
                x=df["category"],
                y=df["cumulative_share"],
                name=names["cumulative_share"],
                yaxis="y2",
                mode="lines+markers",
                line={"color": PALETTE[3]},
            ),
        ]
    )
    fig.add_shape(
        type="line",
        xref="paper",
        x0=0,
        x1=1,
        yref="y2",
        y0=share,
        y1=share,
        line={"dash": "dot", "color": PALETTE[3]},
    )
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickformat": ".0%",
            "showgrid": False,
        }
    )
    fig.update_xaxes(type="category")
    return themed(fig, title)


def lift_heatmap(rules: pd.DataFrame, title: str, x_title: str, y_title: str) -> go.Figure:
    """Lift of each rule (`rules`: antecedent, consequent, lift): a row per antecedent, a column
    per consequent, items sorted by name; blank where no rule passed. Colour centred on 1 (as
    often as average): orange above, blue below."""
    items = sorted(set(rules["antecedent"]) | set(rules["consequent"]))
    pos = {item: i for i, item in enumerate(items)}
    z: list[list[float | None]] = [[None] * len(items) for _ in items]
    for a, b, lift in rules[["antecedent", "consequent", "lift"]].itertuples(index=False):
        z[pos[a]][pos[b]] = float(lift)
    text = [["" if v is None else f"{v:.1f}×" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=items,
            y=items,
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, PALETTE[0]], [0.5, "#FFFFFF"], [1, PALETTE[3]]],
            zmid=1,
            showscale=False,
            hovertemplate="%{y} → %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title=y_title)
    fig.update_xaxes(side="top", title=x_title)
    return themed(fig, title)


def ratio_bars(df: pd.DataFrame, x: str, y: str, title: str, line_at: float = 1.0) -> go.Figure:
    """Horizontal bars of a ratio per category (df has `x` labels and `y` values, rows without a
    value dropped), largest on top, with a dashed reference line at `line_at` (CLV/CAC: 1 = the
    expected value just covers the acquisition cost)."""
    d = df[df[y].notna()].sort_values(y, kind="stable")
    fig = go.Figure(
        go.Bar(
            x=d[y].astype(float),
            y=d[x].astype(str),
            orientation="h",
            marker_color=PALETTE[0],
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    fig.add_vline(x=line_at, line_dash="dash", line_color=PALETTE[3])
    fig.update_yaxes(type="category")
    return themed(fig, title)
