"""Each page's full crm_core query set: page name -> function(con, filters) -> results.

A page set calls the same crm_core functions, with the same arguments, as pages/<page>.py does on
its first run (default tabs and widget values), plus the shared sidebar that app.py runs before
every page. Results the app keeps with ui.cached (model fits, reports) are computed directly: the
benchmark times a cache miss, i.e. a filter value not seen before.

Extension point: a feature page registers its set here with @page("name"). A module that does
not exist (yet) or fails to import leaves its page out; `python -m bench.run` lists the pages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from crm_core import ingest
from crm_core.engine import config, db
from crm_core.metrics import overview
from crm_core.metrics.filters import Filters, filter_options

PageSet = Callable[[db.Connection, Filters], Any]
PAGES: dict[str, PageSet] = {}
LANG = "zh"


def page(name: str, *modules: str) -> Callable[[PageSet], PageSet]:
    """Register a page set; skipped when one of `modules` (crm_core.<m>) cannot be imported."""

    def deco(fn: PageSet) -> PageSet:
        for m in modules:
            try:
                importlib.import_module(f"crm_core.{m}")  # m: "metrics.value", "engine.facts", ...
            except ImportError:
                return fn
        PAGES[name] = fn
        return fn

    return deco


# (id of the connection, data version) of every sidebar whose data facts were computed.
_SIDEBAR_FACTS: set[tuple[int, tuple]] = set()


def sidebar(con: db.Connection) -> None:
    """What the app's sidebar reads on a page run: the data version (once per render,
    ui.read_version), and its data facts (ui.context.data_facts: the data's range, the default
    period, the filter options, the load history), which ui.cached keeps per data version and
    scope, so that a period change does not query them again: computed here on the first run
    of a process for each data version, as the app's first open of a page does."""
    if not (config.SQL_DIR / "data_version.sql").exists():  # an older checkout: every run
        version = None
    else:
        version = tuple(db.query_rows(con, "data_version")[0])
        if (id(con), version) in _SIDEBAR_FACTS:
            return
    overview.data_range(con)
    overview.default_period(con)
    filter_options(con)
    ingest.load_history(con)
    if version is not None:
        _SIDEBAR_FACTS.add((id(con), version))


def period_of(con: db.Connection, f: Filters) -> overview.Period | None:
    """crm_core/ui.py's period_of: the filter's period, else the default 12 months."""
    if f.start and f.end:
        return overview.Period(f.start, f.end)
    return overview.default_period(con)


@page("overview")
def overview_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import lifecycle

    sidebar(con)
    period = period_of(con, f)
    if period is None:
        return None
    warnings = lifecycle.history_warnings(con, f)  # pages/overview.py shows them
    return overview.kpi_deltas(con, period, f), overview.monthly_trend(con, period, f), warnings


@page("overview_lines", "engine.facts")
def overview_lines_page(con: db.Connection, f: Filters) -> Any:
    """The Overview set with its figures added up from the order lines rather than the fact
    layer's days (crm_core/engine/facts.py FACT_LAYER off)."""
    from crm_core.engine import facts

    with facts.fact_layer(False):
        return overview_page(con, f)


@page("pyramid", "metrics.value")
def pyramid_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import value

    # In one render's read transaction, as app.py runs the page: its two windows end with it
    # (outside one, a connection keeps up to facts.MAX_WINDOWS and deletes the oldest rows).
    with render(con):
        sidebar(con)
        period = period_of(con, f)
        if period is None:
            return None
        measure = value.measures(con)[0]
        choice = next(iter(value.drill_choices(LANG)))
        return (
            value.value_pyramid(con, period, f, measure, lang=LANG),
            value.pareto(con, period, f),
            value.rfm_segments(con, period, f, LANG),
            value.tier_migration(con, period, f, measure, lang=LANG),
            value.customer_list(con, period, f, choice, measure, lang=LANG),
        )


@page("pyramid_per_report", "metrics.value", "engine.facts")
def pyramid_per_report_page(con: db.Connection, f: Filters) -> Any:
    """The Pyramid set the previous way, each report computing its own per-customer window
    (crm_core/facts.py SHARED off): the before of the same run, until that path is deleted."""
    from crm_core.engine import facts

    with facts.shared_windows(False):
        return pyramid_page(con, f)


_REGIONS: dict[int, list[str]] = {}


def _first_region(con: db.Connection, f: Filters) -> Filters:
    """`f` with the first region of the data set (as bench.run's variants filter), if any; the
    regions are read once per connection, not timed with every run."""
    if id(con) not in _REGIONS:
        _REGIONS[id(con)] = filter_options(con).get("region") or []
    regions = _REGIONS[id(con)]
    return dataclasses.replace(f, region=regions[0]) if regions else f


@page("pyramid_region", "metrics.value")
def pyramid_region_page(con: db.Connection, f: Filters) -> Any:
    """The Pyramid set under a region filter (a customer attribute)."""
    return pyramid_page(con, _first_region(con, f))


