"""Drill-down lists (crm_core/drill.py): hand-made fixture, the demo's charts, selection events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import FIXTURES, make_app_test, signed_in

from crm_core import ingest
from crm_core.engine import db
from crm_core.metrics import (
    complaints,
    drill,
    lifecycle,
    lifecycle_cohorts,
    overview,
    pipeline,
    value,
)
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import drill_text

# tests/fixtures/drill, seen over 2024 (as of 2024-12-31):
#   C1 张三 华东: O1 1,000 (01-10), O2 500 (03-05)      -> net 1,500, cohort 2024-01 (+0, +2)
#   C2 李四 华东: O3 300 (01-20)                         -> net 300,   cohort 2024-01 (+0)
#   C3 王五 华南: O4 200 (02-01), O5 100 (03-10)         -> net 300,   cohort 2024-02 (+0, +1)
#   C4 赵六 华南: no order (created 2024-06-01)          -> prospect
#   C5 钱七 华东: O6 800 on 2023-05-01 only              -> sleeping, lost
# Complaints: March K1, K2 (C1), K3 (C3), K4 (no customer, own region 华东); April K5 (C2).
# Leads: L1 新线索 (C4), L2 已联系 (C2), L3 报价 (C1), L4 成交 (C1), L5 战败 (C3), L6 已联系 (none).
YEAR = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
EAST = Filters(regions=("华东",))
SOUTH = Filters(regions=("华南",))


@pytest.fixture
def fx(con: db.Connection) -> db.Connection:
    d = FIXTURES / "drill"
    tables = ("customers", "orders", "complaints", "leads")
    ingest.load(con, [ingest.Source(d / f"{t}.csv", t) for t in tables])
    return con


def _ids(df) -> list:
    return [None if not isinstance(x, str) else x for x in df["customer_id"]]


def test_tier_lists_are_the_pyramid_counts(fx: db.Connection) -> None:
    # Buyers n = 3: C1 1,500, then C2 300 and C3 300 (a tie: the lower id ranks first).
    # Diamond holds ranks <= ceil(1% * 3) = 1 -> C1; gold <= ceil(5% * 3) = 1 and silver
    # <= ceil(20% * 3) = 1 add nobody; regular C2, C3; sleeping C5 (bought before 2024);
    # prospect C4 (never bought).
    want = {
        "diamond": ["C1"], "gold": [], "silver": [], "regular": ["C2", "C3"],
        "sleeping": ["C5"], "prospect": ["C4"],
    }  # fmt: skip
    pyr = value.value_pyramid(fx, YEAR).set_index("tier")["customers"]
    for tier, ids in want.items():
        rows = drill.tier_customers(fx, YEAR, tier)
        assert _ids(rows) == ids, tier
        assert len(rows) == pyr[tier], tier
    assert list(drill.tier_customers(fx, YEAR, "regular").columns) == list(drill.TIER_COLUMNS)
    c1 = drill.tier_customers(fx, YEAR, "diamond").iloc[0]
    assert (c1["name"], c1["net_revenue"], c1["orders"]) == ("张三", 1500.0, 2)  # 1,000 + 500


def test_tier_list_within_scope(fx: db.Connection) -> None:
    # Scope 华南: buyers C3 only (n = 1) -> diamond C3; prospect C4; nothing of 华东.
    assert _ids(drill.tier_customers(fx, YEAR, "diamond", SOUTH)) == ["C3"]
    assert _ids(drill.tier_customers(fx, YEAR, "prospect", SOUTH)) == ["C4"]
    assert drill.tier_customers(fx, YEAR, "regular", SOUTH).empty
    pyr = value.value_pyramid(fx, YEAR, SOUTH).set_index("tier")["customers"]
    for tier in value.TIER_KEYS:
        assert len(drill.tier_customers(fx, YEAR, tier, SOUTH)) == pyr[tier], tier
    with pytest.raises(ValueError, match="tier"):
        drill.tier_customers(fx, YEAR, "platinum")


def test_segment_lists(fx: db.Connection) -> None:
    # Means over the 3 buyers: recency (as of 12-31) C1 301, C2 346, C3 296 -> mean 314.3;
    # orders 2, 1, 2 -> mean 1.67; net 1,500, 300, 300 -> mean 700.
    # C1: R H (301 < 314.3), F H, M H -> important_value; C3: H, H, L -> general_value;
    # C2: L, L, L -> general_winback.
    assert _ids(drill.segment_customers(fx, YEAR, "important_value")) == ["C1"]
    assert _ids(drill.segment_customers(fx, YEAR, "general_value")) == ["C3"]
    assert _ids(drill.segment_customers(fx, YEAR, "general_winback")) == ["C2"]
    segs = value.rfm_segments(fx, YEAR).set_index("segment")["customers"]
    for s in value.SEGMENTS:
        assert len(drill.segment_customers(fx, YEAR, s.key)) == segs[s.key], s.key


def test_stage_lists(fx: db.Connection) -> None:
    # As of 2024-12-31: C1 gaps 55 days (01-10 -> 03-05), silent 301 days > 2 x 55 and > 90
    # -> decline; C3 gap 38 days (02-01 -> 03-10), silent 296 > 76 -> decline; C2 one
    # purchase -> exploration; C5 last bought 2023-05-01, > 365 days -> lost; C4 prospect.
    end = YEAR.end
    assert _ids(drill.stage_customers(fx, end, "decline")) == ["C1", "C3"]  # 1,500 before 300
    assert _ids(drill.stage_customers(fx, end, "exploration")) == ["C2"]
    assert _ids(drill.stage_customers(fx, end, "lost")) == ["C5"]
    assert _ids(drill.stage_customers(fx, end, "decline", EAST)) == ["C1"]
    counts = lifecycle.stage_counts(fx, end).set_index("stage")["customers"]
    for s in lifecycle.STAGES:
        assert len(drill.stage_customers(fx, end, s)) == counts.get(s, 0), s


def test_cohort_cells(fx: db.Connection) -> None:
    end = YEAR.end
    # Cohort 2024-01 = {C1, C2}; month +0 both, +2 (March) only C1 with O2 500.
    assert _ids(drill.cohort_customers(fx, end, dt.date(2024, 1, 1), 0)) == ["C1", "C2"]
    march = drill.cohort_customers(fx, end, dt.date(2024, 1, 15), 2)
    assert _ids(march) == ["C1"]
    assert (march["orders"].iloc[0], march["amount"].iloc[0]) == (1, 500.0)
    # Cohort 2024-02 = {C3}; +1 is March (O5 100).
    assert _ids(drill.cohort_customers(fx, end, dt.date(2024, 2, 1), 1)) == ["C3"]
    assert drill.cohort_customers(fx, end, dt.date(2024, 2, 1), 1, EAST).empty
    cells = lifecycle_cohorts.cohort_retention(fx, end, YEAR.start, end).set_index(
        ["cohort", "months_since"]
    )["customers"]
    for (cohort, k), n in cells.items():
        assert len(drill.cohort_customers(fx, end, cohort.date(), int(k))) == n, (cohort, k)


def test_complaint_month(fx: db.Connection) -> None:
    # March: C1 2 (K1, K2), C3 1 (K3), no customer 1 (K4) = 4, the month's bar.
    rows = drill.complaint_month_customers(fx, dt.date(2024, 3, 31))
    assert _ids(rows) == ["C1", "C3", None]
    assert rows["complaints"].tolist() == [2, 1, 1]
    trend = complaints.trend(fx, YEAR).set_index("bucket")["complaints"]
    assert rows["complaints"].sum() == trend[dt.datetime(2024, 3, 1)] == 4
    # Scope 华东: K1, K2 (C1 of 华东) and K4 (its own region 华东); K3 (C3, 华南) is out.
    east = drill.complaint_month_customers(fx, dt.date(2024, 3, 1), EAST)
    assert (_ids(east), east["complaints"].tolist()) == (["C1", None], [2, 1])


def test_complaint_month_segment(fx: db.Connection) -> None:
    # The 质量 segment of March's stacked bar: K1 (C1) and K3 (C3), one each; 物流: K4 (no
    # customer). The fixture has no severity column, so severity's blank group is the whole
    # month (4) and a named severity is nobody.
    rows = drill.complaint_month_customers(fx, dt.date(2024, 3, 1), by="category", group="质量")
    assert (_ids(rows), rows["complaints"].tolist()) == (["C1", "C3"], [1, 1])
    rows = drill.complaint_month_customers(fx, dt.date(2024, 3, 1), by="category", group="物流")
    assert (_ids(rows), rows["complaints"].tolist()) == ([None], [1])
    blank = drill.complaint_month_customers(fx, dt.date(2024, 3, 1), by="severity", group=None)
    assert blank["complaints"].sum() == 4
    assert drill.complaint_month_customers(fx, dt.date(2024, 3, 1), by="severity", group="高").empty
    # Scope 华南 keeps only K3 of the 质量 segment.
    south = drill.complaint_month_customers(fx, dt.date(2024, 3, 1), SOUTH, "category", "质量")
    assert _ids(south) == ["C3"]
    with pytest.raises(ValueError, match="by"):
        drill.complaint_month_customers(fx, dt.date(2024, 3, 1), by="customer_id", group="C1")


def test_funnel_step_leads(fx: db.Connection) -> None:
    # Reached: 新线索 all 6; 已联系 L2, L3, L4 (won reaches every step), L6; 报价 L3, L4;
    # 成交 L4. L5 was lost at 战败, which names no stage: it reached the entry step only.
    s, e = YEAR.start, YEAR.end
    want = {
        "新线索": ["L1", "L2", "L3", "L4", "L5", "L6"],
        "已联系": ["L2", "L3", "L4", "L6"],
        "报价": ["L3", "L4"],
        "成交": ["L4"],
    }
    funnel = pipeline.funnel_report(fx, s, e).funnel.set_index("step")["reached"]
    for step, ids in want.items():
        rows = drill.funnel_step_leads(fx, s, e, step)
        assert rows["lead_id"].tolist() == ids, step
        assert len(rows) == funnel[step], step
    assert drill.funnel_step_leads(fx, s, e, "成交")["name"].tolist() == ["张三"]
    assert drill.funnel_step_leads(fx, s, e, "no such step").empty
    # Scope 华南: leads of C3 (L5) and C4 (L1) only, by their customer's region.
    assert drill.funnel_step_leads(fx, s, e, "新线索", SOUTH)["lead_id"].tolist() == ["L1", "L5"]


def test_demo_tier_lists_match_the_chart(demo_con: db.Connection) -> None:
    period = overview.default_period(demo_con)
    assert period is not None
    for f in (Filters(), Filters(regions=("华东",))):
        pyr = value.value_pyramid(demo_con, period, f).set_index("tier")["customers"]
        for tier in value.TIER_KEYS:
            assert len(drill.tier_customers(demo_con, period, tier, f)) == pyr[tier], (f, tier)


def test_selection_events() -> None:
    event = {"selection": {"points": [{"customdata": ["gold"], "x": 0.2, "point_index": 1}]}}
    assert drill.selected(event) == ["gold"]
    assert drill.selected(event, "point_index") == [1]
    assert drill.selected({"selection": {"points": []}}) == []
    assert drill.selected(None) == []
    assert drill.selected_row({"selection": {"rows": [3], "columns": []}}) == 3
    assert drill.selected_row({"selection": {"rows": []}}) is None


def test_labelled_lists(fx: db.Connection) -> None:
    rows = drill_text.labelled(drill.tier_customers(fx, YEAR, "regular"), "zh")
    assert list(rows.columns[:5]) == ["客户编号", "客户名称", "区域", "负责人", "价值层级"]
    assert rows["价值层级"].tolist() == ["普通", "普通"]
    stages = drill_text.labelled(drill.stage_customers(fx, YEAR.end, "lost"), "en")
    assert stages["Stage"].tolist() == ["Lost"]


def test_pyramid_page_lists_a_clicked_tier(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "zh"})
    at.session_state["chart_pyramid"] = {
        "selection": {"points": [{"customdata": ["gold"]}], "point_indices": [1]}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    n = int(value.value_pyramid(con, period).set_index("tier").loc["gold", "customers"])
    con.close()
    assert any(c.value.startswith("黄金") and str(n) in c.value for c in at.caption)


def _page(demo_copy: Path, page: str, state: dict) -> object:
    at = make_app_test(demo_copy, f"pages/{page}.py", {"lang": "en"})
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _points(*points: dict) -> dict:
    return {"selection": {"points": list(points), "point_indices": []}}


def _listed(at: object, prefix: str) -> str:
    hits = [c.value for c in at.caption if c.value.startswith(prefix)]  # type: ignore[attr-defined]
    assert hits, [c.value for c in at.caption]  # type: ignore[attr-defined]
    return hits[0]


def test_pages_list_clicked_elements(demo_copy: Path, app_env: None) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    n_stage = len(drill.stage_customers(con, period.end, "stability"))
    n_cohort = len(drill.cohort_customers(con, period.end, period.start, 1))
    n_month = len(drill.complaint_month_customers(con, dt.date(2026, 9, 1)))
    rep = pipeline.funnel_report(con, period.start, period.end)
    assert rep is not None
    step = rep.funnel["step"].iloc[1]
    n_leads = len(drill.funnel_step_leads(con, period.start, period.end, step))
    n_seg = len(drill.segment_customers(con, period, "important_value"))
    con.close()
    at = _page(
        demo_copy,
        "lifecycle",
        {
            "chart_lifecycle_stages": _points({"customdata": ["stability"], "x": "Stability"}),
            "chart_lifecycle_cohorts": _points({"customdata": str(period.start), "x": "1"}),
        },
    )
    assert _listed(at, "Stability:") == f"Stability: {n_stage:,} customers"
    assert _listed(at, "Cohort").endswith(f": {n_cohort:,} customers")
    at = _page(demo_copy, "complaints", {"chart_complaints_trend": _points({"x": "2026-09-01"})})
    assert _listed(at, "2026-09:") == f"2026-09: {n_month:,} customers"
    at = _page(demo_copy, "pipeline", {"chart_pipeline_funnel": _points({"point_index": 1})})
    assert _listed(at, "Contacted:") == f"Contacted: {n_leads:,} leads"
    # The RFM segment table's first row is important_value.
    at = _page(demo_copy, "pyramid", {"rfm_pick": {"selection": {"rows": [0], "columns": []}}})
    assert _listed(at, "Important value:") == f"Important value: {n_seg:,} customers"


def test_choosing_a_listed_row_opens_the_customer(demo_copy: Path, app_env: None) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    first = drill.tier_customers(con, period, "gold")["customer_id"].iloc[0]
    con.close()
    at = _page(
        demo_copy,
        "pyramid",
        {
            "chart_pyramid": _points({"customdata": ["gold"]}),
            "drill_rows_tier-gold": {"selection": {"rows": [0], "columns": [], "cells": []}},
        },
    )
    assert at.query_params.get("id") in (first, [first])  # type: ignore[attr-defined]
    assert any(t.value == "Customer 360" for t in at.title)  # type: ignore[attr-defined]


def test_scoped_viewer_lists_only_their_region(demo_copy: Path, app_env: None) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    scoped = drill.tier_customers(con, period, "regular", Filters(regions=("华东",)))
    everyone = drill.tier_customers(con, period, "regular")
    con.close()
    assert 0 < len(scoped) < len(everyone) and set(scoped["region"]) == {"华东"}
    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "en"})
    signed_in(at, demo_copy, "east", "viewer", regions=("华东",))
    at.session_state["chart_pyramid"] = _points({"customdata": ["regular"]})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _listed(at, "Regular:") == f"Regular: {len(scoped):,} customers"


def test_heatmap_cells_carry_click_targets() -> None:
    import numpy as np
    import pandas as pd

    from crm_core.present import charts

    # Two cohorts x two months; the later cohort's month 1 is after the data (NaN): 3 targets.
    m = pd.DataFrame(
        [[1.0, 0.5], [1.0, np.nan]],
        index=pd.to_datetime(["2024-01-01", "2024-02-01"]),
        columns=[0, 1],
    )
    fig = charts.cohort_heatmap(m, "t", "x", "y", "en")
    dots = fig.data[-1]
    assert list(dots.customdata) == ["2024-01-01", "2024-01-01", "2024-02-01"]
    assert list(dots.x) == ["0", "1", "0"] and list(dots.y) == ["2024-01", "2024-01", "2024-02"]
    event = {"selection": {"points": [{"customdata": "2024-01-01", "x": "1"}]}}
    assert (drill.selected(event), drill.selected(event, "x")) == (["2024-01-01"], ["1"])


def test_complaint_click_names_the_month_and_the_segment() -> None:
    def event(**point):  # type: ignore[no-untyped-def]
        return {"selection": {"points": [point]}}

    assert drill.complaint_click({"selection": {"points": []}}) is None
    # A segment carries its group; the blank group carries "" ; the median line carries none.
    assert drill.complaint_click(event(x="2024-03-01", customdata="质量")) == (
        dt.date(2024, 3, 1), True, "质量",
    )  # fmt: skip
    assert drill.complaint_click(event(x="2024-03-01", customdata="")) == (
        dt.date(2024, 3, 1), True, None,
    )  # fmt: skip
    assert drill.complaint_click(event(x="2024-03-01")) == (dt.date(2024, 3, 1), False, None)
    # The list key holds no user text: a hostile group value is hashed.
    key = drill.complaint_list_key(dt.date(2024, 3, 1), "category", "../[x](http://e)")
    assert key.startswith("complaints-2024-03-category-") and "/" not in key and "[" not in key
    assert drill.complaint_list_key(dt.date(2024, 3, 1), None, None) == "complaints-2024-03"


def test_a_cohort_cell_click_names_its_month_and_age() -> None:
    # A cell carries its cohort month as customdata; x is the months since it.
    event = {"selection": {"points": [{"x": 3, "customdata": ["2024-02-01T00:00:00"]}]}}
    assert drill.cohort_click(event) == (dt.date(2024, 2, 1), 3)
    assert drill.cohort_click({"selection": {"points": []}}) is None
    assert drill.cohort_click(None) is None
