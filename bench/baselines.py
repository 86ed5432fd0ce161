"""Pages' numbers computed two other ways, to compare speed and check equality: the Overview's
(range, filter options, KPIs, monthly trend), the Pyramid's value tiers and the Lifecycle's
stage counts.

- plain SQL: what one writes straight over the raw tables (no summary tables, no crm_core);
- pandas: what a hand-made Streamlit dashboard does — read the tables into DataFrames once
  (st.cache_data), then filter and groupby on every interaction.

All three return the same normalised dict (see `normalise`), compared with `same`.
Extension point: add a page to BASELINES with its core / plain / pandas functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pandas as pd

from crm_core.engine import db
from crm_core.metrics import lifecycle, overview, value
from crm_core.metrics.filters import Filters, filter_options

KPIS = overview.KPI_NAMES
CUSTOMER_DIMS = ("region", "source", "owner", "segment")


def _period(f: Filters) -> overview.Period:
    assert f.start and f.end, "baselines take an explicit period"
    return overview.Period(f.start, f.end)


def _num(x: Any) -> float:
    return 0.0 if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _day(x: Any) -> str:
    return pd.Timestamp(x).date().isoformat()


def normalise(
    rng: tuple[Any, Any] | None,
    options: dict[str, list[str]],
    kpis: dict[str, tuple[Any, Any]],
    monthly: list[tuple[Any, ...]],
) -> dict[str, Any]:
    """{range, options, kpis: {kpi: [now, before]}, monthly: [[month, revenue, orders, customers,
    new_customers]]} with plain floats and ISO dates, rows in month order."""
    return {
        "range": [_day(rng[0]), _day(rng[1])] if rng else None,
        "options": {d: sorted(map(str, v)) for d, v in sorted(options.items()) if v},
        "kpis": {k: [_num(a), _num(b)] for k, (a, b) in kpis.items()},
        "monthly": sorted([_day(r[0]), *(_num(x) for x in r[1:])] for r in monthly),
    }


def same(a: Any, b: Any) -> bool:
    """Equal up to float summation order (money sums of millions of rows)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= max(0.005, 1e-9 * max(abs(a), abs(b)))
    return a == b


# --------------------------------------------------------------------------- crm_core


def core_overview(con: db.Connection, f: Filters) -> dict[str, Any]:
    """The Overview page's numbers through crm_core (the functions the page and sidebar call)."""
    period = _period(f)
    options = filter_options(con)
    d = overview.kpi_deltas(con, period, f)
    m = overview.monthly_trend(con, period, f)
    return normalise(
        overview.data_range(con),
        options,
        {r.kpi: (r.value, r.previous) for r in d.itertuples()},
        list(m[["month", "revenue", "orders", "customers", "new_customers"]].itertuples(False)),
    )


# --------------------------------------------------------------------------- plain SQL

