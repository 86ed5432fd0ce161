"""Churn risk and CLV: fit BG/NBD + Gamma-Gamma on the orders, score customers, the JSON block."""

from __future__ import annotations

import datetime as dt
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.engine import db, facts
from crm_core.metrics import clv_models as models
from crm_core.metrics.clv_models import BGNBDIdentification, BGNBDParams, FitError, GammaGammaParams
from crm_core.metrics.clv_models.fitting import optimiser_threads
from crm_core.metrics.filters import NO_FILTERS, Filters

UNITS = tuple(models.UNIT_DAYS)  # ("day", "week"): the time unit of x, t_x, T and the horizons
DEFAULT_UNIT = "week"
FORECAST_DAYS = 90  # "expected purchases in the next 90 days"
HORIZON_WEEKS = 52  # CLV horizon: the next year of purchases
ANNUAL_DISCOUNT = 0.10  # a 10 % cost of capital, compounded per unit
CLV_STEP_DAYS = 7  # CLV sums weekly slices whatever the unit, so day and week agree
NEXT_PURCHASE_MAX_DAYS = 5 * 365  # a median wait beyond five years is shown as "not expected"


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


def _on_facts(con: db.Connection, name: str) -> str:
    """`name`, read from the fact layer's days, or `name`_lines (the same rows from the order
    lines) for a DuckDB meeting snapshot frozen before the fact layer existed."""
    return f"{name}_lines" if db.is_duckdb(con) and not facts.has_fact_layer(con) else name


def order_range(
    con: db.Connection, filters: Filters = NO_FILTERS
) -> tuple[dt.date, dt.date] | None:
    """First and last day with a non-return order under the filters, or None without orders."""
    first, last = db.query_rows(con, _on_facts(con, "clv_order_range"), **filters.params())[0]
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
    params = {
        "calibration_end": calibration_end,
        "observation_end": observation_end or calibration_end,
        **filters.params(),
    }
    one_pass = facts.has_day_layer(con)
    raw = db.query_arrow(
        con, "clv_summary_one_pass" if one_pass else _on_facts(con, "clv_summary"), **params
    )
    if one_pass and raw.column("repeat_amount_e4").null_count:
        # A repeat total beyond a BIGINT of ten-thousandths (about 9.2e14): the two-pass query.
        one_pass = False
        raw = db.query_arrow(con, _on_facts(con, "clv_summary"), **params)
    # Sorted here, not in SQL: DuckDB's ORDER BY on a million text ids was 2-4x slower. The
    # columns are read as arrays, put in order and framed once (sorting a frame moved every
    # column through pandas, twice the time).
    ids = raw.column("customer_id")
    order = _id_order(ids)

    def column(name: str, dtype: Any) -> np.ndarray:
        return raw.column(name).to_numpy()[order].astype(dtype, copy=False)

    frequency = column("frequency", np.int64)
    if one_pass:
        monetary = _repeat_mean(column("repeat_amount_e4", np.int64), frequency)
    else:
        monetary = column("monetary_value", np.float64)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": column("recency_days", np.float64) / days,
            "T": column("age_days", np.float64) / days,
            "monetary_value": monetary,
            # as DuckDB's DataFrames hold dates
            "first_purchase_date": column("first_purchase_date", "datetime64[us]"),
            "last_purchase_date": column("last_purchase_date", "datetime64[us]"),
            "calibration_revenue": column("calibration_revenue", np.float64),
        },
        index=pd.Index(pd.array(ids.take(order), dtype="str"), name="customer_id"),
        copy=False,  # the arrays are fresh; stacking them into one block took 0.26 s at 1 M
    )
    if observation_end is not None:
        out["holdout_frequency"] = column("holdout_frequency", np.int64)
        out["holdout_duration"] = (observation_end - calibration_end).days / days
    return out


def _id_order(ids: pa.ChunkedArray) -> np.ndarray:
    """Positions that sort `ids` as DataFrame.sort_index does (ascending, missing ids last;
    stable)."""
    return np.asarray(pc.array_sort_indices(ids, null_placement="at_end"), dtype=np.intp)


