"""Gamma-Gamma spend per repeat purchase (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader &
Hardie 2013 note): fit and expected spend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from crm_core.metrics.clv_models.fitting import (
    ArrayLike,
    FitError,
    FloatArray,
    _float_arrays,
    _minimize,
    sorted_codes,
)

# Below this count the likelihood surface is too flat for the parameters to mean anything.
MIN_SPEND_CUSTOMERS = 10


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters: spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    gamma: float
    loglik: float
    converged: bool


def _gg_negll(
    log_params: FloatArray,
    x: FloatArray,
    xm: FloatArray,
    log_m: FloatArray,
    log_x: FloatArray,
    x_unique: FloatArray,
    x_index: npt.NDArray[np.intp],
    weight: float,
) -> tuple[float, FloatArray]:
    """Mean negative Gamma-Gamma log-likelihood of the mean spends and its log-scale gradient
    (`xm` = x * m, the customers' repeat spend totals)."""
    p, q, g = np.exp(log_params)
    # Every term that depends on x alone (the special functions, p x) is evaluated once per
    # distinct x, combined there as far as the customer's own terms allow, and gathered: the
    # same operations on the same numbers, element by element, as evaluating them per customer
    # and combining the gathered terms left to right, summed in the same order (so the fit is the
    # same to the last bit: its optimum is flat enough in p for a change in the last bits of the
    # sums to move the stopping point by 1e-6).
    px_u = p * x_unique
    pxq_u = px_u + q
    gl_pxq_u, dig_pxq_u = special.gammaln(pxq_u), special.digamma(pxq_u)
    head_u = gl_pxq_u - special.gammaln(px_u) - special.gammaln(q) + q * np.log(g)
    log_x_u = np.log(x_unique)
    gxm = g + xm
    log_gxm = np.log(gxm)
    pxq = pxq_u[x_index]
    ll = head_u[x_index] + (px_u - 1.0)[x_index] * log_m + (px_u * log_x_u)[x_index]
    ll -= pxq * log_gxm
    g_p = (dig_pxq_u - special.digamma(px_u))[x_index] + log_m
    g_p += log_x
    g_p -= log_gxm
    g_p *= x
    g_q = (dig_pxq_u - special.digamma(q) + np.log(g))[x_index] - log_gxm
    g_g = q / g - pxq / gxm
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
    log_m, log_x = np.log(mk), np.log(xk)
    x_unique, x_index = sorted_codes(xk)
    args = (xk, xk * mk, log_m, log_x, x_unique, x_index, 1.0 / n)
    # Moment-style start: p = 1, q = 2 gives population mean gamma p / (q - 1) = gamma, so
    # gamma starts at the average spend (and carries the currency's scale).
    start = np.log(np.array([1.0, 2.0, float(mk.mean())]))
    est, res = _minimize(lambda v: _gg_negll(v, *args), start, "Gamma-Gamma")
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
