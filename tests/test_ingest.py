"""Ingest, value by value: each expected figure below is worked out by hand from the fixture."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_core import ingest
from crm_core.engine import config, db
from crm_core.metrics.figures import metrics

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
D = Decimal
T = dt.datetime


def snapshot(con: db.Connection) -> dict[str, list[tuple]]:
    """Full content of every canonical and summary table (what a rollback must restore)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT starts_with(table_name, '_undo_') "
            "AND table_name NOT IN ('load_history', 'load_rejects') ORDER BY 1"
        ).fetchall()
    ]
    return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}


def load_baseline(con: db.Connection) -> ingest.LoadResult:
    return ingest.load(
        con,
        [
            ingest.Source(FIXTURES / "customers_bom.csv"),
            ingest.Source(FIXTURES / "orders_gbk.csv"),
        ],
    )


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def error_of(r: subprocess.CompletedProcess[str]) -> str:
    """The CLI's error message (stderr also carries the progress lines)."""
    assert "Traceback" not in r.stderr, r.stderr
    return r.stderr[r.stderr.index("error: ") :]


def orders(con: db.Connection, cols: str = "*") -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM orders ORDER BY order_id, line_no").fetchall()


# --------------------------------------------------------------------------- the two fixtures


def test_gbk_orders_and_bom_customers_load_typed(con: db.Connection) -> None:
    raw = (FIXTURES / "orders_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really a GBK file
    assert (FIXTURES / "customers_bom.csv").read_bytes().startswith(codecs.BOM_UTF8)

    result = load_baseline(con)
    cust, ords = result.reports
    assert (cust.table, cust.encoding, cust.rows_loaded) == ("customers", "utf-8-sig", 4)
    assert (ords.table, ords.encoding, ords.rows_loaded) == ("orders", "gb18030", 5)

    assert con.execute("SELECT * FROM customers ORDER BY customer_id").fetchall() == [
        ("001", "张三", T(2023, 1, 5), "展厅到店", "华东", "个人", "王芳"),
        ("002", "李四", T(2023, 2, 10), "老客户推荐", "华北", "企业", "王芳"),
        ("003", "王五", T(2023, 3, 15), "网络线索", "华东", "个人", "刘强"),
        ("004", "赵六", T(2023, 4, 20), "车展", "华南", "个人", "刘强"),
    ]
    cols = "order_id, customer_id, order_date, amount, product, category, line_no, is_return"
    assert orders(con, cols) == [
        # "￥1,234.50": full-width yen sign and a thousands comma
        ("SO1", "001", T(2024, 1, 31), D("1234.5"), "保养套餐", "维修保养", 1, False),
        # 2024年2月15日, "￥200.00"
        ("SO2", "001", T(2024, 2, 15), D("200"), "机油", "精品附件", 1, False),
        # a timestamp with a time of day, "150,000.00元"
        ("SO3", "002", T(2024, 3, 1, 10, 30), D("150000"), "轿车", "新车销售", 1, False),
        # "(￥300.00)": an accounting negative, i.e. a return
        ("SO4", "004", T(2024, 3, 2), D("-300"), "脚垫", "精品附件", 1, True),
        # "RMB 99.5"; customer 005 is not in the customers file (loaded, with a warning)
        ("SO5", "005", T(2024, 4, 1), D("99.5"), "洗车", "维修保养", 1, False),
    ]
    assert any("not in the customers table" in w for w in ords.warnings)


def test_line_items_revenue_returns_and_rejected_row(con: db.Connection) -> None:
    result = ingest.load(con, [ingest.Source(FIXTURES / "line_items.csv")])
    (report,) = result.reports
    assert report.line_items
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 4, 1)
    cols = "order_id, line_no, customer_id, order_date, quantity, unit_price, amount, is_return"
    assert orders(con, cols) == [
        ("536365", 1, "17850", T(2010, 12, 1, 8, 26), 6.0, D("2.55"), D("15.30"), False),
        ("536365", 2, "17850", T(2010, 12, 1, 8, 26), 2.0, D("3.39"), D("6.78"), False),
        ("536366", 1, "13047", T(2010, 12, 2, 9, 0), 1.0, D("10.00"), D("10.00"), False),
        # The "C" invoice is a cancellation: a return, subtracted in net figures.
        ("C536367", 1, "17850", T(2010, 12, 3, 10, 0), -1.0, D("2.55"), D("-2.55"), True),
    ]
    m = metrics(con)
    # 6 x 2.55 + 2 x 3.39 + 10.00 = 15.30 + 6.78 + 10.00 = 32.08
    assert m["revenue"] == 32.08
    # The cancellation C536367 (-1 x 2.55) is subtracted in the net: 32.08 - 2.55 = 29.53.
    assert m["returns_amount"] == 2.55
    assert m["net_revenue"] == pytest.approx(29.53, abs=1e-9)
    assert m["customers_with_orders"] == 2  # 17850 and 13047 ("17850.0" loses its ".0")
    # The line with no CustomerID (row 6) is rejected and kept, with why, in load_rejects.
    assert con.execute(
        "SELECT load_id, file_name, table_name, row_number, column_name, value, reason "
        "FROM load_rejects"
    ).fetchall() == [
        (
            result.load_id,
            "line_items.csv",
            "orders",
            6,
            "customer_id",
            None,
            "required value missing",
        )
    ]
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM load_history"
    ).fetchall() == [(5, 4, 1)]


def test_cli_metrics_json_on_the_two_fixtures(tmp_path: Path) -> None:
    dbp = tmp_path / "crm.duckdb"
    load = cli(
        "load",
        "--db",
        dbp,
        "--customers",
        FIXTURES / "customers_bom.csv",
        "--orders",
        FIXTURES / "orders_gbk.csv",
    )
    assert load.returncode == 0, load.stderr
    assert "load 1 committed (append)" in load.stdout  # the default mode, as on the Data page
    out = cli("metrics", "--json", "--db", dbp)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    expected = {
        "tables": {
            "customers": 4,
            "orders": 5,
            "complaints": 0,
            "leads": 0,
            "interactions": 0,
            "marketing_spend": 0,  # the optional spend table is counted like the others
        },
        # 1234.50 + 200 + 150000 + 99.5 = 151534.0; SO4 (-300) is a return and left out.
        "revenue": 151534.0,
        # SO4 is subtracted in the net: 151534.0 - 300 = 151234.0.
        "net_revenue": 151234.0,
        "returns_amount": 300.0,
        # 001, 002 and 005; SO4 is a return and customer 004's only order (net -300 <= 0), so
        # 004 does not count.
        "customers_with_orders": 3,
        "first_order_date": "2024-01-31",
        "last_order_date": "2024-04-01",
    }
    # The headline figures are exactly these; later features add blocks under their own keys.
    assert {k: doc[k] for k in expected} == expected
    assert list(doc)[: len(expected)] == list(expected)


