"""Pure plotly figures (DataFrame -> go.Figure) in one theme; no Streamlit here."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.i18n import month_tickformat

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


def monthly_bars(df: pd.DataFrame, column: str, title: str, lang: str = "zh") -> go.Figure:
    """Bars of one monthly measure (df has `month` and `column`)."""
    fig = go.Figure(go.Bar(x=df["month"], y=df[column], marker_color=PALETTE[0], name=title))
    fig.update_xaxes(tickformat=month_tickformat(lang))
    return themed(fig, title)


def week_index_bars(df: pd.DataFrame, labels: dict[str, str], title: str,
                    this_label: str, last_label: str) -> go.Figure:
    """This week as an index of last week (= 100) per measure: one scale for counts and money."""
    d = df[df["last_week"].fillna(0) != 0]
    index = 100 * d["this_week"] / d["last_week"]
    names = [labels[m] for m in d["measure"]]
    fig = go.Figure([
        go.Bar(x=names, y=[100] * len(d), name=last_label, marker_color=PALETTE[5]),
        go.Bar(x=names, y=index, name=this_label, marker_color=PALETTE[0],
               text=[f"{v:.0f}" for v in index], textposition="outside"),
    ])
    fig.update_layout(barmode="group")
    return themed(fig, title)
