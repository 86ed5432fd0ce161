"""Value pyramid, Pareto, RFM segments and tier migration: hand-computed fixture, demo, UCI, page."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_app_test

from crm_core import ingest
from crm_core.engine import db
from crm_core.metrics import figures, overview, value
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import export, i18n

# The fixture (tests/fixtures/value/) seen as of 2024-12-31 over the window 2024-01-01..12-31.
#
#   customer  window orders (non-return)                 M      F  last order  R (days)
#   C01       2024-06-01 400, 2024-12-01 600            1000    2  12-01        30
#   C02       2024-11-01 500                             500    1  11-01        60
#   C03       2024-03-01 300, 2024-09-02 200             500    2  09-02       120
#   C04       02-01 100, 04-01 50, 12-21 50              200    3  12-21        10
#   C05       2024-07-04 100                             100    1  07-04       180
#   C06       2024-01-16 100                             100    1  01-16       350
#   C07       2024-10-02 50                               50    1  10-02        90
#   C08       2023-05-01 800 only (its 2024 line is a 退货 return)   -> sleeping
#   C09       no order by 2024-12-31 (its order is 2025-02-01)       -> prospect
#   C10       created 2024-06-01, never bought                      -> prospect
#   C11       created 2025-03-01, after the as-of date              -> not known yet
AS_OF = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
ALL = ["C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10"]


@pytest.fixture
def fx(con: db.Connection, fixtures: Path) -> db.Connection:
    d = fixtures / "value"
    ingest.load(
        con,
        [
            ingest.Source(d / "customers.csv", "customers"),
            ingest.Source(d / "orders.csv", "orders"),
        ],
    )
    return con


def members(con: db.Connection, period: Period = AS_OF, **kw) -> dict[str, list[str]]:
    """tier key -> customer ids, from the drill-down list (English labels = tier names)."""
    df = value.customer_list(con, period, lang="en", **kw)
    out: dict[str, list[str]] = defaultdict(list)
    names = {value.TIER_NAMES[k]["en"]: k for k in value.TIER_KEYS}
    for cid, tier in zip(df["customer_id"], df["tier"], strict=True):
        out[names[tier]].append(cid)
    return {k: sorted(v) for k, v in out.items()}


# --------------------------------------------------------------------------- fixture: tiers


def test_tiers_with_tiny_counts_and_ties(fx: db.Connection) -> None:
    # n = 7 active customers. Tier k holds value ranks (ceil(cut_(k-1)*n), ceil(cut_k*n)]:
    #   ceil(0.01*7) = 1, ceil(0.05*7) = 1, ceil(0.20*7) = 2
    #   -> diamond rank 1, gold none (1..1 is taken), silver rank 2, regular ranks 3..7.
    # C02 and C03 tie at 500 on the silver/regular boundary: the lower id, C02, ranks 2nd.
    assert members(fx) == {
        "diamond": ["C01"],
        "silver": ["C02"],
        "regular": ["C03", "C04", "C05", "C06", "C07"],
        "sleeping": ["C08"],
        "prospect": ["C09", "C10"],
    }
    pyr = value.value_pyramid(fx, AS_OF, lang="en").set_index("tier")
    assert pyr["customers"].to_dict() == {
        "diamond": 1, "gold": 0, "silver": 1, "regular": 5, "sleeping": 1, "prospect": 2,
    }  # fmt: skip
    assert value.active_customers(pyr.reset_index()) == 7
    # Net revenue: diamond 1000, silver 500, regular 500+200+100+100+50 = 950; total 2450.
    # Sleeping: C08's 2024-03-01 退货 line of 800 counts against the window: 0 - |800| = -800
    # (it has no share: shares are of the active tiers' 2450).
    assert pyr["revenue"].to_dict() == {
        "diamond": 1000, "gold": 0, "silver": 500, "regular": 950, "sleeping": -800, "prospect": 0,
    }  # fmt: skip
    assert pyr.loc["sleeping", "returns_amount"] == 800
    assert pyr.loc["sleeping", "revenue_share"] == 0
    assert pyr.loc["diamond", "revenue_share"] == pytest.approx(1000 / 2450)
    assert pyr.loc["regular", "revenue_share"] == pytest.approx(950 / 2450)
    assert pyr["revenue_share"].sum() == pytest.approx(1.0, abs=1e-12)
    # Regular: 8 orders (C03 2, C04 3, C05-C07 1 each) -> AOV 950/8, 8/5 orders per customer.
    assert pyr.loc["regular", "avg_order_value"] == pytest.approx(950 / 8)
    assert pyr.loc["regular", "orders_per_customer"] == pytest.approx(8 / 5)
    assert pyr.loc["diamond", "label"] == "Diamond"


def test_cut_points_are_parameters(fx: db.Connection) -> None:
    # cuts 10 % / 50 % / 60 %: ceil(0.7) = 1, ceil(3.5) = 4, ceil(4.2) = 5
    # -> diamond C01; gold ranks 2-4 = C02, C03 (tie, id order), C04; silver rank 5 = C05
    #    (C05 and C06 tie at 100: C05 first); regular C06, C07.
    got = members(fx, cuts=(0.10, 0.50, 0.60))
    assert got["gold"] == ["C02", "C03", "C04"]
    assert got["silver"] == ["C05"]
    assert got["regular"] == ["C06", "C07"]
    with pytest.raises(ValueError):
        value.value_pyramid(fx, AS_OF, cuts=(0.2, 0.05, 0.5))
    with pytest.raises(ValueError):
        value.value_pyramid(fx, AS_OF, measure="margin")


def test_cut_arithmetic_is_exact(con: db.Connection, tmp_path: Path) -> None:
    # 100 buyers; a cut of 0.07 must close at rank 7 (in floats 0.07 * 100 = 7.000000000000001,
    # whose ceil is 8): diamond 1, gold ranks 2-7 = 6, silver ranks 8-20 = 13, regular 80.
    orders = tmp_path / "orders.csv"
    lines = [f"O{i},K{i:03d},2024-06-01,{i}.00" for i in range(1, 101)]
    orders.write_text("order_id,customer_id,order_date,amount\n" + "\n".join(lines) + "\n")
    ingest.load(con, [ingest.Source(orders, "orders")])
    pyr = value.value_pyramid(con, AS_OF, cuts=(0.01, 0.07, 0.20)).set_index("tier")
    assert pyr["customers"].tolist() == [1, 6, 13, 80, 0, 0]


def test_rank_by_profit(fx: db.Connection) -> None:
    # Profit = amount - cost on lines with a cost: C01 10+20 = 30, C02 300, C03 50 (the 200
    # line has no cost), C04 50+10+10 = 70, C05 40, C06 10, C07 40.
    # Ranks: C02, C04, C03, C05/C07 (tie: C05), C01, C06 -> diamond C02, silver C04.
    assert value.has_cost(fx)
    got = members(fx, measure="profit")
    assert got["diamond"] == ["C02"]
    assert got["silver"] == ["C04"]
    pyr = value.value_pyramid(fx, AS_OF, measure="profit").set_index("tier")
    assert pyr.loc["diamond", "profit"] == pytest.approx(300)
    assert pyr.loc["diamond", "value_share"] == pytest.approx(300 / 540)  # total profit 540


def test_filters_apply_to_tiers(fx: db.Connection) -> None:
    # Region 华东 = C01-C05: n = 5 -> ceil(.05) = 1, ceil(.25) = 1, ceil(1.0) = 1: one diamond.
    got = members(fx, filters=Filters(region="华东"))
    assert got == {"diamond": ["C01"], "regular": ["C02", "C03", "C04", "C05"]}
    # Category 维修保养 (service): C03 500, C04 200, C05 100, C06 100 buy it in 2024; C01, C02
    # bought it before (2023-02-01, 2022-06-01) only -> sleeping; C07 (附件) and C08, C09,
    # C10 never bought service -> prospects.
    got = members(fx, filters=Filters(category="维修保养"))
    assert got["diamond"] == ["C03"]
    assert got["sleeping"] == ["C01", "C02"]
    assert got["prospect"] == ["C07", "C08", "C09", "C10"]


# --------------------------------------------------------------------------- fixture: Pareto


def test_pareto_share(fx: db.Connection) -> None:
    # Top 20 % of 7 = ceil(1.4) = 2 customers: C01 1000 + C02 500 = 1500 of 2450.
    p = value.pareto(fx, AS_OF)
    assert (p.customers, p.top_customers) == (7, 2)
    assert p.top_revenue_share == pytest.approx(1500 / 2450)
    curve = p.curve
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert curve["revenue_share"].is_monotonic_increasing
    # Fewer customers than points: every customer is a point (plus the origin).
    assert len(curve) == 8
    assert curve.iloc[2].tolist() == pytest.approx([2 / 7, 1500 / 2450])


def test_pareto_empty_window(fx: db.Connection) -> None:
    p = value.pareto(fx, Period(dt.date(2020, 1, 1), dt.date(2020, 12, 31)))
    assert p.customers == 0 and p.top_revenue_share is None and p.curve.empty


# --------------------------------------------------------------------------- fixture: RFM


def test_rfm_scores(fx: db.Connection) -> None:
    # NTILE(5) over 7 customers: groups of 2, 2, 1, 1, 1. Order within equal values: the
    # lower customer_id counts as the better customer (sorted later, so scores higher).
    # R by recency desc: C06 350, C05 180, C03 120, C07 90, C02 60, C01 30, C04 10
    #   -> 1, 1, 2, 2, 3, 4, 5
    # F by orders asc: C07, C06, C05, C02 (all 1, id desc), C03, C01 (2), C04 (3)
    #   -> 1, 1, 2, 2, 3, 4, 5  (the four 1-order customers get 1 or 2: ties split)
    # M by revenue asc: C07 50, C06 100, C05 100, C04 200, C03 500, C02 500, C01 1000
    #   -> 1, 1, 2, 2, 3, 4, 5
    df = value.customer_list(fx, AS_OF).set_index("customer_id")
    active = df.loc[["C01", "C02", "C03", "C04", "C05", "C06", "C07"]]
    assert active["recency_days"].to_dict() == {
        "C01": 30, "C02": 60, "C03": 120, "C04": 10, "C05": 180, "C06": 350, "C07": 90,
    }  # fmt: skip
    assert active["frequency"].tolist() == [2, 1, 2, 3, 1, 1, 1]
    assert active["r_score"].to_dict() == {
        "C01": 4, "C02": 3, "C03": 2, "C04": 5, "C05": 1, "C06": 1, "C07": 2,
    }  # fmt: skip
    assert active["f_score"].to_dict() == {
        "C01": 4, "C02": 2, "C03": 3, "C04": 5, "C05": 2, "C06": 1, "C07": 1,
    }  # fmt: skip
    assert active["m_score"].to_dict() == {
        "C01": 5, "C02": 4, "C03": 3, "C04": 2, "C05": 2, "C06": 1, "C07": 1,
    }  # fmt: skip
    # Inactive C08: recency from its last non-return order 2023-05-01 (610 days), no scores.
    assert df.loc["C08", "recency_days"] == (dt.date(2024, 12, 31) - dt.date(2023, 5, 1)).days
    assert pd.isna(df.loc["C08", "r_score"]) and pd.isna(df.loc["C08", "segment"])


def test_rfm_eight_segments(fx: db.Connection) -> None:
    # Means: R 840/7 = 120 days, F 11/7 = 1.57 orders, M 2450/7 = 350.
    # R high = recency < 120: C01, C02, C04, C07. C03 sits exactly ON the mean (120) -> low.
    # F high = orders > 1.57: C01, C03, C04.    M high = revenue > 350: C01, C02, C03.
    #   C01 HHH important value        C02 HLH important development
    #   C03 LHH important retention    C04 HHL general value
    #   C07 HLL general development    C05, C06 LLL general win-back
    df = value.customer_list(fx, AS_OF, lang="en").set_index("customer_id")
    assert df["segment"].dropna().to_dict() == {
        "C01": "Important value",
        "C02": "Important development",
        "C03": "Important retention",
        "C04": "General value",
        "C05": "General win-back",
        "C06": "General win-back",
        "C07": "General development",
    }
    segs = value.rfm_segments(fx, AS_OF, lang="zh").set_index("segment")
    assert segs["customers"].to_dict() == {
        "important_value": 1, "important_development": 1, "important_retention": 1,
        "important_winback": 0, "general_value": 1, "general_development": 1,
        "general_retention": 0, "general_winback": 2,
    }  # fmt: skip
    assert segs.loc["important_winback", "label"] == "重要挽留客户"
    assert segs.loc["important_winback", "action"] == "由客户经理进行挽回回访"
    assert segs.loc["general_winback", "revenue"] == 200  # C05 100 + C06 100
    assert segs.loc["general_winback", "recency_days"] == (180 + 350) / 2
    assert segs["revenue_share"].sum() == pytest.approx(1.0)
    # Drill-down by segment returns exactly those customers.
    wb = value.customer_list(fx, AS_OF, choice="segment:general_winback")
    assert sorted(wb["customer_id"]) == ["C05", "C06"]


def test_heatmap_colours_fewer_days_as_better() -> None:
    from crm_core.present import charts

    df = pd.DataFrame({"label": ["a", "b"], "recency_days": [10.0, 100.0], "frequency": [1.0, 5.0]})
    fig = charts.segment_heatmap(df, {"recency_days": "R", "frequency": "F"}, "t", "en")
    z = fig.data[0].z
    assert z[0][0] > z[1][0]  # 10 days since the last order beats 100
    assert z[1][1] > z[0][1]  # 5 orders beat 1


def test_segment_definitions_are_complete() -> None:
    codes = {r + f + m for r in "HL" for f in "HL" for m in "HL"}
    assert {s.code for s in value.SEGMENTS} == codes
    for s in value.SEGMENTS:
        assert all((s.zh, s.en, s.action_zh, s.action_en)), s.key
    for k in value.TIER_KEYS:
        assert set(value.TIER_NAMES[k]) == set(i18n.LANGS)


# --------------------------------------------------------------------------- fixture: migration


def test_tier_migration(fx: db.Connection) -> None:
    # Earlier: as of 2023-12-31 over 2023. Buyers C08 800, C06 300, C05 100, C01 50 (n = 4:
    # ceil(.04) = ceil(.2) = ceil(.8) = 1) -> diamond C08, regular C06 C05 C01. C02 bought in
    # 2022 only -> sleeping; C03, C04, C09 known, no order -> prospects; C07, C10 not known yet.
    #   C01 regular -> diamond  up        C02 sleeping -> silver  up
    #   C03 prospect -> regular up        C04 prospect -> regular up
    #   C05, C06 regular -> regular       C09 prospect -> prospect
    #   C08 diamond -> sleeping down (2023 revenue 800 at stake)
    #   C07 new -> regular, C10 new -> prospect
    m = value.tier_migration(fx, AS_OF)
    assert m.before == Period(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert (m.upgrades, m.downgrades, m.stayed, m.new) == (4, 1, 3, 2)
    assert m.revenue_at_stake == 800
    flows = {(r.tier_before, r.tier_now): r.customers for r in m.flows.itertuples()}
    assert flows == {
        ("regular", "diamond"): 1,
        ("sleeping", "silver"): 1,
        ("prospect", "regular"): 2,
        ("regular", "regular"): 2,
        ("prospect", "prospect"): 1,
        ("diamond", "sleeping"): 1,
        ("new", "regular"): 1,
        ("new", "prospect"): 1,
    }
    fig = value_sankey(m)
    assert sum(fig.data[0].link.value) == len(ALL)


def value_sankey(m: value.Migration):
    from crm_core.present import charts

    return charts.tier_sankey(m.flows, value.migration_order("zh"), "t", "before", "now")


def test_earlier_period_clamps_month_ends() -> None:
    p = value.earlier_period(Period(dt.date(2024, 3, 1), dt.date(2024, 2, 29)), 12)
    assert p == Period(dt.date(2023, 3, 1), dt.date(2023, 2, 28))
    assert value.earlier_period(Period(dt.date(2024, 1, 31), dt.date(2024, 3, 31)), 1) == Period(
        dt.date(2023, 12, 31), dt.date(2024, 2, 29)
    )


def test_drill_down_csv_is_safe(fx: db.Connection) -> None:
    # C04 is called "=1+2": the download must show it as text, not run it as a formula.
    rows = value.customer_list(fx, AS_OF, choice="tier:regular")
    data = export.safe_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=1+2" in text and ",=1+2" not in text


# --------------------------------------------------------------------------- demo database


def test_demo_pyramid_shares(demo_con: db.Connection) -> None:
    period = overview.default_period(demo_con)
    assert period is not None
    for measure in value.MEASURES:
        pyr = value.value_pyramid(demo_con, period, measure=measure)
        assert abs(pyr["revenue_share"].sum() - 1) < 1e-9
        assert abs(pyr["value_share"].sum() - 1) < 1e-9
        n = value.active_customers(pyr)
        top = pyr.set_index("tier")["customers"]
        assert top["diamond"] == math.ceil(0.01 * n)
        assert top["diamond"] + top["gold"] == math.ceil(0.05 * n)
        assert top["diamond"] + top["gold"] + top["silver"] == math.ceil(0.20 * n)


def test_demo_migration_moves_both_ways(demo_con: db.Connection) -> None:
    period = overview.default_period(demo_con)
    assert period is not None
    m = value.tier_migration(demo_con, period)
    assert m.upgrades > 0 and m.downgrades > 0 and m.revenue_at_stake > 0
    now = value.value_pyramid(demo_con, period).set_index("tier")["customers"]
    arrived = m.flows.groupby("tier_now")["customers"].sum()
    assert (arrived.reindex(now.index, fill_value=0) == now).all()


def test_demo_metrics_json_matches_page_functions(demo_con: db.Connection) -> None:
    doc = json.loads(json.dumps(figures.metrics(demo_con)))
    period = overview.default_period(demo_con)
    assert period is not None
    segs = value.rfm_segments(demo_con, period)
    assert doc["rfm_segments"] == dict(
        zip(segs["segment"], segs["customers"].tolist(), strict=True)
    )
    assert list(doc["tiers"]) == ["diamond", "gold", "silver", "regular"]
    assert sum(t["revenue_share"] for t in doc["tiers"].values()) == pytest.approx(1, abs=1e-9)
    pyr = value.value_pyramid(demo_con, period).set_index("tier")
    assert {k: v["customers"] for k, v in doc["tiers"].items()} == {
        k: int(pyr.loc[k, "customers"]) for k in value.ACTIVE_TIERS
    }
    assert doc["pareto_top20_share"] == pytest.approx(
        value.pareto(demo_con, period).top_revenue_share
    )
    assert sum(doc["rfm_segments"].values()) == value.active_customers(pyr.reset_index())


# --------------------------------------------------------------------------- real data (UCI)


@pytest.mark.parametrize("first_day", [dt.date(2010, 12, 1), dt.date(2010, 12, 10)])
def test_uci_pareto_matches_raw_file(
    shared_data: Path, con: db.Connection, first_day: dt.date
) -> None:
    path = shared_data / "uci_online_retail" / "online_retail_40k_line_sample.csv"
    ingest.load(con, [ingest.Source(path)])
    period = Period(first_day, dt.date(2011, 12, 9))  # 2010-12-10: the default 12-month window
    got = value.pareto(con, period)

    # Independent: lines with a CustomerID in the window, amount = Quantity x UnitPrice; a
    # cancellation ("C…" invoice or negative amount) counts -|amount| on its own date. Buyers are
    # the customers with net revenue > 0; top ceil(20 % of buyers).
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            amount = Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
            if not row["CustomerID"]:
                continue
            if row["InvoiceNo"].startswith("C") or amount < 0:
                amount = -abs(amount)
            if dt.date.fromisoformat(row["InvoiceDate"][:10]) >= first_day:
                revenue[row["CustomerID"]] += amount
    ranked = sorted((v for v in revenue.values() if v > 0), reverse=True)
    k = math.ceil(len(ranked) * Decimal("0.2"))
    expected = sum(ranked[:k]) / sum(ranked)
    assert (got.customers, got.top_customers) == (len(ranked), k)
    assert got.top_revenue_share == pytest.approx(float(expected), abs=1e-9)


# --------------------------------------------------------------------------- page


PAGE = "pages/pyramid.py"


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    "dim,val", [("region", "华东"), ("source", "车展"), ("owner", "张伟"), ("segment", "政府机构")]
)
def test_page_with_each_filter(
    demo_copy: Path, app_env: None, lang: str, dim: str, val: str
) -> None:
    at = make_app_test(demo_copy, PAGE, {"lang": lang, dim: val}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox(key=dim).value == val
    kinds = [c["data"][0]["type"] for c in _charts(at)]
    assert kinds == ["bar", "scatter", "heatmap", "sankey"]
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    share = value.pareto(con, period, Filters(**{dim: val})).top_revenue_share
    con.close()
    assert at.metric[0].value == i18n.fmt_pct(share)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_empty_results(demo_copy: Path, app_env: None, lang: str) -> None:
    con = db.connect(demo_copy)
    con.execute(
        "INSERT INTO customers (customer_id, name, region) VALUES ('ZZ1', 'nobody', '测试区')"
    )
    con.close()
    empty = i18n.t("common.empty", lang, active="").split("{")[0][:8]
    for params in (
        {"lang": lang, "start": "2015-01-01", "end": "2015-06-30"},  # no orders in the window
        {"lang": lang, "region": "测试区"},  # a region whose only customer never bought
    ):
        at = make_app_test(demo_copy, PAGE, params).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(empty in i.value for i in at.info), [i.value for i in at.info]
        assert not at.get("plotly_chart")


def test_page_drill_down_and_profit(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, PAGE, {"lang": "en"}).run()
    assert not at.exception
    at.selectbox(key="drill").set_value("segment:important_winback").run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    expected = value.customer_list(con, period, choice="segment:important_winback")
    con.close()
    assert len(at.dataframe[-1].value) == len(expected)
    at.radio[0].set_value("profit").run()
    assert not at.exception, [e.value for e in at.exception]
    spec = _charts(at)[0]
    assert "Profit share" in [a["text"] for a in spec["layout"]["annotations"]]


# --------------------------------------------------------------------------- net of returns

NET_2024 = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def test_a_cancelled_whale_is_ranked_on_net_spend(net_con: db.Connection) -> None:
    # Buyers (net revenue > 0 in 2024; fixture table in conftest.py): N02 800, N07 600, N06 100,
    # N01 2.90 -> n = 4; ceil(.04) = ceil(.2) = ceil(.8) = 1 -> diamond N02, gold and silver
    # empty, regular N07, N06, N01. N01 ordered 168,000 but is ranked last on its 2.90.
    # N03 (200 - 200 = 0) bought but nets to 0 -> sleeping; N04 (a 0.00 line only) never bought
    # anything of value and N05 has no order -> prospects.
    cv = value.customer_values(net_con, NET_2024).set_index("customer_id")
    assert cv["tier"].to_dict() == {
        "N02": "diamond", "N07": "regular", "N06": "regular", "N01": "regular",
        "N03": "sleeping", "N04": "prospect", "N05": "prospect",
    }  # fmt: skip
    assert cv.loc["N01", "net_revenue"] == pytest.approx(2.90)  # 168,000 - 167,997.10
    assert cv.loc["N01", "gross_revenue"] == 168000
    assert cv.loc["N01", "returns_amount"] == pytest.approx(167997.10)
    # The C-invoice with a positive amount nets against N07's sale: 1,000 - |400| = 600.
    assert cv.loc["N07", "net_revenue"] == 600
    pyr = value.value_pyramid(net_con, NET_2024).set_index("tier")
    assert value.active_customers(pyr.reset_index()) == 4  # N03 and N04 are not buyers
    # Regular net 600 + 100 + 2.90 = 702.90 of the buyers' 1,502.90.
    assert pyr.loc["regular", "revenue"] == pytest.approx(702.90)
    assert pyr.loc["regular", "revenue_share"] == pytest.approx(702.90 / 1502.90)
    assert pyr.loc["sleeping", "returns_amount"] == 200


def test_rfm_monetary_and_frequency_are_net(net_con: db.Connection) -> None:
    # R (days to 2024-12-31): N01 244, N02 152, N06 121, N07 334; mean 851 / 4 = 212.75.
    # F (non-return orders with a positive line): N01 1, N02 2, N06 1, N07 1; mean 1.25.
    # M (net): 2.90, 800, 100, 600; mean 1,502.90 / 4 = 375.725.
    #   N01 L L L, N02 H H H, N06 H L L, N07 L L H.
    cv = value.customer_values(net_con, NET_2024).set_index("customer_id")
    assert cv["rfm_segment"].dropna().to_dict() == {
        "N02": "important_value", "N07": "important_winback",
        "N06": "general_development", "N01": "general_winback",
    }  # fmt: skip
    assert cv.loc["N01", "orders"] == 1
    assert cv.loc["N04", "orders"] == 0  # its only order is worth 0.00


def test_pareto_top20_share_is_net(net_con: db.Connection) -> None:
    # 4 buyers, top ceil(0.2 * 4) = 1 = N02: 800 / 1,502.90 (gross would rank N01's 168,000).
    p = value.pareto(net_con, NET_2024)
    assert (p.customers, p.top_customers) == (4, 1)
    assert p.top_revenue_share == pytest.approx(800 / 1502.90)


def test_negative_net_tiers_name_the_sleeping_tier_and_its_returns(fx: db.Connection) -> None:
    from crm_core.present import i18n

    # C08 (sleeping) bought 800 in 2023 and returned it on 2024-03-01, inside the window:
    # sales 0, returns 800, net 0 - 800 = -800. No other tier is below 0.
    neg = value.negative_net_tiers(value.value_pyramid(fx, AS_OF, lang="zh"))
    assert neg.to_dict("records") == [
        {"tier": "sleeping", "label": "沉睡", "customers": 1, "revenue": -800.0,
         "gross_revenue": 0.0, "returns_amount": 800.0},
    ]  # fmt: skip
    r = neg.iloc[0]
    text = i18n.t(
        "pyramid.negative_net", "zh", tier=r["label"], n=i18n.fmt_number(r["customers"], "zh"),
        revenue=i18n.fmt_number(r["revenue"], "zh", 2),
        gross_revenue=i18n.fmt_number(r["gross_revenue"], "zh", 2),
        returns_amount=i18n.fmt_number(r["returns_amount"], "zh", 2),
    )  # fmt: skip
    assert text.startswith("“沉睡”层的净销售额为 -800.00（为负数，并非错误）"), text
    # A pyramid without returns has no negative tier.
    pyr = value.value_pyramid(fx, AS_OF, lang="zh")
    assert value.negative_net_tiers(pyr.assign(revenue=pyr["revenue"].clip(lower=0))).empty
