"""Drawing helpers: the calendar, times of day, random picks and the export's text formats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.ingest.demo.company import N_MONTHS, SEASON


@dataclass
class _Ctx:
    rng: np.random.Generator
    start: dt.date
    horizon: float  # days from start to the end of end_date (exclusive)
    bounds: np.ndarray  # month boundaries in days from start, N_MONTHS + 1
    cal_month: np.ndarray  # calendar month (1-12) of each window month


def _pick(rng: np.random.Generator, n: int, values: tuple | np.ndarray, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.asarray(values)[rng.choice(len(p), size=n, p=p / p.sum())]


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) weight matrix."""
    c = probs.cumsum(axis=1)
    c /= c[:, -1:]
    return (rng.random(len(probs))[:, None] > c).sum(axis=1)


def _tod(rng: np.random.Generator, n: int, first_hour: int, weights) -> np.ndarray:
    """Time of day as a fraction of a day, whole minutes, from an hourly profile."""
    hours = first_hour + _pick(rng, n, np.arange(len(weights)), weights)
    return (hours * 60 + rng.integers(0, 60, n)) / 1440.0


# Dealers are busiest late morning and after work; complaints come in until late evening.
STORE_PROFILE = (9, (5, 9, 10, 7, 7, 9, 10, 10, 9, 8, 7, 5))
COMPLAINT_PROFILE = (8, (4, 8, 10, 9, 6, 7, 9, 9, 8, 7, 7, 6, 5, 3))
LEAD_PROFILE = (8, (3, 6, 8, 8, 6, 6, 7, 7, 7, 7, 8, 9, 9, 7, 4))
CALL_PROFILE = (9, (8, 10, 9, 5, 7, 9, 9, 9, 8, 7, 6, 3))


def _on_day(rng: np.random.Generator, t: np.ndarray, profile) -> np.ndarray:
    return np.floor(t) + _tod(rng, len(t), *profile)


def _business(
    rng: np.random.Generator, t: np.ndarray, open_h: float = 8.5, close_h: float = 21.0
) -> np.ndarray:
    """Push a derived time that lands at night to the next opening (staff do not work at 3 am)."""
    day = np.floor(t)
    frac = t - day
    jitter = rng.uniform(0, 1.5 / 24, len(t))
    t = np.where(frac < open_h / 24, day + open_h / 24 + jitter, t)
    return np.where(frac >= close_h / 24, day + 1 + open_h / 24 + jitter, t)


def _minute(t: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(t, dtype=float) * 1440.0) / 1440.0


def _arrival_days(ctx: _Ctx, n: int, growth: float) -> np.ndarray:
    """Whole days drawn month by month: seasonality times a gently growing business."""
    w = SEASON[ctx.cal_month - 1] * (1 + growth * np.arange(N_MONTHS) / 12)
    m = ctx.rng.choice(N_MONTHS, size=n, p=w / w.sum())
    length = ctx.bounds[m + 1] - ctx.bounds[m]
    return ctx.bounds[m] + np.floor(ctx.rng.random(n) * length)


def _fmt_ts(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Days since start -> '2024/1/31 14:05' (no zero padding, like a zh-CN Excel export)."""
    days = np.asarray(days, dtype=float)
    ok = ~np.isnan(days)
    mins = np.zeros(len(days), dtype=np.int64)
    mins[ok] = np.round(days[ok] * 1440.0).astype(np.int64)
    ts = pd.DatetimeIndex(np.datetime64(start, "m") + mins.astype("timedelta64[m]"))
    s = (
        ts.year.astype(str)
        + "/"
        + ts.month.astype(str)
        + "/"
        + ts.day.astype(str)
        + " "
        + ts.hour.astype(str)
        + ":"
        + ts.minute.astype(str).str.zfill(2)
    )
    out = np.asarray(s, dtype=object)
    out[~ok] = ""
    return out


def _fmt_money(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    out = np.full(len(x), "", dtype=object)
    out[ok] = np.char.mod("%.2f", np.round(x[ok], 2) + 0.0)
    out[out == "-0.00"] = "0.00"
    return out


def _fmt_int(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    out = np.full(len(x), "", dtype=object)
    out[ok] = np.char.mod("%d", x[ok].astype(np.int64))
    return out


def _draw(
    rng: np.random.Generator, k: int, catalogue: tuple, only: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k items from a (name, low, high, weight) catalogue: names and a uniform price in band."""
    idx = np.arange(len(catalogue)) if only is None else only
    item = idx[_pick(rng, k, np.arange(len(idx)), [catalogue[i][3] for i in idx])]
    lo = np.array([catalogue[i][1] for i in item], dtype=float)
    hi = np.array([catalogue[i][2] for i in item], dtype=float)
    names = np.array([catalogue[i][0] for i in item], dtype=object)
    return names, rng.uniform(lo, hi)


def _ids(prefix: str, width: int, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _context(seed: int, end_date: dt.date) -> _Ctx:
    end_month = np.datetime64(end_date, "M")
    months = end_month - (N_MONTHS - 1) + np.arange(N_MONTHS + 1)
    start = months[0].astype("datetime64[D]").item()
    bounds = (months.astype("datetime64[D]") - np.datetime64(start, "D")).astype(float)
    horizon = float((end_date - start).days + 1)
    cal_month = months[:-1].astype(int) % 12 + 1
    return _Ctx(np.random.default_rng(seed), start, horizon, bounds, cal_month)
