"""Whether the data pin a BG/NBD fit down: standard errors, information, profile in b."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from crm_core.metrics.clv_models.bgnbd import BGNBDParams, _bgnbd_negll, _Histories, _histories
from crm_core.metrics.clv_models.fitting import (
    _LOG_BOUND,
    ArrayLike,
    FloatArray,
    _on_bound,
    optimiser_threads,
)

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


_BGNBD_NAMES = ("r", "alpha", "a", "b")


def bgnbd_identification(
    params: BGNBDParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
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

    The histories are passed as to ``fit_bgnbd``: one row per customer, or distinct histories
    with ``weights``.

    On the CDNOW sample every check passes (se r 0.0125, alpha 0.38, a 0.19, b 0.71, as
    published); one year of UCI retail invoices gives a ~ 0 and a flat likelihood in b.
    """
    h = _histories(x, t_x, T, weights)
    u = np.log(np.array([params.r, params.alpha, params.a, params.b]))

    def grad(v: FloatArray) -> FloatArray:
        return _bgnbd_negll(v, h, 1.0)[1]  # total (not mean) log-likelihood

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
    with optimiser_threads():  # 4 x 4 matrices: one thread, the same numbers
        eig = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
    positive = bool(np.all(np.isfinite(eig)) and eig.min() > 0)
    cond = float(eig.max() / eig.min()) if positive else math.inf
    # Nearly singular but positive definite: the (huge) standard errors still say how flat.
    with optimiser_threads():
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
    drops = {} if tight else _profile_b_drops(u, params.loglik, h)
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


def _profile_b_drops(u: FloatArray, loglik: float, h: _Histories) -> dict[str, float]:
    """Log-likelihood lost when b is fixed at b / PROFILE_FACTOR and b x PROFILE_FACTOR and the
    other three parameters are refitted (keys b_div and b_mul; never below 0)."""
    out: dict[str, float] = {}
    for key, shift in (("b_div", -math.log(PROFILE_FACTOR)), ("b_mul", math.log(PROFILE_FACTOR))):
        log_b = float(u[3] + shift)

        def fixed_b(v: FloatArray, log_b: float = log_b) -> tuple[float, FloatArray]:
            f, g = _bgnbd_negll(np.append(v, log_b), h, 1.0)
            return f, g[:3]

        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 3
        with np.errstate(all="ignore"), optimiser_threads():
            res = optimize.minimize(
                fixed_b, u[:3], jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7},
            )  # fmt: skip
        profile = -float(res.fun) if np.isfinite(res.fun) else -math.inf
        out[key] = max(loglik - profile, 0.0)
    return out
