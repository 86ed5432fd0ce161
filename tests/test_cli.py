"""CLI behaviour that the ingest tests do not cover: demo build, a busy database file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

from crm_core import db


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_demo_then_metrics(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert run_cli("demo", "--db", str(db)).returncode == 0
    out = run_cli("metrics", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)
    assert m["tables"]["customers"] > 1000
    assert m["revenue"] > 0
    assert m["first_order_date"] < m["last_order_date"]


def test_load_while_another_process_holds_the_file(tmp_path: Path, fixtures: Path) -> None:
    # DuckDB allows one process per file: the CLI must stop with a clear message, not hang or
    # corrupt the holder's data.
    db = tmp_path / "busy.duckdb"
    assert (
        run_cli("load", "--db", str(db), "--orders", str(fixtures / "orders_gbk.csv")).returncode
        == 0
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        out = run_cli("load", "--db", str(db), "--orders", str(fixtures / "line_items.csv"))
        assert out.returncode == 2
        assert "in use by another process" in out.stderr
        assert time.monotonic() - t0 < 60
    finally:
        holder.kill()
        holder.wait()
    m = json.loads(run_cli("metrics", "--db", str(db), "--json").stdout)
    assert m["revenue"] == 151534.0  # the first load, untouched


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    out = run_cli("metrics", "--db", str(tmp_path / "nope.duckdb"), "--json")
    assert out.returncode == 2
    assert "no such database" in out.stderr


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_prints_what_it_inferred(tmp_path: Path) -> None:
    f = write(
        tmp_path / "inv.csv",
        "订单号,客户编号,开票日期X,金额\nA1,C1,2024/1/31,10\nA2,C2,2024/2/1,20\n",
    )
    out = run_cli("load", "--db", str(tmp_path / "a.duckdb"), "--file", str(f))
    assert out.returncode == 0, out.stderr
    # 2 of 2 values are dates: 100 %.
    assert "  inferred: order_date ← 开票日期X (dates in 100 % of 2 sampled rows)\n" in out.stdout
    v = run_cli("validate", "--file", str(f))
    assert v.returncode == 0 and "inferred: order_date ← 开票日期X" in v.stdout


def test_two_date_columns_are_refused_and_the_advised_map_loads(
    tmp_path: Path, fixtures: Path
) -> None:
    dbp = tmp_path / "a.duckdb"
    f = write(
        tmp_path / "two.csv",
        "订单号,客户编号,开票X,付款X,金额\nA1,C1,2024/1/31,2024/2/3,10\nA2,C2,2024/2/1,2024/2/4,20\n",
    )
    out = run_cli("load", "--db", str(dbp), "--file", str(f))
    assert out.returncode == 2
    assert (
        "error: two.csv: 2 columns could be order_date: '开票X', '付款X'. "
        'Choose one: --map "开票X=order_date"'
    ) in out.stderr
    assert not dbp.exists() or _orders(dbp) == []
    advice = re.search(r'--map "([^"]+)"', out.stderr)
    assert advice
    again = run_cli("load", "--db", str(dbp), "--file", str(f), "--map", advice.group(1))
    assert again.returncode == 0, again.stderr
    assert _orders(dbp) == [("A1", "2024-01-31"), ("A2", "2024-02-01")]
    # The other column, chosen by hand, gives the other dates.
    other = run_cli("load", "--db", str(dbp), "--file", str(f), "--map", "付款X=order_date")
    assert other.returncode == 0, other.stderr
    assert _orders(dbp) == [("A1", "2024-02-03"), ("A2", "2024-02-04")]
    # With several files, a --map applies to the file that has the column; the others are
    # detected as usual.
    both = run_cli(
        "load",
        "--db",
        str(dbp),
        "--file",
        str(f),
        "--file",
        str(fixtures / "customers_bom.csv"),
        "--map",
        "开票X=order_date",
    )
    assert both.returncode == 0, both.stderr
    assert "two.csv: orders — 2 rows read" in both.stdout
    assert "customers_bom.csv: customers — " in both.stdout


def test_map_with_file_applies_before_detection_as_the_errors_advise(tmp_path: Path) -> None:
    # Nothing here has a known header: each failing load names a missing column and advises
    # --map "SOURCE=column"; filling in SOURCE and running again must end in a load.
    dbp = tmp_path / "a.duckdb"
    f = write(
        tmp_path / "export.csv",
        "Ref,Client,When,Total Paid\nR1,001,2024-01-31,10.50\nR2,002,2024-02-01,5\nR3,001,2024-02-02,1\n",
    )
    source_of = {"order_id": "Ref", "customer_id": "Client", "amount": "Total Paid"}
    maps: list[str] = []
    for _ in range(4):
        out = run_cli("load", "--db", str(dbp), "--file", str(f), *maps)
        if out.returncode == 0:
            break
        advice = re.findall(r'--map "SOURCE=(\w+)"', out.stderr)
        assert advice, out.stderr
        column = advice[0] if advice[0] != "column" else "order_id"
        maps += ["--map", f"{source_of[column]}={column}"]
    assert out.returncode == 0, out.stderr
    # The order id first (nothing matched), then the amount: Client repeats (an id) and When
    # holds dates, so those two are found from the values.
    assert maps == ["--map", "Ref=order_id", "--map", "Total Paid=amount"]
    assert "inferred: customer_id ← Client" in out.stdout
    assert "inferred: order_date ← When" in out.stdout
    con = db.connect(dbp)
    try:
        assert con.execute(
            "SELECT order_id, customer_id, CAST(amount AS VARCHAR) FROM orders ORDER BY 1"
        ).fetchall() == [("R1", "001", "10.5000"), ("R2", "002", "5.0000"), ("R3", "001", "1.0000")]
    finally:
        con.close()


def _orders(dbp: Path) -> list[tuple]:
    con = db.connect(dbp)
    try:
        return con.execute(
            "SELECT order_id, strftime(order_date, '%Y-%m-%d') FROM orders ORDER BY 1"
        ).fetchall()
    finally:
        con.close()


def test_report_for_a_year_without_first_purchases(tmp_path: Path) -> None:
    # The last 12 months (2025-02-01 .. 2026-01-31) hold only 001's repeat order: the lifecycle
    # cohorts are empty, and `report` crashed on them.
    from crm_core import db, ingest
    from crm_core.__main__ import main

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "订单编号,客户编号,下单时间,实付金额\nSO1,001,2024/1/5,100\nSO2,002,2024/2/5,50\n"
        "SO3,001,2026/1/31,80\n",
        encoding="utf-8",
    )
    path = tmp_path / "crm.duckdb"
    con = db.connect(path)
    ingest.load(con, [ingest.Source(orders, "orders")])
    con.close()
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(path), "--out", str(out), "--lang", "en"]) == 0
    assert "<section>" in out.read_text(encoding="utf-8")


def test_metrics_json_net_of_returns(net_con, db_file: Path) -> None:
    # The returns fixture (conftest.py), all time for the headline block:
    #   revenue (gross sales) 50 + 168,000 + 500 + 300 + 200 + 0 + 100 + 1,000 = 170,150.00
    #   returns_amount |-167,997.10| + |-200| + |400| = 168,597.10
    #   net_revenue 170,150.00 - 168,597.10 = 1,552.90
    #   customers_with_orders: net > 0 -> N01 52.90, N02, N06, N07 = 4 (N03 0, N04 0 are not)
    # Default window: the 12 months to the last order date (1006, 2024-09-01), 2023-09-02 ..
    # 2024-09-01: buyers N02 800, N07 600, N06 100, N01 2.90 (its 2023-06-01 line is outside)
    # -> diamond N02; top 20 % = 1 customer: 800 / 1,502.90.
    net_con.close()
    out = run_cli("metrics", "--json", "--db", str(db_file))
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)
    assert m["revenue"] == 170150.0
    assert m["returns_amount"] == 168597.1
    assert m["net_revenue"] == 1552.9
    assert m["customers_with_orders"] == 4
    assert m["tiers"]["diamond"] == {
        "customers": 1,
        "revenue": 800.0,
        "revenue_share": 800 / 1502.9,
    }
    assert m["tiers"]["regular"]["customers"] == 3
    assert abs(m["pareto_top20_share"] - 800 / 1502.9) < 1e-12


def test_history_json_lists_each_file_of_each_load(tmp_path: Path, fixtures: Path) -> None:
    db = tmp_path / "h.duckdb"
    assert (
        run_cli("load", "--db", str(db), "--orders", str(fixtures / "orders_gbk.csv")).returncode
        == 0
    )
    out = run_cli("history", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    [h] = json.loads(out.stdout)
    assert (h["load_id"], h["file_name"], h["table_name"]) == (1, "orders_gbk.csv", "orders")
    assert h["encoding"] == "gb18030"
    assert isinstance(h["warnings"], list)
