"""Drill-down: the customers (or leads) behind one clicked element of a chart, same rows and clock."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from crm_core.engine import db
from crm_core.metrics import complaints, lifecycle, pipeline, value
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period

# Every drill list starts with these columns (customer_id opens the Customer 360 page).
ID_COLUMNS = ("customer_id", "name", "region", "owner")
TIER_COLUMNS = (*ID_COLUMNS, "tier", "rfm_segment", "net_revenue", "orders", "last_order_date")
BLANK_GROUP = ""  # the customdata of a complaint trend's blank group (no value in the split column)


def tier_customers(
    con: db.Connection,
    period: Period,
    tier: str,
    filters: Filters = NO_FILTERS,
    measure: str = "revenue",
    cuts: Sequence[float] = value.TIER_CUTS,
) -> pd.DataFrame:
    """The customers of one pyramid tier (value.TIER_KEYS key): the rows value_pyramid() counts
    in that tier for the same period, filters, measure and cuts; best value rank first.
    Columns TIER_COLUMNS (net_revenue over the window, tier / rfm_segment as keys)."""
    if tier not in value.TIER_KEYS:
        raise ValueError(f"tier must be one of {value.TIER_KEYS}, not {tier!r}")
    df = value.customer_values(con, period, filters, measure, cuts, tier=tier)
    return df[list(TIER_COLUMNS)]


def segment_customers(
    con: db.Connection,
    period: Period,
    segment: str,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """The customers of one RFM segment (value.SEGMENTS key): the rows rfm_segments() counts
    in it for the same period and filters (buyers with net revenue > 0 in the window); best
    value rank first. Columns TIER_COLUMNS."""
    if segment not in value.SEGMENT_BY_KEY:
        raise ValueError(f"unknown RFM segment {segment!r}")
    df = value.customer_values(con, period, filters, segment=segment)
    return df[list(TIER_COLUMNS)]


def stage_customers(
    con: db.Connection,
    as_of: dt.date,
    stage: str,
    filters: Filters = NO_FILTERS,
    rules: lifecycle.LifecycleRules = lifecycle.DEFAULT_RULES,
) -> pd.DataFrame:
    """The customers in one lifecycle stage (lifecycle.STAGES key) as of `as_of`: the rows the
    stage bar counts (lifecycle.stage_counts, same rules); highest lifetime revenue first.
    Columns: ID_COLUMNS, stage, purchases, last_purchase_date, revenue (lifetime, non-return
    lines), revenue_12m (the 12 months to `as_of`)."""
    if stage not in lifecycle.STAGES:
        raise ValueError(f"stage must be one of {lifecycle.STAGES}, not {stage!r}")
    params = {"as_of": as_of, **rules.params(), **filters.params()}
    df = db.query(con, "drill_stage_customers", stage=stage, **params)
    for c in ("revenue", "revenue_12m"):
        df[c] = df[c].astype(float)
    df["purchases"] = df["purchases"].astype("int64")
    return df


def _month_start(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def cohort_customers(
    con: db.Connection,
    as_of: dt.date,
    cohort: dt.date,
    months_since: int,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """The customers one cohort-heatmap cell counts (lifecycle_cohorts.cohort_retention): first
    non-return order in the month of `cohort`, and a non-return order `months_since` months
    later (orders up to `as_of`). Columns: ID_COLUMNS, cohort (first day of the month), orders
    and amount of that later month; by customer_id."""
    if months_since < 0:
        raise ValueError(f"months_since must be >= 0, not {months_since}")
    start = _month_start(cohort)
    df = db.query(
        con,
        "drill_cohort_customers",
        as_of=as_of,
        cohort=start,
        month=_add_months(start, months_since),
        **filters.params(),
    )
    df["cohort"] = pd.to_datetime(df["cohort"]).dt.date
    df["orders"] = df["orders"].astype("int64")
    df["amount"] = df["amount"].astype(float)
    return df


def complaint_month_customers(
    con: db.Connection,
    month: dt.date,
    filters: Filters = NO_FILTERS,
    by: str | None = None,
    group: str | None = None,
) -> pd.DataFrame:
    """The customers behind one month of the complaint trend (complaints.trend, grain month):
    complaints received in the calendar month of `month` under the filters (the product
    category does not apply), one row per customer with complaints, first_received_at,
    last_received_at; complaints without a customer id as one row with customer_id None, so
    the complaints column adds up to the month's bar. With `by` (a complaints.trend_by split),
    only the clicked segment of the stacked bar: the complaints whose `by` value is `group`
    (None = the blank group). Most complaints first."""
    if by is not None and by not in complaints.SPLITS:
        raise ValueError(f"by must be one of {complaints.SPLITS}")
    start = _month_start(month)
    params = {**filters.params(), "category": None}
    return db.query(
        con,
        "drill_complaint_customers",
        start=start,
        end_excl=_add_months(start, 1),
        by=by,
        grp=group,
        **params,
    ).astype({"complaints": "int64"})


def funnel_step_leads(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    step: str,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """The leads created in [start, end] that reached funnel step `step` (a value of
    pipeline.funnel_report().funnel["step"]): the `reached` count of that step, by the same stage
    order and rules (pipeline.reached_ranks). Columns: ID_COLUMNS (the lead's customer, None
    when the lead names none; region / owner the lead's own, else its customer's), lead_id,
    source, stage, outcome, created_at, amount; by lead_id. Empty for an unknown step."""
    as_of = end or pipeline.data_end(con)
    if as_of is None:
        return pd.DataFrame(columns=[*ID_COLUMNS, "lead_id"])
    stats = pipeline.stage_stats(con, start, end, filters, None, as_of)
    end_excl = end + dt.timedelta(days=1) if end else None
    leads = db.query(con, "drill_leads", start=start, end_excl=end_excl, **filters.params())
    cols = [*ID_COLUMNS, "lead_id", "source", "stage", "outcome", "created_at", "amount"]
    if stats.empty or step not in (order := pipeline.stage_order(stats)).steps:
        return leads.iloc[0:0][cols]
    reached = pipeline.reached_ranks(leads, order) >= order.steps.index(step)
    out = leads.loc[reached, cols].reset_index(drop=True)
    out["amount"] = out["amount"].astype(float)
    return out


def selected(event: Any, field: str = "customdata") -> list[Any]:
    """The `field` values of the points selected in a plotly selection event (the return value
    of st.plotly_chart(on_select=...) as a mapping); [] when nothing is selected. A customdata
    list gives its first item."""
    sel = (event or {}).get("selection") if isinstance(event, Mapping) else None
    points = (sel or {}).get("points") or []
    out = []
    for p in points:
        v = p.get(field)
        if isinstance(v, list | tuple):
            v = v[-1] if v else None
        if v is not None:
            out.append(v)
    return out


def first_point(event: Any) -> Mapping[str, Any] | None:
    """The first point selected in a plotly selection event (x, y, customdata, curve_number…),
    None when nothing is selected: for charts whose click names two things at once."""
    sel = (event or {}).get("selection") if isinstance(event, Mapping) else None
    points = (sel or {}).get("points") or []
    return points[0] if points and isinstance(points[0], Mapping) else None


def complaint_click(event: Any) -> tuple[dt.date, bool, str | None] | None:
    """What a click on the monthly complaint trend names: (month, whether it named one coloured
    segment, that segment's group: None = the blank group); None without a click. A click on
    the median line names the whole month."""
    point = first_point(event)
    if not point or not point.get("x"):
        return None
    month = pd.Timestamp(point["x"]).date()
    raw = point.get("customdata")  # the group a segment carries; the median line has none
    if not isinstance(raw, str):
        return month, False, None
    return month, True, None if raw == BLANK_GROUP else raw


def cohort_click(event: Any) -> tuple[dt.date, int] | None:
    """What a click on the cohort heatmap names: (cohort month, months since it); None without
    a click on a cell."""
    cell, months = selected(event), selected(event, "x")
    if not cell or not months:
        return None
    return dt.date.fromisoformat(str(cell[0])[:10]), int(months[0])


def complaint_list_key(month: dt.date, by: str | None, group: str | None) -> str:
    """The widget and file-name key of a complaint-month list: no user text (a group value is
    hashed), so it is safe in a file name."""
    if by is None:
        return f"complaints-{month:%Y-%m}"
    return f"complaints-{month:%Y-%m}-{by}-{zlib.crc32((group or '').encode()):08x}"


def selected_row(event: Any) -> int | None:
    """The index of the row selected in a st.dataframe(on_select=...) event, None without one."""
    sel = (event or {}).get("selection") if isinstance(event, Mapping) else None
    rows = (sel or {}).get("rows") or []
    return int(rows[0]) if rows else None
