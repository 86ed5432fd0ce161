"""Monthly forecasts (revenue, new customers, complaints) with ETS intervals and a backtest."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_core.engine import db
from crm_core.metrics import complaints, overview
from crm_core.metrics.filters import NO_FILTERS, Filters

METRICS = ("revenue", "new_customers", "complaints")
MIN_MONTHS = 12  # fewer complete months: no forecast, a plain message instead
SEASONAL_MONTHS = 24  # a yearly season is fitted only from two full years of months
SEASON = 12
MAX_HORIZON = 12
DEFAULT_HORIZON = 6
BACKTEST_ORIGINS = 6  # rolling origins: the last 6 complete months each start a forecast
LEVELS = (80, 95)


class InsufficientHistory(ValueError):
    """Fewer than MIN_MONTHS complete months to fit on."""


@dataclass(frozen=True)
class Series:
    """A metric's monthly history: `values` indexed by month start (complete months only, zero
    filled), and the month left out because the data end inside it (None when none)."""

    metric: str
    values: pd.Series
    partial_month: dt.date | None


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _is_month_end(d: dt.date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _bounds(con: db.Connection, metric: str, f: Filters) -> tuple[dt.date, dt.date] | None:
    # The data's own first and last day for the metric, narrowed by the filters' period.
    if metric == "complaints":
        cov = complaints.coverage(con)
        if not cov["complaints"]:
            return None
        first = pd.Timestamp(cov["first_received_at"]).date()
        last = pd.Timestamp(cov["last_received_at"]).date()
    else:
        rng = overview.data_range(con)
        if rng is None:
            return None
        first, last = rng
    # A model needs years of months: the period's start does not cut the history.
    start = first
    end = min(last, f.end) if f.end else last
    return (start, end) if start <= end else None


def monthly_series(con: db.Connection, metric: str, filters: Filters = NO_FILTERS) -> Series:
    """The metric per calendar month under the filters, from the first month of the data to the
    filters' period end (or the data end): dimensions and scope filter the rows; the period's
    start does not shorten the history. Revenue and new customers as the Overview's monthly
    chart counts them (overview.monthly_trend), complaints as received
    (complaints.monthly_counts). Months without any row count 0. A last month that the data (or
    the period end) end inside is left out and returned as partial_month: a part-month would
    read as a drop."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    bounds = _bounds(con, metric, filters)
    empty = pd.Series(dtype=float)
    if bounds is None:
        return Series(metric, empty, None)
    start, end = bounds
    period = overview.Period(start, end)
    if metric == "complaints":
        counts = complaints.monthly_counts(con, filters, period)
        raw = pd.Series({pd.Timestamp(f"{k}-01"): float(v) for k, v in counts.items()}, dtype=float)
    else:
        df = overview.monthly_trend(con, period, filters)
        raw = pd.Series(
            df[metric].astype(float).to_numpy(), index=pd.to_datetime(df["month"]), dtype=float
        )
    first = _month_start(start)
    last = _month_start(end)
    partial = None if _is_month_end(end) else last
    if partial is not None:
        last = _month_start(last - dt.timedelta(days=1))
    if first > last:
        return Series(metric, empty, partial)
    index = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    return Series(metric, raw.reindex(index, fill_value=0.0).astype(float), partial)


# --------------------------------------------------------------------------- model


def model_name(n: int) -> str:
    """The ETS form fitted to n months: additive errors, damped additive trend, and an additive
    yearly season from SEASONAL_MONTHS months on (ETS(A,Ad,A), else ETS(A,Ad,N)). All-additive
    forms have closed-form intervals, so results are the same on every run."""
    return "ETS(A,Ad,A)" if n >= SEASONAL_MONTHS else "ETS(A,Ad,N)"


def _fit_predict(y: np.ndarray, horizon: int) -> pd.DataFrame:
    # Columns forecast, lower80, upper80, lower95, upper95 for the next `horizon` months.
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = len(y) >= SEASONAL_MONTHS
    index = pd.date_range("2000-01-01", periods=len(y), freq="MS")  # positions only
    series = pd.Series(np.asarray(y, dtype=float), index=index)
    if float(np.ptp(series.to_numpy())) == 0.0:
        # A flat history (all zero complaints, say): the optimiser has nothing to fit.
        v = float(series.iloc[-1])
        return pd.DataFrame(
            {c: [v] * horizon for c in ("forecast", "lower80", "upper80", "lower95", "upper95")}
        )
    model = ETSModel(
        series,
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=SEASON if seasonal else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes; the backtest judges the fit
        fit = model.fit(disp=False)
        pred = fit.get_prediction(start=len(y), end=len(y) + horizon - 1)
        out = pd.DataFrame({"forecast": np.asarray(pred.predicted_mean, dtype=float)})
        for level in LEVELS:
            frame = pred.summary_frame(alpha=1 - level / 100)
            out[f"lower{level}"] = frame["pi_lower"].to_numpy(dtype=float)
            out[f"upper{level}"] = frame["pi_upper"].to_numpy(dtype=float)
    # Money and counts are not negative: cut the forecast and bands at 0 (keeps them nested).
    return out.clip(lower=0.0)


def mape(actual: list[float], predicted: list[float]) -> float | None:
    """Mean absolute percentage error in percent, over the pairs whose actual is not 0 (a zero
    month has no percentage error); None when no pair is left."""
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a != 0]
    if not pairs:
        return None
    return 100.0 * sum(abs(a - p) / abs(a) for a, p in pairs) / len(pairs)


