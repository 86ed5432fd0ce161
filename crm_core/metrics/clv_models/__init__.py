"""Churn and customer-lifetime-value models: BG/NBD purchase counts and Gamma-Gamma spend, on
numpy / scipy, in fitting (shared optimiser), rfm (inputs), bgnbd, identification, gamma_gamma,
lifetime_value and validation. Imports nothing else of crm_core; callers use the names
re-exported here."""

from __future__ import annotations

from crm_core.metrics.clv_models.bgnbd import (
    MIN_CUSTOMERS,
    MIN_REPEAT_BUYERS,
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    bgnbd_unconditional_expected,
    fit_bgnbd,
)
from crm_core.metrics.clv_models.fitting import FitError, FitStopped, distinct_rows
from crm_core.metrics.clv_models.gamma_gamma import (
    MIN_SPEND_CUSTOMERS,
    GammaGammaParams,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
)
from crm_core.metrics.clv_models.identification import (
    MAX_HESSIAN_CONDITION,
    MAX_LOG_SE,
    PROFILE_FACTOR,
    PROFILE_MIN_DROP,
    PROFILE_SKIP_LOG_SE,
    BGNBDIdentification,
    bgnbd_identification,
)
from crm_core.metrics.clv_models.lifetime_value import clv, discounted_purchases
from crm_core.metrics.clv_models.rfm import UNIT_DAYS, rfm_summary
from crm_core.metrics.clv_models.validation import cumulative_tracking, holdout_comparison

__all__ = [
    "MAX_HESSIAN_CONDITION",
    "MAX_LOG_SE",
    "MIN_CUSTOMERS",
    "MIN_REPEAT_BUYERS",
    "MIN_SPEND_CUSTOMERS",
    "PROFILE_FACTOR",
    "PROFILE_MIN_DROP",
    "PROFILE_SKIP_LOG_SE",
    "UNIT_DAYS",
    "BGNBDIdentification",
    "BGNBDParams",
    "FitError",
    "FitStopped",
    "GammaGammaParams",
    "bgnbd_expected_purchases",
    "bgnbd_identification",
    "bgnbd_p_alive",
    "bgnbd_unconditional_expected",
    "clv",
    "cumulative_tracking",
    "discounted_purchases",
    "distinct_rows",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_expected_spend",
    "holdout_comparison",
    "rfm_summary",
]