# --------------------------------------------------------------------------- append and undo


def test_append_upserts_by_key(con: db.Connection, tmp_path: Path) -> None:
    load_baseline(con)
    before = orders(con)
    f = write_csv(
        tmp_path / "more_orders.csv",
        "order_id,customer_id,order_date,amount\nSO2,001,2024-02-16,250\nSO9,003,2024-05-01,80\n",
    )
    ingest.load(con, [ingest.Source(f, "orders")], "append")
    after = {r[0]: r for r in orders(con)}
    assert sorted(after) == ["SO1", "SO2", "SO3", "SO4", "SO5", "SO9"]
    # Same key: the new line replaces the old one (all of its columns, not a merge).
    assert after["SO2"][1:4] == ("001", T(2024, 2, 16), D("250"))
    assert after["SO2"][4] is None  # product came from the old line and is gone
    assert after["SO9"][1:4] == ("003", T(2024, 5, 1), D("80"))
    # Keys not in the file are untouched.
    assert [r for r in before if r[0] not in ("SO2",)] == [
        r for k, r in sorted(after.items()) if k not in ("SO2", "SO9")
    ]
    c = write_csv(tmp_path / "more_customers.csv", "客户编号,客户名称\n002,李四（新）\n006,孙七\n")
    ingest.load(con, [ingest.Source(c)], "append")
    assert con.execute("SELECT customer_id, name FROM customers ORDER BY 1").fetchall() == [
        ("001", "张三"),
        ("002", "李四（新）"),
        ("003", "王五"),
        ("004", "赵六"),
        ("006", "孙七"),
    ]
    assert metrics(con)["revenue"] == 1234.5 + 250 + 150000 + 99.5 + 80


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_rollback_restores_exact_content(con: db.Connection, tmp_path: Path, mode: str) -> None:
    load_baseline(con)
    before = snapshot(con)
    f = write_csv(
        tmp_path / "o.csv",
        "order_id,customer_id,order_date,amount\nSO1,009,2024-06-01,1\nSO7,001,2024-06-02,2\n",
    )
    c = write_csv(tmp_path / "c.csv", "customer_id,name\n004,Changed\n010,New\n")
    second = ingest.load(con, [ingest.Source(f, "orders"), ingest.Source(c)], mode)
    middle = snapshot(con)
    assert middle != before
    third = ingest.load(con, [ingest.Source(f, "orders")], mode)
    assert ingest.rollback_to_before(con, third.load_id) == [third.load_id]
    assert snapshot(con) == middle
    assert ingest.rollback_to_before(con, second.load_id) == [second.load_id]
    assert snapshot(con) == before
    assert con.execute("SELECT load_id, status FROM load_history ORDER BY ALL").fetchall() == [
        (1, "loaded"),
        (1, "loaded"),
        (2, "rolled back"),
        (2, "rolled back"),
        (3, "rolled back"),
    ]
    with pytest.raises(ingest.IngestError, match="already rolled back"):
        ingest.rollback_to_before(con, second.load_id)


def test_rollback_of_several_loads_at_once(con: db.Connection, tmp_path: Path) -> None:
    load_baseline(con)
    before = snapshot(con)
    for i in range(3):
        f = write_csv(
            tmp_path / f"o{i}.csv",
            f"order_id,customer_id,order_date,amount\nX{i},1,2024-06-01,{i}\n",
        )
        ingest.load(con, [ingest.Source(f, "orders")], "append" if i % 2 else "replace")
    assert ingest.rollback_to_before(con, 2) == [4, 3, 2]
    assert snapshot(con) == before


def test_undo_retention_keeps_the_last_undo_keep_loads(
    con: db.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert int(os.environ.get("CRM_LENS_UNDO_KEEP", "5")) == config.UNDO_KEEP
    monkeypatch.setattr(config, "UNDO_KEEP", 2)
    load_baseline(con)  # load 1
    states = {}
    for i in (2, 3, 4):
        states[i] = snapshot(con)  # the state before load i
        f = write_csv(
            tmp_path / f"o{i}.csv",
            f"order_id,customer_id,order_date,amount\nY{i},1,2024-06-0{i},{i}\n",
        )
        ingest.load(con, [ingest.Source(f, "orders")])
    undo = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '_undo_') ORDER BY 1"
    ).fetchall()
    assert undo == [("_undo_3_orders",), ("_undo_4_orders",)]
    assert con.execute(
        "SELECT DISTINCT load_id, undo_kind FROM load_history ORDER BY 1"
    ).fetchall() == [(1, "expired"), (2, "expired"), (3, "replaced"), (4, "replaced")]
    with pytest.raises(ingest.IngestError, match=r"undo data of load\(s\) \[2\] was dropped"):
        ingest.rollback_to_before(con, 2)
    assert snapshot(con) != states[3]  # the refused rollback changed nothing
    assert ingest.rollback_to_before(con, 3) == [4, 3]
    assert snapshot(con) == states[3]


# --------------------------------------------------------------------------- dates and formats

ORDER_HEAD = "order_id,customer_id,order_date,amount\n"


def dates_of(con: db.Connection) -> list[dt.datetime]:
    return [d for (d,) in orders(con, "order_date")]


def test_day_first_is_detected_from_a_day_over_12(con: db.Connection, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "dmy.csv", ORDER_HEAD + "A1,1,31/01/2024,1\nA2,1,05/02/2024,1\n")
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert dates_of(con) == [T(2024, 1, 31), T(2024, 2, 5)]  # 05/02 is 5 February here
    assert not any("ambiguous" in w for w in report.warnings)


def test_ambiguous_dates_default_month_first_with_a_warning(
    con: db.Connection, tmp_path: Path
) -> None:
    f = write_csv(tmp_path / "amb.csv", ORDER_HEAD + "A1,1,03/04/2024,1\n")
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert dates_of(con) == [T(2024, 3, 4)]
    assert any("ambiguous" in w for w in report.warnings)
    ingest.load(con, [ingest.Source(f, date_order="dmy")])
    assert dates_of(con) == [T(2024, 4, 3)]


