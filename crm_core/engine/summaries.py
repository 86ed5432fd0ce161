"""Summary tables rebuilt with every load, so pages never scan raw orders twice.

The fact layer is three of them (docs/architecture.md, "The fact layer"): `order_proofs` (one
row: what the day grain may assume), `order_days` (customer x day x category) and
`customer_days` (customer x day, with the previous and next purchase day). An append merges the
two day tables and `customer_orders` (the touched customers' rows are built again) instead of
rebuilding them, inside its transaction.

A DuckDB load that replaces tables builds the costliest of them in a second transaction right
after its commit (build_after_commit), so that the load itself stays fast. Until then no
reader sees a summary of the old data: the day tables are absent, so reports read the order
lines (crm_core/engine/facts.py), and `customer_orders` is a view computing the same rows
from them (AS_VIEW). Either way the numbers are those of the built tables, only slower.
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_core.engine.backends import Connection, Remote
from crm_core.engine.sqlfiles import Slots, sql
from crm_core.engine.tables import table_columns

# Each name N is built from sql/summary_N.sql into table N. Order matters when one reads another:
# the day tables read order_proofs' verdict to choose how to count orders.
SUMMARIES: list[str] = [
    "customer_orders",
    "order_categories",
    "order_proofs",
    "order_days",
    "customer_days",
]
# Summaries of one row group per customer that an append merges: rows of the customers it
# touched are deleted and built again from their order lines; no other row can change.
MERGED: tuple[str, ...] = ("customer_orders", "order_days", "customer_days")
# The day tables count orders through fact_orders_count: where order_proofs (built before them)
# proves every order one line, a count of lines counts the orders (no distinct count).
COUNTED_BY_PROOF: tuple[str, ...] = ("order_days", "customer_days")
# What a DuckDB replace builds after its commit (build_after_commit): the day tables, absent
# until then, and the AS_VIEW summaries, a view of the same rows until then.
AS_VIEW: tuple[str, ...] = ("customer_orders",)
AFTER_COMMIT: tuple[str, ...] = ("customer_orders", "order_days", "customer_days")
ONE_LINE: Slots = (
    ("fact_orders_count", "fact_orders_count_lines"),
    ("fact_sale_orders_count", "fact_sale_orders_count_lines"),
)
# Columns a summary gained after databases were built with it: ensure() rebuilds a summary
# that lacks one.
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_days": ("sale_orders",),
    "customer_days": ("sale_orders",),
}
TOUCHED: Slots = (("fact_lines", "fact_lines_touched"),)


def refresh(con: Connection, after_commit: bool = False) -> None:
    """Rebuild every summary table from the canonical tables (run inside the load transaction).
    With `after_commit`, the AFTER_COMMIT ones are left for build_after_commit to build once the
    transaction has committed: a day table is dropped, an AS_VIEW one becomes its view."""
    _rebuild(con, [n for n in SUMMARIES if not (after_commit and n in AFTER_COMMIT)])
    if after_commit:
        views = _views(con)
        for name in AFTER_COMMIT:
            con.execute(f"DROP {'VIEW' if name in views else 'TABLE'} IF EXISTS {name}")
            if name in AS_VIEW:
                con.execute(f"CREATE VIEW {name} AS " + sql(f"summary_{name}"))


def pending(con: Connection) -> list[str]:
    """The AFTER_COMMIT summaries not built as tables (absent, or still their view)."""
    have, views = table_columns(con), _views(con)
    return [n for n in SUMMARIES if n in AFTER_COMMIT and (n not in have or n in views)]


def build_after_commit(con: Connection) -> None:
    """Build the AFTER_COMMIT summaries left to build, in a transaction of their own."""
    left = pending(con)
    if not left:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        _rebuild(con, left)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _views(con: Connection) -> set[str]:
    """The summaries that are views (a DuckDB replace's AS_VIEW stand-ins)."""
    if isinstance(con, Remote):
        return set()
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
        "current_database() AND table_schema = 'main' AND table_type = 'VIEW'"
    ).fetchall()
    return {r[0] for r in rows} & set(AS_VIEW)


def refresh_append(con: Connection, undo: str | None) -> None:
    """refresh() after an append: the MERGED summaries (built from the order lines alone) are
    merged for the order lines of undo table `undo` (`_undo_<load>_orders`, beside its `_keys`
    table; see merge), or kept as they are when the append loaded no order lines (None); the
    others are rebuilt, and so is a MERGED one that is missing (a day table whose build after a
    replace's commit failed)."""
    left = pending(con)
    merged = [name for name in MERGED if name not in left]
    _rebuild(con, [name for name in SUMMARIES if name not in merged])
    if undo is not None:
        merge(con, undo, merged)


def _rebuild(con: Connection, names: list[str]) -> None:
    one_line: bool | None = None  # read once order_proofs is built
    views = _views(con)
    for name in names:
        if name in views:
            con.execute(f"DROP VIEW {name}")
        if name in COUNTED_BY_PROOF and one_line is None:
            one_line = one_line_per_order(con)
        slots = ONE_LINE if name in COUNTED_BY_PROOF and one_line else ()
        con.execute(f"CREATE OR REPLACE TABLE {name} AS " + sql(f"summary_{name}", slots))


def merge(con: Connection, undo: str, names: Sequence[str] = MERGED) -> None:
    """Build the MERGED summaries again for the customers an append touched: those of the lines
    it replaced (`undo`) and of its new lines (the orders named in `<undo>_keys`). The touched
    customers are few, so their orders are counted distinct whatever order_proofs says."""
    con.execute(
        "CREATE TABLE fact_touched AS SELECT customer_id FROM "
        f"(SELECT customer_id FROM {undo} UNION SELECT customer_id FROM orders "
        f"WHERE order_id IN (SELECT order_id FROM {undo}_keys)) AS t"
    )
    # Their lines, found once for the three tables (each scanned every line for them before).
    con.execute(
        "CREATE TABLE fact_touched_lines AS SELECT * FROM orders "
        "WHERE customer_id IN (SELECT customer_id FROM fact_touched)"
    )
    for name in names:
        con.execute(
            f"DELETE FROM {name} WHERE customer_id IN (SELECT customer_id FROM fact_touched)"
        )
        con.execute(f"INSERT INTO {name} " + sql(f"summary_{name}", TOUCHED))
    con.execute("DROP TABLE fact_touched_lines")
    con.execute("DROP TABLE fact_touched")


def one_line_per_order(con: Connection) -> bool:
    """order_proofs' verdict that every order is one line (False before it is built)."""
    if "order_proofs" not in table_columns(con):
        return False
    row = con.execute("SELECT one_line_per_order FROM order_proofs").fetchone()
    return bool(row and row[0])


def outdated(have: dict[str, set[str]]) -> list[str]:
    """The summaries missing from `have` (table -> columns) or lacking an ADDED_COLUMNS one."""
    return [n for n in SUMMARIES if n not in have or not set(ADDED_COLUMNS.get(n, ())) <= have[n]]


def ensure(con: Connection) -> None:
    """Build summary tables that do not exist yet or lack a column (a new database, or one from
    an older version), so that every reader may rely on them (empty before the first load)."""
    old = outdated(table_columns(con))
    if any(name not in AFTER_COMMIT for name in old):
        refresh(con)  # also replaces an AS_VIEW view with its table
    else:  # a load committed without them (its process ended before it built them), or old
        _rebuild(con, [n for n in SUMMARIES if n in old or n in pending(con)])
