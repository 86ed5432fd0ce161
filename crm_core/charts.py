"""Pure plotly figures (DataFrame -> go.Figure) in one theme; no Streamlit here."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


def forecast_chart(result: dict, labels: dict[str, str], title: str, lang: str = "zh") -> go.Figure:
    """History line and forecast (forecast.forecast() result with status "ok") with shaded 95 %
    and 80 % bands; markers on every month so points can be hovered and clicked; the latest
    month circled in red when it fell outside the interval forecast for it (`alert`). labels:
    actual, forecast, band80, band95, alert."""
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
        )
    )
    traces.append(
        go.Scatter(
            x=pts["month"],
            y=pts["forecast"],
            mode="lines+markers",
            name=labels["forecast"],
            line={"color": PALETTE[3], "dash": "dash"},
            customdata=pts[["lower80", "upper80", "lower95", "upper95"]].to_numpy(),
            hovertemplate="%{x}: %{y:,.0f}<br>80%: %{customdata[0]:,.0f} – %{customdata[1]:,.0f}"
            "<br>95%: %{customdata[2]:,.0f} – %{customdata[3]:,.0f}<extra></extra>",
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
    fig.update_xaxes(tickformat=month_tickformat(lang))
    fig.update_yaxes(rangemode="tozero")
    return themed(fig, title)


def week_index_bars(
    df: pd.DataFrame, labels: dict[str, str], title: str, this_label: str, last_label: str
) -> go.Figure:
    """This week as an index of last week (= 100) per measure: one scale for counts and money."""
    d = df[df["last_week"].fillna(0) != 0]
    index = 100 * d["this_week"] / d["last_week"]
    names = [labels[m] for m in d["measure"]]
    fig = go.Figure(
        [
            go.Bar(x=names, y=[100] * len(d), name=last_label, marker_color=PALETTE[5]),
            go.Bar(
                x=names,
                y=index,
                name=this_label,
                marker_color=PALETTE[0],
                text=[f"{v:.0f}" for v in index],
                textposition="outside",
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
) -> go.Figure:
    """A waterfall from `start` (label, value) through `steps` (label, change) to `end` (label,
    value): the parts of a change between two periods (crm_core.explain). The end bar is the
    given value, not a sum plotly computes, so a chart never hides a mismatch."""
    labels = [start[0], *(s[0] for s in steps), end[0]]
    values = [float(start[1]), *(float(s[1]) for s in steps), float(end[1])]
    measures = ["absolute", *(["relative"] * len(steps)), "absolute"]
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            text=[
                f"{v:+,.0f}" if m == "relative" else f"{v:,.0f}"
                for v, m in zip(values, measures, strict=True)
            ],
            textposition="outside",
            increasing={"marker": {"color": PALETTE[2]}},
            decreasing={"marker": {"color": PALETTE[3]}},
            totals={"marker": {"color": PALETTE[0]}},
            connector={"line": {"color": "#999999"}},
        )
    )
    fig.update_layout(showlegend=False)
    return themed(fig, title)


# --------------------------------------------------------------------------- lifecycle, pipeline


def stage_bars(
    df: pd.DataFrame, labels: dict[str, str], title: str, count_label: str, revenue_label: str
) -> go.Figure:
    """Customers per lifecycle stage (bars) and their revenue (markers, right axis); df has
    `stage`, `customers`, `revenue`."""
    x = [labels.get(s, s) for s in df["stage"]]
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=df["customers"],
                name=count_label,
                marker_color=PALETTE[0],
                text=df["customers"],
                textposition="outside",
                customdata=df["stage"],  # a click names the stage key
            ),
            go.Scatter(
                x=x,
                y=df["revenue"].astype(float),
                name=revenue_label,
                yaxis="y2",
                mode="markers+lines",
                marker={"size": 10, "color": PALETTE[1]},
            ),
        ]
    )
    fig.update_layout(
        yaxis={"rangemode": "tozero"},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero"},
    )
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


def transition_sankey(df: pd.DataFrame, labels: dict[str, str], title: str) -> go.Figure:
    """Customers moving between stages: df has `stage_from`, `stage_to`, `customers`."""
    left = list(dict.fromkeys(df["stage_from"]))
    right = list(dict.fromkeys(df["stage_to"]))
    names = [labels.get(s, s) for s in left] + [labels.get(s, s) for s in right]
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(dict.fromkeys(left + right))}
    fig = go.Figure(
        go.Sankey(
            node={"label": names, "color": [colour[s] for s in left + right], "pad": 12},
            link={
                "source": [left.index(s) for s in df["stage_from"]],
                "target": [len(left) + right.index(s) for s in df["stage_to"]],
                "value": df["customers"].tolist(),
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
    fig = go.Figure(
        [
            go.Bar(
                x=df["month"],
                y=df["new_customers"],
                name=labels["new_customers"],
                marker_color=PALETTE[2],
            ),
            go.Bar(
                x=df["month"],
                y=-df["lost_customers"],
                name=labels["lost_customers"],
                marker_color=PALETTE[3],
                customdata=df["lost_customers"],
                hovertemplate="%{x|%Y-%m}: %{customdata}<extra></extra>",
            ),
            go.Scatter(
                x=df["month"],
                y=df["net_change"],
                name=labels["net_change"],
                mode="lines+markers",
                line={"color": PALETTE[7]},
            ),
        ]
    )
    fig.update_layout(barmode="relative")
    fig.update_xaxes(tickformat=month_tickformat(lang))
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


def pyramid_chart(df: pd.DataFrame, title: str, share_label: str) -> go.Figure:
    """A pyramid of tiers, top tier at the apex: one centred bar per row of `df` (top first)
    with equal steps in width; `label` and `customers` inside, `value_share` beside each active
    layer under the heading `share_label`. Rows with `active` False form a grey base."""
    k = len(df)
    widths = [(i + 1) / k for i in range(k)]
    colors = [PALETTE[i] if a else "#BBBBBB" for i, a in enumerate(df["active"])]
    fig = go.Figure(
        go.Bar(
            y=df["label"],
            x=widths,
            base=[-w / 2 for w in widths],
            orientation="h",
            marker_color=colors,
            text=[f"{a} · {n:,}" for a, n in zip(df["label"], df["customers"], strict=True)],
            textposition="inside",
            insidetextanchor="middle",
            hovertemplate="%{y}<extra></extra>",
            customdata=df.get("tier"),  # a click names the tier key
        )
    )
    for lab, share, active in zip(df["label"], df["value_share"], df["active"], strict=True):
        if active:
            fig.add_annotation(x=0.52, y=lab, text=f"{share:.1%}", showarrow=False, xanchor="left")
    fig.add_annotation(
        x=0.52,
        y=1.02,
        yref="paper",
        text=share_label,
        showarrow=False,
        xanchor="left",
        font={"size": 11},
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(visible=False, range=[-0.52, 0.75])
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
    from crm_core.i18n import fmt_number

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
        if stacked:
            fig.add_bar(x=d["bucket"], y=d["complaints"], name=str(g), marker_color=colour)
        else:
            fig.add_scatter(
                x=d["bucket"],
                y=d["complaints"],
                name=str(g),
                mode="lines+markers",
                line={"color": colour},
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
        fig.update_xaxes(tickformat=month_tickformat(lang))
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
        fig.update_xaxes(tickformat=month_tickformat(lang))
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
    fig.update_xaxes(tickformat=month_tickformat(lang))
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
