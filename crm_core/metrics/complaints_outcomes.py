"""Complaint outcomes: satisfaction, value, repeaters, Pareto; the Complaints page's report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.complaints import (
    DEFAULT_SLA,
    SATISFIED_MIN,
    Sla,
    _clock,
    _last_received,
    _params,
    _span,
    backlog,
    coverage,
    headline,
    sla_warnings,
    spike_flags,
    stage_funnel,
    year_over_year,
)
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period

RESOLUTION_BUCKETS_H = (4, 24, 48, 96)  # satisfaction by hours to resolution: <=4, <=24 ...
RETENTION_DAYS = 180  # retained = an order within this many days after the reference date
REPEAT_MIN_COMPLAINTS = 2  # repeat complainant: this many complaints ...
REPEAT_DAYS = 90  # ... within this many days
PARETO_SHARE = 0.8  # the categories that together cause this share of complaints
# spike_flags' list columns: Arrow gives lists back as arrays, so the report keeps `flagged` as
# tuples beside the frame (ComplaintsReport.spike_flagged) and leaves the other two out.
SPIKE_LIST_COLUMNS = ("flagged", "drivers", "driver_excess")


# --------------------------------------------------------------------------- satisfaction


def satisfaction_scores(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per score 1-5 present: score, complaints."""
    return db.query(con, "complaints_scores", **_params(filters, **_span(period)))


def satisfaction_by(
    con: db.Connection, period: Period, by: str = "category", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per value of `by` (all, category, channel, severity, owner) in a column named `by`:
    complaints, rated, mean_score, satisfied, satisfied_share (of the rated)."""
    if by not in ("all", "category", "channel", "severity", "owner"):
        raise ValueError(f"unknown breakdown {by!r}")
    df = db.query(
        con,
        "complaints_satisfaction",
        by=by,
        satisfied_min=SATISFIED_MIN,
        **_params(filters, **_span(period)),
    )
    return df.rename(columns={"grp": by})


def resolution_labels() -> list[str]:
    """Labels of the resolution-time buckets (hours), then 'open' and 'invalid' markers."""
    h = RESOLUTION_BUCKETS_H
    return [
        f"≤{h[0]}",
        *(f"{a}–{b}" for a, b in pairwise(h)),
        f">{h[-1]}",
        "open",
        "invalid",
    ]


def satisfaction_by_resolution(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """One row per hours-to-resolution bucket present: bucket (0-6), label, complaints, rated,
    mean_score, satisfied_share. Buckets 5 and 6 are the unresolved and the invalid times."""
    edges = {f"res_{i + 1}": float(h) for i, h in enumerate(RESOLUTION_BUCKETS_H)}
    df = db.query(
        con,
        "complaints_satisfaction_by_resolution",
        satisfied_min=SATISFIED_MIN,
        **edges,
        **_clock(con, DEFAULT_SLA, as_of),
        **_params(filters, **_span(period)),
    )
    df.insert(1, "label", df["bucket"].map(dict(enumerate(resolution_labels()))))
    return df


def compensation_by_category(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per category: complaints, compensated, paid, mean_paid, share_of_paid."""
    return db.query(con, "complaints_compensation", **_params(filters, **_span(period)))


# --------------------------------------------------------------------------- value


def retention(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    sla: Sla = DEFAULT_SLA,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """One row per customer_group (met, breached, unknown, never): customers, retained and
    retention, the share with an order within RETENTION_DAYS after the reference date (see
    sql/complaints_retention.sql for the groups and reference dates). On DuckDB with the fact
    layer, the follow-ups are read from its days (complaints_retention_days.sql: the same rows)."""
    return db.query(
        con,
        "complaints_retention_days" if facts.has_day_layer(con) else "complaints_retention",
        days=RETENTION_DAYS,
        **_clock(con, sla, as_of),
        **_params(filters, **_span(period)),
    )


def repeat_complainants(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per customer with REPEAT_MIN_COMPLAINTS complaints within REPEAT_DAYS: customer_id,
    name, account_owner, complaints, first_received_at, last_received_at, categories, handlers."""
    return db.query(
        con,
        "complaints_repeaters",
        min_complaints=REPEAT_MIN_COMPLAINTS,
        days=REPEAT_DAYS,
        **_params(filters, **_span(period)),
    )


# --------------------------------------------------------------------------- Pareto


def pareto(con: db.Connection, period: Period, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """One row per complaint category, largest first: complaints, share, cumulative_share,
    vital_few (in the smallest set of categories reaching PARETO_SHARE of complaints)."""
    return db.query(
        con, "complaints_pareto", share=PARETO_SHARE, **_params(filters, **_span(period))
    )


# --------------------------------------------------------------------------- the page's report


@dataclass(frozen=True)
class ComplaintsReport:
    """What the Complaints page shows for one period and filter set that no widget changes: each
    part is what the function named beside it returns for the same period and filters (default
    SLA; as-of time = the last complaint received, their default). The trend by grain and split,
    the SLA tables under edited hours and the drill-down lists are calls of their own."""

    headline: dict[str, Any]  # complaints.headline
    coverage: dict[str, Any]  # complaints.coverage (every complaint: no period, no filters)
    spikes: pd.DataFrame  # complaints.spike_flags without SPIKE_LIST_COLUMNS
    spike_flagged: tuple[tuple[str, ...], ...]  # spike_flags' `flagged`, per spike row
    year_over_year: pd.DataFrame  # complaints.year_over_year
    sla_warnings: list[dict[str, Any]]  # complaints.sla_warnings
    stages: pd.DataFrame  # complaints.stage_funnel
    backlog: pd.DataFrame  # complaints.backlog (open at the as-of time: no period)
    scores: pd.DataFrame  # satisfaction_scores
    satisfaction: pd.DataFrame  # satisfaction_by(..., "category", ...)
    by_resolution: pd.DataFrame  # satisfaction_by_resolution
    compensation: pd.DataFrame  # compensation_by_category
    retention: pd.DataFrame  # retention
    repeaters: pd.DataFrame  # repeat_complainants
    pareto: pd.DataFrame  # pareto


def complaints_report(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> ComplaintsReport:
    """The Complaints page's report for complaints received in the period under the filters."""
    cov = coverage(con)
    as_of = _last_received(cov)  # what each call would look up itself: looked up once
    spikes = spike_flags(con, period, filters)
    stages = stage_funnel(con, period, filters, as_of)  # the SLA warnings count its errors
    return ComplaintsReport(
        headline=headline(con, period, filters, as_of=as_of),
        coverage=cov,
        spikes=spikes.drop(columns=list(SPIKE_LIST_COLUMNS)),
        spike_flagged=tuple(tuple(f) if isinstance(f, list) else () for f in spikes["flagged"]),
        year_over_year=year_over_year(con, period, filters),
        sla_warnings=sla_warnings(con, period, filters, stages),
        stages=stages,
        backlog=backlog(con, filters, as_of),
        scores=satisfaction_scores(con, period, filters),
        satisfaction=satisfaction_by(con, period, "category", filters),
        by_resolution=satisfaction_by_resolution(con, period, filters, as_of),
        compensation=compensation_by_category(con, period, filters),
        retention=retention(con, period, filters, DEFAULT_SLA, as_of),
        repeaters=repeat_complainants(con, period, filters),
        pareto=pareto(con, period, filters),
    )
