"""Customer lifetime value: BG/NBD purchases valued at the Gamma-Gamma spend, discounted."""

from __future__ import annotations

import numpy as np

from crm_core.metrics.clv_models.bgnbd import (
    BGNBDParams,
    _bgnbd_alive_from_log_odds,
    _bgnbd_if_alive,
)
from crm_core.metrics.clv_models.fitting import (
    ArrayLike,
    FloatArray,
    _float_arrays,
    distinct_rows,
)
from crm_core.metrics.clv_models.gamma_gamma import GammaGammaParams, gamma_gamma_expected_spend


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
    x_arr, tx_arr, T_arr, m_arr = _float_arrays(x, t_x, T, m)
    spend = gamma_gamma_expected_spend(gg, x_arr, m_arr)
    per_unit_spend = discounted_purchases(
        bgnbd, x_arr, tx_arr, T_arr, horizon_units, discount_rate_per_unit, step
    )
    return np.asarray(per_unit_spend * spend, dtype=np.float64)


def discounted_purchases(
    bgnbd: BGNBDParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    horizon_units: float,
    discount_rate_per_unit: float = 0.0,
    step: float = 1,
) -> FloatArray:
    """``clv`` per unit of expected spend: the discounted purchases expected over the horizon,
    sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k), a function of (x, t_x, T) alone (so one
    value per distinct history serves every customer sharing it); ``clv`` is this times
    E[M | x, m]."""
    if horizon_units < 0 or step <= 0:
        raise ValueError("need horizon_units >= 0 and step > 0")
    if discount_rate_per_unit <= -1:
        raise ValueError("discount_rate_per_unit must be > -1")
    x_arr, tx_arr, T_arr = _float_arrays(x, t_x, T)
    alive = _bgnbd_alive_from_log_odds(bgnbd, x_arr, tx_arr, T_arr)
    # P(alive) does not change with t, and the 2F1 part depends on (x, T) only; with dates in
    # whole days there are few distinct (x, T) pairs, so evaluate 2F1 once per pair and step.
    (x_u, T_u), _, inverse = distinct_rows(x_arr, T_arr)
    discounted = np.zeros(len(x_u))
    previous = np.zeros(len(x_u))
    n_steps = int(np.ceil(horizon_units / step - 1e-12))
    for k in range(1, n_steps + 1):
        t_k = min(k * step, horizon_units)
        current = _bgnbd_if_alive(bgnbd, np.full(len(x_u), t_k), x_u, T_u)
        discounted += (current - previous) / (1.0 + discount_rate_per_unit) ** t_k
        previous = current
    return np.asarray(discounted[inverse].reshape(x_arr.shape) * alive, dtype=np.float64)
