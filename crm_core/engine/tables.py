"""The tables of a database: book-keeping DDL, creating what is missing, and reading what exists."""

from __future__ import annotations

import os
import re

from crm_core.engine.backends import Connection, Remote
from crm_core.engine.schema import SQL_TYPES, TABLES

# Book-keeping tables. load_history is the audit trail the UI shows; load_rejects keeps every
# refused row's raw value so a rejection loses nothing.
META_DDL = (
    """CREATE TABLE IF NOT EXISTS load_history (
        load_id BIGINT, file_name VARCHAR, table_name VARCHAR, sha256 VARCHAR, encoding VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, mode VARCHAR,
        started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, warnings VARCHAR,
        undo_kind VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS load_rejects (
        load_id BIGINT, file_name VARCHAR, table_name VARCHAR, row_number BIGINT,
        column_name VARCHAR, value VARCHAR, reason VARCHAR)""",
    # Sign-in accounts (crm_core/auth.py): regions / owners are JSON lists (empty = all).
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR, password_hash VARCHAR, role VARCHAR, regions VARCHAR, owners VARCHAR,
        created_at TIMESTAMP, changed_at TIMESTAMP, failed_logins BIGINT,
        locked_until TIMESTAMP)""",
    # Who did what when: sign-ins, loads, replaces, rollbacks, exports, snapshots, user changes.
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, detail VARCHAR, rows BIGINT)""",
)
META_TABLES = ("load_history", "load_rejects", "users", "audit_log")
# Slow page results kept for every app process until the data changes (crm_core/app/results.py),
# on DuckDB and PostgreSQL. Not on Spark: each INSERT there is a new Parquet folder and
# manifest version, which would also empty Spark's own query-result cache.
RESULTS_DDL = """CREATE TABLE IF NOT EXISTS result_store (
    data_version VARCHAR, code_version VARCHAR, call VARCHAR, target VARCHAR, scope VARCHAR,
    lang VARCHAR, payload BLOB, payload_bytes BIGINT, compute_seconds DOUBLE,
    stored_at TIMESTAMP)"""


def meta_tables(con: Connection) -> tuple[str, ...]:
    """The book-keeping tables `con`'s backend holds (the result store, except on Spark)."""
    spark = getattr(con, "dialect", "") == "spark"
    return META_TABLES if spark else (*META_TABLES, "result_store")


# Book-keeping columns added after their table first shipped: ensure_schema adds them to older
# databases. users: where the weekly digest goes (crm_core/digest.py) and in which language.
META_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (
        ("email", "VARCHAR"),
        ("webhook", "VARCHAR"),
        ("webhook_format", "VARCHAR"),
        ("lang", "VARCHAR"),
    ),
}


def table_ddl(name: str) -> str:
    """CREATE TABLE statement of a canonical table (identifiers come from schema.py only)."""
    cols = ", ".join(f"{c.name} {SQL_TYPES[c.kind]}" for c in TABLES[name].all_columns)
    return f"CREATE TABLE {name} ({cols})"


def ensure_schema(con: Connection) -> None:
    """Create missing canonical and book-keeping tables; add columns newer versions introduced."""
    for ddl in META_DDL:
        con.execute(ddl)
    if "result_store" in meta_tables(con):
        con.execute(RESULTS_DDL)
    existing = table_columns(con)
    for meta, added in META_COLUMNS.items():
        for column, kind in added:
            if column not in existing.get(meta, set()):
                con.execute(f"ALTER TABLE {meta} ADD COLUMN {column} {kind}")
    for name, table in TABLES.items():
        if name not in existing:
            con.execute(table_ddl(name))
            continue
        for col in table.all_columns:
            if col.name not in existing[name]:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {col.name} {SQL_TYPES[col.kind]}")


# A DuckDB replace stages each file as a table named _load_<process id>_<token>_<n> (ingest.batch).
STAGE_PREFIX = "_load_"


def drop_stale_stages(con: Connection) -> list[str]:
    """Drop stage tables a load of another process left behind (it stopped before its cleanup):
    one process at a time opens a DuckDB file, so no load of theirs is still running."""
    stale = [
        name
        for name in table_columns(con)
        if (m := re.match(rf"{STAGE_PREFIX}(\d+)_", name)) and int(m.group(1)) != os.getpid()
    ]
    for name in stale:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
    return stale


def table_columns(con: Connection) -> dict[str, set[str]]:
    """Tables of the main schema and their column names."""
    if isinstance(con, Remote):
        return con.table_columns()
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for t, c in rows:
        out.setdefault(t, set()).add(c)
    return out
