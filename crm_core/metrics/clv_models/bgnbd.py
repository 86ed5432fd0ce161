"""BG/NBD purchase counts (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
fit, P(alive), expected purchases."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from crm_core.metrics.clv_models.fitting import (
    ArrayLike,
    FitError,
    FloatArray,
    _dot,
    _float_arrays,
    _minimize,
    _on_bound,
    distinct_rows,
    sorted_codes,
    stoppable,
)

# Below these counts the likelihood surface is too flat for the parameters to mean anything.
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10


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


def _check_rft(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or not np.array_equal(x, np.round(x)):
        raise ValueError("x (repeat purchases) must be non-negative integers")
    if (t_x < 0).any() or (t_x > T * (1 + 1e-12) + 1e-12).any():
        raise ValueError("need 0 <= t_x <= T for every customer")
    if ((x == 0) & (t_x != 0)).any():
        raise ValueError("t_x must be 0 for customers without repeat purchases")


@dataclass(frozen=True)
class _Histories:
    """Distinct (x, t_x, T) histories with their weights (customers sharing each), coded for the
    likelihood: distinct x, T and t_x values and each history's index into them."""

    weights: FloatArray
    x_unique: FloatArray
    x_index: npt.NDArray[np.intp]
    x_weights: FloatArray  # customers per distinct x
    T_unique: FloatArray
    T_index: npt.NDArray[np.intp]
    tx_unique: FloatArray
    tx_index: npt.NDArray[np.intp]

    @property
    def customers(self) -> float:
        return float(self.weights.sum())


