"""Product affinity and channel return figures: the lift heatmap of what is bought together and
ratio bars against a reference line (CLV/CAC)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.present.charts.base import PALETTE, themed


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
