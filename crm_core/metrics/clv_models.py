"""Churn and customer-lifetime-value models: BG/NBD purchase counts and Gamma-Gamma spend."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special

__all__ = [
    "BGNBDIdentification",
    "BGNBDParams",
    "FitError",
    "GammaGammaParams",
    "bgnbd_expected_purchases",
    "bgnbd_identification",
    "bgnbd_p_alive",
    "bgnbd_unconditional_expected",
    "clv",
    "cumulative_tracking",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_expected_spend",
    "holdout_comparison",
    "rfm_summary",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}

# Below these counts the likelihood surface is too flat for the parameters to mean anything.
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10
MIN_SPEND_CUSTOMERS = 10

# Optimisation runs on log-parameters; this box keeps exp() finite. A solution on the edge of
# the box means the data push a parameter to 0 or infinity, i.e. the model is not identified.
_LOG_BOUND = 18.0

# Identification of a BG/NBD fit (docs/clv.md, "When the data cannot pin the churn model down").
# Standard errors come from the observed information: the Hessian of the negative
# log-likelihood at the optimum, in log-parameters (where the optimiser works), by central
# differences of the analytic gradient. A standard error of log(theta) is about the relative
# standard error of theta; above MAX_LOG_SE = 1 the 95 % interval spans a factor of
# e^(2 x 1.96) = 50, i.e. the data do not say even the order of magnitude.
MAX_LOG_SE = 1.0
MAX_HESSIAN_CONDITION = 1e10  # beyond this the information matrix is numerically singular
_HESSIAN_STEP = 1e-4  # central-difference step in log-parameters
# Profile check of the dropout parameter b: refit r, alpha, a with b fixed at b / 10 and b x 10.
# When the log-likelihood falls by less than PROFILE_MIN_DROP at either end, a tenfold change of
# b is as good a description of the data: the likelihood is flat in b.
PROFILE_FACTOR = 10.0
PROFILE_MIN_DROP = 1.0
# The profile costs two refits (about the fit's own time): it is skipped when the information
# already pins b down tightly, se(log b) <= 0.25, where the quadratic approximation puts b / 10 and
# b x 10 at ln(10)^2 / (2 x 0.25^2) = 42 log-likelihood units below the optimum.
PROFILE_SKIP_LOG_SE = 0.25


class FitError(ValueError):
    """The data cannot support a fit (too few customers or buyers, or no convergence)."""


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    converged: bool
    iterations: int
    # True when a parameter ended on the edge of the optimiser's box (log-parameter +-18):
    # the data push it to 0 or infinity (see bgnbd_identification).
    at_bound: bool = False


@dataclass(frozen=True)
class BGNBDIdentification:
    """Whether the data pin a BG/NBD fit down: status "ok" or "not_identified", the standard
    errors (natural scale, delta method: se(theta) = theta x se(log theta); inf when the
    information matrix is singular), the standard errors of the log-parameters, the condition
    number of the information matrix, the profile-likelihood drops at b / 10 and b x 10 (keys
    b_div, b_mul; empty when the profile was skipped), and the
    reasons (codes: at_bound, singular_information, large_standard_error, flat_likelihood)."""

    status: str
    standard_errors: dict[str, float]
    log_standard_errors: dict[str, float]
    condition_number: float
    profile_drops: dict[str, float]
    reasons: tuple[dict[str, object], ...]

    @property
    def identified(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters: spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    gamma: float
    loglik: float
    converged: bool


# --------------------------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Input checks shared by the models
# --------------------------------------------------------------------------------------------


def _float_arrays(*arrays: ArrayLike) -> list[FloatArray]:
    return [np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays)]


def _check_rft(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or not np.array_equal(x, np.round(x)):
        raise ValueError("x (repeat purchases) must be non-negative integers")
    if (t_x < 0).any() or (t_x > T * (1 + 1e-12) + 1e-12).any():
        raise ValueError("need 0 <= t_x <= T for every customer")
    if ((x == 0) & (t_x != 0)).any():
        raise ValueError("t_x must be 0 for customers without repeat purchases")


def _minimize(
    fun: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    what: str,
    allow_bound: bool = False,
) -> tuple[FloatArray, optimize.OptimizeResult]:
    """L-BFGS-B on log-parameters with an analytic gradient; FitError unless it converges (or,
    unless `allow_bound`, when a parameter ends on the edge of the box)."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    opts = {"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9}
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            fun, start, jac=True, method="L-BFGS-B", bounds=bounds, options=opts
        )
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise FitError(f"{what}: optimiser produced non-finite values")
    # L-BFGS-B can stop with a line-search warning when it is already at the optimum to machine
    # precision; accept that case by checking the gradient ourselves.
    grad_ok = np.all(np.isfinite(res.jac)) and np.max(np.abs(res.jac)) < 1e-5
    if allow_bound and _on_bound(res.x):
        # A bound stops L-BFGS-B with a non-zero gradient in the bounded coordinate: judge the
        # free coordinates only.
        free = np.abs(res.x) <= _LOG_BOUND - 1e-3
        grad_ok = bool(
            np.all(np.isfinite(res.jac)) and np.max(np.abs(res.jac[free]), initial=0) < 1e-5
        )
    if not (res.success or grad_ok):
        raise FitError(f"{what}: optimiser did not converge ({res.message})")
    if not allow_bound and _on_bound(res.x):
        raise FitError(f"{what}: a parameter ran off to 0 or infinity; the data do not identify it")
    return np.exp(res.x), res


