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
    buffers: list[FloatArray] | None = None,
) -> tuple[float, FloatArray]:
    """Mean negative Gamma-Gamma log-likelihood of the mean spends and its log-scale gradient
    (`xm` = x * m, the customers' repeat spend totals). `buffers`: five arrays as long as `x`
    that the evaluation writes into (fit_gamma_gamma keeps them from one evaluation to the
    next); fresh ones without."""
    p, q, g = np.exp(log_params)
    # Every term that depends on x alone (the special functions, p x) is evaluated once per
    # distinct x, combined there as far as the customer's own terms allow, and gathered: the
    # same operations on the same numbers, element by element, as evaluating them per customer
    # and combining the gathered terms left to right, summed in the same order (so the fit is the
    # same to the last bit: its optimum is flat enough in p for a change in the last bits of the
    # sums to move the stopping point by 1e-6). The per-customer terms are written into reused
    # arrays (a million customers: about half the time per evaluation of fresh arrays).
    # take's mode "clip" changes nothing (x_index indexes x_unique), but in its default mode
    # numpy writes a take into `out` through a temporary array first.
    gxm, log_gxm, pxq, ll, term = buffers or [np.empty_like(xm) for _ in range(5)]
    px_u = p * x_unique
    pxq_u = px_u + q
    gl_pxq_u, dig_pxq_u = special.gammaln(pxq_u), special.digamma(pxq_u)
    head_u = gl_pxq_u - special.gammaln(px_u) - special.gammaln(q) + q * np.log(g)
    log_x_u = np.log(x_unique)
    np.add(xm, g, out=gxm)  # g + xm
    np.log(gxm, out=log_gxm)
    # ll = head + (p x - 1) log m + p x log x - (p x + q) log(g + x m), left to right
    np.take(head_u, x_index, out=ll, mode="clip")
    np.take(px_u - 1.0, x_index, out=term, mode="clip")
    term *= log_m
    ll += term
    ll += np.take(px_u * log_x_u, x_index, out=term, mode="clip")
    np.take(pxq_u, x_index, out=pxq, mode="clip")
    ll -= np.multiply(pxq, log_gxm, out=term)
    ll_sum = ll.sum()
    g_p = np.take(dig_pxq_u - special.digamma(px_u), x_index, out=ll, mode="clip")
    g_p += log_m
    g_p += log_x
    g_p -= log_gxm
    g_p *= x
    g_q = np.take(dig_pxq_u - special.digamma(q) + np.log(g), x_index, out=term, mode="clip")
    g_q -= log_gxm
    sum_p, sum_q = g_p.sum(), g_q.sum()
    g_g = np.divide(pxq, gxm, out=pxq)
    np.subtract(q / g, g_g, out=g_g)  # q / g - (p x + q) / (g + x m)
    grad = np.array([sum_p * p, sum_q * q, g_g.sum() * g])
    return -ll_sum * weight, -grad * weight


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
    buffers = [np.empty_like(xk) for _ in range(5)]
    args = (xk, xk * mk, log_m, log_x, x_unique, x_index, 1.0 / n, buffers)
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