def test_us_month_first_12_hour_timestamps(con: db.Connection, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "us.csv",
        ORDER_HEAD + "U1,1,06/26/2018 10:58:54 AM,1\nU2,1,06/26/2018 12:05:00 PM,1\n"
        "U3,1,06/27/2018 12:30:00 AM,1\nU4,1,07/01/2018 01:05:09 PM,1\n",
    )
    ingest.load(con, [ingest.Source(f)])
    assert dates_of(con) == [
        T(2018, 6, 26, 10, 58, 54),
        T(2018, 6, 26, 12, 5),
        T(2018, 6, 27, 0, 30),  # 12:30 AM is half past midnight
        T(2018, 7, 1, 13, 5, 9),
    ]


def test_excel_serial_dates(con: db.Connection, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "serial.csv", ORDER_HEAD + "S1,1,45322,1\nS2,1,45322.5,1\nS3,1,45292,1\n"
    )
    ingest.load(con, [ingest.Source(f)])
    # Day 45322 counted from 1899-12-30 is 2024-01-31; .5 is noon; 45292 is New Year's day.
    assert dates_of(con) == [T(2024, 1, 31), T(2024, 1, 31, 12), T(2024, 1, 1)]


def test_utf16_tab_delimited_unicode_text_export(con: db.Connection, tmp_path: Path) -> None:
    # Excel's "Unicode Text (*.txt)": UTF-16 LE with a BOM, tab-separated, CRLF line ends.
    text = (
        "Order ID\tCustomer ID\tOrder Date\tSales\tProduct\r\n"
        "U1\t007\t2024/1/31\t$1,200.50\tMüsli 麦片\r\n"
        'U2\t008\t2024/2/1\t"(80.00)"\tTea, green\r\n'
    )
    f = tmp_path / "unicode_text.txt"
    f.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert (report.table, report.encoding, report.delimiter) == ("orders", "utf-16", "\t")
    assert orders(con, "order_id, customer_id, order_date, amount, product, is_return") == [
        ("U1", "007", T(2024, 1, 31), D("1200.50"), "Müsli 麦片", False),
        ("U2", "008", T(2024, 2, 1), D("-80"), "Tea, green", True),
    ]


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("1,234.50", D("1234.50")),
        ("1,234", D("1234")),
        ("1.234,50", D("1234.50")),
        ("1.234.567,89", D("1234567.89")),
        ("99,5", D("99.5")),
        ("12,00", D("12")),
        ("1 234,50 €", D("1234.50")),
        ("(1.234,50)", D("-1234.50")),
        ("-0,5", D("-0.5")),
        ("1234-", D("-1234")),
        ("USD 7", D("7")),
        ("¥1,000.00", D("1000")),
        ("CNY 5", D("5")),
    ],
)
def test_money_formats(con: db.Connection, tmp_path: Path, raw: str, amount: Decimal) -> None:
    f = write_csv(
        tmp_path / "m.csv", f'order_id;customer_id;order_date;amount\nM1;1;2024-01-01;"{raw}"\n'
    )
    ingest.load(con, [ingest.Source(f, "orders")])
    assert orders(con, "amount") == [(amount,)]


# --------------------------------------------------------------------------- the CLI


def test_cli_map_override(tmp_path: Path) -> None:
    dbp = tmp_path / "crm.duckdb"
    f = write_csv(
        tmp_path / "export.csv",
        "Ref,Client,When,Total Paid,Note\nR1,001,2024-01-31,10.50,hello\nR2,002,2024-02-01,5,x\n",
    )
    plain = cli("load", "--db", dbp, "--orders", f)
    assert plain.returncode == 2
    assert "missing required column(s) for orders" in error_of(plain)
    mapped = cli(
        "load",
        "--db",
        dbp,
        "--orders",
        f,
        "--map",
        "Ref=order_id",
        "--map",
        "Client=customer_id",
        "--map",
        "When=order_date",
        "--map",
        "Total Paid=amount",
        "--map",
        "Note=",
    )
    assert mapped.returncode == 0, mapped.stderr
    con = db.connect(dbp)
    try:
        assert orders(con, "order_id, customer_id, order_date, amount, product") == [
            ("R1", "001", T(2024, 1, 31), D("10.50"), None),
            ("R2", "002", T(2024, 2, 1), D("5"), None),
        ]
    finally:
        con.close()
    wrong = cli("load", "--db", dbp, "--orders", f, "--map", "Nope=amount")
    assert wrong.returncode == 2
    assert "--map names a column the file does not have: 'Nope'" in error_of(wrong)


def test_cli_exit_codes_and_messages(tmp_path: Path) -> None:
    dbp = tmp_path / "crm.duckdb"
    assert cli("load", "--db", dbp, "--file", FIXTURES / "customers_bom.csv").returncode == 0
    digest = hashlib.sha256(dbp.read_bytes()).hexdigest()
    bad = FIXTURES / "bad" / "orders_garbage_dates.csv"

    out = cli("load", "--db", dbp, "--orders", bad)
    assert out.returncode == 2
    assert error_of(out).startswith("error: orders_garbage_dates.csv: column 'order_date'")
    assert "row 3: 'not a date'" in error_of(out)

    for args, message in [
        (("load", "--db", dbp, "--orders", tmp_path / "nope.csv"), "nope.csv: no such file"),
        (("load", "--db", dbp), "name at least one file"),
        (("load", "--db", dbp, "--map", "x", "--orders", bad), "expected SOURCE=column"),
        (("rollback", "--db", dbp, "--to-before", "99"), "load 99 does not exist"),
        (("metrics", "--db", tmp_path / "none.duckdb"), "no such database"),
        (("load", "--db", dbp, "--file", FIXTURES / "bad" / "binary_junk.csv"), "NUL bytes"),
    ]:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in error_of(r), r.stderr
    assert not (tmp_path / "none.duckdb").exists()

    # validate checks like a load (exit 1 on a bad file, 0 on good ones) and changes nothing,
    # not even the database named by CRM_LENS_DB.
    env = {"CRM_LENS_DB": str(dbp)}
    v_bad = cli("validate", "--orders", bad, env=env)
    assert v_bad.returncode == 1
    assert "orders_garbage_dates.csv: column 'order_date': not a date/time" in v_bad.stdout
    v_good = cli("validate", "--orders", FIXTURES / "orders_gbk.csv", env=env)
    assert v_good.returncode == 0, v_good.stdout + v_good.stderr
    assert "orders_gbk.csv: orders — 5 rows read, 5 loaded, 0 rejected (gb18030)" in v_good.stdout
    assert hashlib.sha256(dbp.read_bytes()).hexdigest() == digest
    con = db.connect(dbp)
    try:
        assert con.execute("SELECT count(*) FROM load_history").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    finally:
        con.close()