@page("pyramid_lines", "metrics.value", "engine.facts")
def pyramid_lines_page(con: db.Connection, f: Filters) -> Any:
    """The Pyramid set with its shared windows added up from the order lines rather than the
    fact layer's days (crm_core/engine/facts.py FACT_LAYER off)."""
    from crm_core.engine import facts

    with facts.fact_layer(False):
        return pyramid_page(con, f)


@page("weekly", "metrics.weekly")
def weekly_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import weekly

    sidebar(con)
    week_end = weekly.report_week_end(con, f)
    return None if week_end is None else weekly.weekly_comparison(con, week_end, f)


@page("lifecycle", "metrics.lifecycle_cohorts")
def lifecycle_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import lifecycle, lifecycle_cohorts

    # In a render's transaction: its shared purchase days are keyed without the period start, so
    # outside one the next run (another start) would read what this run computed.
    with render(con):
        sidebar(con)
        period = period_of(con, f)
        if period is None:
            return None
        report = lifecycle_cohorts.lifecycle_report(con, period.start, period.end, f)
        return report, lifecycle.history_warnings(con, f)  # pages/lifecycle.py shows both


@page("lifecycle_per_report", "metrics.lifecycle_cohorts", "engine.facts")
def lifecycle_per_report_page(con: db.Connection, f: Filters) -> Any:
    """The Lifecycle set the previous way, each report aggregating customer x day itself
    (crm_core/facts.py SHARED off): the before of the same run, until that path is deleted."""
    from crm_core.engine import facts

    with facts.shared_windows(False):
        return lifecycle_page(con, f)


@page("lifecycle_lines", "metrics.lifecycle_cohorts", "engine.facts")
def lifecycle_lines_page(con: db.Connection, f: Filters) -> Any:
    """The Lifecycle set with its purchase days from the order lines rather than the fact
    layer's days (crm_core/engine/facts.py FACT_LAYER off)."""
    from crm_core.engine import facts

    with facts.fact_layer(False):
        return lifecycle_page(con, f)


@contextlib.contextmanager
def render(con: db.Connection) -> Iterator[None]:
    """One render's read transaction, as app.py runs a page (ui.consistent_read): the shared
    windows it computes end with it, so that the next run (another period start, the same end)
    cannot read what this one computed."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    finally:
        con.execute("ROLLBACK")


@page("pipeline", "metrics.pipeline")
def pipeline_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import pipeline

    with render(con):
        sidebar(con)
        period = period_of(con, f)
        start, end = (period.start, period.end) if period else (None, None)
        report = pipeline.funnel_report(con, start, end, f)
        by_source = pipeline.funnel_by(con, start, end, f, "source") if report is not None else None
        return report, by_source, pipeline.followup_report(con, start, end, f)


@page("pipeline_per_report", "metrics.pipeline", "engine.facts")
def pipeline_per_report_page(con: db.Connection, f: Filters) -> Any:
    """The Pipeline set the previous way, each report computing its own contacts per lead
    (crm_core/facts.py SHARED off): the before of the same run, until that path is deleted."""
    from crm_core.engine import facts

    with facts.shared_windows(False):
        return pipeline_page(con, f)


@page("complaints", "metrics.complaints_outcomes")
def complaints_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.metrics import complaints as c
    from crm_core.metrics import complaints_outcomes as co

    sidebar(con)
    period, _ = c.effective_period(con, period_of(con, f))
    if period is None:
        return None
    grain, split = c.GRAINS[2], c.SPLITS[0]
    out = [
        co.complaints_report(con, period, f),
        c.trend(con, period, grain, f),
        c.trend_by(con, period, grain, split, f),
    ]
    out += [c.sla_breaches(con, period, by, f, c.Sla()) for by in ("category", "owner")]
    return out


@page("churn_clv", "metrics.clv_reports")
def churn_clv_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.app.results import Refusal
    from crm_core.metrics import clv, clv_reports

    sidebar(con)
    out: list[Any] = []
    try:  # every tab runs: the report, then the holdout check of the "fit quality" tab
        report = clv_reports.churn_clv_report(con, f)
        out.append(report)
        split = report.summary.get("default_split")  # as pages/churn_clv.py takes it
        if split:
            out.append(clv_reports.holdout_validation(con, f, split))
    except clv.ClvRefused as e:
        # Kept as ui.cached keeps it (results.Refusal): the exception's traceback would hold
        # the fit's frames, and the customers' arrays with them, into the next run.
        out.append(Refusal.of(e))
    return out


@page("churn_clv_blas_threads", "metrics.clv_reports")
def churn_clv_blas_threads_page(con: db.Connection, f: Filters) -> Any:
    """churn_clv with the optimisers' BLAS left on its own thread count (the path before
    fitting.optimiser_threads): the before of a same-run comparison."""
    from crm_core.metrics.clv_models import fitting

    threads = fitting.OPTIMISER_BLAS_THREADS
    fitting.OPTIMISER_BLAS_THREADS = None
    try:
        return churn_clv_page(con, f)
    finally:
        fitting.OPTIMISER_BLAS_THREADS = threads


@page("present", "app.meeting")
def present_page(con: db.Connection, f: Filters) -> Any:
    from crm_core.app import meeting

    with render(con):  # as lifecycle_page: no shared table outlives the run
        sidebar(con)
        return meeting.all_slides(con, f, LANG)
