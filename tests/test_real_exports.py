"""Real public data re-exported the way Chinese companies export it, loaded with `load --file` alone.

Every figure is recomputed here from the public source file with the csv module and Decimal
(never through crm_core), plus a few customers worked out by hand in the comments.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D
from pathlib import Path

import pytest
import real_exports as rx
from conftest import ROOT


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def load_alone(db: Path, export: Path) -> subprocess.CompletedProcess[str]:
    """`load --file F` with no table, map, encoding or date-order option."""
    out = cli("load", "--db", db, "--file", export)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return out


def metrics_of(db: Path) -> dict:
    out = cli("metrics", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def customers_of(db: Path, *period: str) -> dict[str, dict]:
    """`customers --json`, by customer id; `period` = ("--start", d, "--end", d) when given."""
    out = cli("customers", "--db", db, "--json", *period)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    rows = doc["customers"] if isinstance(doc, dict) else doc
    return {r["customer_id"]: r for r in rows}


def history_of(db: Path) -> list[dict]:
    out = cli("history", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def exact(r: dict[str, str]) -> D:
    """A line's amount as quantity × unit price (the invoice export derives it the same way)."""
    return D(r["Quantity"]) * D(r["UnitPrice"])


def to_cent(r: dict[str, str]) -> D:
    """A line's amount as the shop export writes it: rounded to the cent (¥0.83 for 5 × 0.165)."""
    return exact(r).quantize(D("0.01"), rounding=ROUND_HALF_EVEN)


def uci_totals(rows: list[dict[str, str]], line=exact) -> tuple[D, D, dict[str, D]]:
    """Gross sales, returns and net per customer of the UCI lines that carry a customer id."""
    gross, returns = D(0), D(0)
    net: dict[str, D] = defaultdict(D)
    for r in rows:
        cid = rx.uci_customer(r)
        if not cid:
            continue
        amount = line(r)
        if r["InvoiceNo"].startswith("C") or amount < 0:
            returns += -amount
        else:
            gross += amount
        net[cid] += amount
    return gross, returns, net


@pytest.fixture
def uci(shared_data: Path) -> list[dict[str, str]]:
    return rx.uci_rows(shared_data)


def check_uci_figures(db: Path, rows: list[dict[str, str]], line=exact) -> None:
    gross, returns, net = uci_totals(rows, line)
    m = metrics_of(db)
    assert D(str(m["revenue"])) == gross
    assert D(str(m["returns_amount"])) == returns
    assert D(str(m["net_revenue"])) == gross - returns
    # Buyers are customers whose net spend is positive.
    assert m["customers_with_orders"] == sum(1 for v in net.values() if v > 0)

    # The whole history: 2010-12-01 .. 2011-12-09.
    cust = customers_of(db, "--start", "2010-12-01", "--end", "2011-12-09")
    assert len(cust) == len(net)  # every customer of the export, buyers or not
    # 18274 bought 12 × 1.45 = 17.40 on 2011-11-09 (575485) and cancelled 12 × 1.45 = 17.40 on
    # 2011-11-22 (C577832): net 0.00, so not an active buyer and in no value tier.
    assert D(str(cust["18274"]["net_revenue"])) == D("0.00")
    assert cust["18274"]["tier"] not in ("diamond", "gold", "silver", "regular")
    # 15658 cancelled 2 × 3.95 = 7.90 on 2011-01-21 (C541822) and bought 4 × 9.95 = 39.80 on
    # 2011-05-26 (554704): net 39.80 − 7.90 = 31.90, one order.
    assert D(str(cust["15658"]["net_revenue"])) == D("31.90")
    assert cust["15658"]["orders"] == 1
    assert cust["15658"]["last_order_date"] == "2011-05-26"


def test_gb18030_invoice_export_with_开票时间(shared_data: Path, tmp_path: Path, uci) -> None:
    export = rx.invoice_export_gb18030(shared_data, tmp_path / "开票明细.csv")
    db = tmp_path / "crm.duckdb"
    load_alone(db, export)
    [h] = history_of(db)
    assert h["encoding"] == "gb18030"
    # Lines without a customer id cannot belong to a customer: rejected and counted.
    no_customer = sum(1 for r in uci if not rx.uci_customer(r))
    assert no_customer == 10057
    assert metrics_of(db)["tables"]["orders"] == 40000 - no_customer
    check_uci_figures(db, uci)


def test_utf8_bom_shop_export_with_yuan_amounts_and_cancelled_status(
    shared_data: Path, tmp_path: Path, uci
) -> None:
    # The same lines as the invoice export, formatted by a shop system: line amounts as
    # ¥1,234.50, cancellations as negative amounts with status 已取消, dates without times.
    export = rx.shop_export_utf8_bom(shared_data, tmp_path / "订单明细.csv")
    db = tmp_path / "crm.duckdb"
    load_alone(db, export)
    [h] = history_of(db)
    assert h["encoding"] == "utf-8-sig"
    assert metrics_of(db)["tables"]["orders"] == 40000 - 10057
    check_uci_figures(db, uci, to_cent)


def test_cdnow_member_export_matches_the_published_totals(
    shared_data: Path, tmp_path: Path
) -> None:
    export = rx.cdnow_export_utf8(shared_data, tmp_path / "会员消费.csv")
    db = tmp_path / "crm.duckdb"
    load_alone(db, export)
    rows = rx.cdnow_rows(shared_data)
    m = metrics_of(db)
    # SOURCE.txt: 2,357 customers, 6,919 rows, total dollars 244,091.94.
    assert len(rows) == 6919
    assert D(str(m["revenue"])) == D("244091.94") == sum(r[3] for r in rows)
    assert m["first_order_date"] == "1997-01-01"
    assert m["last_order_date"] == "1998-06-30"
    cust = customers_of(db, "--start", "1997-01-01", "--end", "1998-06-30")
    assert len(cust) == 2357
    # Customer 0001 (sample id 0001): 1997-01-01 2 CDs $29.33; 1997-01-18 2 CDs $29.73;
    # 1997-08-02 1 CD $14.96; 1997-12-12 2 CDs $26.48 → 29.33 + 29.73 + 14.96 + 26.48 = 100.50.
    first = [r for r in rows if r[0] == "0001"]
    assert sum(r[3] for r in first) == D(str(cust["0001"]["net_revenue"]))


def test_gb18030_complaint_export_whose_header_starts_with_投诉(
    shared_data: Path, tmp_path: Path
) -> None:
    export = rx.complaints_export_gb18030(shared_data, tmp_path / "投诉工单.csv")
    # 投 is CD B6 in GB18030: a valid two-byte UTF-8 sequence, so the first line alone looks UTF-8.
    assert export.read_bytes()[:2] == b"\xcd\xb6"
    db = tmp_path / "crm.duckdb"
    load_alone(db, export)
    [h] = history_of(db)
    assert h["encoding"] == "gb18030"
    rows = rx.cfpb_rows(shared_data)
    m = metrics_of(db)
    assert m["tables"]["complaints"] == len(rows) == 3999
    monthly: dict[str, int] = defaultdict(int)
    for r in rows:
        monthly[rx.cfpb_day(r["Date_received"]).strftime("%Y-%m")] += 1
    assert monthly["2023-04"] == 3910  # SOURCE.txt: mostly April 2023 (3,910 rows)
    assert {k: m["complaints_monthly"].get(k, 0) for k in monthly} == dict(monthly)
