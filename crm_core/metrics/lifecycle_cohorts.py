"""Lifecycle over time: new vs lost per month, cohort retention, the page report, the JSON block."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics import lifecycle
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.lifecycle import CHURN_DAYS, DEFAULT_RULES, LifecycleRules


def new_vs_lost(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    churn_days: int = CHURN_DAYS,
) -> pd.DataFrame:
    """One row per calendar month from `start` (default: first event) to `as_of`: new_customers,
    lost_customers (the month their silence passed `churn_days`), reactivated_customers and
    net_change = new + reactivated - lost."""
    params = {"as_of": as_of, "churn_days": churn_days, **filters.params()}
    df = lifecycle._report(con, "lifecycle_new_lost", params)
    if df.empty:
        return pd.DataFrame(
            columns=[
                "month",
                "new_customers",
                "lost_customers",
                "reactivated_customers",
                "net_change",
            ]
        )
    df["month"] = pd.to_datetime(df["month"])
    first = pd.Timestamp(start).to_period("M").to_timestamp() if start else df["month"].min()
    months = pd.date_range(first, pd.Timestamp(as_of).to_period("M").to_timestamp(), freq="MS")
    df = df.set_index("month").reindex(months, fill_value=0).rename_axis("month").reset_index()
    cols = ["new_customers", "lost_customers", "reactivated_customers"]
    df[cols] = df[cols].astype(int)
    df["month"] = df["month"].dt.date
    df["net_change"] = df["new_customers"] + df["reactivated_customers"] - df["lost_customers"]
    return df


def last_full_month(last_date: dt.date) -> dt.date:
    """First day of the last complete calendar month on or before `last_date`: its own month when
    `last_date` is the month's last day, else the month before."""
    if (last_date + dt.timedelta(days=1)).month != last_date.month:
        return last_date.replace(day=1)
    return (last_date.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def cohort_retention(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """Long form: one row per (cohort = month of first purchase in [start, end], months_since)
    with cohort_size, customers ordering in that month and retention = customers / size."""
    params = {"as_of": as_of, "start": start, "end_excl": end + dt.timedelta(days=1)}
    df = lifecycle._report(con, "lifecycle_cohorts", {**params, **filters.params()})
    df["months_since"] = df["months_since"].astype(int)
    df["cohort"] = pd.to_datetime(df["cohort"])
    # Months up to as_of in which nobody of a cohort bought are 0, not missing.
    last = pd.Timestamp(as_of).to_period("M")
    sizes = df.groupby("cohort")["cohort_size"].first()
    spans = [(last - p).n + 1 for p in pd.DatetimeIndex(sizes.index).to_period("M")]
    grid = pd.DataFrame(
        [
            (c, k, n)
            for c, n, span in zip(sizes.index, sizes.to_numpy(), spans, strict=True)
            for k in range(span)
        ],
        columns=["cohort", "months_since", "cohort_size"],
    )
    # Typed even when empty (a period in which nobody made a first purchase): the merge needs
    # the same key types on both sides.
    grid = grid.astype({"cohort": df["cohort"].dtype, "months_since": df["months_since"].dtype})
    df = grid.merge(df[["cohort", "months_since", "customers"]], how="left")
    df["customers"] = df["customers"].fillna(0).astype(int)
    df["retention"] = df["customers"] / df["cohort_size"]
    return df


def retention_matrix(cohorts: pd.DataFrame) -> pd.DataFrame:
    """cohort_retention() as a matrix: rows = cohort month, columns = months since first
    purchase, values = retention share (NaN where the month is after `as_of`)."""
    return cohorts.pivot(index="cohort", columns="months_since", values="retention").sort_index()


def metrics_block(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, object]:
    """The lifecycle part of `metrics --json` under the filters, as of their end date when they
    set one (see docs/metrics.md)."""
    have = db.table_columns(con)
    out: dict[str, object] = {
        "lifecycle_stages": None,
        "lifecycle_as_of": None,
        "new_customers_last_month": None,
        "lost_customers_last_month": None,
        "new_lost_month": None,
    }
    if not {"orders", "customers"} <= have.keys():
        return out
    last = db.query_rows(con, "lifecycle_data_end")[0]
    last_order, last_known = last
    if last_known is None:
        return out
    if filters.end is not None:
        last_known = min(last_known, filters.end)
        last_order = min(last_order, filters.end) if last_order else None
    counts = lifecycle.stage_counts(con, last_known, filters)
    out["lifecycle_stages"] = dict(zip(counts["stage"], counts["customers"].tolist(), strict=True))
    out["lifecycle_as_of"] = last_known.isoformat()
    if last_order is None:
        return out
    month = last_full_month(last_order)
    nl = new_vs_lost(con, last_order, filters=filters)
    row = nl[nl["month"] == month]
    out["new_customers_last_month"] = int(row["new_customers"].sum())
    out["lost_customers_last_month"] = int(row["lost_customers"].sum())
    out["new_lost_month"] = f"{month:%Y-%m}"
    return out


@dataclass(frozen=True)
class LifecycleReport:
    """Everything the Lifecycle page shows for one period and filter set."""

    as_of: dt.date
    start: dt.date
    rules: LifecycleRules
    known: int  # customers known by `as_of` under the filters
    profile: pd.DataFrame  # lifecycle.profile(): customers per stage, end pattern, source, ...
    counts: pd.DataFrame
    lifecycle_funnel: pd.DataFrame
    customer_funnel: pd.DataFrame
    transitions: pd.DataFrame
    end_patterns: pd.DataFrame
    new_lost: pd.DataFrame
    cohorts: pd.DataFrame


@dataclass(frozen=True)
class LifecycleSummary:
    """What a meeting shows of the Lifecycle page: the funnel of phases reached and new vs lost
    per month (LifecycleReport's fields of the same names, without the reports it leaves out)."""

    as_of: dt.date
    start: dt.date
    known: int
    lifecycle_funnel: pd.DataFrame
    new_lost: pd.DataFrame


def lifecycle_summary(
    con: db.Connection,
    start: dt.date,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> LifecycleSummary:
    """Customers known by `as_of`, the phases they reached, and new vs lost per month from
    `start`: lifecycle_report's figures of these names, without the transitions, end patterns
    and cohorts a meeting does not show (a third of the report's time)."""
    profile = lifecycle.profile(con, as_of, filters, rules)  # shared stage rows where held
    return LifecycleSummary(
        as_of=as_of,
        start=start,
        known=int(profile["customers"].sum()),
        lifecycle_funnel=lifecycle.lifecycle_funnel(profile),
        new_lost=new_vs_lost(con, as_of, start, filters, rules.churn_days),
    )


def lifecycle_report(
    con: db.Connection,
    start: dt.date,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> LifecycleReport:
    """Stages as of `as_of`, transitions since the day before `start`, end patterns, new vs lost
    per month and the retention of the cohorts acquired from `start` to `as_of`.

    On DuckDB every part is aggregated in SQL from the shared stage rows (no row per customer is
    fetched); elsewhere the customers' stages are fetched once and aggregated here. A stage's
    members: lifecycle.stage_rows()."""
    before = start - dt.timedelta(days=1)
    if facts.lifecycle_stages(con, lifecycle._params(as_of, rules, filters)) is not None:
        profile = lifecycle.profile(con, as_of, filters, rules)
        transitions = lifecycle.stage_transitions(con, before, as_of, filters, rules)
    else:
        customers = lifecycle.customer_stages(con, as_of, filters, rules)
        profile = lifecycle.profile_of(customers)
        transitions = lifecycle.transitions_between(
            lifecycle.stage_of_customers(con, before, filters, rules), customers
        )
    return LifecycleReport(
        as_of=as_of,
        start=start,
        rules=rules,
        known=int(profile["customers"].sum()),
        profile=profile,
        counts=lifecycle.counts_of(profile),
        lifecycle_funnel=lifecycle.lifecycle_funnel(profile),
        customer_funnel=lifecycle.customer_funnel(profile),
        transitions=transitions,
        end_patterns=lifecycle.end_patterns(profile),
        new_lost=new_vs_lost(con, as_of, start, filters, rules.churn_days),
        cohorts=cohort_retention(con, as_of, start, as_of, filters),
    )