# --------------------------------------------------------------------------------------------
# BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way")
# --------------------------------------------------------------------------------------------


def _bgnbd_negll(
    log_params: FloatArray,
    x_unique: FloatArray,
    x_index: npt.NDArray[np.intp],
    t_x: FloatArray,
    T: FloatArray,
    weight: float,
) -> tuple[float, FloatArray]:
    """Mean negative BG/NBD log-likelihood and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    xu = x_unique
    has_rep_u = xu > 0
    xs = np.maximum(xu, 1.0)  # the second term only exists for x > 0; keep its arguments valid
    # Everything that depends on x alone is computed once per distinct x and gathered: on a
    # million customers that turns most special-function calls into a few hundred.
    a_u = special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
    b0 = special.betaln(a, b)
    c1_u = special.betaln(a, b + xu) - b0
    c2_u = np.where(has_rep_u, special.betaln(a + 1.0, b + xs - 1.0) - b0, -np.inf)

    dig_ab = special.digamma(a + b)
    dig_abx = special.digamma(a + b + xu)
    d1a_u = dig_ab - dig_abx
    d1b_u = special.digamma(b + xu) - dig_abx - special.digamma(b) + dig_ab
    d2a_u = special.digamma(a + 1.0) - dig_abx - special.digamma(a) + dig_ab
    d2b_u = special.digamma(b + xs - 1.0) - dig_abx - special.digamma(b) + dig_ab
    dar_u = special.digamma(r + xu) - special.digamma(r) + np.log(alpha)

    x = xu[x_index]
    rx = r + x
    log_aT = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    t1 = c1_u[x_index] - rx * log_aT
    t2 = c2_u[x_index] - rx * log_atx
    # eq. 6 is A * (term1 + delta(x>0) term2); logsumexp of the two log-terms avoids underflow
    # of (alpha + T)^-(r + x) for heavy buyers.
    hi = np.maximum(t1, t2)
    e1 = np.exp(t1 - hi)
    e2 = np.exp(t2 - hi)
    tot = e1 + e2
    ll = a_u[x_index] + hi + np.log(tot)
    w1 = e1 / tot
    w2 = e2 / tot

    g_r = dar_u[x_index] - w1 * log_aT - w2 * log_atx
    g_alpha = r / alpha - w1 * rx / (alpha + T) - w2 * rx / (alpha + t_x)
    g_a = w1 * d1a_u[x_index] + w2 * d2a_u[x_index]
    g_b = w1 * d1b_u[x_index] + w2 * d2b_u[x_index]
    grad = np.array([g_r.sum() * r, g_alpha.sum() * alpha, g_a.sum() * a, g_b.sum() * b])
    return -ll.sum() * weight, -grad * weight


def fit_bgnbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BGNBDParams:
    """Fit the BG/NBD buy-till-you-die model: who keeps buying, how often, and who has left.

    Maximum likelihood on the individual-level likelihood of Fader, Hardie & Lee (2005), eq. 6::

        L(r, alpha, a, b | x, t_x, T)
            = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
            + delta(x > 0) * B(a + 1, b + x - 1) / B(a, b)
                           * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x))

    with x repeat purchases, t_x the time of the last one and T the customer's age (all from
    ``rfm_summary``). While active a customer buys at Poisson rate lambda ~ Gamma(r, alpha);
    after each repeat purchase she drops out with probability p ~ Beta(a, b). The optimiser
    (L-BFGS-B with the analytic gradient) works on log-parameters so they stay positive.

    Raises ``FitError`` with fewer than 20 customers or fewer than 10 repeat buyers, or when
    the optimiser does not converge, and ``ValueError`` on malformed input.
    """
    x_arr, tx_arr, T_arr = (a.ravel() for a in _float_arrays(x, t_x, T))
    _check_rft(x_arr, tx_arr, T_arr)
    n = x_arr.size
    repeat_buyers = int((x_arr > 0).sum())
    if n < MIN_CUSTOMERS:
        raise FitError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, got {n}")
    if repeat_buyers < MIN_REPEAT_BUYERS:
        raise FitError(
            f"BG/NBD needs at least {MIN_REPEAT_BUYERS} repeat buyers, got {repeat_buyers}"
        )

    x_unique, x_index = np.unique(x_arr, return_inverse=True)
    # Start from a purchase rate matching the average observed repeat rate (so alpha carries the
    # right time unit) and a moderate dropout probability, E[p] = 1/3.
    mean_rate = x_arr.sum() / max(T_arr.sum(), 1e-12)
    start = np.log(np.array([1.0, 1.0 / max(mean_rate, 1e-6), 1.0, 2.0]))
    args = (x_unique, x_index, tx_arr, T_arr, 1.0 / n)
    try:
        est, res = _minimize(lambda p: _bgnbd_negll(p, *args), start, "BG/NBD", allow_bound=True)
        if _on_bound(res.x):
            raise FitError("BG/NBD: a parameter ran off to 0 or infinity")
    except FitError:
        # One retry from a neutral start before giving up: L-BFGS-B occasionally stalls in the
        # flat a/b valley when the heuristic start is far off. A solution on the box's edge is
        # kept (flagged at_bound): the data then push a dropout parameter to 0 or infinity, which
        # bgnbd_identification reports as not identified instead of refusing the fit.
        est, res = _minimize(
            lambda p: _bgnbd_negll(p, *args), np.zeros(4), "BG/NBD", allow_bound=True
        )
    r, alpha, a, b = (float(v) for v in est)
    return BGNBDParams(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        loglik=float(-res.fun * n),
        converged=True,
        iterations=int(res.nit),
        at_bound=_on_bound(res.x),
    )


def _on_bound(log_params: FloatArray) -> bool:
    return bool(np.any(np.abs(log_params) > _LOG_BOUND - 1e-3))


_BGNBD_NAMES = ("r", "alpha", "a", "b")


def bgnbd_identification(
    params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> BGNBDIdentification:
    """Standard errors of a BG/NBD fit and whether the data identify it.

    The observed information is the Hessian H of the total negative log-likelihood at the
    optimum in log-parameters u = log(theta), by central differences of the analytic gradient
    (step 1e-4), symmetrised. se(u_i) = sqrt((H^-1)_ii); se(theta_i) = theta_i se(u_i) (delta
    method). The fit is ``not_identified`` when

    - a parameter is on the edge of the optimiser's box (``at_bound``);
    - H is not positive definite (standard errors inf; r and alpha then get their standard
      errors conditional on a and b, from the r, alpha block of H, when that block is positive
      definite) or its condition number exceeds 1e10 (``singular_information``);
    - se(log theta) > MAX_LOG_SE = 1 for a parameter (``large_standard_error``);
    - refitting r, alpha, a with b fixed at b / 10 or b x 10 lowers the log-likelihood by less
      than PROFILE_MIN_DROP = 1 (``flat_likelihood``): a tenfold other b fits as well. This
      profile is skipped (``profile_drops`` empty) when se(log b) <= PROFILE_SKIP_LOG_SE.

    On the CDNOW sample every check passes (se r 0.0125, alpha 0.38, a 0.19, b 0.71, as
    published); one year of UCI retail invoices gives a ~ 0 and a flat likelihood in b.
    """
    x_arr, tx_arr, T_arr = (v.ravel() for v in _float_arrays(x, t_x, T))
    x_unique, x_index = np.unique(x_arr, return_inverse=True)
    args = (x_unique, x_index, tx_arr, T_arr, 1.0)  # total (not mean) log-likelihood
    u = np.log(np.array([params.r, params.alpha, params.a, params.b]))

    def grad(v: FloatArray) -> FloatArray:
        return _bgnbd_negll(v, *args)[1]

    hess = np.zeros((4, 4))
    with np.errstate(all="ignore"):
        for i in range(4):
            step = np.zeros(4)
            step[i] = _HESSIAN_STEP
            hess[:, i] = (grad(u + step) - grad(u - step)) / (2 * _HESSIAN_STEP)
    hess = (hess + hess.T) / 2
    reasons: list[dict[str, object]] = []
    if params.at_bound or _on_bound(u):
        for name, v in zip(_BGNBD_NAMES, u, strict=True):
            if abs(v) > _LOG_BOUND - 1e-3:
                reasons.append({"code": "at_bound", "parameter": name, "value": float(np.exp(v))})
    eig = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
    positive = bool(np.all(np.isfinite(eig)) and eig.min() > 0)
    cond = float(eig.max() / eig.min()) if positive else math.inf
    # Nearly singular but positive definite: the (huge) standard errors still say how flat.
    log_se = np.sqrt(np.diag(np.linalg.inv(hess))) if positive else np.full(4, math.inf)
    if not positive:
        # The dropout part (a, b) is what a short history cannot pin down; the purchase part
        # (r, alpha) usually still is: its standard errors conditional on a and b at their
        # estimates (the r, alpha block of H), reported so the user sees what is known.
        block = hess[:2, :2]
        if np.all(np.isfinite(block)) and np.linalg.eigvalsh(block).min() > 0:
            log_se[:2] = np.sqrt(np.diag(np.linalg.inv(block)))
    if not cond <= MAX_HESSIAN_CONDITION:
        reasons.append({"code": "singular_information", "condition_number": cond})
    for name, se in zip(_BGNBD_NAMES, log_se, strict=True):
        if np.isfinite(se) and se > MAX_LOG_SE:
            reasons.append({"code": "large_standard_error", "parameter": name, "log_se": float(se)})
    tight = bool(np.isfinite(log_se[3]) and log_se[3] <= PROFILE_SKIP_LOG_SE)
    drops = {} if tight else _profile_b_drops(u, params.loglik, args)
    if drops and min(drops.values()) < PROFILE_MIN_DROP:
        reasons.append({"code": "flat_likelihood", "parameter": "b", **drops})
    natural = np.exp(u) * log_se
    return BGNBDIdentification(
        status="not_identified" if reasons else "ok",
        standard_errors={k: float(v) for k, v in zip(_BGNBD_NAMES, natural, strict=True)},
        log_standard_errors={k: float(v) for k, v in zip(_BGNBD_NAMES, log_se, strict=True)},
        condition_number=cond,
        profile_drops=drops,
        reasons=tuple(reasons),
    )


def _profile_b_drops(u: FloatArray, loglik: float, args: tuple) -> dict[str, float]:
    """Log-likelihood lost when b is fixed at b / PROFILE_FACTOR and b x PROFILE_FACTOR and the
    other three parameters are refitted (keys b_div and b_mul; never below 0)."""
    out: dict[str, float] = {}
    for key, shift in (("b_div", -math.log(PROFILE_FACTOR)), ("b_mul", math.log(PROFILE_FACTOR))):
        log_b = float(u[3] + shift)

        def fixed_b(v: FloatArray, log_b: float = log_b) -> tuple[float, FloatArray]:
            f, g = _bgnbd_negll(np.append(v, log_b), *args)
            return f, g[:3]

        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 3
        with np.errstate(all="ignore"):
            res = optimize.minimize(
                fixed_b, u[:3], jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7},
            )  # fmt: skip
        profile = -float(res.fun) if np.isfinite(res.fun) else -math.inf
        out[key] = max(loglik - profile, 0.0)
    return out


def bgnbd_expected_purchases(
    params: BGNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected purchases in the next t units for a customer with history (x, t_x, T).

    Fader, Hardie & Lee (2005), eq. 10::

        E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1)
            * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
                   * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))]
            / [1 + delta(x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)]
    """
    t_arr, x_arr, tx_arr, T_arr = _float_arrays(t, x, t_x, T)
    alive = _bgnbd_alive_from_log_odds(params, x_arr, tx_arr, T_arr)
    return np.asarray(_bgnbd_if_alive(params, t_arr, x_arr, T_arr) * alive, dtype=np.float64)


