"""BG/NBD validation views: holdout by frequency, cumulative tracking (the paper's Figs 3, 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.metrics.clv_models.bgnbd import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_unconditional_expected,
)
from crm_core.metrics.clv_models.fitting import FloatArray
from crm_core.metrics.clv_models.rfm import (
    _as_day,
    _daily_purchases,
    _days,
    _days_scalar,
    _local_days,
    _unit_days,
)


def holdout_comparison(
    summary_with_holdout: pd.DataFrame,
    params: BGNBDParams,
    max_frequency: int = 7,
    predicted: FloatArray | None = None,
) -> pd.DataFrame:
    """Actual vs predicted holdout purchases per calibration frequency (conditional expectations).

    Customers are grouped by calibration frequency 0, 1, ..., ``max_frequency - 1`` and
    ``max_frequency``+; per group the mean actual ``holdout_frequency`` is compared with the mean
    of eq. 10 over ``holdout_duration`` (Fader, Hardie & Lee 2005, Figure 4). The input is an
    ``rfm_summary`` made with ``observation_end``; ``predicted`` is eq. 10 per customer when the
    caller has it already (else computed here).
    """
    needed = {"frequency", "recency", "T", "holdout_frequency", "holdout_duration"}
    missing = needed - set(summary_with_holdout.columns)
    if missing:
        raise ValueError(f"summary lacks column(s) {sorted(missing)}; pass observation_end")
    s = summary_with_holdout
    if predicted is None:
        predicted = bgnbd_expected_purchases(
            params, s["holdout_duration"], s["frequency"], s["recency"], s["T"]
        )
    bucket = np.minimum(s["frequency"].to_numpy(dtype=np.int64), max_frequency)
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    frame = pd.DataFrame(
        {
            "bucket": bucket,
            "actual": s["holdout_frequency"].to_numpy(dtype=np.float64),
            "predicted": predicted,
        }
    )
    out = frame.groupby("bucket").agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    out = out.reindex(range(max_frequency + 1))
    out["n_customers"] = out["n_customers"].fillna(0).astype("int64")
    out.index = pd.Index(labels, name="frequency")
    return out


def cumulative_tracking(
    transactions: pd.DataFrame,
    params: BGNBDParams,
    first_purchase_dates: pd.Series | None,
    calibration_end: object,
    observation_end: object,
    unit: str = "week",
) -> pd.DataFrame:
    """Cumulative repeat purchases of the cohort, actual vs BG/NBD, per unit (paper's Figure 3).

    ``first_purchase_dates`` (indexed by customer_id) defines the cohort and each customer's
    trial day t0_i; when None it is every customer whose first purchase is on or before
    ``calibration_end``. At each grid date D the prediction is sum_i E[X((D - t0_i) / unit)]
    (eq. 7, zero before the trial) and the actual value counts the cohort's purchase days after
    their trial day, up to and including D. The grid is anchored on ``calibration_end`` (period
    0) and steps one unit back to the first trial and forward to ``observation_end``; the
    returned ``period_end`` values are local calendar dates.
    """
    unit_days = _unit_days(unit)
    daily, tz = _daily_purchases(transactions)
    cal_end = _as_day(calibration_end, tz)
    obs_end = _as_day(observation_end, tz)
    if obs_end < cal_end:
        raise ValueError("observation_end must not be before calibration_end")

    if first_purchase_dates is None:
        first = daily.groupby("customer_id")["day"].min()
        first = first[first <= cal_end]
    else:
        first = pd.to_datetime(first_purchase_dates)
        if first.dt.tz is not None and tz is not None:
            first = first.dt.tz_convert(tz)
        first = _local_days(first)
    if first.empty:
        raise ValueError("no customers in the cohort")

    # Integer day offsets relative to calibration_end keep the grid arithmetic exact.
    first_off = _days(first - cal_end).to_numpy(dtype=np.float64)
    in_cohort = daily["customer_id"].isin(first.index)
    daily = daily[in_cohort]
    trial = daily["customer_id"].map(first)
    repeat_days = daily.loc[(daily["day"] > trial) & (daily["day"] <= obs_end), "day"]
    repeat_off = np.sort(_days(repeat_days - cal_end).to_numpy(dtype=np.float64))

    n_back = int(np.floor(-first_off.min() / unit_days)) if first_off.min() < 0 else 0
    n_fwd = int(np.floor(_days_scalar(obs_end, cal_end) / unit_days))
    periods = np.arange(-n_back, n_fwd + 1)
    grid_off = periods * unit_days

    actual = np.searchsorted(repeat_off, grid_off, side="right")
    # Customers share trial days, so evaluate eq. 7 once per (grid date, distinct trial day).
    trial_days, counts = np.unique(first_off, return_counts=True)
    lag = np.maximum(grid_off[:, None] - trial_days[None, :], 0.0) / unit_days
    expected = bgnbd_unconditional_expected(params, lag)
    predicted = expected @ counts.astype(np.float64)

    return pd.DataFrame(
        {
            "period": periods,
            "period_end": cal_end + pd.to_timedelta(grid_off, unit="D"),
            "cumulative_actual": actual.astype(np.int64),
            "cumulative_predicted": predicted,
            "in_calibration": periods <= 0,
        }
    )
