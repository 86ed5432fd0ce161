"""All demo tables as frames with their Chinese export headers, marketing spend included."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import (
    A_PROSPECT,
    DEFAULT_END,
    DEFAULT_SEED,
    N_MONTHS,
    OWNER_REGION,
    OWNERS,
    REGIONS,
    VEHICLES,
)
from crm_core.ingest.demo.complaints import _complaints, _leave_after_complaints
from crm_core.ingest.demo.customers import _Customers, _customers, _names
from crm_core.ingest.demo.draw import (
    STORE_PROFILE,
    _context,
    _Ctx,
    _fmt_int,
    _fmt_money,
    _fmt_ts,
    _ids,
    _minute,
    _on_day,
)
from crm_core.ingest.demo.interactions import _interactions
from crm_core.ingest.demo.leads import _leads
from crm_core.ingest.demo.orders import _orders, _returns


def build(seed: int = DEFAULT_SEED, end_date: dt.date = DEFAULT_END) -> dict[str, pd.DataFrame]:
    """All demo tables as string frames with their Chinese export headers."""
    ctx = _context(seed, end_date)
    cu = _customers(ctx)
    names = _names(ctx, cu)
    orders = _orders(ctx, cu)
    comp = _complaints(ctx, orders)
    leave = _leave_after_complaints(ctx, cu, comp)
    orders = orders[orders["t"].to_numpy() <= leave[orders["cust"].to_numpy()]]
    cu.active_until = np.minimum(cu.active_until, leave)
    orders = _returns(ctx, orders)
    leads = _leads(ctx, cu)

    # 建档时间: at the first lead for lead-born customers, else at (or before) the first visit.
    rng = ctx.rng
    same_visit = rng.random(cu.n) < 0.5
    created = np.where(
        same_visit,
        cu.t0 - rng.uniform(10, 180, cu.n) / 1440,
        _on_day(rng, cu.t0 - rng.uniform(1, 30, cu.n), STORE_PROFILE),
    )
    created = np.where(cu.arche == A_PROSPECT, cu.t0, created)
    won = leads["cust"].to_numpy() >= 0
    created[leads["cust"].to_numpy()[won]] = leads["created"].to_numpy()[won]
    created = _minute(created)
    inter = _interactions(ctx, cu, created, orders, comp, leads)

    order_c = np.argsort(created, kind="mergesort")
    cid = np.empty(cu.n, dtype=object)
    cid[order_c] = _ids("C", 5, cu.n)

    def cust_ids(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.full(len(x), "", dtype=object)
        ok = ~np.isnan(x) & (x >= 0)
        out[ok] = cid[x[ok].astype(int)]
        return out

    start = ctx.start
    customers = pd.DataFrame(
        {
            "客户编号": cid[order_c],
            "客户名称": names[order_c],
            "建档时间": _fmt_ts(start, created[order_c]),
            "客户来源": cu.source[order_c],
            "区域": np.asarray(REGIONS)[cu.region[order_c]],
            "客户类型": cu.ctype[order_c],
            "销售顾问": np.asarray(OWNERS)[cu.owner[order_c]],
        }
    )
    orders_out = pd.DataFrame(
        {
            "订单编号": _ids("SO", 7, len(orders)),
            "客户编号": cust_ids(orders["cust"].to_numpy()),
            "下单时间": _fmt_ts(start, orders["t"].to_numpy()),
            "实付金额": _fmt_money(orders["amount"].to_numpy()),
            "商品名称": orders["product"].to_numpy(),
            "品类": orders["cat"].to_numpy(),
            "销售渠道": orders["channel"].to_numpy(),
            "数量": _fmt_int(orders["qty"].to_numpy()),
            "成本": _fmt_money(orders["cost"].to_numpy()),
            "订单状态": orders["status"].to_numpy(),
        }
    )
    complaints_out = pd.DataFrame(
        {
            "投诉编号": _ids("TS", 6, len(comp)),
            "客户编号": cust_ids(comp["cust"].to_numpy()),
            "投诉时间": _fmt_ts(start, comp["t"].to_numpy()),
            "投诉类别": comp["cat"].to_numpy(),
            "投诉渠道": comp["channel"].to_numpy(),
            "严重程度": comp["severity"].to_numpy(),
            "处理人": comp["handler"].to_numpy(),
            "受理时间": _fmt_ts(start, comp["accepted"].to_numpy()),
            "处理完成时间": _fmt_ts(start, comp["handled"].to_numpy()),
            "反馈时间": _fmt_ts(start, comp["feedback"].to_numpy()),
            "结案时间": _fmt_ts(start, comp["closed"].to_numpy()),
            "满意度": _fmt_int(comp["satisfaction"].to_numpy()),
            "赔偿金额": _fmt_money(comp["compensation"].to_numpy()),
            "处理状态": comp["status"].to_numpy(),
        }
    )
    leads_out = pd.DataFrame(
        {
            "线索编号": _ids("L", 6, len(leads)),
            "创建时间": _fmt_ts(start, leads["created"].to_numpy()),
            "销售阶段": leads["stage"].to_numpy(),
            "线索来源": leads["source"].to_numpy(),
            "意向等级": leads["grade"].to_numpy(),
            "预计金额": _fmt_money(leads["amount"].to_numpy()),
            "销售顾问": np.asarray(OWNERS)[leads["owner"].to_numpy().astype(int)],
            "意向车型": np.array([VEHICLES[m][0] for m in leads["model"].to_numpy()]),
            "阶段变更时间": _fmt_ts(start, leads["changed"].to_numpy()),
            "关闭时间": _fmt_ts(start, leads["closed"].to_numpy()),
            "结果": leads["outcome"].to_numpy(),
            "客户编号": cust_ids(leads["cust"].to_numpy()),
            # The consultant's region: a won lead's consultant is its customer's, so the lead's
            # region is the customer's; a lead that never bought still has one.
            "区域": np.asarray(REGIONS)[OWNER_REGION[leads["owner"].to_numpy().astype(int)]],
        }
    )
    inter_out = pd.DataFrame(
        {
            "跟进编号": _ids("I", 7, len(inter)),
            "客户编号": cust_ids(inter["cust"].to_numpy()),
            "跟进时间": _fmt_ts(start, inter["t"].to_numpy()),
            "跟进方式": inter["kind"].to_numpy(),
            "跟进人": inter["who"].to_numpy(),
            "跟进结果": inter["outcome"].to_numpy(),
            "线索编号": inter["lead"].to_numpy(),
            "目的": inter["purpose"].to_numpy(),
        }
    )
    return {
        "customers": customers,
        "orders": orders_out,
        "complaints": complaints_out,
        "leads": leads_out,
        "interactions": inter_out,
        "marketing_spend": _spend(seed, ctx, cu),
    }


# Marketing cost per customer won, by source (yuan): show-room walk-ins cost little beyond the
# store, auto shows and online ads a lot, referrals a gift voucher. Trade-ins (二手车置换) have
# no campaign of their own: no spend row, so the page shows "no spend" for them.
SPEND_PER_CUSTOMER = {
    "展厅到店": 900.0,
    "网络线索": 2600.0,
    "老客户推荐": 500.0,
    "车展": 4200.0,
    "电话营销": 1500.0,
}


def _spend(seed: int, ctx: _Ctx, cu: _Customers) -> pd.DataFrame:
    """Monthly marketing spend per source: the customers the source won that month times its
    cost per customer, +/- 25 %, with a floor (campaigns run in quiet months too). Its own random
    stream, so the other tables do not change with it."""
    rng = np.random.default_rng(seed + 1)
    month = np.searchsorted(ctx.bounds, cu.t0, side="right") - 1
    start = np.datetime64(ctx.start, "M")
    rows = []
    for src, cost in SPEND_PER_CUSTOMER.items():
        won = np.bincount(month[(cu.source == src) & (month >= 0)], minlength=N_MONTHS)[:N_MONTHS]
        amount = np.maximum(won, 2) * cost * rng.uniform(0.75, 1.25, N_MONTHS)
        for m in range(N_MONTHS):
            d = (start + m).astype(dt.date)
            rows.append((src, f"{d.year}年{d.month}月", f"¥{amount[m]:,.2f}"))
    return pd.DataFrame(rows, columns=["渠道", "月份", "投放金额"])
