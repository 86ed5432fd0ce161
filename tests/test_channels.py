"""Channel return: spend file loading, CAC, first-year value, CLV/CAC, payback, CLI, page."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from conftest import make_app_test

from crm_core import ingest
from crm_core.__main__ import main
from crm_core.engine import db
from crm_core.metrics import channels
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period

YEAR = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))

# Six customers, four channels. The data end is 2025-03-31 (C4's last order).
CUSTOMERS = """客户编号,客户名称,客户来源,区域
C1,甲,展厅,华东
C2,乙,展厅,华北
C3,丙,网络,华东
C4,丁,网络,华东
C5,戊,推荐,华南
C6,己,电话,华东
"""
ORDERS = """订单编号,客户编号,下单时间,实付金额,订单状态
O1,C1,2024/1/10,"¥1,000.00",完成
O2,C1,2024/3/5,500,完成
O3,C1,2024/12/1,300,完成
O4,C1,2025/2/1,200,完成
O5,C2,2024/2/15,800,完成
O6,C2,2024/2/20,-200,退货
O7,C2,2025/3/1,400,完成
O8,C3,2024/6/1,600,完成
O9,C3,2024/8/15,300,完成
O10,C4,2023/11/20,400,完成
O11,C4,2025/3/31,100,完成
O12,C5,2024/9/1,300,完成
O13,C6,2023/5/1,250,完成
"""
# Chinese headers, three month spellings, ¥ and thousands separators; 2023-12 is before the
# period and 推荐 has no spend at all.
SPEND = """渠道,月份,投放金额
展厅,2024/1,"¥1,000.00"
展厅,2024-02,"¥1,200.50"
展厅,2023年12月,999
网络,2024年6月,900
电话,2024/5,500
"""


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def spend_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "投放.csv", SPEND, "gb18030")


@pytest.fixture
def base(con: db.Connection, tmp_path: Path) -> db.Connection:
    """Customers and orders above, no spend yet."""
    ingest.load(
        con,
        [
            ingest.Source(_write(tmp_path / "c.csv", CUSTOMERS), "customers"),
            ingest.Source(_write(tmp_path / "o.csv", ORDERS), "orders"),
        ],
        "replace",
    )
    return con


@pytest.fixture
def full(base: db.Connection, spend_file: Path) -> db.Connection:
    ingest.load(base, [ingest.Source(spend_file)], "append")  # table detected from the headers
    return base


def by_channel(df) -> dict:
    """{channel: row}, a missing figure as None (a frame holds it as NaN)."""
    return {
        r["channel"]: {
            k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()
        }
        for r in df.to_dict("records")
    }


def test_spend_file_with_chinese_headers_in_gb18030_loads(full: db.Connection) -> None:
    rows = full.execute(
        "SELECT channel, CAST(month AS VARCHAR), amount FROM marketing_spend ORDER BY 1, 2"
    ).fetchall()
    assert [(c, m, float(a)) for c, m, a in rows] == [
        ("展厅", "2023-12-01", 999.0),  # 2023年12月
        ("展厅", "2024-01-01", 1000.0),  # 2024/1, ¥1,000.00
        ("展厅", "2024-02-01", 1200.5),  # 2024-02, ¥1,200.50
        ("电话", "2024-05-01", 500.0),
        ("网络", "2024-06-01", 900.0),
    ]
    hist = ingest.load_history(full)
    assert hist.iloc[0]["table_name"] == "marketing_spend"
    assert hist.iloc[0]["encoding"] == "gb18030"


def test_bad_month_is_refused_with_file_row_column_value(
    base: db.Connection, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "spend.csv", "渠道,月份,金额\n展厅,2024/1,100\n网络,十三月,200\n")
    with pytest.raises(ingest.IngestError) as e:
        ingest.load(base, [ingest.Source(bad, "marketing_spend")], "append")
    msg = str(e.value)
    assert "spend.csv" in msg and "row 3" in msg and "月份" in msg and "十三月" in msg
    assert base.execute("SELECT count(*) FROM marketing_spend").fetchone() == (0,)


def test_append_replaces_a_channel_month_and_rollback_restores(
    full: db.Connection, tmp_path: Path
) -> None:
    again = _write(
        tmp_path / "fix.csv", "channel,month,amount\n展厅,2024-01,1100\n车展,2024-03,50\n"
    )
    result = ingest.load(full, [ingest.Source(again, "marketing_spend")], "append")
    total = full.execute("SELECT sum(amount), count(*) FROM marketing_spend").fetchone()
    # 999 + 1100 (was 1000) + 1200.50 + 500 + 900 + 50 = 4749.50 over 6 rows
    assert (float(total[0]), total[1]) == (4749.5, 6)
    ingest.rollback_to_before(full, result.load_id)
    total = full.execute("SELECT sum(amount), count(*) FROM marketing_spend").fetchone()
    # 999 + 1000 + 1200.50 + 500 + 900 = 4599.50 over 5 rows
    assert (float(total[0]), total[1]) == (4599.5, 5)


def test_channel_figures_by_hand(full: db.Connection) -> None:
    df, warnings = channels.channel_return(full, YEAR, with_clv=False)
    ch = by_channel(df)
    # 展厅: new C1 (first 2024-01-10), C2 (2024-02-15). Spend in 2024: 1000 + 1200.50 = 2200.50
    # (2023-12 is outside). CAC = 2200.50 / 2 = 1100.25.
    # First year (365 days from the first order; 2024 is a leap year):
    #   C1 [2024-01-10, 2025-01-09): 1000 + 500 + 300 = 1800 (O4 on 2025-02-01 is later)
    #   C2 [2024-02-15, 2025-02-14): 800 - 200 (return) = 600 (O7 on 2025-03-01 is later)
    #   per new customer (1800 + 600) / 2 = 1200; both years end before 2025-04-01: not partial.
    # Payback: months 1..k per new customer, k = 1 the first order's month:
    #   k=1: C1 1000 + C2 600 = 1600 -> 800; k=3: + C1 500 = 2100 -> 1050 < 1100.25;
    #   k=12: + C1 300 (2024-12) = 2400 -> 1200 >= 1100.25 -> 12 months.
    a = ch["展厅"]
    assert a["spend"] == pytest.approx(2200.5)
    assert a["new_customers"] == 2
    assert a["cac"] == pytest.approx(1100.25)
    assert a["first_year_value"] == pytest.approx(1200.0)
    assert a["first_year_partial"] is False
    assert a["payback_months"] == 12
    # 网络: new C3 only (C4's first order is 2023-11-20). Spend 900, CAC 900 / 1 = 900.
    # C3's year [2024-06-01, 2025-06-01) ends after the data (2025-03-31): partial, observed
    # 600 + 300 = 900. Payback: k=1 600 < 900; k=3 (2024-08) 600 + 300 = 900 >= 900 -> 3.
    b = ch["网络"]
    assert (b["spend"], b["new_customers"], b["cac"]) == (900.0, 1, 900.0)
    assert b["first_year_value"] == pytest.approx(900.0)
    assert b["first_year_partial"] is True
    assert b["payback_months"] == 3
    # 推荐: new C5 (300, partial), no spend row: spend and CAC unknown, not zero.
    c = ch["推荐"]
    assert (c["spend"], c["cac"], c["payback_months"]) == (None, None, None)
    assert (c["new_customers"], c["first_year_value"]) == (1, 300.0)
    # 电话: spend 500 in 2024-05 but no new customer (C6 first bought in 2023).
    d = ch["电话"]
    assert (d["spend"], d["new_customers"], d["cac"], d["first_year_value"]) == (
        500.0, 0, None, None,
    )  # fmt: skip
    # Order: by spend (2200.50, 900, 500), then the channel without spend.
    assert df["channel"].tolist() == ["展厅", "网络", "电话", "推荐"]
    codes = {w["code"]: w for w in warnings}
    assert codes["no_spend_for_channel"]["channels"] == ["推荐"]
    assert codes["no_new_customers"]["channels"] == ["电话"]
    assert "first_year_partial" in codes


def test_without_spend_file_says_so_instead_of_numbers(base: db.Connection) -> None:
    df, warnings = channels.channel_return(base, YEAR, with_clv=False)
    assert df["spend"].isna().all() and df["cac"].isna().all()
    # New customers still counted: 展厅 2, 网络 1, 推荐 1 (C1, C2 / C3 / C5).
    assert dict(zip(df["channel"], df["new_customers"], strict=True)) == {
        "展厅": 2, "网络": 1, "推荐": 1,
    }  # fmt: skip
    assert warnings[0]["code"] == "no_spend_file"


def test_region_filter_withholds_spend_and_source_filter_keeps_it(full: db.Connection) -> None:
    df, warnings = channels.channel_return(full, YEAR, Filters(region="华东"), with_clv=False)
    # 华东 new customers: C1 (展厅), C3 (网络); spend is not split by region: withheld.
    assert dict(zip(df["channel"], df["new_customers"], strict=True)) == {"展厅": 1, "网络": 1}
    assert df["spend"].isna().all()
    assert warnings[0]["code"] == "spend_not_filtered"
    scoped = Filters(regions=("华北",))
    df, warnings = channels.channel_return(full, YEAR, scoped, with_clv=False)
    # 华北 scope: only C2 (展厅); spend withheld under a scope too.
    assert df.to_dict("records")[0]["new_customers"] == 1 and df["spend"].isna().all()
    assert warnings[0]["filters"] == ["region"]  # a region scope reads as a region filter
    df, _ = channels.channel_return(full, YEAR, Filters(source="网络"), with_clv=False)
    assert df["channel"].tolist() == ["网络"]
    assert (df.loc[0, "spend"], df.loc[0, "cac"]) == (900.0, 900.0)


def test_clv_unavailable_on_six_customers_is_a_warning_not_a_number(full: db.Connection) -> None:
    df, warnings = channels.channel_return(full, YEAR)
    assert df["clv"].isna().all() and df["clv_to_cac"].isna().all()
    assert any(w["code"] == "clv_unavailable" for w in warnings)


def test_clv_to_cac_on_demo_is_mean_model_clv_over_cac(demo_db_file: Path) -> None:
    from crm_core.metrics import clv

    con = db.connect(demo_db_file, read_only=True)
    try:
        period = channels.window(con)
        assert period is not None
        df, _ = channels.channel_return(con, period)
        scored = clv.churn_clv(con).customers["clv"]
        news = db.query(
            con, "channel_new_customers", start=period.start, end_excl=period.end_excl,
            days=365, data_end_excl=period.end_excl, **Filters().params(),
        )  # fmt: skip
        row = df.iloc[0]
        ids = news.loc[news["channel"] == row["channel"], "customer_id"]
        assert row["new_customers"] == len(ids)
        assert row["clv"] == pytest.approx(float(scored.reindex(ids).mean()))
        assert row["clv_to_cac"] == pytest.approx(row["clv"] / row["cac"])
        assert row["spend"] > 0
    finally:
        con.close()


def test_cli_channels_json(full: db.Connection, db_file: Path, capsys) -> None:
    full.close()
    args = ["channels", "--db", str(db_file), "--json", "--start", "2024-01-01"]
    assert main([*args, "--end", "2024-12-31"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["period"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert set(doc) == {"period", "channels", "warnings"}
    first = doc["channels"][0]
    assert list(first) == channels.COLUMNS
    # 展厅 as in test_channel_figures_by_hand: 2200.50 / 2 = 1100.25, payback 12 months.
    assert (first["channel"], first["cac"], first["payback_months"]) == ("展厅", 1100.25, 12)
    assert first["clv"] is None and first["clv_to_cac"] is None
    assert main([*args, "--region", "华东"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["warnings"][0]["code"] == "spend_not_filtered"


def test_cli_load_spend_flag(base: db.Connection, db_file: Path, spend_file: Path) -> None:
    base.close()
    assert main(["load", "--db", str(db_file), "--spend", str(spend_file)]) == 0
    con = db.connect(db_file)
    try:
        assert con.execute("SELECT count(*) FROM marketing_spend").fetchone() == (5,)
    finally:
        con.close()


def test_page_shows_table_and_clv_to_cac_chart(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/channels.py", {"lang": "en"})
    at.run(timeout=120)
    assert not at.exception
    assert at.dataframe and len(at.dataframe[0].value) >= 1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "bar"


def test_data_page_detects_and_appends_a_spend_file(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    data = SPEND.replace("展厅", "展厅到店").encode("gb18030")
    at.get("file_uploader")[0].set_value(("投放.csv", data, "text/csv"))
    at.run()
    assert at.selectbox(key="file0_table").value == "marketing_spend"  # detected from 渠道/月份
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    try:
        # The demo has 展厅到店 spend for every month: the file's 2024-01 replaces that month's.
        got = con.execute(
            "SELECT amount FROM marketing_spend WHERE channel = '展厅到店' AND month = '2024-01-01'"
        ).fetchall()
        assert [float(a) for (a,) in got] == [1000.0]
        assert con.execute(
            "SELECT count(*) FROM marketing_spend WHERE channel = '网络' AND month = '2024-06-01'"
        ).fetchone() == (1,)
    finally:
        con.close()
