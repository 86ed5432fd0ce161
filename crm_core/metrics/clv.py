"""Churn risk and customer lifetime value from the orders in DuckDB (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_core.engine import db
from crm_core.metrics import clv_models as models
from crm_core.metrics import value
from crm_core.metrics.clv_models import BGNBDIdentification, BGNBDParams, FitError, GammaGammaParams
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.present import i18n

UNITS = tuple(models.UNIT_DAYS)  # ("day", "week"): the time unit of x, t_x, T and the horizons
DEFAULT_UNIT = "week"
FORECAST_DAYS = 90  # "expected purchases in the next 90 days"
HORIZON_WEEKS = 52  # CLV horizon: the next year of purchases
ANNUAL_DISCOUNT = 0.10  # a 10 % cost of capital, compounded per unit
CLV_STEP_DAYS = 7  # CLV sums weekly slices whatever the unit, so day and week agree
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
NEXT_PURCHASE_MAX_DAYS = 5 * 365  # a median wait beyond five years is shown as "not expected"
NEXT_PURCHASE_ROWS = 200
P_ALIVE_BINS = 20


class ClvRefused(FitError):
    """The data cannot support a fit; `key` names the reason (message clv.refused.<key>)."""

    def __init__(self, key: str, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.key = key
        self.facts = facts


# ------------------------------------------------------------------------------------- units


def unit_days(unit: str) -> float:
    """Days in one model time unit."""
    if unit not in models.UNIT_DAYS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    return models.UNIT_DAYS[unit]


def default_horizon(unit: str) -> float:
    """The default CLV horizon (52 weeks) in `unit`: 52 weeks or 364 days."""
    return HORIZON_WEEKS * 7 / unit_days(unit)


def discount_per_unit(annual_rate: float, unit: str) -> float:
    """An annual discount rate as the equivalent compound rate per unit (365.25-day year)."""
    return float((1.0 + annual_rate) ** (unit_days(unit) / 365.25) - 1.0)


# ------------------------------------------------------------------------------------ inputs


def order_range(
    con: db.Connection, filters: Filters = NO_FILTERS
) -> tuple[dt.date, dt.date] | None:
    """First and last day with a non-return order under the filters, or None without orders."""
    first, last = db.query_rows(con, "clv_order_range", **filters.params())[0]
    return (first, last) if first is not None else None


def customer_summary(
    con: db.Connection,
    calibration_end: dt.date,
    unit: str = DEFAULT_UNIT,
    filters: Filters = NO_FILTERS,
    observation_end: dt.date | None = None,
) -> pd.DataFrame:
    """Per customer (first purchase on or before `calibration_end`): the model inputs, from SQL.

    Index `customer_id`, sorted (so that sums, and hence the fit, are reproducible to the last
    bit); columns `frequency` (x), `recency` (t_x), `T` in `unit`,
    `monetary_value` (mean repeat-purchase amount), `first_purchase_date`, `last_purchase_date`,
    `calibration_revenue` (past value), and with `observation_end` also `holdout_frequency` and
    `holdout_duration` — the same definitions and names as `clv_models.rfm_summary`, but the
    same-day merge and the aggregation run in DuckDB, so one row per customer reaches pandas.
    """
    days = unit_days(unit)
    if observation_end is not None and observation_end <= calibration_end:
        raise ValueError("observation_end must be after calibration_end")
    raw = db.query(
        con,
        "clv_summary",
        calibration_end=calibration_end,
        observation_end=observation_end or calibration_end,
        **filters.params(),
    )
    out = pd.DataFrame(
        {
            "frequency": raw["frequency"].to_numpy(dtype=np.int64),
            "recency": raw["recency_days"].to_numpy(dtype=np.float64) / days,
            "T": raw["age_days"].to_numpy(dtype=np.float64) / days,
            "monetary_value": raw["monetary_value"].to_numpy(dtype=np.float64),
            "first_purchase_date": raw["first_purchase_date"].to_numpy(),
            "last_purchase_date": raw["last_purchase_date"].to_numpy(),
            "calibration_revenue": raw["calibration_revenue"].to_numpy(dtype=np.float64),
        },
        index=pd.Index(raw["customer_id"], name="customer_id"),
    )
    if observation_end is not None:
        out["holdout_frequency"] = raw["holdout_frequency"].to_numpy(dtype=np.int64)
        out["holdout_duration"] = (observation_end - calibration_end).days / days
    # Sorted here, not in SQL: DuckDB's ORDER BY on a million text ids was 2-4x slower.
    return out.sort_index()


# --------------------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class ClvFit:
    """Both fitted models and the calibration they describe."""

    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    calibration_end: dt.date
    unit: str
    # Standard errors and whether the data pin the churn part down (None: not checked).
    identification: BGNBDIdentification | None = None

    @property
    def churn_identified(self) -> bool:
        """Whether P(alive) and everything built on it (at-risk counts, CLV) can be reported."""
        return self.identification is None or self.identification.identified


def fit_models(summary: pd.DataFrame, calibration_end: dt.date, unit: str) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat buyers with positive spend.

    Raises `ClvRefused` (a `FitError`) naming the reason when the data cannot support a fit.
    """
    x, m = summary["frequency"], summary["monetary_value"]
    n, repeat, spend = len(summary), int((x > 0).sum()), int(((x > 0) & (m > 0)).sum())
    if n < models.MIN_CUSTOMERS:
        raise ClvRefused(
            "too_few_customers",
            f"the model needs at least {models.MIN_CUSTOMERS} customers with a purchase, got {n}",
            n=n,
            need=models.MIN_CUSTOMERS,
        )
    if repeat < models.MIN_REPEAT_BUYERS:
        raise ClvRefused(
            "too_few_repeat_buyers",
            f"the model needs at least {models.MIN_REPEAT_BUYERS} repeat buyers, got {repeat}",
            n=repeat,
            need=models.MIN_REPEAT_BUYERS,
        )
    if spend < models.MIN_SPEND_CUSTOMERS:
        raise ClvRefused(
            "too_few_spend",
            f"the spend model needs at least {models.MIN_SPEND_CUSTOMERS} repeat buyers with "
            f"positive spend, got {spend}",
            n=spend,
            need=models.MIN_SPEND_CUSTOMERS,
        )
    try:
        bg = models.fit_bgnbd(x, summary["recency"], summary["T"])
        gg = models.fit_gamma_gamma(x, m)
    except FitError as e:
        raise ClvRefused("not_identified", f"the fit failed: {e}", detail=str(e)) from e
    ident = models.bgnbd_identification(bg, x, summary["recency"], summary["T"])
    return ClvFit(bg, gg, calibration_end, unit, ident)


