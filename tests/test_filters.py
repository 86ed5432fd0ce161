"""Global filters: each table filtered through its own attribute (leads and complaints by their
own region, else their customer's), the scope (regions / owners) on every query, `metrics --json`
under the sidebar's filters, and the page captions for filters that do not apply."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import make_app_test, signed_in
from parity_support import diff, normalize
from test_cli import run_cli

from crm_core import ingest
from crm_core.app import meeting
from crm_core.engine import db
from crm_core.metrics import complaints, overview, pagesets, pipeline
from crm_core.metrics.figures import filters_not_applied
from crm_core.metrics.filters import (
    NOWHERE,
    Filters,
    ScopeError,
    filter_options,
    inapplicable,
    unknown_values,
)

CUSTOMERS = """customer_id,name,region,owner,source,segment
C1,甲,华东,王芳,车展,个人
C2,乙,华北,李强,网络线索,企业
C3,丙,华东,王芳,车展,个人
"""
# L1: own region 华东, no customer, open at 报价.
# L2: no region of its own, customer C1 (华东): falls back to 华东; won; no owner: C1's 王芳.
# L3: own region 华北, no customer, lost.
# L4: own region 华东 although its customer C2 is in 华北: its own wins; lost (stage 战败).
# L5: no region, no customer: in no region.
LEADS = """lead_id,created_at,stage,outcome,owner,source,region,customer_id,closed_at
L1,2024-01-05 09:00,报价,,王芳,车展,华东,,
L2,2024-01-10 09:00,成交,赢单,,网络线索,,C1,2024-02-01 10:00
L3,2024-02-01 09:00,战败,输单,李强,车展,华北,,2024-02-20 10:00
L4,2024-03-01 09:00,战败,输单,李强,车展,华东,C2,2024-03-20 10:00
L5,2024-03-02 09:00,新线索,,,,,,
"""
# K1: own region 华南 although C1 is in 华东. K2: no region, C1 -> 华东. K3: neither -> none.
COMPLAINTS = """complaint_id,received_at,category,customer_id,region,closed_at
K1,2024-02-03 10:00,服务态度,C1,华南,2024-02-04 10:00
K2,2024-02-10 10:00,交车延迟,C1,,2024-02-11 10:00
K3,2024-04-10 10:00,价格争议,,,2024-04-12 10:00
"""
ORDERS = """order_id,customer_id,order_date,amount,category,status
O1,C1,2024-01-10 10:00,100.00,新车销售,已完成
O2,C1,2024-04-02 10:00,50.00,维修保养,已完成
O3,C2,2024-02-01 10:00,200.00,新车销售,已完成
O4,C3,2024-03-31 23:00,30.50,维修保养,已完成
O5,C1,2024-02-05 10:00,-20.00,新车销售,退货
"""


def _write(folder: Path, **files: str) -> list[ingest.Source]:
    out = []
    for table, text in files.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        out.append(ingest.Source(path, table))
    return out


@pytest.fixture
def small(tmp_path: Path) -> Iterator[db.Connection]:
    con = db.connect(tmp_path / "small.duckdb")
    files = dict(customers=CUSTOMERS, leads=LEADS, complaints=COMPLAINTS, orders=ORDERS)
    ingest.load(con, _write(tmp_path, **files), "replace")
    yield con
    con.close()


def _funnel(con: db.Connection, f: Filters) -> dict[str, int]:
    rep = pipeline.funnel_report(con, None, None, f)
    assert rep is not None
    return dict(zip(rep.funnel["key"], rep.funnel["reached"], strict=True))


# --------------------------------------------------------------------------- leads


def test_leads_follow_their_own_region_else_their_customers(small: db.Connection) -> None:
    # 华东: L1 (own), L2 (C1's), L4 (own beats C2's 华北) = 3 leads. L1 open at 报价 reached
    # every stage up to 报价; L2 won reached all; L4 lost with no stage named counts at entry.
    assert _funnel(small, Filters(region="华东")) == {
        "new_lead": 3,  # L1 L2 L4
        "contacted": 2,  # L1 L2
        "visit_test_drive": 2,
        "quote": 2,
        "won": 1,  # L2
    }
    rates = pipeline.funnel_report(small, None, None, Filters(region="华东")).rates.iloc[0]
    assert rates["close_rate"] == 0.5  # won 1 / closed 2 (L2, L4)
    assert _funnel(small, Filters(region="华北"))["new_lead"] == 1  # L3 only (L4 is its own 华东)
    assert _funnel(small, Filters())["new_lead"] == 5  # L5 counts only without a region filter


def test_lead_owner_falls_back_to_the_customer(small: db.Connection) -> None:
    # 王芳: L1 (own) and L2 (no owner: C1's 王芳) = 2.
    assert _funnel(small, Filters(owner="王芳"))["new_lead"] == 2
    stats = pipeline.stage_stats(small, filters=Filters(owner="李强"))
    assert stats["leads"].sum() == 2  # L3, L4


def test_customer_type_and_category_do_not_apply_to_leads(small: db.Connection) -> None:
    f = Filters(region="华东", segment="企业", category="新车销售")
    assert inapplicable("leads", f) == ["segment", "category"]
    assert inapplicable("orders", f) == []
    assert inapplicable("complaints", f) == ["category"]
    # Not filtered by them (rather than losing every lead without a customer): 3 as for 华东.
    assert _funnel(small, f)["new_lead"] == 3
    assert filters_not_applied(f)["pipeline"] == ["segment", "category"]
    # The presenter's slide says so too (the deck and report are built from it).
    takeaway = meeting.pipeline_slides(small, Filters(category="新车销售"), "zh")[0].takeaway
    assert takeaway.endswith("产品品类筛选不适用于线索：本部分未按其筛选。")
    assert "不适用" not in meeting.pipeline_slides(small, Filters(region="华东"), "zh")[0].takeaway


# --------------------------------------------------------------------------- complaints


def test_complaints_follow_their_own_region(small: db.Connection) -> None:
    def count(f: Filters) -> int:
        return complaints.headline(small, None, f)["complaints"]

    assert count(Filters()) == 3
    assert count(Filters(region="华南")) == 1  # K1 by its own region
    assert count(Filters(region="华东")) == 1  # K2 through C1; K1 is its own 华南
    assert count(Filters(regions=("华东", "华南"))) == 2  # K1 + K2; K3 has no region
    assert count(Filters(owner="王芳")) == 2  # the account owner of C1: K1, K2


# --------------------------------------------------------------------------- scope


def test_scope_values_are_bound_and_hashable() -> None:
    f = Filters(regions=("华南", "华东", "华东"))
    assert f.regions == ("华东", "华南")  # sorted, unique: equal scopes are equal keys
    assert f.params()["regions"] == "\x1f华东\x1f华南\x1f"
    assert f.params()["owners"] is None
    assert hash(f) == hash(Filters(regions=("华东", "华南")))
    with pytest.raises(ScopeError):
        Filters(regions=("a\x1fb",))


def test_within_scope_narrows_and_never_widens() -> None:
    scope = ("华东", "华南")
    assert Filters().within_scope(scope).regions == scope
    inside = Filters(region="华东").within_scope(scope)
    assert (inside.region, inside.regions) == ("华东", scope)  # narrows within the scope
    outside = Filters(region="华北").within_scope(scope)
    assert (outside.region, outside.regions) == (None, scope)  # refused: the scope applies
    assert Filters(regions=("华东",)).within_scope(scope).regions == ("华东",)  # intersection
    assert Filters(regions=("华北",)).within_scope(scope).regions == (NOWHERE,)  # nothing shared
    owners = Filters(owner="张三").within_scope(owners=("王芳",))
    assert (owners.owner, owners.owners, owners.regions) == (None, ("王芳",), ())


def test_scope_equals_the_single_filter_and_adds_up(small: db.Connection) -> None:
    p = overview.Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))

    def revenue(f: Filters) -> float:
        return float(overview.headline_kpis(small, p, f)["revenue"])

    # Net of returns (docs/metrics.md, "Net or gross"): 华东 100 + 50 + 30.50 − 20 (C1's return
    # O5) = 160.50; + 华北 200 (C2) = 360.50.
    assert revenue(Filters(regions=("华东",))) == revenue(Filters(region="华东")) == 160.5
    both = Filters(regions=("华东", "华北"))
    assert revenue(both) == revenue(Filters(region="华东")) + revenue(Filters(region="华北"))
    assert revenue(both) == 360.5
    assert _funnel(small, both)["new_lead"] == 4  # 华东 3 + 华北 1; L5 has no region
    # A single region outside the scope finds nothing: the scope is never widened.
    assert revenue(Filters(region="华北", regions=("华东",))) == 0


def test_scoped_page_calls_equal_the_region_filter(demo_con: db.Connection) -> None:
    # Every page call (crm_core.metrics.pagesets) under the scope {华东} gives what region = 华东 gives.
    single = pagesets.calls(demo_con, Filters(region="华东"))
    scoped = pagesets.calls(demo_con, Filters(regions=("华东",)))
    assert [c.name for c in single] == [c.name for c in scoped]
    failures = []

    def outcome(call):  # a refusal (a fit the region's data cannot pin down) is an outcome too
        try:
            return normalize(call(demo_con))
        except Exception as e:
            return f"{type(e).__name__}: {e}"

    for a, b in zip(single, scoped, strict=True):
        want, got = outcome(a), outcome(b)
        if a.name == "figures.metrics":  # the echo of the filters differs, as it should
            for key in ("filters", "filters_not_applied"):
                assert want.pop(key) != got.pop(key)
        failures += diff(want, got, a.name)[:2]
    assert not failures, "\n".join(failures)


def test_two_region_scope_is_the_sum_of_its_regions(demo_con: db.Connection) -> None:
    p = overview.Period(dt.date(2025, 11, 1), dt.date(2026, 10, 31))
    one, two = Filters(region="华东"), Filters(region="华南")
    both = Filters(regions=("华东", "华南"))

    def kpis(f: Filters) -> dict:
        return overview.headline_kpis(demo_con, p, f)

    for k in ("revenue", "orders", "active_customers", "complaints"):
        assert kpis(both)[k] == pytest.approx(kpis(one)[k] + kpis(two)[k]), k
    leads = {f: pipeline.stage_stats(demo_con, filters=f)["leads"].sum() for f in (one, two, both)}
    assert leads[both] == leads[one] + leads[two]
    heads = {f: complaints.headline(demo_con, None, f)["complaints"] for f in (one, two, both)}
    assert heads[both] == heads[one] + heads[two]


def test_demo_region_funnel_keeps_unconverted_leads(demo_con: db.Connection) -> None:
    rep = pipeline.funnel_report(demo_con, None, None, Filters(region="华东"))
    assert rep is not None
    rates = rep.rates.iloc[0]
    assert rates["leads"] > rates["won"] > 0
    assert (rep.funnel["conversion"].dropna() < 1).all()  # no stage at 100 %
    assert rates["close_rate"] < 0.5


# --------------------------------------------------------------------------- older databases


def test_an_older_database_gets_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute(
        "CREATE TABLE leads (lead_id VARCHAR, created_at TIMESTAMP, stage VARCHAR, "
        "customer_id VARCHAR, owner VARCHAR, source VARCHAR)"
    )
    raw.execute("INSERT INTO leads VALUES ('L1', '2024-01-01 09:00', '新线索', NULL, 'A', 'B')")
    raw.close()
    con = db.connect(path)
    assert {"region", "grade", "outcome"} <= db.table_columns(con)["leads"]
    assert pipeline.stage_stats(con, filters=Filters(owner="A"))["leads"].sum() == 1
    con.close()


# --------------------------------------------------------------------------- metrics --json


def test_metrics_json_under_filters(small: db.Connection, tmp_path: Path) -> None:
    small.close()
    out = run_cli(
        "metrics", "--db", str(tmp_path / "small.duckdb"), "--json",
        "--region", "华东", "--start", "2024-01-01", "--end", "2024-03-31",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)
    # 华东 orders dated 2024-01-01 .. 2024-03-31 (end day included): O1 100.00 (C1) + O4 30.50
    # (C3, 23:00 on the last day) = 130.50; O2 is after the period, O3 is 华北, O5 a return.
    assert m["revenue"] == 130.5
    assert m["customers_with_orders"] == 2  # C1, C3
    assert (m["first_order_date"], m["last_order_date"]) == ("2024-01-10", "2024-03-31")
    assert m["tables"]["orders"] == 5  # whole tables, as the filters_not_applied entry says
    # Leads created in the period in 华东: L1, L2, L4 (L5 has no region); won L2.
    assert m["lead_funnel"]["new_lead"] == 3 and m["lead_funnel"]["won"] == 1
    assert m["lead_close_rate"] == 0.5  # 1 won / 2 closed
    assert m["complaints_monthly"] == {"2024-02": 1}  # K2 (K1 is 华南, K3 in April, no region)
    assert m["filters"] == {"start": "2024-01-01", "end": "2024-03-31", "region": "华东"}
    assert m["filters_not_applied"] == {
        "tables": ["start", "end", "region"],
        "lifecycle": ["start"],
        "clv": ["start", "end"],
    }
    assert m["lifecycle_as_of"] == "2024-03-31"


def test_metrics_refuses_a_value_the_data_lacks(small: db.Connection, tmp_path: Path) -> None:
    assert unknown_values(Filters(region="华东", owner="nobody"), {"region": ["华东"]}) == {
        "owner": "nobody"
    }
    small.close()
    out = run_cli("metrics", "--db", str(tmp_path / "small.duckdb"), "--region", "火星")
    assert out.returncode == 2
    assert "火星" in out.stderr and "华东, 华北" in out.stderr  # the known values, listed
    out = run_cli("metrics", "--db", str(tmp_path / "small.duckdb"), "--start", "2024-13-01")
    assert out.returncode == 2 and "2024-13-01" in out.stderr


# --------------------------------------------------------------------------- pages


def test_pipeline_page_says_category_does_not_apply_to_leads(
    demo_copy: Path, app_env: None
) -> None:
    at = make_app_test(demo_copy, "pages/pipeline.py", {"lang": "zh", "category": "新车销售"}).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert any("产品品类筛选不适用于线索" in c for c in captions), captions
    at = make_app_test(demo_copy, "pages/pipeline.py", {"lang": "zh", "region": "华东"}).run()
    assert not any("不适用于线索" in c.value for c in at.caption)


def _cached_script() -> None:
    import datetime as dt

    import streamlit as st

    from crm_core.app import ui
    from crm_core.metrics import overview
    from crm_core.metrics.filters import Filters

    con = ui.connection()
    p = overview.Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    for regions in (("华东",), ("华北",)):
        st.text(
            float(ui.cached(overview.headline_kpis, con, p, Filters(regions=regions))["revenue"])
        )


def test_cached_results_are_keyed_by_the_scope(
    small: db.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: None
) -> None:
    from streamlit.testing.v1 import AppTest

    small.close()
    monkeypatch.setenv("CRM_LENS_DB", str(tmp_path / "small.duckdb"))
    at = AppTest.from_function(_cached_script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    # Net: 华东 100 + 50 + 30.50 − 20 (return O5) = 160.5; 华北 200: two scopes, two cache entries.
    assert [t.value for t in at.text] == ["160.5", "200.0"]


def test_sidebar_refuses_a_url_region_outside_the_scope(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/pipeline.py", {"lang": "en", "region": "华北"})
    signed_in(at, demo_copy, "east", regions=("华东",))  # a viewer of 华东 only
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    f = at.session_state["_crm_filters"]
    assert (f.region, f.regions) == (None, ("华东",))  # the scope applies, never 华北
    assert any("region=华北" in w.value for w in at.sidebar.warning)


def test_filter_options_stay_within_the_scope(small: db.Connection) -> None:
    everything = filter_options(small)
    # Regions: customers 华东 华北, leads 华东 华北, complaints 华南.
    assert everything["region"] == sorted(["华东", "华北", "华南"])
    east = filter_options(small, Filters(regions=("华东",)))
    assert east["region"] == ["华东"]
    assert east["owner"] == ["李强", "王芳"]  # C1/C3 王芳; L1 王芳, L4 李强 (its own 华东)
    assert filter_options(small, Filters(owners=("李强",)))["region"] == sorted(["华东", "华北"])


# --------------------------------------------------------------------------- the filter line


def test_active_line_names_period_dimensions_and_scope() -> None:
    from crm_core.metrics.filters import NOWHERE
    from crm_core.present.filter_text import active_line

    assert active_line(Filters(), "zh") == "筛选：无（全部数据）"
    assert active_line(Filters(), "en") == "Filters: none (all data)"
    f = Filters(
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 6, 30),
        region="华东",
        category="新车销售",
        owners=("王芳", "李强"),  # sorted by the dataclass: 李强 before 王芳
    )
    assert active_line(f, "zh") == (
        "筛选：期间 2024年1月1日 至 2024年6月30日；区域 = 华东；产品品类 = 新车销售；"
        "权限范围 负责人：李强、王芳"
    )
    assert active_line(f, "en") == (
        "Filters: period 2024-01-01 – 2024-06-30; Region = 华东; Product category = 新车销售; "
        "scope Owner: 李强, 王芳"
    )
    # Two scopes with nothing in common hold the NOWHERE marker: said as "(none)", not shown raw.
    assert active_line(Filters(regions=(NOWHERE,)), "en") == "Filters: scope Region: (none)"
    # A page passes its default period, used when the filters set none.
    line = active_line(Filters(region="华东"), "zh", dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert line == "筛选：期间 2024年1月1日 至 2024年3月31日；区域 = 华东"
