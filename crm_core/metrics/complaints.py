"""Complaints: coverage, trend and spikes, handling stages and SLA, backlog, headline figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period

# Handling stages in order; a complaint "reaches" a stage when that stage's time or a later
# one's is logged (an unlogged callback does not undo a logged close).
STAGES = ("received", "accepted", "handled", "feedback", "closed")
STAGE_COLUMNS = {s: f"{s}_at" for s in STAGES}
# The SLA and backlog need at least one of these to carry values.
SLA_COLUMNS = ("handled_at", "closed_at")
SLA_STAGES = ("accept", "resolve")
SLA_OUTCOMES = ("met", "breached", "pending", "invalid")

# Severity values as the demo and Chinese exports write them: high, medium, low. Blank or other
# labels get the medium hours.
SEVERITY_HIGH, SEVERITY_MEDIUM, SEVERITY_LOW = "高", "中", "低"
SEVERITIES = (SEVERITY_HIGH, SEVERITY_MEDIUM, SEVERITY_LOW)


@dataclass(frozen=True)
class Sla:
    """Hours allowed from receipt, per severity (high, medium, low): to accept and to resolve.

    Exactly the allowed hours is within the SLA. Resolved = handled, else feedback, else closed.
    """

    accept: tuple[float, float, float] = (2.0, 4.0, 4.0)
    resolve: tuple[float, float, float] = (24.0, 48.0, 48.0)

    def cells(self) -> dict[tuple[str, int], tuple[str, float]]:
        """{(stage, severity index): (severity, hours)} for an editor grid."""
        return {
            (stage, i): (sev, getattr(self, stage)[i])
            for stage in SLA_STAGES
            for i, sev in enumerate(SEVERITIES)
        }

    @classmethod
    def from_cells(cls, hours: dict[tuple[str, int], float]) -> Sla:
        """The SLA of an edited grid: {(stage, severity index): hours}."""
        return cls(**{s: tuple(float(hours[s, i]) for i in range(3)) for s in SLA_STAGES})  # type: ignore[arg-type]

    def params(self) -> dict[str, Any]:
        """SQL parameters of the complaints_clock fragment."""
        out: dict[str, Any] = {"sev_high": SEVERITY_HIGH, "sev_low": SEVERITY_LOW}
        for stage, hours in (("accept", self.accept), ("resolve", self.resolve)):
            for level, h in zip(("high", "mid", "low"), hours, strict=True):
                out[f"sla_{stage}_{level}"] = float(h)
        return out


DEFAULT_SLA = Sla()

# The headline figures of the page, in display order (keys of headline()).
HEADLINE = ("complaints", "median_resolution_hours", "sla_breach_rate", "satisfied_share")
GRAINS = ("day", "week", "month")
SPLITS = ("category", "channel", "severity", "product", "owner")
# The rolling median of the trend covers this many buckets (a week of days, a month of weeks,
# a quarter of months).
ROLLING_BUCKETS = {"day": 7, "week": 4, "month": 3}

# Spike rule, judged per fortnight (a week and the week before: a shortage or a faulty batch
# lasts more than a few days, and one week of a small category is mostly noise) for the total
# and for each category separately: fortnight count >= SPIKE_MIN_COUNT and robust z-score
# (a - median) / max(MAD_SCALE * MAD, 1) > SPIKE_Z on the scale a = 2 * sqrt(count + 3/8), over
# the SPIKE_WINDOWS fortnights that end before the judged one starts. On that square-root
# (Anscombe) scale a count's noise is about 1 whatever its size, so one rule fits a category with
# 2 complaints a week and a total of 200; MAD_SCALE turns a MAD into a standard deviation.
# Checked on 25 seeds of the demo generator (docs/metrics.md): the generated two-week
# 配件缺货 surge is caught in 16, with about one other flag per three years of data; a weekly
# total-only rule caught it in at most 5.
SPIKE_WINDOWS = 12
SPIKE_Z = 3.0
SPIKE_MIN_COUNT = 5
MAD_SCALE = 1.4826

SATISFIED_MIN = 4  # scores 4 and 5 of 1-5 count as satisfied
BACKLOG_AGE_DAYS = (1, 3, 7, 30)  # open-complaint age buckets: <1, 1-3, 3-7, 7-30, >=30 days


def _params(filters: Filters, **extra: Any) -> dict[str, Any]:
    # Complaints follow the customer filters; the product-category filter is an order attribute.
    return {**filters.params(), "category": None, **extra}


def _span(period: Period) -> dict[str, Any]:
    return {"start": period.start, "end": period.end, "end_excl": period.end_excl}


def _clock(con: db.Connection, sla: Sla, as_of: dt.datetime | None) -> dict[str, Any]:
    return {**sla.params(), "as_of": as_of if as_of is not None else last_received_at(con)}


# --------------------------------------------------------------------------- data range


def coverage(con: db.Connection) -> dict[str, Any]:
    """Rows, first/last receipt and per optional column how many rows have a value (no filters)."""
    df = db.query(con, "complaints_coverage")
    return {str(k): v for k, v in df.iloc[0].items()}


def last_received_at(con: db.Connection) -> dt.datetime | None:
    """The default as-of time: the last complaint received (ages and pending SLAs count to it)."""
    return _last_received(coverage(con))


def _last_received(cov: dict[str, Any]) -> dt.datetime | None:
    value = cov["last_received_at"]
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def has_acceptance_times(cov: dict[str, Any]) -> bool:
    """Whether the data log when complaints were accepted (受理). Without it the accept-stage SLA
    is not reported: the earliest later stage would only bound it from above."""
    return bool(cov.get("accepted_at"))


def missing_for_sla(cov: dict[str, Any]) -> list[str]:
    """The columns the SLA, stage and backlog views need but the data lacks ([] = all good)."""
    return [] if any(cov.get(c) for c in SLA_COLUMNS) else list(SLA_COLUMNS)


def effective_period(con: db.Connection, period: Period | None) -> tuple[Period | None, bool]:
    """The period to show and whether it was moved: the chosen one when it overlaps the complaint
    data, else the 12 months up to the last complaint (None when there are no complaints)."""
    cov = coverage(con)
    if not cov["complaints"]:
        return None, False
    first = pd.Timestamp(cov["first_received_at"]).date()
    last = pd.Timestamp(cov["last_received_at"]).date()
    if period is not None and period.start <= last and period.end >= first:
        return period, False
    return Period(max(first, last - dt.timedelta(days=364)), last), period is not None


# --------------------------------------------------------------------------- trend


def trend(
    con: db.Connection, period: Period, grain: str = "month", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per day/week/month bucket overlapping the period (whole buckets, zero-filled):
    bucket, complaints, orders, active_customers, per_1000_customers, per_1000_orders,
    rolling_median (of the last ROLLING_BUCKETS[grain] buckets)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    # Orders and active customers from the fact layer's days where the days' distinct orders
    # add up (facts.day_orders_add_up), else from the order lines: the same counts.
    days = facts.day_orders_add_up(con)
    return db.query(
        con,
        "complaints_trend",
        grain=grain,
        window=ROLLING_BUCKETS[grain],
        **_params(filters, **_span(period)),
        _slots=(("complaints_order_counts_lines", "complaints_order_counts_days"),) if days else (),
    )


def trend_by(
    con: db.Connection,
    period: Period,
    grain: str = "month",
    by: str = "category",
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """One row per (bucket, group) with complaints; group = the value of `by` (None = blank)."""
    if grain not in GRAINS or by not in SPLITS:
        raise ValueError(f"grain must be one of {GRAINS}, by one of {SPLITS}")
    return db.query(
        con, "complaints_trend_by", grain=grain, by=by, **_params(filters, **_span(period))
    )


def spike_flags(
    con: db.Connection, period: Period | None = None, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per spike fortnight (rule: SPIKE_* above) overlapping the period (None = all
    time): start_date, end_date (Monday to Sunday), complaints, baseline (median fortnight count),
    z (the total's), total_flagged (the total crossed the threshold), flagged (categories that
    did), trigger_z (the largest z among the series that crossed: what put the fortnight on the
    list, always above SPIKE_Z), and the categories above their own baseline, largest excess
    first: drivers_text ("A +5, B +2"), drivers, driver_excess."""
    span = _span(period) if period else {"start": dt.date(1900, 1, 1), "end": dt.date(9999, 12, 31)}
    rows = db.query(
        con,
        "complaints_spikes",
        windows=SPIKE_WINDOWS,
        z=SPIKE_Z,
        mad_scale=MAD_SCALE,
        min_count=SPIKE_MIN_COUNT,
        **_params(filters, **span),
    )
    cols = ["start_date", "end_date", "complaints", "baseline", "z", "drivers_text"]
    cols += ["total_flagged", "flagged", "trigger_z", "drivers", "driver_excess"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    total = rows[rows["category"].isna()].rename(columns={"flagged": "total_flagged"})
    cats = rows[rows["category"].notna()]
    cats = cats.assign(
        text=cats["category"] + " +" + cats["excess"].map("{:g}".format),
        hit=cats["category"].where(cats["flagged"]),
    )
    drivers = cats.groupby("start_date", sort=False).agg(
        drivers=("category", list),
        driver_excess=("excess", list),
        drivers_text=("text", ", ".join),
        flagged=("hit", lambda h: h.dropna().tolist()),
    )
    out = total.merge(drivers, left_on="start_date", right_index=True, how="left")
    crossed = rows[rows["flagged"].astype(bool)].groupby("start_date", sort=False)["z"].max()
    out["trigger_z"] = out["start_date"].map(crossed).astype(float)
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c]).dt.date
    return out[cols].reset_index(drop=True)


