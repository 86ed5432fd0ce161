"""Relationship lifecycle: hand-computed stages on each threshold, end patterns, funnels,
transitions, new vs lost, cohort retention; the demo data; metrics; the page."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_app_test

from crm_core import ingest
from crm_core.engine import db, facts
from crm_core.metrics import drill, figures, lifecycle, lifecycle_cohorts, pipeline
from crm_core.metrics.filters import Filters
from crm_core.present import caveat_text, i18n, lifecycle_text

AS_OF = dt.date(2024, 12, 31)  # as_of - 365 = 2024-01-01 (2024 is a leap year)

CUSTOMERS = """customer_id,name,created_at,source,region
P1,prospect,2022-01-01,老客户推荐,华东
RET,only a return,2022-01-01,展厅到店,华东
E365,one purchase 365 d ago,2022-01-01,展厅到店,华东
L366,one purchase 366 d ago,2022-01-01,展厅到店,华北
F364,relationship 364 d,2022-01-01,老客户推荐,华东
S365,relationship 365 d,2022-01-01,展厅到店,华东
G120,silent exactly 2 x gap,2022-01-01,展厅到店,华东
G121,silent 2 x gap + 1,2022-01-01,展厅到店,华东
M90,silent exactly the floor,2022-01-01,展厅到店,华东
M91,silent floor + 1,2022-01-01,展厅到店,华东
SAME,two orders one day,2022-01-01,展厅到店,华东
DF,lost within a year,2022-01-01,展厅到店,华北
EX,lost after a year,2022-01-01,展厅到店,华北
SP500,spend down exactly 50 %,2022-01-01,展厅到店,华东
SP499,spend down 50.1 %,2022-01-01,展厅到店,华东
LATE,created after as_of,2025-02-01,展厅到店,华东
"""

ORDERS = """order_id,customer_id,order_date,amount,category,status
r1,RET,2024-05-01 10:00,-100,维修保养,退货
e1,E365,2024-01-01 10:00,100,维修保养,已完成
l1,L366,2023-12-31 10:00,100,维修保养,已完成
f1,F364,2024-01-02 10:00,100,维修保养,已完成
f2,F364,2024-12-01 10:00,100,维修保养,已完成
s1,S365,2024-01-01 10:00,100,维修保养,已完成
s2,S365,2024-12-01 10:00,100,维修保养,已完成
g1,G120,2024-07-04 10:00,100,维修保养,已完成
g2,G120,2024-09-02 10:00,100,维修保养,已完成
h1,G121,2024-07-03 10:00,100,维修保养,已完成
h2,G121,2024-09-01 10:00,100,维修保养,已完成
m1,M90,2024-09-22 10:00,100,维修保养,已完成
m2,M90,2024-10-02 10:00,100,维修保养,已完成
n1,M91,2024-09-21 10:00,100,维修保养,已完成
n2,M91,2024-10-01 10:00,100,维修保养,已完成
a1,SAME,2024-12-01 10:00,150000,新车销售,已完成
a2,SAME,2024-12-01 10:20,5000,保险续保,已完成
x1,X9,2024-06-01 10:00,100,维修保养,已完成
d1,DF,2023-06-01 10:00,100,维修保养,已完成
d2,DF,2023-09-01 10:00,100,维修保养,已完成
x2,EX,2022-01-01 10:00,100,维修保养,已完成
x3,EX,2023-01-01 10:00,100,维修保养,已完成
p1,SP500,2023-03-01 10:00,1000,维修保养,已完成
p2,SP500,2024-03-01 10:00,250,维修保养,已完成
p3,SP500,2024-11-01 10:00,250,维修保养,已完成
q1,SP499,2023-02-01 10:00,1000,维修保养,已完成
q2,SP499,2024-03-01 10:00,249,维修保养,已完成
q3,SP499,2024-11-01 10:00,250,维修保养,已完成
"""

# Hand-computed stages as of 2024-12-31 with the default rules (churn 365, formation 365,
# gap factor 2, overdue floor 90, spend rule off).
EXPECTED = {
    "P1": ("prospect", "prospect"),  # no order
    "RET": ("prospect", "prospect"),  # its only order is a return
    "E365": ("exploration", "exploration"),  # 2024-01-01 -> 12-31 = 365 d, not > 365
    "L366": ("lost", "lost"),  # 2023-12-31 -> 2024-12-31 = 366 d > 365
    "F364": ("formation", "formation"),  # first 2024-01-02: 364 d < 365; since 30 <= 2 x 334
    "S365": ("stability", "stability"),  # first 2024-01-01: 365 d, not < 365; since 30
    "G120": ("formation", "formation"),  # gap 07-04 -> 09-02 = 60; since 120, not > 2 x 60
    "G121": ("decline", "decline_overdue"),  # gap 07-03 -> 09-01 = 60; since 121 > 120
    "M90": ("formation", "formation"),  # gap 10 (2 x 10 = 20 < 90 floor); since 10-02 = 90
    "M91": ("decline", "decline_overdue"),  # gap 10; since 10-01 = 91 > 90
    "SAME": ("exploration", "exploration"),  # car + insurance on one day = one purchase
    "X9": ("exploration", "exploration"),  # only in orders, still a customer
    "DF": ("lost", "lost"),  # last 2023-09-01: 487 d
    "EX": ("lost", "lost"),  # last 2023-01-01: 730 d
    "SP500": ("stability", "stability"),  # gaps 366, 245 -> median 305.5, since 60
    "SP499": ("stability", "stability"),  # gaps 394, 245; first 2023-02-01: 699 d
}


def _load(con: db.Connection, folder: Path, customers: str, orders: str) -> None:
    (folder / "customers.csv").write_text(customers, encoding="utf-8")
    (folder / "orders.csv").write_text(orders, encoding="utf-8")
    sources = [
        ingest.Source(folder / "customers.csv", "customers"),
        ingest.Source(folder / "orders.csv", "orders"),
    ]
    ingest.load(con, sources, "replace")


@pytest.fixture
def hand(tmp_path: Path) -> Iterator[db.Connection]:
    con = db.connect(tmp_path / "hand.duckdb")
    _load(con, tmp_path, CUSTOMERS, ORDERS)
    yield con
    con.close()


def test_stage_on_each_threshold(hand: db.Connection) -> None:
    df = lifecycle.customer_stages(hand, AS_OF).set_index("customer_id")
    assert "LATE" not in df.index  # created after as_of, no purchase: not known yet
    got = {c: (r.stage, r.rule_key) for c, r in df.iterrows()}
    assert got == EXPECTED


def test_rule_text_names_the_numbers(hand: db.Connection) -> None:
    df = lifecycle_text.with_rule_text(lifecycle.customer_stages(hand, AS_OF), AS_OF)
    df = df.set_index("customer_id")["rule"]
    assert df["L366"] == "last purchase 366 d ago > churn threshold 365 d"
    assert df["E365"] == "1 purchase, 365 d ago ≤ churn threshold 365 d"
    assert df["G121"] == (
        "no purchase for 121 d > overdue limit 120 d (2 × median gap 60 d, at least 90 d)"
    )
    assert df["M91"].startswith("no purchase for 91 d > overdue limit 90 d")
    assert df["S365"].startswith("2 purchases, relationship 365 d ≥ 365 d")
    assert df["P1"] == "no purchase by 2024-12-31"
    stages = lifecycle.customer_stages(hand, AS_OF)
    zh = lifecycle_text.with_rule_text(stages, AS_OF, lang="zh").set_index("customer_id")["rule"]
    assert zh["L366"] == "最近一次购买在 366 天前 > 流失阈值 365 天"


def test_spend_rule_boundary(hand: db.Connection) -> None:
    rules = lifecycle.LifecycleRules(spend_drop=0.5)
    df = lifecycle.customer_stages(hand, AS_OF, rules=rules).set_index("customer_id")
    # Last 12 months = (2024-01-01, 2024-12-31], the 12 before = (2023-01-01, 2024-01-01].
    # SP500: 250 + 250 = 500 vs 1000: down exactly 50 %, not more -> stays in stability.
    assert df.loc["SP500", ["stage", "revenue_12m", "revenue_prev_12m"]].tolist() == [
        "stability",
        500,
        1000,
    ]
    # SP499: 249 + 250 = 499 < 1000 x (1 - 0.5) -> decline by spend.
    assert df.loc["SP499", "rule_key"] == "decline_spend"


def test_thresholds_are_parameters(hand: db.Connection) -> None:
    rules = lifecycle.LifecycleRules(churn_days=364, formation_days=364)
    df = lifecycle.customer_stages(hand, AS_OF, rules=rules).set_index("customer_id")
    assert df.loc["E365", "stage"] == "lost"  # 365 > 364
    assert df.loc["F364", "stage"] == "stability"  # 364 is not < 364


def test_stage_counts_and_revenue(hand: db.Connection) -> None:
    c = lifecycle.stage_counts(hand, AS_OF).set_index("stage")
    assert list(c.index) == list(lifecycle.STAGES)
    # prospect P1 RET; exploration E365 SAME X9; formation F364 G120 M90;
    # stability S365 SP500 SP499; decline G121 M91; lost L366 DF EX.
    assert c["customers"].to_dict() == {
        "prospect": 2,
        "exploration": 3,
        "formation": 3,
        "stability": 3,
        "decline": 2,
        "lost": 3,
    }
    assert c.loc["exploration", "revenue"] == 100 + 155000 + 100  # E365, SAME, X9
    # Last 12 months = (2024-01-01, 2024-12-31]: S365's purchase of 2024-01-01 is in the 12 before.
    assert c.loc["stability", "revenue_12m"] == 100 + 500 + 499


def test_end_patterns(hand: db.Connection) -> None:
    df = lifecycle.customer_stages(hand, AS_OF).set_index("customer_id")["end_pattern"]
    assert df["L366"] == "aborted_early"  # lost after one purchase
    assert df["DF"] == "died_in_formation"  # span 2023-06-01 -> 09-01 = 92 d < 365
    assert df["EX"] == "exited_after_stability"  # span 2022-01-01 -> 2023-01-01 = 365 d
    assert df["S365"] == "lasting"  # in stability
    assert df["SP500"] == "lasting"  # span 611 d
    assert df["F364"] == "ongoing"  # span 334 d, still in formation
    assert pd.isna(df["P1"])
    by_source = lifecycle.end_patterns(lifecycle.customer_stages(hand, AS_OF), "source")
    north = by_source[by_source["source"] == "华北"]
    assert north.empty  # region is not source; sources here are 展厅到店 / 老客户推荐 / –
    mix = by_source.groupby("source")["share"].sum()
    assert mix.round(9).eq(1).all()


def test_end_patterns_by_cohort(hand: db.Connection) -> None:
    stages = lifecycle.customer_stages(hand, AS_OF)
    by_year = lifecycle.end_patterns(stages, "cohort_year").set_index(
        ["cohort_year", "end_pattern"]
    )
    # 2023 cohort (first purchase in 2023): L366 aborted, DF died, SP500 + SP499 lasting.
    assert by_year.loc[("2023", "lasting"), "customers"] == 2
    assert by_year.loc[("2023", "aborted_early"), "share"] == 0.25
    by_q = lifecycle.end_patterns(stages, "cohort_quarter")
    assert set(by_q["cohort_quarter"]) == {
        "2022-Q1",
        "2023-Q1",
        "2023-Q2",
        "2023-Q4",
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
    }


def test_funnels(hand: db.Connection) -> None:
    stages = lifecycle.customer_stages(hand, AS_OF)
    lf = lifecycle.lifecycle_funnel(stages).set_index("step")["customers"]
    # 16 known; 14 bought (not P1, RET); 10 bought on two days or more; 4 reached stability
    # (S365, SP500, SP499 lasting; EX left after stability).
    assert lf.tolist() == [16, 14, 10, 4]
    cf = lifecycle.customer_funnel(stages).set_index("step")["customers"]
    # loyal: SP500, SP499 (3 purchases) + S365 (stability); advocate: F364 (P1 never bought).
    assert cf.to_dict() == {
        "known": 16,
        "first_purchase": 14,
        "repeat": 10,
        "loyal": 3,
        "advocate": 1,
    }


def test_transitions(hand: db.Connection) -> None:
    t = lifecycle.stage_transitions(hand, dt.date(2024, 6, 30), AS_OF)
    moves = {(r.stage_from, r.stage_to): r.customers for r in t.itertuples()}
    # L366: one purchase 182 d before 06-30 -> exploration, lost by 12-31.
    # SAME, G120, G121, M90, M91, F364 (one purchase at 06-30 -> exploration) ...
    assert moves[("exploration", "lost")] == 1
    assert moves[("prospect", "decline")] == 2  # G121, M91 had not bought by 06-30
    assert t["customers"].sum() == 16
    m = lifecycle.transition_matrix(t)
    assert m.to_numpy().sum() == 16


def test_new_vs_lost(hand: db.Connection) -> None:
    nl = lifecycle_cohorts.new_vs_lost(hand, AS_OF, dt.date(2024, 1, 1)).set_index("month")
    assert len(nl) == 12  # every month of 2024, zeros included
    got = nl[["new_customers", "lost_customers", "reactivated_customers", "net_change"]]
    # new: Jan E365 F364 S365; Jun X9; Jul G120 G121; Sep M90 M91; Dec SAME.
    # lost = last purchase + 366 d: EX 2023-01-01 -> 2024-01-02; SP499 2023-02-01 -> 2024-02-02
    # (it bought again 2024-03-01: reactivated); DF 2023-09-01 -> 2024-09-01; L366 2023-12-31 ->
    # 2024-12-31. SP500's gap is exactly 366 d: it bought on the day it would have been lost.
    expected = {
        "2024-01": (3, 1, 0, 2),
        "2024-02": (0, 1, 0, -1),
        "2024-03": (0, 0, 1, 1),
        "2024-06": (1, 0, 0, 1),
        "2024-07": (2, 0, 0, 2),
        "2024-09": (2, 1, 0, 1),
        "2024-12": (1, 1, 0, 0),
    }
    for month, row in got.iterrows():
        assert tuple(row) == expected.get(f"{month:%Y-%m}", (0, 0, 0, 0)), month
    # lost - reactivated over all time = customers in stage lost (L366, DF, EX).
    full = lifecycle_cohorts.new_vs_lost(hand, AS_OF)
    assert full["lost_customers"].sum() - full["reactivated_customers"].sum() == 3


def test_last_full_month() -> None:
    assert lifecycle_cohorts.last_full_month(dt.date(2024, 12, 31)) == dt.date(2024, 12, 1)
    assert lifecycle_cohorts.last_full_month(dt.date(2024, 12, 30)) == dt.date(2024, 11, 1)
    assert lifecycle_cohorts.last_full_month(dt.date(2024, 2, 29)) == dt.date(2024, 2, 1)
    assert lifecycle_cohorts.last_full_month(dt.date(2024, 1, 15)) == dt.date(2023, 12, 1)


COHORT_ORDERS = """order_id,customer_id,order_date,amount
a1,A,2024-01-05,10
a2,A,2024-02-05,10
a3,A,2024-04-05,10
b1,B,2024-01-20,10
b2,B,2024-03-20,10
c1,C,2024-02-10,10
c2,C,2024-02-25,10
c3,C,2024-03-01,10
"""


def test_cohort_matrix(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "cohort.duckdb")
    _load(con, tmp_path, "customer_id\nA\nB\nC\n", COHORT_ORDERS)
    long = lifecycle_cohorts.cohort_retention(
        con, dt.date(2024, 4, 30), dt.date(2024, 1, 1), dt.date(2024, 4, 30)
    )
    m = lifecycle_cohorts.retention_matrix(long)
    # January cohort = A, B: Feb A, Mar B, Apr A -> 1/2 each. February cohort = C: Mar C, Apr none.
    jan, feb = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    assert m.loc[jan].tolist() == [1.0, 0.5, 0.5, 0.5]
    assert m.loc[feb, [0, 1, 2]].tolist() == [1.0, 1.0, 0.0]
    assert pd.isna(m.loc[feb, 3])  # after as_of
    con.close()


def test_orders_only_database(tmp_path: Path, fixtures: Path) -> None:
    con = db.connect(tmp_path / "orders_only.duckdb")
    ingest.load(con, [ingest.Source(fixtures / "orders_gbk.csv")], "replace")
    out = figures.metrics(con)
    assert sum(out["lifecycle_stages"].values()) == out["customers_with_orders"]
    assert out["lead_funnel"] is None and out["lead_close_rate"] is None
    assert out["followup_24h_share"] is None
    con.close()


def test_empty_database_metrics(con: db.Connection) -> None:
    out = {**lifecycle_cohorts.metrics_block(con), **pipeline.metrics_block(con)}
    for key in (
        "lifecycle_stages",
        "new_customers_last_month",
        "lost_customers_last_month",
        "lead_funnel",
        "lead_close_rate",
        "followup_24h_share",
    ):
        assert out[key] is None, key


# --------------------------------------------------------------------------- demo data


@pytest.fixture(scope="module")
def demo_stages(demo_db_file: Path) -> pd.DataFrame:
    c = db.connect(demo_db_file)
    last = db.query_rows(c, "lifecycle_data_end")[0][1]
    df = lifecycle_text.with_rule_text(lifecycle.customer_stages(c, last), last)
    c.close()
    return df


def test_demo_every_stage_non_empty(demo_stages: pd.DataFrame) -> None:
    counts = demo_stages["stage"].value_counts()
    assert set(counts.index) == set(lifecycle.STAGES)
    assert counts.min() > 50
    assert demo_stages["rule"].str.len().gt(0).all()
    assert set(demo_stages["end_pattern"].dropna()) == set(lifecycle.END_PATTERNS)


def test_demo_metrics_cover_every_customer(demo_con: db.Connection) -> None:
    out = json.loads(json.dumps(figures.metrics(demo_con), default=str))
    stages = out["lifecycle_stages"]
    assert list(stages) == list(lifecycle.STAGES)
    assert sum(stages.values()) == out["tables"]["customers"]  # every order's customer is known
    assert out["new_customers_last_month"] > 0 and out["lost_customers_last_month"] > 0
    assert out["new_lost_month"] == out["last_order_date"][:7]  # the demo ends on a month's end


def test_demo_cohort_heatmap_declines(demo_con: db.Connection) -> None:
    long = lifecycle_cohorts.cohort_retention(
        demo_con, dt.date(2026, 10, 31), dt.date(2023, 11, 1), dt.date(2026, 10, 31)
    )
    m = lifecycle_cohorts.retention_matrix(long)
    assert (m[0] == 1).all()
    early, late = m.loc[:, 3:12].stack().mean(), m.loc[:, 24:].stack().mean()
    assert early > 1.5 * late, (early, late)


def test_demo_new_lost_consistent(demo_con: db.Connection, demo_stages: pd.DataFrame) -> None:
    nl = lifecycle_cohorts.new_vs_lost(demo_con, dt.date(2026, 10, 31))
    assert nl["new_customers"].sum() == (demo_stages["purchases"] > 0).sum()
    lost = nl["lost_customers"].sum() - nl["reactivated_customers"].sum()
    assert lost == (demo_stages["stage"] == "lost").sum()


# --------------------------------------------------------------------------- page


def _values(v: object) -> list:
    # Plotly 7 sends numeric arrays as {"dtype", "bdata" (base64)}.
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)  # type: ignore[call-overload]


def test_page_renders_with_filters(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/lifecycle.py", {"lang": "en", "region": "华东"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Customer lifecycle"
    assert len(at.get("plotly_chart")) >= 5
    con = db.connect(demo_copy)
    period_end = db.query_rows(con, "data_range")[0][1]
    counts = lifecycle.stage_counts(con, period_end, Filters(region="华东"))
    con.close()
    shown = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    assert _values(shown) == counts["customers"].tolist()


def test_page_sections_follow_their_own_choices(demo_copy: Path, app_env: None) -> None:
    # A stage's members and the end patterns' split (fragments of crm_core/app/sections/
    # lifecycle.py) follow the stage (lc_stage) and the split (lc_ends_by) chosen.
    at = make_app_test(demo_copy, "pages/lifecycle.py", {"lang": "en"})
    at.session_state["lc_stage"] = "lost"
    at.session_state["lc_ends_by"] = "source"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    period_end = db.query_rows(con, "data_range")[0][1]
    lost = drill.stage_customers(con, period_end, "lost")
    sources = {s for (s,) in con.execute("SELECT DISTINCT source FROM customers").fetchall()}
    con.close()
    members = at.dataframe[0].value[i18n.t("lifecycle.col.customer_id", "en")]
    # the first MEMBERS_SHOWN of the lost customers, or all of them
    assert len(members) == min(len(lost), lifecycle.MEMBERS_SHOWN) > 0
    assert set(members) <= set(lost["customer_id"])
    ends = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_lifecycle_ends"))
    split = {x for bar in json.loads(ends.proto.spec)["data"] for x in bar["x"]}
    assert split and split <= sources  # sources, not cohort years


def test_page_on_orders_only_database(tmp_path: Path, fixtures: Path, app_env: None) -> None:
    path = tmp_path / "small.duckdb"
    con = db.connect(path)
    sources = [ingest.Source(fixtures / n) for n in ("customers_bom.csv", "orders_gbk.csv")]
    ingest.load(con, sources, "replace")
    con.close()
    at = make_app_test(path, "pages/lifecycle.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]


def test_median_gap_odd_and_even_counts(hand: db.Connection, tmp_path: Path) -> None:
    gaps = lifecycle.customer_stages(hand, AS_OF).set_index("customer_id")["median_gap_days"]
    assert gaps["G120"] == 60  # one gap: 07-04 -> 09-02
    assert gaps["SP500"] == 305.5  # gaps 366, 245: (366 + 245) / 2
    assert gaps["SP499"] == 319.5  # gaps 394, 245: (394 + 245) / 2
    assert pd.isna(gaps["E365"])  # one purchase, no gap
    # Gaps 10, 30, 50, 200 (even count): (30 + 50) / 2 = 40; with a fifth gap of 5: 30.
    days = ["2024-01-01", "2024-01-11", "2024-02-10", "2024-03-31", "2024-10-17", "2024-10-22"]
    orders = "order_id,customer_id,order_date,amount\n" + "".join(
        f"{c}{i},{c},{d} 10:00,100\n"
        for c, n in (("EVEN", 5), ("ODD", 6))
        for i, d in enumerate(days[:n])
    )
    con = db.connect(tmp_path / "median.duckdb")
    _load(con, tmp_path, "customer_id,name\nEVEN,e\nODD,o\n", orders)
    got = lifecycle.customer_stages(con, AS_OF).set_index("customer_id")["median_gap_days"]
    assert got.to_dict() == {"EVEN": 40.0, "ODD": 30.0}
    con.close()


def test_report_reuses_its_rows(hand: db.Connection) -> None:
    start = dt.date(2024, 7, 1)
    rep = lifecycle_cohorts.lifecycle_report(hand, start, AS_OF)
    # The counts and transitions the report derives from its own rows equal the standalone SQL.
    pd.testing.assert_frame_equal(rep.counts, lifecycle.stage_counts(hand, AS_OF))
    pd.testing.assert_frame_equal(
        rep.transitions, lifecycle.stage_transitions(hand, start - dt.timedelta(days=1), AS_OF)
    )
    # Members carry the rule text, written for the rows asked for only; highest revenue first.
    full = lifecycle_text.with_rule_text(lifecycle.customer_stages(hand, AS_OF), AS_OF)
    full = full.set_index("customer_id")["rule"]
    rows = lifecycle.stage_rows(hand, AS_OF, "stability")
    top = lifecycle_text.stage_members(rows, "stability", 2, rep.rules, AS_OF)
    assert list(top["customer_id"]) == ["SP500", "SP499"]  # revenue 1,500 and 1,499 > 200 (S365)
    assert top.set_index("customer_id")["rule"].to_dict() == full[["SP500", "SP499"]].to_dict()
    assert len(lifecycle_text.stage_members(rows, "stability", None, rep.rules, AS_OF)) == 3
    # S365, SP500, SP499


def test_report_aggregates_equal_the_per_customer_rows(demo_con: db.Connection) -> None:
    # The report sums its figures over profile groups (and lists members) in SQL instead of
    # fetching a row per customer: the same numbers as deriving them from customer_stages(),
    # under no filter, a region, a category and a scope.
    end = demo_con.execute("SELECT CAST(max(order_date) AS DATE) FROM orders").fetchone()[0]  # type: ignore[index]
    start = end - dt.timedelta(days=180)
    region, category, owner = demo_con.execute(
        "SELECT (SELECT min(region) FROM customers), (SELECT min(category) FROM orders), "
        "(SELECT min(owner) FROM customers)"
    ).fetchone()  # type: ignore[misc]
    for f in (
        Filters(),
        Filters(region=region),
        Filters(category=category),
        Filters(owners=(owner,)),
    ):
        rep = lifecycle_cohorts.lifecycle_report(demo_con, start, end, f)
        rows = lifecycle.customer_stages(demo_con, end, f)
        assert rep.known == len(rows) > 0
        # The meeting's summary: the report's figures of the same names, on either path.
        for shared in (True, False):
            with facts.shared_windows(shared):
                brief = lifecycle_cohorts.lifecycle_summary(demo_con, start, end, f)
            assert (brief.start, brief.as_of, brief.known) == (start, end, rep.known)
            pd.testing.assert_frame_equal(brief.lifecycle_funnel, rep.lifecycle_funnel)
            pd.testing.assert_frame_equal(brief.new_lost, rep.new_lost)
        pd.testing.assert_frame_equal(rep.counts, lifecycle.counts_of(rows))
        pd.testing.assert_frame_equal(rep.lifecycle_funnel, lifecycle.lifecycle_funnel(rows))
        pd.testing.assert_frame_equal(rep.customer_funnel, lifecycle.customer_funnel(rows))
        pd.testing.assert_frame_equal(rep.end_patterns, lifecycle.end_patterns(rows))
        for by in ("source", "cohort_year", "cohort_quarter"):
            pd.testing.assert_frame_equal(
                lifecycle.end_patterns(rep.profile, by), lifecycle.end_patterns(rows, by)
            )
        before = lifecycle.stage_of_customers(demo_con, start - dt.timedelta(days=1), f)
        pd.testing.assert_frame_equal(rep.transitions, lifecycle.transitions_between(before, rows))
        for stage in lifecycle.STAGES:
            want = lifecycle_text.stage_members(rows, stage, 5, rep.rules, end)
            top = lifecycle.stage_rows(demo_con, end, stage, f, limit=5)
            got = lifecycle_text.stage_members(top, stage, 5, rep.rules, end)
            # An empty stage's columns may come back untyped (object) from the database.
            pd.testing.assert_frame_equal(got, want, check_dtype=not want.empty)
            everyone = lifecycle.stage_rows(demo_con, end, stage, f)
            assert len(everyone) == (rows["stage"] == stage).sum()


# --------------------------------------------------------------------------- what the data cannot tell

SHORT_ORDERS = """order_id,customer_id,order_date,amount
o1,A,2024-01-01 10:00,100
o2,B,2024-02-15 10:00,100
o3,A,2024-03-31 10:00,100
o4,C,2024-03-31 11:00,100
"""

# Five customers over two years: A and B first buy within 365 days of the data start
# (2023-01-01, day 0 and day 151), C exactly on day 365 (2024-01-01), D and E later.
CENSORED_ORDERS = """order_id,customer_id,order_date,amount
o1,A,2023-01-01 10:00,100
o2,B,2023-06-01 10:00,100
o3,C,2024-01-01 10:00,100
o4,D,2024-03-01 10:00,100
o5,E,2024-12-31 10:00,100
o6,A,2024-12-31 11:00,100
"""


def test_three_months_of_orders_is_a_short_history(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "short.duckdb")
    _load(con, tmp_path, "customer_id\nA\nB\nC\n", SHORT_ORDERS)
    got = {w["code"]: w for w in lifecycle.history_warnings(con)}
    warnings = caveat_text.with_messages(figures.metrics(con)["warnings"])
    con.close()
    short = got["short_history"]
    # 2024-01-01 -> 2024-03-31 = 31 (Jan) + 29 (Feb, leap year) + 30 = 90 days < 365: nobody can
    # be lost (needs > 365 days of silence) nor stable (needs a 365-day relationship).
    assert short["history_days"] == 90
    assert (short["threshold"], short["threshold_days"]) == ("churn_days", 365)
    assert short["unreachable_stages"] == ["lost", "stability"]
    assert short["severity"] == "warning"
    # Every buyer's first purchase is within 365 days of the start: 3 of 3, and with a short
    # history that is a warning.
    cens = got["left_censored"]
    assert (cens["customers"], cens["buyers"], cens["share"]) == (3, 3, 1.0)
    assert cens["severity"] == "warning"
    by_code = {w["code"]: w for w in warnings}
    assert "90 days" in by_code["short_history"]["message"]
    assert "365 days" in by_code["short_history"]["message"]
    assert "Lost or Stability" in by_code["short_history"]["message"]


def test_left_censored_customers_counted(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "censored.duckdb")
    _load(con, tmp_path, "customer_id\nA\nB\nC\nD\nE\n", CENSORED_ORDERS)
    got = {w["code"]: w for w in lifecycle.history_warnings(con)}
    # With churn_days = 400, C is censored too (2024-01-01 - 2023-01-01 = 365 < 400).
    wide = lifecycle.history_warnings(con, rules=lifecycle.LifecycleRules(churn_days=400))
    con.close()
    # History 2023-01-01 -> 2024-12-31 = 365 + 366 = 731 days: long enough for every rule.
    assert "short_history" not in got
    cens = got["left_censored"]
    # A (day 0) and B (day 151) < 365; C is on day 365: had C bought on 2022-12-31, its silence
    # of 366 days > 365 would have made it lost, so C's "new" is right -> 2 of 5 = 40 %.
    assert (cens["customers"], cens["buyers"], cens["share"]) == (2, 5, 0.4)
    assert cens["censored_until"] == "2023-12-31"  # 2023-01-01 + 364 days
    assert cens["severity"] == "note"  # 40 % < 50 % and the history is long enough
    assert {w["code"]: w for w in wide}["left_censored"]["customers"] == 3  # C: 365 < 400


def test_page_shows_the_short_history(tmp_path: Path, app_env: None) -> None:
    path = tmp_path / "short_page.duckdb"
    con = db.connect(path)
    _load(con, tmp_path, "customer_id\nA\nB\nC\n", SHORT_ORDERS)
    con.close()
    at = make_app_test(path, "pages/lifecycle.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(w.value for w in at.warning)
    assert "订单历史只有 90 天" in text and "已流失或稳定期" in text, text
    assert "可能在数据开始前就已购买" in text
    # The new-vs-lost chart shades the censored months (all three: January to March 2024).
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    shaded = [s["layout"] for s in specs if s["layout"].get("shapes")]
    assert len(shaded) == 1, [s["layout"].get("title") for s in specs]
    assert "数据开始前购买" in shaded[0]["annotations"][0]["text"]
    assert shaded[0]["shapes"][0]["x0"].startswith("2023-12-17")  # 2024-01-01 - 15 days
    assert shaded[0]["shapes"][0]["x1"].startswith("2024-03-16")  # 2024-03-01 + 15 days
    at = make_app_test(path, "pages/overview.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("covers only 90 days" in w.value for w in at.warning)


def test_demo_history_warnings(demo_con: db.Connection) -> None:
    # Independently, in pandas: first non-return order day per customer vs the data's first day.
    orders = demo_con.execute(
        "SELECT customer_id, CAST(order_date AS DATE) AS d FROM orders WHERE NOT is_return"
    ).df()
    first = pd.to_datetime(orders.groupby("customer_id")["d"].min())
    start, end = pd.to_datetime(orders["d"]).min(), pd.to_datetime(orders["d"]).max()
    censored = int(((first - start).dt.days < lifecycle.CHURN_DAYS).sum())
    got = lifecycle.history_warnings(demo_con)
    # Three years of history: no short_history; a third of the buyers left-censored -> a note.
    assert (end - start).days > lifecycle.CHURN_DAYS
    assert [w["code"] for w in got] == ["left_censored"]
    assert got[0]["customers"] == censored and got[0]["buyers"] == len(first)
    assert got[0]["severity"] == "note"
    assert [w["code"] for w in figures.metrics(demo_con)["warnings"]] == ["left_censored"]


def test_a_period_without_first_purchases(demo_con) -> None:
    # Nobody's first purchase falls in 2020 (the demo data start in 2023-08): the cohort table
    # is empty, and the report, its matrix and its heatmap are empty, not a crash ("merge on
    # object and datetime64 columns").
    import datetime as dt

    from crm_core.metrics import lifecycle_cohorts
    from crm_core.present import charts

    start, end = dt.date(2020, 1, 1), dt.date(2020, 3, 31)
    cohorts = lifecycle_cohorts.cohort_retention(demo_con, end, start, end)
    assert cohorts.empty and list(cohorts.columns)[:3] == ["cohort", "months_since", "cohort_size"]
    rep = lifecycle_cohorts.lifecycle_report(demo_con, start, end)
    assert rep.cohorts.empty
    charts.cohort_heatmap(lifecycle_cohorts.retention_matrix(rep.cohorts), "t", "x", "y")
