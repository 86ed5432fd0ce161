"""Shared per-customer windows: the per-customer figures of a view computed once, not per report.

The Pyramid page's five reports (tiers, Pareto, RFM, migration, customer list) and the pages
that show some of them (Present, the Customer 360 values, the drill-down lists) all start from
the same per-customer figures of a window: net revenue, gross, returns, profit, orders, recency,
value rank and tier, RFM scores (`_value_base.sql`'s rules; DuckDB computes a shared window
with `_value_window_base.sql`). On DuckDB those rows are computed once per
(catalog, data version, window, filters incl. the user's scope, measure, tier cuts) into the
connection's TEMP table `value_window_rows` and every report reads them from there.

Lifetime: a TEMP table belongs to its connection (one cursor per Streamlit session), so
sessions never see each other's windows. A page render runs in one read transaction that ends
in ROLLBACK (`ui.consistent_read`), which drops the windows it built: a window lives for one
render, results across renders are `ui.cached`. Outside a transaction (CLI, bench) windows stay
on the connection, at most MAX_WINDOWS of them, and those of another data version are dropped
at the next call. PostgreSQL and Spark keep computing each report from the order lines.

The Lifecycle page's reports (stages now and the day before the period, new vs lost, cohorts)
likewise share one customer x purchase-day table per (data version, filters incl. scope):
`purchase_days_rows`, every purchase day with its amount and the previous and next one.

Both are computed from the fact layer (crm_core/engine/summaries.py: customer_days, or
order_days under a category filter), which holds a row per customer and day rather than per
order line, where it may be: its tables are in the catalog read and order_proofs says every
order falls on one day. Otherwise, or with FACT_LAYER off, from the order lines; the frames are
the same (tests/test_facts.py).

From the purchase days, each customer's stage as of a day is computed once into
`lifecycle_stages_rows`, and the page's counts, funnels, end patterns and transitions are
aggregated from those rows in SQL: a million customers never travel into pandas.

The Pipeline page's follow-up reports (contact cadence per grade, overdue leads by owner and
listed) each join their leads to every lead's contacts up to the as-of day: count, first and
last, from the interactions. Those are computed once per (data version, as-of day) into
`lead_contact_counts_rows`, whatever the filters (a lead's contacts do not depend on them):
a few columns per lead, where the joined lead rows would cost more to store than to rebuild.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crm_core.engine import db

# The old path (every report computes its own window) is kept callable: tests compare the two.
SHARED = True
# Shared windows add up the fact layer's days (True) or the order lines (False, the raw path).
FACT_LAYER = True
# Windows of each kind one connection may hold outside a render (a Pyramid render builds two:
# the period's and the migration's earlier window). A value window holds a row per known
# customer, a purchase-days window a row per customer x purchase day.
MAX_WINDOWS = 4
FILTER_PARAMS = ("region", "source", "owner", "segment", "category", "regions", "owners")


@dataclass(frozen=True)
class Kind:
    """A kind of shared window: its rows live in TEMP table `<name>_rows`, computed by
    `<name>_build.sql` / `<name>_append.sql`; `key` parameters define the rows, `variant` ones
    only some columns (a report that reads none of those can use any variant). `facts`: the
    fragments that read the fact layer instead of the order lines (db.Slots). `when`:
    (parameter, value, slots) fragments swapped in where a parameter has that value;
    `facts_when` likewise, where the fact layer is read."""

    name: str
    key: tuple[str, ...]
    variant: tuple[str, ...] = ()
    facts: db.Slots = ()
    when: tuple[tuple[str, Any, db.Slots], ...] = ()
    facts_when: tuple[tuple[str, Any, db.Slots], ...] = ()


# Ranked by revenue, a value window's M score follows from its value rank without a sort of its
# own (_value_m_score_rank.sql).
M_FROM_RANK: db.Slots = (("value_m_score", "value_m_score_rank"),)
# A window read for its tiers alone (`scores` False: the migration's earlier window) skips the
# RFM scores' sorts and the customers' attributes, and keeps of the figures only net revenue and
# profit (what ranks the buyers): its R, F, M, RFM code, name, owner, region, source, customer
# type, orders, gross, returns, last order and recency are NULL, so it is keyed apart from a
# scored window. Read from the fact layer, its pass adds up those figures alone.
NO_SCORES: db.Slots = (
    ("value_rf_scores", "value_rf_scores_none"),
    ("value_rf_joins", "value_rf_joins_none"),
    ("value_m_score", "value_m_score_none"),
    ("value_rfm_code", "value_rfm_code_none"),
    ("value_window_attributes", "value_window_attributes_none"),
    ("value_window_figures", "value_window_figures_none"),
)
TIERS_FROM_DAYS: db.Slots = (("value_history", "value_history_days_tiers"),)
VALUE_WINDOW = Kind(
    "value_window",
    ("start", "end_excl", "as_of", "scores", *FILTER_PARAMS),
    ("measure", "cut_1", "cut_2", "cut_3"),  # value rank and tier only
    (("value_history", "value_history_days"),),
    (("measure", "revenue", M_FROM_RANK), ("scores", False, NO_SCORES)),
    (("scores", False, TIERS_FROM_DAYS),),
)
PURCHASE_DAYS = Kind(
    "purchase_days", FILTER_PARAMS, (), (("purchase_days", "purchase_days_facts"),)
)
# Each known customer's lifecycle stage and its facts as of a day, under the rules and filters.
LIFECYCLE_RULE_PARAMS = (
    "churn_days",
    "formation_days",
    "gap_factor",
    "min_overdue_days",
    "spend_drop",
)
LIFECYCLE_STAGES = Kind("lifecycle_stages", ("as_of", *LIFECYCLE_RULE_PARAMS, *FILTER_PARAMS))
# Each lead's contacts up to a day (_pipeline_lead_contact_counts.sql), whatever the filters.
LEAD_CONTACT_COUNTS = Kind("lead_contact_counts", ("as_of",))
# The fragment the pipeline's lead-rows queries read it through.
SHARED_CONTACT_COUNTS: db.Slots = (
    ("pipeline_lead_contact_counts", "pipeline_lead_contact_counts_shared"),
)


@contextlib.contextmanager
def fact_layer(enabled: bool) -> Iterator[None]:
    """Within the block, shared windows read the fact layer where it may be (True) or the
    order lines (False)."""
    global FACT_LAYER
    before, FACT_LAYER = FACT_LAYER, enabled
    try:
        yield
    finally:
        FACT_LAYER = before


def has_fact_layer(con: db.Connection) -> bool:
    """Whether the DuckDB catalog read holds the fact layer's tables (a meeting snapshot frozen
    before they existed does not; every database opened for writing does)."""
    return db.scalar(con, "fact_layer_tables") == 3


def _proofs(con: db.Connection) -> tuple[bool, bool] | None:
    """order_proofs' (one_line_per_order, orders_one_day) when FACT_LAYER is on and the catalog
    read holds the fact layer, else None."""
    if not FACT_LAYER or not has_fact_layer(con):
        return None
    rows = db.query_rows(con, "fact_layer_proofs")
    return (bool(rows[0][0]), bool(rows[0][1])) if rows else None


def reads_fact_layer(con: db.Connection) -> bool:
    """Whether shared windows computed now read the fact layer: FACT_LAYER is on, the catalog
    read holds its tables, and order_proofs.orders_one_day holds (days add up to windows)."""
    proofs = _proofs(con)
    return bool(proofs and proofs[1])


def has_day_layer(con: db.Connection) -> bool:
    """Whether DuckDB reports may read the fact layer's days for what needs no order proof (which
    days a customer bought on, and how many non-return lines each holds): on DuckDB, FACT_LAYER
    is on and the catalog read holds the fact layer's tables."""
    return db.is_duckdb(con) and FACT_LAYER and has_fact_layer(con)


