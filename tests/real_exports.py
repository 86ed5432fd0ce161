"""Chinese re-exports of the public datasets, written the way a Chinese company's tools export.

Each builder reads one public dataset from ../shared/data and writes the file an analyst would
actually upload: Chinese headers, `2011/1/31` dates, GB18030 from a Chinese Excel or UTF-8 with a
BOM, `¥1,234.50` money, cancellations as negative lines. The values are the public data's own;
only the layout, the encoding and the formatting change, so every figure can be recomputed from
the source file independently of crm_core.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

UCI = Path("uci_online_retail") / "online_retail_40k_line_sample.csv"
CFPB = Path("cfpb_complaints") / "cfpb_sample_3999_mostly_2023-04.csv"
CDNOW = Path("cdnow") / "CDNOW_sample.txt"


def _write(path: Path, header: list[str], rows: Iterator[list[str]], encoding: str) -> Path:
    # Excel writes CRLF line ends; newline="" keeps them as written.
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def _slash_date(d: dt.date) -> str:
    """2011/1/31: the date format a Chinese Excel shows (no leading zeros)."""
    return f"{d.year}/{d.month}/{d.day}"


def _slash_time(t: dt.datetime) -> str:
    return f"{_slash_date(t.date())} {t.hour}:{t.minute:02d}"


def _yuan(x: Decimal) -> str:
    """¥1,234.50 and -¥7.90, as a money-formatted Excel cell exports."""
    sign = "-" if x < 0 else ""
    return f"{sign}¥{abs(x):,.2f}"


def uci_rows(shared: Path) -> list[dict[str, str]]:
    with open(shared / UCI, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def uci_customer(r: dict[str, str]) -> str:
    """13607.0 → 13607: the id as the shop system has it (the float is a pandas artefact)."""
    cid = r["CustomerID"].strip()
    return cid[:-2] if cid.endswith(".0") else cid


def invoice_export_gb18030(shared: Path, out: Path) -> Path:
    """An ERP invoice-line export (开票明细) saved by a Chinese Excel: GB18030, 开票时间 for the
    order date, no amount column (quantity × unit price), cancellations as C-invoices with a
    negative quantity, customer ids as whole numbers."""

    def rows() -> Iterator[list[str]]:
        for r in uci_rows(shared):
            t = dt.datetime.fromisoformat(r["InvoiceDate"])
            yield [
                r["InvoiceNo"],
                r["StockCode"],
                r["Description"].strip(),
                r["Quantity"],
                _slash_time(t),
                r["UnitPrice"],
                uci_customer(r),
                r["Country"],
            ]

    header = ["发票号", "商品编码", "商品名称", "数量", "开票时间", "单价", "客户编号", "国家"]
    return _write(out, header, rows(), "gb18030")


def shop_export_utf8_bom(shared: Path, out: Path) -> Path:
    """An online-shop order-line export (订单明细) as UTF-8 with a BOM: 下单时间 as a date,
    会员ID, the line amount as `¥1,234.50` (negative on cancellation lines), an order status,
    only the lines with a member id (guest checkouts are not in a member export)."""

    def rows() -> Iterator[list[str]]:
        for r in uci_rows(shared):
            if not r["CustomerID"].strip():
                continue
            t = dt.datetime.fromisoformat(r["InvoiceDate"])
            amount = Decimal(r["Quantity"]) * Decimal(r["UnitPrice"])
            cancelled = r["InvoiceNo"].startswith("C")
            yield [
                r["InvoiceNo"],
                _slash_date(t.date()),
                uci_customer(r),
                r["Description"].strip(),
                r["Quantity"],
                _yuan(amount),
                "已取消" if cancelled else "已完成",
            ]

    header = ["订单号", "下单时间", "会员ID", "商品名称", "数量", "金额", "订单状态"]
    return _write(out, header, rows(), "utf-8-sig")


def cdnow_rows(shared: Path) -> list[tuple[str, dt.date, int, Decimal]]:
    out = []
    with open(shared / CDNOW, encoding="ascii") as f:
        for line in f:
            if line.strip():
                _master, sample_id, ymd, cds, dollars = line.split()
                out.append(
                    (
                        sample_id,
                        dt.datetime.strptime(ymd, "%Y%m%d").date(),
                        int(cds),
                        Decimal(dollars),
                    )
                )
    return out


def cdnow_export_utf8(shared: Path, out: Path) -> Path:
    """The CDNOW purchase log as a Chinese member-system export: 用户ID, 购买日期 (1997/1/1),
    数量, 实付金额 with thousands separators; one line per purchase, no order number."""

    def rows() -> Iterator[list[str]]:
        for cid, day, cds, dollars in cdnow_rows(shared):
            yield [cid, _slash_date(day), str(cds), f"{dollars:,.2f}"]

    return _write(out, ["用户ID", "购买日期", "数量", "实付金额"], rows(), "utf-8")


def cfpb_rows(shared: Path) -> list[dict[str, str]]:
    with open(shared / CFPB, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def cfpb_day(s: str) -> dt.date:
    """27-04-2023 (day first, as the CFPB sample writes it)."""
    return dt.datetime.strptime(s.strip(), "%d-%m-%Y").date()


def complaints_export_gb18030(shared: Path, out: Path) -> Path:
    """A service-desk complaint export (投诉工单) saved as GB18030 whose header starts with 投诉:
    its first bytes (投 = CD B6) happen to be valid UTF-8. 受理时间 is when the complaint was
    passed to the company; there are no handling or closing times."""

    def rows() -> Iterator[list[str]]:
        for r in cfpb_rows(shared):
            yield [
                r["Complaint_ID"],
                _slash_date(cfpb_day(r["Date_received"])),
                r["Product"],
                r["Issue"],
                r["Submitted_via"],
                _slash_date(cfpb_day(r["Date_sent_to_company"])),
                r["Company_response_to_consumer"],
                {"Yes": "是", "No": "否"}.get(r["Timely_response?"], ""),
                r["Company"],
            ]

    header = [
        "投诉编号",
        "投诉日期",
        "投诉类别",
        "问题描述",
        "投诉渠道",
        "受理时间",
        "处理状态",
        "是否及时",
        "被投诉单位",
    ]
    return _write(out, header, rows(), "gb18030")
