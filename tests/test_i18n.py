"""Number formats of crm_core.present.i18n: compact tile values, exact values, missing values."""

from __future__ import annotations

import math

import pytest

from crm_core.present import i18n


@pytest.mark.parametrize(
    ("value", "en", "zh"),
    [
        (5000, "5,000", "5,000"),
        (9999.4, "9,999", "9,999"),
        (13735, "13.7K", "1.37万"),
        (99950, "100K", "10.0万"),
        (999499, "999K", "99.9万"),
        (999999, "1.00M", "100万"),
        (14_569_171, "14.6M", "1,457万"),
        (480_706_782.35, "481M", "4.81亿"),
        (1_273_289_950.79, "1.27B", "12.7亿"),
        (99_996_000, "100M", "1.00亿"),
        (-67_656_317, "-67.7M", "-6,766万"),
        (12e12, "12.0T", "12.0万亿"),
    ],
)
def test_compact_numbers(value: float, en: str, zh: str) -> None:
    assert i18n.fmt_compact(value, "en") == en
    assert i18n.fmt_compact(value, "zh") == zh


def test_compact_keeps_small_numbers_and_their_decimals() -> None:
    assert i18n.fmt_compact(4.0, "en", 2) == "4.00"
    assert i18n.fmt_compact(66.04, "zh", 1) == "66.0"


@pytest.mark.parametrize("missing", [None, math.nan, float("nan")])
def test_missing_values_are_a_dash(missing: object) -> None:
    for fmt in (i18n.fmt_compact, i18n.fmt_exact, i18n.fmt_pct, i18n.fmt_change):
        assert fmt(missing) == i18n.MISSING


def test_exact_has_every_digit() -> None:
    assert i18n.fmt_exact(480_706_782.35) == "480,706,782"
    assert i18n.fmt_exact(480_706_782.35, 2) == "480,706,782.35"


# --------------------------------------------------------------------------- Data page words


def test_tables_fields_and_codes_in_words() -> None:
    assert i18n.table_label("orders", "zh") == "订单"
    assert i18n.table_label("orders", "en") == "orders"
    assert i18n.field_label("order_id", "zh") == "订单编号"
    assert i18n.field_label("", "zh") == "（不导入）"  # unmapped: never "None"
    assert i18n.encoding_label("utf-8-sig", "zh") == "UTF-8（带 BOM）"
    assert i18n.encoding_label("shift_jis", "zh") == "SHIFT_JIS"  # unknown: as itself
    assert i18n.delimiter_label(",", "zh") == "逗号"
    assert i18n.delimiter_label("\t", "en") == "tab"
    assert i18n.value_label("load_mode", "replace", "zh") == "替换"
    assert i18n.value_label("load_status", "rolled back", "zh") == "已回滚"
    assert i18n.value_label("load_status", "odd", "zh") == "odd"


def test_every_canonical_field_and_table_has_words() -> None:
    from crm_core import ingest

    for name, table in ingest.TABLES.items():
        assert i18n.has(f"table.{name}"), name
        for col in table.columns:
            assert i18n.has(f"field.{col.name}"), col.name


def test_ingest_note_and_problem_in_chinese() -> None:
    from crm_core import ingest

    note = ingest.Note("x.csv: 2 return/cancellation line(s)", "returns_flagged", file="x.csv", n=2)
    assert note == "x.csv: 2 return/cancellation line(s)"  # the CLI's English text, unchanged
    assert i18n.note_text(note, "zh").startswith("x.csv：2 行为退货或取消")
    assert i18n.note_text("plain English", "zh") == "plain English"  # no key: as written
    p = ingest.Problem(
        "order_date", "not a date", 3, [(5, "abc"), (9, None)], "下单时间", "not_date"
    )
    # 3 rows, two examples: row 5 with its value, row 9 without one.
    assert i18n.problem_text(p, "x.csv", "zh") == (
        "x.csv：列“下单时间”（下单日期）：不是日期，共 3 行，例如 第 5 行 “abc”、第 9 行"
    )
    missing = ingest.Problem(
        None, "missing", key="missing_required",
        params={"table": "orders", "fields": ["order_date", "amount"]},
    )  # fmt: skip
    text = i18n.problem_text(missing, "x.csv", "zh")
    assert "订单缺少必填字段：下单日期、金额" in text and "--map" not in text


@pytest.mark.parametrize(
    ("column", "fmt"),
    [
        ("revenue", "¥%,.2f"),  # money: currency (default ¥), thousands, 2 decimals
        ("past_value", "¥%,.2f"),
        ("unit_price", "¥%,.2f"),
        ("median_h", "%,.1f"),  # hours: one decimal
        ("median_hours_to_first_contact", "%,.1f"),
        ("recency_days", "%,.0f"),  # days: whole
        ("orders", None),  # counts keep the table's default
        ("customer_id", None),
    ],
)
def test_number_format_of_table_columns(column: str, fmt: str | None) -> None:
    assert i18n.number_format(column) == fmt


def test_number_format_currency_is_configurable() -> None:
    assert i18n.number_format("revenue", "US$") == "US$%,.2f"
    assert i18n.number_format("revenue", "%") == "%%%,.2f"  # a literal % in printf


def test_currency_defaults_to_yuan_in_chinese_and_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crm_core.engine import config

    monkeypatch.delenv("CRM_LENS_CURRENCY", raising=False)
    assert (config.currency("zh"), config.currency("en")) == ("¥", "")
    monkeypatch.setenv("CRM_LENS_CURRENCY", "HK$")
    assert (config.currency("zh"), config.currency("en")) == ("HK$", "HK$")
    assert i18n.is_money("avg_order_value") and i18n.is_money("clv_total")
    assert not i18n.is_money("orders") and not i18n.is_money("expected_purchases")


def test_definitions_page_has_every_term_in_both_languages() -> None:
    from crm_core.present import glossary

    zh, en = glossary.entries("zh"), glossary.entries("en")
    # 5 sections; 7 + 3 + 3 + 3 + 3 = 19 terms, each with a definition in both languages.
    assert [len(t) for _, t in zh] == [len(t) for _, t in en] == [7, 3, 3, 3, 3]
    assert all(term and text for _, terms in zh + en for term, text in terms)
    assert zh[0][1][0][0] == "销售额（净额）" and en[0][1][0][0] == "Revenue (net)"
