"""Churn and CLV reports from a fit: holdout validation, the page's tables and its report."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_core.engine import db
from crm_core.metrics import clv, value
from crm_core.metrics import clv_models as models
from crm_core.metrics.clv_models import BGNBDParams
from crm_core.metrics.filters import NO_FILTERS, Filters

# Holdout validation: the last 26 weeks are predicted from the weeks before, but the holdout never
# takes more than a third of the history (the model needs a long calibration period).
HOLDOUT_WEEKS = 26
HOLDOUT_MAX_SHARE = 1 / 3
MAX_FREQUENCY_BUCKET = 7  # conditional-expectation chart: x = 0 … 6 and 7+
# Call list: among the top 20 % of customers by past value, those more likely gone than active.
AT_RISK_P_ALIVE = 0.5
VALUABLE_SHARE = 0.20
# CLV pyramid: the value pyramid's tiers (top 1 %, next 4 %, next 15 %, other 80 %; tier k holds
# ranks up to ceil(cut_k * n)), ranked by CLV instead of revenue.
PYRAMID_TIERS: tuple[str, ...] = value.ACTIVE_TIERS
PYRAMID_CUTS: tuple[float, ...] = (*value.TIER_CUTS, 1.0)
NEXT_PURCHASE_ROWS = 200
P_ALIVE_BINS = 20


# ----------------------------------------------------------------------------------- holdout


def default_holdout_split(
    con: db.Connection, filters: Filters = NO_FILTERS
) -> tuple[dt.date, dt.date] | None:
    """(calibration end, observation end): the last order date minus 26 weeks, but never more
    than a third of the history; None with less than three days of orders."""
    return _holdout_split(clv.order_range(con, filters))


def _holdout_split(rng: tuple[dt.date, dt.date] | None) -> tuple[dt.date, dt.date] | None:
    """default_holdout_split of the order range `rng` (clv.order_range)."""
    if rng is None or (rng[1] - rng[0]).days < 3:
        return None
    span = (rng[1] - rng[0]).days
    holdout = min(HOLDOUT_WEEKS * 7, int(span * HOLDOUT_MAX_SHARE))
    return rng[1] - dt.timedelta(days=max(holdout, 1)), rng[1]


def cumulative_tracking(
    con: db.Connection,
    params: BGNBDParams,
    calibration_end: dt.date,
    observation_end: dt.date,
    unit: str = clv.DEFAULT_UNIT,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration cohort, actual vs BG/NBD, per unit.

    Same grid and columns as `clv_models.cumulative_tracking` (period, period_end,
    cumulative_actual, cumulative_predicted, in_calibration), computed from per-day counts
    aggregated in DuckDB instead of the transactions.
    """
    days = clv.unit_days(unit)
    counts = db.query(
        con,
        "clv_tracking",
        calibration_end=calibration_end,
        observation_end=observation_end,
        **filters.params(),
    )
    if not (counts["kind"] == "trial").any():
        raise ValueError("no customers in the cohort")
    cal = pd.Timestamp(calibration_end)
    offset = (pd.to_datetime(counts["purchase_date"]) - cal).dt.days.to_numpy(dtype=np.float64)
    n = counts["customers"].to_numpy(dtype=np.float64)
    trial = (counts["kind"] == "trial").to_numpy()
    trial_off, trial_n = offset[trial], n[trial]
    repeat_off, repeat_n = offset[~trial], n[~trial]  # sorted by date in SQL

    n_back = int(np.floor(-trial_off.min() / days)) if trial_off.min() < 0 else 0
    n_fwd = int(np.floor((observation_end - calibration_end).days / days))
    periods = np.arange(-n_back, n_fwd + 1)
    grid = periods * days
    running = np.concatenate([[0.0], np.cumsum(repeat_n)])
    actual = running[np.searchsorted(repeat_off, grid, side="right")]
    lag = np.maximum(grid[:, None] - trial_off[None, :], 0.0) / days
    predicted = models.bgnbd_unconditional_expected(params, lag) @ trial_n
    return pd.DataFrame(
        {
            "period": periods,
            "period_end": cal + pd.to_timedelta(grid, unit="D"),
            "cumulative_actual": actual.astype(np.int64),
            "cumulative_predicted": predicted,
            "in_calibration": periods <= 0,
        }
    )


