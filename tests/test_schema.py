"""Header matching and content inference, on header rows and column profiles made by hand."""

from __future__ import annotations

import pytest

from crm_core.engine.schema import TABLES
from crm_core.ingest.matching import (
    ColumnProfile,
    detect_table,
    infer_columns,
    match_headers,
    normalise_header,
)

# Deliberate fallbacks, each commented in schema.py: a later column takes the header only when
# an earlier column already found a more specific one.
FALLBACKS = {("complaints", "受理时间"), ("complaints", "product")}


def test_no_synonym_claims_two_columns_of_one_table() -> None:
    clashes = set()
    for t in TABLES.values():
        owner: dict[str, str] = {}
        for c in t.columns:
            for s in c.synonyms:
                n = normalise_header(s)
                if owner.setdefault(n, c.name) != c.name:
                    clashes.add((t.name, s))
    assert clashes == FALLBACKS


@pytest.mark.parametrize(
    ("table", "column", "headers"),
    [
        (
            "orders",
            "order_date",
            "开票时间 订单创建时间 下单时间 成交时间 交易时间 付款时间 单据日期 业务日期 制单日期 "
            "开票日期 支付时间 订单付款时间",
        ),
        ("orders", "order_id", "订单号 单据编号 发票号 开票号 发票号码 交易单号 单据号"),
        ("orders", "customer_id", "客户编号 会员ID 买家ID 买家会员名 用户ID 会员卡号"),
        ("customers", "customer_id", "客户编号 会员ID 买家ID 用户编号"),
        ("orders", "quantity", "数量 件数 销售数量 数量（件）"),
        ("orders", "unit_price", "单价 含税单价 销售单价 单价(元)"),
        ("orders", "amount", "金额 价税合计 实付金额 买家实付金额 金额（元）"),
        ("complaints", "handled_at", "处理完成时间 完成时间 解决时间 处理结束时间"),
        ("complaints", "closed_at", "办结时间 结案时间 关单时间"),
        ("complaints", "accepted_at", "受理日期 接单时间"),
    ],
)
def test_each_synonym_family_maps_alone(table: str, column: str, headers: str) -> None:
    for h in headers.split():
        assert match_headers(TABLES[table], [h]) == {h: column}, h


def test_the_specific_header_wins_over_the_generic_one() -> None:
    orders = TABLES["orders"]
    # A shop export: the order's creation is the order date, its payment comes later.
    assert match_headers(orders, ["订单付款时间", "订单创建时间"])["订单创建时间"] == "order_date"
    # An invoice: 金额 is net of VAT, 价税合计 includes it.
    assert match_headers(orders, ["价税合计", "金额"]) == {"金额": "amount"}
    # A ticket export: 处理完成时间 is the resolution; 处理时间 (when handling began) stays out.
    complaints = TABLES["complaints"]
    assert match_headers(complaints, ["处理时间", "处理完成时间"]) == {"处理完成时间": "handled_at"}


def profile(
    header: str, values: int, dates: int = 0, digit_dates: int = 0, ids: int = 0, distinct: int = 0
) -> ColumnProfile:
    return ColumnProfile(header, values, dates, digit_dates, ids, distinct)


def test_digit_dates_count_only_under_a_date_header() -> None:
    # 45322-like serials and 20240131 parse as dates, but so would 5-digit customer numbers.
    assert profile("开单日X", 10, digit_dates=10).date_like
    assert not profile("客户号X", 10, digit_dates=10, ids=10, distinct=4).date_like
    # 9 of 10 values are dates: 9 >= 0.9 x 10; 8 of 10 is not.
    assert profile("X", 10, dates=9).date_like
    assert not profile("X", 10, dates=8).date_like


def test_id_like_needs_every_value_id_shaped_and_some_repeated() -> None:
    assert profile("X", 6, ids=6, distinct=3).id_like
    assert not profile("X", 6, ids=6, distinct=6).id_like  # all unique: an order's own key
    assert not profile("X", 6, ids=5, distinct=3).id_like  # one value like "¥12.50"
    assert not profile("X", 6, ids=6, distinct=1).id_like  # a constant


def test_inference_finds_one_column_and_refuses_two() -> None:
    orders = TABLES["orders"]
    mapping = {"单号": "order_id", "客户编号": "customer_id", "金额": "amount"}
    one = {"开单X": profile("开单X", 4, dates=4), "备注": profile("备注", 4, distinct=4)}
    inferred, ambiguous = infer_columns(orders, mapping, one)
    assert {c: g.header for c, g in inferred.items()} == {"order_date": "开单X"}
    assert ambiguous == {}
    assert inferred["order_date"].describe() == "dates in 100 % of 4 sampled rows"
    two = {**one, "发货X": profile("发货X", 4, dates=4)}
    assert infer_columns(orders, mapping, two) == ({}, {"order_date": ["开单X", "发货X"]})
    # A column the user said to ignore is no candidate.
    inferred, ambiguous = infer_columns(orders, mapping, two, ignored={"发货X"})
    assert (inferred["order_date"].header, ambiguous) == ("开单X", {})


def test_a_buyer_header_settles_a_tie_between_id_like_columns() -> None:
    orders = TABLES["orders"]
    mapping = {"单号": "order_id", "下单时间": "order_date", "金额": "amount"}
    profiles = {
        "买家X": profile("买家X", 5, ids=5, distinct=3),
        "数量X": profile("数量X", 5, ids=5, distinct=2),  # 1, 2, 1, 1, 2: repeated, id-shaped
    }
    inferred, ambiguous = infer_columns(orders, mapping, profiles)
    assert {c: g.header for c, g in inferred.items()} == {"customer_id": "买家X"}
    assert ambiguous == {}
    assert inferred["customer_id"].describe() == (
        "ids repeated across rows: 3 distinct in 5 sampled rows"
    )
    del profiles["买家X"]
    profiles["编码X"] = profile("编码X", 5, ids=5, distinct=3)
    assert infer_columns(orders, mapping, profiles)[1] == {"customer_id": ["数量X", "编码X"]}


def test_detection_with_overrides_and_profiles() -> None:
    headers = ["单号", "客户编号", "开单X", "金额"]
    # By headers alone: customers would fit, but the order id says orders -> no guess.
    assert detect_table(headers)[0] is None
    # The user names the date column: only a table with order_date qualifies.
    best, mappings = detect_table(headers, {"开单X": "order_date"})
    assert best == "orders" and mappings["orders"]["开单X"] == "order_date"
    # Or the values say it.
    profiles = {h: profile(h, 3, ids=3, distinct=3) for h in headers}
    profiles["开单X"] = profile("开单X", 3, dates=3)
    assert detect_table(headers, None, profiles)[0] == "orders"
