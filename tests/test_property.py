"""Property: for any small valid customers + orders export (ids with leading zeros, dates and
amounts in the formats ingest reads, returns, UTF-8 / UTF-8-BOM / GBK), loading it and asking
crm_core.metrics gives what pandas computes from the same rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core import ingest
from crm_core.engine import db
from crm_core.engine.schema import TABLES
from crm_core.metrics.figures import metrics

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
RETURN_STATUSES = ("退货", "Refunded", "cancelled", "已取消")
OTHER_STATUSES = ("", "paid", "已完成", "shipped")


def _fmt_date(when: dt.datetime, style: str) -> str:
    d = when
    return {
        "iso": f"{d:%Y-%m-%d}",
        "iso_time": f"{d:%Y-%m-%d %H:%M:%S}",
        "iso_t": f"{d:%Y-%m-%dT%H:%M:%S}",
        "slash_ymd": f"{d.year}/{d.month}/{d.day}",
        "slash_ymd_time": f"{d.year}/{d.month}/{d.day} {d:%H:%M}",
        "zh": f"{d.year}年{d.month}月{d.day}日",
        "serial": str((d - EXCEL_EPOCH).days),
        "mdy": f"{d:%m/%d/%Y}",
        "mdy_short": f"{d.month}/{d.day}/{d.year} {d.hour}:{d:%M}",
        "us12": f"{d:%m/%d/%Y %I:%M:%S %p}",
        "dmy": f"{d:%d/%m/%Y}",
        "dmy_time": f"{d.day}/{d.month}/{d.year} {d:%H:%M:%S}",
    }[style]


UNAMBIGUOUS = ("iso", "iso_time", "iso_t", "slash_ymd", "slash_ymd_time", "zh", "serial")
MONTH_FIRST = ("mdy", "mdy_short", "us12")
DAY_FIRST = ("dmy", "dmy_time")


def _fmt_amount(cents: int, style: str) -> str:
    a = Decimal(abs(cents)) / 100
    grouped = f"{a:,.2f}"
    if cents < 0 and style == "paren":
        return f"({grouped})"
    if cents < 0 and style == "trailing":
        return f"{a:.2f}-"
    sign = "-" if cents < 0 else ""
    return {
        "plain": f"{sign}{a.normalize():f}",
        "paren": f"{sign}{a:.2f}",
        "trailing": f"{sign}{a:.2f}",
        "grouped": f"{sign}{grouped}",
        "yen": f"{sign}￥{grouped}",
        "yuan": f"{sign}{a:.2f}元",
        "rmb": f"RMB {sign}{a:.2f}",
        "dollar": f"{sign}${grouped}",
    }[style]


AMOUNT_STYLES = ("plain", "paren", "trailing", "grouped", "yen", "yuan", "rmb", "dollar")


@dataclass
class Order:
    order_id: str
    customer_id: str
    when: dt.datetime
    cents: int
    status: str

    @property
    def is_return(self) -> bool:
        return self.cents < 0 or self.status in RETURN_STATUSES


@dataclass
class Dataset:
    customers: list[tuple[str, str]]
    orders: list[Order]
    date_styles: list[str]  # one per order
    amount_styles: list[str]
    encoding: str
    chinese_headers: bool
    newline: str
    with_status: bool


ids = st.one_of(
    st.from_regex(r"0{1,3}[0-9]{1,4}", fullmatch=True),  # leading zeros: 001, 0420
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[A-Z]{1,2}-?[0-9]{1,5}", fullmatch=True),
)
order_ids = st.one_of(
    st.from_regex(r"SO[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"0[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[0-9]{1,8}", fullmatch=True),
)
names = st.text(alphabet="abcxyzABC 张王李赵明华", min_size=0, max_size=8)
moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2025, 12, 31))


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    cust_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    customers = [(c, draw(names)) for c in cust_ids]
    oids = draw(st.lists(order_ids, min_size=1, max_size=15, unique=True))
    with_status = draw(st.booleans())
    family = draw(st.sampled_from(["unambiguous", "mixed", "month_first", "day_first"]))
    orders, date_styles = [], []
    for oid in oids:
        cid = draw(st.sampled_from(cust_ids) | ids)  # sometimes a customer not in the file
        status = draw(st.sampled_from(OTHER_STATUSES + RETURN_STATUSES)) if with_status else ""
        orders.append(Order(oid, cid, draw(moments), draw(st.integers(-(10**8), 10**8)), status))
    if family == "mixed":  # any unambiguous format on any row
        date_styles = [draw(st.sampled_from(UNAMBIGUOUS)) for _ in orders]
    else:
        pool = {"unambiguous": UNAMBIGUOUS, "month_first": MONTH_FIRST, "day_first": DAY_FIRST}
        date_styles = [draw(st.sampled_from(pool[family]))] * len(orders)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    return Dataset(
        customers,
        orders,
        date_styles,
        [draw(st.sampled_from(AMOUNT_STYLES)) for _ in orders],
        encoding,
        # A GBK export has Chinese headers. Without any, a lone "元" (D4 AA) is valid UTF-8
        # too ("Ԫ") and no decoder can tell: that file is refused, not mis-loaded.
        encoding == "gbk" or draw(st.booleans()),
        draw(st.sampled_from(["\n", "\r\n"])),
        with_status,
    )


def _write(path: Path, header: list[str], rows: list[list[str]], ds: Dataset) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=ds.newline)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(ds.encoding))


def write_files(ds: Dataset, folder: Path) -> tuple[Path, Path]:
    zh = ds.chinese_headers
    cust = folder / "customers.csv"
    _write(
        cust,
        ["客户编号", "客户名称"] if zh else ["customer_id", "name"],
        [list(c) for c in ds.customers],
        ds,
    )
    header = (
        ["订单编号", "客户编号", "下单时间", "实付金额", "订单状态"]
        if zh
        else ["order_id", "customer_id", "order_date", "amount", "status"]
    )
    if not ds.with_status:
        header = header[:4]
    rows = []
    for o, ds_style, am_style in zip(ds.orders, ds.date_styles, ds.amount_styles, strict=True):
        row = [
            o.order_id,
            o.customer_id,
            _fmt_date(o.when, ds_style),
            _fmt_amount(o.cents, am_style),
        ]
        rows.append([*row, o.status] if ds.with_status else row)
    orders = folder / "orders.csv"
    _write(orders, header, rows, ds)
    return cust, orders


def date_order_hint(ds: Dataset) -> str | None:
    """The date order to name on load: only when the data itself cannot tell (no day > 12)."""
    if ds.date_styles[0] in UNAMBIGUOUS:
        return None
    if all(o.when.day <= 12 for o in ds.orders):
        return "dmy" if ds.date_styles[0] in DAY_FIRST else "mdy"
    return None


def expected_metrics(ds: Dataset) -> dict:
    """The metrics document computed independently, in pandas, from the generated rows."""
    df = pd.DataFrame(
        {
            "customer_id": [o.customer_id for o in ds.orders],
            "day": [o.when.date() for o in ds.orders],
            "cents": [o.cents for o in ds.orders],
            "is_return": [o.is_return for o in ds.orders],
        }
    )
    kept = df[~df["is_return"]]
    returned = int(df.loc[df["is_return"], "cents"].abs().sum())
    gross = int(kept["cents"].sum())
    # Net per customer: sales minus |returns|; a buyer has net spend > 0.
    net = df["cents"].where(~df["is_return"], -df["cents"].abs()).groupby(df["customer_id"]).sum()
    counts = dict.fromkeys(TABLES, 0)
    counts.update(customers=len(ds.customers), orders=len(ds.orders))
    return {
        "tables": counts,
        "revenue": float(Decimal(gross) / 100),
        "net_revenue": float(Decimal(gross - returned) / 100),
        "returns_amount": float(Decimal(returned) / 100),
        "customers_with_orders": int((net > 0).sum()),
        "first_order_date": kept["day"].min().isoformat() if len(kept) else None,
        "last_order_date": kept["day"].max().isoformat() if len(kept) else None,
    }


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ds=datasets())
def test_metrics_match_an_independent_pandas_computation(ds: Dataset) -> None:
    with tempfile.TemporaryDirectory(prefix="crm_prop_") as tmp:
        folder = Path(tmp)
        cust, orders = write_files(ds, folder)
        con = db.connect(folder / "crm.duckdb")
        try:
            result = ingest.load(
                con,
                [ingest.Source(cust), ingest.Source(orders, date_order=date_order_hint(ds))],
            )
            assert [r.table for r in result.reports] == ["customers", "orders"]
            got, want_metrics = metrics(con), expected_metrics(ds)
            # The headline block; later features add blocks of their own under other keys.
            assert {k: got[k] for k in want_metrics} == want_metrics
            # Ids keep their leading zeros and every order is there, typed, as written.
            got = con.execute(
                "SELECT order_id, customer_id, CAST(order_date AS DATE), amount, is_return "
                "FROM orders ORDER BY order_id"
            ).fetchall()
            want = sorted(
                (o.order_id, o.customer_id, o.when.date(), Decimal(o.cents) / 100, o.is_return)
                for o in ds.orders
            )
            assert got == want
        finally:
            con.close()