@dataclass(frozen=True)
class Holdout:
    """A fit on the calibration period checked against the holdout period that follows it."""

    fit: clv.ClvFit
    observation_end: dt.date
    customers: pd.DataFrame  # per customer: frequency, holdout_frequency (actual), predicted
    tracking: pd.DataFrame  # cumulative repeat purchases per unit, actual vs predicted
    by_frequency: pd.DataFrame  # mean holdout purchases by calibration frequency
    totals: dict[str, float] = field(default_factory=dict)


def holdout_validation(
    con: db.Connection,
    filters: Filters = NO_FILTERS,
    calibration_end: dt.date | None = None,
    observation_end: dt.date | None = None,
    unit: str = clv.DEFAULT_UNIT,
) -> Holdout:
    """Fit on the orders up to `calibration_end`, predict (calibration_end, observation_end].

    Defaults: `default_holdout_split`. Per customer the conditional expectation (eq. 10) over
    the holdout is compared with the purchases actually made; in aggregate, the cohort's
    cumulative repeat purchases (eq. 7) with the actual ones. Raises `clv.ClvRefused` (also when
    the calibration fit is not identified: key holdout_not_identified).
    """
    split = default_holdout_split(con, filters)
    if split is None:
        raise clv.ClvRefused("no_orders", "there are not enough orders for a holdout test")
    calibration_end = calibration_end or split[0]
    observation_end = observation_end or split[1]
    if observation_end <= calibration_end:
        raise clv.ClvRefused(
            "bad_split",
            f"the holdout split {calibration_end} must be before the last order date "
            f"{observation_end}",
            split=calibration_end,
            last=observation_end,
        )
    summary = clv.customer_summary(con, calibration_end, unit, filters, observation_end)
    fit = clv.fit_models(summary, calibration_end, unit)
    if not fit.churn_identified:
        # Predictions of a fit that cannot pin churn down would test nothing.
        raise clv.ClvRefused(
            "holdout_not_identified",
            f"the history up to the holdout split {calibration_end} cannot pin the churn model "
            "down, so the model cannot be tested on it",
            split=calibration_end,
        )
    x, t_x, T = clv._columns(summary, "frequency", "recency", "T")
    duration = float(summary["holdout_duration"].iloc[0])  # one holdout for every customer
    customers = summary[["frequency", "holdout_frequency"]].copy()
    (xu, txu, Tu), _, of = models.distinct_rows(x, t_x, T)  # eq. 10 once per history
    with np.errstate(all="ignore"):  # non-finite predictions are refused just below
        predicted = models.bgnbd_expected_purchases(fit.bgnbd, duration, xu, txu, Tu)[of]
        customers["predicted"] = predicted
        tracking = cumulative_tracking(
            con, fit.bgnbd, calibration_end, observation_end, unit, filters
        )
    clv._require_finite(fit, customers["predicted"], tracking["cumulative_predicted"])
    by_frequency = models.holdout_comparison(
        summary, fit.bgnbd, MAX_FREQUENCY_BUCKET, predicted=predicted
    )
    end = tracking.iloc[-1]
    totals = {
        "customers": float(len(summary)),
        "holdout_actual": float(customers["holdout_frequency"].sum()),
        "holdout_predicted": float(customers["predicted"].sum()),
        "cumulative_actual": float(end["cumulative_actual"]),
        "cumulative_predicted": float(end["cumulative_predicted"]),
    }
    actual = totals["holdout_actual"]
    totals["holdout_gap"] = totals["holdout_predicted"] / actual - 1 if actual else math.nan
    return Holdout(fit, observation_end, customers, tracking, by_frequency, totals)


# ------------------------------------------------------------------------------- page views