def _require_finite(fit: ClvFit, *values: Any) -> None:
    """Refuse a fit whose predictions are not finite (e.g. dropout parameters a, b running off to
    huge values when the data show almost no churn, where the 2F1 series break down)."""
    if not all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values):
        bg = fit.bgnbd
        raise ClvRefused(
            "not_identified",
            f"the fitted model gives non-finite predictions (r = {bg.r:.3g}, alpha = "
            f"{bg.alpha:.3g}, a = {bg.a:.3g}, b = {bg.b:.3g}): the data do not identify it",
            detail=f"r = {bg.r:.3g}, alpha = {bg.alpha:.3g}, a = {bg.a:.3g}, b = {bg.b:.3g}",
        )


# ----------------------------------------------------------------------------------- scoring


def p_purchase_within(fit: ClvFit, t: float, x: Any, T: Any, p_alive: Any) -> np.ndarray:
    """P(at least one purchase in the next t units | x, t_x, T) under BG/NBD.

    An active customer buys at rate lambda, whose posterior given x purchases in T units is
    Gamma(r + x, alpha + T), and can only drop out right after a purchase; so the chance of no
    purchase in t while active is E[exp(-lambda t)] = ((alpha + T) / (alpha + T + t))^(r + x), and
    P(purchase) = P(alive) * (1 - that).
    """
    r, alpha = fit.bgnbd.r, fit.bgnbd.alpha
    x, T, p_alive = (np.asarray(v, dtype=np.float64) for v in (x, T, p_alive))
    return np.asarray(p_alive * (1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x)))