def _histories(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> _Histories:
    """Check per-customer (x, t_x, T), or distinct histories with their `weights` (customer
    counts), and code them for `_bgnbd_negll`."""
    x_arr, tx_arr, T_arr = (a.ravel() for a in _float_arrays(x, t_x, T))
    _check_rft(x_arr, tx_arr, T_arr)
    if weights is None:
        (x_arr, tx_arr, T_arr), w, _ = distinct_rows(x_arr, tx_arr, T_arr)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != x_arr.shape or not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError("weights must be finite, non-negative, one per history")
    x_unique, x_index = sorted_codes(x_arr)
    T_unique, T_index = sorted_codes(T_arr)
    tx_unique, tx_index = sorted_codes(tx_arr)
    return _Histories(
        weights=w,
        x_unique=x_unique,
        x_index=x_index.ravel(),
        x_weights=np.bincount(x_index.ravel(), weights=w, minlength=len(x_unique)).astype(
            np.float64
        ),
        T_unique=T_unique,
        T_index=T_index.ravel(),
        tx_unique=tx_unique,
        tx_index=tx_index.ravel(),
    )


def _bgnbd_negll(
    log_params: FloatArray,
    h: _Histories,
    weight: float,
    buffers: list[FloatArray] | None = None,
) -> tuple[float, FloatArray]:
    """Negative BG/NBD log-likelihood of the histories (each times its weight), times `weight`,
    and its gradient in log-parameters. `buffers`: seven arrays, one element per history, that
    the evaluation writes into (fit_bgnbd keeps them from one evaluation to the next); fresh
    ones without."""
    r, alpha, a, b = np.exp(log_params)
    xu = h.x_unique
    has_rep_u = xu > 0
    xs = np.maximum(xu, 1.0)  # the second term only exists for x > 0; keep its arguments valid
    # Everything that depends on x alone (or T alone, t_x alone) is computed once per distinct
    # value and gathered: on a million customers that turns most special-function calls and
    # logarithms into a few thousand.
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

    xi, n = h.x_index, h.weights
    # Per history: the same operations on the same numbers as the textbook expressions in the
    # comments, element by element, but gathered with take and written into reused arrays (a
    # million histories: a third less time per evaluation than fresh arrays for every term, and
    # less again with the arrays kept from one evaluation to the next).
    # take's mode "clip" changes nothing (the codes index their tables), but in its default
    # mode numpy writes a take into `out` through a temporary array first.
    rx, log_aT, log_atx, buf, t1, t2, hi = buffers or [np.empty_like(n) for _ in range(7)]
    np.take(r + xu, xi, out=rx, mode="clip")
    np.take(np.log(alpha + h.T_unique), h.T_index, out=log_aT, mode="clip")
    np.take(np.log(alpha + h.tx_unique), h.tx_index, out=log_atx, mode="clip")
    np.multiply(rx, log_aT, out=buf)
    np.take(c1_u, xi, out=t1, mode="clip")
    t1 -= buf  # t1 = c1 - (r + x) log(alpha + T)
    np.multiply(rx, log_atx, out=buf)
    np.take(c2_u, xi, out=t2, mode="clip")
    t2 -= buf  # t2 = c2 - (r + x) log(alpha + t_x)
    # eq. 6 is A * (term1 + delta(x>0) term2); logsumexp of the two log-terms avoids underflow
    # of (alpha + T)^-(r + x) for heavy buyers.
    np.maximum(t1, t2, out=hi)
    t1 -= hi
    e1 = np.exp(t1, out=t1)  # exp(t1 - hi)
    t2 -= hi
    e2 = np.exp(t2, out=t2)  # exp(t2 - hi)
    tot = np.add(e1, e2, out=buf)
    hi += np.log(tot)
    ll = _dot(a_u, h.x_weights) + _dot(n, hi)  # hi + log(e1 + e2) per history
    e1 /= tot
    nw1 = np.multiply(e1, n, out=e1)  # n e1 / tot
    e2 /= tot
    nw2 = np.multiply(e2, n, out=e2)
    # Sums over customers of per-x terms are per-x sums of the weights nw1, nw2 times the terms.
    w1_x = np.bincount(xi, weights=nw1, minlength=len(xu))
    w2_x = np.bincount(xi, weights=nw2, minlength=len(xu))
    g_r = _dot(dar_u, h.x_weights) - _dot(nw1, log_aT) - _dot(nw2, log_atx)
    inv_aT = np.take(1.0 / (alpha + h.T_unique), h.T_index, out=log_aT, mode="clip")
    inv_atx = np.take(1.0 / (alpha + h.tx_unique), h.tx_index, out=log_atx, mode="clip")
    nw_rx = np.multiply(nw1, rx, out=hi)
    g_alpha = r / alpha * h.customers - _dot(nw_rx, inv_aT)
    np.multiply(nw2, rx, out=nw_rx)
    g_alpha -= _dot(nw_rx, inv_atx)
    g_a = _dot(d1a_u, w1_x) + _dot(d2a_u, w2_x)
    g_b = _dot(d1b_u, w1_x) + _dot(d2b_u, w2_x)
    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    return -ll * weight, -grad * weight


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    stop: threading.Event | None = None,
) -> BGNBDParams:
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

    The likelihood is a product over customers of a function of (x, t_x, T) alone, so it is
    evaluated once per distinct history, raised to the number of customers sharing it: pass one
    row per customer, or distinct histories with ``weights`` (customers per history) — the same
    likelihood either way, up to the order of the floating-point sums.

    Raises ``FitError`` with fewer than 20 customers or fewer than 10 repeat buyers, or when
    the optimiser does not converge, ``ValueError`` on malformed input, and ``FitStopped`` as
    soon as ``stop`` is set (the caller no longer wants the fit).
    """
    h = _histories(x, t_x, T, weights)
    n = h.customers
    x_arr = h.x_unique[h.x_index]
    repeat_buyers = float(h.weights[x_arr > 0].sum())
    if n < MIN_CUSTOMERS:
        raise FitError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, got {n:.0f}")
    if repeat_buyers < MIN_REPEAT_BUYERS:
        raise FitError(
            f"BG/NBD needs at least {MIN_REPEAT_BUYERS} repeat buyers, got {repeat_buyers:.0f}"
        )

    # Start from a purchase rate matching the average observed repeat rate (so alpha carries the
    # right time unit) and a moderate dropout probability, E[p] = 1/3.
    T_arr = h.T_unique[h.T_index]
    mean_rate = _dot(h.weights, x_arr) / max(_dot(h.weights, T_arr), 1e-12)
    start = np.log(np.array([1.0, 1.0 / max(mean_rate, 1e-6), 1.0, 2.0]))
    buffers = [np.empty_like(h.weights) for _ in range(7)]
    negll = stoppable(lambda p: _bgnbd_negll(p, h, 1.0 / n, buffers), stop)
    try:
        est, res = _minimize(negll, start, "BG/NBD", allow_bound=True)
        if _on_bound(res.x):
            raise FitError("BG/NBD: a parameter ran off to 0 or infinity")
    except FitError:
        # One retry from a neutral start before giving up: L-BFGS-B occasionally stalls in the
        # flat a/b valley when the heuristic start is far off. A solution on the box's edge is
        # kept (flagged at_bound): the data then push a dropout parameter to 0 or infinity, which
        # bgnbd_identification reports as not identified instead of refusing the fit.
        est, res = _minimize(negll, np.zeros(4), "BG/NBD", allow_bound=True)
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
