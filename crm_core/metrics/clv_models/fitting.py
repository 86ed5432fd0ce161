"""What the model fits share: FitError, float input arrays, L-BFGS-B on log-parameters."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize
from threadpoolctl import ThreadpoolController

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

# Optimisation runs on log-parameters; this box keeps exp() finite. A solution on the edge of
# the box means the data push a parameter to 0 or infinity, i.e. the model is not identified.
_LOG_BOUND = 18.0

# L-BFGS-B does its few-element linear algebra in scipy's OpenBLAS, which wakes its worker
# threads at every iteration: on a busy 2-core machine that waiting cost more than the
# likelihoods (fits 2-3x slower in wall and CPU time). The vectors have 3 or 4 elements, so one
# thread computes the same numbers. None leaves BLAS's own thread count (the before of a
# benchmark). Process-wide while any fit runs (_SharedLimit); the numbers are the same with any
# thread count.
OPTIMISER_BLAS_THREADS: int | None = 1


class FitError(ValueError):
    """The data cannot support a fit (too few customers or buyers, or no convergence)."""


class FitStopped(Exception):
    """A fit given up because its `stop` event was set: its result is no longer wanted."""


def stoppable(
    fun: Callable[[FloatArray], tuple[float, FloatArray]], stop: threading.Event | None
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """`fun`, raising FitStopped before an evaluation once `stop` is set (an optimiser has no
    other way out: the exception leaves it between two evaluations)."""
    if stop is None:
        return fun

    def checked(p: FloatArray) -> tuple[float, FloatArray]:
        if stop.is_set():
            raise FitStopped
        return fun(p)

    return checked


def _float_arrays(*arrays: ArrayLike) -> list[FloatArray]:
    return [np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays)]


def _dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """sum(a * b) in one pass without BLAS: a BLAS dot starts threads, which on a busy machine
    cost more than the sum itself (the likelihoods take a dozen of them per evaluation)."""
    return float(np.einsum("i,i->", a, b))


def distinct_rows(
    *columns: ArrayLike,
) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """The distinct rows of equally long columns: (the distinct rows' columns in order of first
    appearance, how many input rows each stands for, and each input row's distinct row). Models
    whose likelihood or prediction is a function of a row alone evaluate it once per distinct row
    (customers share histories).

    Each column is coded by hashing (pandas.factorize, no sort) and the codes are combined
    pairwise, coded again, so that a combined code never exceeds rows squared."""
    cols = [np.asarray(c, dtype=np.float64).ravel() for c in columns]
    code = np.zeros(cols[0].size, dtype=np.int64)
    size = 1
    for col in cols:
        inverse, values = pd.factorize(col, use_na_sentinel=False)
        combined = code * len(values) + inverse
        code = combined if size == 1 else pd.factorize(combined)[0]
        size = int(code.max()) + 1 if code.size else 0
    # Any row of a group represents it: its rows are equal in every column.
    first = np.zeros(size, dtype=np.intp)
    first[code] = np.arange(code.size)
    counts = np.bincount(code, minlength=size).astype(np.float64)
    return [c[first] for c in cols], counts, code.astype(np.intp)


def sorted_codes(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """np.unique(values, return_inverse=True) for finite values: the distinct values in
    ascending order and each value's index among them, coded by hashing (several times faster
    on a million rows than np.unique's sort)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=np.float64).ravel(), sort=True)
    return np.asarray(uniques, dtype=np.float64), codes.astype(np.intp, copy=False)


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


class _SharedLimit:
    """The BLAS thread limit held while any optimiser runs, in any thread. The first to enter
    sets it and the last to leave restores BLAS's own count: nested threadpoolctl limits
    entered and left by overlapping threads (two sessions' fits, or clv's two models fitted side
    by side) would restore in the wrong order and could leave BLAS at one thread for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextlib.contextmanager
    def held(self, threads: int) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._limiter = _blas().limit(limits=threads, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_SHARED_LIMIT = _SharedLimit()


@contextlib.contextmanager
def optimiser_threads() -> Iterator[None]:
    """BLAS limited to OPTIMISER_BLAS_THREADS threads while an optimiser runs."""
    if OPTIMISER_BLAS_THREADS is None:
        yield
        return
    with _SHARED_LIMIT.held(OPTIMISER_BLAS_THREADS):
        yield


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
    with np.errstate(all="ignore"), optimiser_threads():
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


def _on_bound(log_params: FloatArray) -> bool:
    return bool(np.any(np.abs(log_params) > _LOG_BOUND - 1e-3))