def day_orders_add_up(con: db.Connection) -> bool:
    """Whether reports may count distinct non-return orders from the fact layer's days: on
    DuckDB, reads_fact_layer holds (each order lies in one customer's day, so the days'
    `sale_orders` add up to any window's) and the catalog read's customer_days has that column
    (a meeting snapshot frozen before it was added has not)."""
    return (
        db.is_duckdb(con)
        and reads_fact_layer(con)
        and db.scalar(con, "fact_layer_sale_orders") == 1
    )


@contextlib.contextmanager
def shared_windows(enabled: bool) -> Iterator[None]:
    """Within the block, reports read shared windows (True) or compute their own (False)."""
    global SHARED
    before, SHARED = SHARED, enabled
    try:
        yield
    finally:
        SHARED = before


def _text(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, dt.date) else str(v))


def value_window(
    con: db.Connection, params: dict[str, Any], any_variant: bool = False
) -> int | None:
    """Id of the shared value window for these parameters (value._params: window, filters and
    scope, measure, cuts) in `value_window_rows`, computed now if this connection does not hold
    it; None where reports compute their own (PostgreSQL, Spark, or SHARED off).

    `any_variant`: the caller reads neither value rank nor tier (Pareto, RFM), so a window
    computed for another measure or other cuts serves as well.
    """
    return shared_window(con, VALUE_WINDOW, params, any_variant)


