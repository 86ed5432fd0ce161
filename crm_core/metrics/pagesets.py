"""The crm_core calls behind the pages, as data: what the engine parity tests and benchmarks run.

Every public function of a domain module whose first parameter is `con` is a page call. Its other
required arguments are built from the data by parameter name (a period, an as-of date, filters,
…), so a function another feature adds is covered as soon as it exists; one whose arguments
cannot be built is listed by `uncovered()` rather than silently skipped.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_core.engine import db
from crm_core.metrics import overview
from crm_core.metrics.filters import NO_FILTERS, Filters

# Domain modules in page order; a module that does not exist (yet) is left out.
DOMAIN_MODULES = (
    "overview",
    "value",
    "lifecycle",
    "lifecycle_cohorts",
    "pipeline",
    "pipeline.funnel",
    "pipeline.followup",
    "complaints",
    "complaints_outcomes",
    "clv",
    "clv_reports",
    "affinity",
    "channels",
    "weekly",
    "customers",
    "figures",
    "explain",
    "drill",
)
# Functions that are not page reads: they write, or take something no page passes.
NOT_PAGE_CALLS = frozenset({"snapshot.freeze"})
# Calls that only gather other page calls' results into one cached value: each part is a page
# call of its own, and a test shows the gathering equals its parts frame by frame
# (tests/test_complaints_outcomes.py), so running it on every engine would repeat them.
GATHERING_CALLS = frozenset({"complaints_outcomes.complaints_report"})


def _clv_result(con: db.Connection, filters: Filters) -> Any:
    from crm_core.metrics import clv

    return clv.churn_clv(con, filters)


# Arguments that are themselves crm_core results, computed (once) only when a call needs them.
DERIVED: dict[str, Callable[[db.Connection, Filters], Any]] = {
    "result": _clv_result,  # clv_reports.call_list, clv_reports.next_purchases
    "params": lambda con, f: _clv_result(con, f).fit.bgnbd,  # clv_reports.cumulative_tracking
}


@dataclass(frozen=True)
class Call:
    """One crm_core call with its arguments."""

    name: str  # module.function
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self, con: db.Connection) -> Any:
        return self.fn(con, **self.kwargs)


def _arguments(con: db.Connection, filters: Filters) -> dict[str, Any] | None:
    """Argument values by parameter name, derived from the data (None: the database is empty)."""
    period = overview.default_period(con)
    if period is None:
        return None
    end_dt = dt.datetime.combine(period.end, dt.time(23, 59, 59))
    ids = [
        r[0]
        for r in con.execute(
            "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 20"
        ).fetchall()
    ]
    return {
        "period": period,
        "start": period.start,
        "end": period.end,
        "as_of": period.end,
        "as_of:datetime": end_dt,
        "week_end": period.end,
        "filters": filters,
        "f": filters,
        "customer_ids": ids,
        "calibration_end": period.end - dt.timedelta(days=180),
        "observation_end": period.end,
        # One clicked element per drill-down list (crm_core.metrics.drill).
        "tier": "regular",
        "segment": "important_value",
        "stage": "stability",
        "cohort": period.start,
        "months_since": 1,
        "month": period.end,
        "step": _first_funnel_step(con, filters),
    }


def _first_funnel_step(con: db.Connection, filters: Filters) -> str:
    # The funnel's second step (its first when it has one), "" without leads.
    from crm_core.metrics import pipeline

    stats = pipeline.stage_stats(con, None, None, filters)
    if stats.empty:
        return ""
    steps = pipeline.stage_order(stats).steps
    return steps[min(1, len(steps) - 1)]


def _build(
    fn: Callable[..., Any], values: dict[str, Any], derive: Callable[[str], Any] | None = None
) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {}
    params = list(inspect.signature(fn).parameters.values())[1:]
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        key = p.name
        if key == "as_of" and "datetime" in str(p.annotation):
            key = "as_of:datetime"
        if key in values and (p.default is p.empty or key in ("filters", "f")):
            kwargs[p.name] = values[key]
        elif p.default is p.empty and key in DERIVED and derive is not None:
            kwargs[p.name] = derive(key)
        elif p.default is p.empty:
            return None  # an argument no page-independent rule can build
    return kwargs


def _functions() -> list[tuple[str, Callable[..., Any]]]:
    out: list[tuple[str, Callable[..., Any]]] = []
    for m in DOMAIN_MODULES:
        try:
            mod = importlib.import_module(f"crm_core.metrics.{m}")
        except ImportError:
            continue
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            full = f"{m}.{name}"
            if (
                name.startswith("_")
                or fn.__module__ != mod.__name__
                or full in NOT_PAGE_CALLS | GATHERING_CALLS
            ):
                continue
            params = list(inspect.signature(fn).parameters)
            if params and params[0] == "con":
                out.append((full, fn))
    return out


def calls(con: db.Connection, filters: Filters = NO_FILTERS) -> list[Call]:
    """Every page call with arguments from this database's data (same data → same calls)."""
    values = _arguments(con, filters)
    if values is None:
        return []
    derived: dict[str, Any] = {}

    def derive(key: str) -> Any:
        if key not in derived:
            derived[key] = DERIVED[key](con, filters)
        return derived[key]

    out = []
    for name, fn in _functions():
        kwargs = _build(fn, values, derive)
        if kwargs is not None:
            out.append(Call(name, fn, kwargs))
    return out


def uncovered(con: db.Connection) -> list[str]:
    """Page-call candidates whose arguments cannot be built (so no parity test runs them)."""
    values = _arguments(con, NO_FILTERS) or {}
    return [name for name, fn in _functions() if _build(fn, values, lambda k: None) is None]
