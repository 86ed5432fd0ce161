"""Deterministic synthetic CRM exports (Chinese headers, ¥ amounts, 2024/1/31 dates), in DuckDB SQL.

Two shapes of the orders export:
- "orders" (one line per order): sizes are in orders; customers ≈ orders/10, leads ≈
  orders/5, interactions ≈ orders/5, complaints ≈ orders/50;
- "lines" (a retail invoice export): sizes are in order lines, in invoices of 1 to 40 lines
  (20.5 on average, the same order id on each line); customers ≈ lines/100, leads and
  interactions ≈ invoices/5, complaints ≈ invoices/50; about 5 % of the invoices end with a
  return line (negative quantity, amount and cost, status 退货) of their first line's product.
Every value is a function of the row number through DuckDB's hash(), so the same size and
shape always give the same files (for one DuckDB version).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

# Bump when the generated data changes: cached files with another version are rebuilt.
GEN_VERSION = 1  # the one-line-per-order shape
LINES_GEN_VERSION = 1  # the line-item shape
SHAPES = ("orders", "lines")
MAX_LINES = 40  # lines per invoice: 1 .. MAX_LINES, uniformly
RETURN_SHARE = 0.05  # invoices ending with a return line
TABLE_FILES = ("customers", "orders", "complaints", "leads", "interactions")

# Shared vocabularies (as the demo company's exports spell them).
REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北"]
SOURCES = ["展厅到店", "网络线索", "老客户推荐", "电话营销", "二手车置换", "车展"]
OWNERS = [
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄涛", "周杰", "吴霞",
    "徐强", "孙丽", "马超", "朱琳", "胡军", "郭燕", "何平", "林雅婷", "邓凯", "曹鑫",
]  # fmt: skip
CATEGORIES = ["维修保养", "保险续保", "精品附件", "新车销售", "二手车"]

_MACROS = """
CREATE OR REPLACE MACRO u(i, s) AS (hash(i, s) % 1000003) / 1000003.0;
CREATE OR REPLACE MACRO pick(xs, i, s) AS xs[1 + CAST(hash(i, s) % len(xs) AS INTEGER)];
CREATE OR REPLACE MACRO ts(x) AS strftime(x, '%Y/%-m/%-d %-H:%M');
CREATE OR REPLACE MACRO money(x, i) AS CASE WHEN hash(i, 99) % 10 = 0
    THEN '¥' || format('{:,.2f}', CAST(x AS DOUBLE)) ELSE printf('%.2f', x) END;
