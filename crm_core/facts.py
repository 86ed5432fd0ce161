"""Shared per-customer windows: each window's per-customer figures computed once per view.

The Pyramid page's five reports (tiers, Pareto, RFM, migration, customer list) and the pages
that show some of them (Present, the Customer 360 values, the drill-down lists) all start from
the same per-customer figures of a window: net revenue, gross, returns, profit, orders, recency,
value rank and tier, RFM scores (`_value_base.sql`). On DuckDB those rows are computed once per
(catalog, data version, window, filters incl. the user's scope, measure, tier cuts) into the
connection's TEMP table `value_window_rows` and every report reads them from there.

Lifetime: a TEMP table belongs to its connection (one cursor per Streamlit session), so
sessions never see each other's windows. A page render runs in one read transaction that ends
in ROLLBACK (`ui.consistent_read`), which drops the windows it built: a window lives for one
render, results across renders are `ui.cached`. Outside a transaction (CLI, bench) windows stay
on the connection, at most MAX_WINDOWS of them, and those of another data version are dropped
at the next call. PostgreSQL and Spark keep computing each report from the order lines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from crm_core import db

# The old path (every report computes its own window) is kept callable: tests compare the two.
SHARED = True
# Windows one connection may hold outside a render (a render holds at most two: the period and
# the migration's earlier window). At 1 M customers a window is about 100 MB.
MAX_WINDOWS = 4
# Parameters that define a window's per-customer figures; `variant` ones only change the value
# rank and tier (a report that reads neither can use any variant).
WINDOW_PARAMS = (
    "start", "end_excl", "as_of", "region", "source", "owner", "segment", "category",
    "regions", "owners",
)  # fmt: skip
VARIANT_PARAMS = ("measure", "cut_1", "cut_2", "cut_3")


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
    """Id of the shared window for these value parameters (value._params: window, filters and
    scope, measure, cuts) in `value_window_rows`, computed now if this connection does not hold
    it; None where reports compute their own (PostgreSQL, Spark, or SHARED off).

    `any_variant`: the caller reads neither value rank nor tier (Pareto, RFM), so a window
    computed for another measure or other cuts serves as well.
    """
    if not SHARED or not db.is_duckdb(con):
        return None
    version = _text(list(db.query_rows(con, "window_version")[0]))
    key = _text([params[k] for k in WINDOW_PARAMS])
    variant = _text([params[k] for k in VARIANT_PARAMS])
    db.query_rows(con, "value_window_keys_create")
    held = db.query_rows(con, "value_window_keys")
    live = []
    for window_id, held_version, held_key, held_variant in held:
        if held_version != version:
            _forget(con, window_id)
        elif held_key == key and (any_variant or held_variant == variant):
            return int(window_id)
        else:
            live.append(window_id)
    while len(live) >= MAX_WINDOWS:
        _forget(con, live.pop(0))
    window_id = max((w for w, *_ in held), default=0) + 1
    build = "value_window_append" if live else "value_window_build"
    db.query_rows(con, build, **params, window_id=window_id)
    db.query_rows(
        con,
        "value_window_add_key",
        window_id=window_id,
        data_version=version,
        window_key=key,
        variant=variant,
    )
    return window_id


def _forget(con: db.Connection, window_id: int) -> None:
    db.query_rows(con, "value_window_drop_rows", window_id=window_id)
    db.query_rows(con, "value_window_drop_key", window_id=window_id)
