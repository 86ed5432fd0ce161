"""Why did it change: exact factor effects (LMDI) and contributions that add up to the change."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core import ingest
from crm_core.__main__ import main
from crm_core.engine import db
from crm_core.metrics import explain, overview
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import charts, explain_text

FIX = Path(__file__).resolve().parent / "fixtures" / "explain"
# Ten days against the ten days before (2024-01-01 .. 01-10).
P = Period(dt.date(2024, 1, 11), dt.date(2024, 1, 20))

# The fixture (tests/fixtures/explain):
#   customers C01 华东/网络线索/张三, C02 华东/展厅到店/李四, C03 华南/(blank)/张三,
#             C04 (blank)/网络线索/王五
#   before:  o1 C01 100 新车, o3 C02 200 新车, o4 C03 100 维修
#            -> revenue 400, active customers 3, orders 3
#   now:     o5 C01 300 新车, o6 + o7 C02 150 + 150 维修, o8 C04 400 新车 with its return
#            C-o8 -100, o10 C03 100 维修 -> revenue 1,000, active customers 4, orders 5
#   complaints before: K1 C01, K2 C02 (2); now: K3 C01, K4 C03 (own region 华北), K5 C04 (3)


@pytest.fixture
def fx(con: db.Connection) -> db.Connection:
    names = ("customers", "orders", "complaints")
    ingest.load(con, [ingest.Source(FIX / f"{n}.csv", n) for n in names], "replace")
    return con


def _by(e: explain.Explanation, dim: str) -> dict:
    return {(c.kind, c.value): c.change for c in e.by_dimension(dim)}


def _sums_to_change(e: explain.Explanation) -> None:
    assert sum(e.components.values(), Decimal(0)) + e.residual == e.change
    for dim in explain.DIMENSIONS:
        assert sum((c.change for c in e.by_dimension(dim)), Decimal(0)) == e.change, dim


def test_revenue_lmdi_by_hand(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue")
    # 1,000 - 400 = 600. Factors: customers 3 -> 4, orders per customer 3/3 = 1 -> 5/4 = 1.25,
    # average order value 400/3 = 133.33 -> 1,000/5 = 200.
    # L(1000, 400) = 600 / ln 2.5 = 600 / 0.9162907 = 654.81514
    # customers: 654.81514 * ln(4/3) = 654.81514 * 0.2876821 = 188.3807 -> 188.38
    # per customer: 654.81514 * ln 1.25 = 654.81514 * 0.2231436 = 146.1171 -> 146.12
    # order value: 654.81514 * ln 1.5 = 654.81514 * 0.4054651 = 265.5047 -> 265.50
    # 188.38 + 146.12 + 265.50 = 600.00: residual 0.
    assert e.change == Decimal("600.00")
    assert e.components == {
        "customers": Decimal("188.38"),
        "orders_per_customer": Decimal("146.12"),
        "avg_order_value": Decimal("265.50"),
    }
    assert e.residual == 0
    _sums_to_change(e)


def test_revenue_contributors_by_hand(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue")
    # Region: 华东 C01 + C02 300 -> 600 (+300); 华南 C03 100 -> 100 (0, not shown);
    # blank C04 0 -> 400 - 100 = 300 (+300). 300 + 300 = 600.
    assert _by(e, "region") == {("blank", None): 300, ("value", "华东"): 300}
    # Category: 新车 300 -> 300 + 400 - 100 = 600 (+300); 维修 100 -> 150 + 150 + 100 (+300).
    assert _by(e, "category") == {("value", "新车"): 300, ("value", "维修"): 300}
    # Owner: 张三 C01 + C03 200 -> 400 (+200), 李四 C02 200 -> 300 (+100), 王五 C04 0 -> 300.
    assert _by(e, "owner") == {
        ("value", "王五"): 300,
        ("value", "张三"): 200,
        ("value", "李四"): 100,
    }
    # Tier of the current window: 4 buyers at 300, 300, 100, 300; top ceil(1% * 4) = 1 rank is
    # diamond (C01: ties go to the lower id), the rest regular (gold / silver also end at rank 1).
    # diamond C01 100 -> 300 (+200); regular C02, C03, C04 300 -> 700 (+400).
    assert _by(e, "tier") == {("value", "regular"): 400, ("value", "diamond"): 200}


def test_top_values_and_others_keep_the_sum(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue", top=1)
    # Owner with one value shown: 王五 +300, others 张三 +200 + 李四 +100 = +300.
    assert _by(e, "owner") == {("value", "王五"): 300, ("others", None): 300}
    _sums_to_change(e)


def test_counts_by_hand(fx: db.Connection) -> None:
    c = explain.explain(fx, P, "customers")
    # Active before C01, C02, C03; now all four: gained C04 (+1), lost none.
    assert (c.change, c.components, c.residual) == (1, {"gained": 1, "lost": 0}, 0)
    # Main category now: C02 维修 (only), C03 维修, C04 新车 300 net, C01 新车; before C01 新车,
    # C02 新车, C03 维修 -> 新车 2 -> 2, 维修 1 -> 2 (+1).
    assert _by(c, "category") == {("value", "维修"): 1}
    o = explain.explain(fx, P, "orders")
    # Orders 3 -> 5. L(5, 3) = 2 / ln(5/3) = 2 / 0.5108256 = 3.915230
    # customers 3.915230 * ln(4/3) = 1.1263 -> 1.13; per customer 3.915230 * ln 1.25 = 0.8737
    # -> 0.87. 1.13 + 0.87 = 2.
    assert o.components == {"customers": Decimal("1.13"), "orders_per_customer": Decimal("0.87")}
    assert o.residual == 0
    # Category: 新车 o1, o3 -> o5, o8 (0); 维修 o4 -> o6, o7, o10 (+2).
    assert _by(o, "category") == {("value", "维修"): 2}
    k = explain.explain(fx, P, "complaints")
    # Complaints 2 -> 3; customers 3 -> 4, per customer 2/3 -> 3/4.
    # L(3, 2) = 1 / ln 1.5 = 2.466303; customers 2.466303 * 0.2876821 = 0.7095 -> 0.71;
    # per customer 2.466303 * ln(1.125) = 2.466303 * 0.1177830 = 0.2905 -> 0.29.
    assert k.components == {
        "customers": Decimal("0.71"),
        "complaints_per_customer": Decimal("0.29"),
    }
    # Region: 华东 K1, K2 -> K3 (-1); K4's own region 华北 (+1), not its customer's 华南;
    # K5's customer has none (blank +1).
    assert _by(k, "region") == {("blank", None): 1, ("value", "华东"): -1, ("value", "华北"): 1}
    for e in (c, o, k):
        _sums_to_change(e)


def test_no_customers_before_means_no_factors(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue", Filters(owner="王五"))
    # 王五's customer C04 bought nothing before: 0 customers, no logarithm. The change is
    # 400 - 100 = 300, all of it blank-region.
    assert e.not_applicable == "customers" and e.components == {}
    assert e.change == Decimal("300.00")
    assert _by(e, "region") == {("blank", None): 300}
    doc = explain_text.to_json(e, "en")
    assert doc["not_applicable"]["factor"] == "customers"
    assert "cannot be split" in doc["not_applicable"]["reason"]


def test_scope_is_honoured(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue", Filters(regions=("华东",)))
    # 华东 only: C01 + C02, 300 -> 600.
    assert e.change == Decimal("300.00")
    assert _by(e, "region") == {("value", "华东"): 300}


def test_apportion_rounds_to_the_total() -> None:
    # 1.0050 + 2.0050 - 0.0033 = 3.0067 -> 3.01. Floors 1.00, 2.00, -0.01 = 2.99: two cents to
    # the largest remainders, 0.0067 (third) then 0.0050 (first, the earlier tie).
    got = explain.apportion(
        [Decimal("1.0050"), Decimal("2.0050"), Decimal("-0.0033")], Decimal("3.01")
    )
    assert got == [Decimal("1.01"), Decimal("2.00"), Decimal("0.00")]


def test_takeaway_and_chart(fx: db.Connection) -> None:
    e = explain.explain(fx, P, "revenue")
    # +600 / 400 = +150.0%; customers 4/3 - 1 = +33.3%, per customer +25.0%, value +50.0%;
    # largest same-direction value outside tiers: source 网络线索 (C01 + C04) 100 -> 300 + 300
    # = +500, 500 / 600 = 83%.
    assert explain_text.takeaway(e, "zh") == (
        "销售额 +150.0%：客户数 +33.3%，人均订单 +25.0%，客单价 +50.0%；来源「网络线索」贡献了变化的 83%"
    )
    fig = charts.waterfall(("Before", 400), [("a", 100), ("b", 500)], ("Now", 1000), "t")
    w = fig.data[0]
    assert w.type == "waterfall" and list(w.measure) == [
        "absolute",
        "relative",
        "relative",
        "absolute",
    ]


def test_cli_json(fx: db.Connection, db_file: Path, capsys: pytest.CaptureFixture) -> None:
    fx.close()
    argv = ["explain", "--db", str(db_file), "--metric", "revenue", "--json"]
    assert main([*argv, "--start", "2024-01-11", "--end", "2024-01-20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["change"] == 600.0
    assert set(doc["components"]) == {"customers", "orders_per_customer", "avg_order_value"}
    assert {"dimension", "value", "change"} <= set(doc["contributors"][0])
    assert doc["previous_period"] == {"start": "2024-01-01", "end": "2024-01-10"}
    assert main([*argv, "--region", "nowhere"]) == 2


def _cents(x: float) -> Decimal:
    return Decimal(str(x))


def _check_document(doc: dict) -> None:
    change = _cents(doc["change"])
    if doc["components"]:
        parts = sum((_cents(v) for v in doc["components"].values()), Decimal(0))
        assert parts + _cents(doc["residual"]) == change
    for dim in explain.DIMENSIONS:
        rows = [r for r in doc["contributors"] if r["dimension"] == dim]
        assert sum((_cents(r["change"]) for r in rows), Decimal(0)) == change, dim


def _check_database(con: db.Connection, period: Period) -> None:
    tiles = overview.kpi_deltas(con, period).set_index("kpi")
    for metric in explain.METRICS:
        e = explain.explain(con, period, metric)
        _sums_to_change(e)
        _check_document(explain_text.to_json(e))
        row = tiles.loc[explain.KPI_OF[metric]]
        assert float(e.change) == pytest.approx(row["change"], abs=0.005)  # the tile's change


def test_demo_adds_up_to_the_cent(demo_con: db.Connection) -> None:
    period = overview.default_period(demo_con)
    assert period is not None
    _check_database(demo_con, period)
    # A quarter under a region filter as well.
    q = Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    e = explain.explain(demo_con, q, "revenue", Filters(region="华南"))
    _sums_to_change(e)


def test_uci_adds_up_to_the_cent(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "uci_online_retail" / "online_retail_40k_line_sample.csv"
    if not src.is_file():
        pytest.skip(f"UCI sample not found at {src}")
    con = db.connect(tmp_path / "uci.duckdb")
    ingest.load(con, [ingest.Source(src)], "replace")
    # Three months against the three before: amounts are quantity x price (sub-cent sums).
    period = Period(dt.date(2011, 9, 1), dt.date(2011, 11, 30))
    _check_database(con, period)
    con.close()


def test_postgresql_gives_the_same_explanation(fx: db.Connection, pg_url: str) -> None:
    # The same SQL files on PostgreSQL (dialect shims), with a filter and a scope: equal results.
    pg = db.connect(pg_url)
    names = ("customers", "orders", "complaints")
    ingest.load(pg, [ingest.Source(FIX / f"{n}.csv", n) for n in names], "replace")
    for f in (Filters(), Filters(source="网络线索", regions=("华东", "华南"))):
        for metric in explain.METRICS:
            want = explain_text.to_json(explain.explain(fx, P, metric, f))
            assert explain_text.to_json(explain.explain(pg, P, metric, f)) == want, (metric, f)
    pg.close()