"""

# Orders span 2022-01-01 .. 2024-12-31 with gentle growth (more orders later).
_T0 = "TIMESTAMP '2022-01-01 08:00'"
_DAYS = 1096


def _lst(xs: list[str]) -> str:
    return "[" + ", ".join(f"'{x}'" for x in xs) + "]"


def _queries(n: int, n_cust: int | None = None) -> dict[str, str]:
    n_cust = n_cust or max(n // 10, 10)
    n_leads, n_inter, n_compl = max(n // 5, 5), max(n // 5, 5), max(n // 50, 5)
    cust = (
        # Half the orders spread evenly, half skewed to low ids: heavy buyers, one-timers, and
        # customers who never buy (prospects).
        f"CASE WHEN u(i, 1) < 0.5 THEN CAST(floor(u(i, 2) * {n_cust}) AS BIGINT) "
        f"ELSE CAST(floor(pow(u(i, 2), 2) * {n_cust}) AS BIGINT) END"
    )
    cid = "'C' || lpad(CAST({x} AS VARCHAR), 8, '0')"
    day = f"{_T0} + to_days(CAST(floor(pow(u(i, 3), 0.8) * {_DAYS}) AS INTEGER)) + to_minutes(CAST(hash(i, 4) % 600 AS BIGINT))"
    # category by weight: 40 % service, 28 % insurance, 26 % accessories, 5 % new cars, 1 % used
    cat = (
        "CASE WHEN u(i, 5) < 0.40 THEN 1 WHEN u(i, 5) < 0.68 THEN 2 WHEN u(i, 5) < 0.94 THEN 3 "
        "WHEN u(i, 5) < 0.99 THEN 4 ELSE 5 END"
    )
    lo_hi = "[[200, 5000], [800, 8000], [100, 3000], [80000, 400000], [30000, 200000]]"
    orders = f"""
    WITH o AS (
        SELECT i, {cust} AS c, {day} AS placed, {cat} AS k, u(i, 6) AS v FROM range({n}) t(i)
    ), p AS (
        SELECT *, round({lo_hi}[k][1] + v * v * ({lo_hi}[k][2] - {lo_hi}[k][1]), 2) AS amt FROM o
    )
    SELECT
        'SO' || lpad(CAST(i AS VARCHAR), 9, '0') AS 订单编号,
        {cid.format(x="c")} AS 客户编号,
        ts(placed) AS 下单时间,
        money(amt, i) AS 实付金额,
        {_lst(CATEGORIES)}[k] || ' ' || CAST(hash(i, 7) % 30 AS VARCHAR) || '号' AS 商品名称,
        {_lst(CATEGORIES)}[k] AS 品类,
        CASE WHEN u(i, 8) < 0.8 THEN '4S店' WHEN u(i, 8) < 0.9 THEN '线上商城' ELSE '大客户部' END
            AS 销售渠道,
        1 + hash(i, 9) % 3 AS 数量,
        printf('%.2f', amt * (0.6 + 0.3 * u(i, 10))) AS 成本,
        CASE WHEN u(i, 11) < 0.02 THEN '退货' ELSE '已完成' END AS 订单状态
    FROM p ORDER BY i
    """
    customers = f"""
    SELECT
        {cid.format(x="i")} AS 客户编号,
        '客户' || CAST(i AS VARCHAR) AS 客户名称,
        ts(TIMESTAMP '2021-06-01 09:00' + to_days(CAST(floor(u(i, 21) * 1280) AS INTEGER))
           + to_minutes(CAST(hash(i, 22) % 540 AS BIGINT))) AS 建档时间,
        pick({_lst(SOURCES)}, i, 23) AS 客户来源,
        pick({_lst(REGIONS)}, i, 24) AS 区域,
        CASE WHEN u(i, 25) < 0.9 THEN '个人' WHEN u(i, 25) < 0.97 THEN '企业' ELSE '政府机构' END
            AS 客户类型,
        pick({_lst(OWNERS)}, i, 26) AS 销售顾问
    FROM range({n_cust}) t(i) ORDER BY i
    """
    complaints = f"""
    WITH c AS (
        SELECT i,
            {_T0} + to_days(CAST(floor(pow(u(i, 31), 0.8) * {_DAYS}) AS INTEGER))
                + to_minutes(CAST(hash(i, 32) % 600 AS BIGINT)) AS received,
            to_minutes(30 + CAST(hash(i, 33) % 1400 AS BIGINT)) AS d1,
            to_minutes(60 + CAST(hash(i, 34) % 4300 AS BIGINT)) AS d2,
            to_minutes(30 + CAST(hash(i, 35) % 1400 AS BIGINT)) AS d3,
            to_minutes(60 + CAST(hash(i, 36) % 5700 AS BIGINT)) AS d4,
            u(i, 37) < 0.01 AS is_open
        FROM range({n_compl}) t(i)
    )
    SELECT
        'TS' || lpad(CAST(i AS VARCHAR), 8, '0') AS 投诉编号,
        {cid.format(x=f"hash(i, 38) % {n_cust}")} AS 客户编号,
        ts(received) AS 投诉时间,
        pick(['价格争议', '服务态度', '配件缺货', '交车延迟', '保险理赔', '维修质量'], i, 39) AS 投诉类别,
        pick(['电话', '微信', '到店', '12315'], i, 40) AS 投诉渠道,
        pick(['低', '中', '中', '高'], i, 41) AS 严重程度,
        pick(['宋佳怡', '韩磊', '谢明轩', '高俊', '冯晓燕', '曹鑫', '徐文静', '彭丽'], i, 42) AS 处理人,
        ts(received + d1) AS 受理时间,
        CASE WHEN NOT is_open THEN ts(received + d1 + d2) END AS 处理完成时间,
        CASE WHEN NOT is_open AND u(i, 43) > 0.05 THEN ts(received + d1 + d2 + d3) END AS 反馈时间,
        CASE WHEN NOT is_open THEN ts(received + d1 + d2 + d3 + d4) END AS 结案时间,
        CASE WHEN u(i, 44) < 0.1 THEN NULL ELSE 1 + CAST(floor(pow(u(i, 45), 0.6) * 5) AS INTEGER) END
            AS 满意度,
        CASE WHEN u(i, 46) < 0.08 THEN printf('%.2f', 100 + u(i, 47) * 2000) ELSE '0.00' END
            AS 赔偿金额,
        CASE WHEN is_open THEN '处理中' ELSE '已结案' END AS 处理状态
    FROM c ORDER BY i
    """
    stage = (
        "CASE WHEN u(i, 51) < 0.70 THEN '战败' WHEN u(i, 51) < 0.90 THEN '成交' "
        "WHEN u(i, 51) < 0.93 THEN '已联系' WHEN u(i, 51) < 0.96 THEN '新线索' "
        "WHEN u(i, 51) < 0.985 THEN '到店/试驾' ELSE '报价' END"
    )
    leads = f"""
    WITH l AS (
        SELECT i, {stage} AS stage,
            {_T0} + to_days(CAST(floor(pow(u(i, 52), 0.8) * {_DAYS}) AS INTEGER))
                + to_minutes(CAST(hash(i, 53) % 600 AS BIGINT)) AS created,
            to_days(1 + CAST(hash(i, 54) % 60 AS INTEGER)) AS age
        FROM range({n_leads}) t(i)
    )
    SELECT
        'L' || lpad(CAST(i AS VARCHAR), 9, '0') AS 线索编号,
        ts(created) AS 创建时间,
        stage AS 销售阶段,
        pick({_lst(SOURCES)}, i, 55) AS 线索来源,
        pick(['A', 'B', 'B', 'C', 'H'], i, 56) AS 意向等级,
        printf('%.2f', 60000 + u(i, 57) * 300000) AS 预计金额,
        pick({_lst(OWNERS)}, i, 58) AS 销售顾问,
        pick(['华骋 A3', '华骋 A5', '华骋 X5', '华骋 X7', '云岚 E3', '铂锐 L9'], i, 59) AS 意向车型,
        ts(created + age) AS 阶段变更时间,
        CASE WHEN stage IN ('成交', '战败') THEN ts(created + age) END AS 关闭时间,
        CASE stage WHEN '成交' THEN '赢单' WHEN '战败' THEN '输单' END AS 结果,
        CASE WHEN stage = '成交' THEN {cid.format(x=f"hash(i, 60) % {n_cust}")} END AS 客户编号
    FROM l ORDER BY i
    """
    interactions = f"""
    SELECT
        'I' || lpad(CAST(i AS VARCHAR), 9, '0') AS 跟进编号,
        CASE WHEN u(i, 61) < 0.55 THEN {cid.format(x=f"hash(i, 62) % {n_cust}")} END AS 客户编号,
        ts({_T0} + to_days(CAST(floor(pow(u(i, 63), 0.8) * {_DAYS}) AS INTEGER))
           + to_minutes(CAST(hash(i, 64) % 600 AS BIGINT))) AS 跟进时间,
        pick(['电话', '电话', '微信', '短信', '到店', '上门'], i, 65) AS 跟进方式,
        pick({_lst(OWNERS)}, i, 66) AS 跟进人,
        pick(['成功', '成功', '未接通', '再次跟进'], i, 67) AS 跟进结果,
        CASE WHEN u(i, 61) >= 0.45 THEN 'L' || lpad(CAST(hash(i, 68) % {n_leads} AS VARCHAR), 9, '0') END
            AS 线索编号,
        pick(['线索跟进', '线索跟进', '保养提醒', '交车回访', '生日关怀', '投诉回访'], i, 69) AS 目的
    FROM range({n_inter}) t(i) ORDER BY i
    """
    return {
        "customers": customers,
        "orders": orders,
        "complaints": complaints,
        "leads": leads,
        "interactions": interactions,
    }


def _lines_query(n: int, n_cust: int) -> str:
    """The orders export as invoice lines: `n` lines, the invoice id repeated on each line; the
    customer, time and channel belong to the invoice, product, quantity and amount to the line."""
    # Enough invoices to hold n lines whatever the line counts (20.5 lines on average).
    n_gen = n // 10 + MAX_LINES
    cust = (
        f"CASE WHEN u(j, 1) < 0.5 THEN CAST(floor(u(j, 2) * {n_cust}) AS BIGINT) "
        f"ELSE CAST(floor(pow(u(j, 2), 2) * {n_cust}) AS BIGINT) END"
    )
    day = f"{_T0} + to_days(CAST(floor(pow(u(j, 3), 0.8) * {_DAYS}) AS INTEGER)) + to_minutes(CAST(hash(j, 4) % 600 AS BIGINT))"
    cat = (
        "CASE WHEN u(src, 5) < 0.40 THEN 1 WHEN u(src, 5) < 0.68 THEN 2 WHEN u(src, 5) < 0.94 "
        "THEN 3 WHEN u(src, 5) < 0.99 THEN 4 ELSE 5 END"
    )
    lo_hi = "[[200, 5000], [800, 8000], [100, 3000], [80000, 400000], [30000, 200000]]"
    sign = "CASE WHEN ret THEN -1 ELSE 1 END"
    return f"""
    WITH inv AS (
        SELECT j, 1 + CAST(hash(j, 70) % {MAX_LINES} AS BIGINT) AS k, {cust} AS c, {day} AS placed,
            CASE WHEN u(j, 8) < 0.8 THEN '4S店' WHEN u(j, 8) < 0.9 THEN '线上商城' ELSE '大客户部' END
                AS channel,
            u(j, 72) < {RETURN_SHARE} AS has_return
        FROM range({n_gen}) t(j)
    ), starts AS (
        -- the number of the invoice's first line: lines of the invoices before it
        SELECT *, coalesce(sum(k) OVER (ORDER BY j ROWS BETWEEN UNBOUNDED PRECEDING AND
            1 PRECEDING), 0) AS first FROM inv
    ), lines AS (
        SELECT *, first + l AS i, has_return AND k > 1 AND l = k - 1 AS ret
        FROM (SELECT *, unnest(range(k)) AS l FROM starts WHERE first < {n})
    ), p AS (
        -- a return line takes back the invoice's first line: its product, quantity and amount
        SELECT *, {cat} AS cat_k, u(src, 6) AS v
        FROM (SELECT *, CASE WHEN ret THEN first ELSE i END AS src FROM lines WHERE i < {n})
    ), q AS (
        SELECT *, round({lo_hi}[cat_k][1] + v * v * ({lo_hi}[cat_k][2] - {lo_hi}[cat_k][1]), 2)
            AS amt FROM p
    )
    SELECT
        'SO' || lpad(CAST(j AS VARCHAR), 9, '0') AS 订单编号,
        'C' || lpad(CAST(c AS VARCHAR), 8, '0') AS 客户编号,
        ts(placed) AS 下单时间,
        CASE WHEN ret THEN '-' ELSE '' END || money(amt, i) AS 实付金额,
        {_lst(CATEGORIES)}[cat_k] || ' ' || CAST(hash(src, 7) % 30 AS VARCHAR) || '号' AS 商品名称,
        {_lst(CATEGORIES)}[cat_k] AS 品类,
        channel AS 销售渠道,
        {sign} * (1 + hash(src, 9) % 3) AS 数量,
        printf('%.2f', {sign} * amt * (0.6 + 0.3 * u(src, 10))) AS 成本,
        CASE WHEN ret THEN '退货' ELSE '已完成' END AS 订单状态
    FROM q ORDER BY i
    """


def generate(n: int, out_dir: Path, shape: str = "orders") -> dict[str, Path]:
    """Write the five CSV exports into out_dir (reused when up to date): `n` orders of one line
    each (shape "orders"), or `n` order lines in invoices of 1 to 40 lines (shape "lines")."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / "MANIFEST.json"
    files = {t: out_dir / f"{t}.csv" for t in TABLE_FILES}
    want: dict[str, object] = {
        "gen_version": GEN_VERSION,
        "orders": n,
        "duckdb": duckdb.__version__,
    }
    if shape == "lines":  # the one-line shape's manifest stays as it was: its caches stay valid
        want = {"gen_version": LINES_GEN_VERSION, "shape": shape, "lines": n}
        want["duckdb"] = duckdb.__version__
    fresh = manifest.exists() and json.loads(manifest.read_text()) == want
    if fresh and all(f.exists() for f in files.values()):
        return files
    if shape == "lines":
        n_inv = max(n * 2 // 41, 1)  # 20.5 lines per invoice
        queries = _queries(n_inv, n_cust=max(n // 100, 10))
        queries["orders"] = _lines_query(n, max(n // 100, 10))
    else:
        queries = _queries(n)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(_MACROS)
    for table, q in queries.items():
        # COPY quotes values holding the delimiter ("¥1,234.50"); ORDER BY keeps files stable.
        con.execute(f"COPY ({q}) TO '{files[table]}' (HEADER, DELIMITER ',')")
    con.close()
    manifest.write_text(json.dumps(want))
    return files