def median_units_to_next_purchase(fit: ClvFit, x: Any, T: Any, p_alive: Any) -> np.ndarray:
    """The t at which `p_purchase_within` reaches 50 % (NaN when P(alive) <= 0.5: never).

    Solving P(alive) * (1 - ((alpha + T) / (alpha + T + t))^(r + x)) = 1/2 for t gives
    t = (alpha + T) * ((1 - 1 / (2 P(alive)))^(-1 / (r + x)) - 1).
    """
    r, alpha = fit.bgnbd.r, fit.bgnbd.alpha
    x, T, p_alive = (np.asarray(v, dtype=np.float64) for v in (x, T, p_alive))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = (alpha + T) * ((1.0 - 0.5 / p_alive) ** (-1.0 / (r + x)) - 1.0)
    return np.where(p_alive > 0.5, t, np.nan)


def score_customers(
    summary: pd.DataFrame,
    fit: ClvFit,
    forecast_days: float = FORECAST_DAYS,
    horizon: float | None = None,
    annual_discount: float = ANNUAL_DISCOUNT,
) -> pd.DataFrame:
    """The summary plus, per customer: `p_alive`, `expected_purchases` and `p_purchase` (next
    `forecast_days`), `next_purchase_days` (median wait for the next purchase, NaN when not
    expected within five years), `expected_spend` per purchase and `clv` (discounted expected
    revenue over `horizon` units, default 52 weeks)."""
    horizon = default_horizon(fit.unit) if horizon is None else horizon
    out = summary.copy()
    # Non-finite results are refused by the callers (_require_finite); no warnings meanwhile.
    with np.errstate(all="ignore"):
        _score_into(out, fit, forecast_days / unit_days(fit.unit), horizon, annual_discount)
    return out


def _score_into(
    out: pd.DataFrame, fit: ClvFit, t: float, horizon: float, annual_discount: float
) -> None:
    unit, days = fit.unit, unit_days(fit.unit)
    x, t_x, T, m = (out[c] for c in ("frequency", "recency", "T", "monetary_value"))
    out["p_alive"] = models.bgnbd_p_alive(fit.bgnbd, x, t_x, T)
    out["expected_purchases"] = models.bgnbd_expected_purchases(fit.bgnbd, t, x, t_x, T)
    out["p_purchase"] = p_purchase_within(fit, t, x, T, out["p_alive"])
    wait = median_units_to_next_purchase(fit, x, T, out["p_alive"]) * days
    out["next_purchase_days"] = np.where(wait <= NEXT_PURCHASE_MAX_DAYS, wait, np.nan)
    out["expected_spend"] = models.gamma_gamma_expected_spend(fit.gamma_gamma, x, m)
    out["clv"] = models.clv(
        fit.bgnbd,
        fit.gamma_gamma,
        x,
        t_x,
        T,
        m,
        horizon,
        discount_per_unit(annual_discount, unit),
        step=min(CLV_STEP_DAYS / days, horizon) if horizon > 0 else 1.0,
    )


@dataclass(frozen=True)
class ClvResult:
    """A fit on the history up to `fit.calibration_end` and every customer scored with it."""

    fit: ClvFit
    customers: pd.DataFrame
    horizon: float
    forecast_days: float
    annual_discount: float


def churn_clv(
    con: db.Connection,
    filters: Filters = NO_FILTERS,
    calibration_end: dt.date | None = None,
    unit: str = DEFAULT_UNIT,
    horizon: float | None = None,
    forecast_days: float = FORECAST_DAYS,
    annual_discount: float = ANNUAL_DISCOUNT,
) -> ClvResult:
    """Fit on the orders up to `calibration_end` (default: the last order date) and score everyone.

    Raises `ClvRefused` when there are no orders or too few (repeat) buyers, or the fit fails.
    """
    if calibration_end is None:
        rng = order_range(con, filters)
        if rng is None:
            raise ClvRefused("no_orders", "there are no orders to fit")
        calibration_end = rng[1]
    horizon = default_horizon(unit) if horizon is None else float(horizon)
    summary = customer_summary(con, calibration_end, unit, filters)
    fit = fit_models(summary, calibration_end, unit)
    scored = score_customers(summary, fit, forecast_days, horizon, annual_discount)
    if fit.churn_identified:
        # A not-identified fit's churn figures are withheld (clv_json), finite or not.
        _require_finite(fit, *(scored[c] for c in ("p_alive", "expected_purchases", "clv")))
    return ClvResult(fit, scored, horizon, forecast_days, annual_discount)


