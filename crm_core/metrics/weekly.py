"""The weekly report: this week against last week, as a dealer's sales and service report has it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics import overview
from crm_core.metrics.filters import NO_FILTERS, Filters

# Rows of the report in display order; satisfaction is an average score (1-5), the rest counts/money.
MEASURES = ("new_leads", "orders", "revenue", "new_customers", "complaints", "satisfaction")
WEEK_DAYS = 7
# The week's orders and revenue add up the fact layer's days where they may
# (facts.day_orders_add_up): the same numbers as the order lines (tests/test_facts.py).
DAY_SLOTS: db.Slots = (("weekly_orders_lines", "weekly_orders_days"),)


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday and the Sunday of the week holding `day` (weeks run Monday to Sunday)."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=WEEK_DAYS - 1)


def last_full_week_end(day: dt.date) -> dt.date:
    """The Sunday ending the last whole Monday-Sunday week up to `day`: `day` itself when it is
    a Sunday, else the Sunday before it."""
    return day - dt.timedelta(days=(day.weekday() + 1) % WEEK_DAYS)


def report_week_end(con: db.Connection, f: Filters = NO_FILTERS) -> dt.date | None:
    """The Sunday ending the report's week: the last whole Monday-Sunday week up to the
    filter's end date, else up to the last order date (a week the data covers only partly
    would compare three days with seven)."""
    if f.end:
        return last_full_week_end(f.end)
    rng = overview.data_range(con)
    return last_full_week_end(rng[1]) if rng else None


def _week(con: db.Connection, start: dt.date, f: Filters, slots: db.Slots) -> dict:
    end_excl = start + dt.timedelta(days=WEEK_DAYS)
    rows = db.query_rows(
        con, "weekly_summary", start=start, end_excl=end_excl, **f.params(), _slots=slots
    )
    return dict(zip(MEASURES, rows[0], strict=True))


def weekly_comparison(
    con: db.Connection, week_end: dt.date, f: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per measure: this week (the 7 days to week_end), last week, change and % change."""
    this_start = week_end - dt.timedelta(days=WEEK_DAYS - 1)
    # Whether the days may stand for the lines is asked once for both weeks.
    slots = DAY_SLOTS if facts.day_orders_add_up(con) else ()
    now = _week(con, this_start, f, slots)
    before = _week(con, this_start - dt.timedelta(days=WEEK_DAYS), f, slots)
    df = pd.DataFrame(
        {
            "measure": MEASURES,
            "this_week": [None if now[m] is None else float(now[m]) for m in MEASURES],
            "last_week": [None if before[m] is None else float(before[m]) for m in MEASURES],
        }
    )
    df["change"] = df["this_week"] - df["last_week"]
    df["change_pct"] = df["change"] / df["last_week"].where(df["last_week"] != 0)
    return df
