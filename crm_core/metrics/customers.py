"""One row per customer for scripts and campaign lists: value tier, net spend, RFM, stage, P(alive)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from crm_core.engine import db
from crm_core.metrics import clv, lifecycle, overview, value
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period

# The columns of customer_table(), in output order (the keys of `customers --json`).
COLUMNS = (
    "customer_id", "name", "region", "owner", "source", "customer_type", "tier",
    "net_revenue", "gross_revenue", "returns_amount", "orders", "last_order_date",
    "rfm_segment", "lifecycle_stage", "p_alive",
)  # fmt: skip
PROSPECT = "prospect"  # a known customer the value query does not reach (no sale by the as-of day)


def table_period(con: db.Connection, filters: Filters = NO_FILTERS) -> Period | None:
    """The value window [filters.start, filters.end]. Without dates: the 12 months up to the last
    order date (overview.default_period); --end alone: the 12 months up to it; --start alone: up
    to the last order date. None when there is no order and no date to go by."""
    default = overview.default_period(con)
    end = filters.end or (default.end if default else None)
    if end is None:
        return None
    start = filters.start or (default.start if default and not filters.end else _year_before(end))
    if start > end:
        raise ValueError(f"the period starts after it ends: {start} > {end}")
    return Period(start, end)


def _year_before(end: dt.date) -> dt.date:
    # The first day of the 12 months ending on `end` (29 Feb: from 1 March a year before).
    if end.month == 2 and end.day == 29:
        return dt.date(end.year - 1, 3, 1)
    return end.replace(year=end.year - 1) + dt.timedelta(days=1)


def customer_table(
    con: db.Connection, filters: Filters = NO_FILTERS, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per customer known from any table under the filters (customers, orders, leads,
    complaints, interactions), sorted by customer_id; columns COLUMNS.

    Over the window of table_period(): `tier` (value.TIER_KEYS: diamond … regular for buyers with
    net revenue > 0, sleeping, prospect), `net_revenue` = `gross_revenue` - `returns_amount`,
    `orders` (distinct non-return orders with a positive line), `last_order_date` (last
    non-return line up to the window's end), `rfm_segment` (value.SEGMENTS key, None for
    non-buyers); `lifecycle_stage` as of the window's end (lifecycle.STAGES key); `p_alive` from
    the churn model fitted up to the window's end, None where it cannot be fitted or the customer
    has no purchase. Rules: docs/metrics.md, "Customer table". `extra` names further columns of
    the churn model's scores (clv.score_customers, e.g. "clv") to append after COLUMNS.
    """
    known = db.query(con, "value_known_customers", **filters.params())
    period = table_period(con, filters)
    if period is None:
        out = known.assign(tier=PROSPECT)
        return _finish(out, extra)
    vals = value.customer_values(con, period, filters).drop(columns=list(known.columns[1:]))
    out = known.merge(vals, on="customer_id", how="left")
    stages = lifecycle.stage_of_customers(con, period.end, filters)
    out = out.merge(
        stages.rename(columns={"stage": "lifecycle_stage"}), on="customer_id", how="left"
    )
    try:
        scored = clv.churn_clv(con, filters, calibration_end=period.end).customers
        cols = ["p_alive", *extra]
        out = out.merge(scored[cols], left_on="customer_id", right_index=True, how="left")
    except clv.FitError:
        out["p_alive"] = None
    return _finish(out, extra)


def _finish(df: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    for c in (*COLUMNS, *extra):
        if c not in df.columns:
            df[c] = None
    df = df[[*COLUMNS, *extra]].sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    df["tier"] = df["tier"].fillna(PROSPECT)
    for c in ("net_revenue", "gross_revenue", "returns_amount"):
        df[c] = df[c].astype(float).fillna(0.0)
    df["orders"] = df["orders"].fillna(0).astype("int64")
    df["p_alive"] = df["p_alive"].astype(float)
    return df


def json_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The rows of customer_table() as JSON-ready dicts (dates ISO, NaN as None), one at a time."""
    cols = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        yield {c: _plain(v) for c, v in zip(cols, row, strict=True)}


def _plain(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if v is pd.NA:
        return None
    return v