def _finite_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def clv_json(result: ClvResult) -> dict[str, Any]:
    """The `clv` block of the CLI and of `metrics --json`.

    `status` is "ok" or "not_identified" (docs/clv.md): when the data cannot pin the churn
    (dropout) part down, `alive_below_0_5` and `clv_total` are null, `reasons` says why, and
    `standard_errors` (of r, alpha, a, b; null when infinite) shows how loosely it is fixed."""
    fit = result.fit
    bg, gg, c = fit.bgnbd, fit.gamma_gamma, result.customers
    ident, ok = fit.identification, fit.churn_identified
    return {
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "loglik": bg.loglik},
        "gammagamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma},
        "customers": len(c),
        "repeat_buyers": int((c["frequency"] > 0).sum()),
        "alive_below_0_5": int((c["p_alive"] < 0.5).sum()) if ok else None,
        "clv_total": float(c["clv"].sum()) if ok else None,
        "status": "ok" if ok else "not_identified",
        "standard_errors": (
            {k: _finite_or_none(v) for k, v in ident.standard_errors.items()} if ident else None
        ),
        "reasons": [_json_reason(r) for r in ident.reasons] if ident else [],
    }


def _json_reason(reason: dict[str, object]) -> dict[str, object]:
    return {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in reason.items()}


# Refusal keys that mean "too little data" rather than "data that cannot pin the model down".
_INSUFFICIENT = ("no_orders", "too_few_customers", "too_few_repeat_buyers", "too_few_spend")


