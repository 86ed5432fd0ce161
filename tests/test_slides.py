"""Presentation slides: every feature's provider on the demo data and on a minimal database."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import pytest
from conftest import ROOT

from crm_core import ingest
from crm_core.app import meeting
from crm_core.engine import db
from crm_core.present import slides

MEETING_ORDER = [
    "overview.revenue",
    "overview.new_customers",
    "pyramid.tiers",
    "pyramid.pareto",
    "pyramid.rfm",
    "lifecycle.funnel",
    "lifecycle.new_lost",
    "pipeline.funnel",
    "complaints.trend",
    "complaints.stages",
    "clv.p_alive",
    "weekly.compare",
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_deck_has_every_feature(demo_con, lang: str) -> None:  # type: ignore[no-untyped-def]
    found = meeting.all_slides(demo_con, lang=lang)
    assert len(found) >= 10
    assert [s.key for s in found] == MEETING_ORDER
    for s in found:
        assert s.title.strip() and s.takeaway.strip(), s.key
        assert isinstance(s.figure, go.Figure) and s.figure.data, s.key
        assert "{" not in s.takeaway and "nan" not in s.takeaway.lower(), s.takeaway


def test_takeaways_come_from_the_data(demo_con) -> None:  # type: ignore[no-untyped-def]
    from crm_core.metrics import overview, value

    found = {s.key: s for s in meeting.all_slides(demo_con, lang="en")}
    period = overview.default_period(demo_con)
    assert period is not None
    par = value.pareto(demo_con, period)
    share = f"{par.top_revenue_share * 100:.0f}%"  # type: ignore[operator]
    assert found["pyramid.pareto"].takeaway == f"Top 20% of customers bring {share} of revenue"
    zh = {s.key: s for s in meeting.all_slides(demo_con, lang="zh")}
    assert zh["pyramid.pareto"].takeaway == f"前 20% 的客户贡献了 {share} 的销售额"
    assert "spike" in found["complaints.trend"].takeaway


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customers_and_orders_only_do_not_raise(tmp_path: Path, lang: str) -> None:
    fixtures = ROOT / "tests" / "fixtures"
    con = db.connect(tmp_path / "small.duckdb")
    try:
        ingest.load(
            con,
            [
                ingest.Source(fixtures / "customers_bom.csv", "customers"),
                ingest.Source(fixtures / "orders_gbk.csv", "orders"),
            ],
        )
        found = meeting.all_slides(con, lang=lang)
        keys = [s.key for s in found]
        assert not any(k.startswith(("pipeline.", "complaints.")) for k in keys)
        for s in found:
            assert s.title and s.takeaway and isinstance(s.figure, go.Figure)
    finally:
        con.close()


def test_empty_database_has_no_slides(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "empty.duckdb")
    try:
        assert meeting.all_slides(con, lang="en") == []
    finally:
        con.close()


def test_no_churn_slide_when_the_churn_model_is_not_identified(
    shared_data: Path, tmp_path: Path
) -> None:
    # One year of UCI retail invoices: the churn model is not identified (tests/test_clv.py), so
    # there is no P(alive) to present; the other slides still come.
    con = db.connect(tmp_path / "uci.duckdb")
    src = shared_data / "uci_online_retail" / "online_retail_40k_line_sample.csv"
    ingest.load(con, [ingest.Source(src)], "replace")
    found = meeting.all_slides(con, lang="en")
    con.close()
    keys = [s.key for s in found]
    assert "clv.p_alive" not in keys and "overview.revenue" in keys


MONEY = slides.NativeChart(
    "column", ("1月", "2月"), (("净收入", (12_345_678.9, 2_500_000.0)),), money=True
)


def test_deck_chart_shows_large_values_in_wan_and_yi(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    monkeypatch.delenv("CRM_LENS_CURRENCY", raising=False)
    zh = slides.deck_chart(MONEY, "zh")
    # Peak 12,345,678.9 >= 1万 (10^4) and < 1亿 (10^8): 12,345,678.9 / 10^4 = 1,234.56789,
    # 2,500,000 / 10^4 = 250; 1,234.6万 >= 100 -> no decimals.
    assert zh.series[0][0] == "净收入（万元）"
    assert zh.series[0][1] == pytest.approx((1234.56789, 250.0))
    assert (zh.number_format, zh.axis_title) == ("#,##0", "单位：万元")
    # 3.2亿 and 0.5亿: 320,000,000 / 10^8 = 3.2 (< 10 -> two decimals).
    big = slides.NativeChart("bar", ("a", "b"), (("客户", (320_000_000.0, 50_000_000.0)),))
    zh = slides.deck_chart(big, "zh")
    assert zh.series[0] == ("客户（亿）", (3.2, 0.5))
    assert (zh.number_format, zh.axis_title) == ("#,##0.00", "单位：亿")
    # Lost customers below the axis count by their size: peak |-45,000| = 4.5万 (< 10: two
    # decimals); 12,000 / 10^4 = 1.2.
    stacked = slides.NativeChart("stacked", ("a",), (("新增", (12_000.0,)), ("流失", (-45_000.0,))))
    zh = slides.deck_chart(stacked, "zh")
    assert [s[1] for s in zh.series] == [(1.2,), (-4.5,)] and zh.number_format == "#,##0.00"
    # Small counts stay as they are; small money says its unit.
    small = slides.NativeChart("column", ("a",), (("客户", (9_999.0,)),))
    assert slides.deck_chart(small, "zh") == small
    assert slides.deck_chart(dataclasses.replace(small, money=True), "zh").axis_title == "单位：元"
    # Not scaled: percentages, an index, tables, XY curves.
    share = dataclasses.replace(big, number_format=slides.PERCENT_FORMAT)
    assert slides.deck_chart(share, "zh") == share
    index = dataclasses.replace(big, scalable=False)
    assert slides.deck_chart(index, "zh") == index


def test_deck_chart_in_english_keeps_values_and_reads_millions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CRM_LENS_CURRENCY", raising=False)
    en = slides.deck_chart(MONEY, "en")
    # Values unchanged; 12,345,678.9 reaches 1,000,000: Excel's ",," shows it as 12.3M.
    assert en.series == MONEY.series
    assert (en.number_format, en.axis_title) == ('#,##0.0,,"M"', "")
    small = slides.NativeChart("column", ("a",), (("Customers", (14_000.0,)),))
    assert slides.deck_chart(small, "en").number_format == "#,##0"
    monkeypatch.setenv("CRM_LENS_CURRENCY", "US$")
    assert slides.deck_chart(MONEY, "en").axis_title == "Unit: US$"
    # Another currency in Chinese is named by its symbol; none set names none.
    assert slides.deck_chart(MONEY, "zh").axis_title == "单位：万 US$"
    monkeypatch.setenv("CRM_LENS_CURRENCY", "")
    assert slides.deck_chart(MONEY, "zh").axis_title == "单位：万"
