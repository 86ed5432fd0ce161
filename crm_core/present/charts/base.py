"""The charts' shared ground: the house theme, number and month axes in the reader's units, hovers,
an empty chart, click targets and the plotly.js config."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from crm_core.present import i18n
from crm_core.present.text import copy_figure, plotly_escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and on a projector.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT = "Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, PingFang SC, sans-serif"
# The house template is plotly's default, so that a figure starts from it when it is made: setting
# it again in themed() validated the whole template once more per chart (about 12 of a chart's
# 15 ms, a third of a page render's CPU; bench/RESULTS.md, "Renders"). The figure is the same.
# Streamlit makes its own template the default when it loads its chart element: themed() takes
# the default back, and gives a figure made under another default the house template itself.
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE


def themed(fig: go.Figure, title: str | None = None) -> go.Figure:
    """Apply the house theme: CJK-capable font, palette, white background, tight margins."""
    if pio.templates.default != TEMPLATE:
        pio.templates.default = TEMPLATE
        fig.update_layout(template=TEMPLATE)
    fig.update_layout(
        title=title,
        font_family=FONT,
        colorway=PALETTE,
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


def hover_updates(fig: go.Figure, lang: str = i18n.DEFAULT_LANG) -> list[tuple[int, list, str]]:
    """What localise_hovers gives each bar and line without a hover of its own: (trace index,
    customdata, hovertemplate). Reads `fig` only."""
    out = []
    for i, tr in enumerate(fig.data):
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
        custom = [
            [_auto_label(c, lang, False, monthly), _auto_label(v, lang, percent)]
            for c, v in zip(cats, vals, strict=True)
        ]
        out.append((i, custom, hover_template(lang)))
    return out


def localise_hovers(fig: go.Figure, lang: str = i18n.DEFAULT_LANG) -> go.Figure:
    """Give every bar and line that has no hovertemplate of its own the house hover (series
    name, then "category：value" preformatted: 2026年5月, 4,461.1万, 45.0 % on a percent axis)
    instead of plotly's raw "(2026-05-01, 44610770)". Returns a copy; call it on the built
    figure before text.safe_figure (it escapes the labels it takes from the data itself)."""
    updates = hover_updates(fig, lang)
    fig = copy_figure(fig)
    for i, custom, template in updates:
        fig.data[i].customdata = custom
        fig.data[i].hovertemplate = template
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
