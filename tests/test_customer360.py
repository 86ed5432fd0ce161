"""customer360: search, profile, timeline, relationship levels and `customer ID --json`, on a
hand-made fixture (tests/fixtures/c360) and the demo database; the Customer 360 page and the
sidebar search through AppTest."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import FIXTURES, ROOT, make_app_test

from crm_core import ingest
from crm_core.engine import db
from crm_core.metrics import customer360
from crm_core.metrics.filters import Filters
from crm_core.present import customer_text

YEAR_2024 = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
AS_OF = dt.date(2024, 12, 31)


@pytest.fixture
def c360_con(con: db.Connection) -> db.Connection:
    d = FIXTURES / "c360"
    tables = ("customers", "orders", "interactions", "leads", "complaints")
    ingest.load(con, [ingest.Source(d / f"{t}.csv", t) for t in tables])
    return con


def levels(con: db.Connection, f: Filters = YEAR_2024) -> pd.DataFrame:
    stats = customer360.relationship_stats(con, AS_OF, f)
    return customer360.relationship_levels(stats, AS_OF).set_index("customer_id")


def test_profile_of_the_fixture_customer(c360_con: db.Connection) -> None:
    p = customer_text.profile_text(customer360.profile(c360_con, "H01", YEAR_2024))
    assert p is not None
    assert (p["name"], p["owner"], p["region"]) == ("张伟", "王经理", "华东")
    # Net revenue 2024: O1 100,000 + 2,000 - 2,000 returned + O2 800 = 100,800; 2 orders.
    assert p["net_revenue"] == pytest.approx(100800.0)
    assert p["orders"] == 2
    # Six buyers with net revenue > 0 in 2024 (H01, B01, P01, R01, A01, A02; T01 bought in
    # 2023): diamond = top ceil(1% x 6) = 1 by net revenue = H01 (100,800 vs at most 1,000).
    assert p["tier"] == "diamond"
    # Lifecycle as of 2024-12-31: 2 purchase days (02-01, 07-01), last 183 days ago, median gap
    # 151 d x 2 = 302 d limit not passed, relationship 334 d (2024-02-01 .. 12-31) < 365 ->
    # formation.
    assert p["lifecycle_stage"] == "formation"
    assert "334" in p["lifecycle_rule"] and "183" in p["lifecycle_rule"]
    # Level: O1 followed by company call I1 2 days later (within 30 days); O2 (07-01) has no
    # company contact within 30 days; 1 of 2 purchases followed is not more than half, 1 company
    # contact a year < 4 -> responsible.
    assert p["relationship_level"] == "responsible"
    assert p["level_rule"].startswith("1 of 2 purchases followed up")
    assert p["as_of"] == "2024-12-31"
    # Under 20 buyers: the churn model is not fitted, so no P(alive) and no CLV.
    assert p["p_alive"] is None and p["clv"] is None


def test_timeline_of_the_fixture_customer(c360_con: db.Connection) -> None:
    p = customer360.profile(c360_con, "H01", YEAR_2024)
    assert p is not None
    got = [(e["date"], e["kind"], e["id"]) for e in p["timeline"]]
    assert got == [
        ("2024-01-10", "lead", "L1"),
        ("2024-02-01", "order", "O1"),  # two sale lines of O1
        ("2024-02-03", "interaction", "I1"),
        ("2024-02-10", "return", "O1"),  # the return line keeps its order's id
        ("2024-05-20", "interaction", "I2"),
        ("2024-07-01", "order", "O2"),
        ("2024-08-15", "complaint", "TS1"),
    ]
    ev = {(e["kind"], e["id"]): e for e in p["timeline"]}
    assert ev[("order", "O1")]["amount"] == pytest.approx(102000.0)  # 100,000 + 2,000
    assert ev[("return", "O1")]["amount"] == pytest.approx(-2000.0)
    assert ev[("interaction", "I1")]["initiator"] == "company"  # 电话: the company called
    assert ev[("interaction", "I2")]["initiator"] == "customer"  # 来电: the customer called
    assert ev[("lead", "L1")]["stage"] == "成交"
    assert ev[("complaint", "TS1")]["status"] == "已结案"


def test_rule_basic(c360_con: db.Connection) -> None:
    # B01: one purchase 2024-03-01, no interaction, no complaint -> basic.
    row = levels(c360_con).loc["B01"]
    assert (row["company_contacts"], row["customer_contacts"], row["level"]) == (0, 0, "basic")


def test_rule_passive(c360_con: db.Connection) -> None:
    # P01: complaint 04-15 + inbound call (来电) 05-01 = 2 customer contacts, 0 company -> passive.
    row = levels(c360_con).loc["P01"]
    assert (row["company_contacts"], row["customer_contacts"], row["level"]) == (0, 2, "passive")


def test_rule_responsible(c360_con: db.Connection) -> None:
    # R01: purchase 03-01, company call 03-10 (9 days later, < 30) -> 1 followed; 1 a year.
    row = levels(c360_con).loc["R01"]
    assert (row["followed_orders"], row["per_year"], row["level"]) == (1, 1.0, "responsible")


def test_rule_proactive_by_rate(c360_con: db.Connection) -> None:
    # A01: purchase 2024-01-10, company contacts 02-20 (41 days: not a follow-up), 05-20, 08-20,
    # 11-20 = 4; 356 days of relationship count as 1 year -> 4 a year >= 4 -> proactive; 4 active
    # months < 6 -> not partner.
    row = levels(c360_con).loc["A01"]
    assert (row["followed_orders"], row["per_year"], row["active_months"]) == (0, 4.0, 4)
    assert row["level"] == "proactive"


def test_rule_proactive_by_followed_share(c360_con: db.Connection) -> None:
    # A02: 3 purchases (02-01, 06-01, 09-01); calls 02-05 and 06-05 follow 2 of them: 2 > 0.5 x 3
    # -> proactive although only 2 company contacts a year.
    row = levels(c360_con).loc["A02"]
    assert (row["orders"], row["followed_orders"], row["per_year"]) == (3, 2, 2.0)
    assert row["level"] == "proactive"


def test_rule_partner(c360_con: db.Connection) -> None:
    # T01: first purchase 2023-01-05, 12 monthly visits in 2024: 726 days = 1.989 years ->
    # 12 / 1.989 = 6.03 a year (proactive); company contact in 12 of the last 12 months (>= 6).
    row = levels(c360_con).loc["T01"]
    assert (row["per_year"], row["active_months"], row["level"]) == (6.03, 12, "partner")


def test_level_by_owner(c360_con: db.Connection) -> None:
    dist = customer360.level_by_owner(c360_con, AS_OF, YEAR_2024).set_index("owner")
    # 李经理: P01 passive, R01 responsible, A01 proactive; 王经理: B01 basic, H01 responsible,
    # A02 proactive, T01 partner.
    assert dist.loc["李经理", list(customer360.LEVELS)].tolist() == [0, 1, 1, 1, 0]
    assert dist.loc["王经理", list(customer360.LEVELS)].tolist() == [1, 0, 1, 1, 1]
    assert dist["total"].to_dict() == {"李经理": 3, "王经理": 4}


def test_scope_and_filters_hide_a_customer(c360_con: db.Connection) -> None:
    # H01 is in 华东 under 王经理: outside a 华南 scope or an owner scope of 李经理 it is not found.
    assert customer360.profile(c360_con, "H01", YEAR_2024.within_scope(("华南",))) is None
    assert customer360.profile(c360_con, "H01", YEAR_2024.within_scope((), ("李经理",))) is None
    assert customer360.profile(c360_con, "NOPE", YEAR_2024) is None
    assert customer360.profile(c360_con, "H01", YEAR_2024.within_scope(("华东",))) is not None
    dist = customer360.level_by_owner(c360_con, AS_OF, YEAR_2024.within_scope(("华东",)))
    # 华东: H01, B01 (王经理), P01 (李经理).
    assert dist.set_index("owner")["total"].to_dict() == {"李经理": 1, "王经理": 2}


def test_search(c360_con: db.Connection) -> None:
    assert customer360.search(c360_con, "张")["customer_id"].tolist() == ["H01"]
    assert customer360.search(c360_con, "h01")["customer_id"].tolist() == ["H01"]
    # "co" matches six English names (case-insensitive), ordered by id.
    assert customer360.search(c360_con, "CO")["customer_id"].tolist() == [
        "A01", "A02", "B01", "P01", "R01", "T01",
    ]  # fmt: skip
    assert customer360.search(c360_con, "  ").empty
    assert customer360.search(c360_con, "张", Filters(regions=("华南",))).empty


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_customer_json(c360_con: db.Connection, db_file: Path) -> None:
    c360_con.close()
    out = run_cli("customer", "H01", "--json", "--db", str(db_file), "--start", "2024-01-01",
                  "--end", "2024-12-31")  # fmt: skip
    assert out.returncode == 0, out.stderr
    p = json.loads(out.stdout)
    keys = ["customer_id", "name", "tier", "rfm_segment", "lifecycle_stage", "net_revenue",
            "orders", "p_alive", "clv", "relationship_level", "timeline"]  # fmt: skip
    assert set(keys) <= set(p)
    assert (p["tier"], p["lifecycle_stage"], p["relationship_level"]) == (
        "diamond", "formation", "responsible",
    )  # fmt: skip
    assert p["net_revenue"] == pytest.approx(100800.0)  # 102,000 - 2,000 + 800
    assert [e["kind"] for e in p["timeline"]] == [
        "lead", "order", "interaction", "return", "interaction", "order", "complaint",
    ]  # fmt: skip
    out = run_cli("customer", "NOPE", "--db", str(db_file))
    assert out.returncode == 2
    assert "not found or not in your scope" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("customer", "H01", "--db", str(db_file), "--region", "华南")
    assert out.returncode == 2 and "not found or not in your scope" in out.stderr


def test_demo_levels_cover_every_level(demo_db_file: Path) -> None:
    con = db.connect(demo_db_file, read_only=True)
    try:
        from crm_core.metrics import customers

        period = customers.table_period(con)
        assert period is not None
        stats = customer360.relationship_stats(con, period.end)
        lv = customer360.relationship_levels(stats, period.end)
        # Every level occurs on the demo, and every buyer gets one.
        assert set(lv["level"]) == set(customer360.LEVELS)
        n_buyers = con.execute(
            "SELECT count(DISTINCT customer_id) FROM orders WHERE NOT is_return AND order_date < ?",
            [period.end + dt.timedelta(days=1)],
        ).fetchone()
        assert n_buyers is not None and len(lv) == n_buyers[0]
    finally:
        con.close()


def test_profile_page_deep_link(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/customer.py", {"lang": "zh", "id": "C00017"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "沈军" in at.subheader[0].value and "C00017" in at.subheader[0].value
    labels = [m.label for m in at.metric]
    assert "关系层级" in labels and "价值层级" in labels
    assert any("关系层级依据" in c.value for c in at.caption)
    timeline = at.dataframe[0].value
    assert len(timeline) > 0 and "订单" in set(timeline["类型"])


def test_profile_page_outside_scope(demo_copy: Path, app_env: None) -> None:
    # C00017 is in 华北: a 华南 region filter in the URL hides it.
    at = make_app_test(
        demo_copy, "pages/customer.py", {"lang": "en", "id": "C00017", "region": "华南"}
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("not found or not in your scope" in w.value for w in at.warning)
    at = make_app_test(demo_copy, "pages/customer.py", {"lang": "en", "id": "[x](https://e.x)"})
    at.run()
    assert any("\\[x\\]" in w.value for w in at.warning)  # the URL value is escaped


def test_sidebar_search_opens_the_profile(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, params={"lang": "zh"}).run()
    at.sidebar.text_input(key="_crm_customer_q").input("沈军").run()
    pick = at.sidebar.selectbox(key="_crm_customer_pick")
    assert "C00017" in pick.options[0] if pick.options else False
    pick.select("C00017").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["id"] == ["C00017"] or at.query_params["id"] == "C00017"
    assert any("C00017" in s.value for s in at.subheader)


def test_timeline_table_joins_an_events_words() -> None:
    from crm_core.present import customer_text

    out = customer_text.timeline_table(
        [
            {"date": "2024-01-02", "kind": "order", "id": "O1", "amount": 10.0,
             "product": "轮胎", "category": "配件", "owner": "张伟"},
            {"date": "2024-01-05", "kind": "complaint", "id": "K1", "amount": None,
             "product": None, "category": None, "status": "已解决", "owner": None},
        ],
        "zh",
    )  # fmt: skip
    assert list(out.columns) == ["date", "kind", "id", "amount", "detail", "owner"]
    # product · category for the order; only the status for the complaint (blanks dropped).
    assert out["detail"].tolist() == ["轮胎 · 配件", "已解决"]
    assert customer_text.timeline_table([], "zh").empty