def spike_triggers(spikes: pd.DataFrame, total_label: str) -> list[str]:
    """Per spike row, what crossed the rule: `total_label` when the total did, then the flagged
    categories ("总量、配件缺货")."""
    out = []
    for total, cats in zip(spikes["total_flagged"], spikes["flagged"], strict=True):
        names = ([total_label] if bool(total) else []) + (
            list(cats) if isinstance(cats, list) else []
        )
        out.append("、".join(names))
    return out


def year_over_year(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per month of the period: month, complaints, last_year (same month a year earlier;
    NaN before the data starts), change (relative)."""
    return db.query(con, "complaints_yoy", **_params(filters, **_span(period)))


def monthly_counts(
    con: db.Connection, filters: Filters = NO_FILTERS, period: Period | None = None
) -> dict[str, int]:
    """{"YYYY-MM": complaints} for every month with complaints received in the period (None =
    all time)."""
    span = {"start": None, "end_excl": None} if period is None else _span(period)
    df = db.query(con, "complaints_monthly", **_params(filters, **span))
    return {f"{m:%Y-%m}": int(n) for m, n in zip(df["month"], df["complaints"], strict=True)}


# --------------------------------------------------------------------------- stages and SLA


def stage_funnel(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """One row per stage (STAGES order): reached, logged, measured, median_h and p90_h (hours
    since the latest earlier stage present), errors (negative durations, left out)."""
    return db.query(
        con,
        "complaints_stages",
        **_clock(con, DEFAULT_SLA, as_of),
        **_params(filters, **_span(period)),
    )


def sla_breaches(
    con: db.Connection,
    period: Period,
    by: str = "all",
    filters: Filters = NO_FILTERS,
    sla: Sla = DEFAULT_SLA,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """One row per value of `by` (all, category, owner, severity, channel) in a column named `by`:
    complaints, accept_/resolve_ met, breached, pending, invalid, and accept_/resolve_breach_rate
    (breached / (met + breached))."""
    if by not in ("all", "category", "owner", "severity", "channel"):
        raise ValueError(f"unknown breakdown {by!r}")
    df = db.query(
        con, "complaints_sla", by=by, **_clock(con, sla, as_of), **_params(filters, **_span(period))
    )
    if not has_acceptance_times(coverage(con)):
        # No acceptance time in the file: the accept stage is not measured, so not reported.
        accept = [c for c in df.columns if c.startswith("accept_")]
        for col in accept:
            df[col] = pd.array([pd.NA] * len(df), dtype="Float64")
    return df.rename(columns={"grp": by})


def backlog(
    con: db.Connection, filters: Filters = NO_FILTERS, as_of: dt.datetime | None = None
) -> pd.DataFrame:
    """Open complaints (no closed time) at the as-of time by age and severity: age_bucket (0-4),
    age_label ("<1", "1-3", ..., ">=30" days), severity, complaints, oldest_days."""
    ages = {f"age_{i + 1}": d for i, d in enumerate(BACKLOG_AGE_DAYS)}
    df = db.query(
        con, "complaints_backlog", **ages, **_clock(con, DEFAULT_SLA, as_of), **_params(filters)
    )
    df.insert(1, "age_label", df["age_bucket"].map(dict(enumerate(age_labels()))))
    return df


def age_labels() -> list[str]:
    """Labels of the backlog age buckets, in days."""
    d = BACKLOG_AGE_DAYS
    return [f"<{d[0]}", *(f"{a}–{b}" for a, b in pairwise(d)), f"≥{d[-1]}"]


def headline(
    con: db.Connection,
    period: Period | None = None,
    filters: Filters = NO_FILTERS,
    sla: Sla = DEFAULT_SLA,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """complaints, median_resolution_hours (received -> closed), resolution_time_errors,
    sla_breach_rate (resolve), accept_breach_rate, rated, satisfied_share for the period (None =
    all time). Rates and the median are None when nothing qualifies."""
    span = {"start": None, "end_excl": None} if period is None else _span(period)
    row = db.query(
        con,
        "complaints_headline",
        satisfied_min=SATISFIED_MIN,
        **_clock(con, sla, as_of),
        **_params(filters, **span),
    ).iloc[0]
    out: dict[str, Any] = {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
    for k in ("complaints", "resolution_time_errors", "rated"):
        out[k] = int(out[k] or 0)
    for k in (
        "median_resolution_hours",
        "sla_breach_rate",
        "accept_breach_rate",
        "satisfied_share",
    ):
        out[k] = None if out[k] is None else float(out[k])
    cov = coverage(con)
    if missing_for_sla(cov):
        out["sla_breach_rate"] = out["accept_breach_rate"] = None
    if not has_acceptance_times(cov):
        out["accept_breach_rate"] = None
    return out


ALL_TIME = Period(dt.date(1900, 1, 1), dt.date(9999, 12, 30))
DURATION_STAGES = STAGES[1:]  # stages with a duration (from the latest earlier stage logged)


def negative_durations(
    con: db.Connection, period: Period | None = None, filters: Filters = NO_FILTERS
) -> dict[str, int]:
    """{stage: complaints whose time at that stage is before the latest earlier stage logged}
    for accepted, handled, feedback, closed (None = all time). These are counted here and left
    out of every duration, median and P90 (stage_funnel's `errors`)."""
    return _negative_durations(stage_funnel(con, period or ALL_TIME, filters))


def _negative_durations(stages: pd.DataFrame) -> dict[str, int]:
    errors = dict(zip(stages["stage"], stages["errors"], strict=True))
    return {s: int(errors.get(s, 0)) for s in DURATION_STAGES}


def sla_warnings(
    con: db.Connection,
    period: Period | None = None,
    filters: Filters = NO_FILTERS,
    stages: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """What the complaint data cannot tell about handling times (docs/metrics.md, "What each
    warning means"): `no_acceptance_time` (complaints but no acceptance time logged: the accept
    SLA is not reported; severity note) and `negative_durations` (params: durations = the sum,
    stages = {stage: n}; severity warning). [] when there are no complaints. `stages`: what
    stage_funnel returns for the same period and filters (default as-of time), if the caller
    has it: not computed again."""
    cov = coverage(con)
    if not cov["complaints"]:
        return []
    out: list[dict[str, Any]] = []
    if not has_acceptance_times(cov):
        out.append({"code": "no_acceptance_time", "severity": "note"})
    if stages is None:
        neg = negative_durations(con, period, filters)
    else:
        neg = _negative_durations(stages)
    if sum(neg.values()):
        out.append(
            {
                "code": "negative_durations",
                "severity": "warning",
                "durations": sum(neg.values()),
                "stages": {k: v for k, v in neg.items() if v},
            }
        )
    return out


# --------------------------------------------------------------------------- metrics JSON


def metrics_block(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """The complaints keys of `metrics --json` (default SLA) under the filters, for complaints
    received in their period (all time without one)."""
    period = None
    if filters.start is not None or filters.end is not None:
        period = Period(filters.start or dt.date(1900, 1, 1), filters.end or dt.date(9999, 12, 30))
    h = headline(con, period, filters)
    return {
        "complaints_monthly": monthly_counts(con, filters, period),
        "median_resolution_hours": h["median_resolution_hours"],
        "resolution_time_errors": h["resolution_time_errors"],
        "sla_breach_rate": h["sla_breach_rate"],
        "sla_accept_breach_rate": h["accept_breach_rate"],
        "satisfied_share": h["satisfied_share"],
        "complaint_negative_durations": negative_durations(con) if h["complaints"] else None,
    }