_PLAIN_FILTERED_ORDERS = """
    SELECT o.order_id, o.customer_id, o.order_date, o.amount
    FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id
    WHERE NOT o.is_return
      AND ($region IS NULL OR c.region = $region) AND ($source IS NULL OR c.source = $source)
      AND ($owner IS NULL OR c.owner = $owner) AND ($segment IS NULL OR c.segment = $segment)
      AND ($category IS NULL OR o.category = $category)
"""
# Every line, returns included, with its net amount (a return's -|amount|): docs/metrics.md,
# "Net or gross".
_PLAIN_FILTERED_LINES = """
    SELECT o.order_id, o.customer_id, o.order_date, o.amount, o.is_return,
           CASE WHEN o.is_return THEN -abs(o.amount) ELSE o.amount END AS net
    FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id
    WHERE ($region IS NULL OR c.region = $region) AND ($source IS NULL OR c.source = $source)
      AND ($owner IS NULL OR c.owner = $owner) AND ($segment IS NULL OR c.segment = $segment)
      AND ($category IS NULL OR o.category = $category)
"""
_PLAIN_CUSTOMER_FILTER = """
    ($region IS NULL OR c.region = $region) AND ($source IS NULL OR c.source = $source)
    AND ($owner IS NULL OR c.owner = $owner) AND ($segment IS NULL OR c.segment = $segment)
"""
PLAIN_SQL = {
    "range": "SELECT CAST(min(order_date) AS DATE), CAST(max(order_date) AS DATE) "
    "FROM orders WHERE NOT is_return",
    "options": """
        SELECT DISTINCT 'region', region FROM customers WHERE region IS NOT NULL
        UNION ALL SELECT DISTINCT 'source', source FROM customers WHERE source IS NOT NULL
        UNION ALL SELECT DISTINCT 'owner', owner FROM customers WHERE owner IS NOT NULL
        UNION ALL SELECT DISTINCT 'segment', segment FROM customers WHERE segment IS NOT NULL
        UNION ALL SELECT DISTINCT 'category', category FROM orders WHERE category IS NOT NULL
    """,
    "kpis": f"""
        WITH fl AS ({_PLAIN_FILTERED_LINES}),
        fo AS (SELECT * FROM fl WHERE NOT is_return),
        per AS (
            SELECT customer_id,
                   sum(net) FILTER (WHERE order_date >= $s1 AND order_date < $e1) AS n1,
                   sum(net) FILTER (WHERE order_date >= $s0 AND order_date < $e0) AS n0
            FROM fl GROUP BY 1)
        SELECT
            (SELECT count(*) FILTER (WHERE n1 > 0) FROM per),
            (SELECT count(*) FILTER (WHERE n0 > 0) FROM per),
            (SELECT coalesce(sum(n1), 0) FROM per),
            (SELECT coalesce(sum(n0), 0) FROM per),
            count(DISTINCT order_id) FILTER (WHERE order_date >= $s1 AND order_date < $e1),
            count(DISTINCT order_id) FILTER (WHERE order_date >= $s0 AND order_date < $e0),
            (SELECT count(*) FROM (
                SELECT customer_id FROM customers c WHERE {_PLAIN_CUSTOMER_FILTER}
                UNION SELECT customer_id FROM fo)),
            (SELECT count(*) FILTER (WHERE k.received_at >= $s1 AND k.received_at < $e1)
                FROM complaints k LEFT JOIN customers c ON c.customer_id = k.customer_id
                WHERE {_PLAIN_CUSTOMER_FILTER}),
            (SELECT count(*) FILTER (WHERE k.received_at >= $s0 AND k.received_at < $e0)
                FROM complaints k LEFT JOIN customers c ON c.customer_id = k.customer_id
                WHERE {_PLAIN_CUSTOMER_FILTER})
        FROM fo
    """,
    "monthly": f"""
        WITH fl AS ({_PLAIN_FILTERED_LINES}),
        fo AS (SELECT * FROM fl WHERE NOT is_return),
        firsts AS (SELECT customer_id, min(order_date) AS first_at FROM fo GROUP BY customer_id),
        news AS (SELECT CAST(date_trunc('month', first_at) AS DATE) AS month, count(*) AS n
                 FROM firsts GROUP BY 1),
        months AS (
            SELECT month, sum(rev) AS revenue, sum(orders) AS orders,
                   count(*) FILTER (WHERE rev > 0) AS customers
            FROM (
                SELECT CAST(date_trunc('month', order_date) AS DATE) AS month, customer_id,
                       sum(net) AS rev,
                       count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS orders
                FROM fl WHERE order_date >= $s1 AND order_date < $e1 GROUP BY 1, 2)
            GROUP BY month)
        SELECT m.month, m.revenue, m.orders, m.customers, coalesce(n.n, 0)
        FROM months m LEFT JOIN news n ON n.month = m.month
    """,
}