def p_alive_histogram(customers: pd.DataFrame, bins: int = P_ALIVE_BINS) -> pd.DataFrame:
    """Customers per P(alive) band of width 1/bins: columns bin_start, bin_end, customers."""
    counts, edges = np.histogram(customers["p_alive"], bins=bins, range=(0.0, 1.0))
    return pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "customers": counts})


def customer_details(con: db.Connection, customer_ids: pd.Index) -> pd.DataFrame:
    """Name, owner and region of the given customers (index customer_id, in the given order;
    NaN for a customer missing from the customers table)."""
    df = db.query(con, "clv_customer_details").drop_duplicates("customer_id")
    return df.set_index("customer_id").reindex(customer_ids)


def call_list(con: db.Connection, result: clv.ClvResult) -> pd.DataFrame:
    """Valuable customers at risk, ranked by past value x P(gone): who to call first.

    Valuable: past value (revenue up to the as-of date) in the top 20 %; at risk: P(alive) below
    0.5. One-time buyers never appear: BG/NBD lets customers drop out only after a repeat
    purchase, so their P(alive) is 1. Columns: rank, customer_id, name, owner, region,
    purchases, past_value, last_purchase_date, days_since_last, p_alive, value_at_risk, clv.
    """
    c = result.customers
    valuable = c["calibration_revenue"] >= c["calibration_revenue"].quantile(1 - VALUABLE_SHARE)
    risk = c[valuable & (c["p_alive"] < AT_RISK_P_ALIVE)]
    as_of = pd.Timestamp(result.fit.calibration_end)
    out = pd.DataFrame(
        {
            "purchases": risk["frequency"] + 1,
            "past_value": risk["calibration_revenue"].round(2),
            "last_purchase_date": pd.to_datetime(risk["last_purchase_date"]).dt.date,
            "days_since_last": (as_of - pd.to_datetime(risk["last_purchase_date"])).dt.days,
            "p_alive": risk["p_alive"].round(4),
            "value_at_risk": (risk["calibration_revenue"] * (1.0 - risk["p_alive"])).round(2),
            "clv": risk["clv"].round(2),
        }
    )
    out = out.sort_values(
        ["value_at_risk", "past_value", "customer_id"], ascending=[False, False, True]
    )
    return _with_details(con, out)


def next_purchases(
    con: db.Connection, result: clv.ClvResult, rows: int = NEXT_PURCHASE_ROWS
) -> pd.DataFrame:
    """The `rows` customers expected to buy again soonest: rank, customer_id, name, owner,
    region, last_purchase_date, p_alive, p_purchase and expected_purchases (next 90 days),
    next_purchase_days (median wait) and next_purchase_date. Customers not expected to buy
    again within five years (no wait) are never listed, however few the others are."""
    expected = result.customers[result.customers["next_purchase_days"].notna()]
    # nsmallest fills up with NaN rows when fewer than `rows` have a value.
    c = expected.nsmallest(rows, "next_purchase_days", keep="all")
    c = c.sort_values(
        ["next_purchase_days", "p_purchase", "customer_id"], ascending=[True, False, True]
    ).head(rows)
    as_of = pd.Timestamp(result.fit.calibration_end)
    wait = np.ceil(c["next_purchase_days"].to_numpy(dtype=np.float64))
    out = pd.DataFrame(
        {
            "last_purchase_date": pd.to_datetime(c["last_purchase_date"]).dt.date,
            "p_alive": c["p_alive"].round(4),
            "p_purchase": c["p_purchase"].round(4),
            "expected_purchases": c["expected_purchases"].round(3),
            "next_purchase_days": wait.astype(np.int64),
            "next_purchase_date": (as_of + pd.to_timedelta(wait, unit="D")).date,
        },
        index=c.index,
    )
    return _with_details(con, out)


def _with_details(con: db.Connection, ranked: pd.DataFrame) -> pd.DataFrame:
    out = ranked.join(customer_details(con, ranked.index), how="left")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out.reset_index()
    front = ["rank", "customer_id", "name", "owner", "region"]
    return out[front + [c for c in out.columns if c not in front]]