def backtest(y: np.ndarray, horizon: int, origins: int = BACKTEST_ORIGINS) -> dict[str, Any]:
    """Rolling-origin backtest over the last `origins` months: from each origin o (fit on the
    months before o, at least MIN_MONTHS of them) forecast 1..horizon months and score those
    that are in the history. The seasonal-naive forecast of month t is the same month a year
    earlier, y[t-12] (always known: every origin has 12 months behind it). Keys: mape,
    naive_mape (percent, zero actuals skipped), origins, points, naive."""
    n = len(y)
    actual: list[float] = []
    model: list[float] = []
    naive: list[float] = []
    used = 0
    for o in range(max(n - origins, MIN_MONTHS), n):
        steps = min(horizon, n - o)
        pred = _fit_predict(y[:o], steps)["forecast"].to_numpy()
        used += 1
        for j in range(steps):
            actual.append(float(y[o + j]))
            model.append(float(pred[j]))
            naive.append(float(y[o + j - SEASON]))
    m, nv = mape(actual, model), mape(actual, naive)
    return {
        "mape": None if m is None else round(m, 2),
        "naive_mape": None if nv is None else round(nv, 2),
        "origins": used,
        "points": len(actual),
        "naive": "seasonal_naive",
    }


def _month(ts: Any) -> str:
    return f"{pd.Timestamp(ts):%Y-%m}"


def _r(x: float) -> float:
    return round(float(x), 2)


def forecast_series(s: Series, horizon: int = DEFAULT_HORIZON) -> dict[str, Any]:
    """The forecast of a monthly series: see forecast()."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"months must be 1..{MAX_HORIZON}")
    y = s.values.to_numpy(dtype=float)
    n = len(y)
    head: dict[str, Any] = {
        "metric": s.metric,
        "months": horizon,
        "partial_month": None if s.partial_month is None else _month(s.partial_month),
        "history": [
            {"month": _month(m), "value": _r(v)} for m, v in s.values.items() if not math.isnan(v)
        ],
    }
    if n < MIN_MONTHS:
        return {
            **head,
            "status": "insufficient_history",
            "error": f"{n} complete months of {s.metric}; a forecast needs at least {MIN_MONTHS}",
        }
    pred = _fit_predict(y, horizon)
    months = pd.date_range(s.values.index[-1], periods=horizon + 1, freq="MS")[1:]
    points = [
        {"month": _month(m), **{k: _r(v) for k, v in row.items()}}
        for m, row in zip(months, pred.to_dict("records"), strict=True)
    ]
    # The latest complete month against the forecast made a month earlier.
    prior = _fit_predict(y[:-1], 1).iloc[0] if n - 1 >= MIN_MONTHS else None
    latest = None
    alert = False
    if prior is not None:
        actual = float(y[-1])
        alert = not prior["lower95"] <= actual <= prior["upper95"]
        latest = {
            "month": _month(s.values.index[-1]),
            "actual": _r(actual),
            "forecast": _r(prior["forecast"]),
            "lower95": _r(prior["lower95"]),
            "upper95": _r(prior["upper95"]),
        }
    return {
        **head,
        "status": "ok",
        "model": model_name(n),
        "seasonal": n >= SEASONAL_MONTHS,
        "points": points,
        "backtest": backtest(y, horizon),
        "alert": alert,
        "latest": latest,
    }


def forecast(
    con: db.Connection, metric: str, months: int = DEFAULT_HORIZON, filters: Filters = NO_FILTERS
) -> dict[str, Any]:
    """The next `months` (1..MAX_HORIZON) months of `metric` (METRICS) after the last complete
    month, under the filters. Keys: metric, months, partial_month ("YYYY-MM" left out, or None),
    history [{month, value}], status ("ok" / "insufficient_history"), and when ok: model,
    seasonal (whether the model has a yearly season),
    points [{month, forecast, lower80, upper80, lower95, upper95}], backtest {mape, naive_mape,
    origins, points, naive}, alert (the latest complete month fell outside the 95 % interval of
    the forecast made a month before it) and latest {month, actual, forecast, lower95, upper95};
    when not: error (a plain sentence)."""
    return forecast_series(monthly_series(con, metric, filters), months)
