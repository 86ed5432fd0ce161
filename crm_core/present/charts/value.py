"""Customer value figures: the value pyramid, the concentration curve, the RFM segment heatmap
and the flows between tiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from crm_core.present import i18n
from crm_core.present.charts.base import PALETTE, click_targets, themed, value_label


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


def pareto_curve(
    curve: pd.DataFrame,
    top_share: float,
    top_revenue_share: float,
    title: str,
    x_label: str,
    y_label: str,
    point_label: str,
) -> go.Figure:
    """The concentration curve (concentration_curve) with the top customers' point marked at
    (top_share, top_revenue_share) (mark_point): the Pyramid page's Pareto chart."""
    fig = concentration_curve(curve, top_share, title, x_label, y_label)
    return mark_point(fig, top_share, top_revenue_share, point_label)


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
