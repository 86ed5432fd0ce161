"""Gamma-Gamma spend per repeat purchase (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader &
Hardie 2013 note): fit and expected spend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


@dataclass(frozen=True)
class _Spends:
    """The Gamma-Gamma data reduced to what the likelihood needs: per distinct x its customers,
    per customer x and x m, and the sums that do not change with the parameters."""

    x_unique: FloatArray
    x_counts: FloatArray  # customers per distinct x
    x: FloatArray
    xm: FloatArray  # x m, the customer's repeat spend in total
    sum_log_m: float
    sum_x_log_m: float
    sum_x_log_x: float

    @property
    def customers(self) -> float:
        return float(self.x_counts.sum())


def _spends(x: FloatArray, m: FloatArray) -> _Spends:
    x_unique, x_index = np.unique(x, return_inverse=True)
    counts = np.bincount(x_index.ravel(), minlength=len(x_unique)).astype(np.float64)
    log_m = np.log(m)
    return _Spends(
        x_unique=x_unique,
        x_counts=counts,
        x=x,
        xm=x * m,
        sum_log_m=float(log_m.sum()),
        sum_x_log_m=float(x @ log_m),
        sum_x_log_x=float(counts @ (x_unique * np.log(x_unique))),
    )


def _gg_negll(log_params: FloatArray, d: _Spends, weight: float) -> tuple[float, FloatArray]:
    """Negative Gamma-Gamma log-likelihood of the mean spends (times `weight`) and its gradient
    in log-parameters.

    Summed over customers, every term but log(gamma + x m) is a per-x term or a fixed sum:
    sum_i (p x_i - 1) log m_i = p sum_i x_i log m_i - sum_i log m_i, and so on; only that
    logarithm (and its reciprocal, for the gradient) is evaluated per customer."""
    p, q, g = np.exp(log_params)
    n, xu, nx = d.customers, d.x_unique, d.x_counts
    px_u = p * xu
    gxm = g + d.xm
    log_gxm = np.log(gxm)
    inv_gxm = 1.0 / gxm
    s_l, s_xl = float(log_gxm.sum()), float(d.x @ log_gxm)
    s_inv, s_xinv = float(inv_gxm.sum()), float(d.x @ inv_gxm)
    ll = (
        nx @ (special.gammaln(px_u + q) - special.gammaln(px_u))
        - n * special.gammaln(q)
        + n * q * np.log(g)
        + p * d.sum_x_log_m
        - d.sum_log_m
        + p * d.sum_x_log_x
        - p * s_xl
        - q * s_l
    )
    dig_pxq = special.digamma(px_u + q)
    g_p = (nx * xu) @ (dig_pxq - special.digamma(px_u)) + d.sum_x_log_m + d.sum_x_log_x - s_xl
    g_q = nx @ dig_pxq - n * special.digamma(q) + n * np.log(g) - s_l
    g_g = n * q / g - p * s_xinv - q * s_inv
    grad = np.array([g_p * p, g_q * q, g_g * g])
    return -float(ll) * weight, -grad * weight


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
    data = _spends(xk, mk)
    # Moment-style start: p = 1, q = 2 gives population mean gamma p / (q - 1) = gamma, so
    # gamma starts at the average spend (and carries the currency's scale).
    start = np.log(np.array([1.0, 2.0, float(mk.mean())]))
    est, res = _minimize(lambda v: _gg_negll(v, data, 1.0 / n), start, "Gamma-Gamma")
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