def _named(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters a statement names (DuckDB refuses extra ones, such as the scope's)."""
    return {k: v for k, v in params.items() if f"${k}" in text}


def _plain_params(f: Filters) -> dict[str, Any]:
    p, q = _period(f), _period(f).previous()
    return f.params() | {"s1": p.start, "e1": p.end_excl, "s0": q.start, "e0": q.end_excl}


def plain_overview(con: db.Connection, f: Filters) -> dict[str, Any]:
    """The Overview numbers in plain SQL straight over orders / customers / complaints."""
    params = _plain_params(f)

    def run(name: str) -> list[tuple]:
        text = PLAIN_SQL[name]
        return con.execute(text, _named(text, params)).fetchall()

    (first, last), options = run("range")[0], {}
    for d, v in run("options"):
        options.setdefault(d, []).append(v)
    a, a0, r, r0, o, o0, known, k1, k0 = run("kpis")[0]
    kpis = {
        "customers": (known, known),
        "active_customers": (a, a0),
        "revenue": (r, r0),
        "orders": (o, o0),
        "complaints": (k1, k0),
    }
    return normalise((first, last) if first else None, options, kpis, run("monthly"))


# --------------------------------------------------------------------------- pandas


def pandas_read(con: db.Connection) -> dict[str, pd.DataFrame]:
    """Whole tables into DataFrames, orders pre-joined to the customer dimensions: what a
    dashboard keeps in st.cache_data."""
    customers = con.execute(
        "SELECT customer_id, region, source, owner, segment, created_at FROM customers"
    ).df()
    orders = con.execute(
        "SELECT order_id, customer_id, order_date, amount, category, is_return FROM orders"
    ).df()
    complaints = con.execute("SELECT complaint_id, customer_id, received_at FROM complaints").df()
    orders["amount"] = orders["amount"].astype("float64")
    dims = customers[["customer_id", *CUSTOMER_DIMS]]
    orders = orders.merge(dims, on="customer_id", how="left")
    complaints = complaints.merge(dims, on="customer_id", how="left")
    return {"customers": customers, "orders": orders, "complaints": complaints}


def _dims_mask(df: pd.DataFrame, f: Filters, dims: tuple[str, ...]) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for d in dims:
        v = getattr(f, d)
        if v is not None:
            mask &= df[d] == v
    return mask


def pandas_overview(frames: dict[str, pd.DataFrame], f: Filters) -> dict[str, Any]:
    """The Overview numbers with pandas boolean masks and groupby."""
    customers, orders, complaints = frames["customers"], frames["orders"], frames["complaints"]
    p = _period(f)
    live = orders[~orders["is_return"]]
    rng = (live["order_date"].min(), live["order_date"].max()) if len(live) else None
    options = {d: customers[d].dropna().unique().tolist() for d in CUSTOMER_DIMS}
    options["category"] = orders["category"].dropna().unique().tolist()

    fl = orders[_dims_mask(orders, f, (*CUSTOMER_DIMS, "category"))]
    fl = fl.assign(net=fl["amount"].where(~fl["is_return"], -fl["amount"].abs()))
    fo = fl[~fl["is_return"]]
    fc = customers[_dims_mask(customers, f, CUSTOMER_DIMS)]
    known = len(set(fc["customer_id"]).union(fo["customer_id"].unique()))

    def in_period(s: pd.Series, q: overview.Period) -> pd.Series:
        return (s >= pd.Timestamp(q.start)) & (s < pd.Timestamp(q.end_excl))

    def kpis_of(q: overview.Period) -> tuple[int, float, int, int]:
        po = fo[in_period(fo["order_date"], q)]
        per = fl[in_period(fl["order_date"], q)].groupby("customer_id")["net"].sum()
        fk = complaints[_dims_mask(complaints, f, CUSTOMER_DIMS)]
        return (
            int((per > 0).sum()),
            float(per.sum()),
            po["order_id"].nunique(),
            int(in_period(fk["received_at"], q).sum()),
        )

    now, before = kpis_of(p), kpis_of(p.previous())
    kpis = {
        "customers": (known, known),
        "active_customers": (now[0], before[0]),
        "revenue": (now[1], before[1]),
        "orders": (now[2], before[2]),
        "complaints": (now[3], before[3]),
    }
    pl = fl[in_period(fl["order_date"], p)]
    pl = pl.assign(
        month=pl["order_date"].dt.to_period("M").dt.start_time,
        sale_id=pl["order_id"].where(~pl["is_return"]),
    )
    per = pl.groupby(["month", "customer_id"]).agg(
        rev=("net", "sum"), orders=("sale_id", "nunique")
    )
    g = per.groupby(level="month").agg(
        revenue=("rev", "sum"),
        orders=("orders", "sum"),
        customers=("rev", lambda r: int((r > 0).sum())),
    )
    firsts = fo.groupby("customer_id")["order_date"].min().dt.to_period("M").dt.start_time
    g["new_customers"] = firsts.value_counts().reindex(g.index).fillna(0)
    monthly = list(g.reset_index().itertuples(index=False, name=None))
    return normalise(rng, options, kpis, monthly)


# --------------------------------------------------------------------------- pyramid
# The Pyramid page's headline numbers: customers and window revenue per value tier (1-4 active,
# ranked by net revenue > 0; 5 sleeping; 6 prospect), default cuts (docs/metrics.md). The crm_core column
# is the whole page set (Pareto, RFM, migration, customer list too), so the ratios understate.


def _tiers(rows: list[tuple[Any, Any, Any]]) -> dict[str, Any]:
    got = {int(t): [_num(n), _num(r)] for t, n, r in rows}
    return {"tiers": {str(t): got.get(t, [0.0, 0.0]) for t in range(1, 7)}}


def core_pyramid(con: db.Connection, f: Filters) -> dict[str, Any]:
    """Value tiers through crm_core."""
    pyr = value.value_pyramid(con, _period(f), f, "revenue")
    return _tiers([(i + 1, r.customers, r.revenue) for i, r in enumerate(pyr.itertuples())])


PLAIN_PYRAMID = f"""
    WITH fl AS ({_PLAIN_FILTERED_LINES} AND o.order_date < $e1),
    per AS (
        SELECT customer_id,
               coalesce(sum(net) FILTER (WHERE order_date >= $s1), 0) AS rev,
               max(CASE WHEN NOT is_return AND amount > 0 THEN 1 ELSE 0 END) AS bought
        FROM fl GROUP BY 1),
    ranked AS (
        SELECT customer_id, rev,
               row_number() OVER (ORDER BY rev DESC, customer_id) AS rk,
               count(*) OVER () AS n
        FROM per WHERE rev > 0),
    known AS (
        SELECT customer_id FROM customers c
        WHERE (c.created_at IS NULL OR c.created_at < $e1) AND {_PLAIN_CUSTOMER_FILTER}
        UNION SELECT customer_id FROM per)
    SELECT
        CASE
            WHEN r.rk <= ceil(CAST($c1 AS DECIMAL(9, 6)) * r.n) THEN 1
            WHEN r.rk <= ceil(CAST($c2 AS DECIMAL(9, 6)) * r.n) THEN 2
            WHEN r.rk <= ceil(CAST($c3 AS DECIMAL(9, 6)) * r.n) THEN 3
            WHEN r.rk IS NOT NULL THEN 4
            WHEN p.bought = 1 THEN 5
            ELSE 6
        END,
        count(*),
        coalesce(sum(p.rev), 0)
    FROM known k
    LEFT JOIN per p ON p.customer_id = k.customer_id
    LEFT JOIN ranked r ON r.customer_id = k.customer_id
    GROUP BY 1
"""


def plain_pyramid(con: db.Connection, f: Filters) -> dict[str, Any]:
    """Value tiers in one plain DuckDB statement over orders and customers."""
    c1, c2, c3 = value.TIER_CUTS
    params = f.params() | {"s1": f.start, "e1": _period(f).end_excl, "c1": c1, "c2": c2, "c3": c3}
    return _tiers(con.execute(PLAIN_PYRAMID, _named(PLAIN_PYRAMID, params)).fetchall())


def pandas_pyramid(frames: dict[str, pd.DataFrame], f: Filters) -> dict[str, Any]:
    """Value tiers with pandas groupby and a sort over the order lines."""
    orders, customers = frames["orders"], frames["customers"]
    p = _period(f)
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end_excl)
    fl = orders[_dims_mask(orders, f, (*CUSTOMER_DIMS, "category")) & (orders["order_date"] < end)]
    fl = fl.assign(net=fl["amount"].where(~fl["is_return"], -fl["amount"].abs()))
    history = pd.Index(fl["customer_id"].unique())
    bought = pd.Index(fl.loc[~fl["is_return"] & (fl["amount"] > 0), "customer_id"].unique())
    win = fl[fl["order_date"] >= start].groupby("customer_id")["net"].sum()
    ranked = (
        win[win > 0]
        .rename("rev")
        .reset_index()
        .sort_values(["rev", "customer_id"], ascending=[False, True])
    )
    n = len(ranked)
    ranked["rk"] = range(1, n + 1)
    # Tier k holds ranks up to ceil(cut_k * n), in exact fractions as the SQL's decimals.
    bounds = [math.ceil(Fraction(str(c)) * n) for c in value.TIER_CUTS]
    ranked["tier"] = 4
    for k, b in reversed(list(enumerate(bounds, start=1))):
        ranked.loc[ranked["rk"] <= b, "tier"] = k
    created = customers["created_at"]
    fc = customers[_dims_mask(customers, f, CUSTOMER_DIMS) & (created.isna() | (created < end))]
    known = pd.Index(fc["customer_id"].unique()).union(history)
    tier = pd.Series(6, index=known)
    tier[tier.index.isin(bought)] = 5
    tier[ranked["customer_id"]] = ranked["tier"].to_numpy()
    rev = pd.Series(0.0, index=known)
    rev[win.index] = win.to_numpy()  # net, also a sleeping customer's returns in the window
    g = pd.DataFrame({"tier": tier, "rev": rev}).groupby("tier")["rev"]
    return _tiers(list(zip(g.size().index, g.size(), g.sum(), strict=True)))


# --------------------------------------------------------------------------- lifecycle
# The Lifecycle page's headline numbers: customers and revenue of the last 12 months per stage as
# of the period's end, default rules (docs/lifecycle.md). The crm_core column of the comparison
# is the whole page set (stages, transitions, new vs lost, cohorts), so the ratios understate.


def _stages(rows: list[tuple[Any, Any, Any]]) -> dict[str, Any]:
    got = {str(s): [_num(n), _num(r)] for s, n, r in rows}
    return {"stages": {s: got.get(s, [0.0, 0.0]) for s in lifecycle.STAGES}}


def core_lifecycle(con: db.Connection, f: Filters) -> dict[str, Any]:
    """Stage counts through crm_core."""
    c = lifecycle.stage_counts(con, _period(f).end, f)
    return _stages(list(c[["stage", "customers", "revenue_12m"]].itertuples(False)))


PLAIN_LIFECYCLE = f"""
    WITH fo AS ({_PLAIN_FILTERED_ORDERS} AND CAST(o.order_date AS DATE) <= $as_of),
    days AS (
        SELECT customer_id, CAST(order_date AS DATE) AS d, sum(amount) AS a
        FROM fo GROUP BY 1, 2),
    gaps AS (
        SELECT *, d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS g FROM days),
    per AS (
        SELECT customer_id, count(*) AS n, min(d) AS first_d, max(d) AS last_d,
               median(g) AS med, coalesce(sum(a) FILTER (WHERE d > $as_of - 365), 0) AS r12
        FROM gaps GROUP BY 1),
    known AS (
        SELECT customer_id FROM customers c
        WHERE (c.created_at IS NULL OR CAST(c.created_at AS DATE) <= $as_of)
          AND {_PLAIN_CUSTOMER_FILTER}
        UNION SELECT customer_id FROM per)
    SELECT
        CASE
            WHEN p.n IS NULL THEN 'prospect'
            WHEN $as_of - p.last_d > 365 THEN 'lost'
            WHEN p.n = 1 THEN 'exploration'
            WHEN $as_of - p.last_d > greatest(2 * p.med, 90) THEN 'decline'
            WHEN $as_of - p.first_d < 365 THEN 'formation'
            ELSE 'stability'
        END AS stage,
        count(*),
        coalesce(sum(p.r12), 0)
    FROM known k LEFT JOIN per p ON p.customer_id = k.customer_id
    GROUP BY 1
"""


def plain_lifecycle(con: db.Connection, f: Filters) -> dict[str, Any]:
    """Stage counts in one plain DuckDB statement over orders and customers."""
    params = f.params() | {"as_of": _period(f).end}
    return _stages(con.execute(PLAIN_LIFECYCLE, _named(PLAIN_LIFECYCLE, params)).fetchall())


def pandas_lifecycle(frames: dict[str, pd.DataFrame], f: Filters) -> dict[str, Any]:
    """Stage counts with pandas groupby over the order lines."""
    orders, customers = frames["orders"], frames["customers"]
    as_of = pd.Timestamp(_period(f).end)
    live = orders[~orders["is_return"]]
    fo = live[
        _dims_mask(live, f, (*CUSTOMER_DIMS, "category"))
        & (live["order_date"] < as_of + pd.Timedelta(days=1))
    ]
    days = (
        fo.assign(d=fo["order_date"].dt.normalize())
        .groupby(["customer_id", "d"], as_index=False)["amount"]
        .sum()
        .sort_values(["customer_id", "d"])
    )
    days["g"] = days.groupby("customer_id")["d"].diff().dt.days
    per = days.groupby("customer_id").agg(
        n=("d", "size"), first=("d", "min"), last=("d", "max"), med=("g", "median")
    )
    recent = days[days["d"] > as_of - pd.Timedelta(days=365)]
    per["r12"] = recent.groupby("customer_id")["amount"].sum().reindex(per.index).fillna(0.0)
    created = customers["created_at"]
    fc = customers[
        _dims_mask(customers, f, CUSTOMER_DIMS)
        & (created.isna() | (created.dt.normalize() <= as_of))
    ]
    known = per.reindex(pd.Index(fc["customer_id"].unique()).union(per.index))
    since = (as_of - known["last"]).dt.days
    age = (as_of - known["first"]).dt.days
    overdue = (2 * known["med"]).clip(lower=90)
    stage = pd.Series("stability", index=known.index)
    stage[age < 365] = "formation"
    stage[since > overdue] = "decline"
    stage[known["n"] == 1] = "exploration"
    stage[since > 365] = "lost"
    stage[known["n"].isna()] = "prospect"  # the first rule that holds wins: set last
    g = known.assign(stage=stage, r12=known["r12"].fillna(0.0)).groupby("stage")
    return _stages(list(zip(g.size().index, g.size(), g["r12"].sum(), strict=True)))


@dataclass(frozen=True)
class Baseline:
    core: Callable[[db.Connection, Filters], dict[str, Any]]
    plain: Callable[[db.Connection, Filters], dict[str, Any]]
    pandas_read: Callable[[db.Connection], Any]
    pandas: Callable[[Any, Filters], dict[str, Any]]


BASELINES: dict[str, Baseline] = {
    "overview": Baseline(core_overview, plain_overview, pandas_read, pandas_overview),
    "pyramid": Baseline(core_pyramid, plain_pyramid, pandas_read, pandas_pyramid),
    "lifecycle": Baseline(core_lifecycle, plain_lifecycle, pandas_read, pandas_lifecycle),
}


def check_filters(f: Filters, options: dict[str, list[str]]) -> list[Filters]:
    """The filter combinations the equality check runs: none, one region, one category, both."""
    region = (options.get("region") or [None])[0]
    category = (options.get("category") or [None])[0]
    return [
        f,
        Filters(start=f.start, end=f.end, region=region),
        Filters(start=f.start, end=f.end, category=category),
        Filters(start=f.start, end=f.end, region=region, category=category),
    ]
