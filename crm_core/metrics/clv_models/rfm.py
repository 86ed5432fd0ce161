"""Transactions to the models' inputs: per-customer repeat frequency, recency, age and spend."""

from __future__ import annotations

from datetime import tzinfo

import pandas as pd

UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}


def _unit_days(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise ValueError(f"unit must be one of {sorted(UNIT_DAYS)}, got {unit!r}") from None


def _local_days(dates: pd.Series) -> pd.Series:
    """Calendar days (midnight, tz-naive wall clock) of datetimes, tz-aware or not."""
    days = pd.to_datetime(dates).dt.normalize()
    # Day counts are taken on local wall-clock dates, so a DST change cannot make a day 23 h.
    if days.dt.tz is not None:
        days = days.dt.tz_localize(None)
    return days


def _as_day(value: object, tz: tzinfo | None) -> pd.Timestamp:
    """A cut-off date as a tz-naive local midnight, in the order dates' time zone ``tz``."""
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if pd.isna(ts):
        raise ValueError(f"invalid date: {value!r}")
    if ts.tzinfo is not None:
        # An aware cut-off is moved to the order dates' zone (naive orders: taken as UTC).
        ts = ts.tz_convert(tz if tz is not None else "UTC").tz_localize(None)
    return ts.normalize()


def _daily_purchases(transactions: pd.DataFrame) -> tuple[pd.DataFrame, tzinfo | None]:
    """One row per customer and purchase day (same-day orders merged, amounts summed)."""
    missing = {"customer_id", "order_date", "amount"} - set(transactions.columns)
    if missing:
        raise ValueError(f"transactions lack column(s): {sorted(missing)}")
    if transactions["customer_id"].isna().any():
        raise ValueError("transactions have missing customer_id values")
    dates = pd.to_datetime(transactions["order_date"])
    if dates.isna().any():
        raise ValueError("transactions have missing or unparseable order_date values")
    amounts = pd.to_numeric(transactions["amount"]).astype("float64")
    if amounts.isna().any():
        raise ValueError("transactions have missing amount values")
    frame = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"].to_numpy(),
            "day": _local_days(dates).to_numpy(),
            "amount": amounts.to_numpy(),
        }
    )
    # Fader & Hardie count a purchase day, not an order: several orders on one day are one
    # transaction, otherwise split baskets would inflate the frequency.
    daily = frame.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()
    return daily, dates.dt.tz


def _days(delta: pd.Series) -> pd.Series:
    """Whole days of a timedelta Series, as float (dates are midnights, so this is exact)."""
    return delta.dt.days.astype("float64")


def _days_scalar(later: pd.Timestamp, earlier: pd.Timestamp) -> float:
    return float((later - earlier).days)


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: object,
    unit: str = "week",
    observation_end: object = None,
) -> pd.DataFrame:
    """Per-customer repeat frequency, recency, age and repeat spend: the inputs of BG/NBD and CLV.

    ``transactions`` has columns ``customer_id``, ``order_date`` and ``amount``. Orders of one
    customer on the same calendar day (local to a tz-aware ``order_date``) are merged into one
    purchase (amounts summed). Only
    customers whose first purchase is on or before ``calibration_end`` appear; purchases on the
    ``calibration_end`` day belong to the calibration period. Times are in ``unit`` ("week" =
    days / 7, "day"), all measured from the customer's first purchase day:

    - ``frequency`` (x): repeat purchases in calibration = distinct purchase days - 1;
    - ``recency`` (t_x): first purchase to last calibration purchase (0 when x = 0);
    - ``T``: first purchase to ``calibration_end``;
    - ``monetary_value``: mean spend of the repeat purchases (the first purchase is excluded,
      as in the Gamma-Gamma model); 0 when x = 0;
    - with ``observation_end``: ``holdout_frequency`` (purchase days in
      (calibration_end, observation_end]) and ``holdout_duration`` (its length in units).

    The result is indexed by ``customer_id`` and sorted by it.
    """
    unit_days = _unit_days(unit)
    daily, tz = _daily_purchases(transactions)
    cal_end = _as_day(calibration_end, tz)
    obs_end = None
    if observation_end is not None:
        obs_end = _as_day(observation_end, tz)
        if obs_end <= cal_end:
            raise ValueError("observation_end must be after calibration_end")

    grouped = daily.groupby("customer_id", sort=True)["day"]
    first = grouped.min()
    first = first[first <= cal_end]
    daily = daily[daily["customer_id"].isin(first.index)]

    cal = daily[daily["day"] <= cal_end]
    cal_days = cal.groupby("customer_id", sort=True)["day"]
    frequency = (cal_days.count() - 1).reindex(first.index).astype("int64")
    last = cal_days.max().reindex(first.index)

    first_of_row = cal["customer_id"].map(first)
    repeats = cal[cal["day"] > first_of_row]
    monetary = repeats.groupby("customer_id")["amount"].mean().reindex(first.index).fillna(0.0)

    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": _days(last - first) / unit_days,
            "T": _days(cal_end - first) / unit_days,
            "monetary_value": monetary.astype("float64"),
        }
    )
    if obs_end is not None:
        hold = daily[(daily["day"] > cal_end) & (daily["day"] <= obs_end)]
        counts = hold.groupby("customer_id")["day"].count()
        out["holdout_frequency"] = counts.reindex(first.index).fillna(0).astype("int64")
        out["holdout_duration"] = _days_scalar(obs_end, cal_end) / unit_days
    out.index.name = "customer_id"
    return out
