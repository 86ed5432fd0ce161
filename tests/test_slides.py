"""Presentation slides: every feature's provider on the demo data and on a minimal database."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import pytest
from conftest import ROOT

from crm_core import db, ingest, slides

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
    found = slides.all_slides(demo_con, lang=lang)
    assert len(found) >= 10
    assert [s.key for s in found] == MEETING_ORDER
    for s in found:
        assert s.title.strip() and s.takeaway.strip(), s.key
        assert isinstance(s.figure, go.Figure) and s.figure.data, s.key
        assert "{" not in s.takeaway and "nan" not in s.takeaway.lower(), s.takeaway


def test_takeaways_come_from_the_data(demo_con) -> None:  # type: ignore[no-untyped-def]
    from crm_core import overview, value

    found = {s.key: s for s in slides.all_slides(demo_con, lang="en")}
    period = overview.default_period(demo_con)
    assert period is not None
    par = value.pareto(demo_con, period)
    share = f"{par.top_revenue_share * 100:.0f}%"  # type: ignore[operator]
    assert found["pyramid.pareto"].takeaway == f"Top 20% of customers bring {share} of revenue"
    zh = {s.key: s for s in slides.all_slides(demo_con, lang="zh")}
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
        found = slides.all_slides(con, lang=lang)
        keys = [s.key for s in found]
        assert not any(k.startswith(("pipeline.", "complaints.")) for k in keys)
        for s in found:
            assert s.title and s.takeaway and isinstance(s.figure, go.Figure)
    finally:
        con.close()


def test_empty_database_has_no_slides(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "empty.duckdb")
    try:
        assert slides.all_slides(con, lang="en") == []
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
    found = slides.all_slides(con, lang="en")
    con.close()
    keys = [s.key for s in found]
    assert "clv.p_alive" not in keys and "overview.revenue" in keys
