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
    m: FloatArray,
    log_m: FloatArray,
    log_x: FloatArray,
    x_unique: FloatArray,
    x_index: npt.NDArray[np.intp],
    weight: float,
) -> tuple[float, FloatArray]:
    """Mean negative Gamma-Gamma log-likelihood of the mean spends and its log-scale gradient."""
    p, q, g = np.exp(log_params)
    px = p * x
    # The special functions depend on x alone: evaluated once per distinct x and gathered, the
    # same numbers element by element as evaluating them per customer, summed in the same order
    # (so the fit is the same to the last bit: its optimum is flat enough in p for a change in
    # the last bits of the sums to move the stopping point by 1e-6).
    px_u = p * x_unique
    gl_pxq = special.gammaln(px_u + q)[x_index]
    gl_px = special.gammaln(px_u)[x_index]
    dig_pxq = special.digamma(px_u + q)[x_index]
    dig_px = special.digamma(px_u)[x_index]
    log_gxm = np.log(g + x * m)
    ll = (
        gl_pxq
        - gl_px
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * log_m
        + px * log_x
        - (px + q) * log_gxm
    )
    g_p = x * (dig_pxq - dig_px + log_m + log_x - log_gxm)
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
    log_m, log_x = np.log(mk), np.log(xk)
    x_unique, x_index = np.unique(xk, return_inverse=True)
    args = (xk, mk, log_m, log_x, x_unique, x_index.ravel(), 1.0 / n)
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
