"""Complaint figures: the trend with its spikes, rates, year on year, the backlog, counts by
group and the Pareto of causes."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.metrics.drill import BLANK_GROUP
from crm_core.present.charts.base import PALETTE, month_axis, themed


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
