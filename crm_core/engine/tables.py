"""The tables of a database: book-keeping DDL, creating what is missing, and reading what exists."""

from __future__ import annotations

import os
import secrets

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


def stage_prefix() -> str:
    """The name prefix of one load's stage tables: this process's id and a token of the load."""
    return f"{STAGE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}_"


def quote_ident(name: str) -> str:
    """A table name as a quoted SQL identifier (for names read from a catalog)."""
    return '"' + name.replace('"', '""') + '"'


def drop_stages(con: Connection, prefix: str = STAGE_PREFIX, stale: bool = False) -> list[str]:
    """Drop the stage tables whose names start with `prefix` (a load's own, after it); with
    `stale`, only those of other processes: one process at a time opens a DuckDB file, so a
    stage of another process is what a load left when it stopped before its cleanup."""
    gone = [
        name
        for name in table_columns(con)
        if name.startswith(prefix)
        and not (stale and name.startswith(f"{STAGE_PREFIX}{os.getpid()}_"))
    ]
    for name in gone:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
    return gone


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
