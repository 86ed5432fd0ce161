"""Chart helpers: 万/亿 ticks, formatted hovers, month ticks, pyramid widths, Sankey order and
colours, semantic colours; pure functions on hand-made frames (no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest

from crm_core.present import charts, i18n


def test_ticks_in_wan_for_tens_of_millions() -> None:
    # 0..52,000,000 at about 5 intervals: step 10,000,000 (5.2 intervals, closest to 5), the
    # last tick the first multiple >= 52,000,000 = 60,000,000; 10,000,000 / 10,000 = 1,000万.
    vals, text = charts.number_ticks(0, 5.2e7, "zh")
    assert vals == [0, 1e7, 2e7, 3e7, 4e7, 5e7, 6e7]
    assert text == ["0", "1,000万", "2,000万", "3,000万", "4,000万", "5,000万", "6,000万"]
    # The same axis in English: 10M steps, never 万.
    assert charts.number_ticks(0, 5.2e7, "en")[1] == ["0", "10M", "20M", "30M", "40M", "50M", "60M"]


def test_ticks_in_yi_from_a_hundred_million() -> None:
    # 0..300,000,000: step 50,000,000 (6 intervals); the top tick 3e8 >= 1e8, so the whole axis
    # is in 亿: 50,000,000 / 100,000,000 = 0.5亿.
    vals, text = charts.number_ticks(0, 3e8, "zh")
    assert vals[-1] == 3e8
    assert text == ["0", "0.5亿", "1亿", "1.5亿", "2亿", "2.5亿", "3亿"]


def test_ticks_below_zero_small_values_and_counts() -> None:
    # -120..340: span 460, step 100 (4.6 intervals); floor(-1.2) = -2 -> -200, ceil(3.4) -> 400.
    assert charts.number_ticks(-120, 340, "zh")[1] == [
        "-200",
        "-100",
        "0",
        "100",
        "200",
        "300",
        "400",
    ]
    # Below 10,000 no unit; a count never gets a step below 1 (0..1.7 would step 0.5).
    assert charts.number_ticks(0, 1.7, "zh")[1] == ["0", "0.5", "1", "1.5", "2"]
    assert charts.number_ticks(0, 1.7, "zh", integer=True)[1] == ["0", "1", "2"]
    # An all-zero axis still has ticks starting at 0, not an axis from -1 to 4.
    assert charts.number_ticks(0, 0, "zh", integer=True)[0][0] == 0


def test_monthly_bars_hover_has_the_series_name_and_a_formatted_value() -> None:
    df = pd.DataFrame(
        {"month": pd.to_datetime(["2026-04-01", "2026-05-01"]), "revenue": [12_000.0, 44_610_770.0]}
    )
    fig = charts.monthly_bars(df, "revenue", "月度销售额", "zh", money=True)
    bar = fig.data[0]
    # 44,610,770 / 10,000 = 4,461.077 -> 4,461.1万, with the currency in front.
    assert [list(c) for c in bar.customdata] == [
        ["2026年4月", "¥1.2万"],
        ["2026年5月", "¥4,461.1万"],
    ]
    assert "%{fullData.name}" in bar.hovertemplate and "%{y" not in bar.hovertemplate
    assert bar.name == "月度销售额"
    # Axis: ticks in 万 (0..44.6M -> step 10M), the title names the currency.
    y = fig.layout.yaxis
    assert list(y.ticktext)[:3] == ["0", "1,000万", "2,000万"]
    titles = [a.text for a in fig.layout.annotations if a.name == "axis_title"]
    assert titles == ["金额（¥）"]
    assert list(fig.layout.xaxis.ticktext) == ["2026年4月", "2026年5月"]


def test_three_weeks_never_repeat_a_month_tick() -> None:
    # 2013-08-05 .. 2013-08-25 (three weeks, one month): one tick, where plotly's own date ticks
    # gave "2013年08月" twice.
    days = pd.date_range("2013-08-05", "2013-08-25", freq="D")
    fig = charts.month_axis(go.Figure(go.Bar(x=days, y=[1] * len(days))), days, "zh")
    assert list(fig.layout.xaxis.ticktext) == ["2013年8月"]
    # 2013-08-20 .. 2013-09-10 spans two months: two distinct ticks.
    days = pd.date_range("2013-08-20", "2013-09-10", freq="W-MON")
    fig = charts.month_axis(go.Figure(), days, "en")
    assert list(fig.layout.xaxis.ticktext) == ["Aug 2013", "Sep 2013"]
    # 30 months: every 3rd month (ceil(30 / 12) = 3), 10 ticks.
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    x = charts.month_axis(go.Figure(), months, "zh").layout.xaxis
    assert len(x.tickvals) == 10
    # Short labels (2020-01, 04, 07, 10, 2021-01, ...), horizontal; the years in the title.
    assert list(x.ticktext)[:5] == ["1月", "4月", "7月", "10月", "1月"]
    assert x.tickangle == 0 and x.title.text == "2020年1月 至 2022年6月"


def test_partial_first_and_last_months_are_marked() -> None:
    months = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    # 01-15..03-31: January only from the 15th; February whole; March to its last day (31st).
    assert charts.partial_months(months, dt.date(2024, 1, 15), dt.date(2024, 3, 31)) == [
        True,
        False,
        False,
    ]
    df = pd.DataFrame({"month": months, "n": [1, 2, 3]})
    fig = charts.monthly_bars(
        df, "n", "t", "zh", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 20)
    )
    assert list(fig.data[0].marker.pattern.shape) == ["", "", "/"]
    assert fig.data[0].customdata[2][0] == "2024年3月（部分月份）"


def test_an_empty_chart_says_why() -> None:
    fig = charts.monthly_bars(pd.DataFrame({"month": [], "n": []}), "n", "t", "zh")
    assert fig.layout.annotations[0].text == i18n.t("charts.empty_period", "zh")
    assert fig.layout.xaxis.visible is False and len(fig.data) == 0


def test_pyramid_widths_follow_the_customers() -> None:
    # 10, 40, 100, 250 customers: widths n / 250 = 0.04, 0.16, 0.4, 1.0; 2 customers would be
    # 0.008 wide and is drawn at the 0.02 minimum; no customers, no bar.
    assert charts.pyramid_widths([10, 40, 100, 250]) == pytest.approx([0.04, 0.16, 0.4, 1.0])
    assert charts.pyramid_widths([2, 0, 250]) == pytest.approx([0.02, 0.0, 1.0])
    df = pd.DataFrame(
        {
            "label": ["钻石", "金", "银", "未活跃"],
            "customers": [10, 40, 100, 250],
            "value_share": [0.5, 0.3, 0.2, 0.0],
            "active": [True, True, True, False],
        }
    )
    fig = charts.pyramid_chart(df, "t", "销售额占比", "zh")
    assert list(fig.data[0].x) == pytest.approx([0.04, 0.16, 0.4, 1.0])
    # Labels are horizontal annotations outside the bars, never text squeezed (and turned) inside.
    texts = [a.text for a in fig.layout.annotations]
    assert "钻石 · 10" in texts and fig.data[0].text is None
    assert all(a.textangle in (None, 0) for a in fig.layout.annotations)


def test_sankey_in_lifecycle_order_with_fixed_colours() -> None:
    labels = {
        "new": "未知",
        "prospect": "潜在",
        "exploration": "考察",
        "stability": "稳定",
        "lost": "流失",
    }
    df = pd.DataFrame(
        {
            "stage_from": ["stability", "new", "exploration", "stability"],
            "stage_to": ["lost", "exploration", "stability", "stability"],
            "customers": [3, 5, 2, 7],
        }
    )
    node = charts.transition_sankey(df, labels, "t", "zh").data[0].node
    # Left in lifecycle order: new, exploration, stability (out 5, 2, 3 + 7 = 10); right:
    # exploration (5), stability (2 + 7 = 9), lost (3).
    assert list(node.label) == ["未知 5", "考察 2", "稳定 10", "考察 5", "稳定 9", "流失 3"]
    assert list(node.color)[2] == charts.STAGE_COLOURS["stability"]
    # Another dataset, other stages present: stability keeps its colour.
    other = pd.DataFrame({"stage_from": ["stability"], "stage_to": ["stability"], "customers": [1]})
    again = charts.transition_sankey(other, labels, "t", "zh").data[0].node
    assert list(again.color) == [charts.STAGE_COLOURS["stability"]] * 2


def test_waterfall_draws_a_rise_in_complaints_red() -> None:
    steps = [("a", 5.0), ("b", -2.0)]
    good = charts.waterfall(("前", 10), steps, ("后", 13), "t", "zh").data[0]
    bad = charts.waterfall(("前", 10), steps, ("后", 13), "t", "zh", bad_when_up=True).data[0]
    assert good.increasing.marker.color == charts.PALETTE[2]  # green
    assert bad.increasing.marker.color == charts.PALETTE[3]  # red (vermillion)
    assert bad.decreasing.marker.color == charts.PALETTE[2]
    # Labels: the change with its sign, totals without; 125,000 in 万 = 12.5万.
    big = charts.waterfall(("前", 0), [("a", 125_000.0)], ("后", 125_000.0), "t", "zh").data[0]
    assert list(big.text) == ["0", "+12.5万", "12.5万"]


def test_plotly_toolbar_in_chinese() -> None:
    cfg = charts.plotly_config("zh")
    assert cfg["locale"] == "zh-CN"
    assert cfg["locales"]["zh-CN"]["dictionary"]["Zoom in"] == "放大"
    assert "locale" not in charts.plotly_config("en")


def test_forecast_hover_is_formatted() -> None:
    result = {
        "history": [{"month": "2026-01", "value": 1_000_000.0}],
        "points": [
            {"month": "2026-02", "forecast": 1_200_000.0, "lower80": 1e6, "upper80": 1.4e6,
             "lower95": 9e5, "upper95": 1.5e6},
        ],
        "alert": False,
        "latest": None,
    }  # fmt: skip
    labels = {"actual": "A", "forecast": "F", "band80": "B80", "band95": "B95", "alert": "X"}
    fig = charts.forecast_chart(result, labels, "T", "zh", money=True)
    f = next(tr for tr in fig.data if tr.name == "F")
    # 1,200,000 = 120.0万; 80 %: 100.0万 – 140.0万.
    assert list(f.customdata[0][:2]) == ["2026年2月", "¥120.0万"]
    assert "¥100.0万 – ¥140.0万" in f.customdata[0][2]


def test_hover_labels_from_data_are_escaped() -> None:
    # customdata is shown as markup and safe_figure does not see it: a region named like a
    # link stays text.
    label = charts.hover_data(["<a href='http://x'>华东</a>"], [12_345], "zh")[0]
    assert "<a" not in label[0] and label[1] == "1.2万"  # 12,345 / 10,000 = 1.2345 -> 1.2万


def test_week_index_hover_gives_the_weeks_own_figures() -> None:
    df = pd.DataFrame(
        {
            "measure": ["revenue", "satisfaction"],
            "this_week": [14_260_000.0, 4.5],
            "last_week": [8_300_000.0, 4.0],
        }
    )
    fig = charts.week_index_bars(
        df, {"revenue": "销售额", "satisfaction": "满意度"}, "t", "本周", "上周"
    )
    last, this = fig.data
    # 14,260,000 / 10,000 = 1,426.0万; index 100 x 14.26 / 8.3 = 171.8 -> "172".
    assert [list(c) for c in this.customdata] == [["销售额", "1,426.0万"], ["满意度", "4.50"]]
    assert list(this.text) == ["172", "112"]  # 100 x 4.5 / 4.0 = 112.5 -> 112 (half to even)
    assert list(last.customdata[0]) == ["销售额", "830.0万"]


def test_remaining_charts_get_formatted_hovers() -> None:
    # Complaint rates per week: buckets 2026-05-04 and 05-11 are days, not months; 1.234 per
    # 1,000 shows 2 decimals, 12,345.6 is 1.2万 (12,345.6 / 10,000 = 1.23 -> one decimal).
    totals = pd.DataFrame(
        {
            "bucket": pd.to_datetime(["2026-05-04", "2026-05-11"]),
            "per_1000_customers": [1.234, 2.0],
            "per_1000_orders": [12_345.6, 3.0],
        }
    )
    names = {"per_1000_customers": "每千客户", "per_1000_orders": "每千订单"}
    fig = charts.localise_hovers(charts.complaint_rates(totals, "t", names, "zh"), "zh")
    assert [list(c) for c in fig.data[0].customdata] == [
        ["2026年5月4日", "1.23"],
        ["2026年5月11日", "2"],
    ]
    assert list(fig.data[1].customdata[0]) == ["2026年5月4日", "1.2万"]
    assert "%{fullData.name}" in fig.data[0].hovertemplate
    # On a percent axis the value is a percentage; a hovertemplate already set is kept.
    bars = charts.complaint_bars(pd.Series(["甲", "乙"]), pd.Series([0.45, 0.123]), "t", True)
    assert [list(c) for c in charts.localise_hovers(bars, "zh").data[0].customdata] == [
        ["甲", "45.0%"],
        ["乙", "12.3%"],
    ]
    shares = charts.share_bars(
        pd.DataFrame({"x": [2024], "s": ["a"], "share": [1.0], "customers": [3]}),
        "x",
        "s",
        {"a": "A"},
        "t",
    )
    before = shares.data[0].hovertemplate
    assert charts.localise_hovers(shares, "zh").data[0].hovertemplate == before


def test_every_chart_wears_the_house_template() -> None:
    # The template is plotly's default (set once, not re-validated per chart): a themed figure,
    # a copy of it (the escaped copy pages show) and an empty chart all carry plotly_white whole.
    import plotly.io as pio

    from crm_core.present.text import safe_figure

    white = pio.templates["plotly_white"]
    fig = charts.themed(go.Figure(go.Bar(x=["a"], y=[1])), "t")
    for f in (fig, safe_figure(fig), charts.empty_figure("t", "nothing")):
        assert f.layout.template == white
        assert f.to_plotly_json()["layout"]["template"] == white.to_plotly_json()
    # Streamlit makes its own template plotly's default when its chart element loads: a figure
    # made under that default still leaves themed() in the house template, and so do the next.
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    configure_streamlit_plotly_theme()
    assert pio.templates.default == "streamlit"
    made_under_streamlit = charts.themed(go.Figure(go.Bar(x=["a"], y=[1])), "t")
    after = charts.themed(go.Figure(go.Bar(x=["a"], y=[1])), "t")
    assert made_under_streamlit.layout.template == white and after.layout.template == white
    assert pio.templates.default == "plotly_white"


def test_pareto_curve_is_the_marked_concentration_curve() -> None:
    # The Pyramid page's Pareto chart, now one builder so that sessions share it: the same
    # figure as the curve with the top customers' point marked (what the page drew before).
    curve = pd.DataFrame({"customer_share": [0.0, 0.5, 1.0], "revenue_share": [0.0, 0.9, 1.0]})
    texts = ("Pareto", "customers", "revenue")
    old = charts.mark_point(charts.concentration_curve(curve, 0.2, *texts), 0.2, 0.6, "top")
    new = charts.pareto_curve(curve, 0.2, 0.6, *texts, "top")
    assert new.to_dict() == old.to_dict()
    assert new.data[-1].text == ("top",) and new.data[-1].x == (0.2,)