def _bgnbd_if_alive(params: BGNBDParams, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
    """Eq. 10 without its P(alive) denominator: expected purchases in t if still active."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    # Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z)
    # turns the bracket into 1 - (1 - z)^(a - 1) 2F1(a - 1, a + b - 1 - r; a + b + x - 1; z):
    # the same number, but the series no longer has (r + x), (b + x) on top, so it does not
    # overflow for heavy buyers over long horizons (where the paper form gives inf * 0 = nan).
    c = a + b + x - 1.0
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        bracket = 1.0 - (1.0 - z) ** (a - 1.0) * special.hyp2f1(a - 1.0, a + b - 1.0 - r, c, z)
        bracket = np.where(t == 0, 0.0, bracket)
        return np.asarray(c / (a - 1.0) * bracket, dtype=np.float64)


def _bgnbd_alive_from_log_odds(
    params: BGNBDParams, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """1 / (1 + delta(x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), evaluated in log space."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xs = np.maximum(x, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = (
            np.log(a) - np.log(b + xs - 1.0) + (r + xs) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    # expit(-inf) would be fine too, but np.where makes the x = 0 case exact and explicit.
    return np.where(x > 0, special.expit(-log_odds_dead), 1.0)


def bgnbd_p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that the customer is still active (has not churned) at the end of calibration.

    Fader, Hardie & Lee (2005), eq. 11, as corrected in Fader, Hardie & Lee (2008), "Computing
    P(alive) using the BG/NBD model"::

        P(alive | x, t_x, T)
            = 1 / (1 + delta(x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))

    so P(alive) = 1 when x = 0 (the model lets customers drop out only after a repeat purchase).
    """
    x_arr, tx_arr, T_arr = _float_arrays(x, t_x, T)
    return np.asarray(_bgnbd_alive_from_log_odds(params, x_arr, tx_arr, T_arr), dtype=np.float64)


def bgnbd_unconditional_expected(params: BGNBDParams, t: ArrayLike) -> FloatArray:
    """Expected repeat purchases of a brand-new customer in her first t units (aggregate forecast).

    Fader, Hardie & Lee (2005), eq. 7::

        E[X(t)] = (a + b - 1) / (a - 1)
                  * [1 - (alpha / (alpha + t))^r 2F1(r, b; a + b - 1; t / (alpha + t))]
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t_arr = np.asarray(t, dtype=np.float64)
    z = t_arr / (alpha + t_arr)
    # Same Euler transformation as in bgnbd_expected_purchases, for accuracy as z -> 1.
    with np.errstate(invalid="ignore"):
        bracket = 1.0 - (1.0 - z) ** (a - 1.0) * special.hyp2f1(
            a + b - 1.0 - r, a - 1.0, a + b - 1.0, z
        )
    bracket = np.where(t_arr == 0, 0.0, bracket)
    return np.asarray((a + b - 1.0) / (a - 1.0) * bracket, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013 note)
# --------------------------------------------------------------------------------------------


def _gg_negll(
    log_params: FloatArray, x: FloatArray, m: FloatArray, log_m: FloatArray, weight: float
) -> tuple[float, FloatArray]:
    """Mean negative Gamma-Gamma log-likelihood of the mean spends and its log-scale gradient."""
    p, q, g = np.exp(log_params)
    px = p * x
    log_gxm = np.log(g + x * m)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * log_m
        + px * np.log(x)
        - (px + q) * log_gxm
    )
    dig_pxq = special.digamma(px + q)
    g_p = x * (dig_pxq - special.digamma(px) + log_m + np.log(x) - log_gxm)
    g_q = dig_pxq - special.digamma(q) + np.log(g) - log_gxm
    g_g = q / g - (px + q) / (g + x * m)
    grad = np.array([g_p.sum() * p, g_q.sum() * q, g_g.sum() * g])
    return -ll.sum() * weight, -grad * weight


def fit_gamma_gamma(x: ArrayLike, m: ArrayLike) -> GammaGammaParams:
    """Fit the Gamma-Gamma model of how much a customer spends per repeat purchase.

    Each repeat purchase's spend is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so
    the observed mean spend m of x repeat purchases has the density (Fader & Hardie 2013, "The
    Gamma-Gamma model of monetary value", eq. 3)::

        f(m | p, q, gamma, x) = Gamma(p x + q) / (Gamma(p x) Gamma(q))
                                * gamma^q m^(p x - 1) x^(p x) / (gamma + m x)^(p x + q)

    Only customers with x > 0 and m > 0 enter the likelihood: one-time buyers carry no spend
    information in this model, and customers whose repeat purchases are all zero-valued (m = 0,
    e.g. free replacements) have zero density under a Gamma and are left out.

    Raises ``FitError`` with fewer than 10 such customers, on non-convergence, or when q <= 1
    (the population mean spend gamma p / (q - 1) would be infinite).
    """
    x_arr, m_arr = (a.ravel() for a in _float_arrays(x, m))
    if not (np.isfinite(x_arr).all() and np.isfinite(m_arr).all()):
        raise ValueError("x and m must be finite")
    if (m_arr < 0).any():
        raise ValueError("mean spend m must be non-negative")
    keep = (x_arr > 0) & (m_arr > 0)
    n = int(keep.sum())
    if n < MIN_SPEND_CUSTOMERS:
        raise FitError(
            f"Gamma-Gamma needs at least {MIN_SPEND_CUSTOMERS} customers with repeat purchases "
            f"and positive spend, got {n}"
        )
    xk, mk = x_arr[keep], m_arr[keep]
    log_m = np.log(mk)
    # Moment-style start: p = 1, q = 2 gives population mean gamma p / (q - 1) = gamma, so
    # gamma starts at the average spend (and carries the currency's scale).
    start = np.log(np.array([1.0, 2.0, float(mk.mean())]))
    est, res = _minimize(lambda v: _gg_negll(v, xk, mk, log_m, 1.0 / n), start, "Gamma-Gamma")
    p, q, g = (float(v) for v in est)
    if q <= 1.0:
        raise FitError(f"Gamma-Gamma fit gives q = {q:.3f} <= 1: mean spend is not finite")
    return GammaGammaParams(p=p, q=q, gamma=g, loglik=float(-res.fun * n), converged=True)


def gamma_gamma_expected_spend(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> FloatArray:
    """Expected spend per future purchase, shrinking the customer's own mean toward the average.

    E[M | p, q, gamma, m, x] = (q - 1) / (p x + q - 1) * gamma p / (q - 1)
                               + p x / (p x + q - 1) * m

    a weighted average of the population mean gamma p / (q - 1) and the observed mean repeat
    spend m; with x = 0 it is the population mean.
    """
    p, q, g = params.p, params.q, params.gamma
    x_arr, m_arr = _float_arrays(x, m)
    px = p * x_arr
    denom = px + q - 1.0
    return np.asarray((g * p + px * m_arr) / denom, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Customer lifetime value
# --------------------------------------------------------------------------------------------


def clv(
    bgnbd: BGNBDParams,
    gg: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m: ArrayLike,
    horizon_units: float,
    discount_rate_per_unit: float = 0.0,
    step: float = 1,
) -> FloatArray:
    """Expected discounted revenue from each customer over the next ``horizon_units`` units.

    Discrete approximation (as in the ``lifetimes`` package): with t_k = min(k * step, horizon),
    k = 1..K, K = ceil(horizon / step),

        CLV = sum_k (E[Y(t_k) | x, t_x, T] - E[Y(t_{k-1}) | x, t_x, T])
                    * E[M | x, m] / (1 + d)^(t_k)

    i.e. the BG/NBD purchases expected in each step, valued at the Gamma-Gamma expected spend and
    discounted at rate d per unit from the end of the step. With d = 0 it is simply
    E[Y(horizon)] * E[M]. ``m`` is the observed mean repeat spend (``monetary_value``).
    """
    if horizon_units < 0 or step <= 0:
        raise ValueError("need horizon_units >= 0 and step > 0")
    if discount_rate_per_unit <= -1:
        raise ValueError("discount_rate_per_unit must be > -1")
    x_arr, tx_arr, T_arr, m_arr = _float_arrays(x, t_x, T, m)
    spend = gamma_gamma_expected_spend(gg, x_arr, m_arr)
    alive = _bgnbd_alive_from_log_odds(bgnbd, x_arr, tx_arr, T_arr)
    # P(alive) does not change with t, and the 2F1 part depends on (x, T) only; with dates in
    # whole days there are few distinct (x, T) pairs, so evaluate 2F1 once per pair and step.
    pairs, inverse = np.unique(
        np.stack([x_arr.ravel(), T_arr.ravel()], axis=1), axis=0, return_inverse=True
    )
    inverse = inverse.ravel()
    discounted = np.zeros(len(pairs))
    previous = np.zeros(len(pairs))
    n_steps = int(np.ceil(horizon_units / step - 1e-12))
    for k in range(1, n_steps + 1):
        t_k = min(k * step, horizon_units)
        current = _bgnbd_if_alive(bgnbd, np.full(len(pairs), t_k), pairs[:, 0], pairs[:, 1])
        discounted += (current - previous) / (1.0 + discount_rate_per_unit) ** t_k
        previous = current
    return np.asarray(discounted[inverse].reshape(x_arr.shape) * alive * spend, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Validation views (the paper's Figures 3 and 4)
# --------------------------------------------------------------------------------------------


def holdout_comparison(
    summary_with_holdout: pd.DataFrame, params: BGNBDParams, max_frequency: int = 7
) -> pd.DataFrame:
    """Actual vs predicted holdout purchases per calibration frequency (conditional expectations).

    Customers are grouped by calibration frequency 0, 1, ..., ``max_frequency - 1`` and
    ``max_frequency``+; per group the mean actual ``holdout_frequency`` is compared with the mean
    of eq. 10 over ``holdout_duration`` (Fader, Hardie & Lee 2005, Figure 4). The input is an
    ``rfm_summary`` made with ``observation_end``.
    """
    needed = {"frequency", "recency", "T", "holdout_frequency", "holdout_duration"}
    missing = needed - set(summary_with_holdout.columns)
    if missing:
        raise ValueError(f"summary lacks column(s) {sorted(missing)}; pass observation_end")
    s = summary_with_holdout
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