def _repeat_mean(total_e4: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """clv_summary.sql's monetary_value from clv_summary_one_pass.sql's exact repeat totals:
    DuckDB's avg of a DECIMAL divides its exact integer sum by the count times 10^scale in long
    double and rounds that to a double; the same operations here give the same bits (0 without
    repeat purchases, as the SQL's coalesce)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total_e4.astype(np.longdouble) / (
            frequency.astype(np.longdouble) * np.longdouble(10_000)
        )
    return np.where(frequency > 0, mean.astype(np.float64), 0.0)


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


def _columns(frame: pd.DataFrame, *names: str) -> list[np.ndarray]:
    """The named columns as numpy arrays (see fit_models)."""
    return [frame[c].to_numpy() for c in names]


def fit_models(summary: pd.DataFrame, calibration_end: dt.date, unit: str) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat buyers with positive spend.

    Raises `ClvRefused` (a `FitError`) naming the reason when the data cannot support a fit.
    """
    # Arrays, not Series: numpy asking a Series for array attributes it lacks makes pandas look
    # each name up among the index labels, which hashes the million customer ids (~0.5 s).
    x, m, t_x, T = _columns(summary, "frequency", "monetary_value", "recency", "T")
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
    # The two models share no parameter: Gamma-Gamma is fitted in a second thread meanwhile
    # (numpy and scipy's special functions release the GIL on arrays). The same numbers; at 1 M
    # customers 0.93 s instead of 1.32 s of wall time for the two fits, 10 % more CPU. Either
    # failing refuses the whole fit, so a failed Gamma-Gamma stops BG/NBD at its next step; and
    # where both fail, Gamma-Gamma's reason is the one given, whichever failed first.
    stop = threading.Event()
    with optimiser_threads(), ThreadPoolExecutor(max_workers=1) as pool:
        spend_fit = pool.submit(_fit_spend, x, m, stop)
        try:
            try:
                # BG/NBD's likelihood is a function of the history (x, t_x, T) alone: fitted on
                # the distinct histories, each weighted by its customers (they share histories).
                (xu, txu, Tu), weights, _ = models.distinct_rows(x, t_x, T)
                bg = models.fit_bgnbd(xu, txu, Tu, weights, stop=stop)
            except (FitError, models.FitStopped):
                spend_fit.result()  # raises Gamma-Gamma's FitError, which set `stop`
                raise
            gg = spend_fit.result()
        except FitError as e:
            raise ClvRefused("not_identified", f"the fit failed: {e}", detail=str(e)) from e
        finally:
            # A failed fit's future holds its error, whose traceback holds this frame: without
            # this, that cycle keeps the customers' arrays (170 MB at 1 M) until a gc pass.
            del spend_fit
    ident = models.bgnbd_identification(bg, xu, txu, Tu, weights)
    return ClvFit(bg, gg, calibration_end, unit, ident)


def _fit_spend(x: np.ndarray, m: np.ndarray, stop: threading.Event) -> GammaGammaParams:
    """Gamma-Gamma on the repeat buyers with positive spend; sets `stop` when it fails."""
    try:
        return models.fit_gamma_gamma(x, m)
    except BaseException:
        stop.set()
        raise


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
    x, t_x, T, m = _columns(out, "frequency", "recency", "T", "monetary_value")
    # Every figure but the spend is a function of the history (x, t_x, T): evaluated once per
    # distinct history (the same numbers, element by element) and handed to its customers.
    (xu, txu, Tu), _, of = models.distinct_rows(x, t_x, T)
    alive = models.bgnbd_p_alive(fit.bgnbd, xu, txu, Tu)
    out["p_alive"] = alive[of]
    out["expected_purchases"] = models.bgnbd_expected_purchases(fit.bgnbd, t, xu, txu, Tu)[of]
    out["p_purchase"] = p_purchase_within(fit, t, xu, Tu, alive)[of]
    wait = median_units_to_next_purchase(fit, xu, Tu, alive) * days
    out["next_purchase_days"] = np.where(wait <= NEXT_PURCHASE_MAX_DAYS, wait, np.nan)[of]
    spend = models.gamma_gamma_expected_spend(fit.gamma_gamma, x, m)
    out["expected_spend"] = spend
    step = min(CLV_STEP_DAYS / days, horizon) if horizon > 0 else 1.0
    rate = discount_per_unit(annual_discount, unit)
    purchases = models.discounted_purchases(fit.bgnbd, xu, txu, Tu, horizon, rate, step)
    out["clv"] = purchases[of] * spend  # = models.clv(...) per customer


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