def clv_metrics(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """`clv_json` for the defaults under the filters' dimensions (the fit always uses the whole
    history: the period does not apply), or {"error": reason} when the fit is refused; never
    raises."""
    try:
        return clv_json(churn_clv(con, filters))
    except ClvRefused as e:
        status = "insufficient_data" if e.key in _INSUFFICIENT else "not_identified"
        return {"error": str(e), "status": status}
    except FitError as e:
        return {"error": str(e), "status": "not_identified"}
    except Exception as e:  # the metrics document must survive one feature's failure
        return {"error": f"{type(e).__name__}: {e}", "status": "error"}


# ----------------------------------------------------------------------------------- holdout


def default_holdout_split(
    con: db.Connection, filters: Filters = NO_FILTERS
) -> tuple[dt.date, dt.date] | None:
    """(calibration end, observation end): the last order date minus 26 weeks, but never more
    than a third of the history; None with less than three days of orders."""
    rng = order_range(con, filters)
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
    unit: str = DEFAULT_UNIT,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration cohort, actual vs BG/NBD, per unit.

    Same grid and columns as `clv_models.cumulative_tracking` (period, period_end,
    cumulative_actual, cumulative_predicted, in_calibration), computed from per-day counts
    aggregated in DuckDB instead of the transactions.
    """
    days = unit_days(unit)
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

    fit: ClvFit
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
    unit: str = DEFAULT_UNIT,
) -> Holdout:
    """Fit on the orders up to `calibration_end`, predict (calibration_end, observation_end].

    Defaults: `default_holdout_split`. Per customer the conditional expectation (eq. 10) over
    the holdout is compared with the purchases actually made; in aggregate, the cohort's
    cumulative repeat purchases (eq. 7) with the actual ones. Raises `ClvRefused` (also when
    the calibration fit is not identified: key holdout_not_identified).
    """
    split = default_holdout_split(con, filters)
    if split is None:
        raise ClvRefused("no_orders", "there are not enough orders for a holdout test")
    calibration_end = calibration_end or split[0]
    observation_end = observation_end or split[1]
    if observation_end <= calibration_end:
        raise ClvRefused(
            "bad_split",
            f"the holdout split {calibration_end} must be before the last order date "
            f"{observation_end}",
            split=calibration_end,
            last=observation_end,
        )
    summary = customer_summary(con, calibration_end, unit, filters, observation_end)
    fit = fit_models(summary, calibration_end, unit)
    if not fit.churn_identified:
        # Predictions of a fit that cannot pin churn down would test nothing.
        raise ClvRefused(
            "holdout_not_identified",
            f"the history up to the holdout split {calibration_end} cannot pin the churn model "
            "down, so the model cannot be tested on it",
            split=calibration_end,
        )
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    duration = summary["holdout_duration"]
    customers = summary[["frequency", "holdout_frequency"]].copy()
    with np.errstate(all="ignore"):  # non-finite predictions are refused just below
        customers["predicted"] = models.bgnbd_expected_purchases(fit.bgnbd, duration, x, t_x, T)
        tracking = cumulative_tracking(
            con, fit.bgnbd, calibration_end, observation_end, unit, filters
        )
    _require_finite(fit, customers["predicted"], tracking["cumulative_predicted"])
    by_frequency = models.holdout_comparison(summary, fit.bgnbd, MAX_FREQUENCY_BUCKET)
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


def call_list(con: db.Connection, result: ClvResult) -> pd.DataFrame:
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
    con: db.Connection, result: ClvResult, rows: int = NEXT_PURCHASE_ROWS
) -> pd.DataFrame:
    """The `rows` customers expected to buy again soonest: rank, customer_id, name, owner,
    region, last_purchase_date, p_alive, p_purchase and expected_purchases (next 90 days),
    next_purchase_days (median wait) and next_purchase_date."""
    c = result.customers.nsmallest(rows, "next_purchase_days", keep="all")  # NaN never wins
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


def parameter_table(fit: ClvFit) -> pd.DataFrame:
    """The fitted parameters as rows: model, parameter, value, standard_error (BG/NBD's r,
    alpha, a, b only; NaN where not computed or infinite)."""
    bg, gg = fit.bgnbd, fit.gamma_gamma
    se = fit.identification.standard_errors if fit.identification else {}
    rows = [
        ("BG/NBD", k, getattr(bg, k), se.get(k, math.nan))
        for k in ("r", "alpha", "a", "b", "loglik")
    ]
    rows += [("Gamma-Gamma", k, getattr(gg, k), math.nan) for k in ("p", "q", "gamma")]
    df = pd.DataFrame(rows, columns=["model", "parameter", "value", "standard_error"])
    df["standard_error"] = df["standard_error"].where(np.isfinite(df["standard_error"]))
    return df


def not_identified_facts(summary: dict[str, Any]) -> dict[str, str]:
    """The numbers of the page's technical note on a not-identified fit (a `clv_json` block):
    a, b and b's standard error to 3 significant digits ("∞" when infinite), the profile factor
    and the smaller of the two profile log-likelihood drops ("–" when the profile was not flat)."""
    bg, se = summary["bgnbd"], summary.get("standard_errors") or {}
    drops = [
        min(float(r["b_div"]), float(r["b_mul"]))
        for r in summary.get("reasons", [])
        if r.get("code") == "flat_likelihood"
    ]
    se_b = se.get("b")
    return {
        "a": f"{bg['a']:.3g}",
        "b": f"{bg['b']:.3g}",
        "se_b": "∞" if se_b is None else f"{se_b:.3g}",
        "factor": f"{models.PROFILE_FACTOR:g}",
        "drop": f"{drops[0]:.2g}" if drops else i18n.MISSING,
    }


@dataclass(frozen=True)
class ChurnClvReport:
    """Everything the Churn & CLV page shows about the current customers (small, picklable)."""

    summary: dict[str, Any]  # clv_json + expected_purchases, dates (as_of, default_split …)
    p_alive: pd.DataFrame
    call_list: pd.DataFrame
    pyramid: pd.DataFrame
    next_purchases: pd.DataFrame
    # The fitted parameters with standard errors (parameter_table), shown with the explanation
    # when the churn part is not identified (summary["status"]).
    parameters: pd.DataFrame = field(default_factory=pd.DataFrame)


def churn_clv_report(
    con: db.Connection, filters: Filters = NO_FILTERS, unit: str = DEFAULT_UNIT
) -> ChurnClvReport:
    """Fit on the whole history under the filters and prepare the page's tables."""
    result = churn_clv(con, filters, unit=unit)
    split = default_holdout_split(con, filters)
    ok = result.fit.churn_identified
    summary = clv_json(result) | {
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
