"""Lifecycle and pipeline figures: stage bars and funnels, flows between stages, new vs lost
customers, cohorts and the follow-up cadence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from crm_core.present import i18n
from crm_core.present.charts.base import (
    PALETTE,
    click_targets,
    empty_figure,
    hover_data,
    hover_template,
    money_title,
    month_axis,
    month_label,
    number_axis,
    themed,
    value_label,
)


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