def clv_pyramid(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers ranked by CLV into the value pyramid's tiers (top 1 %, next 4 %, next 15 %,
    other 80 %): tier (value.TIER_KEYS key), customers, clv, clv_share, mean_clv.

    Only counts and CLV sums are reported, so which of several customers with equal CLV falls on
    either side of a tier edge cannot change the result."""
    n = len(customers)
    clv_sorted = -np.sort(-customers["clv"].to_numpy(dtype=np.float64))
    bounds = np.array([math.ceil(round(cut * n, 9)) for cut in PYRAMID_CUTS])
    tier_of_rank = np.searchsorted(bounds, np.arange(n), side="right")
    total = clv_sorted.sum()
    rows = []
    for i, name in enumerate(PYRAMID_TIERS):
        sel = tier_of_rank == i
        k = int(sel.sum())
        value = float(clv_sorted[sel].sum())
        rows.append(
            {
                "tier": name,
                "customers": k,
                "clv": value,
                "clv_share": value / total if total > 0 else math.nan,
                "mean_clv": value / k if k else math.nan,
            }
        )
    return pd.DataFrame(rows).round({"clv": 2, "clv_share": 4, "mean_clv": 2})


def parameter_table(fit: clv.ClvFit) -> pd.DataFrame:
    """The fitted parameters as rows: model, parameter, estimate, standard_error (BG/NBD's r,
    alpha, a, b only; NaN where not computed or infinite). Not `value`: tables format a column
    of that name as money (i18n.is_money)."""
    bg, gg = fit.bgnbd, fit.gamma_gamma
    se = fit.identification.standard_errors if fit.identification else {}
    rows = [
        ("BG/NBD", k, getattr(bg, k), se.get(k, math.nan))
        for k in ("r", "alpha", "a", "b", "loglik")
    ]
    rows += [("Gamma-Gamma", k, getattr(gg, k), math.nan) for k in ("p", "q", "gamma")]
    df = pd.DataFrame(rows, columns=["model", "parameter", "estimate", "standard_error"])
    df["standard_error"] = df["standard_error"].where(np.isfinite(df["standard_error"]))
    return df


@dataclass(frozen=True)
class ChurnClvReport:
    """Everything the Churn & CLV page shows about the current customers (small, picklable)."""

    summary: dict[str, Any]  # clv.clv_json + expected_purchases, dates (as_of, default_split …)
    p_alive: pd.DataFrame
    call_list: pd.DataFrame
    pyramid: pd.DataFrame
    next_purchases: pd.DataFrame
    # The fitted parameters with standard errors (parameter_table), shown with the explanation
    # when the churn part is not identified (summary["status"]).
    parameters: pd.DataFrame = field(default_factory=pd.DataFrame)


def churn_clv_report(
    con: db.Connection, filters: Filters = NO_FILTERS, unit: str = clv.DEFAULT_UNIT
) -> ChurnClvReport:
    """Fit on the whole history under the filters and prepare the page's tables."""
    # One order range for the fit's as-of date and the default split (a scan of the days each).
    rng = clv.order_range(con, filters)
    result = clv.churn_clv(con, filters, calibration_end=rng[1] if rng else None, unit=unit)
    split = _holdout_split(rng)
    ok = result.fit.churn_identified
    summary = clv.clv_json(result) | {
        "expected_purchases": (float(result.customers["expected_purchases"].sum()) if ok else None),
        "first_order_date": pd.Timestamp(result.customers["first_purchase_date"].min()).date(),
        "as_of": result.fit.calibration_end,
        "default_split": split[0] if split else result.fit.calibration_end,
        "unit": unit,
        "horizon": result.horizon,
    }
    if not ok:
        # Nothing built on P(alive) is shown: not "0 at risk", but that it cannot be estimated.
        empty = pd.DataFrame()
        return ChurnClvReport(summary, empty, empty, empty, empty, parameter_table(result.fit))
    return ChurnClvReport(
        summary=summary,
        p_alive=p_alive_histogram(result.customers),
        call_list=call_list(con, result),
        pyramid=clv_pyramid(result.customers),
        next_purchases=next_purchases(con, result),
        parameters=parameter_table(result.fit),
    )