# --------------------------------------------------------------------------- public data sets


def test_uci_online_retail_through_the_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "uci_online_retail" / "online_retail_40k_line_sample.csv"
    dbp = tmp_path / "crm.duckdb"
    load = cli("load", "--db", dbp, "--file", src)  # auto-detected, no manual edits
    assert load.returncode == 0, load.stderr
    m = json.loads(cli("metrics", "--json", "--db", dbp).stdout)

    revenue, returned, lines = D(0), D(0), 0
    net: dict[str, D] = {}
    with open(src, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            lines += 1
            cid = r["CustomerID"].strip()
            if not cid:
                continue
            amount = D(r["Quantity"]) * D(r["UnitPrice"])
            if r["InvoiceNo"].startswith("C") or D(r["Quantity"]) < 0:
                returned += abs(amount)  # a cancellation: subtracted in the net
                net[cid] = net.get(cid, D(0)) - abs(amount)
                continue
            revenue += amount
            net[cid] = net.get(cid, D(0)) + amount
    assert lines == 40_000
    assert round(revenue, 2) == D("602976.58")
    assert round(D(str(m["revenue"])), 2) == round(revenue, 2)
    assert round(D(str(m["returns_amount"])), 2) == round(returned, 2)
    assert round(D(str(m["net_revenue"])), 2) == round(revenue - returned, 2)
    # Buyers: customers whose net spend (sales minus cancellations) is > 0.
    assert m["customers_with_orders"] == sum(1 for v in net.values() if v > 0)
    assert (m["first_order_date"], m["last_order_date"]) == ("2010-12-01", "2011-12-09")


def test_cfpb_complaints_and_maven_pipeline_auto_map(shared_data: Path, con: db.Connection) -> None:
    cfpb = shared_data / "cfpb_complaints" / "cfpb_sample_3999_mostly_2023-04.csv"
    maven = shared_data / "maven_pipeline" / "sales_pipeline.csv"
    c_rep, m_rep = ingest.load(con, [ingest.Source(cfpb), ingest.Source(maven)]).reports

    assert c_rep.table == "complaints"
    assert {
        "Date_received": "received_at",
        "Product": "category",
        "Complaint_ID": "complaint_id",
    }.items() <= c_rep.mapping.items()
    assert (c_rep.rows_read, c_rep.rows_loaded) == (3999, 3999)
    # Day-first dates: 27-04-2023 is 27 April.
    first = con.execute(
        "SELECT received_at FROM complaints WHERE complaint_id = '6896026'"
    ).fetchone()
    assert first == (T(2023, 4, 27),)

    assert m_rep.table == "leads"
    assert {"opportunity_id": "lead_id", "deal_stage": "stage"}.items() <= m_rep.mapping.items()
    with open(maven, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    no_engage = sum(1 for r in rows if not r["engage_date"].strip())
    assert m_rep.rows_read == len(rows) == 8800
    # Rows with no engage_date (created_at is required) are the rejected ones, counted.
    assert (m_rep.rows_loaded, m_rep.rows_rejected) == (len(rows) - no_engage, no_engage)
    stages = dict(con.execute("SELECT stage, count(*) FROM leads GROUP BY 1").fetchall())
    expected: dict[str, int] = {}
    for r in rows:
        if r["engage_date"].strip():
            expected[r["deal_stage"]] = expected.get(r["deal_stage"], 0) + 1
    assert stages == expected


# --------------------------------------------------------------------------- columns from content


def test_an_unrecognised_date_header_is_found_from_its_values(
    con: db.Connection, tmp_path: Path
) -> None:
    f = write_csv(
        tmp_path / "inv.csv",
        "订单号,客户编号,日期X,金额\n"
        'A1,C1,2024/1/31,"¥1,234.50"\nA2,C2,2024年2月3日,10\nA3,C1,2024-02-05 09:30,5\n',
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert report.table == "orders"
    g = report.inferred["order_date"]
    # 3 of the 3 values parse as dates: 100 %.
    assert (g.header, g.rule, g.matched, g.values) == ("日期X", "dates", 3, 3)
    assert report.mapping["日期X"] == "order_date"
    assert orders(con, "order_id, customer_id, order_date, amount") == [
        ("A1", "C1", T(2024, 1, 31), D("1234.50")),
        ("A2", "C2", T(2024, 2, 3), D("10")),
        ("A3", "C1", T(2024, 2, 5, 9, 30), D("5")),
    ]


def test_a_customer_id_is_found_from_repetition(con: db.Connection, tmp_path: Path) -> None:
    # 买家X repeats (B01 twice); 备注X is free text; 数量X repeats too (1, 2, 1, 1), but only
    # 买家X names a buyer.
    f = write_csv(
        tmp_path / "shop.csv",
        "订单号,买家X,下单时间,实付金额,数量X,备注X\n"
        "T1,B01,2024/3/1,10,1,加急 发顺丰\nT2,B02,2024/3/2,20,2,\nT3,B01,2024/3/3,30,1,周末送\n"
        "T4,B03,2024/3/4,40,1,\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    g = report.inferred["customer_id"]
    # 4 non-blank values, 3 distinct ids (B01, B02, B03).
    assert (g.header, g.rule, g.matched, g.values) == ("买家X", "ids", 3, 4)
    assert orders(con, "order_id, customer_id") == [
        ("T1", "B01"),
        ("T2", "B02"),
        ("T3", "B01"),
        ("T4", "B03"),
    ]


def test_excel_serials_are_dates_only_under_a_date_header(
    con: db.Connection, tmp_path: Path
) -> None:
    # 客户号X holds 5-digit numbers that would read as Excel serials; only 开单日X names a date.
    f = write_csv(
        tmp_path / "serials.csv",
        "订单号,客户号X,开单日X,金额\nS1,17850,45322,1\nS2,13047,45323,2\nS3,17850,45324,3\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert {c: g.header for c, g in report.inferred.items()} == {
        "customer_id": "客户号X",
        "order_date": "开单日X",
    }
    # Serial 45322 counted from 1899-12-30 is 2024-01-31, then one day each.
    assert orders(con, "customer_id, order_date") == [
        ("17850", T(2024, 1, 31)),
        ("13047", T(2024, 2, 1)),
        ("17850", T(2024, 2, 2)),
    ]


def test_line_items_with_quantity_and_unit_price_are_orders(
    con: db.Connection, tmp_path: Path
) -> None:
    # No amount column: the amount is quantity x unit price, so the file is an orders file.
    f = write_csv(
        tmp_path / "lines.csv",
        "单据编号,客户编号,单据日期,商品名称,数量,含税单价\n"
        'X1,C1,2024/1/31,机油,3,"¥1,234.50"\nX1,C1,2024/1/31,滤芯,2,￥45.00\n'
        "X2,C2,2024/2/1,雨刷,1,88\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert (report.table, report.line_items, report.inferred) == ("orders", True, {})
    assert orders(con, "order_id, line_no, quantity, unit_price, amount") == [
        ("X1", 1, 3.0, D("1234.50"), D("3703.50")),  # 3 x 1,234.50 = 3,703.50
        ("X1", 2, 2.0, D("45"), D("90")),  # 2 x 45.00 = 90.00
        ("X2", 1, 1.0, D("88"), D("88")),  # 1 x 88 = 88
    ]
    # 3,703.50 + 90 + 88 = 3,881.50
    assert metrics(con)["revenue"] == 3881.5


def test_resolution_time_is_not_a_handling_start(con: db.Connection, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "tickets.csv",
        "工单编号,投诉时间,投诉类别,处理时间,处理完成时间\n"
        "K1,2024/5/1 09:00,质量,2024/5/1 10:00,2024/5/2 16:30\n"
        "K2,2024/5/3 08:00,服务,,\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert report.mapping["处理完成时间"] == "handled_at"
    assert "处理时间" not in report.mapping  # when handling began: no column holds that
    assert con.execute(
        "SELECT complaint_id, accepted_at, handled_at, closed_at FROM complaints ORDER BY 1"
    ).fetchall() == [
        ("K1", None, T(2024, 5, 2, 16, 30), None),
        ("K2", None, None, None),
    ]


def test_the_sample_is_the_first_2000_rows_and_long_fields_are_read(tmp_path: Path) -> None:
    long = "x" * 200_000  # over the csv module's 128 KB field limit
    rows = "".join(
        f"R{i},C{i % 7},2024/1/{i % 28 + 1},{long if i == 0 else 1}\n" for i in range(2500)
    )
    f = write_csv(tmp_path / "big.csv", "订单号,客户编号,日期X,备注X\n" + rows)
    profiles = ingest.profile_columns(f, ",", ["订单号", "客户编号", "日期X", "备注X"])
    # 2,500 data rows, 2,000 sampled; 7 customers C0..C6 repeat; every 日期X value is a date.
    assert profiles["日期X"].values == profiles["日期X"].date_count == 2000
    assert (profiles["客户编号"].distinct, profiles["客户编号"].id_like) == (7, True)
    assert (profiles["订单号"].distinct, profiles["订单号"].id_like) == (2000, False)
    assert profiles["备注X"].values == 2000


# --------------------------------------------------------------------------- encodings

# A complaints export with Chinese headers, saved as GB18030 by a Chinese Excel.
COMPLAINTS_GB = (
    "投诉编号,客户编号,投诉日期,投诉类别,处理状态\n"
    "T1,001,2024/1/31,物流延误,已处理\n"
    "T2,002,2024/2/1,产品质量,处理中\n"
    "T3,001,2024/2/15,服务态度,已结案\n"
)


def test_gb18030_export_whose_first_header_is_valid_utf8(
    con: db.Connection, tmp_path: Path
) -> None:
    f = write_csv(tmp_path / "投诉导出.csv", COMPLAINTS_GB, "gb18030")
    raw = f.read_bytes()
    # 投 = CD B6 is also the valid UTF-8 "Ͷ" (U+0376); 诉 = CB DF is not UTF-8. Judged from its
    # first characters the file was refused as mixing encodings in row 1.
    assert raw[:4] == b"\xcd\xb6\xcb\xdf" and raw[:2].decode("utf-8") == "\u0376"
    assert ingest.inspect(ingest.Source(f)).encoding == "gb18030"
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert (report.table, report.encoding, report.rows_read, report.rows_loaded) == (
        "complaints",
        "gb18030",
        3,
        3,
    )
    assert con.execute(
        "SELECT complaint_id, customer_id, received_at, category, status FROM complaints ORDER BY 1"
    ).fetchall() == [
        ("T1", "001", T(2024, 1, 31), "物流延误", "已处理"),
        ("T2", "002", T(2024, 2, 1), "产品质量", "处理中"),
        ("T3", "001", T(2024, 2, 15), "服务态度", "已结案"),
    ]
    assert con.execute("SELECT encoding FROM load_history").fetchall() == [("gb18030",)]


def test_encoding_names_are_checked() -> None:
    assert [
        ingest.normalise_encoding(n)
        for n in ("UTF8", "GBK", "cp936", "windows-1252", "Big5", "utf-16", " gb18030 ")
    ] == ["utf-8", "gbk", "gbk", "cp1252", "big5", "utf-16", "gb18030"]
    for bad in ("klingon", "", "base64", "rot13"):  # base64 / rot13 are codecs, not encodings
        with pytest.raises(ingest.IngestError, match="unknown text encoding"):
            ingest.normalise_encoding(bad)


def test_cli_encoding_flag(tmp_path: Path) -> None:
    dbp = tmp_path / "crm.duckdb"
    f = write_csv(tmp_path / "complaints.csv", COMPLAINTS_GB, "gb18030")
    forced = cli("load", "--db", dbp, "--encoding", "GBK", "--complaints", f)
    assert forced.returncode == 0, forced.stderr
    assert "complaints.csv: complaints — 3 rows read, 3 loaded, 0 rejected (gbk)" in forced.stdout
    wrong = cli("load", "--db", dbp, "--encoding", "utf-8", "--complaints", f)
    assert wrong.returncode == 2
    assert "the file is not UTF-8 (the encoding chosen)" in error_of(wrong)
    # The first byte UTF-8 rejects: 诉 (CB DF) then 编 (B1 E0); 投 (CD B6) passed as "Ͷ".
    assert "row 1: 'CB DF B1 E0'" in error_of(wrong)
    for command in (("load", "--db", dbp), ("validate",)):
        r = cli(*command, "--encoding", "klingon", "--complaints", f)
        assert r.returncode == 2
        assert error_of(r).startswith("error: unknown text encoding 'klingon'")
    checked = cli("validate", "--encoding", "gb18030", "--complaints", f)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "(gb18030)" in checked.stdout
    con = db.connect(dbp)
    try:  # only the first load went in
        assert con.execute("SELECT load_id, encoding FROM load_history").fetchall() == [(1, "gbk")]
        assert con.execute("SELECT count(*) FROM complaints").fetchone() == (3,)
    finally:
        con.close()


# --------------------------------------------------------------------------- replace-all


def test_replace_all_empties_every_other_table_and_rolls_back(
    con: db.Connection, tmp_path: Path
) -> None:
    load_baseline(con)  # load 1: 4 customers, 5 orders
    c = write_csv(tmp_path / "complaints.csv", COMPLAINTS_GB, "gb18030")
    ingest.load(con, [ingest.Source(c)], "append")  # load 2: 3 complaints
    before = snapshot(con)
    f = write_csv(tmp_path / "own.csv", ORDER_HEAD + "M1,001,2024-06-01,10\nM2,002,2024-06-02,20\n")
    result = ingest.load(con, [ingest.Source(f, "orders")], "replace-all")
    # leads and interactions were empty already: nothing to empty there.
    assert result.emptied == {"customers": 4, "complaints": 3}
    assert db.table_counts(con) == {
        "customers": 0,
        "orders": 2,
        "complaints": 0,
        "leads": 0,
        "interactions": 0,
        "marketing_spend": 0,
    }
    assert metrics(con)["revenue"] == 30.0  # 10 + 20: the baseline's orders are gone
    assert con.execute(
        "SELECT file_name, table_name, mode, rows_loaded, undo_kind FROM load_history "
        "WHERE load_id = 3 ORDER BY table_name"
    ).fetchall() == [
        (None, "complaints", "replace-all", 0, "replaced"),
        (None, "customers", "replace-all", 0, "replaced"),
        ("own.csv", "orders", "replace-all", 2, "replaced"),
    ]
    assert ingest.rollback_to_before(con, 3) == [3]
    assert snapshot(con) == before


def test_demo_tables_until_the_users_own_data_replaces_them(demo_copy: Path) -> None:
    con = db.connect(demo_copy)
    try:
        every = ["customers", "orders", "complaints", "leads", "interactions", "marketing_spend"]
        counts = db.table_counts(con)
        assert ingest.demo_tables(con) == every
        # Own orders appended: the demo orders are still there, mixed in.
        first = ingest.load(con, [ingest.Source(FIXTURES / "orders_gbk.csv")], "append")
        assert ingest.demo_tables(con) == every
        # Own customers replacing the demo's: that table is the user's alone.
        ingest.load(con, [ingest.Source(FIXTURES / "customers_bom.csv")], "replace")
        assert ingest.demo_tables(con) == every[1:]
        own = ingest.load(con, [ingest.Source(FIXTURES / "orders_gbk.csv")], "replace-all")
        assert own.emptied == {
            "customers": 4,  # customers_bom.csv's
            "complaints": counts["complaints"],
            "leads": counts["leads"],
            "interactions": counts["interactions"],
            "marketing_spend": counts["marketing_spend"],
        }
        assert ingest.demo_tables(con) == []
        assert db.table_counts(con)["orders"] == 5  # orders_gbk.csv only
        # Undoing the three loads gives the demo back, row for row.
        assert ingest.rollback_to_before(con, first.load_id) == [4, 3, 2]
        assert db.table_counts(con) == counts
        assert ingest.demo_tables(con) == every
    finally:
        con.close()


def test_cli_default_mode_appends_like_the_data_page(tmp_path: Path) -> None:
    dbp = tmp_path / "crm.duckdb"
    assert cli("load", "--db", dbp, "--file", FIXTURES / "customers_bom.csv").returncode == 0
    first = cli("load", "--db", dbp, "--orders", FIXTURES / "orders_gbk.csv")
    assert "load 2 committed (append)" in first.stdout
    more = write_csv(
        tmp_path / "more.csv", ORDER_HEAD + "SO2,001,2024-02-16,250\nSO9,003,2024-05-01,80\n"
    )
    assert cli("load", "--db", dbp, "--orders", more).returncode == 0
    con = db.connect(dbp)
    try:  # SO1..SO5 kept, SO2 updated, SO9 added
        assert orders(con, "order_id, amount")[1] == ("SO2", D("250"))
        assert len(orders(con)) == 6
    finally:
        con.close()
    # An explicit --mode replace still swaps the table whole.
    assert cli("load", "--db", dbp, "--mode", "replace", "--orders", more).returncode == 0
    own = cli("load", "--db", dbp, "--mode", "replace-all", "--orders", more)
    assert own.returncode == 0, own.stderr
    assert "customers: emptied (4 rows removed; no file named it)" in own.stdout
    assert "load 5 committed (replace-all)" in own.stdout
    con = db.connect(dbp)
    try:
        assert con.execute(
            "SELECT load_id, mode FROM load_history WHERE file_name IS NOT NULL ORDER BY 1"
        ).fetchall() == [
            (1, "append"),
            (2, "append"),
            (3, "append"),
            (4, "replace"),
            (5, "replace-all"),
        ]
        assert orders(con, "order_id") == [("SO2",), ("SO9",)]
        assert db.table_counts(con)["customers"] == 0
    finally:
        con.close()
    assert cli("rollback", "--db", dbp, "--to-before", "5").returncode == 0
    con = db.connect(dbp)
    try:
        assert db.table_counts(con)["customers"] == 4
    finally:
        con.close()


# --------------------------------------------------------------------------- line shapes


def test_lines_with_a_product_and_quantity_are_line_items(
    con: db.Connection, tmp_path: Path
) -> None:
    # A shop export: one row per product of an order, the line amount given, no unit price.
    f = write_csv(
        tmp_path / "shop.csv",
        "订单号,下单时间,会员ID,商品名称,数量,金额,订单状态\n"
        'T1,2024/3/1,M1,机油,2,"¥1,200.00",已完成\nT1,2024/3/1,M1,滤芯,1,¥45.50,已完成\n'
        "T2,2024/3/2,M2,雨刷,1,-¥88.00,已取消\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert (report.table, report.line_items) == ("orders", True)
    assert orders(con, "order_id, line_no, amount, is_return") == [
        ("T1", 1, D("1200.00"), False),
        ("T1", 2, D("45.50"), False),
        ("T2", 1, D("-88.00"), True),
    ]


def test_a_purchase_log_without_order_numbers_gets_one_order_per_customer_day(
    con: db.Connection, tmp_path: Path
) -> None:
    # No order number: U1 bought twice on 1997/1/1 (one order, two lines) and once on 1997/1/18.
    f = write_csv(
        tmp_path / "log.csv",
        "用户ID,购买日期,数量,实付金额\n0001,1997/1/1,2,29.33\n0001,1997/1/1,1,5.00\n"
        "0001,1997/1/18,2,29.73\n0002,1997/1/1,1,9.99\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f)]).reports
    assert report.table == "orders"
    assert any("one order per customer per day" in w for w in report.warnings)
    assert orders(con, "order_id, line_no, customer_id, amount") == [
        ("0001 1997-01-01", 1, "0001", D("29.33")),
        ("0001 1997-01-01", 2, "0001", D("5.00")),
        ("0001 1997-01-18", 1, "0001", D("29.73")),
        ("0002 1997-01-01", 1, "0002", D("9.99")),
    ]
    # Orders per customer: 0001 two days, 0002 one; revenue 29.33 + 5.00 + 29.73 + 9.99 = 74.05.
    assert con.execute(
        "SELECT customer_id, count(DISTINCT order_id), sum(amount) FROM orders GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("0001", 2, D("64.06")), ("0002", 1, D("9.99"))]


def test_line_items_keep_file_order_whether_or_not_an_order_repeats(
    con: db.Connection, tmp_path: Path
) -> None:
    # Every order id once: each line is line 1, rows in file order (no windowed copy).
    once = write_csv(
        tmp_path / "once.csv",
        "订单号,下单时间,会员ID,商品名称,数量,金额\n"
        "T9,2024/3/3,M1,机油,2,10\nT1,2024/3/1,M2,滤芯,1,20\nT5,2024/3/2,M1,雨刷,1,30\n",
    )
    (report,) = ingest.load(con, [ingest.Source(once)]).reports
    assert report.line_items
    assert con.execute(
        "SELECT order_id, line_no, amount FROM orders ORDER BY rowid"
    ).fetchall() == [("T9", 1, D("10")), ("T1", 1, D("20")), ("T5", 1, D("30"))]
    # T1 repeats and its middle line has a bad amount (rejected): its lines are numbered
    # 1, 2 after the rejection, and the table keeps the file's order.
    twice = write_csv(
        tmp_path / "twice.csv",
        "订单号,下单时间,会员ID,商品名称,数量,金额\n"
        "T9,2024/3/3,M1,机油,2,10\nT1,2024/3/1,M2,滤芯,1,20\nT1,2024/3/1,M2,机油,1,abc\n"
        "T5,2024/3/2,M1,雨刷,1,30\nT1,2024/3/1,M2,雨刷,1,40\n",
    )
    (report,) = ingest.load(con, [ingest.Source(twice, skip_bad_rows=True)]).reports
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 4, 1)
    assert con.execute(
        "SELECT order_id, line_no, amount FROM orders ORDER BY rowid"
    ).fetchall() == [
        ("T9", 1, D("10")),
        ("T1", 1, D("20")),
        ("T5", 1, D("30")),
        ("T1", 2, D("40")),
    ]
    assert con.execute("SELECT row_number, value FROM load_rejects").fetchall() == [(4, "abc")]


def test_interactions_without_ids_get_one_per_file_row(con: db.Connection, tmp_path: Path) -> None:
    # No interaction id: each row's id is the file's hash prefix and its row number (2, 3 …).
    f = write_csv(
        tmp_path / "calls.csv",
        "customer_id,occurred_at,kind\nC1,2024-03-01,call\nC1,2024-03-01,call\nC2,2024-03-02,visit\n",
    )
    (report,) = ingest.load(con, [ingest.Source(f, "interactions")]).reports
    prefix = report.sha256[:10]
    assert con.execute(
        "SELECT interaction_id, customer_id, kind FROM interactions ORDER BY rowid"
    ).fetchall() == [
        (f"{prefix}-2", "C1", "call"),
        (f"{prefix}-3", "C1", "call"),
        (f"{prefix}-4", "C2", "visit"),
    ]


def test_unknown_customers_are_counted_per_file_in_every_mode(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "unknown.duckdb")
    (tmp_path / "customers.csv").write_text("customer_id,name\nC1,Ann\nC2,Bo\n", encoding="utf-8")
    a = tmp_path / "a.csv"
    a.write_text(
        "order_id,customer_id,order_date,amount\nA1,C1,2024-01-02,10\nA2,C3,2024-01-03,20\n"
        "A3,C3,2024-01-04,30\n",
        encoding="utf-8",
    )
    b = tmp_path / "b.csv"
    b.write_text("order_id,customer_id,order_date,amount\nB1,C4,2024-01-05,5\n", encoding="utf-8")
    c = tmp_path / "c.csv"
    c.write_text(
        "order_id,customer_id,order_date,amount\nC1,C1,2024-02-01,7\nC2,C5,2024-02-02,8\n",
        encoding="utf-8",
    )

    def unknown(result: ingest.LoadResult) -> dict[str, int]:
        return {
            r.file_name: w.params["n"]
            for r in result.reports
            for w in r.warnings
            if w.key == "unknown_customers"
        }

    ingest.load(con, [ingest.Source(tmp_path / "customers.csv", "customers")], "replace")
    # One file replaces orders: A2 and A3 name C3, not a customer (2 rows).
    one = ingest.load(con, [ingest.Source(a, "orders")], "replace")
    assert unknown(one) == {"a.csv": 2}
    # Two files replace it together: each file's own rows (a: C3 twice, b: C4 once).
    two = ingest.load(con, [ingest.Source(a, "orders"), ingest.Source(b, "orders")], "replace")
    assert unknown(two) == {"a.csv": 2, "b.csv": 1}
    # An append counts its own rows only (C5), not the loaded C3 and C4 lines.
    more = ingest.load(con, [ingest.Source(c, "orders")], "append")
    assert unknown(more) == {"c.csv": 1}
    con.close()


# ------------------------------------------- a replace stages in the database and renames it


def _stages(con: db.Connection) -> list[str]:
    return [n for n in db.table_columns(con) if n.startswith("_load_")]


def _load_both_ways(
    tmp_path: Path, source: ingest.Source
) -> tuple[db.Connection, db.Connection, ingest.FileReport, ingest.FileReport]:
    """The file replaced into one database (staged in it, renamed into place) and appended to
    an empty one (staged in a temp table, copied): the two paths a load may take."""
    renamed, copied = (
        db.connect(tmp_path / "renamed.duckdb"),
        db.connect(tmp_path / "copied.duckdb"),
    )
    (a,) = ingest.load(renamed, [source], "replace").reports
    (b,) = ingest.load(copied, [source], "append").reports
    return renamed, copied, a, b


def test_a_replace_renames_its_stage_into_place_with_what_a_copy_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.ingest import swap

    renames: list[bool] = []  # whether each replaced table's stage was fit to be renamed
    canonical = swap._canonical

    def spy(*args: Any) -> bool:
        renames.append(canonical(*args))
        return renames[-1]

    monkeypatch.setattr(swap, "_canonical", spy)
    f = write_csv(
        tmp_path / "orders.csv",
        "order_id,customer_id,order_date,amount,status\n"
        "1001,C1,2024/1/5,100.00,\n"  # row 2: a sale
        "1002,C2,2024/1/6,bad,\n"  # row 3: not an amount -> rejected
        "C1001,C1,2024/1/7,-100.00,\n"  # row 4: a "C" cancellation, negative as well
        "1003,,2024/1/8,50.00,\n"  # row 5: no customer -> rejected
        '1004,C2,2024/1/9,"¥1,234.50",已取消\n'  # row 6: cancelled by its status
        "C1005,C3,2024/1/10,20.00,\n",  # row 7: a return by its "C" alone
    )
    renamed, copied, a, b = _load_both_ways(
        tmp_path, ingest.Source(f, "orders", skip_bad_rows=True)
    )
    try:
        # 6 rows read, rows 3 and 5 rejected: 4 loaded; returns: C1001, 1004, C1005.
        assert (a.rows_read, a.rows_loaded, a.rows_rejected) == (6, 4, 2)
        assert orders(renamed, "order_id, customer_id, amount, line_no, is_return") == [
            ("1001", "C1", D("100.00"), 1, False),
            ("1004", "C2", D("1234.50"), 1, True),
            ("C1001", "C1", D("-100.00"), 1, True),
            ("C1005", "C3", D("20.00"), 1, True),
        ]
        assert renames == [True]  # the replace renamed; the append copied
        assert orders(renamed) == orders(copied)
        assert [str(w) for w in a.warnings] == [str(w) for w in b.warnings]
        rejects = "SELECT row_number, column_name, value, reason FROM load_rejects ORDER BY 1"
        assert (
            renamed.execute(rejects).fetchall()
            == copied.execute(rejects).fetchall()
            == [
                (3, "amount", "bad", "not an amount"),
                (5, "customer_id", None, "required value missing"),
            ]
        )
        # The renamed table has the canonical columns and types, and no stage is left.
        describe = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'orders'"
        assert renamed.execute(describe).fetchall() == copied.execute(describe).fetchall()
        assert _stages(renamed) == []
    finally:
        renamed.close()
        copied.close()


def test_staged_keys_and_derived_ids_name_file_rows_after_rejected_rows(tmp_path: Path) -> None:
    # Row 2's date is not a date (rejected); rows 3 and 5 share C2: refused, the rows named are
    # the file's, and nothing of the load stays in the database.
    f = write_csv(
        tmp_path / "customers.csv",
        "customer_id,name,created_at\nC1,A,not a date\nC2,B,2024-01-02\nC3,C,2024-01-03\n"
        "C2,D,2024-01-04\n",
    )
    con = db.connect(tmp_path / "crm.duckdb")
    try:
        with pytest.raises(ingest.IngestError) as e:
            ingest.load(con, [ingest.Source(f, "customers", skip_bad_rows=True)], "replace")
        (dup,) = [p for p in e.value.reports[0].errors if p.key == "duplicate"]
        assert (dup.count, dup.params["dup_rows"]) == (1, [[3, 5]])
        assert _stages(con) == []
        assert con.execute("SELECT count(*) FROM customers").fetchone() == (0,)
        # No interaction id: each id holds its file row, rejected row 3 (no date) between.
        calls = write_csv(
            tmp_path / "calls.csv",
            "customer_id,occurred_at,kind\nC1,2024-03-01,call\nC1,someday,call\n"
            "C2,2024-03-02,visit\n",
        )
        (r,) = ingest.load(
            con, [ingest.Source(calls, "interactions", skip_bad_rows=True)], "replace"
        ).reports
        assert con.execute(
            "SELECT interaction_id, kind FROM interactions ORDER BY rowid"
        ).fetchall() == [(f"{r.sha256[:10]}-2", "call"), (f"{r.sha256[:10]}-4", "visit")]
        assert _stages(con) == []
    finally:
        con.close()


def test_a_stage_left_by_another_process_is_dropped_when_the_file_opens(tmp_path: Path) -> None:
    path = tmp_path / "crm.duckdb"
    con = db.connect(path)
    # A process that stopped mid-load (pid 999999999 is beyond any pid_max), and a stage of
    # this process's own, which may be a load under way.
    con.execute("CREATE TABLE _load_999999999_0a1b2c3d_0 AS SELECT 1 AS x")
    con.execute(f"CREATE TABLE _load_{os.getpid()}_0a1b2c3d_0 AS SELECT 1 AS x")
    con.close()
    con = db.connect(path)
    try:
        assert _stages(con) == [f"_load_{os.getpid()}_0a1b2c3d_0"]
    finally:
        con.close()


def test_a_full_disk_while_typing_is_the_disks_error_not_the_files(tmp_path: Path) -> None:
    import duckdb

    class FullDisk:
        """A connection whose disk fills up when the typed stage is written into the file."""

        def __init__(self, con: Any) -> None:
            self._con = con

        def execute(self, query: str, *args: Any) -> Any:
            if "_typed AS SELECT" in query and "TEMP" not in query:
                raise duckdb.IOException(
                    'Could not write file "crm.duckdb": No space left on device'
                )
            return self._con.execute(query, *args)

        def cursor(self) -> FullDisk:
            return FullDisk(self._con.cursor())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    con = db.connect(tmp_path / "crm.duckdb")
    try:
        f = FIXTURES / "orders_gbk.csv"
        with pytest.raises(duckdb.IOException, match="No space left"):
            ingest.load(FullDisk(con), [ingest.Source(f)], "replace")  # type: ignore[arg-type]
        assert _stages(con) == [] and con.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    finally:
        con.close()