def value_window_ranks_revenue(con: db.Connection, window_id: int) -> bool:
    """Whether the held value window `window_id` ranks its buyers by revenue: its value_rank is
    then their order by revenue descending and customer_id, the Pareto curve's."""
    for held_id, _version, _key, variant in db.query_rows(
        con, "shared_window_keys", kind=VALUE_WINDOW.name
    ):
        if held_id == window_id:
            held = dict(zip(VALUE_WINDOW.variant, json.loads(variant), strict=True))
            return bool(held["measure"] == "revenue")
    return False


def purchase_days(con: db.Connection, params: dict[str, Any]) -> int | None:
    """Id of the shared customer x purchase-day window for these filters (Filters.params()) in
    `purchase_days_rows`, computed now if needed; None where reports compute their own."""
    return shared_window(con, PURCHASE_DAYS, params)


def lifecycle_stages(con: db.Connection, params: dict[str, Any]) -> int | None:
    """Id of the shared lifecycle-stage rows (one per customer known by `as_of`: stage, rule and
    its facts, as lifecycle_customers.sql) for these rules and filters in
    `lifecycle_stages_rows`, computed now from the shared purchase days if needed; None where
    reports compute their own."""
    days = purchase_days(con, params)
    if days is None:
        return None
    return shared_window(con, LIFECYCLE_STAGES, {**params, "days_id": days})


def lead_contact_counts(con: db.Connection, as_of: Any) -> int | None:
    """Id of the shared contact counts as of `as_of` (one row per lead named by an interaction
    by the end of that day: contacts, first and last) in `lead_contact_counts_rows`, computed now
    if needed; None where reports compute their own. Read through SHARED_CONTACT_COUNTS with
    $contacts_id."""
    return shared_window(con, LEAD_CONTACT_COUNTS, {"as_of": as_of})


def shared_window(
    con: db.Connection, kind: Kind, params: dict[str, Any], any_variant: bool = False
) -> int | None:
    """Id of the window of `kind` for `params` in `<kind>_rows` (see value_window)."""
    if not SHARED or not db.is_duckdb(con):
        return None
    version = _text(list(db.query_rows(con, "window_version")[0]))
    # The fact layer and the order lines give the same rows; keyed apart all the same, so that
    # tests switching FACT_LAYER compare two computations, never one window twice.
    key = _text([params[k] for k in kind.key] + [FACT_LAYER])
    variant = _text([params[k] for k in kind.variant])
    db.query_rows(con, "shared_window_keys_create")
    held = db.query_rows(con, "shared_window_keys", kind=kind.name)
    live = []
    for window_id, held_version, held_key, held_variant in held:
        if held_version != version:
            _forget(con, kind, window_id)
        elif held_key == key and (any_variant or held_variant == variant):
            return int(window_id)
        else:
            live.append(window_id)
    while len(live) >= MAX_WINDOWS:
        _forget(con, kind, live.pop(0))
    window_id = max((w for w, *_ in held), default=0) + 1
    build = f"{kind.name}_append" if live else f"{kind.name}_build"
    facts = bool(kind.facts) and reads_fact_layer(con)
    slots = kind.facts if facts else ()
    for param, value, swapped in kind.when + (kind.facts_when if facts else ()):
        if params[param] == value:
            slots += swapped
    db.query_rows(con, build, **params, window_id=window_id, _slots=slots)
    db.query_rows(
        con,
        "shared_window_add_key",
        kind=kind.name,
        window_id=window_id,
        data_version=version,
        window_key=key,
        variant=variant,
    )
    return window_id


def _forget(con: db.Connection, kind: Kind, window_id: int) -> None:
    db.query_rows(con, f"{kind.name}_drop_rows", window_id=window_id)
    db.query_rows(con, "shared_window_drop_key", kind=kind.name, window_id=window_id)
