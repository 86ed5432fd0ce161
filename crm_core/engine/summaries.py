"""Summary tables rebuilt inside every load's transaction, so pages never scan raw orders twice."""

from __future__ import annotations

from crm_core.engine.backends import Connection
from crm_core.engine.sqlfiles import sql
from crm_core.engine.tables import table_columns

# Each name N is built from sql/summary_N.sql into table N. Order matters when one reads another.
SUMMARIES: list[str] = ["customer_orders", "order_categories"]


def refresh(con: Connection) -> None:
    """Rebuild every summary table from the canonical tables (run inside the load transaction)."""
    for name in SUMMARIES:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS " + sql(f"summary_{name}"))


def ensure(con: Connection) -> None:
    """Build summary tables that do not exist yet (a database from an older version)."""
    have = set(table_columns(con))
    if any(name not in have for name in SUMMARIES):
        refresh(con)
