"""Pure plotly figures of the churn and CLV models (house theme from charts.py); no Streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.present import charts
from crm_core.present.charts import PALETTE, themed


def tracking_chart(
    df: pd.DataFrame, title: str, labels: dict[str, str], lang: str = "zh"
) -> go.Figure:
    """Cumulative repeat purchases per period end, actual vs predicted, the holdout shaded.

    `df` as `clv.cumulative_tracking`; `labels`: actual, predicted, x, y, holdout; counts on the
    value axis in 万 in Chinese (number_ticks), never 14k.
    """
    fig = go.Figure()
    fig.add_scatter(
        x=df["period_end"], y=df["cumulative_actual"], name=labels["actual"],
        line={"color": PALETTE[0]},
    )  # fmt: skip
    fig.add_scatter(
        x=df["period_end"], y=df["cumulative_predicted"], name=labels["predicted"],
        line={"color": PALETTE[1], "dash": "dash"},
    )  # fmt: skip
    holdout = df.loc[~df["in_calibration"], "period_end"]
    if len(holdout):
        split = df.loc[df["in_calibration"], "period_end"].max()
        fig.add_vrect(
            x0=split, x1=holdout.max(), fillcolor=PALETTE[5], opacity=0.12, line_width=0,
            annotation_text=labels["holdout"], annotation_position="top left",
        )  # fmt: skip
    fig.update_xaxes(title=labels["x"])
    fig.update_yaxes(title=labels["y"], rangemode="tozero")
    counts = [0, *df["cumulative_actual"], *df["cumulative_predicted"]]
    charts.number_axis(fig, counts, lang, integer=True)
    return themed(fig, title)


def frequency_chart(df: pd.DataFrame, title: str, labels: dict[str, str]) -> go.Figure:
    """Mean holdout purchases by calibration frequency, actual vs predicted (grouped bars).

    `df` as `clv_models.holdout_comparison` (index: frequency bucket); `labels`: actual,
    predicted, x, y.
    """
    x = [str(i) for i in df.index]
    fig = go.Figure()
    fig.add_bar(x=x, y=df["actual"], name=labels["actual"], marker_color=PALETTE[0])
    fig.add_bar(x=x, y=df["predicted"], name=labels["predicted"], marker_color=PALETTE[1])
    fig.update_layout(barmode="group")
    fig.update_xaxes(title=labels["x"], type="category")
    fig.update_yaxes(title=labels["y"])
    return themed(fig, title)


def p_alive_chart(bins: pd.DataFrame, title: str, labels: dict[str, str]) -> go.Figure:
    """Customers per P(alive) band (`clv.p_alive_histogram`); bands below 0.5 in orange."""
    mid = (bins["bin_start"] + bins["bin_end"]) / 2
    colours = [PALETTE[3] if m < 0.5 else PALETTE[0] for m in mid]
    fig = go.Figure(
        go.Bar(
            x=mid, y=bins["customers"], width=bins["bin_end"] - bins["bin_start"],
            marker_color=colours, marker_line_width=0.5, marker_line_color="white",
        )
    )  # fmt: skip
    fig.update_xaxes(title=labels["x"], range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title=labels["y"])
    return themed(fig, title)


def pyramid_chart(df: pd.DataFrame, title: str, tier_names: list[str]) -> go.Figure:
    """Share of total CLV per tier, top tier on top (`clv.clv_pyramid`), customers in the hover."""
    fig = go.Figure(
        go.Bar(
            y=tier_names, x=df["clv_share"], orientation="h", marker_color=PALETTE[2],
            text=[f"{v:.0%}" for v in df["clv_share"].fillna(0)], textposition="auto",
            customdata=[f"{n:,}" for n in df["customers"]],
            hovertemplate="%{y}: %{x:.1%} (n = %{customdata})<extra></extra>",
            name="",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return themed(fig, title)
