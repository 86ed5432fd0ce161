"""Headline KPIs and monthly trends for the Overview page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters

KPI_NAMES = ("customers", "active_customers", "revenue", "orders", "complaints")
# Figures whose rise is bad news: a rise is shown red, a fall green (st.metric "inverse").
BAD_WHEN_UP = frozenset(
    {"complaints", "lost_customers", "churned", "churn_rate", "overdue", "overdue_leads"}
)
# KPIs that count all customers on file, whatever the period: they have no change to show.
NO_CHANGE = frozenset({"customers"})
# The Overview's figures read the fact layer's days instead of the order lines where they may
# (facts.day_orders_add_up): the same numbers from fewer, narrower rows (tests/test_facts.py).
DAY_SLOTS: db.Slots = (
    ("overview_period_lines", "overview_period_days"),
    ("overview_months_lines", "overview_months_days"),
)
# Below this share of its days inside the data, the period before is too empty to compare with.
MIN_PRIOR_COVERAGE = 0.5


@dataclass(frozen=True)
class Period:
    """A closed date range [start, end]."""

    start: dt.date
    end: dt.date

    @property
    def end_excl(self) -> dt.date:
        return self.end + dt.timedelta(days=1)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        days = (self.end - self.start).days + 1
        return Period(self.start - dt.timedelta(days=days), self.start - dt.timedelta(days=1))


def data_range(con: db.Connection) -> tuple[dt.date, dt.date] | None:
    """First and last day with a non-return order, or None when there are no orders."""
    lines = db.is_duckdb(con) and not facts.has_fact_layer(con)  # an older snapshot
    rows = db.query_rows(con, "data_range_lines" if lines else "data_range")
    first, last = rows[0] if rows else (None, None)
    return (first, last) if first is not None else None


def default_period(con: db.Connection) -> Period | None:
    """The 12 months up to the last order date: what a manager means by 'this year'."""
    rng = data_range(con)
    if rng is None:
        return None
    last = rng[1]
    start = max(
        rng[0],
        last.replace(year=last.year - 1) + dt.timedelta(days=1)
        if not (last.month == 2 and last.day == 29)
        else dt.date(last.year - 1, 3, 1),
    )
    return Period(start, last)


def filter_period(con: db.Connection, f: Filters) -> Period | None:
    """The filters' period, a side left open closed by the order data (first / last order
    date); None when the filters set no period or there are no orders to close it."""
    if f.start is None and f.end is None:
        return None
    rng = data_range(con)
    start = f.start or (rng[0] if rng else None)
    end = f.end or (rng[1] if rng else None)
    return Period(start, end) if start and end else None


def headline_kpis(con: db.Connection, period: Period, filters: Filters = NO_FILTERS) -> dict:
    """Known customers, active (buying) customers, revenue, orders, complaints in the period."""
    return _kpis(con, period, period.start, filters)[0]


def _kpis(
    con: db.Connection, period: Period, prev_start: dt.date, filters: Filters
) -> tuple[dict, dict]:
    # The KPIs of `period` and of [prev_start, period.start), from one statement.
    row = db.query_rows(
        con,
        "overview_kpis",
        start=period.start,
        end_excl=period.end_excl,
        prev_start=prev_start,
        **filters.params(),
        _slots=_slots(con),
    )[0]
    now = dict(zip(KPI_NAMES, row[:5], strict=True))
    # Known customers do not depend on the period.
    before = dict(zip(KPI_NAMES, (row[0], *row[5:]), strict=True))
    return now, before


def kpi_deltas(con: db.Connection, period: Period, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """Each KPI for the period and the previous period of equal length, with the change."""
    now, before = _kpis(con, period, period.previous().start, filters)
    df = pd.DataFrame(
        {
            "kpi": KPI_NAMES,
            "value": [now[k] for k in KPI_NAMES],
            "previous": [before[k] for k in KPI_NAMES],
        }
    )
    df["change"] = df["value"].astype(float) - df["previous"].astype(float)
    return df


def monthly_trend(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Per month: revenue, orders, buying customers and new customers (first order that month)."""
    return db.query(
        con,
        "overview_monthly",
        start=period.start,
        end_excl=period.end_excl,
        **filters.params(),
        _slots=_slots(con),
    )


def _slots(con: db.Connection) -> db.Slots:
    return DAY_SLOTS if facts.day_orders_add_up(con) else ()


def delta_color(kpi: str) -> str:
    """st.metric's delta_color for a figure: "inverse" (up = red) when its rise is bad news
    (BAD_WHEN_UP), "off" when it cannot change (NO_CHANGE), else "normal" (up = green)."""
    if kpi in NO_CHANGE:
        return "off"
    return "inverse" if kpi in BAD_WHEN_UP else "normal"


def prior_coverage(con: db.Connection, period: Period) -> float:
    """The share (0-1) of the days of the period before `period` (Period.previous) that lie
    within the order data (data_range): 0.1 when the data starts 3 days before a 30-day period."""
    prev, rng = period.previous(), data_range(con)
    if rng is None:
        return 0.0
    first, last = max(prev.start, rng[0]), min(prev.end, rng[1])
    days = (prev.end - prev.start).days + 1
    return max((last - first).days + 1, 0) / days
